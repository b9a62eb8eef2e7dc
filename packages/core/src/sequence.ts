/**
 * Sequence numbers in one group: this device's, handed out dense and never reused (the counter
 * persisted before one is handed out, or in the same storage transaction as the envelope that
 * uses it: {@link Sequences.take}), and the highest seen from each author (a device). Sequence
 * numbers are per group, not per document, because a removal's cutoff is one number per
 * device and group. Numbers this device's key used elsewhere (the same identity key on two
 * stores, or before a restore of the store) are never handed out here.
 * @module
 */
import { hex } from './bytes.js';
import type { Storage, StorageWrite } from './storage.js';
import { seqKey } from './storage-keys.js';

export class Sequences {
  readonly #storage: Storage | undefined;
  readonly #key: string[];
  readonly #me: string;
  #nextSeq: number | undefined;
  #seqLoaded = false;
  #seqQueue: Promise<unknown> = Promise.resolve();
  // Whether this device handed out a sequence number of this group in this session.
  #handedOut = false;
  // The highest sequence number of this member known to be used on another device (or before a restore).
  #usedElsewhere = -1;
  // The highest sequence number seen from each author (hex), for removal cutoffs.
  readonly #highestSeen = new Map<string, number>();

  /** `group`, `me` and `person`: hex of the group's id, of this device's and of its person's. */
  constructor(storage: Storage | undefined, group: string, me: string, person: string) {
    this.#storage = storage;
    this.#key = seqKey(group, me === person ? undefined : me);
    this.#me = me;
  }

  /** This member's next sequence number (see Group.nextSeq), the counter saved before it is handed out. */
  async next(): Promise<number> {
    return (await this.take(undefined)).seq;
  }

  /**
   * This member's next sequence number, for an envelope to be written to `storage`. When that
   * is this group's storage, the counter is not saved here: `counter()` is the write that saves
   * it, to be built right before the storage write of the envelope and written with it, in one
   * transaction (one storage write a keystroke, not two). Nothing with the number is stored or
   * sent without the counter then, and a write built later carries a counter at least as high
   * (storage transactions commit in the order they are made). Otherwise (another storage, or
   * none) the counter is saved before the number is handed out and `counter()` is empty.
   */
  take(storage: Storage | undefined): Promise<{ seq: number; counter: () => StorageWrite[] }> {
    const run = this.#seqQueue.then(async () => {
      if (!this.#seqLoaded) {
        const stored = await this.#storage?.load(this.#key);
        this.#nextSeq = Math.max(this.#nextSeq ?? 0, stored ? new DataView(stored.buffer, stored.byteOffset).getFloat64(0) : 0);
        this.#seqLoaded = true;
      }
      const seq = this.#nextSeq!;
      this.#nextSeq = seq + 1;
      this.#handedOut = true;
      const joined = this.#storage !== undefined && storage === this.#storage;
      if (this.#storage && !joined) await this.#storage.write(this.#counterWrite());
      return { seq, counter: () => (joined ? this.#counterWrite() : []) };
    });
    this.#seqQueue = run.catch(() => undefined);
    return run;
  }

  /** The write that saves the counter as it is now (the next number this device would hand out). */
  #counterWrite(): StorageWrite[] {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setFloat64(0, this.#nextSeq ?? 0);
    return [{ op: 'save', key: this.#key, data: out }];
  }

  /**
   * Whether this device has sealed in this group in this session: if not, it may be a new
   * device of an identity used elsewhere, whose used sequence numbers it has yet to learn.
   */
  get sealedHere(): boolean {
    return this.#handedOut;
  }

  /**
   * Notes that this member's sequence number `seq` was used on another device (its envelope
   * came from a peer, or the relay holds it): never handed out again here, and what this
   * device sealed with it, unsent, is sealed again with a new one.
   */
  noteUsedElsewhere(seq: number): void {
    this.#usedElsewhere = Math.max(this.#usedElsewhere, seq);
    this.observe(this.#me, seq);
  }

  /** The next sequence number as far as this device knows now (0 before any). */
  get nextHint(): number {
    return this.#nextSeq ?? 0;
  }

  /** The highest of this member's sequence numbers used on another device, or -1. */
  get usedElsewhere(): number {
    return this.#usedElsewhere;
  }

  /** Notes a sequence number seen in an envelope of `author` (hex): see Group.observeSeq. */
  observe(author: string, seq: number): void {
    this.#highestSeen.set(author, Math.max(this.#highestSeen.get(author) ?? -1, seq));
    if (author === this.#me) this.#nextSeq = Math.max(this.#nextSeq ?? 0, seq + 1);
  }

  /** The highest sequence number seen from `memberId`, or null. */
  highestSeen(memberId: Uint8Array): number | null {
    return this.#highestSeen.get(hex(memberId)) ?? null;
  }
}
