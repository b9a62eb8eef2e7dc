/**
 * Which (author, sequence number) pairs are held for one document, as sorted disjoint ranges
 * per author (each author a key, the hex of its member id): the summary peers and the relay exchange to find what the other lacks. Ranges
 * are compared as ranges, never enumerated (a peer may claim [0, 2^53)). Adding is a binary
 * search and at most one splice, so that a relay can keep a document's summary up to date
 * with every envelope it stores.
 * @module
 */
import type { AuthorRanges, SeqRange } from './codec.js';

// Authors are keyed by the lower-case hex of their member id (as @sealdoc/crypto's toHex
// writes it); the protocol depends on nothing, so it converts the ids a message carries itself.
const toHex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const fromHex = (hex: string): Uint8Array => Uint8Array.from({ length: hex.length >> 1 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));

export class SeqRanges {
  readonly #byAuthor = new Map<string, [number, number][]>();
  #ranges = 0;

  /**
   * The pairs `[author, seq]` and ranges `[author, start, end]` given, in any order: sorted
   * first, so that building costs n log n however they come.
   */
  static of(items: Iterable<readonly [author: string, start: number, end?: number]>): SeqRanges {
    const byAuthor = new Map<string, [number, number][]>();
    for (const [author, start, end] of items) (byAuthor.get(author) ?? byAuthor.set(author, []).get(author)!).push([start, end ?? start]);
    const out = new SeqRanges();
    for (const [author, ranges] of byAuthor) for (const [s, e] of ranges.sort((a, b) => a[0] - b[0])) out.addRange(author, s, e);
    return out;
  }

  /**
   * A summary as a wire message carries it (`have`, `covers`, `beacon`): each author once, its
   * ranges ascending and apart, as the decoder guarantees, so that reading it costs its size.
   */
  static fromAuthorRanges(authors: AuthorRanges): SeqRanges {
    const out = new SeqRanges();
    for (const [author, ranges] of authors) {
      const key = toHex(author);
      for (const [s, e] of ranges) out.addRange(key, s, e);
    }
    return out;
  }

  /**
   * The summary as a wire message carries it, with at most about `maxRanges` ranges: past it,
   * each author keeps its first ranges that fit and its last one (so that a device learns the
   * sequence numbers its identity used). Saying less than is held is safe: a peer sends what
   * it thinks is missing, and a copy stores nothing.
   */
  toAuthorRanges(maxRanges = Number.POSITIVE_INFINITY): AuthorRanges {
    const out: AuthorRanges = [];
    let budget = maxRanges;
    for (const [author, list] of this.#byAuthor) {
      const room = Math.max(1, budget);
      const kept = (list.length <= room ? list : [...list.slice(0, room - 1), list[list.length - 1]!]).map(([s, e]) => [s, e] as const);
      budget -= kept.length;
      out.push([fromHex(author), kept]);
    }
    return out;
  }

  /**
   * What of `ranges` (ascending and apart) of `author` is held here, in one pass over both:
   * ranges, never enumerated.
   */
  intersect(author: string, ranges: readonly SeqRange[]): SeqRange[] {
    const held = this.#byAuthor.get(author) ?? [];
    const out: SeqRange[] = [];
    for (let i = 0, j = 0; i < ranges.length && j < held.length; ) {
      const start = Math.max(ranges[i]![0], held[j]![0]);
      const end = Math.min(ranges[i]![1], held[j]![1]);
      if (start <= end) out.push([start, end]);
      if (ranges[i]![1] < held[j]![1]) i++;
      else j++;
    }
    return out;
  }

  /** Every range held, as `[author, start, end]`. */
  *ranges(): Generator<[author: string, start: number, end: number]> {
    for (const [author, ranges] of this.#byAuthor) for (const [s, e] of ranges) yield [author, s, e];
  }

  /** Index of the first range of `ranges` that ends at or after `seq` (ranges.length if none). */
  static #firstEndingFrom(ranges: readonly [number, number][], seq: number): number {
    let lo = 0;
    let hi = ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ranges[mid]![1] < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Whether `seq` of `author` (hex member id) is held. */
  has(author: string, seq: number): boolean {
    const ranges = this.#byAuthor.get(author);
    if (!ranges) return false;
    const r = ranges[SeqRanges.#firstEndingFrom(ranges, seq)];
    return r !== undefined && r[0] <= seq;
  }

  /** Records `seq` of `author`; returns false when it was already held. */
  add(author: string, seq: number): boolean {
    if (this.has(author, seq)) return false;
    this.addRange(author, seq, seq);
    return true;
  }

  /** Records every sequence number from `start` to `end` of `author`, without enumerating them. */
  addRange(author: string, start: number, end: number): void {
    if (end < start) return;
    let ranges = this.#byAuthor.get(author);
    if (!ranges) {
      ranges = [];
      this.#byAuthor.set(author, ranges);
    }
    // The common case, in order: extend or append the last range.
    const last = ranges[ranges.length - 1];
    if (!last || start > last[1] + 1) {
      ranges.push([start, end]);
      this.#ranges++;
      return;
    }
    // Every range that touches [start - 1, end + 1] folds into one.
    const first = SeqRanges.#firstEndingFrom(ranges, start - 1);
    let stop = first;
    let s = start;
    let e = end;
    while (stop < ranges.length && ranges[stop]![0] <= end + 1) {
      s = Math.min(s, ranges[stop]![0]);
      e = Math.max(e, ranges[stop]![1]);
      stop++;
    }
    ranges.splice(first, stop - first, [s, e]);
    this.#ranges += 1 - (stop - first);
  }

  /** Forgets `seq` of `author`. */
  delete(author: string, seq: number): void {
    const ranges = this.#byAuthor.get(author);
    if (!ranges) return;
    const i = SeqRanges.#firstEndingFrom(ranges, seq);
    const r = ranges[i];
    if (!r || r[0] > seq) return;
    const [s, e] = r;
    const pieces: [number, number][] = [];
    if (s < seq) pieces.push([s, seq - 1]);
    if (seq < e) pieces.push([seq + 1, e]);
    ranges.splice(i, 1, ...pieces);
    this.#ranges += pieces.length - 1;
    if (ranges.length === 0) this.#byAuthor.delete(author);
  }

  /** Whether every sequence number from `start` to `end` of `author` is held. */
  covers(author: string, start: number, end: number): boolean {
    const ranges = this.#byAuthor.get(author);
    if (!ranges) return false;
    const r = ranges[SeqRanges.#firstEndingFrom(ranges, end)];
    return r !== undefined && r[0] <= start;
  }

  /** The ranges of `author` (hex) held here, ascending. */
  of(author: string): readonly SeqRange[] {
    return this.#byAuthor.get(author) ?? [];
  }

  /** The authors (hex) with their ranges. */
  entries(): [string, readonly SeqRange[]][] {
    return [...this.#byAuthor].map(([a, r]) => [a, r.map(([s, e]) => [s, e] as const)]);
  }

  /**
   * What is held here and not in `other`, as ranges per author (hex), in order: what a peer
   * that holds `other` lacks. Costs the number of ranges on both sides, never their length.
   */
  *missingFrom(other: SeqRanges): Generator<[author: string, start: number, end: number]> {
    for (const [author, ranges] of this.#byAuthor) {
      const theirs = other.#byAuthor.get(author) ?? [];
      let j = 0;
      for (const [start, end] of ranges) {
        let s = start;
        while (j < theirs.length && theirs[j]![1] < s) j++;
        let k = j;
        while (s <= end) {
          const t = theirs[k];
          if (!t || t[0] > end) {
            yield [author, s, end];
            break;
          }
          if (t[0] > s) yield [author, s, t[0] - 1];
          s = Math.max(s, t[1] + 1);
          k++;
        }
      }
    }
  }

  /** Number of ranges held (what the summary costs to keep and to send). */
  get rangeCount(): number {
    return this.#ranges;
  }

  /** Number of pairs held. */
  get size(): number {
    let n = 0;
    for (const ranges of this.#byAuthor.values()) for (const [s, e] of ranges) n += e - s + 1;
    return n;
  }
}
