/**
 * Sealed envelopes: the unit in which Sealdoc moves and stores document updates,
 * snapshots and awareness. docs/envelope.md documents every byte.
 *
 * - Confidentiality: XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha) under a per-message
 *   subkey, AAD = the whole header.
 * - Key commitment (commitment.ts): the header carries a commitment to the doc key, checked
 *   in constant time before decrypting, so a ciphertext opens under one key only (a plain
 *   Poly1305 tag does not promise that; see Len, Grubbs, Ristenpart 2021).
 * - Length hiding: PADMÉ padding (Nikitin et al., PETS 2019) with a 0x80 marker.
 * - Authenticity: Ed25519 over header and ciphertext, so the relay can check it without keys.
 * - Chaining (version 2): the header names the hash of its author's previous envelope in the
 *   same document, so that one verified signature vouches for the run of envelopes before it
 *   (envelope-batch.ts opens a catch-up that way).
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { CryptoInputError, EnvelopeError, type EnvelopeErrorCode } from './errors.js';
import { _bytes, _concat, _equal, _int, _Reader, _u32, _u64, _utf8, _wipe } from './bytes.js';
import { _identitySecrets, type Identity } from './identity.js';
import { ID_LENGTH, MAX_EPOCH, type Keyring } from './keyring.js';
import { _committedKeys } from './commitment.js';
import { _pad, _paddedLength, _unpad } from './padding.js';
import { _verifyMessage, _verifyMessageNow, signMessage } from './signature.js';
import { _verifiesNow } from './primitives.js';
import { _sha256 } from './digest.js';
import { _xchachaOpen, _xchachaSeal } from './xchacha.js';

/**
 * The envelope format version this code writes. Version 1 (no `prev` field) is still read;
 * docs/envelope.md documents both.
 */
export const ENVELOPE_VERSION = 2;
/** What an envelope carries. */
export type EnvelopeKind = 'update' | 'snapshot' | 'awareness';
/** Role of a group member, as far as envelopes are concerned. */
export type MemberRole = 'admin' | 'writer' | 'reader';

const KIND_CODES: Record<EnvelopeKind, number> = { update: 1, snapshot: 2, awareness: 3 };
const KINDS: readonly EnvelopeKind[] = ['update', 'snapshot', 'awareness'];
const NONCE_LENGTH = 24;
const HASH_LENGTH = 32;
const TAG_LENGTH = 16;
const SIGNATURE_LENGTH = 64;
const V1_HEADER_LENGTH = 1 + 1 + ID_LENGTH + ID_LENGTH + 4 + HASH_LENGTH + 8 + HASH_LENGTH + NONCE_LENGTH + HASH_LENGTH;
/** Bytes before the ciphertext in the version this code writes: the AEAD's associated data. */
export const ENVELOPE_HEADER_LENGTH = V1_HEADER_LENGTH + HASH_LENGTH;
const NO_PREV = new Uint8Array(HASH_LENGTH);
/** Default and largest plaintext accepted, 64 MiB. */
export const MAX_ENVELOPE_PLAINTEXT = 64 * 1024 * 1024;
const SIGNATURE_CONTEXT = 'envelope';

/** The cleartext header of an envelope; every field is signed and authenticated. */
export interface EnvelopeHeader {
  /** Format version, {@link ENVELOPE_VERSION}. */
  version: number;
  /** What the envelope carries; each kind is sealed under its own key. */
  kind: EnvelopeKind;
  /** 16-byte group id. */
  groupId: Uint8Array;
  /** 16-byte document id. */
  docId: Uint8Array;
  /** Group epoch whose secret sealed the envelope. */
  epoch: number;
  /** 32-byte member id of the author. */
  author: Uint8Array;
  /** The author's sequence number in this group, from 0, at most 2^53 - 1. */
  seq: number;
  /** 32-byte hash of the membership log head the author had when sealing. */
  head: Uint8Array;
  /**
   * {@link envelopeHash} of the author's previous envelope in this document (version 2, kinds
   * update and snapshot), when the author named one: the author vouches for those exact bytes.
   */
  prev?: Uint8Array;
  /** 24-byte random nonce. */
  nonce: Uint8Array;
}

/** What the membership log says about an author at an epoch. */
export interface EnvelopeAuthor {
  /** The author's 32-byte Ed25519 public key. */
  signingPublicKey: Uint8Array;
  /** The author's role at that epoch; readers' envelopes are refused. */
  role: MemberRole;
}

/** What {@link verifyEnvelope} checks an envelope against. */
export interface VerifyContext {
  /** The group the envelope must belong to. */
  groupId: Uint8Array;
  /** The document it must belong to; omit to accept any document of the group. */
  docId?: Uint8Array;
  /** Kinds accepted here; all by default. */
  kinds?: readonly EnvelopeKind[];
  /**
   * Resolves the author's key and role under the membership the header names (its epoch,
   * head, author and sequence number); undefined for a non-member. It may throw an
   * EnvelopeError with a more precise code (`unknown-head`, `wrong-epoch`, `past-cutoff`):
   * {@link MembershipLog.envelopeContext} does.
   */
  author(header: EnvelopeHeader): EnvelopeAuthor | undefined;
  /** Largest envelope accepted, in bytes; defaults to the largest plaintext plus overhead. */
  maxBytes?: number;
}

/** What {@link openEnvelope} needs: the verification context and the epoch secrets. */
export interface OpenContext extends VerifyContext {
  /** The epoch secrets this device holds. */
  keyring: Keyring;
}

/** Parameters of {@link sealEnvelope}. */
export interface SealParams {
  kind: EnvelopeKind;
  /** 16-byte group id. */
  groupId: Uint8Array;
  /** 16-byte document id. */
  docId: Uint8Array;
  /** Epoch to seal under; its secret must be in `keyring`. */
  epoch: number;
  /** The author's next sequence number in this group (0 to 2^53 - 1). */
  seq: number;
  /** 32-byte hash of the membership log head. */
  head: Uint8Array;
  /** Who signs the envelope. */
  author: Identity;
  /**
   * {@link envelopeHash} of the author's previous envelope in this document, if it knows it
   * (updates and snapshots only): lets a reader check one signature for a run of envelopes.
   */
  prev?: Uint8Array;
  /** Holds the epoch secret. */
  keyring: Keyring;
  /** At most {@link MAX_ENVELOPE_PLAINTEXT} bytes. */
  plaintext: Uint8Array;
}

/** An opened envelope. */
export interface OpenedEnvelope {
  /** The verified header. */
  header: EnvelopeHeader;
  /** The decrypted content, padding removed (a view: its `buffer` may hold the padding after it). */
  plaintext: Uint8Array;
}

function fail(code: EnvelopeErrorCode, message: string): never {
  throw new EnvelopeError(code, message);
}

function largestEnvelope(maxPlaintext: number): number {
  return ENVELOPE_HEADER_LENGTH + _paddedLength(maxPlaintext) + TAG_LENGTH + SIGNATURE_LENGTH;
}

/**
 * An envelope split into its parts, structure checked (internal to the crypto package). The
 * parts are views into `bytes`, made when asked for: a catch-up keeps thousands of these while
 * it applies, and views made at once would all outlive it.
 */
export class _Decoded {
  constructor(
    readonly bytes: Uint8Array,
    readonly header: EnvelopeHeader,
    /** Bytes of the header, commitment included: the AEAD's associated data. */
    private readonly headerLength: number,
  ) {}
  get commitment(): Uint8Array {
    return this.bytes.subarray(this.headerLength - HASH_LENGTH, this.headerLength);
  }
  get aad(): Uint8Array {
    return this.bytes.subarray(0, this.headerLength);
  }
  get ciphertext(): Uint8Array {
    return this.bytes.subarray(this.headerLength, this.bytes.length - SIGNATURE_LENGTH);
  }
  get signed(): Uint8Array {
    return this.bytes.subarray(0, this.bytes.length - SIGNATURE_LENGTH);
  }
  get signature(): Uint8Array {
    return this.bytes.subarray(this.bytes.length - SIGNATURE_LENGTH);
  }
}

/** Parses an envelope's structure (step 1 of opening); throws EnvelopeError. */
export function _decodeEnvelope(bytes: Uint8Array, maxBytes = largestEnvelope(MAX_ENVELOPE_PLAINTEXT)): _Decoded {
  if (!(bytes instanceof Uint8Array)) fail('malformed', 'an envelope must be a Uint8Array');
  if (bytes.length > maxBytes) fail('too-large', `envelope of ${bytes.length} bytes exceeds the limit of ${maxBytes}`);
  const r = new _Reader(bytes, (why) => fail('malformed', `envelope ${why}`));
  const version = r.u8();
  if (version !== 1 && version !== 2) fail('unsupported-version', `envelope version ${version} is not supported`);
  const kind = KINDS[r.u8() - 1];
  if (!kind) fail('malformed', 'unknown envelope kind');
  const groupId = r.take(ID_LENGTH);
  const docId = r.take(ID_LENGTH);
  const epoch = r.u32();
  const author = r.take(HASH_LENGTH);
  const seq = r.u64();
  const head = r.take(HASH_LENGTH);
  const prev = version === 2 ? r.take(HASH_LENGTH) : NO_PREV;
  if (kind === 'awareness' && !_equal(prev, NO_PREV)) fail('malformed', 'an awareness envelope names no previous envelope');
  const nonce = r.take(NONCE_LENGTH);
  const headerLength = r.position + HASH_LENGTH;
  r.take(HASH_LENGTH); // the commitment
  const ciphertextLength = r.remaining - SIGNATURE_LENGTH;
  if (ciphertextLength < _paddedLength(0) + TAG_LENGTH) fail('malformed', 'envelope is too short for its ciphertext and signature');
  r.take(ciphertextLength);
  r.take(SIGNATURE_LENGTH);
  r.end();
  // The header's fields are copies (changing the bytes after parsing changes no header), all
  // in one array: from the group id to the nonce.
  const fields = bytes.slice(2, headerLength - HASH_LENGTH);
  const copy = (view: Uint8Array) => fields.subarray(view.byteOffset - bytes.byteOffset - 2, view.byteOffset - bytes.byteOffset - 2 + view.length);
  const header: EnvelopeHeader = { version, kind, groupId: copy(groupId), docId: copy(docId), epoch, author: copy(author), seq, head: copy(head), nonce: copy(nonce) };
  if (!_equal(prev, NO_PREV)) header.prev = copy(prev);
  return new _Decoded(bytes, header, headerLength);
}

/**
 * Parses an envelope's header without checking anything but its structure; for routing and
 * indexing. Throws EnvelopeError (malformed, unsupported-version, too-large).
 */
export function readEnvelopeHeader(bytes: Uint8Array, maxBytes = largestEnvelope(MAX_ENVELOPE_PLAINTEXT)): EnvelopeHeader {
  return _decodeEnvelope(bytes, maxBytes).header;
}

/** An envelope whose structure {@link readEnvelope} parsed: its bytes and header, nothing checked yet. */
export interface ReadEnvelope {
  readonly bytes: Uint8Array;
  readonly header: EnvelopeHeader;
}

// What readEnvelope returned: openEnvelopes takes those as parsed, and parses anything else.
const parsedHere = new WeakSet<object>();

/**
 * Parses an envelope's structure, as {@link readEnvelopeHeader} does, and keeps the parse:
 * {@link openEnvelopes} given the result makes every check on it without parsing the bytes
 * again (a catch-up reads each header to route it, then opens it). The caller must not change
 * the bytes or the header meanwhile. Throws EnvelopeError (malformed, unsupported-version,
 * too-large).
 */
export function readEnvelope(bytes: Uint8Array, maxBytes = largestEnvelope(MAX_ENVELOPE_PLAINTEXT)): ReadEnvelope {
  const d = _decodeEnvelope(bytes, maxBytes);
  parsedHere.add(d);
  return d;
}

/**
 * `item` as {@link readEnvelope} parsed it (its size checked against `maxBytes` again), or, when
 * it is bytes, parsed now; anything else (an object that only looks parsed) is refused as input.
 */
export function _decodedOf(item: Uint8Array | ReadEnvelope, maxBytes = largestEnvelope(MAX_ENVELOPE_PLAINTEXT)): _Decoded {
  if (!(item instanceof Uint8Array) && parsedHere.has(item)) {
    const d = item as _Decoded;
    if (d.bytes.length > maxBytes) fail('too-large', `envelope of ${d.bytes.length} bytes exceeds the limit of ${maxBytes}`);
    return d;
  }
  return _decodeEnvelope(_bytes(item as Uint8Array, 'envelope'), maxBytes);
}

/**
 * SHA-256 of a whole envelope: what the author's next envelope in the same document names as
 * its `prev`.
 */
export function envelopeHash(bytes: Uint8Array): Promise<Uint8Array> {
  return _sha256(_bytes(bytes, 'envelope'));
}

/**
 * Seals `plaintext` into an envelope signed by `author` under the document key of
 * (group, epoch, doc, kind) from `keyring`. Throws EnvelopeError('unknown-epoch') when the
 * keyring lacks the epoch and EnvelopeError('too-large') past {@link MAX_ENVELOPE_PLAINTEXT}.
 */
export async function sealEnvelope(params: SealParams): Promise<Uint8Array> {
  const { kind, author, keyring } = params;
  if (!KINDS.includes(kind)) throw new CryptoInputError('kind must be update, snapshot or awareness');
  const groupId = _bytes(params.groupId, 'groupId', ID_LENGTH);
  const docId = _bytes(params.docId, 'docId', ID_LENGTH);
  const epoch = _int(params.epoch, 'epoch', 0, MAX_EPOCH);
  const seq = _int(params.seq, 'seq', 0, Number.MAX_SAFE_INTEGER);
  const head = _bytes(params.head, 'head', HASH_LENGTH);
  const prev = params.prev === undefined ? NO_PREV : _bytes(params.prev, 'prev', HASH_LENGTH);
  if (kind === 'awareness' && params.prev !== undefined) throw new CryptoInputError('an awareness envelope names no previous envelope');
  const plaintext = _bytes(params.plaintext, 'plaintext');
  if (plaintext.length > MAX_ENVELOPE_PLAINTEXT) fail('too-large', `plaintext exceeds ${MAX_ENVELOPE_PLAINTEXT} bytes`);
  _identitySecrets(author); // fails early for a wiped identity, before any work
  const docKey = keyring._docKey(groupId, epoch, docId, kind);
  if (!docKey) fail('unknown-epoch', `the keyring holds no secret for epoch ${epoch}`);

  const nonce = randomBytes(NONCE_LENGTH);
  const { subkey, commitment } = _committedKeys(docKey, nonce, 'envelope');
  const header = _concat(
    Uint8Array.of(ENVELOPE_VERSION, KIND_CODES[kind]),
    groupId,
    docId,
    _u32(epoch),
    author.memberId,
    _u64(seq),
    head,
    prev,
    nonce,
    commitment,
  );
  const padded = _pad(plaintext);
  const ciphertext = _xchachaSeal(subkey, nonce, header, padded);
  _wipe(subkey, padded);
  const signed = _concat(header, ciphertext);
  return _concat(signed, await signMessage(author, SIGNATURE_CONTEXT, signed));
}

/** Steps 2 and 3 of opening: group, document, kind, author and role; returns the author. */
export function _checkEnvelope(d: _Decoded, ctx: VerifyContext): EnvelopeAuthor {
  const { header } = d;
  if (!_equal(header.groupId, _bytes(ctx.groupId, 'groupId', ID_LENGTH))) fail('wrong-group', 'envelope belongs to another group');
  if (ctx.docId !== undefined && !_equal(header.docId, _bytes(ctx.docId, 'docId', ID_LENGTH)))
    fail('wrong-doc', 'envelope belongs to another document');
  if (ctx.kinds && !ctx.kinds.includes(header.kind)) fail('wrong-kind', `a ${header.kind} envelope is not accepted here`);
  const author = ctx.author(header);
  if (!author) fail('not-a-member', `the author was not a member at epoch ${header.epoch}`);
  if (author.role === 'reader') fail('not-a-writer', 'the author is a reader and cannot write');
  return author;
}

/** Step 4 of opening: the author's signature; throws EnvelopeError('bad-signature'). */
export async function _checkEnvelopeSignature(d: _Decoded, author: EnvelopeAuthor, here?: boolean): Promise<void> {
  if (!(await _verifyMessage(author.signingPublicKey, SIGNATURE_CONTEXT, d.signed, d.signature, here)))
    fail('bad-signature', 'envelope signature does not verify');
}

async function verifyDecoded(d: _Decoded, ctx: VerifyContext): Promise<void> {
  await _checkEnvelopeSignature(d, _checkEnvelope(d, ctx));
}

/**
 * The checks of {@link verifyDecoded}, made now, where every check is made on the calling thread
 * (_verifiesNow: Node, with verifyOnCallingThread): the same checks in the same order, without
 * a chain of promises (a relay makes one per push). False where they cannot be, nothing checked.
 */
function verifiedNow(d: _Decoded, ctx: VerifyContext): boolean {
  if (!_verifiesNow()) return false;
  const author = _checkEnvelope(d, ctx);
  if (!_verifyMessageNow(author.signingPublicKey, SIGNATURE_CONTEXT, d.signed, d.signature)) fail('bad-signature', 'envelope signature does not verify');
  return true;
}

/**
 * Checks structure, group, document, kind, membership, role and signature, without any key:
 * what a relay can check. Takes the envelope's bytes, or what {@link readEnvelope} parsed of them
 * (not parsed again). Returns the header or throws EnvelopeError.
 */
export function verifyEnvelope(envelope: Uint8Array | ReadEnvelope, ctx: VerifyContext): Promise<EnvelopeHeader> {
  try {
    // Anything but a parse of readEnvelope's is taken as bytes: what is not bytes is malformed.
    const d = parsedHere.has(envelope) ? _decodedOf(envelope, ctx.maxBytes) : _decodeEnvelope(envelope as Uint8Array, ctx.maxBytes);
    if (verifiedNow(d, ctx)) return Promise.resolve(d.header);
    return verifyDecoded(d, ctx).then(() => d.header);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Verifies and decrypts an envelope. Throws EnvelopeError with a code for every reason it
 * cannot be accepted; a failed open has no side effect.
 */
export async function openEnvelope(bytes: Uint8Array, ctx: OpenContext): Promise<OpenedEnvelope> {
  const d = _decodeEnvelope(bytes, ctx.maxBytes);
  await verifyDecoded(d, ctx);
  return _decryptEnvelope(d, ctx.keyring);
}

/**
 * Steps 5 and 6 of opening, after the author is authenticated: key, commitment, AEAD, padding.
 * `docKey` looks the document key up (a batch remembers it between envelopes).
 */
export function _decryptEnvelope(
  d: _Decoded,
  keyring: Keyring,
  docKeyOf: (header: EnvelopeHeader) => Uint8Array | undefined = (h) => keyring._docKey(h.groupId, h.epoch, h.docId, h.kind),
): OpenedEnvelope {
  const { header } = d;
  const docKey = docKeyOf(header);
  if (!docKey) fail('unknown-epoch', `no key is held for epoch ${header.epoch}`);
  const { subkey, commitment } = _committedKeys(docKey, header.nonce, 'envelope');
  try {
    if (!_equal(commitment, d.commitment)) fail('bad-ciphertext', 'key commitment does not match');
    const padded = _xchachaOpen(subkey, header.nonce, d.aad, d.ciphertext);
    if (!padded) fail('bad-ciphertext', 'envelope ciphertext does not authenticate');
    const plaintext = _unpad(padded);
    if (!plaintext) fail('malformed', 'envelope padding is invalid');
    // A view of what was decrypted, not a copy: its buffer goes on past it with the padding
    // (zeros and one 0x80 byte, nothing secret).
    return { header, plaintext };
  } finally {
    _wipe(subkey);
  }
}
