/**
 * Native fast paths, by platform. This is the browser's (and any platform's but Node's)
 * variant of the package's `#native` import: none, so callers take the portable path
 * (WebCrypto, @noble). Node resolves `#native` to native.node.ts instead (package.json
 * "imports", condition `node`), which never reaches a browser bundle.
 * @module
 */
import type { _WrapThreads } from './wrap-thread.js';

/** Sealed with HPKE: enc and ciphertext. */
export interface _NativeSealed {
  enc: Uint8Array;
  ciphertext: Uint8Array;
}

/** What a native backend offers. Every output is byte for byte the portable path's. */
export interface _NativeBackend {
  /** Where it runs, for benchmarks and tests. */
  readonly name: string;
  /**
   * The epoch wraps of n recipients, n × 80 bytes in their order: `recipients` is n × (device
   * id 32 · X25519 public key 32); each wrap is HPKE SealBase of `secret` with
   * info = `infoPrefix` || device id and empty aad, a fresh ephemeral key each.
   * Throws HpkeError('bad-key') for a low-order key. `on`: made as a range of an op the calling
   * thread shares with the wrap workers (wrap-pool.ts), or by a wrap worker; by this thread
   * alone when absent.
   */
  wrapAll(secret: Uint8Array, infoPrefix: Uint8Array, recipients: Uint8Array, on?: 'shared' | 'worker'): Promise<Uint8Array>;
  /** Single-shot SealBase; `ephemeralSecret` fixes the ephemeral key (test vectors only). */
  seal(recipientPublicKey: Uint8Array, plaintext: Uint8Array, info: Uint8Array, aad: Uint8Array, ephemeralSecret?: Uint8Array): _NativeSealed;
  /** ChaCha20-Poly1305 (RFC 8439): ciphertext || tag. */
  aeadSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** Opens aeadSeal's output; undefined when it does not open. */
  aeadOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined;
  /**
   * Ed25519 (RFC 8032, pure) verification on the calling thread, of a key the caller found
   * canonical and of full order and of a signature whose S it found below L and whose R it found
   * not of small order (the checks `_ed25519Verify` makes first, the same on every backend);
   * false when it does not verify.
   */
  ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  /**
   * Ed25519 (RFC 8032, pure) signature by the key of `seed`, on the calling thread; the key
   * object made of it is kept for that very array until {@link _NativeBackend.forget} drops it.
   */
  ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array;
  /** Drops (wiping what it can) the keys made of these secret arrays. */
  forget(...secrets: Uint8Array[]): void;
  /** SHA-256 of `bytes`, on the calling thread. */
  sha256(bytes: Uint8Array): Uint8Array;
  /** HMAC-SHA256 under `key` of the concatenation of `parts`, on the calling thread. */
  hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array;
  /** The platform's wrap threads for wrap-pool.ts, where it has them (Node: worker_threads). */
  readonly wrapThreads?: _WrapThreads;
}

/** No native backend on this platform. */
export const _native: _NativeBackend | undefined = undefined;
