/**
 * One envelope to verify, as the verify pool sends it to a worker thread: packed in one buffer
 * of its own, which is transferred, not copied (structured-cloning a Uint8Array copies the whole
 * buffer under it, and an envelope received from a socket is a view into a larger one).
 *
 * ```
 * u32 id · u8 flags (1: author given, 2: document given, 4: kinds given) · u8 role · u8 kinds (a bit per kind) · u8 0
 * · group id 16 · document id 16 · author's signing key 32 · envelope
 * ```
 * @module
 */
import type { EnvelopeAuthor, EnvelopeKind, MemberRole } from '@sealdoc/crypto';

const ROLES: readonly MemberRole[] = ['admin', 'writer', 'reader'];
const KINDS: readonly EnvelopeKind[] = ['update', 'snapshot', 'awareness'];
const AT_GROUP = 8;
const AT_DOC = AT_GROUP + 16;
const AT_KEY = AT_DOC + 16;
const AT_ENVELOPE = AT_KEY + 32;

/** What a worker verifies: the envelope against the group, the document and kinds (when given), and the author the log resolved. */
export interface VerifyRequest {
  id: number;
  bytes: Uint8Array;
  groupId: Uint8Array;
  docId: Uint8Array | undefined;
  kinds: readonly EnvelopeKind[] | undefined;
  author: EnvelopeAuthor | undefined;
}

/** Packs a request into a buffer of its own (to be transferred). */
export function packVerifyRequest(r: VerifyRequest): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(AT_ENVELOPE + r.bytes.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, r.id);
  out[4] = (r.author ? 1 : 0) | (r.docId ? 2 : 0) | (r.kinds ? 4 : 0);
  out[5] = r.author ? ROLES.indexOf(r.author.role) : 0;
  out[6] = (r.kinds ?? []).reduce((mask, kind) => mask | (1 << KINDS.indexOf(kind)), 0);
  out.set(r.groupId, AT_GROUP);
  if (r.docId) out.set(r.docId, AT_DOC);
  if (r.author) out.set(r.author.signingPublicKey, AT_KEY);
  out.set(r.bytes, AT_ENVELOPE);
  return out;
}

/** Reads a packed request (views into `packed`). */
export function unpackVerifyRequest(packed: Uint8Array): VerifyRequest {
  const flags = packed[4]!;
  const role = ROLES[packed[5]!];
  if (!role) throw new RangeError('verify request: unknown role');
  return {
    id: new DataView(packed.buffer, packed.byteOffset, packed.byteLength).getUint32(0),
    groupId: packed.subarray(AT_GROUP, AT_DOC),
    docId: flags & 2 ? packed.subarray(AT_DOC, AT_KEY) : undefined,
    kinds: flags & 4 ? KINDS.filter((_, i) => packed[6]! & (1 << i)) : undefined,
    author: flags & 1 ? { signingPublicKey: packed.subarray(AT_KEY, AT_ENVELOPE), role } : undefined,
    bytes: packed.subarray(AT_ENVELOPE),
  };
}

/** A worker's answer: the request's id alone when the envelope verified; otherwise the EnvelopeError's code and message, or `failure` for any other error. */
export type VerifyAnswer = number | { id: number; code?: string; message?: string; failure?: string };
