/**
 * Every message of Sealdoc's wire protocol, version 1, documented byte by byte in
 * docs/protocol.md. One frame (a WebSocket binary message, a BroadcastChannel post) is one
 * message: `u8 version (1) · u8 type · body`; every length is checked against the bytes left
 * and against `maxBytes`.
 *
 * Types 1 to 5 pass between sealed documents, peer to peer or through a relay (which answers
 * them as a peer that holds every envelope and the log, but no key; peers ignore `covers`,
 * which only a relay's retention reads; the relay forwards `beacon`s between members). Types 16 and up are
 * between a client and a relay: the signed hello, subscriptions with cursors, pushes and their
 * acknowledgements, errors.
 *
 * Nothing here is secret: envelopes and ops are sealed and signed; a `have` summary shows
 * which sequence numbers a peer holds, which the relay sees anyway.
 * @module
 */
import { ByteReader, ByteWriter, WireError, type AuthorRanges } from './codec.js';

/** The protocol version this code speaks. */
export const PROTOCOL_VERSION = 1;
/** Largest frame accepted by default: 4 MiB (an envelope is at most 1 MiB of plaintext, padded). */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** The context a client's hello signature is made under (signMessage's domain separation). */
export const HELLO_CONTEXT = 'relay-hello';
/** The context a snapshot author signs a `covers` attestation under (see {@link coversSignedBytes}). */
export const COVERS_CONTEXT = 'snapshot-covers';
/** The context a member signs a head `beacon` under (see {@link beaconSignedBytes}). */
export const BEACON_CONTEXT = 'head-beacon';
/** Echoes a beacon carries at most. */
export const MAX_ECHOES = 16;

/** A member's membership head at one length of the log. */
export interface HeadAt {
  length: number;
  head: Uint8Array;
}

/** Why a relay refused something: an EnvelopeError or MembershipError code, or one of these. */
export type RelayErrorCode =
  | 'malformed'
  | 'unsupported-version'
  | 'too-large'
  | 'not-authenticated'
  | 'bad-hello'
  | 'unknown-group'
  | 'not-a-member'
  | 'rate-limited'
  | 'conflict'
  | 'internal'
  /** An identity's quota (groups, documents, bytes, connections, subscriptions, invitations) is used up. */
  | 'quota-exceeded'
  /** The connection did not read what the relay sent it, for too long: it was closed. */
  | 'too-slow'
  /** The relay serves as many connections as it can: try again later. */
  | 'busy'
  /** A `have` for a document the connection did not subscribe to. */
  | 'not-subscribed'
  /** The relay's operator does not admit this client (its authentication hook said no): retrying will not help. */
  | 'auth-failed'
  /**
   * This device was revoked by its person: the relay admits it no more. Before refusing, it
   * sends the ops of the groups whose logs hold the revocation, which the device verifies.
   */
  | 'device-revoked'
  | (string & {});

/** A message of the protocol. */
export type WireMessage =
  // Between sealed documents (and with a relay, which answers as a peer).
  | { type: 'envelope'; envelope: Uint8Array }
  | { type: 'have'; reply: boolean; groupId: Uint8Array; docId: Uint8Array; logLength: number; authors: AuthorRanges }
  | { type: 'ops'; groupId: Uint8Array; fromIndex: number; ops: Uint8Array[] }
  /**
   * A snapshot's author attests, signed, which sequence ranges the snapshot `(author, seq)`
   * covers: the ranges are sealed inside the snapshot, and a relay with retention needs them
   * to know what it may drop. They show only sequence numbers, which envelope headers show anyway.
   */
  | { type: 'covers'; groupId: Uint8Array; docId: Uint8Array; author: Uint8Array; seq: number; authors: AuthorRanges; signature: Uint8Array }
  /**
   * A member's signed beacon for one document: the membership log it holds (`logLength`,
   * `head`), its heads at the lengths other members last reported (`echoes`, so that a fork is
   * seen on both sides), and what it holds of the document (`authors`). `counter` grows with
   * every beacon of its author (µs since 1970). A relay forwards it to the document's other
   * subscribers and never stores it; it cannot forge one, so a member it hides, or a log it
   * withholds, shows.
   */
  | {
      type: 'beacon';
      groupId: Uint8Array;
      docId: Uint8Array;
      signingPublicKey: Uint8Array;
      counter: number;
      logLength: number;
      head: Uint8Array;
      echoes: HeadAt[];
      authors: AuthorRanges;
      signature: Uint8Array;
    }
  // Relay to client.
  | { type: 'challenge'; nonce: Uint8Array; maxFrameBytes: number }
  | { type: 'welcome'; memberId: Uint8Array }
  | { type: 'error'; ref: number; code: RelayErrorCode; message: string }
  | { type: 'deliver'; groupId: Uint8Array; docId: Uint8Array; cursor: number; envelope: Uint8Array }
  | { type: 'ack'; ref: number; cursor: number }
  | { type: 'caught-up'; groupId: Uint8Array; docId: Uint8Array; cursor: number }
  | { type: 'groups'; ref: number; groupIds: Uint8Array[] }
  /** A join request for an invitation of a group the client watches (sealed: only the admin who made the invitation opens it). */
  | { type: 'invite-requested'; inviteId: Uint8Array; requester: Uint8Array; request: Uint8Array }
  /**
   * The state of the client's join request (answers `invite-status`), and whether a device
   * that can let it in (an admin's, watching the group's invitations) is connected now.
   */
  | { type: 'invite-state'; ref: number; inviteId: Uint8Array; state: InviteState; adminOnline: boolean }
  /** The answer to a client's `ping`, with its number: the link is alive both ways. */
  | { type: 'pong'; nonce: number }
  /** Several messages in one frame (never nested), to be handled in order: fewer frames under load. */
  | { type: 'batch'; messages: WireMessage[] }
  // Client to relay.
  | { type: 'hello'; signingPublicKey: Uint8Array; signature: Uint8Array }
  | { type: 'subscribe'; groupId: Uint8Array; docId: Uint8Array; cursor: number }
  | { type: 'unsubscribe'; groupId: Uint8Array; docId: Uint8Array }
  | { type: 'push'; ref: number; envelope: Uint8Array }
  | { type: 'fetch-ops'; groupId: Uint8Array; fromIndex: number }
  | { type: 'list-groups'; ref: number }
  /** An admin opens an invitation (known to the relay by its id only) until `expiresAt` (ms since 1970). */
  | { type: 'invite-open'; ref: number; groupId: Uint8Array; inviteId: Uint8Array; expiresAt: number }
  /** An admin revokes an invitation: no more requests, and its requesters are told. */
  | { type: 'invite-close'; ref: number; inviteId: Uint8Array }
  /** An invitee's sealed join request. */
  | { type: 'invite-request'; ref: number; inviteId: Uint8Array; request: Uint8Array }
  /** An admin asks for the join requests of its group's open invitations, now and as they come. */
  | { type: 'invite-watch'; groupId: Uint8Array }
  /** An invitee asks where its request stands (answered with `invite-state`). */
  | { type: 'invite-status'; ref: number; inviteId: Uint8Array }
  /** A heartbeat: the relay answers `pong` with the same number (a half-open link is noticed by its silence). */
  | { type: 'ping'; nonce: number }
  /** A member asks the highest sequence number the relay holds of `memberId` in the group (answered with `ack`, cursor = that number + 1, 0 for none): an admin's removal cutoff must reach it. */
  | { type: 'member-seq'; ref: number; groupId: Uint8Array; memberId: Uint8Array }
  /** Ops as in `ops`, as a request: the relay answers `ack` (cursor = the log's length after them) once they are stored, or `error`. */
  | { type: 'commit-ops'; ref: number; groupId: Uint8Array; fromIndex: number; ops: Uint8Array[] };

/**
 * Where a join request stands, as the relay sees it: `pending` (the invitation is open),
 * `admitted` (the client is a member), `expired`, `revoked` (closed by an admin, or by the
 * relay past its requesters' bound), `used` (closed once someone who asked with it was let
 * in), `unknown` (no such invitation).
 */
export type InviteState = 'pending' | 'admitted' | 'expired' | 'revoked' | 'unknown' | 'used';
const INVITE_STATES: InviteState[] = ['pending', 'admitted', 'expired', 'revoked', 'unknown', 'used'];

/** The type byte of each message. */
export const MESSAGE_TYPES = {
  envelope: 1,
  have: 2,
  ops: 3,
  covers: 4,
  beacon: 5,
  challenge: 16,
  welcome: 17,
  error: 18,
  deliver: 19,
  ack: 20,
  'caught-up': 21,
  groups: 22,
  batch: 23,
  'invite-requested': 24,
  'invite-state': 25,
  pong: 26,
  hello: 32,
  subscribe: 33,
  unsubscribe: 34,
  push: 35,
  'fetch-ops': 36,
  'list-groups': 37,
  'invite-open': 38,
  'invite-close': 39,
  'invite-request': 40,
  'invite-watch': 41,
  'invite-status': 42,
  ping: 43,
  'member-seq': 44,
  'commit-ops': 45,
} as const satisfies Record<WireMessage['type'], number>;

const NAMES = new Map<number, WireMessage['type']>(Object.entries(MESSAGE_TYPES).map(([name, n]) => [n, name as WireMessage['type']]));
const ID = 16;
const KEY = 32;
const SIGNATURE = 64;
const MAX_CODE = 64;
const MAX_TEXT = 1024;
const CODE = /^[a-z][a-z0-9-]*$/;

const ascii = (s: string) => new TextEncoder().encode(s);

/**
 * The bytes a `covers` attestation's signature is over (with {@link COVERS_CONTEXT}): its body
 * without the signature, `group 16 · doc 16 · author 32 · u64 seq · ranges`.
 */
export function coversSignedBytes(message: Omit<Extract<WireMessage, { type: 'covers' }>, 'type' | 'signature'>): Uint8Array {
  return coversBody(new ByteWriter(128), message).finish();
}

function coversBody(w: ByteWriter, m: Omit<Extract<WireMessage, { type: 'covers' }>, 'type' | 'signature'>): ByteWriter {
  return w.bytes(m.groupId).bytes(m.docId).bytes(m.author).u64(m.seq).ranges(m.authors);
}

/** The body of a beacon without its signature: what {@link beaconSignedBytes} returns. */
type BeaconBody = Omit<Extract<WireMessage, { type: 'beacon' }>, 'type' | 'signature'>;

/**
 * The bytes a beacon's signature is over (with {@link BEACON_CONTEXT}): its body without the
 * signature, `group 16 · doc 16 · key 32 · u64 counter · u32 log length · head 32 · u8 echo
 * count · per echo: u32 length · head 32 · ranges`.
 */
export function beaconSignedBytes(message: BeaconBody): Uint8Array {
  return beaconBody(new ByteWriter(256), message).finish();
}

function beaconBody(w: ByteWriter, m: BeaconBody): ByteWriter {
  if (m.echoes.length > MAX_ECHOES) throw new WireError('malformed', `a beacon carries ${MAX_ECHOES} echoes at most`);
  w.bytes(m.groupId).bytes(m.docId).bytes(m.signingPublicKey).u64(m.counter).u32(m.logLength).bytes(m.head).u8(m.echoes.length);
  for (const e of m.echoes) w.u32(e.length).bytes(e.head);
  return w.ranges(m.authors);
}

function readBeacon(r: ByteReader): Extract<WireMessage, { type: 'beacon' }> {
  const [groupId, docId, signingPublicKey, counter, logLength, head] = [r.take(ID), r.take(ID), r.take(KEY), r.u64(), r.u32(), r.take(KEY)];
  const count = r.u8();
  if (count > MAX_ECHOES) throw new WireError('malformed', `a beacon carries ${MAX_ECHOES} echoes at most`);
  const echoes: HeadAt[] = [];
  for (let i = 0; i < count; i++) echoes.push({ length: r.u32(), head: r.take(KEY) });
  return { type: 'beacon', groupId, docId, signingPublicKey, counter, logLength, head, echoes, authors: r.ranges(), signature: r.take(SIGNATURE) };
}

/** group id · u32 from-index · u32 count · per op: u32 length · op. */
function opsBody(w: ByteWriter, m: { groupId: Uint8Array; fromIndex: number; ops: readonly Uint8Array[] }): ByteWriter {
  w.bytes(m.groupId).u32(m.fromIndex).u32(m.ops.length);
  for (const op of m.ops) w.u32(op.length).bytes(op);
  return w;
}

function readOps(r: ByteReader): { groupId: Uint8Array; fromIndex: number; ops: Uint8Array[] } {
  const groupId = r.take(ID);
  const fromIndex = r.u32();
  const ops: Uint8Array[] = [];
  for (let i = r.count(); i > 0; i--) ops.push(r.take(r.u32()));
  return { groupId, fromIndex, ops };
}

/** u32 count · per frame: u32 length · frame. */
function encodeBatchBody(frames: readonly Uint8Array[]): Uint8Array {
  return batchWriter(frames, 0).finish();
}

function batchWriter(frames: readonly Uint8Array[], header: number): ByteWriter {
  let size = header + 4;
  for (const f of frames) size += 4 + f.length;
  const w = new ByteWriter(size);
  if (header) w.u8(PROTOCOL_VERSION).u8(MESSAGE_TYPES.batch);
  w.u32(frames.length);
  for (const f of frames) w.u32(f.length).bytes(f);
  return w;
}

/** One `batch` frame of frames already encoded (a relay's outbox): nothing is encoded twice. */
export function encodeBatch(frames: readonly Uint8Array[]): Uint8Array {
  return batchWriter(frames, 2).finish();
}

/** Encodes a message. Throws WireError('malformed') for a value that cannot be written. */
export function encodeWire(message: WireMessage): Uint8Array {
  const w = new ByteWriter('envelope' in message ? message.envelope.length + 64 : 256).u8(PROTOCOL_VERSION).u8(MESSAGE_TYPES[message.type]);
  switch (message.type) {
    case 'envelope':
      return w.bytes(message.envelope).finish();
    case 'have':
      return w.u8(message.reply ? 1 : 0).bytes(message.groupId).bytes(message.docId).u32(message.logLength).ranges(message.authors).finish();
    case 'ops':
      return opsBody(w, message).finish();
    case 'commit-ops':
      return opsBody(w.u32(message.ref), message).finish();
    case 'member-seq':
      return w.u32(message.ref).bytes(message.groupId).bytes(message.memberId).finish();
    case 'covers':
      return coversBody(w, message).bytes(message.signature).finish();
    case 'beacon':
      return beaconBody(w, message).bytes(message.signature).finish();
    case 'challenge':
      return w.bytes(message.nonce).u32(message.maxFrameBytes).finish();
    case 'welcome':
      return w.bytes(message.memberId).finish();
    case 'error': {
      if (!CODE.test(message.code) || message.code.length > MAX_CODE) throw new WireError('malformed', 'an error code is lower-case ASCII');
      const text = new TextEncoder().encode(message.message).slice(0, MAX_TEXT);
      return w.u32(message.ref).u8(message.code.length).bytes(ascii(message.code)).u16(text.length).bytes(text).finish();
    }
    case 'deliver':
      return w.bytes(message.groupId).bytes(message.docId).u64(message.cursor).bytes(message.envelope).finish();
    case 'ack':
      return w.u32(message.ref).u64(message.cursor).finish();
    case 'caught-up':
      return w.bytes(message.groupId).bytes(message.docId).u64(message.cursor).finish();
    case 'groups':
      w.u32(message.ref).u32(message.groupIds.length);
      for (const id of message.groupIds) w.bytes(id);
      return w.finish();
    case 'batch':
      return w.bytes(encodeBatchBody(message.messages.map(encodeWire))).finish();
    case 'hello':
      return w.bytes(message.signingPublicKey).bytes(message.signature).finish();
    case 'subscribe':
      return w.bytes(message.groupId).bytes(message.docId).u64(message.cursor).finish();
    case 'unsubscribe':
      return w.bytes(message.groupId).bytes(message.docId).finish();
    case 'push':
      return w.u32(message.ref).bytes(message.envelope).finish();
    case 'fetch-ops':
      return w.bytes(message.groupId).u32(message.fromIndex).finish();
    case 'list-groups':
      return w.u32(message.ref).finish();
    case 'invite-requested':
      return w.bytes(message.inviteId).bytes(message.requester).bytes(message.request).finish();
    case 'invite-state':
      return w.u32(message.ref).bytes(message.inviteId).u8(INVITE_STATES.indexOf(message.state)).u8(message.adminOnline ? 1 : 0).finish();
    case 'invite-open':
      return w.u32(message.ref).bytes(message.groupId).bytes(message.inviteId).u64(message.expiresAt).finish();
    case 'invite-close':
      return w.u32(message.ref).bytes(message.inviteId).finish();
    case 'invite-request':
      return w.u32(message.ref).bytes(message.inviteId).bytes(message.request).finish();
    case 'invite-watch':
      return w.bytes(message.groupId).finish();
    case 'invite-status':
      return w.u32(message.ref).bytes(message.inviteId).finish();
    case 'ping':
    case 'pong':
      return w.u32(message.nonce).finish();
  }
}

/**
 * Decodes a message; throws WireError for anything malformed, of another version, or larger
 * than `maxBytes` (default {@link MAX_FRAME_BYTES}).
 */
export function decodeWire(bytes: Uint8Array, maxBytes = MAX_FRAME_BYTES): WireMessage {
  if (!(bytes instanceof Uint8Array)) throw new WireError('malformed', 'a message is a Uint8Array');
  if (bytes.length > maxBytes) throw new WireError('too-large', `a message is at most ${maxBytes} bytes`);
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== PROTOCOL_VERSION) throw new WireError('unsupported-version', `message version ${version} is not supported`);
  const typeByte = r.u8();
  const type = NAMES.get(typeByte);
  if (!type) throw new WireError('malformed', `unknown message type ${typeByte}`);
  const message = decodeBody(type, r, maxBytes);
  r.end();
  return message;
}

function decodeBody(type: WireMessage['type'], r: ByteReader, maxBytes: number): WireMessage {
  switch (type) {
    case 'envelope':
      return { type, envelope: r.rest() };
    case 'have': {
      const reply = r.u8();
      if (reply > 1) throw new WireError('malformed', 'bad reply flag');
      return { type, reply: reply === 1, groupId: r.take(ID), docId: r.take(ID), logLength: r.u32(), authors: r.ranges() };
    }
    case 'ops':
      return { type, ...readOps(r) };
    case 'commit-ops': {
      const ref = r.u32();
      return { type, ref, ...readOps(r) };
    }
    case 'member-seq':
      return { type, ref: r.u32(), groupId: r.take(ID), memberId: r.take(KEY) };
    case 'covers':
      return { type, groupId: r.take(ID), docId: r.take(ID), author: r.take(KEY), seq: r.u64(), authors: r.ranges(), signature: r.take(SIGNATURE) };
    case 'beacon':
      return readBeacon(r);
    case 'challenge':
      return { type, nonce: r.take(32), maxFrameBytes: r.u32() };
    case 'welcome':
      return { type, memberId: r.take(KEY) };
    case 'error': {
      const ref = r.u32();
      const codeLength = r.u8();
      if (codeLength === 0 || codeLength > MAX_CODE) throw new WireError('malformed', 'bad error code length');
      const code = new TextDecoder().decode(r.take(codeLength));
      if (!CODE.test(code)) throw new WireError('malformed', 'an error code is lower-case ASCII');
      const length = r.u16();
      if (length > MAX_TEXT) throw new WireError('malformed', 'error message too long');
      return { type, ref, code, message: new TextDecoder().decode(r.take(length)) };
    }
    case 'deliver':
      return { type, groupId: r.take(ID), docId: r.take(ID), cursor: r.u64(), envelope: r.rest() };
    case 'ack':
      return { type, ref: r.u32(), cursor: r.u64() };
    case 'caught-up':
      return { type, groupId: r.take(ID), docId: r.take(ID), cursor: r.u64() };
    case 'groups': {
      const ref = r.u32();
      const groupIds: Uint8Array[] = [];
      for (let i = r.count(); i > 0; i--) groupIds.push(r.take(ID));
      return { type, ref, groupIds };
    }
    case 'batch': {
      const messages: WireMessage[] = [];
      for (let i = r.count(); i > 0; i--) {
        const inner = decodeWire(r.take(r.u32()), maxBytes);
        if (inner.type === 'batch') throw new WireError('malformed', 'a batch inside a batch');
        messages.push(inner);
      }
      return { type, messages };
    }
    case 'hello':
      return { type, signingPublicKey: r.take(KEY), signature: r.take(SIGNATURE) };
    case 'subscribe':
      return { type, groupId: r.take(ID), docId: r.take(ID), cursor: r.u64() };
    case 'unsubscribe':
      return { type, groupId: r.take(ID), docId: r.take(ID) };
    case 'push':
      return { type, ref: r.u32(), envelope: r.rest() };
    case 'fetch-ops':
      return { type, groupId: r.take(ID), fromIndex: r.u32() };
    case 'list-groups':
      return { type, ref: r.u32() };
    case 'invite-requested':
      return { type, inviteId: r.take(ID), requester: r.take(KEY), request: r.rest() };
    case 'invite-state': {
      const ref = r.u32();
      const inviteId = r.take(ID);
      const state = INVITE_STATES[r.u8()];
      if (!state) throw new WireError('malformed', 'unknown invitation state');
      const online = r.u8();
      if (online > 1) throw new WireError('malformed', 'an admin is online or not');
      return { type, ref, inviteId, state, adminOnline: online === 1 };
    }
    case 'invite-open':
      return { type, ref: r.u32(), groupId: r.take(ID), inviteId: r.take(ID), expiresAt: r.u64() };
    case 'invite-close':
      return { type, ref: r.u32(), inviteId: r.take(ID) };
    case 'invite-request':
      return { type, ref: r.u32(), inviteId: r.take(ID), request: r.rest() };
    case 'invite-watch':
      return { type, groupId: r.take(ID) };
    case 'invite-status':
      return { type, ref: r.u32(), inviteId: r.take(ID) };
    case 'ping':
    case 'pong':
      return { type, nonce: r.u32() };
  }
}
