/**
 * Subscriptions and fan-out: a client subscribes to a document from a cursor and gets what the
 * store holds after it (page by page, as its queue allows), then `caught-up`, then every new
 * envelope as it is stored, here or on another node; its `have` is answered as a peer would
 * (the ops and envelopes it lacks, and our summary). New ops go to the group's subscribers;
 * frames that are never stored (presence, beacons) to the document's. A subscriber whose queue
 * is full gets nothing live: it catches up from the store, by cursor, once it drains.
 * @module
 */
import { encodeWire, SeqRanges, type WireMessage } from '@sealdoc/protocol';
import { hex, unhex } from './bytes.js';
import { docKey, type Client, type Subscription } from './connection.js';
import type { Connections } from './connections.js';
import type { DocIndexes } from './doc-index.js';
import { OPS_FRAME_BYTES, type GroupLogs } from './groups.js';
import { Refusal } from './report.js';
import type { RelayStore, StoreEvent } from './store.js';
import { DocSubscribers } from './subscribers.js';

const PAGE = 64;
// Subscriptions to groups not known yet (their creator's ops may be on their way), per connection.
const MAX_WAITING_SUBSCRIPTIONS = 64;
// A `have` answer names at most this many ranges.
const MAX_SUMMARY_RANGES = 100_000;

export class Subscriptions {
  /** Envelopes sent on subscriptions. */
  delivered = 0;
  /** Each document's subscribers, in step with the connections' own subscriptions. */
  readonly #subscribers = new DocSubscribers();

  constructor(
    readonly store: RelayStore,
    readonly connections: Connections,
    readonly groups: GroupLogs,
    readonly indexes: DocIndexes,
  ) {}

  async subscribe(client: Client, groupId: Uint8Array, docId: Uint8Array, cursor: number): Promise<void> {
    const { limits } = this.connections;
    const key = docKey(groupId, docId);
    if (!client.subscriptions.has(key) && client.subscriptions.size >= limits.subscriptionsPerConnection)
      throw new Refusal('quota-exceeded', `one connection subscribes to ${limits.subscriptionsPerConnection} documents at most`);
    const standing = await this.groups.standing(client, groupId);
    if (standing === 'not-a-member') throw new Refusal('not-a-member', 'you are not a member of this group');
    // A group not created yet (its creator's ops may be on their way): the subscription waits for it.
    const waiting = standing === 'unknown-group';
    if (waiting && [...client.subscriptions.values()].filter((s) => s.waiting).length >= MAX_WAITING_SUBSCRIPTIONS)
      throw new Refusal('quota-exceeded', `one connection waits for ${MAX_WAITING_SUBSCRIPTIONS} unknown groups at most`);
    // Gone while its standing was looked up: nothing to keep for it.
    if (client.closed) return;
    const subscription: Subscription = { groupId, docId, from: cursor, sent: cursor, lagging: true, pumping: false, waiting, answered: new SeqRanges(), missed: undefined };
    client.subscriptions.set(key, subscription);
    this.#subscribers.add(key, client);
    // The backlog after the cursor comes from the store, page by page, then live.
    if (!waiting) await this.#pump(client, subscription);
  }

  unsubscribe(client: Client, groupId: Uint8Array, docId: Uint8Array): void {
    const key = docKey(groupId, docId);
    client.subscriptions.delete(key);
    this.#subscribers.remove(key, client);
  }

  /** A connection is gone: it leaves its documents' subscribers. */
  forget(client: Client): void {
    this.#subscribers.forget(client);
  }

  /** Sends a lagging subscription what the store holds after what it was sent, while the queue allows. */
  async #pump(client: Client, s: Subscription): Promise<void> {
    if (s.pumping) return;
    s.pumping = true;
    try {
      while (s.lagging && !client.closed && client.subscriptions.get(docKey(s.groupId, s.docId)) === s) {
        if (!client.hasRoom) return this.connections.watchDrain();
        // From what was sent, or from below an envelope it was told of under what was sent
        // (#behind); what it is sent again it ignores. One told during the read is read again.
        const after = s.missed === undefined ? s.sent : Math.min(s.sent, s.missed - 1);
        s.missed = undefined;
        const page = await this.store.envelopesAfter(s.groupId, s.docId, after, PAGE);
        await this.connections.charge(client, page.length);
        for (const e of page) {
          if (!client.hasBulkRoom) {
            if (e.cursor <= s.sent) s.missed = Math.min(s.missed ?? e.cursor, e.cursor);
            return this.connections.watchDrain();
          }
          this.#deliver(client, s, e.cursor, e.bytes, true);
        }
        if (page.length < PAGE && s.missed === undefined) {
          s.lagging = false;
          this.connections.send(client, { type: 'caught-up', groupId: s.groupId, docId: s.docId, cursor: s.sent });
        }
      }
    } finally {
      s.pumping = false;
    }
  }

  /**
   * A subscription falls behind at the envelope of `cursor`: it catches up from the store, in
   * order, once its queue drains (#pump), and the catch-up reads the store again for it. On
   * several relay nodes cursors commit out of order, so the envelope may come after one with a
   * larger cursor was sent (the catch-up then starts below it, not from what was sent), or after
   * a catch-up under way read the store (its answer may lack it).
   */
  #behind(s: Subscription, cursor: number): void {
    s.lagging = true;
    s.missed = Math.min(s.missed ?? cursor, cursor);
    this.connections.watchDrain();
  }

  /** Sends one stored envelope on a subscription: live, or as part of a bulk answer (`bulk`); `frame`: its deliver frame, when already encoded. */
  #deliver(client: Client, s: Subscription, cursor: number, envelope: Uint8Array, bulk: boolean, frame?: Uint8Array): void {
    const encoded = frame ?? encodeWire({ type: 'deliver', groupId: s.groupId, docId: s.docId, cursor, envelope });
    if (bulk) client.queueBulk(encoded);
    else client.queue(encoded);
    s.sent = Math.max(s.sent, cursor);
    this.delivered++;
  }

  /** A client drained (Connections' `drained` hook): the ops it is owed are sent, its lagging subscriptions catch up. */
  resume(client: Client): void {
    for (const [key, owed] of client.opsOwed) {
      client.opsOwed.delete(key);
      void this.groups
        .group(owed.groupId)
        .then((log) => log && this.groups.sendOps(client, owed.groupId, log, owed.fromIndex))
        .catch((error: unknown) => this.connections.internal(client, error));
    }
    for (const s of client.subscriptions.values()) if (s.lagging && !s.waiting) void this.#pump(client, s).catch((error: unknown) => this.connections.internal(client, error));
  }

  /** Sends a stored envelope to every subscriber of its document (but `except`); `key`: the document's {@link docKey}, when the caller has it. */
  fanOut(groupId: Uint8Array, docId: Uint8Array, cursor: number, bytes: Uint8Array, except?: Client, key = docKey(groupId, docId)): void {
    // One frame for every subscriber.
    const frame = encodeWire({ type: 'deliver', groupId, docId, cursor, envelope: bytes });
    for (const client of this.#subscribers.of(key)) {
      const s = client.subscriptions.get(key);
      if (!s || s.waiting || client === except || client.closed) continue;
      if (s.lagging || client.backlog > this.connections.limits.highWaterBytes) {
        this.#behind(s, cursor);
        continue;
      }
      // Whatever its cursor: on several nodes, another node's later cursor may have reached this
      // subscriber first (storedElsewhere); a copy it holds already it ignores.
      this.#deliver(client, s, cursor, bytes, false, frame);
    }
  }

  /**
   * An envelope another node stored: it is recorded in its document's summary and sent to the
   * subscribers here whatever its cursor (another node's transaction may commit after one with
   * a larger cursor; a subscriber already sent it just ignores the copy).
   */
  async storedElsewhere(event: Extract<StoreEvent, { type: 'envelope' }>): Promise<void> {
    const key = docKey(event.groupId, event.docId);
    this.indexes.indexed(key, hex(event.author), event.seq);
    if (this.#subscribers.of(key).size === 0) return;
    const [stored] = await this.store.envelopesAt([event.cursor]);
    if (!stored) return;
    for (const client of this.#subscribers.of(key)) {
      const s = client.subscriptions.get(key);
      if (!s || s.waiting || client.closed) continue;
      if (s.lagging || !client.hasRoom) this.#behind(s, stored.cursor);
      else this.#deliver(client, s, stored.cursor, stored.bytes, false);
    }
  }

  /** Passes a frame that is never stored (presence, a beacon) to the document's subscribers (but `from`, who sent it) that have room for it. */
  forward(from: Client | undefined, groupId: Uint8Array, docId: Uint8Array, frame: Uint8Array): void {
    const key = docKey(groupId, docId);
    for (const other of this.#subscribers.of(key)) if (other !== from && !other.closed && other.backlog <= this.connections.limits.highWaterBytes) other.queue(frame);
  }

  /**
   * Answers a document's `have` as a peer: the ops it lacks, the envelopes it lacks at or below
   * the cursor it subscribed from (above it, its subscription sends them), and (to a request)
   * our own summary. Costs what it sends, and the rows it reads are charged to the client.
   */
  async have(client: Client, message: Extract<WireMessage, { type: 'have' }>): Promise<void> {
    if ((await this.groups.standing(client, message.groupId)) === 'unknown-group') {
      // Unknown here: an empty log and nothing held, so that its creator sends the ops.
      if (!message.reply) this.connections.send(client, { type: 'have', reply: true, groupId: message.groupId, docId: message.docId, logLength: 0, authors: [] });
      return;
    }
    const log = await this.groups.member(client, message.groupId);
    const s = client.subscriptions.get(docKey(message.groupId, message.docId));
    if (!s) throw new Refusal('not-subscribed', 'subscribe to the document before saying what you hold of it');
    if (message.logLength < log.length) await this.groups.sendOps(client, message.groupId, log, message.logLength);
    const ours = await this.indexes.get(message.groupId, message.docId, client);
    if (s.from > 0) {
      // Each set is built in order (the decoder refuses unordered ranges), so each costs its size.
      const theirs = SeqRanges.fromAuthorRanges(message.authors);
      const lacking = new SeqRanges();
      for (const [author, a, b] of ours.missingFrom(theirs)) lacking.addRange(author, a, b);
      for (const [author, start, end] of [...lacking.missingFrom(s.answered)]) {
        s.answered.addRange(author, start, end);
        for (let from = start; from <= end && !client.closed; ) {
          await client.room(true);
          const page = await this.store.envelopesBySeq(message.groupId, message.docId, unhex(author), from, end, s.from, PAGE);
          await this.connections.charge(client, Math.max(1, page.length));
          for (const e of page) this.#deliver(client, s, e.cursor, e.bytes, true);
          if (page.length < PAGE) break;
          from = page[page.length - 1]!.seq + 1;
        }
      }
    }
    if (!message.reply)
      this.connections.send(client, { type: 'have', reply: true, groupId: message.groupId, docId: message.docId, logLength: log.length, authors: ours.toAuthorRanges(MAX_SUMMARY_RANGES) });
  }

  /**
   * Tells the group's subscribers (but `except`, who sent them) the ops from `fromIndex`; those
   * removed lose their subscriptions, those that waited for the group to exist start receiving.
   * A subscriber with no room gets them once it drains; one whose log is further behind asks
   * with its `have`.
   */
  announceOps(groupId: Uint8Array, fromIndex: number, except?: Client): void {
    void this.groups.group(groupId).then((log) => {
      if (!log) return;
      const gk = hex(groupId);
      // The new ops in one frame, encoded once for every subscriber (when they fit in one).
      let bytes = 0;
      for (let i = fromIndex; i < log.length && bytes <= OPS_FRAME_BYTES; i++) bytes += log.opByteLength(i);
      const fresh = bytes <= OPS_FRAME_BYTES ? [encodeWire({ type: 'ops', groupId, fromIndex, ops: log.ops(fromIndex) })] : undefined;
      const send = async (client: Client) => {
        for (const frame of fresh ?? this.groups.opsPages(groupId, log, fromIndex)) {
          await client.room();
          if (!client.closed) client.queue(frame);
        }
      };
      for (const client of this.connections.clients) {
        const subscribed = [...client.subscriptions.values()].filter((s) => hex(s.groupId) === gk);
        if (subscribed.length === 0) continue;
        if (client !== except) {
          const owed = client.opsOwed.get(gk);
          if (owed || !client.hasRoom) {
            client.opsOwed.set(gk, { groupId, fromIndex: Math.min(owed?.fromIndex ?? fromIndex, fromIndex) });
            this.connections.watchDrain();
          } else void send(client).catch((error: unknown) => this.connections.internal(client, error));
        }
        for (const s of subscribed) {
          if (!log.device(client.memberId!)) {
            const key = docKey(s.groupId, s.docId);
            client.subscriptions.delete(key);
            this.#subscribers.remove(key, client);
          }
          else if (s.waiting) {
            s.waiting = false;
            void this.#pump(client, s).catch((error: unknown) => this.connections.internal(client, error));
          }
        }
      }
    });
  }
}
