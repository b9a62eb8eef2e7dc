// Node's native backend (node:crypto; keys made ahead on the thread pool) for HPKE seals and
// epoch wraps: the RFC 9180 vectors, the same bytes as the @noble and WebCrypto paths, wraps
// that every backend opens, no deadlock under frequent collections. Its wrap worker threads:
// wrap-threads.node.test.ts.
import { describe, it, after } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import {
  createGroup,
  HpkeError,
  hpkeDeriveKeyPair,
  hpkeOpen,
  hpkeSeal,
  Keyring,
  MembershipLog,
  removeMember,
  unlockEpochSecrets,
  signMessage,
  useCryptoBackend,
  verifyOnCallingThread,
  verifyMessage,
  sealEnvelope,
  readEnvelope,
  verifyEnvelope,
  EnvelopeError,
} from '@sealdoc/crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { _native } from '#native';
import { _configureWraps } from '../dist/native.node.js';
import { _sodiumLoaded, _useSodium } from '../dist/ed25519-sodium.node.js';
import { RFC9180_A21 as V } from './vectors/rfc9180-a2.js';
import { hex, testIdentity, toHex, utf8 } from './helpers.js';

const native = _native!;
/** Node's Ed25519 engines: libsodium (where sodium-native loaded; CI's machine has it) and OpenSSL. */
const ENGINES = [..._sodiumLoaded ? (['libsodium'] as const) : [], 'openssl'] as const;
/** Runs `body` with Node's Ed25519 on `engine`, then puts libsodium back where it loaded. */
async function onEngine<T>(engine: 'libsodium' | 'openssl', body: () => T | Promise<T>): Promise<T> {
  _useSodium(engine === 'libsodium');
  try {
    return await body();
  } finally {
    _useSodium(true);
  }
}
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
    _configureWraps({ ahead: true });
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

  it('SHA-256 and HMAC-SHA256: the bytes of @noble/hashes, for empty, small and large inputs, as plain Uint8Arrays', () => {
    for (const size of [0, 1, 55, 64, 1000, 60_000]) {
      const data = crypto.getRandomValues(new Uint8Array(size));
      const key = crypto.getRandomValues(new Uint8Array(32));
      const sha = _native!.sha256(data);
      assert.deepEqual(sha, sha256(data));
      const mac = _native!.hmacSha256(key, data.subarray(0, size >> 1), data.subarray(size >> 1));
      assert.deepEqual(mac, hmac(sha256, key, data));
      for (const out of [sha, mac]) assert.equal(Object.getPrototypeOf(out), Uint8Array.prototype);
    }
  });

  it('sodium-native loads here (an optional dependency with prebuilt binaries: CI must measure and test libsodium)', () => {
    if (process.env.CI === 'true') assert.equal(_sodiumLoaded, true);
  });

  it('where sodium-native is absent, Ed25519 goes through OpenSSL: the same signatures', () => {
    // A process in which requiring sodium-native fails, as where it was not installed.
    const child = `
      const Module = (await import('node:module')).default;
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        if (request === 'sodium-native') throw Object.assign(new Error('absent'), { code: 'MODULE_NOT_FOUND' });
        return resolve.call(this, request, ...rest);
      };
      const { _sodiumInUse } = await import(${JSON.stringify(new URL('../dist/ed25519-sodium.node.js', import.meta.url).href)});
      const { _native } = await import(${JSON.stringify(new URL('../dist/native.node.js', import.meta.url).href)});
      const seed = new Uint8Array(32).fill(3);
      const message = new Uint8Array([1, 2, 3]);
      const signature = _native.ed25519Sign(seed, message);
      console.log(JSON.stringify({ inUse: _sodiumInUse(), signature: Buffer.from(signature).toString('hex') }));
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 0, run.stderr);
    const { inUse, signature } = JSON.parse(run.stdout.trim()) as { inUse: boolean; signature: string };
    assert.equal(inUse, false, 'libsodium is not in use');
    assert.equal(signature, toHex(ed25519.sign(Uint8Array.of(1, 2, 3), new Uint8Array(32).fill(3))));
  });

  for (const engine of ENGINES) {
    it(`Ed25519 signing on ${engine}: the bytes of @noble and of WebCrypto (signatures are deterministic), as plain Uint8Arrays; a forgotten seed makes a new key`, () => onEngine(engine, async () => {
      for (const size of [0, 1, 1000, 60_000]) {
        const seed = random(32);
        const message = random(size);
        const signature = native.ed25519Sign(seed, message);
        assert.equal(Object.getPrototypeOf(signature), Uint8Array.prototype);
        assert.deepEqual(signature, ed25519.sign(message, seed));
        const webcrypto = await crypto.subtle.sign(
          'Ed25519',
          await crypto.subtle.importKey('pkcs8', concat(hex('302e020100300506032b657004220420'), seed), { name: 'Ed25519' }, false, ['sign']),
          message,
        );
        assert.deepEqual(signature, new Uint8Array(webcrypto));
        // The key object is kept for the seed array: a changed array, once forgotten, signs anew.
        native.forget(seed);
        seed[0]! ^= 1;
        assert.deepEqual(native.ed25519Sign(seed, message), ed25519.sign(message, seed));
        native.forget(seed);
      }
      // signMessage goes this way in Node: what it signs verifies under every backend.
      const alice = testIdentity('alice');
      const signature = await signMessage(alice, 'native-sign', utf8('x'));
      for (const backend of ['auto', 'webcrypto', 'noble'] as const) {
        useCryptoBackend(backend);
        assert.equal(await verifyMessage(alice.signingPublicKey, 'native-sign', utf8('x'), signature), true, backend);
      }
      useCryptoBackend('auto');
    }));
  }

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
    ['on the calling thread', { ahead: false }, 40],
    ['on the calling thread, many', { ahead: false }, 700],
    ['on the calling thread, the ephemeral keys made ahead on the thread pool (the default)', { ahead: true }, 700],
  ] as const) {
    it(`wraps ${name}: each opens for its device alone, with a fresh ephemeral key each`, async () => {
      _configureWraps(settings);
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

  it('thousands of seals and wraps in a process that collects garbage often do not deadlock (a fresh key exported as JWK did, on Node 20)', () => {
    // In a process of its own, with a young generation so small that a collection comes during
    // almost any allocation: the seals' ephemeral keys made inline, then wraps of 300 recipients
    // with the keys made ahead. Before the fix every such process hung within 10,000 seals.
    const child = `
      const { _native } = await import(${JSON.stringify(new URL('../dist/native.node.js', import.meta.url).href)});
      const pk = new Uint8Array(32);
      pk[0] = 9; // the X25519 base point: a valid public key, made without exporting a generated one
      const secret = new Uint8Array(32).fill(7);
      for (let i = 0; i < 20000; i++) _native.seal(pk, secret, new Uint8Array([1]), new Uint8Array(0));
      const recipients = new Uint8Array(300 * 64);
      for (let i = 0; i < 300; i++) recipients.set(pk, i * 64 + 32);
      for (let i = 0; i < 30; i++) await _native.wrapAll(secret, new Uint8Array([2]), recipients);
      console.log('done');
    `;
    const run = spawnSync(process.execPath, ['--max-semi-space-size=1', '--input-type=module', '-e', child], { encoding: 'utf8', timeout: 90_000 });
    assert.equal(run.signal, null, `the process was killed after 90 s: it hung (${run.stderr})`);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'done');
  });

  it('a low-order recipient key is HpkeError bad-key, with keys made inline or ahead', async () => {
    for (const settings of [{ ahead: false }, { ahead: true }]) {
      _configureWraps(settings);
      const { packed } = recipients(600);
      packed.fill(0, 300 * 64 + 32, 300 * 64 + 64);
      await assert.rejects(native.wrapAll(random(32), random(10), packed), (e: unknown) => e instanceof HpkeError && e.code === 'bad-key');
    }
  });

  it('a removal built natively verifies and unlocks under every backend, as one built on @noble does', async () => {
    const admin = testIdentity('admin');
    const others = Array.from({ length: 300 }, (_, i) => testIdentity(`member ${i}`));
    const create = await createGroup(admin, { members: others.map((keys) => ({ keys, role: 'writer' as const })) });
    for (const builder of ['auto', 'noble'] as const) {
      _configureWraps({ ahead: true });
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

  describe('Ed25519 verification on node:crypto (one-shot), beside WebCrypto and @noble', () => {
    const alice = testIdentity('alice');
    const message = utf8('an envelope');
    const le = (n: bigint) => {
      const out = new Uint8Array(32);
      for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
      return out;
    };
    const leNumber = (bytes: Uint8Array) => bytes.reduceRight((n, b) => (n << 8n) | BigInt(b), 0n);
    const L = ed25519.Point.Fn.ORDER;
    const P = 2n ** 255n - 19n;
    // The small-order points (orders 1, 2, 4, 8), canonical and not, and keys whose y is at or above p.
    const SMALL_ORDER = [
      '0100000000000000000000000000000000000000000000000000000000000000',
      '0100000000000000000000000000000000000000000000000000000000000080',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0000000000000000000000000000000000000000000000000000000000000080',
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
      '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
      '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    ].map(hex);

    /** What each backend says of (key, signature) over the message: libsodium and OpenSSL on this thread (verifyOnCallingThread), WebCrypto, @noble. */
    async function verdicts(publicKey: Uint8Array, signature: Uint8Array): Promise<boolean[]> {
      const out: boolean[] = [];
      for (const backend of [...ENGINES, 'webcrypto', 'noble'] as const) {
        const onThread = backend === 'libsodium' || backend === 'openssl';
        useCryptoBackend(onThread ? 'auto' : backend);
        verifyOnCallingThread(onThread);
        out.push(await (onThread ? onEngine(backend, () => verifyMessage(publicKey, 'native', message, signature)) : verifyMessage(publicKey, 'native', message, signature)));
      }
      useCryptoBackend('auto');
      verifyOnCallingThread(false);
      return out;
    }
    const all = (verdict: boolean) => Array.from({ length: ENGINES.length + 2 }, () => verdict);

    after(() => useCryptoBackend('auto'));

    it('accepts what the others accept and refuses S >= L, small-order and non-canonical keys, as they do', async () => {
      const signature = await signMessage(alice, 'native', message);
      assert.deepEqual(await verdicts(alice.signingPublicKey, signature), all(true));
      let s = 0n;
      for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(signature[32 + i]!);
      for (const bad of [s + L, L, 2n ** 256n - 1n]) {
        const malleated = signature.slice();
        malleated.set(le(bad), 32);
        assert.deepEqual(await verdicts(alice.signingPublicKey, malleated), all(false));
        // OpenSSL and libsodium refuse S >= L of themselves, too (not only the check before it).
        for (const engine of ENGINES) assert.equal(await onEngine(engine, () => native.ed25519Verify(malleated, utf8('x'), alice.signingPublicKey)), false, engine);
      }
      // A signature under the identity key: [s]B = R holds for every message (OpenSSL accepts
      // it; the key check before it refuses the key, on every backend).
      const forged = new Uint8Array(64);
      forged.set(ed25519.Point.BASE.multiply(12345n).toBytes());
      forged.set(le(12345n), 32);
      for (const key of SMALL_ORDER) assert.deepEqual(await verdicts(key, forged), all(false));
      // A key encoded with y + p (y < 19: y = 2..18 with the sign bit clear), and R's encodings at or above p.
      for (let y = 2n; y < 19n; y++) assert.deepEqual(await verdicts(le(y + P), signature), all(false));
      for (const r of [P, P + 1n, 2n ** 255n - 1n]) {
        const odd = signature.slice();
        odd.set(le(r), 0);
        assert.deepEqual(await verdicts(alice.signingPublicKey, odd), all(false));
      }
    });

    it('refuses, on every backend, a signature whose R is of small order (only the key\'s holder can make one, no honest signer does; OpenSSL, WebCrypto and @noble would accept it, libsodium does not)', async () => {
      // R the identity (order 1) and S = h·a: [S]B = R + [h]A holds, for the key's holder, who knows its secret scalar.
      const seed = random(32);
      const publicKey = ed25519.getPublicKey(seed);
      const { scalar } = ed25519.utils.getExtendedPublicKey(seed);
      const signed = concat(utf8('sealdoc/v1/sig'), Uint8Array.of(6), utf8('native'), message);
      const r = SMALL_ORDER[0]!;
      const h = ed25519.Point.Fn.create(leNumber(sha512(concat(r, publicKey, signed))));
      const forged = concat(r, le(ed25519.Point.Fn.create(h * scalar)));
      // Without the policy's check the engines would disagree:
      assert.equal(ed25519.verify(forged, signed, publicKey, { zip215: false }), true, '@noble alone accepts it');
      assert.equal(await onEngine('openssl', () => native.ed25519Verify(forged, signed, publicKey)), true, 'OpenSSL alone accepts it');
      if (_sodiumLoaded) assert.equal(await onEngine('libsodium', () => native.ed25519Verify(forged, signed, publicKey)), false, 'libsodium alone refuses it');
      assert.deepEqual(await verdicts(publicKey, forged), all(false));
    });

    it('verifyEnvelope, checked at once on this thread, gives the verdicts of the awaited path, and fails by rejecting, never by throwing', async () => {
      const log = await MembershipLog.fromOps([await createGroup(alice)]);
      const keyring = new Keyring();
      await unlockEpochSecrets(log, alice, keyring);
      const docId = new Uint8Array(16).fill(3);
      const good = await sealEnvelope({ kind: 'update', groupId: log.groupId, docId, epoch: log.epoch, seq: 7, head: log.head, author: alice, keyring, plaintext: message });
      const flipped = good.slice();
      flipped[good.length - 1]! ^= 1;
      const otherHead = good.slice();
      otherHead[2 + 16 + 16 + 4 + 32 + 8]! ^= 1;
      const inputs = [good, flipped, otherHead, good.subarray(0, 40), new Uint8Array(0)];
      const contexts = [log.verifyContext(), log.verifyContext({ docId: new Uint8Array(16) }), log.verifyContext({ kinds: ['snapshot'] }), { ...log.verifyContext(), author: () => undefined }];
      const verdictsOf = async (): Promise<string[]> => {
        const out: string[] = [];
        for (const ctx of contexts)
          for (const bytes of inputs)
            for (const input of [bytes, ...(bytes.length > 100 ? [readEnvelope(bytes)] : [])]) {
              let pending: Promise<unknown> | undefined;
              assert.doesNotThrow(() => (pending = verifyEnvelope(input, ctx)));
              out.push(await pending!.then(() => 'ok', (error: unknown) => (error instanceof EnvelopeError ? error.code : String(error))));
            }
        return out;
      };
      const awaited = await verdictsOf();
      assert.deepEqual(new Set(awaited), new Set(['ok', 'bad-signature', 'unknown-head', 'malformed', 'wrong-doc', 'wrong-kind', 'not-a-member']));
      for (const engine of ENGINES) {
        verifyOnCallingThread(true);
        try {
          assert.deepEqual(await onEngine(engine, verdictsOf), awaited, engine);
        } finally {
          verifyOnCallingThread(false);
        }
      }
    });

    it('agrees with WebCrypto and @noble on 300 signatures with a byte changed', async () => {
      const signature = await signMessage(alice, 'native', message);
      for (let i = 0; i < 300; i++) {
        const changed = signature.slice();
        changed[i % 64]! ^= 1 << (i % 8);
        const v = await verdicts(alice.signingPublicKey, changed);
        assert.ok(v.every((x) => x === v[0]), `byte ${i % 64}: ${v.join(', ')}`);
      }
    });
  });
});
