import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CipherSuite } from '@hpke/core';
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/dhkem-x25519';
import {
  HpkeError,
  hpkeDeriveKeyPair,
  hpkeOpen,
  hpkeReceiveExport,
  hpkeSeal,
  hpkeSendExport,
  useCryptoBackend,
  type CryptoBackend,
} from '@sealdoc/crypto';
import { x25519 } from '@noble/curves/ed25519.js';
import { _hpkeSealAgreed, _hpkeSealToMany } from '../dist/hpke.js';
import { RFC9180_A21 as V } from './vectors/rfc9180-a2.js';
import { hex, testIdentity, toHex, utf8 } from './helpers.js';

const BACKENDS: CryptoBackend[] = ['webcrypto', 'noble'];

describe('HPKE: RFC 9180 A.2.1 vectors', () => {
  after(() => useCryptoBackend('auto'));

  it('DeriveKeyPair reproduces skEm/pkEm and skRm/pkRm', () => {
    const e = hpkeDeriveKeyPair(hex(V.ikmE));
    const r = hpkeDeriveKeyPair(hex(V.ikmR));
    assert.equal(toHex(e.secretKey), V.skEm);
    assert.equal(toHex(e.publicKey), V.pkEm);
    assert.equal(toHex(r.secretKey), V.skRm);
    assert.equal(toHex(r.publicKey), V.pkRm);
  });

  for (const backend of BACKENDS) {
    it(`seal and open at sequence 0 (${backend})`, async () => {
      useCryptoBackend(backend);
      const enc0 = V.encryptions[0];
      const options = { info: hex(V.info), aad: hex(enc0.aad) };
      const sealed = await hpkeSeal(hex(V.pkRm), hex(enc0.pt), { ...options, ephemeralIkm: hex(V.ikmE) });
      assert.equal(toHex(sealed.enc), V.enc);
      assert.equal(toHex(sealed.ciphertext), enc0.ct);
      const recipient = { secretKey: hex(V.skRm), publicKey: hex(V.pkRm) };
      const opened = await hpkeOpen(recipient, { enc: hex(V.enc), ciphertext: hex(enc0.ct) }, options);
      assert.equal(toHex(opened), enc0.pt);
    });

    it(`exporter values (${backend})`, async () => {
      useCryptoBackend(backend);
      const recipient = { secretKey: hex(V.skRm), publicKey: hex(V.pkRm) };
      for (const x of V.exports) {
        const sent = await hpkeSendExport(hex(V.pkRm), hex(x.exporter_context), x.L, { info: hex(V.info), ephemeralIkm: hex(V.ikmE) });
        assert.equal(toHex(sent.enc), V.enc);
        assert.equal(toHex(sent.secret), x.exported_value);
        const received = await hpkeReceiveExport(recipient, hex(V.enc), hex(x.exporter_context), x.L, { info: hex(V.info) });
        assert.equal(toHex(received), x.exported_value);
      }
    });
  }
});

describe('HPKE: interoperability with @hpke/core', () => {
  const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() });
  const info = utf8('sealdoc interop');
  const aad = utf8('aad');

  it('@hpke/core seals, Sealdoc opens (to an Identity)', async () => {
    const bob = testIdentity('bob');
    const recipientPublicKey = await suite.kem.importKey('raw', bob.agreementPublicKey.slice().buffer, true);
    const { ct, enc } = await suite.seal({ recipientPublicKey, info }, utf8('from hpke-js'), aad);
    const pt = await hpkeOpen(bob, { enc: new Uint8Array(enc), ciphertext: new Uint8Array(ct) }, { info, aad });
    assert.equal(new TextDecoder().decode(pt), 'from hpke-js');
  });

  it('Sealdoc seals, @hpke/core opens', async () => {
    const pair = hpkeDeriveKeyPair(crypto.getRandomValues(new Uint8Array(32)));
    const sealed = await hpkeSeal(pair.publicKey, utf8('from sealdoc'), { info, aad });
    const recipientKey = await suite.kem.importKey('raw', pair.secretKey.slice().buffer, false);
    const pt = await suite.open({ recipientKey, enc: sealed.enc, info }, sealed.ciphertext, aad);
    assert.equal(new TextDecoder().decode(pt), 'from sealdoc');
  });

  it('both derive the same exported secret', async () => {
    const pair = hpkeDeriveKeyPair(crypto.getRandomValues(new Uint8Array(32)));
    const sent = await hpkeSendExport(pair.publicKey, utf8('ctx'), 42, { info });
    const recipientKey = await suite.kem.importKey('raw', pair.secretKey.slice().buffer, false);
    const ctx = await suite.createRecipientContext({ recipientKey, enc: sent.enc, info });
    assert.equal(toHex(new Uint8Array(await ctx.export(utf8('ctx'), 42))), toHex(sent.secret));
  });
});

describe('HPKE: refusals', () => {
  const bob = testIdentity('bob');
  const eve = testIdentity('eve');

  it('opens only with the right key, info and aad', async () => {
    const sealed = await hpkeSeal(bob.agreementPublicKey, utf8('secret'), { info: utf8('i'), aad: utf8('a') });
    assert.deepEqual(await hpkeOpen(bob, sealed, { info: utf8('i'), aad: utf8('a') }), utf8('secret'));
    await assert.rejects(hpkeOpen(eve, sealed, { info: utf8('i'), aad: utf8('a') }), { name: 'HpkeError', code: 'open-failed' });
    await assert.rejects(hpkeOpen(bob, sealed, { info: utf8('j'), aad: utf8('a') }), { code: 'open-failed' });
    await assert.rejects(hpkeOpen(bob, sealed, { info: utf8('i'), aad: utf8('b') }), { code: 'open-failed' });
  });

  it('refuses a low-order encapsulation and a malformed one', async () => {
    const ciphertext = new Uint8Array(32);
    await assert.rejects(hpkeOpen(bob, { enc: new Uint8Array(32), ciphertext }), { code: 'bad-key' });
    await assert.rejects(hpkeOpen(bob, { enc: new Uint8Array(31), ciphertext }), { code: 'bad-encapsulation' });
    await assert.rejects(hpkeSeal(new Uint8Array(32), utf8('x')), { code: 'bad-key' });
    await assert.rejects(hpkeSeal(new Uint8Array(33), utf8('x')), { code: 'bad-key' });
  });

  it('refuses short ikm and impossible export lengths', async () => {
    assert.throws(() => hpkeDeriveKeyPair(new Uint8Array(31)), { code: 'bad-length' });
    await assert.rejects(hpkeSendExport(bob.agreementPublicKey, new Uint8Array(0), 0), { code: 'bad-length' });
    await assert.rejects(hpkeSendExport(bob.agreementPublicKey, new Uint8Array(0), 255 * 32 + 1), { code: 'bad-length' });
  });

  it('fuzz: random encapsulations and ciphertexts are HpkeErrors, never crashes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 40 }), fc.uint8Array({ maxLength: 80 }), async (enc, ciphertext) => {
        await assert.rejects(hpkeOpen(bob, { enc, ciphertext }), HpkeError);
      }),
      { numRuns: 150 },
    );
  });

  it('flipping any bit of a sealed key wrap is refused', async () => {
    const sealed = await hpkeSeal(bob.agreementPublicKey, new Uint8Array(32).fill(7), { info: utf8('wrap') });
    const whole = new Uint8Array([...sealed.enc, ...sealed.ciphertext]);
    for (let bit = 0; bit < whole.length * 8; bit++) {
      const flipped = whole.slice();
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      await assert.rejects(hpkeOpen(bob, { enc: flipped.subarray(0, 32), ciphertext: flipped.subarray(32) }, { info: utf8('wrap') }), HpkeError);
    }
  });
});

// The batch that makes a membership op's epoch wraps (epochs.ts): its key schedule and seal
// are pinned by the RFC's vector; with fresh ephemeral keys, each wrap opens on the single-shot
// path (which the vectors above pin), for its own info alone.
describe('HPKE: SealBase to many recipients (_hpkeSealToMany)', () => {
  after(() => useCryptoBackend('auto'));

  it('given the agreement, reproduces the RFC 9180 A.2.1 ciphertext at sequence 0, for any split of info', () => {
    const enc0 = V.encryptions[0];
    const dh = x25519.getSharedSecret(hex(V.skEm), hex(V.pkRm));
    const info = hex(V.info);
    for (const cut of [0, 7, info.length]) {
      const out = _hpkeSealAgreed(hex(V.pkEm), dh, [hex(V.pkRm)], info.subarray(0, cut), [info.subarray(cut)], hex(enc0.pt), hex(enc0.aad));
      assert.equal(toHex(out), V.enc + enc0.ct);
    }
    // Three recipients in one call: each the same bytes as alone.
    const three = _hpkeSealAgreed(hex(V.pkEm + V.pkEm + V.pkEm), new Uint8Array([...dh, ...dh, ...dh]), [hex(V.pkRm), hex(V.pkRm), hex(V.pkRm)], info, [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)], hex(enc0.pt), hex(enc0.aad));
    assert.equal(toHex(three), (V.enc + enc0.ct).repeat(3));
  });

  for (const backend of BACKENDS) {
    it(`each wrap opens for its recipient and info alone, fresh ephemeral keys, over several ranges (${backend})`, async () => {
      useCryptoBackend(backend);
      const n = 37;
      const pairs = Array.from({ length: n }, () => hpkeDeriveKeyPair(crypto.getRandomValues(new Uint8Array(32))));
      const ids = pairs.map(() => crypto.getRandomValues(new Uint8Array(32)));
      const prefix = utf8('sealdoc/test/prefix');
      const secret = crypto.getRandomValues(new Uint8Array(32));
      const aad = utf8('aad');
      const wraps = await _hpkeSealToMany(pairs.map((p) => p.publicKey), prefix, ids, secret, 8, aad);
      assert.equal(wraps.length, n * 80);
      const encs = new Set<string>();
      for (let i = 0; i < n; i++) {
        const sealed = { enc: wraps.subarray(i * 80, i * 80 + 32), ciphertext: wraps.subarray(i * 80 + 32, i * 80 + 80) };
        encs.add(toHex(sealed.enc));
        assert.deepEqual(await hpkeOpen(pairs[i]!, sealed, { info: new Uint8Array([...prefix, ...ids[i]!]), aad }), secret);
        await assert.rejects(hpkeOpen(pairs[i]!, sealed, { info: new Uint8Array([...prefix, ...ids[(i + 1) % n]!]), aad }), (e: unknown) => e instanceof HpkeError && e.code === 'open-failed');
      }
      assert.equal(encs.size, n);
      assert.equal((await _hpkeSealToMany([], prefix, [], secret, 8)).length, 0);
    });

    it(`a low-order or malformed recipient key is HpkeError bad-key (${backend})`, async () => {
      useCryptoBackend(backend);
      const keys = Array.from({ length: 20 }, () => hpkeDeriveKeyPair(crypto.getRandomValues(new Uint8Array(32))).publicKey);
      const ids = keys.map(() => new Uint8Array(32));
      for (const bad of [new Uint8Array(32), new Uint8Array(31)]) {
        const list = keys.slice();
        list[13] = bad;
        await assert.rejects(_hpkeSealToMany(list, new Uint8Array(0), ids, new Uint8Array(32), 8), (e: unknown) => e instanceof HpkeError && e.code === 'bad-key');
      }
    });
  }
});
