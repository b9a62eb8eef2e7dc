/**
 * Document summaries: per document, which sequence numbers of each author the store holds (a
 * {@link SeqRanges}), loaded from the store once, in order with the group's writes, and kept up
 * to date as envelopes are stored, so that a `have` is answered from memory. Kept in a cache
 * bounded by their number of ranges, least recently used dropped first.
 * @module
 */
import { SeqRanges } from '@sealdoc/protocol';
import { hex } from './bytes.js';
import { docKey, type Client } from './connection.js';
import type { Connections } from './connections.js';
import type { GroupLogs } from './groups.js';
import type { RelayLimits } from './limits.js';
import { WeightedLru } from './lru.js';
import type { RelayStore } from './store.js';

/** A document's summary (what the store holds, per author), once loaded. */
interface DocIndex {
  ranges: SeqRanges;
  ready: Promise<void>;
  loaded: boolean;
}

export class DocIndexes {
  // Document summaries by "group:doc", weighed by their ranges.
  readonly #indexes: WeightedLru<string, DocIndex>;

  constructor(
    readonly store: RelayStore,
    limits: RelayLimits,
    readonly groups: GroupLogs,
    readonly connections: Connections,
  ) {
    this.#indexes = new WeightedLru(limits.indexCacheRanges);
  }

  /** Document summaries held in memory now. */
  get size(): number {
    return this.#indexes.size;
  }

  /**
   * A document's summary: loaded from the store once (charged to `client`, in order with the
   * group's writes, so that none is missed), then kept up to date as envelopes are stored.
   */
  async get(groupId: Uint8Array, docId: Uint8Array, client: Client): Promise<SeqRanges> {
    const key = docKey(groupId, docId);
    let entry = this.#indexes.get(key);
    if (!entry) {
      let rows = 0;
      const created: DocIndex = {
        ranges: new SeqRanges(),
        loaded: false,
        ready: this.groups.serial(groupId, async () => {
          // In cursor order, sequence numbers may come in any order: sorted per author first.
          const index = await this.store.index(groupId, docId);
          created.ranges = SeqRanges.of(index.map((e) => [hex(e.author), e.seq] as const));
          rows = index.length;
          created.loaded = true;
        }),
      };
      entry = created;
      this.#indexes.set(key, entry, 1);
      created.ready.then(
        () => this.#indexes.reweigh(key, Math.max(1, created.ranges.rangeCount)),
        () => this.#indexes.get(key) === created && this.#indexes.delete(key),
      );
      await created.ready;
      // Charged outside the group's queue: paying for it holds up no one else.
      await this.connections.charge(client, rows);
    }
    await entry.ready;
    return entry.ranges;
  }

  /** Drops every summary (the store may hold envelopes this node was not told of): each is loaded again when next needed. */
  forgetAll(): void {
    this.#indexes.clear();
  }

  /**
   * Whether the summary of the document `key` ({@link docKey}), loaded and in memory, holds
   * `seq` of `author` (hex; a summary still loading waits behind the group's writes: it is not
   * waited for, and says no).
   */
  holds(key: string, author: string, seq: number): boolean {
    const index = this.#indexes.get(key);
    return index?.loaded === true && index.ranges.has(author, seq);
  }

  /** Records a stored envelope (`seq` of `author`, hex) in the summary of the document `key` ({@link docKey}), if that summary is kept. */
  indexed(key: string, author: string, seq: number): void {
    const entry = this.#indexes.get(key);
    if (!entry) return;
    // Loaded: recorded now, without a turn of the event loop.
    if (entry.loaded) return this.#record(key, entry, author, seq);
    void entry.ready.then(() => this.#record(key, entry, author, seq), () => undefined);
  }

  #record(key: string, entry: DocIndex, author: string, seq: number): void {
    const before = entry.ranges.rangeCount;
    entry.ranges.add(author, seq);
    if (entry.ranges.rangeCount !== before) this.#indexes.reweigh(key, entry.ranges.rangeCount);
  }
}
