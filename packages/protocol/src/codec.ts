/**
 * The byte codec every Sealdoc format here is written with: big-endian, and every read
 * checked against the bytes left, so that truncated or hostile input is a WireError, never a
 * crash or a read past the end.
 * @module
 */

/** Inclusive ranges [start, end] of sequence numbers. */
export type SeqRange = readonly [start: number, end: number];

/** Per author (a 32-byte member id), the sequence ranges held. */
export type AuthorRanges = [author: Uint8Array, ranges: SeqRange[]][];

/** Why bytes could not be decoded. */
export type WireErrorCode = 'malformed' | 'unsupported-version' | 'too-large';

/** Bytes that cannot be decoded: a typed error, nothing was applied. */
export class WireError extends Error {
  readonly code: WireErrorCode;
  constructor(code: WireErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'WireError';
  }
}

/** Most items a count may announce (authors, ranges, ops), whatever the bytes left. */
export const MAX_ITEMS = 1_000_000;

/** Writes a message into one buffer that grows as needed (no allocation per field). */
export class ByteWriter {
  #buffer: Uint8Array;
  #view: DataView;
  #length = 0;
  constructor(capacity = 256) {
    this.#buffer = new Uint8Array(capacity);
    this.#view = new DataView(this.#buffer.buffer);
  }
  #room(n: number): number {
    const at = this.#length;
    if (at + n > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(this.#buffer.length * 2, at + n));
      grown.set(this.#buffer.subarray(0, at));
      this.#buffer = grown;
      this.#view = new DataView(grown.buffer);
    }
    this.#length += n;
    return at;
  }
  // #room may replace the buffer: take the offset first, then write to the current buffer.
  bytes(b: Uint8Array): this {
    const at = this.#room(b.length);
    this.#buffer.set(b, at);
    return this;
  }
  u8(n: number): this {
    const at = this.#room(1);
    this.#view.setUint8(at, n);
    return this;
  }
  u16(n: number): this {
    const at = this.#room(2);
    this.#view.setUint16(at, n);
    return this;
  }
  u32(n: number): this {
    const at = this.#room(4);
    this.#view.setUint32(at, n);
    return this;
  }
  /** An integer up to 2^53 - 1, as 8 bytes. */
  u64(n: number): this {
    const at = this.#room(8);
    this.#view.setUint32(at, Math.floor(n / 2 ** 32));
    this.#view.setUint32(at + 4, n >>> 0);
    return this;
  }
  /** u32 count · per author: id 32 · u32 count · per range: u64 start · u64 end. */
  ranges(authors: readonly [Uint8Array, readonly SeqRange[]][]): this {
    this.u32(authors.length);
    for (const [author, ranges] of authors) {
      this.bytes(author).u32(ranges.length);
      for (const [s, e] of ranges) this.u64(s).u64(e);
    }
    return this;
  }
  /** The bytes written (a view of the buffer: the writer is done). */
  finish(): Uint8Array {
    return this.#buffer.subarray(0, this.#length);
  }
}

/** Reads what {@link ByteWriter} wrote; throws WireError('malformed') on any shortfall. */
export class ByteReader {
  #at = 0;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  constructor(bytes: Uint8Array) {
    if (!(bytes instanceof Uint8Array)) throw new WireError('malformed', 'expected bytes');
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  #need(n: number): number {
    if (n > this.#bytes.length - this.#at) throw new WireError('malformed', 'message truncated');
    const at = this.#at;
    this.#at += n;
    return at;
  }
  get remaining(): number {
    return this.#bytes.length - this.#at;
  }
  u8(): number {
    return this.#view.getUint8(this.#need(1));
  }
  u16(): number {
    return this.#view.getUint16(this.#need(2));
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
  /** A copy of the next `n` bytes. */
  take(n: number): Uint8Array {
    const at = this.#need(n);
    return this.#bytes.slice(at, at + n);
  }
  /** A count, bounded by {@link MAX_ITEMS}. */
  count(): number {
    const n = this.u32();
    if (n > MAX_ITEMS) throw new WireError('malformed', 'too many items');
    return n;
  }
  /**
   * Ranges per author, as summaries carry them: each author once, its ranges ascending and
   * apart (each starts after the one before ends), so that reading them into a summary costs
   * their number, never its square.
   */
  ranges(): AuthorRanges {
    const authors: AuthorRanges = [];
    const seen = new Set<string>();
    for (let i = this.count(); i > 0; i--) {
      const author = this.take(32);
      const key = String.fromCharCode(...author);
      if (seen.has(key)) throw new WireError('malformed', 'an author is named twice');
      seen.add(key);
      const ranges: SeqRange[] = [];
      let last = -1;
      for (let j = this.count(); j > 0; j--) {
        const start = this.u64();
        const end = this.u64();
        if (end < start) throw new WireError('malformed', 'a range ends before it starts');
        if (start <= last) throw new WireError('malformed', 'ranges must be ascending and apart');
        last = end;
        ranges.push([start, end]);
      }
      authors.push([author, ranges]);
    }
    return authors;
  }
  rest(): Uint8Array {
    return this.take(this.remaining);
  }
  end(): void {
    if (this.remaining !== 0) throw new WireError('malformed', 'trailing bytes');
  }
}
