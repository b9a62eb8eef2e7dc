// Node's native backend (node:crypto; the thread pool, opt-in worker threads) for HPKE seals and epoch wraps: the
// RFC 9180 vectors, the same bytes as the @noble and WebCrypto paths, wraps that every
// backend opens, and a failing worker that rejects the op instead of leaving it pending.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import {
  createGroup,
  HpkeError,
  hpkeDeriveKeyPair,
  hpkeOpen,
  hpkeSeal,
  Keyring,
  MembershipLog,
  removeMember,
  SealdocCryptoError,
  unlockEpochSecrets,
  useCryptoBackend,
} from '@sealdoc/crypto';
import { _native } from '#native';
import { _configureWrapPool, _stopWrapWorkers, _wrapWorkers, WrapWorkerError } from '../dist/native.node.js';
import { RFC9180_A21 as V } from './vectors/rfc9180-a2.js';
import { hex, testIdentity, toHex, utf8 } from './helpers.js';

const native = _native!;
const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const WRAP_LABEL = utf8('sealdoc/v1/epoch-wrap');

/** n recipients: device ids, key pairs, and the packed form wrapAll takes. */
function recipients(n: number) {
  const list = Array.from({ length: n }, () => ({ id: random(32), keys: hpkeDeriveKeyPair(random(32)) }));
  const packed = new Uint8Array(n * 64);
  list.forEach((r, i) => {
    packed.set(r.id, i * 64);
    packed.set(r.keys.publicKey, i * 64 + 32);
  });
  return { list, packed };
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
};

describe('native backend (Node)', () => {
  after(async () => {
    useCryptoBackend('auto');
    _configureWrapPool({ workers: 0, ahead: true });
    await _stopWrapWorkers();
  });

  it('is the one Node resolves #native to', () => {
    assert.equal(native.name, 'node');
  });

  it('RFC 9180 A.2.1: SealBase with the vector ephemeral key gives enc and the ciphertext of sequence 0', () => {
    const e = V.encryptions[0]!;
    const sealed = native.seal(hex(V.pkRm), hex(e.pt), hex(V.info), hex(e.aad), hex(V.skEm));
    assert.equal(toHex(sealed.enc), V.enc);
    assert.equal(toHex(sealed.ciphertext), e.ct);
  });

  it('the same bytes as the @noble and WebCrypto paths for the same ephemeral key, and each opens the other', async () => {
    const bob = testIdentity('bob');
    for (let i = 0; i < 20; i++) {
      const ikm = random(32);
      const info = random(i * 7);
      const aad = random(i % 3 === 0 ? 0 : i);
      const plaintext = random(i * 5);
      const fromNative = native.seal(bob.agreementPublicKey, plaintext, info, aad, hpkeDeriveKeyPair(ikm).secretKey);
      for (const backend of ['noble', 'webcrypto'] as const) {
        useCryptoBackend(backend);
        const portable = await hpkeSeal(bob.agreementPublicKey, plaintext, { info, aad, ephemeralIkm: ikm });
        assert.equal(toHex(fromNative.enc), toHex(portable.enc));
        assert.equal(toHex(fromNative.ciphertext), toHex(portable.ciphertext));
        assert.deepEqual(await hpkeOpen(bob, fromNative, { info, aad }), plaintext);
      }
    }
    useCryptoBackend('auto');
  });

  it('ChaCha20-Poly1305: the bytes of @noble/ciphers, with and without aad; a changed byte does not open', () => {
    for (const [aadLength, length] of [[0, 0], [0, 32], [13, 100], [7, 1000]] as const) {
      const key = random(32);
      const nonce = random(12);
      const aad = random(aadLength);
      const plaintext = random(length);
      const sealed = native.aeadSeal(key, nonce, aad, plaintext);
      assert.equal(toHex(sealed), toHex(chacha20poly1305(key, nonce, aad).encrypt(plaintext)));
      assert.deepEqual(native.aeadOpen(key, nonce, aad, sealed), plaintext);
      const bad = sealed.slice();
      bad[bad.length - 1]! ^= 1;
      assert.equal(native.aeadOpen(key, nonce, aad, bad), undefined);
      assert.equal(native.aeadOpen(key, nonce, random(3), sealed), undefined);
    }
  });

  for (const [name, settings, n] of [
    ['on the main thread', { workers: 0, ahead: false }, 40],
    ['on the main thread, the ephemeral keys made ahead on the thread pool (the default)', { workers: 0, ahead: true }, 700],
    ['on the main thread when few, with workers about', { workers: 2 }, 40],
    ['over one worker', { workers: 1 }, 700],
    ['over two workers', { workers: 2 }, 700],
  ] as const) {
    it(`wraps ${name}: each opens for its device alone, with a fresh ephemeral key each`, async () => {
      _configureWrapPool(settings);
      const { list, packed } = recipients(n);
      const secret = random(32);
      const prefix = concat(WRAP_LABEL, random(16), Uint8Array.of(0, 0, 0, 7));
      const wraps = await native.wrapAll(secret, prefix, packed);
      assert.equal(wraps.length, n * 80);
      const encs = new Set<string>();
      useCryptoBackend('noble');
      for (const [i, r] of list.entries()) {
        if (i % 7 !== 0 && i !== n - 1) {
          encs.add(toHex(wraps.subarray(i * 80, i * 80 + 32)));
          continue;
        }
        const wrap = { enc: wraps.subarray(i * 80, i * 80 + 32), ciphertext: wraps.subarray(i * 80 + 32, i * 80 + 80) };
        encs.add(toHex(wrap.enc));
        assert.deepEqual(await hpkeOpen(r.keys, wrap, { info: concat(prefix, r.id) }), secret);
        // Another device's info does not open it.
        await assert.rejects(hpkeOpen(r.keys, wrap, { info: concat(prefix, list[(i + 1) % n]!.id) }), (e: unknown) => e instanceof HpkeError && e.code === 'open-failed');
      }
      useCryptoBackend('auto');
      assert.equal(encs.size, n);
    });
  }

  it('a low-order recipient key is HpkeError bad-key, inline and in a worker', async () => {
    for (const settings of [{ workers: 0, ahead: false }, { workers: 0, ahead: true }, { workers: 1 }]) {
      _configureWrapPool(settings);
      const { packed } = recipients(600);
      packed.fill(0, 300 * 64 + 32, 300 * 64 + 64);
      await assert.rejects(native.wrapAll(random(32), random(10), packed), (e: unknown) => e instanceof HpkeError && e.code === 'bad-key');
    }
  });

  it('a worker that crashes or is stopped mid-op rejects it with WrapWorkerError; the next op gets new workers', async () => {
    _configureWrapPool({ workers: 2 });
    const { list, packed } = recipients(4000);
    // Crash: an uncaught exception in the worker.
    const crashing = native.wrapAll(random(32), random(10), packed);
    _wrapWorkers()[0]!.postMessage({ crash: true });
    await assert.rejects(crashing, (e: unknown) => e instanceof WrapWorkerError && e instanceof SealdocCryptoError && e.code === 'worker-failed');
    // Stopped: the worker exits.
    const stopped = assert.rejects(native.wrapAll(random(32), random(10), packed), (e: unknown) => e instanceof WrapWorkerError && e.code === 'worker-failed');
    await _stopWrapWorkers();
    await stopped;
    // And the pool comes back.
    const secret = random(32);
    const prefix = random(10);
    const wraps = await native.wrapAll(secret, prefix, packed.subarray(0, 600 * 64));
    useCryptoBackend('noble');
    const wrap = { enc: wraps.subarray(599 * 80, 599 * 80 + 32), ciphertext: wraps.subarray(599 * 80 + 32, 600 * 80) };
    assert.deepEqual(await hpkeOpen(list[599]!.keys, wrap, { info: concat(prefix, list[599]!.id) }), secret);
    useCryptoBackend('auto');
  });

  it('a worker that stops answering rejects the op with WrapWorkerError after the job timeout, not a hang', async () => {
    const before = _configureWrapPool({ workers: 1, jobTimeoutMs: 300 });
    try {
      const { packed } = recipients(600);
      await native.wrapAll(random(32), random(10), packed);
      _wrapWorkers()[0]!.postMessage({ stall: 20_000 });
      const start = performance.now();
      await assert.rejects(native.wrapAll(random(32), random(10), packed), (e: unknown) => e instanceof WrapWorkerError && e.code === 'worker-failed');
      assert.ok(performance.now() - start < 10_000);
    } finally {
      _configureWrapPool(before);
      await _stopWrapWorkers();
    }
  });

  it('a removal built natively verifies and unlocks under every backend, as one built on @noble does', async () => {
    const admin = testIdentity('admin');
    const others = Array.from({ length: 300 }, (_, i) => testIdentity(`member ${i}`));
    const create = await createGroup(admin, { members: others.map((keys) => ({ keys, role: 'writer' as const })) });
    for (const builder of ['auto', 'noble'] as const) {
      _configureWrapPool({ workers: 0, ahead: true });
      useCryptoBackend(builder);
      const log = await MembershipLog.fromOps([create]);
      const keyring = new Keyring();
      await unlockEpochSecrets(log, admin, keyring);
      const op = await removeMember(log, { signer: admin, keyring }, others[0]!.memberId, null);
      for (const reader of ['auto', 'noble', 'webcrypto'] as const) {
        useCryptoBackend(reader);
        for (const member of [others[1]!, others[299]!]) {
          const theirs = await MembershipLog.fromOps([create]);
          const ring = new Keyring();
          await unlockEpochSecrets(theirs, member, ring);
          await theirs.append(op);
          assert.deepEqual(await unlockEpochSecrets(theirs, member, ring), [1]);
        }
      }
    }
    useCryptoBackend('auto');
  });
});
