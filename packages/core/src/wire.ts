/**
 * The messages sealed documents exchange over a Transport, peer to peer (tabs, tests) or
 * through a relay. Version 1, big-endian; every length is checked against the bytes left.
 *
 *   u8 version (1) · u8 type · body
 *   type 1 envelope: the sealed envelope's bytes (docs/envelope.md)
 *   type 2 have:     u8 reply (0: a request, answer with your own; 1: an answer) · group id 16 ·
 *                    doc id 16 · u32 log length · u32 authors · per author: member id 32 ·
 *                    u32 ranges · per range: u64 start · u64 end
 *   type 3 ops:      group id 16 · u32 from-index · u32 count · per op: u32 length · op bytes
 *
 * Nothing here is secret: envelopes and ops are sealed and signed; a `have` summary shows
 * which sequence numbers a peer holds, which the relay sees anyway.
 * @module
 */
import type { SeqRange } from './seq-ranges.js';

/** A message between sealed documents. */
export type WireMessage =
  | { type: 'envelope'; envelope: Uint8Array }
  | { type: 'have'; reply: boolean; groupId: Uint8Array; docId: Uint8Array; logLength: number; authors: [author: Uint8Array, ranges: SeqRange[]][] }
  | { type: 'ops'; groupId: Uint8Array; fromIndex: number; ops: Uint8Array[] };

/** A message that cannot be decoded. */
export class WireError extends Error {
  readonly code: 'malformed' | 'unsupported-version';
  constructor(code: 'malformed' | 'unsupported-version', message: string) {
    super(message);
    this.code = code;
    this.name = 'WireError';
  }
}

const VERSION = 1;
const TYPES = { envelope: 1, have: 2, ops: 3 } as const;
const MAX_ITEMS = 1_000_000;

class Writer {
  readonly #parts: Uint8Array[] = [];
  #length = 0;
  bytes(b: Uint8Array): this {
    this.#parts.push(b);
    this.#length += b.length;
    return this;
  }
  u8(n: number): this {
    return this.bytes(Uint8Array.of(n));
  }
  u32(n: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    return this.bytes(b);
  }
  u64(n: number): this {
    const b = new Uint8Array(8);
    const v = new DataView(b.buffer);
    v.setUint32(0, Math.floor(n / 2 ** 32));
    v.setUint32(4, n >>> 0);
    return this.bytes(b);
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const p of this.#parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

class Reader {
  #at = 0;
  readonly #view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  #need(n: number): number {
    if (n > this.bytes.length - this.#at) throw new WireError('malformed', 'message truncated');
    const at = this.#at;
    this.#at += n;
    return at;
  }
  u8(): number {
    return this.#view.getUint8(this.#need(1));
  }
  u32(): number {
    return this.#view.getUint32(this.#need(4));
  }
  u64(): number {
    const at = this.#need(8);
    const hi = this.#view.getUint32(at);
    if (hi > 0x1fffff) throw new WireError('malformed', 'number out of range');
    return hi * 2 ** 32 + this.#view.getUint32(at + 4);
  }
  take(n: number): Uint8Array {
    const at = this.#need(n);
    return this.bytes.slice(at, at + n);
  }
  count(): number {
    const n = this.u32();
    if (n > MAX_ITEMS) throw new WireError('malformed', 'too many items');
    return n;
  }
  rest(): Uint8Array {
    return this.take(this.bytes.length - this.#at);
  }
  end(): void {
    if (this.#at !== this.bytes.length) throw new WireError('malformed', 'trailing bytes');
  }
}

/** What a snapshot envelope carries: the document state and the sequence ranges it covers. */
export interface SnapshotPayload {
  covers: [author: Uint8Array, ranges: SeqRange[]][];
  state: Uint8Array;
}

function writeRanges(w: Writer, authors: readonly [Uint8Array, readonly SeqRange[]][]): void {
  w.u32(authors.length);
  for (const [author, ranges] of authors) {
    w.bytes(author).u32(ranges.length);
    for (const [s, e] of ranges) w.u64(s).u64(e);
  }
}

function readRanges(r: Reader): [Uint8Array, SeqRange[]][] {
  const authors: [Uint8Array, SeqRange[]][] = [];
  for (let i = r.count(); i > 0; i--) {
    const author = r.take(32);
    const ranges: SeqRange[] = [];
    for (let j = r.count(); j > 0; j--) {
      const start = r.u64();
      const end = r.u64();
      if (end < start) throw new WireError('malformed', 'a range ends before it starts');
      ranges.push([start, end]);
    }
    authors.push([author, ranges]);
  }
  return authors;
}

/** Encodes a snapshot's plaintext: u8 version · the covered ranges (as in `have`) · the Yjs state. */
export function encodeSnapshot(payload: SnapshotPayload): Uint8Array {
  const w = new Writer().u8(VERSION);
  writeRanges(w, payload.covers);
  return w.bytes(payload.state).finish();
}

/** Decodes a snapshot's plaintext; throws WireError. */
export function decodeSnapshot(bytes: Uint8Array): SnapshotPayload {
  const r = new Reader(bytes);
  const version = r.u8();
  if (version !== VERSION) throw new WireError('unsupported-version', `snapshot version ${version} is not supported`);
  const covers = readRanges(r);
  return { covers, state: r.rest() };
}

/**
 * What a device keeps of a document under its device key, never sent: the sequence ranges
 * whose content the state holds, the snapshot to send instead of what it covers, and the
 * state (a Yjs update in the V2 encoding).
 */
export interface LocalState {
  applied: [author: Uint8Array, ranges: SeqRange[]][];
  best?: { author: Uint8Array; seq: number; covers: [author: Uint8Array, ranges: SeqRange[]][] };
  state: Uint8Array;
}

/** @internal u8 version · applied ranges · u8 has-best · [author 32 · u64 seq · covers] · state. */
export function encodeLocalState(local: LocalState): Uint8Array {
  const w = new Writer().u8(VERSION);
  writeRanges(w, local.applied);
  w.u8(local.best ? 1 : 0);
  if (local.best) {
    w.bytes(local.best.author).u64(local.best.seq);
    writeRanges(w, local.best.covers);
  }
  return w.bytes(local.state).finish();
}

/** @internal Decodes {@link encodeLocalState}; throws WireError. */
export function decodeLocalState(bytes: Uint8Array): LocalState {
  const r = new Reader(bytes);
  const version = r.u8();
  if (version !== VERSION) throw new WireError('unsupported-version', `local state version ${version} is not supported`);
  const applied = readRanges(r);
  const hasBest = r.u8();
  if (hasBest > 1) throw new WireError('malformed', 'bad flag');
  const best = hasBest ? { author: r.take(32), seq: r.u64(), covers: readRanges(r) } : undefined;
  return { applied, ...(best ? { best } : {}), state: r.rest() };
}

/** Encodes a message. */
export function encodeWire(message: WireMessage): Uint8Array {
  const w = new Writer().u8(VERSION).u8(TYPES[message.type]);
  switch (message.type) {
    case 'envelope':
      return w.bytes(message.envelope).finish();
    case 'have':
      w.u8(message.reply ? 1 : 0).bytes(message.groupId).bytes(message.docId).u32(message.logLength);
      writeRanges(w, message.authors);
      return w.finish();
    case 'ops':
      w.bytes(message.groupId).u32(message.fromIndex).u32(message.ops.length);
      for (const op of message.ops) w.u32(op.length).bytes(op);
      return w.finish();
  }
}

/** Decodes a message; throws WireError for anything malformed. */
export function decodeWire(bytes: Uint8Array): WireMessage {
  if (!(bytes instanceof Uint8Array)) throw new WireError('malformed', 'a message is a Uint8Array');
  const r = new Reader(bytes);
  const version = r.u8();
  if (version !== VERSION) throw new WireError('unsupported-version', `message version ${version} is not supported`);
  const type = r.u8();
  switch (type) {
    case TYPES.envelope:
      return { type: 'envelope', envelope: r.rest() };
    case TYPES.have: {
      const replyByte = r.u8();
      if (replyByte > 1) throw new WireError('malformed', 'bad reply flag');
      const groupId = r.take(16);
      const docId = r.take(16);
      const logLength = r.u32();
      const authors = readRanges(r);
      r.end();
      return { type: 'have', reply: replyByte === 1, groupId, docId, logLength, authors };
    }
    case TYPES.ops: {
      const groupId = r.take(16);
      const fromIndex = r.u32();
      const ops: Uint8Array[] = [];
      for (let i = r.count(); i > 0; i--) ops.push(r.take(r.u32()));
      r.end();
      return { type: 'ops', groupId, fromIndex, ops };
    }
    default:
      throw new WireError('malformed', `unknown message type ${type}`);
  }
}
