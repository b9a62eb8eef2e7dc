// Envelopes' XChaCha20-Poly1305 (in Node: HChaCha20 in JS, ChaCha20-Poly1305 in OpenSSL; in a
// browser: @noble) gives the bytes of @noble's xchacha20poly1305, and the draft's test vector.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { _native } from '#native';
import { _xchachaOpen, _xchachaSeal } from '../src/xchacha.js';
import { hex, toHex, utf8 } from './helpers.js';

describe('XChaCha20-Poly1305 for envelopes', () => {
  it('runs natively in Node, on @noble in a browser', () => {
    const node = typeof process !== 'undefined' && !!process.versions?.node;
    assert.equal(!!_native, node);
  });

  it('draft-irtf-cfrg-xchacha-03, A.3.1', () => {
    const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const nonce = hex('404142434445464748494a4b4c4d4e4f5051525354555657');
    const aad = hex('50515253c0c1c2c3c4c5c6c7');
    const plaintext = utf8("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const expected =
      'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e' +
      'c0875924c1c7987947deafd8780acf49';
    assert.equal(toHex(_xchachaSeal(key, nonce, aad, plaintext)), expected);
    assert.deepEqual(_xchachaOpen(key, nonce, aad, hex(expected)), plaintext);
  });

  it('property: the same bytes as @noble for any key, nonce, aad and length; a flipped bit does not open', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 24, maxLength: 24 }), fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 5000 }), fc.nat(), (key, nonce, aad, plaintext, at) => {
        const sealed = _xchachaSeal(key, nonce, aad, plaintext);
        assert.deepEqual(sealed, xchacha20poly1305(key, nonce, aad).encrypt(plaintext));
        assert.deepEqual(_xchachaOpen(key, nonce, aad, sealed), plaintext);
        const flipped = sealed.slice();
        flipped[at % flipped.length]! ^= 1;
        assert.equal(_xchachaOpen(key, nonce, aad, flipped), undefined);
        assert.equal(_xchachaOpen(key, nonce, aad, sealed.subarray(0, 15)), undefined);
      }),
      { numRuns: 300 },
    );
  });

  it('returns a Uint8Array of its own, not a Buffer or a view of a shared pool', () => {
    const opened = _xchachaOpen(new Uint8Array(32), new Uint8Array(24), new Uint8Array(0), _xchachaSeal(new Uint8Array(32), new Uint8Array(24), new Uint8Array(0), utf8('x')))!;
    assert.equal(Object.getPrototypeOf(opened), Uint8Array.prototype);
    assert.equal(opened.byteLength, opened.buffer.byteLength);
  });
});
