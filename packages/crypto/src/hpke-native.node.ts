/// <reference types="node" />
/**
 * The sender's side of HPKE base mode (RFC 9180) for the epoch wraps, on Node's native crypto
 * (OpenSSL through node:crypto): X25519 key generation and agreement, HMAC-SHA256 for
 * LabeledExtract/LabeledExpand, ChaCha20-Poly1305. The same suite as hpke.ts
 * (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305), the same bytes: the tests run
 * it on the RFC's Appendix A.2.1 vectors and against the @noble path.
 *
 * Node only (it imports node:crypto); the package's `#native` import gives browsers
 * native.ts instead. Used by native.node.ts, on the main thread and in the wrap workers.
 * @module
 */
import { createCipheriv, createDecipheriv, createHmac, createPrivateKey, createPublicKey, diffieHellman, generateKeyPair, generateKeyPairSync, type KeyObject } from 'node:crypto';

const utf8 = (text: string) => Buffer.from(text, 'utf8');
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const VERSION = utf8('HPKE-v1');
const KEM_SUITE = Buffer.concat([utf8('KEM'), u16(0x0020)]);
const HPKE_SUITE = Buffer.concat([utf8('HPKE'), u16(0x0020), u16(0x0001), u16(0x0003)]);
// Extract with the empty salt: HMAC keyed with HashLen zero bytes (RFC 5869 2.2).
const ZERO_KEY = Buffer.alloc(32);
const ONE = Buffer.from([1]);
// The constant prefixes of the labeled inputs (RFC 9180 section 4), encoded once.
const EAE_PRK = Buffer.concat([VERSION, KEM_SUITE, utf8('eae_prk')]);
const SHARED_SECRET = Buffer.concat([u16(32), VERSION, KEM_SUITE, utf8('shared_secret')]);
const INFO_HASH = Buffer.concat([VERSION, HPKE_SUITE, utf8('info_hash')]);
const SECRET = Buffer.concat([VERSION, HPKE_SUITE, utf8('secret')]);
const KEY = Buffer.concat([u16(32), VERSION, HPKE_SUITE, utf8('key')]);
const BASE_NONCE = Buffer.concat([u16(12), VERSION, HPKE_SUITE, utf8('base_nonce')]);
// Base mode: psk_id_hash = LabeledExtract("", "psk_id_hash", "") is a constant.
const PSK_ID_HASH = createHmac('sha256', ZERO_KEY).update(Buffer.concat([VERSION, HPKE_SUITE, utf8('psk_id_hash')])).digest();

/** The error a zero agreement (a low-order recipient key) raises, before it is typed by the caller. */
export class _LowOrderKey extends Error {}

const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** Imported recipient keys, by their base64url form: every rotation wraps to the same devices again. */
const MAX_KEYS = 16_384;
const publicKeys = new Map<string, KeyObject>();

function publicKeyObject(raw: Uint8Array): KeyObject {
  const x = Buffer.from(raw.buffer, raw.byteOffset, 32).toString('base64url');
  let key = publicKeys.get(x);
  if (!key) {
    if (publicKeys.size >= MAX_KEYS) publicKeys.delete(publicKeys.keys().next().value!);
    key = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
    publicKeys.set(x, key);
  }
  return key;
}

/** An ephemeral X25519 key pair: the private key as node:crypto holds it, and `enc`, the public key's 32 bytes. */
export interface _KeyPair {
  privateKey: KeyObject;
  enc: Buffer;
}

/** The raw public key of an X25519 key object, from its JWK. */
const jwkX = (key: KeyObject): Buffer => Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url');

/**
 * A fresh X25519 key pair made on libuv's thread pool (off the calling thread, on another core).
 * Its public key is exported as JWK in the callback: an asynchronous job is destroyed right after
 * its callback, never by a garbage collection (see {@link ephemeral}).
 */
export function _keyPairAsync(): Promise<_KeyPair> {
  return new Promise((resolve, reject) => generateKeyPair('x25519', {}, (error, publicKey, privateKey) => (error ? reject(error) : resolve({ privateKey, enc: jwkX(publicKey) }))));
}

/**
 * A fresh ephemeral X25519 key pair (a new one for every recipient, RFC 9180 Encap), or the one
 * of `secretKey` (test vectors). A key object made by generateKeyPairSync is never exported
 * afterwards: on Node 20 its generation's job is destroyed by a garbage collection, whose
 * destructor takes the key's lock, and a collection during a JWK export of that key (which holds
 * the lock) stopped the thread for good (`native.node.test.ts`). Its public key comes encoded
 * from the generation itself instead (`publicKeyEncoding`), while the job is alive and no
 * destructor can take that lock: no key object is made for it, and no agreement with the base
 * point (about 37 µs a key less than computing it as X25519(k, 9)).
 */
function ephemeral(secretKey?: Uint8Array, made?: _KeyPair): _KeyPair {
  if (made) return made;
  if (secretKey) {
    const der = Buffer.concat([PKCS8_X25519, secretKey]);
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    der.fill(0);
    return { privateKey, enc: jwkX(createPublicKey(privateKey)) }; // imported, not generated: no job
  }
  // (@types/node types no 'jwk' encoding here; Node returns the public key as a JWK object.)
  const { privateKey, publicKey } = generateKeyPairSync('x25519', { publicKeyEncoding: { format: 'jwk' } } as object) as unknown as { privateKey: KeyObject; publicKey: { x: string } };
  return { privateKey, enc: Buffer.from(publicKey.x, 'base64url') };
}

/**
 * The bytes of a Buffer as a plain Uint8Array of its own, as every other path of the package
 * returns them: a small Buffer is a slice of a pool shared with unrelated data, so it is copied
 * out and its range in the pool wiped.
 */
export function _plain(b: Buffer): Uint8Array {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) return new Uint8Array(b.buffer);
  const out = new Uint8Array(b);
  b.fill(0);
  return out;
}

/** ChaCha20-Poly1305 (RFC 8439) on OpenSSL: ciphertext || 16-byte tag. */
export function _chachaSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  if (aad.length) cipher.setAAD(aad, { plaintextLength: plaintext.length });
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  return _plain(Buffer.concat([head, tail, cipher.getAuthTag()]));
}

/** Opens {@link _chachaSeal}'s output; undefined when the tag does not match. */
export function _chachaOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  if (sealed.length < 16) return undefined;
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  if (aad.length) decipher.setAAD(aad, { plaintextLength: sealed.length - 16 });
  const head = decipher.update(sealed.subarray(0, sealed.length - 16));
  try {
    // A stream cipher's final() authenticates and adds nothing: no second buffer, no copy.
    const tail = decipher.final();
    return _plain(tail.length === 0 ? head : Buffer.concat([head, tail]));
  } catch {
    head.fill(0);
    return undefined;
  }
}

/**
 * SealBase (RFC 9180 6.1) of `plaintext` to `pkR` with `info` and `aad`: enc (32) and the
 * ciphertext. `ephemeralSecret` fixes the ephemeral key for the RFC's test vectors only.
 * Every secret made on the way (agreement, PRKs, the key) is wiped before it returns; the
 * ephemeral private key lives in an OpenSSL key object that is dropped here and cleansed when
 * it is freed.
 */
export function _sealNative(pkR: Uint8Array, plaintext: Uint8Array, info: Uint8Array, aad: Uint8Array, ephemeralSecret?: Uint8Array, pair?: _KeyPair): { enc: Uint8Array; ciphertext: Uint8Array } {
  const { privateKey, enc } = ephemeral(ephemeralSecret, pair);
  let dh: Buffer;
  try {
    dh = diffieHellman({ privateKey, publicKey: publicKeyObject(pkR) });
  } catch {
    // OpenSSL refuses an all-zero X25519 output (RFC 7748 6.1, RFC 9180 7.1.4).
    throw new _LowOrderKey();
  }
  if (dh.every((b) => b === 0)) throw new _LowOrderKey();
  // ExtractAndExpand (4.1): shared_secret = LabeledExpand(eae_prk, "shared_secret", enc || pkR, 32).
  const eaePrk = createHmac('sha256', ZERO_KEY).update(EAE_PRK).update(dh).digest();
  const shared = createHmac('sha256', eaePrk).update(SHARED_SECRET).update(enc).update(pkR).update(ONE).digest();
  // KeySchedule (5.1), base mode: key and base_nonce only (a single-shot seal needs no exporter).
  const infoHash = createHmac('sha256', ZERO_KEY).update(INFO_HASH).update(info).digest();
  const ksc = Buffer.concat([Buffer.of(0), PSK_ID_HASH, infoHash]);
  const secret = createHmac('sha256', shared).update(SECRET).digest();
  const key = createHmac('sha256', secret).update(KEY).update(ksc).update(ONE).digest();
  const nonce = createHmac('sha256', secret).update(BASE_NONCE).update(ksc).update(ONE).digest().subarray(0, 12);
  try {
    // Sequence number 0: the nonce is base_nonce itself (5.2); this key seals nothing else.
    return { enc: _plain(enc), ciphertext: _chachaSeal(key, nonce, aad, plaintext) };
  } finally {
    dh.fill(0);
    eaePrk.fill(0);
    shared.fill(0);
    secret.fill(0);
    key.fill(0);
    nonce.fill(0);
  }
}

/**
 * The epoch wraps of `count` recipients: `recipients` holds, for each, its device id (32) and
 * its X25519 public key (32); each wrap (enc 32 · ciphertext 48) seals `secret` with
 * info = `infoPrefix` || device id, into `out` at 80 × its index.
 */
export function _wrapRange(secret: Uint8Array, infoPrefix: Uint8Array, recipients: Uint8Array, out: Uint8Array, pairs?: readonly _KeyPair[]): void {
  const count = recipients.length / 64;
  const info = Buffer.alloc(infoPrefix.length + 32);
  info.set(infoPrefix);
  for (let i = 0; i < count; i++) {
    const at = i * 64;
    info.set(recipients.subarray(at, at + 32), infoPrefix.length);
    const { enc, ciphertext } = _sealNative(recipients.subarray(at + 32, at + 64), secret, info, ZERO_KEY.subarray(0, 0), undefined, pairs?.[i]);
    out.set(enc, i * 80);
    out.set(ciphertext, i * 80 + 32);
  }
}

/** Ephemeral keys made at once on the thread pool, ahead of the wraps that use them. */
const PAIRS_AHEAD = 128;

/**
 * {@link _wrapRange} with the ephemeral key pairs made on libuv's thread pool, PAIRS_AHEAD
 * ahead: while this thread does the agreements, key schedules and seals of one range, the
 * pool (another core) makes the keys of the next. Each pair serves one recipient and is
 * dropped. `between` runs after each range but the last (the caller lets other work in).
 */
export async function _wrapRangeAhead(secret: Uint8Array, infoPrefix: Uint8Array, recipients: Uint8Array, out: Uint8Array, between?: () => Promise<void>): Promise<void> {
  const count = recipients.length / 64;
  const batch = (from: number) => Promise.all(Array.from({ length: Math.min(PAIRS_AHEAD, count - from) }, _keyPairAsync));
  let ahead = batch(0);
  for (let from = 0; from < count; from += PAIRS_AHEAD) {
    const pairs = await ahead;
    const to = Math.min(count, from + PAIRS_AHEAD);
    if (to < count) ahead = batch(to);
    try {
      _wrapRange(secret, infoPrefix, recipients.subarray(from * 64, to * 64), out.subarray(from * 80, to * 80), pairs);
    } catch (error) {
      // Let the keys made ahead settle before the error goes up (none is left unhandled).
      await ahead.catch(() => undefined);
      throw error;
    } finally {
      pairs.length = 0;
    }
    if (to < count) await between?.();
  }
}
