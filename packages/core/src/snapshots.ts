/**
 * A sealed document's snapshots: the whole state sealed under the current epoch, naming the
 * sequence ranges it covers, so that newcomers read it without older keys and peers need not
 * send what it covers. Made every `snapshotEvery` envelopes and, by the admin who committed it,
 * after every epoch change (and again when an edit under an older epoch arrives late in a
 * since-join group). What a snapshot covers is also told to the peers, signed, for a relay
 * with retention.
 * @module
 */
import * as Y from 'yjs';
import { signMessage } from '@sealdoc/crypto';
import { COVERS_CONTEXT, coversSignedBytes } from '@sealdoc/protocol';
import type { DocBinding } from './binding.js';
import { hex } from './bytes.js';
import { encodeSnapshot, type SnapshotPayload } from './wire.js';

export class Snapshots {
  readonly #d: DocBinding;
  readonly #snapshotEvery: number;
  #sinceSnapshot = 0;
  #snapshotEpoch = -1;
  // An automatic snapshot that waited for the first resync.
  #snapshotOwed = false;

  constructor(d: DocBinding, snapshotEvery: number) {
    this.#d = d;
    this.#snapshotEvery = snapshotEvery;
  }

  /** See {@link SealedDoc.snapshot}. */
  async snapshot(): Promise<void> {
    const d = this.#d;
    const group = d.group;
    if (!d.readyToSeal()) return;
    // Everything applied: what is held, and what earlier snapshots (and the local state) cover.
    const covered = d.holdings.appliedRanges();
    const plaintext = encodeSnapshot({
      covers: covered.toAuthorRanges(),
      time: Date.now(),
      state: Y.encodeStateAsUpdate(d.doc),
    });
    this.#sinceSnapshot = 0;
    this.#snapshotEpoch = group.log.epoch;
    await d.outbox.sealAndSend(plaintext, 'snapshot');
  }

  /**
   * Tells the peers, signed, what this member's snapshot `seq` covers: the ranges are sealed
   * inside it, and a relay with retention needs them (peers ignore the message).
   */
  async attestCovers(seq: number, snapshot: SnapshotPayload): Promise<void> {
    const group = this.#d.group;
    const body = { groupId: group.groupId, docId: this.#d.docId, author: group.keys.memberId, seq, authors: snapshot.covers };
    const signature = await signMessage(group.keys, COVERS_CONTEXT, coversSignedBytes(body));
    this.#d.broadcast({ type: 'covers', ...body, signature });
  }

  /**
   * A snapshot this peer decided on by itself. On a device that has not sealed in the group yet,
   * not before the first resync settled: a new device of an existing member (a restore) learns
   * from the relay which sequence numbers its identity already used, and must not reuse one.
   */
  autoSnapshot(): void {
    if (this.#mayAutoSnapshot()) this.#d.background(this.snapshot());
    else this.#snapshotOwed = true;
  }

  #mayAutoSnapshot(): boolean {
    return !this.#d.transport || this.#d.sync.syncedOnce || this.#d.group._sequences.sealedHere;
  }

  countTowardsSnapshot(envelopes: number): void {
    this.#sinceSnapshot += envelopes;
    if (this.#snapshotEvery > 0 && envelopes > 0 && this.#sinceSnapshot >= this.#snapshotEvery) this.autoSnapshot();
  }

  /** The first resync settled: a snapshot that waited for it is made now. */
  sealOwed(): void {
    if (this.#snapshotOwed) {
      this.#snapshotOwed = false;
      this.#d.background(this.snapshot());
    }
  }

  /** The admin who started a new epoch seals the state under it, for those who just joined. */
  async epochChanged(): Promise<void> {
    if (this.#d.group.log.epoch > this.#snapshotEpoch && this.startedNewestEpoch() && this.#d.holdings.byId.size > 0) {
      if (this.#mayAutoSnapshot()) await this.snapshot();
      else this.#snapshotOwed = true;
    }
  }

  /** Whether this member committed the op that started the log's current epoch. */
  startedNewestEpoch(): boolean {
    const log = this.#d.group.log;
    const last = log.opAt(log.length - 1);
    return hex(last.author) === this.#d.group._me && last.epoch === log.epoch;
  }
}
