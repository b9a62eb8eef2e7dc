/**
 * Internal byte helpers: validation at the boundary, constant-time comparison, wiping,
 * big-endian integers and a bounds-checked reader for the binary formats.
 * @module
 */
import { CryptoInputError } from './errors.js';

/** Throws CryptoInputError unless `value` is a Uint8Array (of `length`, when given). */
export function _bytes(value: unknown, name: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new CryptoInputError(`${name} must be a Uint8Array`);
  if (length !== undefined && value.length !== length)
    throw new CryptoInputError(`${name} must be ${length} bytes, got ${value.length}`);
  return value;
}

/** Throws CryptoInputError unless `value` is an integer in [min, max]. */
export function _int(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    throw new CryptoInputError(`${name} must be an integer in [${min}, ${max}]`);
  return value;
}

export function _concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Whether two byte arrays are equal, in time that depends only on the lengths, never on the contents. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** @internal The same, under the package's internal naming. */
export const _equal = equalBytes;

/** Overwrites secrets that are no longer needed. JS cannot promise no copy survives elsewhere. */
export function _wipe(...arrays: (Uint8Array | undefined)[]): void {
  for (const a of arrays) a?.fill(0);
}

const encoder = new TextEncoder();
export function _utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function _u16(n: number): Uint8Array {
  return new Uint8Array([(n >>> 8) & 0xff, n & 0xff]);
}

export function _u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

/** Encodes a non-negative safe integer as 8 bytes big-endian. */
export function _u64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(n / 2 ** 32));
  view.setUint32(4, n >>> 0);
  return out;
}

// ASCII codes of each byte's two hex digits, and a decoder that makes one string of them.
const HEX_DIGITS = new TextEncoder().encode('0123456789abcdef');
const latin1 = new TextDecoder('latin1');

// Where the digits are written before they are decoded: reused (decode copies them into the
// string at once), so an id's hex costs no buffer of its own; a longer input gets one of its own.
const scratch = new Uint8Array(256);

/**
 * Lower-case hex of `bytes` (ids as map keys, storage keys, logs). One string allocation: ids
 * are turned to hex several times per envelope (a relay's push, nine times), and a string per
 * digit, or a buffer per call, was garbage paid for each time.
 */
export function toHex(bytes: Uint8Array): string {
  const length = bytes.length * 2;
  const codes = length <= scratch.length ? scratch : new Uint8Array(length);
  for (let i = 0; i < bytes.length; i++) {
    codes[2 * i] = HEX_DIGITS[bytes[i]! >> 4]!;
    codes[2 * i + 1] = HEX_DIGITS[bytes[i]! & 15]!;
  }
  return latin1.decode(codes.subarray(0, length));
}

/** @internal The same, under the package's internal naming. */
export const _hex = toHex;

/** The bytes of hex text (either case); throws CryptoInputError for anything else. */
export function fromHex(text: string): Uint8Array {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) throw new CryptoInputError('not hex text');
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Reads a binary format front to back; every read is bounds-checked and a short input
 * calls `fail`, which must throw the format's own typed error.
 */
export class _Reader {
  private offset = 0;
  private readonly view: DataView;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly fail: (why: string) => never,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get position(): number {
    return this.offset;
  }
  get remaining(): number {
    return this.bytes.length - this.offset;
  }
  private need(n: number): number {
    if (n > this.remaining) this.fail(`truncated: needed ${n} more bytes, ${this.remaining} left`);
    const at = this.offset;
    this.offset += n;
    return at;
  }
  u8(): number {
    return this.view.getUint8(this.need(1));
  }
  u16(): number {
    return this.view.getUint16(this.need(2));
  }
  u32(): number {
    return this.view.getUint32(this.need(4));
  }
  /**
   * Reads 8 bytes big-endian; values past `max` (2^53 - 1 by default; at most 2^53, the
   * largest integer a number holds exactly) are refused.
   */
  u64(max: number = Number.MAX_SAFE_INTEGER): number {
    const at = this.need(8);
    const hi = this.view.getUint32(at);
    const lo = this.view.getUint32(at + 4);
    // Compared as two halves: past 2^53 a number no longer tells neighbours apart.
    const maxHi = Math.floor(max / 2 ** 32);
    if (hi > maxHi || (hi === maxHi && lo > max % 2 ** 32)) this.fail(`a 64-bit field exceeds ${max}`);
    return hi * 2 ** 32 + lo;
  }
  /** A view into the input, not a copy. */
  take(n: number): Uint8Array {
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }
  end(): void {
    if (this.remaining !== 0) this.fail(`${this.remaining} trailing bytes`);
  }
}
