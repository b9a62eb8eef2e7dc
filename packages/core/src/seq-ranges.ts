/**
 * Which (author, sequence number) pairs a peer holds for one document, as sorted disjoint
 * ranges per author: the summary peers exchange to find what the other lacks.
 * @module
 */

import type { SeqRange } from '@sealdoc/protocol';

export class SeqRanges {
  readonly #byAuthor = new Map<string, [number, number][]>();

  /** Whether `seq` of `author` (hex member id) is held. */
  has(author: string, seq: number): boolean {
    const ranges = this.#byAuthor.get(author);
    if (!ranges) return false;
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [s, e] = ranges[mid]!;
      if (seq < s) hi = mid - 1;
      else if (seq > e) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** Records `seq` of `author`; returns false when it was already held. */
  add(author: string, seq: number): boolean {
    if (this.has(author, seq)) return false;
    this.addRange(author, seq, seq);
    return true;
  }

  /** Records every sequence number from `start` to `end` of `author`, without enumerating them. */
  addRange(author: string, start: number, end: number): void {
    const ranges = this.#byAuthor.get(author) ?? [];
    this.#byAuthor.set(author, ranges);
    // Keep the ranges that end before `start - 1` or begin after `end + 1`; fold the rest in.
    const kept: [number, number][] = [];
    let s = start;
    let e = end;
    for (const r of ranges) {
      if (r[1] < s - 1 || r[0] > e + 1) kept.push(r);
      else {
        s = Math.min(s, r[0]);
        e = Math.max(e, r[1]);
      }
    }
    kept.push([s, e]);
    kept.sort((a, b) => a[0] - b[0]);
    this.#byAuthor.set(author, kept);
  }

  /** Forgets `seq` of `author`. */
  delete(author: string, seq: number): void {
    const ranges = this.#byAuthor.get(author);
    if (!ranges) return;
    const i = ranges.findIndex(([s, e]) => s <= seq && seq <= e);
    if (i < 0) return;
    const [s, e] = ranges[i]!;
    const pieces: [number, number][] = [];
    if (s < seq) pieces.push([s, seq - 1]);
    if (seq < e) pieces.push([seq + 1, e]);
    ranges.splice(i, 1, ...pieces);
  }

  /** Whether every sequence number from `start` to `end` of `author` is held. */
  covers(author: string, start: number, end: number): boolean {
    const ranges = this.#byAuthor.get(author);
    return !!ranges?.some(([s, e]) => s <= start && end <= e);
  }

  /** The authors (hex) with their ranges. */
  entries(): [string, readonly SeqRange[]][] {
    return [...this.#byAuthor].map(([a, r]) => [a, r.map(([s, e]) => [s, e] as const)]);
  }

  /** Number of pairs held. */
  get size(): number {
    let n = 0;
    for (const ranges of this.#byAuthor.values()) for (const [s, e] of ranges) n += e - s + 1;
    return n;
  }
}
