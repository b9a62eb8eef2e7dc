/**
 * What a sealed document holds on this peer: its envelopes by id ("author:seq": sealed here,
 * received, or read from the store), its `have` summary, what the snapshots (and the local
 * state) it applied cover, and the snapshot held that covers most, which peers that lack it
 * are sent instead of what it covers.
 * @module
 */
import { readEnvelopeHeader, type EnvelopeHeader } from '@sealdoc/crypto';
import { SeqRanges } from '@sealdoc/protocol';
import { hex } from './bytes.js';
import type { Group } from './group.js';
import type { SnapshotPayload } from './wire.js';

/** An envelope's id: its author (hex) and sequence number, "author:seq". */
export const heldId = (author: string, seq: number): string => `${author}:${seq}`;

/** "author:seq" -> [author, seq] */
export const splitId = (id: string): [author: string, seq: number] => {
  const colon = id.indexOf(':');
  return [id.slice(0, colon), Number(id.slice(colon + 1))];
};

/** An envelope, with its header read. */
export interface Held {
  header: EnvelopeHeader;
  bytes: Uint8Array;
}

export class Holdings {
  readonly #group: Group;
  readonly byId = new Map<string, Held>(); // "author:seq" -> envelope
  // What this peer holds (or has settled as never readable here): its `have` summary. Parked
  // envelopes are not in it: an envelope is counted as held only once it was checked.
  readonly known = new SeqRanges();
  // What the snapshots applied here cover, together.
  readonly covered = new SeqRanges();
  // The snapshot held that covers most, and what it covers: sent instead of those envelopes.
  best: { id: string; covers: SeqRanges; size: number } | undefined;

  constructor(group: Group) {
    this.#group = group;
  }

  /**
   * Records an envelope as held (stored already, or not to be); returns its id. `header`, when
   * given, is the envelope's own, as parsed already (the inbox and the outbox have it).
   */
  hold(bytes: Uint8Array, unsent = false, header = readEnvelopeHeader(bytes)): string {
    const author = hex(header.author);
    const id = heldId(author, header.seq);
    this.byId.set(id, { header, bytes });
    if (!unsent) this.known.add(author, header.seq);
    this.#group._sequences.observe(author, header.seq);
    return id;
  }

  /** What this peer holds (its `have` summary), as (author, start, end) triples. */
  knownRanges(): (readonly [string, number, number])[] {
    return this.known.entries().flatMap(([author, ranges]) => ranges.map(([s, e]) => [author, s, e] as const));
  }

  /** What this peer applied: what it holds, and what the snapshots (and the local state) it applied cover. */
  appliedRanges(): SeqRanges {
    return SeqRanges.of([...this.covered.ranges(), ...[...this.byId.keys()].map(splitId)]);
  }

  /** Counts `ranges` as held and covered (by a snapshot, or by the local state). */
  cover(ranges: SeqRanges): void {
    for (const [author, r] of ranges.entries()) {
      for (const [s, e] of r) {
        this.known.addRange(author, s, e);
        this.covered.addRange(author, s, e);
      }
    }
  }

  /**
   * Counts what a snapshot covers as known, and remembers the one that covers most. A
   * snapshot's author vouches only for its own envelopes (before the snapshot): a writer whose
   * snapshot claims others' envelopes it does not hold must not stop this peer from fetching
   * them. Others' envelopes are fetched and applied as they are (Yjs skips what it has).
   */
  noteSnapshot(id: string, snapshot: SnapshotPayload): void {
    const [author, seq] = splitId(id);
    const covers = new SeqRanges();
    for (const [a, ranges] of snapshot.covers) {
      if (hex(a) !== author) continue;
      for (const [s, e] of ranges) if (s < seq) covers.addRange(author, s, Math.min(e, seq - 1));
    }
    // What it covers need not be sent here; what was parked of it is settled by it.
    this.cover(covers);
    const size = covers.size;
    if (!this.best || size >= this.best.size) this.best = { id, covers, size };
  }

  /**
   * Envelopes held in memory (sealed here, received, or read from the store), in no
   * particular order.
   */
  envelopes(): Uint8Array[] {
    return [...this.byId.values()].map((h) => h.bytes);
  }
}
