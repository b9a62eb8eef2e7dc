/// <reference types="node" />
/**
 * Node's variant of the package's `#native` import: HPKE seals and ChaCha20-Poly1305 on
 * node:crypto (OpenSSL; hpke-native.node.ts), for the epoch wraps of a membership op and for
 * envelopes, and SHA-256 and HMAC-SHA256 on the calling thread.
 *
 * Why: an epoch's wraps are one X25519 key generation and one agreement per device. Through
 * WebCrypto each costs several promises and key objects (about 200 µs a wrap here); natively
 * a whole wrap is about 110 µs on one thread. The ephemeral key pairs of a large op are made on
 * libuv's thread pool, a range ahead (the other core), while the calling thread does the
 * agreements, key schedules and seals (hpke-native.node.ts, _wrapRangeAhead); larger ops are
 * shared between this thread and worker threads, which make their keys inline (wrap-pool.ts,
 * wrap-thread.node.ts).
 * @module
 */
import { availableParallelism } from 'node:os';
import { createHash, createHmac, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { _sodiumForget, _sodiumInUse, _sodiumSign, _sodiumVerify } from './ed25519-sodium.node.js';
import { HpkeError } from './errors.js';
import { _chachaOpen, _chachaSeal, _LowOrderKey, _plain, _sealNative, _wrapRange, _wrapRangeAhead } from './hpke-native.node.js';
import type { _NativeBackend } from './native.js';
import { _nodeWrapThreads } from './wrap-thread.node.js';

const LOW_ORDER = 'all-zero X25519 output: the peer key is of low order';
/** From this many wraps on, the ephemeral keys are made ahead on the thread pool. */
const AHEAD_FROM = 256;

const config = { ahead: true };

function lowOrder(error: unknown): never {
  if (error instanceof _LowOrderKey) throw new HpkeError('bad-key', LOW_ORDER);
  throw error;
}

/**
 * The wraps of `recipients` (packed). `on`: where they are made.
 * - undefined: by this thread alone, the ephemeral keys made ahead on libuv's pool from
 *   AHEAD_FROM wraps on;
 * - 'shared': a range of an op this thread shares with the wrap workers (wrap-pool.ts): keys
 *   made ahead whatever its size, and the workers' answers let in (a turn of the event loop)
 *   after each batch of them, so that no worker waits for its next range;
 * - 'worker': a wrap worker's range: keys made inline, never on libuv's pool. The pool
 *   terminates a worker that fails or stalls, and on Node 20 a key-pair job that completes in
 *   a terminating worker aborts the whole process (`KeyObjectHandle::Initialize`, seen in
 *   wrap-threads.node.test.ts when its keys were made ahead).
 */
async function wrapAll(secret: Uint8Array, infoPrefix: Uint8Array, recipients: Uint8Array, on?: 'shared' | 'worker'): Promise<Uint8Array> {
  const count = recipients.length / 64;
  const out = new Uint8Array(count * 80);
  try {
    if (config.ahead && on !== 'worker' && (on === 'shared' || count >= AHEAD_FROM))
      await _wrapRangeAhead(secret, infoPrefix, recipients, out, on === 'shared' ? () => new Promise((resolve) => setImmediate(resolve)) : undefined);
    else _wrapRange(secret, infoPrefix, recipients, out);
  } catch (error) {
    lowOrder(error);
  }
  return out;
}

// Ed25519 public keys as node:crypto key objects, by key (hex), most recently used last; bounded.
const MAX_VERIFY_KEYS = 1024;
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
const verifyKeys = new Map<string, KeyObject>();

function verifyKey(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, 32).toString('hex');
  let key = verifyKeys.get(id);
  if (key) {
    verifyKeys.delete(id);
  } else {
    if (verifyKeys.size >= MAX_VERIFY_KEYS) verifyKeys.delete(verifyKeys.keys().next().value!);
    key = createPublicKey({ key: Buffer.concat([SPKI_ED25519, publicKey]), format: 'der', type: 'spki' });
  }
  verifyKeys.set(id, key);
  return key;
}

/**
 * Ed25519 verification on the calling thread (a relay's verify thread, or its main thread
 * inline): libsodium where it loaded (ed25519-sodium.node.ts: about 75 µs a check here), else
 * OpenSSL's one-shot EVP_DigestVerify, the same code Node's WebCrypto runs, without its promise,
 * job and key-object round trips (about 170 µs here, 60 less than WebCrypto).
 */
function ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (_sodiumInUse()) return _sodiumVerify(signature, message, publicKey);
  try {
    return verify(null, message, verifyKey(publicKey), signature);
  } catch {
    return false;
  }
}

// Ed25519 private keys as node:crypto key objects, by the identity's seed array (as primitives.ts
// keeps its WebCrypto keys): made once, dropped by forget or with the array.
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const signingKeys = new WeakMap<Uint8Array, KeyObject>();

/**
 * Ed25519 signing on the calling thread: libsodium where it loaded (about 23 µs here), else
 * OpenSSL's one-shot EVP_DigestSign (about 50 µs: about what WebCrypto's job costs that thread
 * only to hand the signature to libuv's pool and take it back, without the round trip's latency
 * or the pool's work). Signatures are deterministic: the same bytes as WebCrypto's and @noble's.
 */
function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  if (_sodiumInUse()) return _sodiumSign(seed, message);
  let key = signingKeys.get(seed);
  if (!key) {
    const der = Buffer.concat([PKCS8_ED25519, seed]);
    try {
      key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    } finally {
      der.fill(0);
    }
    signingKeys.set(seed, key);
  }
  return _plain(sign(null, message, key));
}

export const _native: _NativeBackend = {
  name: 'node',
  wrapAll,
  seal(recipientPublicKey, plaintext, info, aad, ephemeralSecret) {
    try {
      return _sealNative(recipientPublicKey, plaintext, info, aad, ephemeralSecret);
    } catch (error) {
      return lowOrder(error);
    }
  },
  aeadSeal: _chachaSeal,
  aeadOpen: _chachaOpen,
  ed25519Verify,
  ed25519Sign,
  forget(...secrets) {
    for (const s of secrets) signingKeys.delete(s);
    _sodiumForget(...secrets);
  },
  sha256: (bytes) => _plain(createHash('sha256').update(bytes).digest()),
  hmacSha256(key, ...parts) {
    const mac = createHmac('sha256', key);
    for (const part of parts) mac.update(part);
    return _plain(mac.digest());
  },
  // One core: a worker would only take turns with this thread. This thread takes ranges of a
  // pooled op too (wrap-pool.ts).
  wrapThreads:
    availableParallelism() > 1
      ? {
          ..._nodeWrapThreads,
          here: { wrap: (secret, info, recipients) => wrapAll(secret, info, recipients, 'shared'), range: AHEAD_FROM },
        }
      : undefined,
};

/** Tests and benchmarks: whether large ops make their ephemeral keys ahead on the thread pool. Returns the setting in force before. */
export function _configureWraps(settings: { ahead?: boolean }): { ahead: boolean } {
  const before = { ...config };
  if (settings.ahead !== undefined) config.ahead = settings.ahead;
  return before;
}
