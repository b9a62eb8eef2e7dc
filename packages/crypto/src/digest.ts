/**
 * SHA-256 of inputs of any size, identical bytes on every path: natively on the calling thread
 * where the platform has it (Node, package import `#native`); elsewhere @noble/hashes for small
 * inputs (an envelope of a few KiB, where a WebCrypto call costs a round trip to another thread
 * and a promise) and WebCrypto's native digest for large ones (a snapshot of hundreds of KiB).
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { _native } from '#native';

/** Above this many bytes WebCrypto's digest is worth its round trip. */
const NATIVE_ABOVE = 16 * 1024;

/** SHA-256 of `bytes` on the calling thread where the platform has a native one; undefined elsewhere. */
export function _sha256Now(bytes: Uint8Array): Uint8Array | undefined {
  return _native?.sha256(bytes);
}

/** SHA-256 of `bytes`, 32 bytes. */
export async function _sha256(bytes: Uint8Array): Promise<Uint8Array> {
  if (_native) return _native.sha256(bytes);
  const subtle = globalThis.crypto?.subtle;
  if (subtle && bytes.length > NATIVE_ABOVE) {
    try {
      return new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
    } catch {
      // A platform whose digest refuses this input (e.g. a shared buffer): the JS path below.
    }
  }
  return sha256(bytes);
}
