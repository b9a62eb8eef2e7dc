/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03) for envelopes: the subkey from HChaCha20 of
 * the key and the nonce's first 16 bytes (@noble/ciphers), then ChaCha20-Poly1305 (RFC 8439)
 * under it with 4 zero bytes and the nonce's last 8, through primitives.ts: natively where the
 * platform has it (Node: OpenSSL, about twenty times faster than JavaScript on a large
 * snapshot), @noble elsewhere. Identical bytes either way (`xchacha.test.ts`, with the draft's
 * vector).
 * @module
 */
import { hchacha } from '@noble/ciphers/chacha.js';
import { _wipe } from './bytes.js';
import { _aeadOpen, _aeadSeal } from './primitives.js';

// "expand 32-byte k", as four little-endian words.
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

// Scratch for the subkey's derivation: a catch-up derives one per envelope, and the calls are
// synchronous, so one set serves them all; every call wipes it before it returns.
const KEY_WORDS = new Uint32Array(8);
const NONCE_WORDS = new Uint32Array(4);
const OUT_WORDS = new Uint32Array(8);
const SUBKEY = new Uint8Array(32);
const NONCE12 = new Uint8Array(12);

/** Fills `out` with the first `out.length` little-endian words of `bytes`. */
function readWords(bytes: Uint8Array, out: Uint32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = bytes[4 * i]! | (bytes[4 * i + 1]! << 8) | (bytes[4 * i + 2]! << 16) | (bytes[4 * i + 3]! << 24);
}

/**
 * Runs `body` with the ChaCha20-Poly1305 key and 12-byte nonce that XChaCha20-Poly1305 under
 * (key, nonce) uses, in scratch arrays wiped when it returns (`body` must not keep them).
 */
function withSubkey<T>(key: Uint8Array, nonce: Uint8Array, body: (subkey: Uint8Array, nonce12: Uint8Array) => T): T {
  try {
    readWords(key, KEY_WORDS);
    readWords(nonce, NONCE_WORDS);
    hchacha(SIGMA, KEY_WORDS, NONCE_WORDS, OUT_WORDS);
    for (let i = 0; i < 8; i++) {
      const w = OUT_WORDS[i]!;
      SUBKEY[4 * i] = w & 0xff;
      SUBKEY[4 * i + 1] = (w >>> 8) & 0xff;
      SUBKEY[4 * i + 2] = (w >>> 16) & 0xff;
      SUBKEY[4 * i + 3] = w >>> 24;
    }
    for (let i = 0; i < 8; i++) NONCE12[4 + i] = nonce[16 + i]!;
    return body(SUBKEY, NONCE12);
  } finally {
    KEY_WORDS.fill(0);
    NONCE_WORDS.fill(0);
    OUT_WORDS.fill(0);
    _wipe(SUBKEY, NONCE12);
  }
}

/** Encrypts: ciphertext || 16-byte tag. */
export function _xchachaSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return withSubkey(key, nonce, (subkey, nonce12) => _aeadSeal(subkey, nonce12, aad, plaintext));
}

/** Decrypts and authenticates; undefined when the tag does not match. */
export function _xchachaOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  return withSubkey(key, nonce, (subkey, nonce12) => _aeadOpen(subkey, nonce12, aad, sealed));
}
