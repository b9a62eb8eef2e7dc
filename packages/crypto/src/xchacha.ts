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

/** The first `count` little-endian words of `bytes`. */
function words(bytes: Uint8Array, count: number): Uint32Array {
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = bytes[4 * i]! | (bytes[4 * i + 1]! << 8) | (bytes[4 * i + 2]! << 16) | (bytes[4 * i + 3]! << 24);
  return out;
}

/** The ChaCha20-Poly1305 key and 12-byte nonce that XChaCha20-Poly1305 under (key, nonce) uses. */
function derive(key: Uint8Array, nonce: Uint8Array): { subkey: Uint8Array; nonce12: Uint8Array } {
  // Written byte by byte, with no temporary arrays: a catch-up derives one per envelope.
  const k = words(key, 8);
  const out = new Uint32Array(8);
  hchacha(SIGMA, k, words(nonce, 4), out);
  const subkey = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const w = out[i]!;
    subkey[4 * i] = w & 0xff;
    subkey[4 * i + 1] = (w >>> 8) & 0xff;
    subkey[4 * i + 2] = (w >>> 16) & 0xff;
    subkey[4 * i + 3] = w >>> 24;
  }
  k.fill(0);
  out.fill(0);
  const nonce12 = new Uint8Array(12);
  for (let i = 0; i < 8; i++) nonce12[4 + i] = nonce[16 + i]!;
  return { subkey, nonce12 };
}

/** Encrypts: ciphertext || 16-byte tag. */
export function _xchachaSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const { subkey, nonce12 } = derive(key, nonce);
  try {
    return _aeadSeal(subkey, nonce12, aad, plaintext);
  } finally {
    _wipe(subkey);
  }
}

/** Decrypts and authenticates; undefined when the tag does not match. */
export function _xchachaOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  const { subkey, nonce12 } = derive(key, nonce);
  try {
    return _aeadOpen(subkey, nonce12, aad, sealed);
  } finally {
    _wipe(subkey);
  }
}
