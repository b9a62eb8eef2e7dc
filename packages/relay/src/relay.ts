/**
 * The relay's protocol, apart from sockets: authenticates clients (a signed challenge),
 * verifies every envelope and op against the group's membership log without decrypting
 * anything, stores what it accepts, acknowledges only after the store committed, and fans
 * out to the subscribers of each document. It answers the peer messages of sealed documents
 * (`have`, `ops`) as a peer that holds every envelope and the log, but no key.
 * @module
 */
import { randomBytes } from 'node:crypto';
import {
  EnvelopeError,
  MembershipError,
  MembershipLog,
  memberIdOf,
  readEnvelopeHeader,
  readMembershipOp,
  verifyEnvelope,
  verifyMessage,
  type EnvelopeHeader,
} from '@sealdoc/crypto';
import { COVERS_CONTEXT, coversSignedBytes, decodeWire, encodeBatch, encodeWire, HELLO_CONTEXT, MAX_FRAME_BYTES, WireError, type AuthorRanges, type RelayErrorCode, type SeqRange, type WireMessage } from '@sealdoc/protocol';
import { equalBytes, hex } from './bytes.js';
import type { PutResult, RelayStore, StoredJoinRequest, StoreEvent } from './store.js';

/** One client connection, whatever carries it (a WebSocket, a test's pipe). */
export interface RelayConnection {
  send(frame: Uint8Array): void;
  close(code: number, reason: string): void;
  /** Bytes queued for sending and not yet sent (backpressure). */
  readonly bufferedAmount: number;
}

/** Limits of a relay. */
export interface RelayOptions {
  store: RelayStore;
  /** Largest frame accepted (default 4 MiB). */
  maxFrameBytes?: number;
  /** Frames a connection may send per second, sustained (default 1,000), with bursts of twice that. */
  framesPerSecond?: number;
  /** Bytes a connection may send per second, sustained (default 16 MiB), with bursts of twice that. */
  bytesPerSecond?: number;
  /** Stop sending live envelopes to a connection with this many bytes queued (default 4 MiB); it catches up from the store once drained. */
  highWaterBytes?: number;
  /**
   * Retention (default: keep everything). With `afterSnapshots: N`, the envelopes a snapshot
   * covers are dropped once N later snapshots of the same document are stored: a client
   * resuming from any cursor still finds a snapshot holding what was dropped. Only snapshots
   * whose author attested what they cover (a signed `covers` message) count.
   */
  retention?: { afterSnapshots: number };
  /** Reports what happened, without secrets: no envelope content, no key, no signature. */
  log?: (event: RelayLogEvent) => void;
}

/** What a relay logs: codes and counts, never content. */
export interface RelayLogEvent {
  event: 'connected' | 'authenticated' | 'refused' | 'closed' | 'group-created' | 'retention' | 'error';
  connection: number;
  code?: string;
  member?: string;
  detail?: string;
  /** How many: envelopes dropped by retention. */
  count?: number;
}

/** Counters, for /healthz and benchmarks. */
export interface RelayStats {
  connections: number;
  envelopesAccepted: number;
  envelopesDelivered: number;
  /** Envelopes whose bytes retention dropped. */
  envelopesDropped: number;
  refused: number;
}

const CLOSE_POLICY = 1008;
const CLOSE_TOO_BIG = 1009;
const PAGE = 256;
// A batch frame is closed at this size (a client accepts 4 MiB).
const BATCH_BYTES = 1024 * 1024;
const DRAIN_CHECK_MS = 25;
const MAX_INVITATION_MS = 30 * 24 * 3600 * 1000;
const MAX_JOIN_REQUEST_BYTES = 1024;
// More requesters than this for one invitation: the link leaked; it is closed.
const MAX_JOIN_REQUESTS = 50;

/** A refusal to report to the client: a code it can act on, and words for a person. */
class Refusal extends Error {
  constructor(
    readonly code: RelayErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface Subscription {
  groupId: Uint8Array;
  docId: Uint8Array;
  /** The cursor the client subscribed from: what is at or below it is the `have` exchange's to fill. */
  from: number;
  /** The last cursor sent on this subscription. */
  sent: number;
  /** Live envelopes are not sent while the connection's queue is full; it catches up from the store. */
  lagging: boolean;
  pumping: boolean;
  /** Subscribed before its group existed here. */
  waiting: boolean;
  /** Cursors at or below `from` sent in answer to a `have`: not sent twice. */
  answered: Set<number>;
}

class Client {
  memberId: Uint8Array | undefined;
  member = '';
  readonly nonce = new Uint8Array(randomBytes(32));
  readonly subscriptions = new Map<string, Subscription>();
  // Groups (hex) whose join requests this admin's connection receives.
  readonly watches = new Set<string>();
  frames: number;
  bytes: number;
  last = Date.now();
  strikes = 0;
  // Frames waiting for the end of this turn of the event loop, sent then as one batch frame.
  outbox: Uint8Array[] = [];
  outboxBytes = 0;
  constructor(
    readonly id: number,
    readonly connection: RelayConnection,
    limits: { frames: number; bytes: number },
  ) {
    this.frames = limits.frames * 2;
    this.bytes = limits.bytes * 2;
  }
}

const docKey = (groupId: Uint8Array, docId: Uint8Array) => `${hex(groupId)}:${hex(docId)}`;

/** A verified push waiting for its group's next write. */
interface Pending {
  client: Client;
  header: EnvelopeHeader;
  bytes: Uint8Array;
  resolve(result: PutResult): void;
  reject(error: unknown): void;
}

export class Relay {
  readonly #store: RelayStore;
  readonly #maxFrameBytes: number;
  readonly #framesPerSecond: number;
  readonly #bytesPerSecond: number;
  readonly #highWater: number;
  readonly #log: (event: RelayLogEvent) => void;
  readonly #retainAfter: number | undefined;
  readonly #clients = new Set<Client>();
  readonly #logs = new Map<string, Promise<MembershipLog | undefined>>();
  // Per group: appends and stores run one after another, so that a removal and the removed
  // member's last envelopes are ordered the same way for everyone.
  readonly #queues = new Map<string, Promise<unknown>>();
  #nextId = 0;
  // Per group, the verified pushes waiting for the next write.
  readonly #batches = new Map<string, Pending[]>();
  #drainTimer: ReturnType<typeof setInterval> | undefined;
  readonly stats: RelayStats = { connections: 0, envelopesAccepted: 0, envelopesDelivered: 0, envelopesDropped: 0, refused: 0 };

  constructor(options: RelayOptions) {
    this.#store = options.store;
    this.#maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.#framesPerSecond = options.framesPerSecond ?? 1000;
    this.#bytesPerSecond = options.bytesPerSecond ?? 16 * 1024 * 1024;
    this.#highWater = options.highWaterBytes ?? 4 * 1024 * 1024;
    this.#log = options.log ?? (() => undefined);
    const after = options.retention?.afterSnapshots;
    if (after !== undefined && !(Number.isSafeInteger(after) && after >= 0)) throw new RangeError('retention.afterSnapshots is a whole number, 0 or more');
    this.#retainAfter = after;
    this.#store.onEvent?.((event) => void this.#onStoreEvent(event));
  }

  /** Largest frame this relay accepts. */
  get maxFrameBytes(): number {
    return this.#maxFrameBytes;
  }

  /** A new connection: the relay sends its challenge and returns the handlers to call. */
  accept(connection: RelayConnection): { receive(frame: Uint8Array): void; closed(): void } {
    const client = new Client(++this.#nextId, connection, { frames: this.#framesPerSecond, bytes: this.#bytesPerSecond });
    this.#clients.add(client);
    this.stats.connections = this.#clients.size;
    this.#log({ event: 'connected', connection: client.id });
    this.#send(client, { type: 'challenge', nonce: client.nonce, maxFrameBytes: this.#maxFrameBytes });
    // Frames of one connection are handled in order.
    let queue: Promise<void> = Promise.resolve();
    return {
      receive: (frame) => {
        if (!this.#admit(client, frame.length)) return;
        queue = queue.then(() => this.#receive(client, frame)).catch((error: unknown) => this.#internal(client, error));
      },
      closed: () => {
        this.#clients.delete(client);
        this.stats.connections = this.#clients.size;
        this.#log({ event: 'closed', connection: client.id, member: client.member });
      },
    };
  }

  /** Stops the drain timer and closes every connection (clients may connect again). The store stays open. */
  close(): void {
    clearInterval(this.#drainTimer);
    this.#drainTimer = undefined;
    for (const client of this.#clients) client.connection.close(1001, 'relay shutting down');
    this.#clients.clear();
  }

  /** Token buckets: a connection over its rate gets an error; one that keeps on is closed. */
  #admit(client: Client, size: number): boolean {
    if (size > this.#maxFrameBytes) {
      this.#refuse(client, 0, new Refusal('too-large', `a frame is at most ${this.#maxFrameBytes} bytes`));
      this.#close(client, CLOSE_TOO_BIG, 'frame too large');
      return false;
    }
    const now = Date.now();
    const elapsed = (now - client.last) / 1000;
    client.last = now;
    client.frames = Math.min(this.#framesPerSecond * 2, client.frames + elapsed * this.#framesPerSecond) - 1;
    client.bytes = Math.min(this.#bytesPerSecond * 2, client.bytes + elapsed * this.#bytesPerSecond) - size;
    if (client.frames >= 0 && client.bytes >= 0) return true;
    this.#refuse(client, 0, new Refusal('rate-limited', 'too many frames or bytes: slow down'));
    if (++client.strikes > 100) this.#close(client, CLOSE_POLICY, 'rate limit');
    return false;
  }

  async #receive(client: Client, frame: Uint8Array): Promise<void> {
    let message: WireMessage;
    try {
      message = decodeWire(frame, this.#maxFrameBytes);
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      return this.#refuse(client, 0, new Refusal(error.code, error.message));
    }
    const ref = 'ref' in message ? message.ref : 0;
    try {
      if (message.type === 'hello') return await this.#hello(client, message);
      if (!client.memberId) throw new Refusal('not-authenticated', 'say hello first');
      switch (message.type) {
        case 'subscribe':
          return await this.#subscribe(client, message.groupId, message.docId, message.cursor);
        case 'unsubscribe':
          client.subscriptions.delete(docKey(message.groupId, message.docId));
          return;
        case 'push':
          return await this.#push(client, message.ref, message.envelope);
        case 'envelope':
          return await this.#envelope(client, message.envelope);
        case 'have':
          return await this.#have(client, message);
        case 'ops':
          return await this.#ops(client, message.groupId, message.fromIndex, message.ops);
        case 'covers':
          return await this.#covers(client, message);
        case 'invite-open':
        case 'invite-close':
        case 'invite-request':
        case 'invite-watch':
        case 'invite-status':
          return await this.#invitation(client, message);
        case 'fetch-ops': {
          const log = await this.#member(client, message.groupId);
          this.#send(client, { type: 'ops', groupId: message.groupId, fromIndex: message.fromIndex, ops: log.ops().slice(message.fromIndex) });
          return;
        }
        case 'list-groups': {
          const ids: Uint8Array[] = [];
          for (const groupId of await this.#store.groups()) if ((await this.#group(groupId))?.member(client.memberId)) ids.push(groupId);
          this.#send(client, { type: 'groups', ref: message.ref, groupIds: ids });
          return;
        }
        default:
          throw new Refusal('malformed', `a client does not send ${message.type}`);
      }
    } catch (error) {
      if (error instanceof Refusal) return this.#refuse(client, ref, error);
      if (error instanceof EnvelopeError || error instanceof MembershipError) return this.#refuse(client, ref, new Refusal(error.code, error.message));
      throw error;
    }
  }

  async #hello(client: Client, message: Extract<WireMessage, { type: 'hello' }>): Promise<void> {
    if (client.memberId) throw new Refusal('malformed', 'hello was said already');
    if (!(await verifyMessage(message.signingPublicKey, HELLO_CONTEXT, client.nonce, message.signature).catch(() => false))) {
      this.#refuse(client, 0, new Refusal('bad-hello', 'the hello signature does not verify'));
      this.#close(client, CLOSE_POLICY, 'bad hello');
      return;
    }
    client.memberId = memberIdOf(message.signingPublicKey);
    client.member = hex(client.memberId).slice(0, 16);
    this.#log({ event: 'authenticated', connection: client.id, member: client.member });
    this.#send(client, { type: 'welcome', memberId: client.memberId });
  }

  /** The group's log, loaded once from the store; undefined for an unknown group. */
  #group(groupId: Uint8Array): Promise<MembershipLog | undefined> {
    const key = hex(groupId);
    let log = this.#logs.get(key);
    if (!log) {
      log = this.#store.loadOps(groupId).then((ops) => (ops.length ? MembershipLog.fromOps(ops) : undefined));
      log.catch(() => this.#logs.delete(key));
      this.#logs.set(key, log);
    }
    return log;
  }

  /** The group's log, if the client is a current member of it; otherwise a refusal. */
  async #member(client: Client, groupId: Uint8Array): Promise<MembershipLog> {
    const log = await this.#group(groupId);
    if (!log) throw new Refusal('unknown-group', 'this relay serves no such group');
    if (!log.member(client.memberId!)) throw new Refusal('not-a-member', 'you are not a member of this group');
    return log;
  }

  /** Runs `work` after what is queued for the group. */
  #serial<T>(groupId: Uint8Array, work: () => Promise<T>): Promise<T> {
    const key = hex(groupId);
    const run = (this.#queues.get(key) ?? Promise.resolve()).then(work);
    this.#queues.set(key, run.catch(() => undefined));
    return run;
  }

  async #subscribe(client: Client, groupId: Uint8Array, docId: Uint8Array, cursor: number): Promise<void> {
    const known = await this.#group(groupId);
    const subscription: Subscription = { groupId, docId, from: cursor, sent: cursor, lagging: true, pumping: false, waiting: !known, answered: new Set() };
    // A group not created yet (its creator's ops may be on their way): the subscription waits for it.
    if (known) await this.#member(client, groupId);
    client.subscriptions.set(docKey(groupId, docId), subscription);
    // The backlog after the cursor comes from the store, page by page, then live.
    if (known) await this.#pump(client, subscription);
  }

  /** Sends a lagging subscription what the store holds after what it was sent, while the queue allows. */
  async #pump(client: Client, s: Subscription): Promise<void> {
    if (s.pumping) return;
    s.pumping = true;
    try {
      while (s.lagging && this.#clients.has(client)) {
        if (this.#backlog(client) > this.#highWater) return this.#watchDrain();
        const page = await this.#store.envelopesAfter(s.groupId, s.docId, s.sent, PAGE);
        for (const e of page) this.#deliver(client, s, e.cursor, e.bytes);
        if (page.length < PAGE) {
          s.lagging = false;
          this.#send(client, { type: 'caught-up', groupId: s.groupId, docId: s.docId, cursor: s.sent });
        }
      }
    } finally {
      s.pumping = false;
    }
  }

  /** Sends one stored envelope on a subscription (`frame`: its deliver frame, when already encoded). */
  #deliver(client: Client, s: Subscription, cursor: number, envelope: Uint8Array, frame?: Uint8Array): void {
    this.#queue(client, frame ?? encodeWire({ type: 'deliver', groupId: s.groupId, docId: s.docId, cursor, envelope }));
    s.sent = Math.max(s.sent, cursor);
    this.stats.envelopesDelivered++;
  }

  /** Lagging subscriptions are retried while connections drain. */
  #watchDrain(): void {
    this.#drainTimer ??= setInterval(() => {
      let waiting = false;
      for (const client of this.#clients) {
        for (const s of client.subscriptions.values()) {
          if (!s.lagging || s.waiting) continue;
          waiting = true;
          if (this.#backlog(client) <= this.#highWater / 2) void this.#pump(client, s).catch((error: unknown) => this.#internal(client, error));
        }
      }
      if (!waiting) {
        clearInterval(this.#drainTimer);
        this.#drainTimer = undefined;
      }
    }, DRAIN_CHECK_MS);
  }

  /** Checks an envelope's header, signature and author against the log; returns the header. */
  async #verify(client: Client, bytes: Uint8Array, kinds: ('update' | 'snapshot' | 'awareness')[]): Promise<{ header: EnvelopeHeader; log: MembershipLog }> {
    const header = readEnvelopeHeader(bytes);
    const log = await this.#member(client, header.groupId);
    await verifyEnvelope(bytes, log.verifyContext({ kinds }));
    return { header, log };
  }

  /**
   * Verifies a push, then hands it to its group's next batch: the connection goes on with its
   * next frame while the batch is written; the ack (or the refusal) follows the commit.
   */
  async #push(client: Client, ref: number, bytes: Uint8Array): Promise<void> {
    const { header } = await this.#verify(client, bytes, ['update', 'snapshot']);
    void this.#enqueue(client, header, bytes).then(
      ({ outcome, cursor }) => {
        if (outcome === 'conflict') return this.#refuse(client, ref, new Refusal('conflict', `another envelope of this author already has sequence number ${header.seq}`));
        this.#send(client, { type: 'ack', ref, cursor });
        if (outcome === 'stored') {
          this.stats.envelopesAccepted++;
          this.#fanOut(header.groupId, header.docId, cursor, bytes, client);
        }
      },
      (error: unknown) => {
        if (error instanceof Refusal) this.#refuse(client, ref, error);
        else if (error instanceof EnvelopeError) this.#refuse(client, ref, new Refusal(error.code, error.message));
        else this.#internal(client, error);
      },
    );
  }

  /** Adds a verified envelope to its group's next batch; resolves once the batch is stored. */
  #enqueue(client: Client, header: EnvelopeHeader, bytes: Uint8Array): Promise<PutResult> {
    const key = hex(header.groupId);
    let batch = this.#batches.get(key);
    if (!batch) {
      const fresh: Pending[] = [];
      batch = fresh;
      this.#batches.set(key, fresh);
      void this.#serial(header.groupId, () => this.#flush(key, header.groupId, fresh));
    }
    return new Promise((resolve, reject) => batch.push({ client, header, bytes, resolve, reject }));
  }

  /**
   * Writes a group's batch in one transaction (group commit), in order with the group's
   * membership changes: each author is checked again against the log as it is now, so that a
   * removal appended meanwhile wins.
   */
  async #flush(key: string, groupId: Uint8Array, batch: Pending[]): Promise<void> {
    // Pushes verified in this turn of the event loop join the batch.
    await new Promise((resolve) => setImmediate(resolve));
    if (this.#batches.get(key) === batch) this.#batches.delete(key);
    const log = (await this.#group(groupId))!;
    const accepted: Pending[] = [];
    for (const item of batch) {
      try {
        const author = log.verifyContext().author(item.header);
        if (!author) throw new Refusal('not-a-member', 'the author is not a member of this group');
        if (author.role === 'reader') throw new Refusal('not-a-writer', 'the author may not write');
        if (!log.member(item.client.memberId!)) throw new Refusal('not-a-member', 'you are no longer a member of this group');
        accepted.push(item);
      } catch (error) {
        item.reject(error);
      }
    }
    if (accepted.length === 0) return;
    try {
      const results = await this.#store.putEnvelopes(
        accepted.map(({ header, bytes }) => ({ groupId: header.groupId, docId: header.docId, author: header.author, seq: header.seq, bytes })),
      );
      accepted.forEach((item, i) => item.resolve(results[i]!));
    } catch (error) {
      for (const item of accepted) item.reject(error);
    }
  }

  /** A peer message carrying an envelope: awareness is relayed, never stored; the rest is a push without an ack. */
  async #envelope(client: Client, bytes: Uint8Array): Promise<void> {
    const header = readEnvelopeHeader(bytes);
    if (header.kind !== 'awareness') return this.#push(client, 0, bytes);
    if (!(await this.#group(header.groupId))) return; // presence before its group exists here: dropped
    await this.#verify(client, bytes, ['awareness']);
    const frame = encodeWire({ type: 'envelope', envelope: bytes });
    for (const other of this.#clients) {
      if (other !== client && other.subscriptions.has(docKey(header.groupId, header.docId)) && this.#backlog(other) <= this.#highWater) this.#queue(other, frame);
    }
  }

  /** Sends a stored envelope to every subscriber of its document (but `except`). */
  #fanOut(groupId: Uint8Array, docId: Uint8Array, cursor: number, bytes: Uint8Array, except?: Client): void {
    const key = docKey(groupId, docId);
    // One frame for every subscriber.
    const frame = encodeWire({ type: 'deliver', groupId, docId, cursor, envelope: bytes });
    for (const client of this.#clients) {
      const s = client.subscriptions.get(key);
      if (!s || s.waiting || client === except) continue;
      if (s.lagging || this.#backlog(client) > this.#highWater) {
        // Behind: it catches up from the store, in order, once its queue drains.
        s.lagging = true;
        this.#watchDrain();
        continue;
      }
      if (cursor > s.sent) this.#deliver(client, s, cursor, bytes, frame);
    }
  }

  /** Answers a document's `have` as a peer: the ops it lacks, the envelopes it lacks, and (to a request) our own summary. */
  async #have(client: Client, message: Extract<WireMessage, { type: 'have' }>): Promise<void> {
    if (!(await this.#group(message.groupId))) {
      // Unknown here: an empty log and nothing held, so that its creator sends the ops.
      if (!message.reply) this.#send(client, { type: 'have', reply: true, groupId: message.groupId, docId: message.docId, logLength: 0, authors: [] });
      return;
    }
    const log = await this.#member(client, message.groupId);
    if (message.logLength < log.length) this.#send(client, { type: 'ops', groupId: message.groupId, fromIndex: message.logLength, ops: log.ops().slice(message.logLength) });
    const theirs = new Map<string, [number, number][]>();
    for (const [author, ranges] of message.authors) theirs.set(hex(author), ranges.map(([s, e]) => [s, e]));
    const has = (author: string, seq: number) => theirs.get(author)?.some(([s, e]) => s <= seq && seq <= e) ?? false;
    const s = client.subscriptions.get(docKey(message.groupId, message.docId));
    const index = await this.#store.index(message.groupId, message.docId);
    // What a subscription sends from its cursor on is not sent twice.
    const missing = index.filter((e) => !has(hex(e.author), e.seq) && (!s || (e.cursor <= s.from && !s.answered.has(e.cursor)))).map((e) => e.cursor);
    for (const cursor of missing) s?.answered.add(cursor);
    for (let i = 0; i < missing.length; i += PAGE) {
      for (const e of await this.#store.envelopesAt(missing.slice(i, i + PAGE))) {
        this.#send(client, { type: 'deliver', groupId: message.groupId, docId: message.docId, cursor: e.cursor, envelope: e.bytes });
        this.stats.envelopesDelivered++;
      }
    }
    if (!message.reply) {
      const ours = new Map<string, number[]>();
      for (const e of index) ours.set(hex(e.author), [...(ours.get(hex(e.author)) ?? []), e.seq]);
      const authors: AuthorRanges = [...ours].map(([author, seqs]) => [Uint8Array.from(author.match(/../g)!, (h) => parseInt(h, 16)), toRanges(seqs)]);
      this.#send(client, { type: 'have', reply: true, groupId: message.groupId, docId: message.docId, logLength: log.length, authors });
    }
  }

  /**
   * A snapshot author's attestation of what the snapshot covers: checked against the stored
   * snapshot (its author's key under the log), kept, and retention applied to the document.
   */
  async #covers(client: Client, message: Extract<WireMessage, { type: 'covers' }>): Promise<void> {
    const log = await this.#member(client, message.groupId);
    // After the group's pending writes: the snapshot pushed just before is stored by then.
    await this.#serial(message.groupId, async () => {
      const entry = (await this.#store.index(message.groupId, message.docId)).find((e) => e.seq === message.seq && hex(e.author) === hex(message.author));
      const [stored] = entry ? await this.#store.envelopesAt([entry.cursor]) : [];
      if (!stored) throw new Refusal('unknown-snapshot', 'this relay holds no such snapshot');
      const header = readEnvelopeHeader(stored.bytes);
      if (header.kind !== 'snapshot') throw new Refusal('not-a-snapshot', 'covers are attested for snapshots only');
      // Its own sequence numbers before the snapshot's: nothing later can be covered.
      if (message.authors.some(([a, ranges]) => hex(a) === hex(message.author) && ranges.some(([, end]) => end >= message.seq)))
        throw new Refusal('bad-covers', 'a snapshot cannot cover its author’s later envelopes');
      const author = log.verifyContext().author(header);
      if (!author || !(await verifyMessage(author.signingPublicKey, COVERS_CONTEXT, coversSignedBytes(message), message.signature).catch(() => false)))
        throw new Refusal('bad-signature', 'the covers attestation is not signed by the snapshot’s author');
      await this.#store.putCovers(message.groupId, message.docId, { author: message.author, seq: message.seq, attestation: encodeWire(message) });
      await this.#retain(client, message.groupId, message.docId);
    });
  }

  /**
   * Retention for one document: what the snapshots followed by `afterSnapshots` later ones
   * cover is dropped. The newest snapshots are never dropped: covering follows causality, so
   * the snapshots nothing covers remain and hold what was dropped.
   */
  async #retain(client: Client, groupId: Uint8Array, docId: Uint8Array): Promise<void> {
    if (this.#retainAfter === undefined) return;
    const index = await this.#store.index(groupId, docId);
    const byId = new Map(index.map((e) => [`${hex(e.author)}:${e.seq}`, e]));
    const snapshots = (await this.#store.covers(groupId, docId))
      .flatMap((c) => {
        const entry = byId.get(`${hex(c.author)}:${c.seq}`);
        const m = decodeWire(c.attestation);
        return entry && m.type === 'covers' ? [{ cursor: entry.cursor, authors: m.authors }] : [];
      })
      .sort((a, b) => a.cursor - b.cursor);
    const ripe = snapshots.slice(0, Math.max(0, snapshots.length - this.#retainAfter));
    if (ripe.length === 0) return;
    const covered = new Map<string, SeqRange[]>();
    for (const { authors } of ripe) for (const [a, ranges] of authors) covered.set(hex(a), [...(covered.get(hex(a)) ?? []), ...ranges]);
    const drop = index.filter((e) => !e.dropped && (covered.get(hex(e.author))?.some(([s, t]) => s <= e.seq && e.seq <= t) ?? false)).map((e) => e.cursor);
    if (drop.length === 0) return;
    await this.#store.dropEnvelopes(drop);
    this.stats.envelopesDropped += drop.length;
    this.#log({ event: 'retention', connection: client.id, count: drop.length });
  }

  /** Ops from a client: the genesis of a new group, or ops that extend the log (verified, then stored). */
  async #ops(client: Client, groupId: Uint8Array, fromIndex: number, ops: Uint8Array[]): Promise<void> {
    if (ops.length === 0) return;
    const added = await this.#serial(groupId, async () => {
      const log = await this.#group(groupId);
      if (!log) return this.#create(client, groupId, fromIndex, ops);
      if (!log.member(client.memberId!)) throw new Refusal('not-a-member', 'you are not a member of this group');
      const before = log.length;
      if (fromIndex > before) throw new Refusal('unknown-predecessor', `the ops start at ${fromIndex}, past the ${before} this relay holds`);
      // Ops that differ from what the log holds at their place were built on an older head:
      // appending the first tells the client why (`stale-head`: fetch, rebase, send again).
      const logOps = log.ops();
      const overlap = ops.slice(0, before - fromIndex);
      const diverging = overlap.findIndex((op, i) => !equalBytes(op, logOps[fromIndex + i]!));
      if (diverging >= 0) {
        await (await MembershipLog.fromOps(logOps)).append(ops[diverging]!);
        throw new Refusal('stale-head', 'the log moved meanwhile: fetch it and rebase');
      }
      const fresh = ops.slice(overlap.length);
      // The relay orders a removal against the removed member's envelopes: a cutoff below what it already accepted would make members disagree.
      for (const op of fresh) await this.#checkCutoff(groupId, op);
      // Verified on a copy first, so that a refused op leaves the log as it was.
      const trial = await MembershipLog.fromOps(logOps);
      await trial.sync(ops, fromIndex);
      if (fresh.length === 0) return 0;
      if (!(await this.#store.appendOps(groupId, before, fresh))) {
        this.#logs.delete(hex(groupId)); // another node was first: reload
        throw new Refusal('stale-head', 'the log moved meanwhile: fetch it and rebase');
      }
      await log.sync(fresh, before);
      return fresh.length;
    });
    if (added > 0) this.#announceOps(groupId);
  }

  async #create(client: Client, groupId: Uint8Array, fromIndex: number, ops: Uint8Array[]): Promise<number> {
    if (fromIndex !== 0) throw new Refusal('unknown-group', 'this relay serves no such group');
    const log = await MembershipLog.fromOps(ops);
    if (hex(log.groupId) !== hex(groupId)) throw new Refusal('malformed', 'the ops belong to another group');
    if (!log.member(client.memberId!)) throw new Refusal('not-a-member', 'only a member creates a group here');
    if (!(await this.#store.appendOps(groupId, 0, ops))) throw new Refusal('stale-head', 'the group was created meanwhile');
    this.#logs.set(hex(groupId), Promise.resolve(log));
    this.#log({ event: 'group-created', connection: client.id, member: client.member });
    return ops.length;
  }

  async #checkCutoff(groupId: Uint8Array, op: Uint8Array): Promise<void> {
    const change = readMembershipOp(op).change;
    const cutoff = change.type === 'remove' ? change.cutoff : change.type === 'set-role' && change.role === 'reader' ? change.cutoff : undefined;
    if (cutoff === undefined || (change.type !== 'remove' && change.type !== 'set-role')) return;
    const highest = await this.#store.highestSeq(groupId, change.memberId);
    if (highest !== undefined && (cutoff === null || highest > cutoff))
      throw new Refusal('cutoff-too-low', `this relay already accepted sequence number ${highest} from that member: the cutoff must be at least that`);
  }

  /**
   * Tells the group's subscribers that its log grew; those removed lose their subscriptions,
   * those that waited for the group to exist start receiving.
   */
  #announceOps(groupId: Uint8Array): void {
    void this.#group(groupId).then((log) => {
      if (!log) return;
      for (const client of this.#clients) {
        const subscribed = [...client.subscriptions.values()].filter((s) => hex(s.groupId) === hex(groupId));
        if (subscribed.length === 0) continue;
        // Every op, so that a client whose log is behind by more than the new ones catches up too.
        this.#send(client, { type: 'ops', groupId, fromIndex: 0, ops: log.ops() });
        for (const s of subscribed) {
          if (!log.member(client.memberId!)) client.subscriptions.delete(docKey(s.groupId, s.docId));
          else if (s.waiting) {
            s.waiting = false;
            void this.#pump(client, s).catch((error: unknown) => this.#internal(client, error));
          }
        }
      }
    });
  }

  /**
   * Invitations, known here by id only: an admin opens and revokes them and watches for join
   * requests; an invitee (any authenticated client) sends its sealed request and asks where it
   * stands. The relay cannot read a request; it checks that the invitation is open.
   */
  async #invitation(
    client: Client,
    message: Extract<WireMessage, { type: 'invite-open' | 'invite-close' | 'invite-request' | 'invite-watch' | 'invite-status' }>,
  ): Promise<void> {
    const now = Date.now();
    const admin = async (groupId: Uint8Array) => {
      const log = await this.#member(client, groupId);
      if (log.member(client.memberId!)?.role !== 'admin') throw new Refusal('not-admin', 'only an admin of the group manages its invitations');
    };
    switch (message.type) {
      case 'invite-open': {
        await admin(message.groupId);
        if (message.expiresAt <= now || message.expiresAt > now + MAX_INVITATION_MS) throw new Refusal('malformed', 'an invitation expires within 30 days from now');
        await this.#store.putInvitation({ inviteId: message.inviteId, groupId: message.groupId, expiresAt: message.expiresAt, revoked: false });
        this.#send(client, { type: 'ack', ref: message.ref, cursor: 0 });
        return;
      }
      case 'invite-close': {
        const invitation = await this.#store.invitation(message.inviteId);
        if (!invitation) throw new Refusal('unknown-invite', 'no such invitation');
        await admin(invitation.groupId);
        await this.#store.revokeInvitation(message.inviteId);
        this.#send(client, { type: 'ack', ref: message.ref, cursor: 0 });
        return;
      }
      case 'invite-watch': {
        await admin(message.groupId);
        client.watches.add(hex(message.groupId));
        for (const r of await this.#store.joinRequests(message.groupId, now)) this.#send(client, { type: 'invite-requested', ...r });
        return;
      }
      case 'invite-request': {
        const invitation = await this.#store.invitation(message.inviteId);
        if (!invitation) throw new Refusal('unknown-invite', 'no such invitation: check the link');
        if (invitation.revoked) throw new Refusal('invite-revoked', 'this invitation was revoked');
        if (invitation.expiresAt <= now) throw new Refusal('invite-expired', 'this invitation has expired');
        if (message.request.length > MAX_JOIN_REQUEST_BYTES) throw new Refusal('too-large', `a join request is at most ${MAX_JOIN_REQUEST_BYTES} bytes`);
        const stored = { inviteId: message.inviteId, requester: client.memberId!, request: message.request };
        const count = await this.#store.putJoinRequest(stored, invitation.groupId);
        if (count > MAX_JOIN_REQUESTS) {
          await this.#store.revokeInvitation(message.inviteId);
          throw new Refusal('invite-revoked', 'too many requests for this invitation: it was closed');
        }
        this.#send(client, { type: 'ack', ref: message.ref, cursor: 0 });
        this.#toWatchers(invitation.groupId, stored);
        return;
      }
      case 'invite-status': {
        const invitation = await this.#store.invitation(message.inviteId);
        const log = invitation && (await this.#group(invitation.groupId));
        const state = !invitation
          ? 'unknown'
          : log?.member(client.memberId!)
            ? 'admitted'
            : invitation.revoked
              ? 'revoked'
              : invitation.expiresAt <= now
                ? 'expired'
                : 'pending';
        this.#send(client, { type: 'invite-state', ref: message.ref, inviteId: message.inviteId, state });
        return;
      }
    }
  }

  /** Sends a join request to the connections of admins watching its group. */
  #toWatchers(groupId: Uint8Array, request: StoredJoinRequest): void {
    const key = hex(groupId);
    for (const client of this.#clients) if (client.watches.has(key)) this.#send(client, { type: 'invite-requested', ...request });
  }

  /**
   * Another node stored something. Ops: the log is read again and announced. An envelope: it is
   * sent to the subscribers here whatever its cursor (another node's transaction may commit
   * after one with a larger cursor; a subscriber already sent it just ignores the copy).
   */
  async #onStoreEvent(event: StoreEvent): Promise<void> {
    if (event.type === 'join-request') {
      const [request] = (await this.#store.joinRequests(event.groupId, Date.now())).filter((r) => hex(r.inviteId) === hex(event.inviteId) && hex(r.requester) === hex(event.requester));
      if (request) this.#toWatchers(event.groupId, request);
      return;
    }
    if (event.type === 'ops') {
      this.#logs.delete(hex(event.groupId));
      this.#announceOps(event.groupId);
      return;
    }
    const key = docKey(event.groupId, event.docId);
    if (![...this.#clients].some((c) => c.subscriptions.has(key))) return;
    const [stored] = await this.#store.envelopesAt([event.cursor]);
    if (!stored) return;
    for (const client of this.#clients) {
      const s = client.subscriptions.get(key);
      if (!s || s.waiting) continue;
      if (s.lagging || this.#backlog(client) > this.#highWater) {
        s.lagging = true;
        this.#watchDrain();
      } else this.#deliver(client, s, stored.cursor, stored.bytes);
    }
  }

  #send(client: Client, message: WireMessage): void {
    this.#queue(client, encodeWire(message));
  }

  /**
   * Queues a frame for `client`. What a turn of the event loop queues leaves together, as one
   * batch frame (or as it is, when alone): under load, far fewer frames and system calls.
   */
  #queue(client: Client, frame: Uint8Array): void {
    if (client.outbox.length === 0) setImmediate(() => this.#flushOutbox(client));
    client.outbox.push(frame);
    client.outboxBytes += frame.length;
  }

  #flushOutbox(client: Client): void {
    const frames = client.outbox;
    client.outbox = [];
    client.outboxBytes = 0;
    try {
      let start = 0;
      let bytes = 0;
      for (let i = 0; i <= frames.length; i++) {
        if (i === frames.length || (bytes + frames[i]!.length > BATCH_BYTES && i > start)) {
          const chunk = frames.slice(start, i);
          client.connection.send(chunk.length === 1 ? chunk[0]! : encodeBatch(chunk));
          start = i;
          bytes = 0;
        }
        if (i < frames.length) bytes += frames[i]!.length;
      }
    } catch {
      // The connection is closing: nothing more to say.
    }
  }

  /** Sends what is queued, then closes. */
  #close(client: Client, code: number, reason: string): void {
    this.#flushOutbox(client);
    client.connection.close(code, reason);
  }

  /** Bytes waiting for `client`: queued here and in the socket. */
  #backlog(client: Client): number {
    return client.connection.bufferedAmount + client.outboxBytes;
  }

  #refuse(client: Client, ref: number, refusal: Refusal): void {
    this.stats.refused++;
    this.#log({ event: 'refused', connection: client.id, code: refusal.code, member: client.member });
    this.#send(client, { type: 'error', ref, code: refusal.code, message: refusal.message });
  }

  #internal(client: Client, error: unknown): void {
    this.#log({ event: 'error', connection: client.id, detail: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown' });
    this.#send(client, { type: 'error', ref: 0, code: 'internal', message: 'the relay failed to handle that; try again' });
  }
}

/** Sorted sequence numbers as inclusive ranges. */
function toRanges(seqs: number[]): [number, number][] {
  const sorted = [...seqs].sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  for (const seq of sorted) {
    const last = ranges.at(-1);
    if (last && seq <= last[1] + 1) last[1] = Math.max(last[1], seq);
    else ranges.push([seq, seq]);
  }
  return ranges;
}
