/**
 * Retention: which envelopes of a document the relay may drop, given its index and the covers
 * attestations kept for its snapshots.
 *
 * Whose word counts: a snapshot's author vouches only for its own envelopes. A writer whose
 * snapshot claims to cover other members' envelopes it does not hold would otherwise make the
 * relay drop honest edits; so an envelope is dropped only when a snapshot by the same author,
 * followed by `afterSnapshots` later snapshots of the document, attests that it covers it. A
 * lying author can thereby lose only its own edits (which it could have deleted anyway), and
 * every author's newest snapshot that no later one of its own covers is kept, so whatever was
 * dropped is still held by a snapshot.
 * @module
 */
import { SeqRanges, type SeqRange } from '@sealdoc/protocol';
import type { IndexEntry } from './store.js';

/** A verified covers attestation: the snapshot it is for, and what it says of its author's own envelopes. */
export interface Attested {
  /** Hex of the snapshot's author. */
  author: string;
  /** The snapshot's cursor. */
  cursor: number;
  /** The author's own sequence ranges the snapshot covers. */
  own: readonly SeqRange[];
}

/** The cursors to drop: envelopes not dropped yet that a ripe snapshot of their own author covers. */
export function droppable(index: readonly IndexEntry[], authorOf: (entry: IndexEntry) => string, attested: readonly Attested[], afterSnapshots: number): number[] {
  const sorted = [...attested].sort((a, b) => a.cursor - b.cursor);
  const ripe = sorted.slice(0, Math.max(0, sorted.length - afterSnapshots));
  if (ripe.length === 0) return [];
  const covered = SeqRanges.of(ripe.flatMap(({ author, own }) => own.map(([s, t]) => [author, s, t] as const)));
  return index.filter((e) => !e.dropped && covered.has(authorOf(e), e.seq)).map((e) => e.cursor);
}
