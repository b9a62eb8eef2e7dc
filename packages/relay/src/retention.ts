/**
 * Retention: which envelopes of a document the relay may drop, given its index and the covers
 * attestations kept for its snapshots, and when it drops them. A snapshot's author attests,
 * signed, what the snapshot covers (a `covers` message); the relay checks it against the stored
 * snapshot, keeps what it says of the author's own envelopes, and runs retention for the
 * document soon after (at most every RETENTION_INTERVAL_MS).
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
import { readEnvelopeHeader, verifyMessage } from '@sealdoc/crypto';
import { ByteReader, ByteWriter, COVERS_CONTEXT, coversSignedBytes, SeqRanges, type SeqRange, type WireMessage } from '@sealdoc/protocol';
import { equalBytes, hex } from './bytes.js';
import { docKey, type Client } from './connection.js';
import type { DocIndexes } from './doc-index.js';
import type { GroupLogs } from './groups.js';
import { describe, Refusal, type RelayLog } from './report.js';
import type { IndexEntry, RelayStore } from './store.js';

// Retention runs for a document at most this often (and this long after the covers that asked for it).
const RETENTION_DELAY_MS = 50;
const RETENTION_INTERVAL_MS = 2000;

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

export class Retention {
  readonly #timers = new Map<string, { timer: ReturnType<typeof setTimeout> | undefined; last: number }>();
  /** Envelopes whose bytes retention dropped. */
  dropped = 0;

  /** `afterSnapshots`: RelayOptions.retention (undefined: keep everything). */
  constructor(
    readonly store: RelayStore,
    readonly groups: GroupLogs,
    readonly indexes: DocIndexes,
    readonly log: RelayLog,
    readonly afterSnapshots: number | undefined,
  ) {}

  /** Stops the timers of retention runs not started yet. */
  close(): void {
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  /**
   * A snapshot author's attestation of what the snapshot covers: checked against the stored
   * snapshot (its author's key under the log), kept, and retention scheduled for the document.
   */
  async covers(client: Client, message: Extract<WireMessage, { type: 'covers' }>): Promise<void> {
    const log = await this.groups.member(client, message.groupId);
    const ours = await this.indexes.get(message.groupId, message.docId, client);
    // After the group's pending writes: the snapshot pushed just before is stored by then.
    await this.groups.serial(message.groupId, async () => {
      const [stored] = await this.store.envelopesBySeq(message.groupId, message.docId, message.author, message.seq, message.seq, Number.MAX_SAFE_INTEGER, 1);
      if (!stored) throw new Refusal('unknown-snapshot', 'this relay holds no such snapshot');
      const header = readEnvelopeHeader(stored.bytes);
      if (header.kind !== 'snapshot') throw new Refusal('not-a-snapshot', 'covers are attested for snapshots only');
      // Its own sequence numbers before the snapshot's: nothing later can be covered.
      if (message.authors.some(([a, ranges]) => equalBytes(a, message.author) && ranges.some(([, end]) => end >= message.seq)))
        throw new Refusal('bad-covers', 'a snapshot cannot cover its author’s later envelopes');
      const signer = log.verifyContext().author(header);
      if (!signer || !(await verifyMessage(signer.signingPublicKey, COVERS_CONTEXT, coversSignedBytes(message), message.signature).catch(() => false)))
        throw new Refusal('bad-signature', 'the covers attestation is not signed by the snapshot’s author');
      // What retention acts on, and all that is kept: the author's own envelopes that the
      // snapshot covers and the relay holds (at most what the relay holds of the author).
      const claimed = message.authors.find(([a]) => equalBytes(a, message.author))?.[1] ?? [];
      const own = ours.intersect(hex(message.author), claimed);
      const attestation = new ByteWriter().ranges([[message.author, own]]).finish();
      if (await this.store.putCovers(message.groupId, message.docId, { author: message.author, seq: message.seq, attestation }))
        this.#schedule(client, message.groupId, message.docId);
    });
  }

  /** Runs retention for a document soon, at most once every RETENTION_INTERVAL_MS. */
  #schedule(client: Client, groupId: Uint8Array, docId: Uint8Array): void {
    if (this.afterSnapshots === undefined) return;
    const key = docKey(groupId, docId);
    const state = this.#timers.get(key) ?? { timer: undefined, last: 0 };
    this.#timers.set(key, state);
    if (state.timer !== undefined) return;
    const delay = Math.max(RETENTION_DELAY_MS, state.last + RETENTION_INTERVAL_MS - Date.now());
    state.timer = setTimeout(() => {
      state.timer = undefined;
      state.last = Date.now();
      void this.groups
        .serial(groupId, () => this.#retain(client, groupId, docId))
        .catch((error: unknown) => this.log({ event: 'error', connection: client.id, detail: `retention: ${describe(error)}` }))
        .finally(() => state.timer === undefined && Date.now() - state.last >= RETENTION_INTERVAL_MS && this.#timers.delete(key));
    }, delay);
  }

  /** Retention for one document: each author's envelopes that its own ripe snapshots cover are dropped. */
  async #retain(client: Client, groupId: Uint8Array, docId: Uint8Array): Promise<void> {
    const afterSnapshots = this.afterSnapshots!;
    const index = await this.store.index(groupId, docId);
    const cursorOf = new Map(index.map((e) => [`${hex(e.author)}:${e.seq}`, e.cursor]));
    const attested = (await this.store.covers(groupId, docId)).flatMap((c) => {
      const author = hex(c.author);
      const cursor = cursorOf.get(`${author}:${c.seq}`);
      if (cursor === undefined) return [];
      const own = SeqRanges.fromAuthorRanges(new ByteReader(c.attestation).ranges()).of(author);
      return [{ author, cursor, own }];
    });
    const drop = droppable(index, (e) => hex(e.author), attested, afterSnapshots);
    if (drop.length === 0) return;
    await this.store.dropEnvelopes(drop);
    this.dropped += drop.length;
    this.log({ event: 'retention', connection: client.id, count: drop.length });
  }
}
