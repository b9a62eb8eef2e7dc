/// <reference types="node" />
/**
 * Ed25519 on libsodium, for Node, when the optional dependency sodium-native loads (it ships
 * prebuilt binaries for Linux, macOS and Windows; where none fits, or with
 * `npm install --omit=optional`, it is absent and native.node.ts uses OpenSSL instead).
 *
 * Why: a relay checks one signature per push, and a Node client signs each envelope it seals.
 * Here libsodium verifies in about 75 µs where OpenSSL takes about 170, and signs in about 23 µs
 * where OpenSSL takes about 50. Signatures are deterministic: the same bytes as OpenSSL's,
 * WebCrypto's and @noble's. libsodium refuses some signatures the others accept (a small-order
 * R, which no honest signer makes and only the key's holder can); `_ed25519Verify` refuses those
 * on every backend first, so that every backend gives the same verdict (primitives.ts).
 * @module
 */
import { createRequire } from 'node:module';

/** The part of sodium-native used here. */
interface Sodium {
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  crypto_sign_detached(signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void;
  crypto_sign_seed_keypair(publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array): void;
  sodium_memzero(buffer: Uint8Array): void;
}

function load(): Sodium | undefined {
  try {
    return createRequire(import.meta.url)('sodium-native') as Sodium;
  } catch {
    return undefined;
  }
}

const loaded = load();
let inUse = loaded !== undefined;

/** Whether sodium-native loaded on this platform. */
export const _sodiumLoaded = loaded !== undefined;

// libsodium's secret keys (seed || public key), by the identity's seed array (as native.node.ts
// keeps OpenSSL's key objects): made once, wiped and dropped by forget.
const secretKeys = new WeakMap<Uint8Array, Uint8Array>();

/** Whether Ed25519 goes through libsodium: sodium-native loaded, and tests did not turn it off. */
export function _sodiumInUse(): boolean {
  return inUse;
}

/** Tests and benchmarks: whether libsodium is used where it loaded. Returns whether it was in use before. */
export function _useSodium(on: boolean): boolean {
  const before = inUse;
  inUse = on && loaded !== undefined;
  return before;
}

/** RFC 8032 verification; false when it does not verify. */
export function _sodiumVerify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  return loaded!.crypto_sign_verify_detached(signature, message, publicKey);
}

/** RFC 8032 signature by the key of `seed` (32 bytes). */
export function _sodiumSign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  let secretKey = secretKeys.get(seed);
  if (!secretKey) {
    secretKey = new Uint8Array(64);
    loaded!.crypto_sign_seed_keypair(new Uint8Array(32), secretKey, seed);
    secretKeys.set(seed, secretKey);
  }
  const signature = new Uint8Array(64);
  loaded!.crypto_sign_detached(signature, message, secretKey);
  return signature;
}

/** Wipes and drops the secret keys made of these seeds. */
export function _sodiumForget(...seeds: Uint8Array[]): void {
  for (const seed of seeds) {
    const secretKey = secretKeys.get(seed);
    if (!secretKey) continue;
    loaded!.sodium_memzero(secretKey);
    secretKeys.delete(seed);
  }
}
