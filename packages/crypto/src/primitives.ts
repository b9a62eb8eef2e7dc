/**
 * Ed25519 (RFC 8032) and X25519 (RFC 7748) behind one internal interface, on WebCrypto
 * where the platform has the algorithm (Node >= 20, Chromium >= 137) and on @noble/curves
 * otherwise. Both produce identical bytes: Ed25519 signatures are deterministic and X25519
 * is a function; the tests check both directions.
 *
 * WebCrypto is the default because it is several times faster for these curves, which
 * decides whether catch-up (thousands of signature checks) and rotation (one HPKE wrap
 * per member) are usable. Key objects are imported once and cached. On Node, signatures are made
 * on the calling thread (libsodium where sodium-native loads, else OpenSSL), and a server may have
 * Ed25519 verification run there too ({@link verifyOnCallingThread}).
 *
 * Verification policy, identical on every path (WebCrypto, @noble, and in Node OpenSSL or
 * libsodium: native.node.ts): signatures with S >= L are refused (noble with `zip215: false`,
 * as OpenSSL/BoringSSL and libsodium do), and so are those whose R encodes a point of small
 * order (as libsodium does; honest signers never make one, the others would accept it); a
 * public key must be canonical and outside the small-order subgroup (checked once per key). So
 * the implementations cannot disagree on any signature Sealdoc accepts.
 * @module
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { _native } from '#native';
import { CryptoInputError, HpkeError } from './errors.js';
import { _bytes, _concat, _hex, fromHex } from './bytes.js';

/** An implementation of the curve operations. */
export type CryptoBackend = 'webcrypto' | 'noble';

/** Which implementation each curve uses right now. */
export interface ActiveBackends {
  ed25519: CryptoBackend;
  x25519: CryptoBackend;
}

// PKCS#8 (RFC 8410) wrappers for a raw 32-byte private key.
const PKCS8_ED25519 = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const PKCS8_X25519 = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);

let preference: CryptoBackend | 'auto' = 'auto';
let probed: Promise<ActiveBackends> | undefined;

// WebCrypto's types want ArrayBuffer-backed views; Sealdoc never hands it shared memory.
const src = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>;

function subtle(): SubtleCrypto | undefined {
  return globalThis.crypto?.subtle;
}

async function probe(): Promise<ActiveBackends> {
  const s = subtle();
  const result: ActiveBackends = { ed25519: 'noble', x25519: 'noble' };
  if (!s) return result;
  try {
    const seed = new Uint8Array(32).fill(7);
    const key = await s.importKey('pkcs8', src(_concat(PKCS8_ED25519, seed)), { name: 'Ed25519' }, false, ['sign']);
    const sig = new Uint8Array(await s.sign('Ed25519', key, new Uint8Array(1)));
    if (ed25519.verify(sig, new Uint8Array(1), ed25519.getPublicKey(seed))) result.ed25519 = 'webcrypto';
  } catch {
    // The platform lacks WebCrypto Ed25519: noble serves.
  }
  try {
    const sk = new Uint8Array(32).fill(9);
    const pk = x25519.getPublicKey(new Uint8Array(32).fill(5));
    const priv = await s.importKey('pkcs8', src(_concat(PKCS8_X25519, sk)), { name: 'X25519' }, false, ['deriveBits']);
    const pub = await s.importKey('raw', src(pk), { name: 'X25519' }, true, []);
    const shared = new Uint8Array(await s.deriveBits({ name: 'X25519', public: pub } as EcdhKeyDeriveParams, priv, 256));
    if (_hex(shared) === _hex(x25519.getSharedSecret(sk, pk))) result.x25519 = 'webcrypto';
  } catch {
    // The platform lacks WebCrypto X25519: noble serves.
  }
  return result;
}

/**
 * Chooses the implementation of Ed25519 and X25519: `'auto'` (the default) takes WebCrypto
 * where the platform has it; `'webcrypto'` or `'noble'` force one (for tests and benchmarks).
 * Forcing `'webcrypto'` where the platform lacks it makes operations throw CryptoInputError.
 */
export function useCryptoBackend(choice: CryptoBackend | 'auto'): void {
  if (choice !== 'auto' && choice !== 'webcrypto' && choice !== 'noble')
    throw new CryptoInputError('backend must be auto, webcrypto or noble');
  preference = choice;
}

let verifyHere = false;

/**
 * Where Ed25519 verification runs in Node (no effect in browsers, nor with a backend forced):
 * by default through WebCrypto, whose work runs on libuv's thread pool (the calling thread pays
 * about 20 µs a check, the pool about 100): what an app whose thread also runs Yjs wants. With
 * `true`, on the calling thread: through libsodium where the optional sodium-native loads (about
 * 75 µs), else node:crypto's one-shot verify (100 to 170 µs); less CPU in all, no promise or job
 * round trip (`verifyEnvelope` then makes all its checks before it returns, and returns a
 * settled promise): what a server that checks on threads of its own
 * wants (the relay's verify threads and its lone checks). The same checks and outcomes either
 * way (native.node.test.ts). Per thread: each worker thread chooses for itself.
 */
export function verifyOnCallingThread(on: boolean): void {
  verifyHere = on;
}

/** The choice {@link useCryptoBackend} made: native fast paths serve `'auto'` only. */
export function _backendChoice(): CryptoBackend | 'auto' {
  return preference;
}

/** Reports which implementation each curve uses under the current choice. */
export async function activeCryptoBackends(): Promise<ActiveBackends> {
  if (preference === 'noble') return { ed25519: 'noble', x25519: 'noble' };
  const found = await (probed ??= probe());
  if (preference === 'webcrypto') {
    if (found.ed25519 !== 'webcrypto' || found.x25519 !== 'webcrypto')
      throw new CryptoInputError('this platform lacks WebCrypto Ed25519/X25519');
  }
  return found;
}

// Imported keys, cached: secret keys by the identity's array, public keys by value.
const signingKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();
const agreementKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();
const MAX_PUBLIC_KEYS = 1024;
const verifyKeys = new Map<string, Promise<CryptoKey>>();

/** Forgets the key objects imported (WebCrypto) or made (native) for these secret arrays. */
export function _forgetImported(...secrets: Uint8Array[]): void {
  _native?.forget(...secrets);
  for (const s of secrets) {
    signingKeys.delete(s);
    agreementKeys.delete(s);
  }
}

function importOnce(cache: WeakMap<Uint8Array, Promise<CryptoKey>>, secret: Uint8Array, prefix: Uint8Array, alg: string, usage: KeyUsage): Promise<CryptoKey> {
  let key = cache.get(secret);
  if (!key) {
    const pkcs8 = _concat(prefix, secret);
    key = subtle()!.importKey('pkcs8', src(pkcs8), { name: alg }, false, [usage]).finally(() => pkcs8.fill(0));
    cache.set(secret, key);
  }
  return key;
}

function verifyKey(publicKey: Uint8Array): Promise<CryptoKey> {
  const id = _hex(publicKey);
  let key = verifyKeys.get(id);
  if (!key) {
    if (verifyKeys.size >= MAX_PUBLIC_KEYS) verifyKeys.delete(verifyKeys.keys().next().value!);
    key = subtle()!.importKey('raw', src(publicKey), { name: 'Ed25519' }, true, ['verify']);
    verifyKeys.set(id, key);
  }
  return key;
}

/** Ed25519 public key of a 32-byte seed (noble: synchronous and needed once per identity). */
export function _ed25519PublicKey(seed: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(seed);
}

/** X25519 public key of a 32-byte secret. */
export function _x25519PublicKey(secretKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(secretKey);
}

/**
 * Throws CryptoInputError unless `publicKey` is a canonical Ed25519 point outside the
 * small-order subgroup: keys that pass verify identically on every backend.
 */
export function _assertSigningPublicKey(publicKey: Uint8Array): void {
  _bytes(publicKey, 'signing public key', 32);
  let ok = false;
  try {
    const point = ed25519.Point.fromBytes(publicKey, false);
    ok = !point.isSmallOrder();
  } catch {
    ok = false;
  }
  if (!ok) throw new CryptoInputError('signing public key is not a valid Ed25519 key');
}

// RFC 7748 section 7 / libsodium: the u-coordinates of X25519 points of small order, on the
// curve and its twist. A key equal to one of them (after clearing bit 255 and reducing
// mod p) makes every Diffie-Hellman with it predictable or zero.
const P25519 = 2n ** 255n - 19n;
const SMALL_ORDER_U = new Set([
  0n,
  1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
  P25519 - 1n,
]);

/** Throws CryptoInputError unless `publicKey` is a 32-byte X25519 key outside the small-order set. */
export function _assertAgreementPublicKey(publicKey: Uint8Array): void {
  _bytes(publicKey, 'agreement public key', 32);
  let u = 0n;
  for (let i = 31; i >= 0; i--) u = (u << 8n) | BigInt(publicKey[i]!);
  u &= (1n << 255n) - 1n;
  if (u >= P25519) u -= P25519;
  if (SMALL_ORDER_U.has(u)) throw new CryptoInputError('agreement public key is of small order');
}

export async function _ed25519Sign(seed: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  // Node, no backend forced: OpenSSL one-shot on the calling thread (native.node.ts), the same
  // library and bytes as Node's WebCrypto below, without the thread-pool round trip.
  if (_native && preference === 'auto') return _native.ed25519Sign(seed, message);
  if ((await activeCryptoBackends()).ed25519 === 'webcrypto') {
    const key = await importOnce(signingKeys, seed, PKCS8_ED25519, 'Ed25519', 'sign');
    return new Uint8Array(await subtle()!.sign('Ed25519', key, src(message)));
  }
  return ed25519.sign(message, seed);
}

// Public keys already found canonical and of full order, so each is decoded once.
const acceptedKeys = new Set<string>();

function acceptableKey(publicKey: Uint8Array): boolean {
  const id = _hex(publicKey);
  if (acceptedKeys.has(id)) return true;
  try {
    _assertSigningPublicKey(publicKey);
  } catch {
    return false;
  }
  if (acceptedKeys.size >= MAX_PUBLIC_KEYS) acceptedKeys.delete(acceptedKeys.values().next().value!);
  acceptedKeys.add(id);
  return true;
}

/**
 * @internal The check of {@link _ed25519Verify}, made now on the calling thread where it can be:
 * Node, no backend forced (libsodium, or OpenSSL one-shot: native.node.ts, synchronous; the same
 * library and checks as Node's WebCrypto). Undefined where it cannot (a browser, a backend
 * forced): the caller awaits `_ed25519Verify`. The same rules, in the same order, either way.
 */
export function _ed25519VerifyNow(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean | undefined {
  if (!nativeVerify()) return undefined;
  if (signature.length !== 64 || publicKey.length !== 32 || smallOrderEncoding(signature) || !acceptableKey(publicKey)) return false;
  return scalarBelowOrder(signature.subarray(32)) && _native!.ed25519Verify(signature, message, publicKey);
}

/** Whether Node's native Ed25519 can check here: Node, no backend forced. */
function nativeVerify(): boolean {
  return _native !== undefined && preference === 'auto';
}

/** @internal Whether every check is made now, on the calling thread: {@link verifyOnCallingThread} chose it, and the platform can (_ed25519VerifyNow). */
export function _verifiesNow(): boolean {
  return verifyHere && nativeVerify();
}

/**
 * `here`: check on the calling thread where the platform can (Node, no backend forced), as
 * {@link verifyOnCallingThread} chooses for every check; a caller waiting on this one check
 * before anything else can go on passes `true` (envelope-batch.ts: the check that vouches for
 * a run of envelopes).
 */
export async function _ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array, here = verifyHere): Promise<boolean> {
  const now = here ? _ed25519VerifyNow(signature, message, publicKey) : undefined;
  if (now !== undefined) return now;
  if (signature.length !== 64 || publicKey.length !== 32 || smallOrderEncoding(signature) || !acceptableKey(publicKey)) return false;
  if ((await activeCryptoBackends()).ed25519 === 'webcrypto') {
    // RFC 8032 5.1.7: S must be below the group order L; OpenSSL and BoringSSL check this too,
    // but the check is cheap and makes the rule explicit on every platform.
    if (!scalarBelowOrder(signature.subarray(32))) return false;
    try {
      return await subtle()!.verify('Ed25519', await verifyKey(publicKey), src(signature), src(message));
    } catch {
      return false;
    }
  }
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

const ORDER_LE = (() => {
  // L = 2^252 + 27742317777372353535851937790883648493, little-endian.
  const out = new Uint8Array(32);
  let l = 2n ** 252n + 27742317777372353535851937790883648493n;
  for (let i = 0; i < 32; i++, l >>= 8n) out[i] = Number(l & 0xffn);
  return out;
})();

// The encodings of Ed25519's points of small order, the sign bit cleared (libsodium's list: a
// point of order 1, 2, 4 or 8, canonical or y + p), as 31 bytes and a last byte.
const SMALL_ORDER: readonly Uint8Array[] = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map(fromHex);

/** Whether the first 32 bytes of `bytes` encode a point of small order, either sign: a signature's R that no honest signer makes (only the key's holder can make one that verifies). */
function smallOrderEncoding(bytes: Uint8Array): boolean {
  for (const point of SMALL_ORDER) {
    if (bytes[0] !== point[0]) continue;
    let i = 1;
    while (i < 31 && bytes[i] === point[i]) i++;
    if (i === 31 && (bytes[31]! & 0x7f) === point[31]) return true;
  }
  return false;
}

function scalarBelowOrder(s: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    if (s[i]! < ORDER_LE[i]!) return true;
    if (s[i]! > ORDER_LE[i]!) return false;
  }
  return false;
}

const ZERO_SHARED = 'all-zero X25519 output: the peer key is of low order';

/** X25519(secretKey, publicKey); refuses the all-zero output (RFC 9180 7.1.4). */
export async function _x25519(secretKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array> {
  if ((await activeCryptoBackends()).x25519 === 'webcrypto') {
    const s = subtle()!;
    const priv = await importOnce(agreementKeys, secretKey, PKCS8_X25519, 'X25519', 'deriveBits');
    return deriveX25519(s, priv, publicKey);
  }
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(secretKey, publicKey);
  } catch {
    throw new HpkeError('bad-key', ZERO_SHARED);
  }
  if (shared.every((b) => b === 0)) throw new HpkeError('bad-key', ZERO_SHARED);
  return shared;
}

// Imported X25519 public keys, cached: every rotation wraps to the same members again.
const MAX_AGREEMENT_KEYS = 16_384;
const agreementPublicKeys = new Map<string, Promise<CryptoKey>>();

// Keyed by the key's bytes as a 32-character string: cheaper than hex (TextDecoder) in Chromium,
// where a large op looks up thousands.
function agreementPublicKey(s: SubtleCrypto, publicKey: Uint8Array): Promise<CryptoKey> {
  const id = String.fromCharCode.apply(null, publicKey as unknown as number[]);
  let key = agreementPublicKeys.get(id);
  if (!key) {
    if (agreementPublicKeys.size >= MAX_AGREEMENT_KEYS) agreementPublicKeys.delete(agreementPublicKeys.keys().next().value!);
    key = s.importKey('raw', src(publicKey), { name: 'X25519' }, true, []);
    // A key that fails to import is not kept: the failure is the caller's error to see.
    key.catch(() => agreementPublicKeys.delete(id));
    agreementPublicKeys.set(id, key);
  }
  return key;
}

async function deriveX25519(s: SubtleCrypto, priv: CryptoKey, publicKey: Uint8Array): Promise<Uint8Array> {
  let shared: Uint8Array;
  try {
    const pub = await agreementPublicKey(s, publicKey);
    shared = new Uint8Array(await s.deriveBits({ name: 'X25519', public: pub } as EcdhKeyDeriveParams, priv, 256));
  } catch {
    throw new HpkeError('bad-key', ZERO_SHARED);
  }
  if (shared.every((b) => b === 0)) throw new HpkeError('bad-key', ZERO_SHARED);
  return shared;
}

/** A fresh ephemeral X25519 key pair whose secret never leaves the implementation. */
export interface _Ephemeral {
  publicKey: Uint8Array;
  agree(publicKey: Uint8Array): Promise<Uint8Array>;
}

export async function _x25519Ephemeral(): Promise<_Ephemeral> {
  if ((await activeCryptoBackends()).x25519 === 'webcrypto') {
    const s = subtle()!;
    const pair = (await s.generateKey({ name: 'X25519' }, false, ['deriveBits'])) as CryptoKeyPair;
    const publicKey = new Uint8Array(await s.exportKey('raw', pair.publicKey));
    return { publicKey, agree: (pk) => deriveX25519(s, pair.privateKey, pk) };
  }
  return _x25519FromSecret(randomBytes(32));
}

/**
 * For each of `publicKeys`, a fresh ephemeral X25519 key pair and its agreement with that key
 * (RFC 9180 DHKEM Encap's first half): `encs` and `shared`, n × 32 bytes each, in their order.
 * On WebCrypto the calls of every key are issued at once with no async function around each
 * (generateKey, then exportKey and deriveBits together): a membership op makes thousands.
 * Throws HpkeError('bad-key') when a key does not agree (low order: all-zero output). The
 * caller wipes `shared`.
 */
export async function _x25519EphemeralAgreements(publicKeys: readonly Uint8Array[]): Promise<{ encs: Uint8Array; shared: Uint8Array }> {
  const n = publicKeys.length;
  const encs = new Uint8Array(n * 32);
  const shared = new Uint8Array(n * 32);
  if ((await activeCryptoBackends()).x25519 === 'webcrypto') {
    const s = subtle()!;
    const generate = { name: 'X25519' };
    const usages: KeyUsage[] = ['deriveBits'];
    // Three phases of n calls each, no closure or promise per key beyond WebCrypto's own.
    const pubs: Promise<CryptoKey>[] = new Array(n);
    const made: Promise<CryptoKeyPair>[] = new Array(n);
    for (let i = 0; i < n; i++) {
      pubs[i] = agreementPublicKey(s, publicKeys[i]!);
      made[i] = s.generateKey(generate, false, usages) as Promise<CryptoKeyPair>;
    }
    const pairs = await Promise.all(made).catch((error: unknown) => {
      pubs.forEach((p) => p.catch(() => {}));
      throw error;
    });
    const exported: Promise<ArrayBuffer>[] = new Array(n);
    for (let i = 0; i < n; i++) exported[i] = s.exportKey('raw', pairs[i]!.publicKey);
    let bits: ArrayBuffer[];
    try {
      const keys = await Promise.all(pubs);
      const derived: Promise<ArrayBuffer>[] = new Array(n);
      for (let i = 0; i < n; i++) derived[i] = s.deriveBits({ name: 'X25519', public: keys[i]! } as EcdhKeyDeriveParams, pairs[i]!.privateKey, 256);
      bits = await Promise.all(derived);
    } catch {
      exported.forEach((e) => e.catch(() => {}));
      throw new HpkeError('bad-key', ZERO_SHARED);
    }
    try {
      const encBuffers = await Promise.all(exported);
      for (let i = 0; i < n; i++) {
        shared.set(new Uint8Array(bits[i]!), i * 32);
        encs.set(new Uint8Array(encBuffers[i]!), i * 32);
      }
    } finally {
      for (const b of bits) new Uint8Array(b).fill(0);
    }
    if (anyZero(shared)) {
      shared.fill(0);
      throw new HpkeError('bad-key', ZERO_SHARED);
    }
    return { encs, shared };
  }
  try {
    for (let i = 0; i < n; i++) {
      const secretKey = randomBytes(32);
      try {
        encs.set(x25519.getPublicKey(secretKey), i * 32);
        shared.set(x25519.getSharedSecret(secretKey, publicKeys[i]!), i * 32);
      } finally {
        secretKey.fill(0);
      }
    }
  } catch {
    shared.fill(0);
    throw new HpkeError('bad-key', ZERO_SHARED);
  }
  if (anyZero(shared)) {
    shared.fill(0);
    throw new HpkeError('bad-key', ZERO_SHARED);
  }
  return { encs, shared };
}

/** Whether any 32-byte output in `shared` is all zero. */
function anyZero(shared: Uint8Array): boolean {
  for (let at = 0; at < shared.length; at += 32) {
    let bits = 0;
    for (let j = 0; j < 32; j++) bits |= shared[at + j]!;
    if (bits === 0) return true;
  }
  return false;
}

/** An ephemeral from given secret bytes: the RFC 9180 vectors fix it; wiped after one use. */
export function _x25519FromSecret(secretKey: Uint8Array): _Ephemeral {
  return {
    publicKey: x25519.getPublicKey(secretKey),
    agree: async (pk) => {
      try {
        return await _x25519(secretKey, pk);
      } finally {
        _forgetImported(secretKey);
        secretKey.fill(0);
      }
    },
  };
}

/**
 * ChaCha20-Poly1305 (RFC 8439) seal: ciphertext || 16-byte tag. On Node's native crypto where
 * the platform has it (package import `#native`) and no backend was forced, on @noble/ciphers
 * otherwise: the same bytes either way. The caller never reuses a key with a nonce.
 */
export function _aeadSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  _bytes(key, 'key', 32);
  _bytes(nonce, 'nonce', 12);
  if (_native && preference === 'auto') return _native.aeadSeal(key, nonce, aad, plaintext);
  return chacha20poly1305(key, nonce, aad).encrypt(plaintext);
}

/** Opens {@link _aeadSeal}'s output; undefined when it does not open (wrong key, nonce, aad or bytes). */
export function _aeadOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  _bytes(key, 'key', 32);
  _bytes(nonce, 'nonce', 12);
  if (_native && preference === 'auto') return _native.aeadOpen(key, nonce, aad, sealed);
  try {
    return chacha20poly1305(key, nonce, aad).decrypt(sealed);
  } catch {
    return undefined;
  }
}
