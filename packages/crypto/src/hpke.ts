/**
 * HPKE base mode (RFC 9180), one cipher suite:
 * DHKEM(X25519, HKDF-SHA256) 0x0020, HKDF-SHA256 0x0001, ChaCha20-Poly1305 0x0003.
 *
 * Single-shot APIs (RFC 9180 section 6): seal/open one message, and export a secret.
 * Section references in comments point at the RFC. Checked against the RFC's Appendix A.2.1
 * vectors and, for interoperability, against the @hpke/core implementation.
 * @module
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { expand } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { HpkeError } from './errors.js';
import { _bytes, _concat, _u16, _utf8, _wipe } from './bytes.js';
import { _identitySecrets, Identity } from './identity.js';
import { _x25519, _x25519Ephemeral, _x25519EphemeralAgreements, _x25519FromSecret, _x25519PublicKey, type _Ephemeral } from './primitives.js';

const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const AEAD_ID = 0x0003;
const N_SECRET = 32;
const N_ENC = 32;
const N_K = 32;
const N_N = 12;
const N_H = 32;
const MODE_BASE = 0x00;
// Sealdoc's bounds on inputs (RFC 9180 7.2.1 allows far more; nothing here needs it).
const MAX_INPUT = 64 * 1024;

const VERSION = _utf8('HPKE-v1');
const KEM_SUITE = _concat(_utf8('KEM'), _u16(KEM_ID));
const HPKE_SUITE = _concat(_utf8('HPKE'), _u16(KEM_ID), _u16(KDF_ID), _u16(AEAD_ID));
const EMPTY = new Uint8Array(0);

// Section 4: LabeledExtract and LabeledExpand over HKDF-SHA256 (RFC 5869). This runs once
// per member on every rotation, so labels are encoded once, Extract with the empty salt
// (HashLen zero bytes, RFC 5869 2.2) starts from one precomputed keyed HMAC state, and the
// key schedule keys its PRK once for its one-block expansions.
const labels = new Map<string, Uint8Array>();
const label = (text: string) => labels.get(text) ?? labels.set(text, _utf8(text)).get(text)!;
const ZERO_SALT = hmac.create(sha256, new Uint8Array(N_H));

function labeledExtract(suite: Uint8Array, salt: Uint8Array, name: string, ikm: Uint8Array): Uint8Array {
  const mac = salt.length === 0 ? ZERO_SALT.clone() : hmac.create(sha256, salt);
  return mac.update(_concat(VERSION, suite, label(name), ikm)).digest();
}

function labeledInfo(suite: Uint8Array, name: string, info: Uint8Array, length: number): Uint8Array {
  return _concat(_u16(length), VERSION, suite, label(name), info);
}

function labeledExpand(suite: Uint8Array, prk: Uint8Array, name: string, info: Uint8Array, length: number): Uint8Array {
  return expand(sha256, prk, labeledInfo(suite, name, info, length), length);
}

type KeyedPrk = ReturnType<typeof hmac.create>;

/** LabeledExpand to at most one hash block from an already keyed PRK: T(1) = HMAC(PRK, info || 0x01) (RFC 5869 2.3). */
function labeledExpandBlock(suite: Uint8Array, prk: KeyedPrk, name: string, info: Uint8Array, length: number): Uint8Array {
  return prk.clone().update(_concat(labeledInfo(suite, name, info, length), Uint8Array.of(1))).digest().subarray(0, length);
}

/** An X25519 key pair for HPKE. */
export interface HpkeKeyPair {
  /** 32-byte X25519 secret key. */
  secretKey: Uint8Array;
  /** 32-byte X25519 public key. */
  publicKey: Uint8Array;
}

/** DeriveKeyPair (RFC 9180 7.1.3): a key pair from at least 32 bytes of input keying material. */
export function hpkeDeriveKeyPair(ikm: Uint8Array): HpkeKeyPair {
  _bytes(ikm, 'ikm');
  if (ikm.length < N_SECRET || ikm.length > MAX_INPUT) throw new HpkeError('bad-length', `ikm must be ${N_SECRET} to ${MAX_INPUT} bytes`);
  const dkpPrk = labeledExtract(KEM_SUITE, EMPTY, 'dkp_prk', ikm);
  const secretKey = labeledExpand(KEM_SUITE, dkpPrk, 'sk', EMPTY, 32);
  _wipe(dkpPrk);
  return { secretKey, publicKey: _x25519PublicKey(secretKey) };
}

// Section 4.1: ExtractAndExpand.
function extractAndExpand(dh: Uint8Array, kemContext: Uint8Array): Uint8Array {
  const eaePrk = labeledExtract(KEM_SUITE, EMPTY, 'eae_prk', dh);
  const shared = labeledExpand(KEM_SUITE, eaePrk, 'shared_secret', kemContext, N_SECRET);
  _wipe(eaePrk, dh);
  return shared;
}

async function encap(pkR: Uint8Array, ephemeral: _Ephemeral): Promise<{ shared: Uint8Array; enc: Uint8Array }> {
  const dh = await ephemeral.agree(pkR);
  const enc = ephemeral.publicKey;
  return { shared: extractAndExpand(dh, _concat(enc, pkR)), enc };
}

async function decap(enc: Uint8Array, skR: Uint8Array, pkR: Uint8Array): Promise<Uint8Array> {
  const dh = await _x25519(skR, enc);
  return extractAndExpand(dh, _concat(enc, pkR));
}

/** The parts of the HPKE context a single-shot call uses: the AEAD's, or the exporter's. */
interface Contexts {
  aead: { key: Uint8Array; baseNonce: Uint8Array };
  export: { exporterSecret: Uint8Array };
}
type Use = keyof Contexts;
type Context = Contexts[Use];

// psk_id_hash of base mode: LabeledExtract("", "psk_id_hash", "") is a constant.
let pskIdHash: Uint8Array | undefined;

// Section 5.1: KeySchedule, base mode (empty psk and psk_id). Single-shot calls derive only
// what they use: seal/open the key and nonce, the exporter its secret.
function keySchedule<U extends Use>(shared: Uint8Array, info: Uint8Array, use: U): Contexts[U] {
  pskIdHash ??= labeledExtract(HPKE_SUITE, EMPTY, 'psk_id_hash', EMPTY);
  const infoHash = labeledExtract(HPKE_SUITE, EMPTY, 'info_hash', info);
  const ksc = _concat(Uint8Array.of(MODE_BASE), pskIdHash, infoHash);
  const secret = labeledExtract(HPKE_SUITE, shared, 'secret', EMPTY);
  const keyed = hmac.create(sha256, secret);
  const ctx =
    use === 'aead'
      ? { key: labeledExpandBlock(HPKE_SUITE, keyed, 'key', ksc, N_K), baseNonce: labeledExpandBlock(HPKE_SUITE, keyed, 'base_nonce', ksc, N_N) }
      : { exporterSecret: labeledExpandBlock(HPKE_SUITE, keyed, 'exp', ksc, N_H) };
  keyed.destroy();
  _wipe(secret, shared);
  return ctx as Contexts[U];
}

function wipeContext(ctx: Context): void {
  _wipe(...Object.values(ctx));
}


/** Options shared by the HPKE calls. */
export interface HpkeOptions {
  /** Application info bound into the key schedule (RFC 9180 8.1); empty by default. */
  info?: Uint8Array;
  /** Associated data authenticated with the ciphertext; empty by default. */
  aad?: Uint8Array;
}

/** Sender options; `ephemeralIkm` exists for the RFC's test vectors only. */
export interface HpkeSenderOptions extends HpkeOptions {
  /**
   * Input keying material for the ephemeral key (DeriveKeyPair(ikmE)) instead of fresh
   * randomness. Reusing it breaks confidentiality: set it only to reproduce test vectors.
   */
  ephemeralIkm?: Uint8Array;
}

/** An HPKE ciphertext and the encapsulated key that opens it. */
export interface HpkeSealed {
  /** 32-byte encapsulated key (the ephemeral public key). */
  enc: Uint8Array;
  /** AEAD ciphertext with its 16-byte tag. */
  ciphertext: Uint8Array;
}

/** A recipient's secret key: an {@link Identity} or a raw {@link HpkeKeyPair}. */
export type HpkeRecipient = Identity | HpkeKeyPair;

function inputs(options: HpkeOptions): { info: Uint8Array; aad: Uint8Array } {
  const info = options.info === undefined ? EMPTY : _bytes(options.info, 'info');
  const aad = options.aad === undefined ? EMPTY : _bytes(options.aad, 'aad');
  if (info.length > MAX_INPUT) throw new HpkeError('bad-length', `info is limited to ${MAX_INPUT} bytes`);
  return { info, aad };
}

async function setupSender<U extends Use>(recipientPublicKey: Uint8Array, info: Uint8Array, options: HpkeSenderOptions, use: U): Promise<{ enc: Uint8Array; ctx: Contexts[U] }> {
  if (!(recipientPublicKey instanceof Uint8Array) || recipientPublicKey.length !== 32)
    throw new HpkeError('bad-key', 'recipient public key must be 32 bytes');
  const ephemeral = options.ephemeralIkm
    ? _x25519FromSecret(hpkeDeriveKeyPair(options.ephemeralIkm).secretKey)
    : await _x25519Ephemeral();
  const { shared, enc } = await encap(recipientPublicKey, ephemeral);
  return { enc, ctx: keySchedule(shared, info, use) };
}

async function setupRecipient<U extends Use>(recipient: HpkeRecipient, enc: Uint8Array, info: Uint8Array, use: U): Promise<Contexts[U]> {
  if (!(enc instanceof Uint8Array) || enc.length !== N_ENC) throw new HpkeError('bad-encapsulation', `enc must be ${N_ENC} bytes`);
  let skR: Uint8Array;
  let pkR: Uint8Array;
  if (recipient instanceof Identity) {
    skR = _identitySecrets(recipient).agreementSecret;
    pkR = recipient.agreementPublicKey;
  } else {
    skR = _bytes(recipient?.secretKey, 'secretKey', 32);
    pkR = _bytes(recipient.publicKey, 'publicKey', 32);
  }
  return keySchedule(await decap(enc, skR, pkR), info, use);
}

/** Single-shot seal (RFC 9180 6.1, SealBase) to `recipientPublicKey`. */
export async function hpkeSeal(recipientPublicKey: Uint8Array, plaintext: Uint8Array, options: HpkeSenderOptions = {}): Promise<HpkeSealed> {
  const { info, aad } = inputs(options);
  _bytes(plaintext, 'plaintext');
  const { enc, ctx } = await setupSender(recipientPublicKey, info, options, 'aead');
  try {
    // Sequence number 0: the nonce is base_nonce itself (section 5.2).
    return { enc, ciphertext: chacha20poly1305(ctx.key, ctx.baseNonce, aad).encrypt(plaintext) };
  } finally {
    wipeContext(ctx);
  }
}

/** Single-shot open (RFC 9180 6.1, OpenBase). Throws HpkeError('open-failed') on any mismatch. */
export async function hpkeOpen(recipient: HpkeRecipient, sealed: HpkeSealed, options: HpkeOptions = {}): Promise<Uint8Array> {
  const { info, aad } = inputs(options);
  const ciphertext = _bytes(sealed?.ciphertext, 'ciphertext');
  const ctx = await setupRecipient(recipient, sealed.enc, info, 'aead');
  try {
    return chacha20poly1305(ctx.key, ctx.baseNonce, aad).decrypt(ciphertext);
  } catch {
    throw new HpkeError('open-failed', 'HPKE ciphertext does not open with this key, info and aad');
  } finally {
    wipeContext(ctx);
  }
}

// SealBase to many recipients at once (the epoch wraps of a membership op, epochs.ts): the same
// bytes as one hpkeSeal each, with what is constant per call computed once. The X25519 part of
// a range comes first, all in flight (primitives.ts `_x25519EphemeralAgreements`); then the
// key schedules and seals run in one synchronous loop, without a promise per recipient: the
// HMAC inputs' fixed parts are encoded once (below), Extract with the empty salt and info_hash
// (whose first block, info's shared prefix, is hashed once) start from keyed states cloned into
// one reused object, only the three HMACs keyed per recipient are made anew, and the AEAD
// writes into the output. Measured in Chromium (renderer CPU beside that of the X25519 calls):
// from about 85-95 µs a wrap to 50-65; the loop alone, in Node, from 59 to 32 µs. WebCrypto's
// HKDF for the key schedule was tried too: no gain measured (its calls cost what the HMACs save).
const EAE_PRK_IN = _concat(VERSION, KEM_SUITE, _utf8('eae_prk'));
const SHARED_SECRET_IN = _concat(_u16(N_SECRET), VERSION, KEM_SUITE, _utf8('shared_secret'));
const SECRET_IN = _concat(VERSION, HPKE_SUITE, _utf8('secret'));
const KEY_IN = _concat(_u16(N_K), VERSION, HPKE_SUITE, _utf8('key'));
const BASE_NONCE_IN = _concat(_u16(N_N), VERSION, HPKE_SUITE, _utf8('base_nonce'));
const BLOCK_1 = Uint8Array.of(1);

/** Per call: the keyed states and scratch of {@link sealAgreed}; `wipe` clears every secret. */
function sealScratch(infoPrefix: Uint8Array) {
  pskIdHash ??= labeledExtract(HPKE_SUITE, EMPTY, 'psk_id_hash', EMPTY);
  const ksc = new Uint8Array(1 + 2 * N_H);
  ksc[0] = MODE_BASE;
  ksc.set(pskIdHash, 1);
  const scratch = {
    infoHash: ZERO_SALT.clone().update(_concat(VERSION, HPKE_SUITE, label('info_hash'), infoPrefix)),
    mac: ZERO_SALT.clone(),
    ksc,
    prk: new Uint8Array(N_H),
    shared: new Uint8Array(N_SECRET),
    secret: new Uint8Array(N_H),
    key: new Uint8Array(N_H),
    nonce: new Uint8Array(N_H),
    wipe(): void {
      scratch.mac.destroy();
      scratch.infoHash.destroy();
      _wipe(scratch.prk, scratch.shared, scratch.secret, scratch.key, scratch.nonce);
    },
  };
  return scratch;
}

/**
 * Encap's second half, KeySchedule and Seal (sequence 0) for recipients [from, to): `encs` and
 * `dhs` hold their ephemeral keys and agreements from `from` on; each one's enc || ciphertext
 * goes to `out` at its index × stride.
 */
function sealAgreed(
  scratch: ReturnType<typeof sealScratch>,
  encs: Uint8Array,
  dhs: Uint8Array,
  publicKeys: readonly Uint8Array[],
  infoSuffixes: readonly Uint8Array[],
  plaintext: Uint8Array,
  aad: Uint8Array,
  out: Uint8Array,
  from: number,
  to: number,
): void {
  const { mac, ksc, prk, shared, secret, key, nonce } = scratch;
  const stride = N_ENC + plaintext.length + 16;
  const infoHash = ksc.subarray(1 + N_H);
  for (let i = from; i < to; i++) {
    const at = (i - from) * 32;
    const enc = encs.subarray(at, at + 32);
    // 4.1 ExtractAndExpand: eae_prk, then shared_secret over kem_context = enc || pkR.
    ZERO_SALT._cloneInto(mac).update(EAE_PRK_IN).update(dhs.subarray(at, at + 32)).digestInto(prk);
    hmac.create(sha256, prk).update(SHARED_SECRET_IN).update(enc).update(publicKeys[i]!).update(BLOCK_1).digestInto(shared);
    // 5.1 KeySchedule (base mode): info_hash, secret, key and base_nonce.
    scratch.infoHash._cloneInto(mac).update(infoSuffixes[i]!).digestInto(infoHash);
    hmac.create(sha256, shared).update(SECRET_IN).digestInto(secret);
    const keyed = hmac.create(sha256, secret);
    keyed._cloneInto(mac).update(KEY_IN).update(ksc).update(BLOCK_1).digestInto(key);
    keyed.update(BASE_NONCE_IN).update(ksc).update(BLOCK_1).digestInto(nonce);
    const o = i * stride;
    out.set(enc, o);
    chacha20poly1305(key, nonce.subarray(0, N_N), aad).encrypt(plaintext, out.subarray(o + N_ENC, o + stride));
  }
}

/**
 * {@link _hpkeSealToMany} with the agreements given (n × 32 bytes each of encs and dhs): for
 * tests and benchmarks, which pin its bytes with RFC 9180's vectors. Wipes nothing it is given.
 */
export function _hpkeSealAgreed(encs: Uint8Array, dhs: Uint8Array, publicKeys: readonly Uint8Array[], infoPrefix: Uint8Array, infoSuffixes: readonly Uint8Array[], plaintext: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
  const out = new Uint8Array(publicKeys.length * (N_ENC + plaintext.length + 16));
  const scratch = sealScratch(infoPrefix);
  try {
    sealAgreed(scratch, encs, dhs, publicKeys, infoSuffixes, plaintext, aad, out, 0, publicKeys.length);
  } finally {
    scratch.wipe();
  }
  return out;
}

/**
 * SealBase (RFC 9180 6.1) of `plaintext` to each of `publicKeys`, with the given aad and
 * info = `infoPrefix` || `infoSuffixes[i]`: n × (enc 32 · ciphertext), in their order, the same
 * bytes one {@link hpkeSeal} each would give (fresh ephemeral keys). At most `inFlight`
 * agreements are pending at once. Throws HpkeError('bad-key') when a key is not 32 bytes or
 * does not agree (low order).
 */
export async function _hpkeSealToMany(
  publicKeys: readonly Uint8Array[],
  infoPrefix: Uint8Array,
  infoSuffixes: readonly Uint8Array[],
  plaintext: Uint8Array,
  inFlight: number,
  aad: Uint8Array = EMPTY,
): Promise<Uint8Array> {
  const n = publicKeys.length;
  _bytes(plaintext, 'plaintext');
  _bytes(aad, 'aad');
  _bytes(infoPrefix, 'info');
  if (infoSuffixes.length !== n) throw new HpkeError('bad-length', 'one info suffix per recipient');
  for (let i = 0; i < n; i++) {
    const pk = publicKeys[i];
    if (!(pk instanceof Uint8Array) || pk.length !== 32) throw new HpkeError('bad-key', 'recipient public key must be 32 bytes');
    if (infoPrefix.length + _bytes(infoSuffixes[i], 'info').length > MAX_INPUT) throw new HpkeError('bad-length', `info is limited to ${MAX_INPUT} bytes`);
  }
  const out = new Uint8Array(n * (N_ENC + plaintext.length + 16));
  if (n === 0) return out;
  // Two ranges in hand: the next one's WebCrypto calls are issued before this thread seals the
  // current one; together they stay within `inFlight`.
  const range = Math.max(1, Math.min(n, Math.ceil(inFlight / 2)));
  const agree = (from: number) => _x25519EphemeralAgreements(publicKeys.slice(from, Math.min(n, from + range)));
  const scratch = sealScratch(infoPrefix);
  let next: Promise<{ encs: Uint8Array; shared: Uint8Array }> | undefined = agree(0);
  try {
    for (let from = 0; from < n; from += range) {
      const { encs, shared } = await next!;
      next = from + range < n ? agree(from + range) : undefined;
      next?.catch(() => {});
      try {
        sealAgreed(scratch, encs, shared, publicKeys, infoSuffixes, plaintext, aad, out, from, Math.min(n, from + range));
      } finally {
        shared.fill(0);
      }
    }
  } finally {
    scratch.wipe();
    next?.then(({ shared }) => shared.fill(0), () => {});
  }
  return out;
}

// Section 5.3: the exporter. Inputs are checked before any key agreement runs.
function checkExport(exporterContext: Uint8Array, length: number): void {
  _bytes(exporterContext, 'exporterContext');
  if (exporterContext.length > MAX_INPUT) throw new HpkeError('bad-length', `exporter context is limited to ${MAX_INPUT} bytes`);
  if (!Number.isInteger(length) || length < 1 || length > 255 * N_H)
    throw new HpkeError('bad-length', `export length must be 1 to ${255 * N_H}`);
}

function exportSecret(ctx: Contexts['export'], exporterContext: Uint8Array, length: number): Uint8Array {
  return labeledExpand(HPKE_SUITE, ctx.exporterSecret, 'sec', exporterContext, length);
}

/** Single-shot SendExport (RFC 9180 6.2): a secret shared with the recipient, plus enc. */
export async function hpkeSendExport(recipientPublicKey: Uint8Array, exporterContext: Uint8Array, length: number, options: HpkeSenderOptions = {}): Promise<{ enc: Uint8Array; secret: Uint8Array }> {
  const { info } = inputs(options);
  checkExport(exporterContext, length);
  const { enc, ctx } = await setupSender(recipientPublicKey, info, options, 'export');
  try {
    return { enc, secret: exportSecret(ctx, exporterContext, length) };
  } finally {
    wipeContext(ctx);
  }
}

/** Single-shot ReceiveExport (RFC 9180 6.2): the recipient's side of {@link hpkeSendExport}. */
export async function hpkeReceiveExport(recipient: HpkeRecipient, enc: Uint8Array, exporterContext: Uint8Array, length: number, options: HpkeOptions = {}): Promise<Uint8Array> {
  const { info } = inputs(options);
  checkExport(exporterContext, length);
  const ctx = await setupRecipient(recipient, enc, info, 'export');
  try {
    return exportSecret(ctx, exporterContext, length);
  } finally {
    wipeContext(ctx);
  }
}
