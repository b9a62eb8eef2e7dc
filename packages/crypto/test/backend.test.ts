import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  activeCryptoBackends,
  CryptoInputError,
  hpkeOpen,
  hpkeReceiveExport,
  hpkeSeal,
  hpkeSendExport,
  signMessage,
  useCryptoBackend,
  verifyMessage,
} from '@sealdoc/crypto';
import { testIdentity, toHex, utf8 } from './helpers.js';

describe('WebCrypto fast path and noble fallback', () => {
  after(() => useCryptoBackend('auto'));
  const alice = testIdentity('alice');
  const bob = testIdentity('bob');
  const message = utf8('the same bytes either way');

  it('defaults to WebCrypto for both curves on this platform (Node >= 20, Chromium)', async () => {
    useCryptoBackend('auto');
    assert.deepEqual(await activeCryptoBackends(), { ed25519: 'webcrypto', x25519: 'webcrypto' });
  });

  it('Ed25519: identical signatures; each verifies what the other signed', async () => {
    useCryptoBackend('webcrypto');
    const fromWebCrypto = await signMessage(alice, 'interop', message);
    useCryptoBackend('noble');
    const fromNoble = await signMessage(alice, 'interop', message);
    assert.equal(toHex(fromWebCrypto), toHex(fromNoble));
    assert.equal(await verifyMessage(alice.signingPublicKey, 'interop', message, fromWebCrypto), true);
    useCryptoBackend('webcrypto');
    assert.equal(await verifyMessage(alice.signingPublicKey, 'interop', message, fromNoble), true);
  });

  it('X25519: what one side wraps the other unwraps, and exports agree', async () => {
    for (const [sender, recipient] of [['webcrypto', 'noble'], ['noble', 'webcrypto']] as const) {
      useCryptoBackend(sender);
      const sealed = await hpkeSeal(bob.agreementPublicKey, message, { info: utf8('i') });
      const exported = await hpkeSendExport(bob.agreementPublicKey, utf8('c'), 32);
      useCryptoBackend(recipient);
      assert.deepEqual(await hpkeOpen(bob, sealed, { info: utf8('i') }), message);
      assert.equal(toHex(await hpkeReceiveExport(bob, exported.enc, utf8('c'), 32)), toHex(exported.secret));
    }
  });

  for (const backend of ['webcrypto', 'noble'] as const) {
    it(`${backend}: refuses a malleated signature (S + L), a small-order key, a wrong context`, async () => {
      useCryptoBackend(backend);
      const signature = await signMessage(alice, 'interop', message);
      // S + L encodes the same scalar mod L: strict RFC 8032 verification must refuse it.
      let s = 0n;
      for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(signature[32 + i]!);
      s += ed25519.Point.Fn.ORDER;
      const malleated = signature.slice();
      for (let i = 0; i < 32; i++, s >>= 8n) malleated[32 + i] = Number(s & 0xffn);
      assert.equal(await verifyMessage(alice.signingPublicKey, 'interop', message, malleated), false);
      assert.equal(await verifyMessage(new Uint8Array(32), 'interop', message, signature), false);
      const identityPoint = new Uint8Array(32);
      identityPoint[0] = 1;
      assert.equal(await verifyMessage(identityPoint, 'interop', message, signature), false);
      assert.equal(await verifyMessage(alice.signingPublicKey, 'other', message, signature), false);
      assert.equal(await verifyMessage(bob.signingPublicKey, 'interop', message, signature), false);
    });
  }

  it('refuses an unknown backend name', () => {
    assert.throws(() => useCryptoBackend('openssl' as 'noble'), CryptoInputError);
  });
});
