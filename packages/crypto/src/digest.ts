/**
 * SHA-256 of possibly large inputs: WebCrypto's digest where the platform has it (native, off
 * the JavaScript heap), @noble/hashes otherwise; identical bytes either way.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';

/** SHA-256 of `bytes`, 32 bytes. */
export async function _sha256(bytes: Uint8Array): Promise<Uint8Array> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle) {
    try {
      return new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
    } catch {
      // A platform whose digest refuses this input (e.g. a shared buffer): the JS path below.
    }
  }
  return sha256(bytes);
}
