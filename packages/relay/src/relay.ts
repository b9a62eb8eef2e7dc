/**
 * The relay's protocol, apart from sockets: authenticates clients (a signed challenge),
 * verifies every envelope and op against the group's membership log without decrypting
 * anything, stores what it accepts, acknowledges only after the store committed, and fans
 * out to the subscribers of each document. It answers the peer messages of sealed documents
 * (`have`, `ops`) as a peer that holds every envelope and the log, but no key.
 *
 * Whatever a client does, what it costs the relay is bounded (limits.ts): its queues (a client
 * that does not read is not read from, then closed), the frames, bytes and store rows it may
 * make the relay handle, what the relay keeps in memory about groups and documents (bounded
 * caches), and what an identity may store (quotas). An ops frame costs the ops it adds.
 * @module
 */
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
  type MembershipOp,
} from '@sealdoc/crypto';
import {
  BEACON_CONTEXT,
  beaconSignedBytes,
  ByteReader,
  ByteWriter,
  COVERS_CONTEXT,
  coversSignedBytes,
  decodeWire,
  encodeWire,
  HELLO_CONTEXT,
  MAX_FRAME_BYTES,
  SeqRanges,
  WireError,
  type AuthorRanges,
  type RelayErrorCode,
  type SeqRange,
  type WireMessage,
} from '@sealdoc/protocol';
import { equalBytes, hex, unhex } from './bytes.js';
import { Client, type RelayConnection, type Subscription } from './connection.js';
import { DEFAULT_LIMITS, DEFAULT_QUOTAS, resolveLimits, TokenBucket, type RelayLimits, type RelayQuotas } from './limits.js';
import { WeightedLru } from './lru.js';
import { droppable } from './retention.js';
import type { OpsEffect, PutResult, RelayStore, StoredJoinRequest, StoreEvent } from './store.js';

export type { RelayConnection } from './connection.js';

/** Options of a relay. */
export interface RelayOptions {
  store: RelayStore;
  /** Limits per connection and for the whole relay (defaults in {@link DEFAULT_LIMITS}). */
  limits?: Partial<RelayLimits>;
  /** What one identity may store (defaults in {@link DEFAULT_QUOTAS}). */
  quotas?: Partial<RelayQuotas>;
  /**
   * Retention (default: keep everything). With `afterSnapshots: N`, an envelope is dropped once
   * a snapshot by its own author that covers it is followed by N later snapshots of the same
   * document: a client resuming from any cursor still finds a snapshot holding what was
   * dropped. Only snapshots whose author attested what they cover (a signed `covers` message)
   * count, and only for that author's own envelopes (retention.ts says why).
   */
  retention?: { afterSnapshots: number };
  /** Reports what happened, without secrets: no envelope content, no key, no signature. */
  log?: (event: RelayLogEvent) => void;
  /**
   * Admits a client once its hello verified (as Hocuspocus's onAuthenticate), for apps that
   * also gate by a cookie or a token: given who it is and the request it connected with (the
   * HTTP upgrade request, through `startRelay`), return (or resolve) `true` to admit it, or
   * `false` or a reason to refuse it. A refused client gets `auth-failed` with the reason and is
   * closed; a client stops retrying on it. A hook that throws refuses too.
   */
  authenticate?: (hello: { memberId: Uint8Array; signingPublicKey: Uint8Array }, request: unknown) => boolean | string | Promise<boolean | string>;
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
  /** Connections closed for not reading what they were sent. */
  closedSlow: number;
  /** Group logs and document summaries held in memory now (both bounded). */
  cachedLogs: number;
  cachedIndexes: number;
}

const CLOSE_POLICY = 1008;
const CLOSE_TOO_BIG = 1009;
const CLOSE_BUSY = 1013;
const PAGE = 64;
const DRAIN_CHECK_MS = 25;
const SWEEP_MS = 1000;
const MAX_INVITATION_MS = 30 * 24 * 3600 * 1000;
const MAX_JOIN_REQUEST_BYTES = 1024;
// More requesters than this for one invitation: the link leaked; it is closed.
const MAX_JOIN_REQUESTS = 50;
// A frame before hello is a hello: a few hundred bytes.
const MAX_FRAME_BEFORE_HELLO = 1024;
// Subscriptions to groups not known yet (their creator's ops may be on their way), per connection.
const MAX_WAITING_SUBSCRIPTIONS = 64;
// An ops message holds what fits in a frame a client accepts (4 MiB, less room for the
// header); a longer log goes in several. A `have` answer names at most this many ranges.
const OPS_FRAME_BYTES = MAX_FRAME_BYTES - 64 * 1024;
const MAX_SUMMARY_RANGES = 100_000;
// Retention runs for a document at most this often (and this long after the covers that asked for it).
const RETENTION_DELAY_MS = 50;
const RETENTION_INTERVAL_MS = 2000;
// Identities remembered (their shared buckets) after their last connection closed, at most.
const MAX_IDLE_IDENTITIES = 100_000;

/** A refusal to report to the client: a code it can act on, and words for a person. */
class Refusal extends Error {
  constructor(
    readonly code: RelayErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What one network address holds and may still do. */
interface AddressState {
  connections: number;
  creations: TokenBucket;
}

/** What the relay keeps per identity, shared by its connections. */
interface IdentityState {
  connections: number;
  frames: TokenBucket;
  bytes: TokenBucket;
  rows: TokenBucket;
  sent: TokenBucket;
}

/** A document's summary (what the store holds, per author), once loaded. */
interface DocIndex {
  ranges: SeqRanges;
  ready: Promise<void>;
  loaded: boolean;
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
  readonly #limits: RelayLimits;
  readonly #quotas: RelayQuotas;
  readonly #log: (event: RelayLogEvent) => void;
  readonly #retainAfter: number | undefined;
  readonly #authenticate: RelayOptions['authenticate'];
  readonly #clients = new Set<Client>();
  // Connections that have not said hello, oldest first.
  readonly #pending = new Set<Client>();
  readonly #identities = new Map<string, IdentityState>();
  // Group logs by group (hex), weighed by the bytes of their ops; unknown groups are not kept.
  readonly #logs: WeightedLru<string, Promise<MembershipLog | undefined>>;
  readonly #logBytes = new Map<string, number>();
  // Per group, where the pages of its log start; the encoded pages, shared by the clients that ask.
  readonly #pageBounds: WeightedLru<string, { log: MembershipLog; length: number; starts: number[]; lastBytes: number }>;
  readonly #pages: WeightedLru<string, Uint8Array>;
  // What bulk answers may send all connections together (limits.bulkBytesPerSecond).
  readonly #bulk: TokenBucket;
  // Groups created, all clients together (limits.groupsPerSecond).
  readonly #creations: TokenBucket;
  // Per network address: connections held, groups created (limits.*PerAddress*).
  readonly #addresses = new Map<string, AddressState>();
  // Document summaries by "group:doc", weighed by their ranges.
  readonly #indexes: WeightedLru<string, DocIndex>;
  // Per group: appends and stores run one after another, so that a removal and the removed
  // member's last envelopes are ordered the same way for everyone.
  readonly #queues = new Map<string, Promise<unknown>>();
  #nextId = 0;
  // Per group, the verified pushes waiting for the next write.
  readonly #batches = new Map<string, Pending[]>();
  readonly #retention = new Map<string, { timer: ReturnType<typeof setTimeout> | undefined; last: number }>();
  #drainTimer: ReturnType<typeof setInterval> | undefined;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  /** Resolves once the store's membership index is complete (a database from an earlier release is indexed first). */
  readonly ready: Promise<void>;
  readonly #counts = { envelopesAccepted: 0, envelopesDelivered: 0, envelopesDropped: 0, refused: 0, closedSlow: 0 };

  constructor(options: RelayOptions) {
    this.#store = options.store;
    this.#limits = resolveLimits(DEFAULT_LIMITS, options.limits, 'limits');
    this.#quotas = resolveLimits(DEFAULT_QUOTAS, options.quotas, 'quotas');
    this.#log = options.log ?? (() => undefined);
    this.#authenticate = options.authenticate;
    const after = options.retention?.afterSnapshots;
    if (after !== undefined && !(Number.isSafeInteger(after) && after >= 0)) throw new RangeError('retention.afterSnapshots is a whole number, 0 or more');
    this.#retainAfter = after;
    this.#logs = new WeightedLru(this.#limits.logCacheBytes);
    this.#indexes = new WeightedLru(this.#limits.indexCacheRanges);
    this.#pageBounds = new WeightedLru(10_000);
    this.#pages = new WeightedLru(this.#limits.logCacheBytes);
    this.#bulk = new TokenBucket(this.#limits.bulkBytesPerSecond, this.#limits.bulkBytesPerSecond);
    this.#creations = new TokenBucket(this.#limits.groupsPerSecond, this.#limits.groupsPerSecond * 2);
    this.#store.onEvent?.((event) => void this.#onStoreEvent(event).catch((error: unknown) => this.#log({ event: 'error', connection: 0, detail: describe(error) })));
    this.ready = this.#indexMembership();
  }

  /** What the relay has done and holds now. */
  get stats(): RelayStats {
    return { ...this.#counts, connections: this.#clients.size, cachedLogs: this.#logs.size, cachedIndexes: this.#indexes.size };
  }

  /** The limits in force (defaults filled in). */
  get limits(): Readonly<RelayLimits> {
    return this.#limits;
  }

  /** Largest frame this relay accepts. */
  get maxFrameBytes(): number {
    return this.#limits.maxFrameBytes;
  }

  /** Groups stored by a relay that kept no membership index get one, from their logs, before anything is served. */
  async #indexMembership(): Promise<void> {
    try {
      for (const groupId of await this.#store.unindexedGroups()) {
        const log = await MembershipLog.fromOps(await this.#store.loadOps(groupId));
        await this.#store.setMembers(groupId, log.members().map((m) => m.memberId));
      }
    } catch (error) {
      this.#log({ event: 'error', connection: 0, detail: `indexing membership: ${describe(error)}` });
    }
  }

  /**
   * A new connection: the relay sends its challenge and returns the handlers to call.
   * `authenticated` tells the transport when the client's hello was verified (until then it
   * may bound what it reads from the client more tightly).
   */
  accept(connection: RelayConnection): { receive(frame: Uint8Array): void; closed(): void; readonly authenticated: boolean } {
    const client = new Client(++this.#nextId, connection, this.#limits, {
      handle: (c, frame) => this.#handle(c, frame),
      waiting: () => this.#watchDrain(),
      bulk: this.#bulk,
    });
    if (this.#clients.size >= this.#limits.maxConnections) {
      client.queue(encodeWire({ type: 'error', ref: 0, code: 'busy', message: 'the relay serves as many connections as it can: try again later' }));
      client.close(CLOSE_BUSY, 'busy');
      return { receive: () => undefined, closed: () => undefined, authenticated: false };
    }
    let address = this.#addresses.get(client.address);
    if (address && address.connections >= this.#limits.connectionsPerAddress) {
      client.queue(encodeWire({ type: 'error', ref: 0, code: 'quota-exceeded', message: `one network address may hold ${this.#limits.connectionsPerAddress} connections at once` }));
      client.close(CLOSE_POLICY, 'too many connections');
      return { receive: () => undefined, closed: () => undefined, authenticated: false };
    }
    if (!address) {
      const rate = this.#limits.groupsPerAddressPerSecond;
      address = { connections: 0, creations: new TokenBucket(rate, rate * 4) };
      this.#addresses.set(client.address, address);
    }
    address.connections++;
    this.#clients.add(client);
    this.#pending.add(client);
    if (this.#pending.size > this.#limits.maxPendingConnections) {
      const [oldest] = this.#pending;
      this.#refuse(oldest!, 0, new Refusal('not-authenticated', 'too many connections are waiting to say hello'));
      this.#close(oldest!, CLOSE_POLICY, 'hello timeout');
    }
    client.helloTimer = setTimeout(() => {
      if (client.memberId || client.closed) return;
      this.#refuse(client, 0, new Refusal('not-authenticated', `say hello within ${this.#limits.helloTimeoutMs} ms`));
      this.#close(client, CLOSE_POLICY, 'hello timeout');
    }, this.#limits.helloTimeoutMs);
        this.#sweepTimer ??= setInterval(() => this.#sweep(), SWEEP_MS);
    this.#sweepTimer.unref?.();
    this.#log({ event: 'connected', connection: client.id });
    this.#send(client, { type: 'challenge', nonce: client.nonce, maxFrameBytes: this.#limits.maxFrameBytes });
    return {
      receive: (frame) => {
        if (!client.closed && this.#admit(client, frame.length)) client.receive(frame);
      },
      closed: () => this.#forget(client),
      get authenticated() {
        return client.memberId !== undefined;
      },
    };
  }

  /** Sends what is queued, closes, and forgets the connection at once (its transport may report the close later). */
  #close(client: Client, code: number, reason: string): void {
    client.close(code, reason);
    this.#forget(client);
  }

  #forget(client: Client): void {
    if (!this.#clients.delete(client)) return;
    this.#pending.delete(client);
    client.closed = true;
    clearTimeout(client.helloTimer);
    client.wake();
    const identity = client.memberId && this.#identities.get(client.key);
    if (identity) identity.connections--;
    const address = this.#addresses.get(client.address);
    if (address && --address.connections === 0 && address.creations.full) this.#addresses.delete(client.address);
        this.#log({ event: 'closed', connection: client.id, member: client.member });
  }

  /** Stops the timers and closes every connection (clients may connect again). The store stays open. */
  close(): void {
    clearInterval(this.#drainTimer);
    clearInterval(this.#sweepTimer);
    this.#drainTimer = this.#sweepTimer = undefined;
    for (const { timer } of this.#retention.values()) clearTimeout(timer);
    this.#retention.clear();
    for (const client of [...this.#clients]) this.#close(client, 1001, 'relay shutting down');
  }

  /** Token buckets, per connection and per identity: a client over its rate gets an error; one that keeps on is closed. */
  #admit(client: Client, size: number): boolean {
    const limit = client.memberId ? this.#limits.maxFrameBytes : MAX_FRAME_BEFORE_HELLO;
    if (size > limit) {
      this.#refuse(client, 0, new Refusal('too-large', client.memberId ? `a frame is at most ${limit} bytes` : 'say hello first'));
      this.#close(client, CLOSE_TOO_BIG, 'frame too large');
      return false;
    }
    const identity = client.memberId && this.#identities.get(client.key);
    if (client.frames.take(1) && client.bytes.take(size) && (!identity || (identity.frames.take(1) && identity.bytes.take(size)))) return true;
    this.#refuse(client, 0, new Refusal('rate-limited', 'too many frames or bytes: slow down'));
    if (++client.strikes > 100) this.#close(client, CLOSE_POLICY, 'rate limit');
    return false;
  }

  async #handle(client: Client, frame: Uint8Array): Promise<void> {
    try {
      await this.ready;
      await this.#receive(client, frame);
    } catch (error) {
      this.#internal(client, error);
    }
  }

  async #receive(client: Client, frame: Uint8Array): Promise<void> {
    let message: WireMessage;
    try {
      message = decodeWire(frame, this.#limits.maxFrameBytes);
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
          await this.#ops(client, message.groupId, message.fromIndex, message.ops);
          return;
        case 'commit-ops':
          this.#send(client, { type: 'ack', ref: message.ref, cursor: await this.#ops(client, message.groupId, message.fromIndex, message.ops) });
          return;
        case 'member-seq': {
          await this.#member(client, message.groupId);
          const highest = await this.#store.highestSeq(message.groupId, message.memberId);
          this.#send(client, { type: 'ack', ref: message.ref, cursor: highest === undefined ? 0 : highest + 1 });
          return;
        }
        case 'covers':
          return await this.#covers(client, message);
        case 'beacon':
          return await this.#beacon(client, message);
        case 'invite-open':
        case 'invite-close':
        case 'invite-request':
        case 'invite-watch':
        case 'invite-status':
          return await this.#invitation(client, message);
        case 'fetch-ops': {
          const log = await this.#member(client, message.groupId);
          return await this.#sendOps(client, message.groupId, log, message.fromIndex);
        }
        case 'ping':
          this.#send(client, { type: 'pong', nonce: message.nonce });
          return;
        case 'list-groups':
          this.#send(client, { type: 'groups', ref: message.ref, groupIds: await this.#store.groupsOf(client.memberId) });
          return;
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
    const memberId = memberIdOf(message.signingPublicKey);
    const authenticate = this.#authenticate;
    // A hook that throws (at once or later) refuses; its error stays here (it may name secrets).
    const verdict = authenticate ? await (async () => authenticate({ memberId, signingPublicKey: message.signingPublicKey }, client.connection.request))().catch(() => 'the server could not check this client') : true;
    // Closed meanwhile (its hello deadline passed while the hook ran): nothing to count it under.
    if (client.closed) return;
    if (verdict !== true) {
      this.#refuse(client, 0, new Refusal('auth-failed', typeof verdict === 'string' && verdict ? verdict.slice(0, 200) : 'this server does not admit this client'));
      this.#close(client, CLOSE_POLICY, 'auth failed');
      return;
    }
    const key = hex(memberId);
    let identity = this.#identities.get(key);
    if (identity && identity.connections >= this.#limits.connectionsPerIdentity) {
      this.#refuse(client, 0, new Refusal('quota-exceeded', `one identity may hold ${this.#limits.connectionsPerIdentity} connections at once`));
      this.#close(client, CLOSE_POLICY, 'too many connections');
      return;
    }
    if (!identity) {
      const { framesPerSecond: f, bytesPerSecond: b, storeRowsPerSecond: r, sendBytesPerSecond: o } = this.#limits;
      identity = { connections: 0, frames: new TokenBucket(f, f * 2), bytes: new TokenBucket(b, b * 2), rows: new TokenBucket(r, r * 5), sent: new TokenBucket(o, o) };
      this.#identities.set(key, identity);
    }
    identity.connections++;
    client.sendBudget = identity.sent;
    client.memberId = memberId;
    client.key = key;
    client.member = key.slice(0, 16);
    clearTimeout(client.helloTimer);
    this.#pending.delete(client);
    this.#log({ event: 'authenticated', connection: client.id, member: client.member });
    this.#send(client, { type: 'welcome', memberId });
  }

  /**
   * Charges store rows read for a client (per connection and per identity); waits while either
   * is in debt, so that what one client makes the relay read is bounded by the rate.
   */
  async #charge(client: Client, rows: number): Promise<void> {
    const identity = this.#identities.get(client.key);
    const wait = Math.max(client.rows.charge(rows), identity?.rows.charge(rows) ?? 0);
    if (wait > 0 && !client.closed) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  /** The group's log (loaded from the store, kept within the cache's bound); undefined for an unknown group, which is not kept. */
  #group(groupId: Uint8Array): Promise<MembershipLog | undefined> {
    const key = hex(groupId);
    const cached = this.#logs.get(key);
    if (cached) return cached;
    const load = this.#store.loadOps(groupId).then(async (ops) => {
      if (ops.length === 0) return undefined;
      // Verified when they were stored: read back without checking signatures and keys again.
      const log = await MembershipLog.fromVerifiedOps(ops);
      this.#logBytes.set(key, ops.reduce((n, op) => n + op.length, 0));
      return log;
    });
    this.#logs.set(key, load, 1);
    load.then(
      (log) => (log ? this.#logs.reweigh(key, this.#logBytes.get(key) ?? 1) : this.#logs.get(key) === load && this.#logs.delete(key)),
      () => this.#logs.get(key) === load && this.#logs.delete(key),
    );
    return load;
  }

  /** Keeps the live log in the cache, with its weight, after ops were appended to it. */
  #keepLog(groupId: Uint8Array, log: MembershipLog, addedBytes: number): void {
    const key = hex(groupId);
    const bytes = (this.#logBytes.get(key) ?? 0) + addedBytes;
    this.#logBytes.set(key, bytes);
    this.#logs.set(key, Promise.resolve(log), bytes);
  }

  /** Where a client stands in a group: from the cached log when there is one, else from the store's index (no log replayed). */
  async #standing(client: Client, groupId: Uint8Array): Promise<'member' | 'not-a-member' | 'unknown-group'> {
    const cached = this.#logs.get(hex(groupId));
    const log = cached && (await cached);
    if (log) return log.member(client.memberId!) ? 'member' : 'not-a-member';
    return this.#store.membership(groupId, client.memberId!);
  }

  /** The group's log, if the client is a current member of it; otherwise a refusal. Non-members never make the relay read a log. */
  async #member(client: Client, groupId: Uint8Array): Promise<MembershipLog> {
    const standing = await this.#standing(client, groupId);
    if (standing === 'unknown-group') throw new Refusal('unknown-group', 'this relay serves no such group');
    if (standing === 'not-a-member') throw new Refusal('not-a-member', 'you are not a member of this group');
    const log = await this.#group(groupId);
    if (!log) throw new Refusal('unknown-group', 'this relay serves no such group');
    if (!log.member(client.memberId!)) throw new Refusal('not-a-member', 'you are not a member of this group');
    return log;
  }

  /** Runs `work` after what is queued for the group. */
  #serial<T>(groupId: Uint8Array, work: () => Promise<T>): Promise<T> {
    const key = hex(groupId);
    const run = (this.#queues.get(key) ?? Promise.resolve()).then(work);
    const tail = run.catch(() => undefined);
    this.#queues.set(key, tail);
    void tail.then(() => this.#queues.get(key) === tail && this.#queues.delete(key));
    return run;
  }

  /**
   * A document's summary: loaded from the store once (charged to `client`, in order with the
   * group's writes, so that none is missed), then kept up to date as envelopes are stored.
   */
  async #docIndex(groupId: Uint8Array, docId: Uint8Array, client: Client): Promise<SeqRanges> {
    const key = docKey(groupId, docId);
    let entry = this.#indexes.get(key);
    if (!entry) {
      let rows = 0;
      const created: DocIndex = {
        ranges: new SeqRanges(),
        loaded: false,
        ready: this.#serial(groupId, async () => {
          // In cursor order, sequence numbers may come in any order: sorted per author first.
          const index = await this.#store.index(groupId, docId);
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
      await this.#charge(client, rows);
    }
    await entry.ready;
    return entry.ranges;
  }

  /** Records a stored envelope in its document's summary, if that summary is kept. */
  #indexed(groupId: Uint8Array, docId: Uint8Array, author: Uint8Array, seq: number): void {
    const key = docKey(groupId, docId);
    const entry = this.#indexes.get(key);
    if (!entry) return;
    void entry.ready.then(() => {
      const before = entry.ranges.rangeCount;
      entry.ranges.add(hex(author), seq);
      if (entry.ranges.rangeCount !== before) this.#indexes.reweigh(key, entry.ranges.rangeCount);
    }, () => undefined);
  }

  async #subscribe(client: Client, groupId: Uint8Array, docId: Uint8Array, cursor: number): Promise<void> {
    const key = docKey(groupId, docId);
    if (!client.subscriptions.has(key) && client.subscriptions.size >= this.#limits.subscriptionsPerConnection)
      throw new Refusal('quota-exceeded', `one connection subscribes to ${this.#limits.subscriptionsPerConnection} documents at most`);
    const standing = await this.#standing(client, groupId);
    if (standing === 'not-a-member') throw new Refusal('not-a-member', 'you are not a member of this group');
    // A group not created yet (its creator's ops may be on their way): the subscription waits for it.
    const waiting = standing === 'unknown-group';
    if (waiting && [...client.subscriptions.values()].filter((s) => s.waiting).length >= MAX_WAITING_SUBSCRIPTIONS)
      throw new Refusal('quota-exceeded', `one connection waits for ${MAX_WAITING_SUBSCRIPTIONS} unknown groups at most`);
    const subscription: Subscription = { groupId, docId, from: cursor, sent: cursor, lagging: true, pumping: false, waiting, answered: new SeqRanges() };
    client.subscriptions.set(key, subscription);
    // The backlog after the cursor comes from the store, page by page, then live.
    if (!waiting) await this.#pump(client, subscription);
  }

  /** Sends a lagging subscription what the store holds after what it was sent, while the queue allows. */
  async #pump(client: Client, s: Subscription): Promise<void> {
    if (s.pumping) return;
    s.pumping = true;
    try {
      while (s.lagging && !client.closed && client.subscriptions.get(docKey(s.groupId, s.docId)) === s) {
        if (!client.hasRoom) return this.#watchDrain();
        const page = await this.#store.envelopesAfter(s.groupId, s.docId, s.sent, PAGE);
        await this.#charge(client, page.length);
        for (const e of page) {
          if (!client.hasBulkRoom) return this.#watchDrain();
          this.#deliver(client, s, e.cursor, e.bytes, true);
        }
        if (page.length < PAGE) {
          s.lagging = false;
          this.#send(client, { type: 'caught-up', groupId: s.groupId, docId: s.docId, cursor: s.sent });
        }
      }
    } finally {
      s.pumping = false;
    }
  }

  /** Sends one stored envelope on a subscription: live, or as part of a bulk answer (`bulk`); `frame`: its deliver frame, when already encoded. */
  #deliver(client: Client, s: Subscription, cursor: number, envelope: Uint8Array, bulk: boolean, frame?: Uint8Array): void {
    const encoded = frame ?? encodeWire({ type: 'deliver', groupId: s.groupId, docId: s.docId, cursor, envelope });
    if (bulk) client.queueBulk(encoded);
    else client.queue(encoded);
    s.sent = Math.max(s.sent, cursor);
    this.#counts.envelopesDelivered++;
  }

  /** While connections drain: what waited for room goes on, lagging subscriptions catch up, owed ops are sent. */
  #watchDrain(): void {
    this.#drainTimer ??= setInterval(() => {
      let waiting = false;
      for (const client of this.#clients) {
        if (!client.waiting) continue;
        waiting = true;
        if (client.backlog > this.#limits.highWaterBytes / 2) continue;
        client.wake();
        for (const [key, owed] of client.opsOwed) {
          client.opsOwed.delete(key);
          void this.#group(owed.groupId).then((log) => log && this.#sendOps(client, owed.groupId, log, owed.fromIndex)).catch((error: unknown) => this.#internal(client, error));
        }
        for (const s of client.subscriptions.values()) if (s.lagging && !s.waiting) void this.#pump(client, s).catch((error: unknown) => this.#internal(client, error));
      }
      if (!waiting) {
        clearInterval(this.#drainTimer);
        this.#drainTimer = undefined;
      }
    }, DRAIN_CHECK_MS);
  }

  /**
   * Every second: connections that have not read for `stallMs` are closed, and so are those
   * holding most while all queues together exceed `maxQueuedBytes`; idle identities are forgotten.
   */
  #sweep(): void {
    const now = Date.now();
    let total = 0;
    for (const client of this.#clients) {
      const backlog = client.backlog;
      total += backlog;
      if (backlog <= this.#limits.highWaterBytes) client.fullSince = undefined;
      else if ((client.fullSince ??= now) < now - this.#limits.stallMs) this.#tooSlow(client);
    }
    if (total > this.#limits.maxQueuedBytes) {
      for (const client of [...this.#clients].sort((a, b) => b.backlog - a.backlog)) {
        if (total <= this.#limits.maxQueuedBytes) break;
        total -= client.backlog;
        this.#tooSlow(client);
      }
    }
    if (this.#identities.size > MAX_IDLE_IDENTITIES / 2)
      for (const [key, identity] of this.#identities) if (identity.connections === 0 && (identity.frames.full || this.#identities.size > MAX_IDLE_IDENTITIES)) this.#identities.delete(key);
    for (const [key, address] of this.#addresses) if (address.connections === 0 && address.creations.full) this.#addresses.delete(key);
    if (this.#clients.size === 0) {
      clearInterval(this.#sweepTimer);
      this.#sweepTimer = undefined;
    }
  }

  /** A connection that does not read: what is queued for it is dropped with it (it would not read a last word either). */
  #tooSlow(client: Client): void {
    this.#counts.closedSlow++;
    this.#log({ event: 'refused', connection: client.id, code: 'too-slow', member: client.member });
    client.terminate(CLOSE_POLICY, 'too slow: read what the relay sends');
    this.#forget(client);
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
    client.pushesInFlight++;
    void this.#enqueue(client, header, bytes)
      .then(
        ({ outcome, cursor }) => {
          if (outcome === 'conflict') return this.#refuse(client, ref, new Refusal('conflict', `another envelope of this author already has sequence number ${header.seq}`));
          this.#send(client, { type: 'ack', ref, cursor });
          if (outcome === 'stored') {
            this.#counts.envelopesAccepted++;
            this.#fanOut(header.groupId, header.docId, cursor, bytes, client);
          }
        },
        (error: unknown) => {
          if (error instanceof Refusal) this.#refuse(client, ref, error);
          else if (error instanceof EnvelopeError) this.#refuse(client, ref, new Refusal(error.code, error.message));
          else this.#internal(client, error);
        },
      )
      .finally(() => {
        client.pushesInFlight--;
        client.wake();
      });
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
   * removal appended meanwhile wins, and against its quotas.
   */
  async #flush(key: string, groupId: Uint8Array, batch: Pending[]): Promise<void> {
    // Pushes verified in this turn of the event loop join the batch.
    await new Promise((resolve) => setImmediate(resolve));
    if (this.#batches.get(key) === batch) this.#batches.delete(key);
    try {
      const log = await this.#group(groupId);
      const checked: Pending[] = [];
      for (const item of batch) {
        try {
          const author = log?.verifyContext().author(item.header);
          if (!author) throw new Refusal('not-a-member', 'the author is not a member of this group');
          if (author.role === 'reader') throw new Refusal('not-a-writer', 'the author may not write');
          if (!log!.member(item.client.memberId!)) throw new Refusal('not-a-member', 'you are no longer a member of this group');
          // Removed (or made a reader) since: what the relay held of it counts, nothing new does,
          // whatever its sequence number (below a cutoff stretched by a jump, too).
          const now = log!.member(item.header.author);
          if (!now || now.role === 'reader') {
            const [held] = await this.#store.envelopesBySeq(groupId, item.header.docId, item.header.author, item.header.seq, item.header.seq, Number.MAX_SAFE_INTEGER, 1);
            if (!held) throw new Refusal('past-cutoff', 'its author was removed or made a reader: nothing new from it is accepted');
          }
          checked.push(item);
        } catch (error) {
          item.reject(error);
        }
      }
      const accepted = await this.#withinQuotas(groupId, checked);
      if (accepted.length === 0) return;
      const results = await this.#store.putEnvelopes(
        accepted.map(({ header, bytes }) => ({ groupId: header.groupId, docId: header.docId, author: header.author, seq: header.seq, bytes })),
      );
      accepted.forEach((item, i) => {
        if (results[i]!.outcome === 'stored') this.#indexed(groupId, item.header.docId, item.header.author, item.header.seq);
        item.resolve(results[i]!);
      });
    } catch (error) {
      for (const item of batch) item.reject(error);
    }
  }

  /** The pushes whose authors stay within their quotas (bytes, and documents for a document's first envelope); the rest are refused. */
  async #withinQuotas(groupId: Uint8Array, items: Pending[]): Promise<Pending[]> {
    const accepted: Pending[] = [];
    const usage = new Map<string, { bytes: number; documents: number }>();
    const fresh = new Map<string, boolean>();
    for (const item of items) {
      const author = hex(item.header.author);
      let used = usage.get(author);
      if (!used) {
        used = await this.#store.usage(item.header.author);
        usage.set(author, used);
      }
      const doc = hex(item.header.docId);
      // Already in the summary: a replay, which stores nothing. (A summary still loading waits
      // behind this write in the group's queue: it is not waited for.)
      const index = this.#indexes.get(docKey(groupId, item.header.docId));
      if (index?.loaded && index.ranges.has(author, item.header.seq)) {
        accepted.push(item);
        continue;
      }
      if (!fresh.has(doc)) fresh.set(doc, (await this.#store.envelopesAfter(groupId, item.header.docId, 0, 1)).length === 0);
      const startsDocument = fresh.get(doc)!;
      if (used.bytes + item.bytes.length > this.#quotas.bytesPerIdentity) {
        item.reject(new Refusal('quota-exceeded', `this identity may store ${this.#quotas.bytesPerIdentity} bytes here`));
        continue;
      }
      if (startsDocument && used.documents + 1 > this.#quotas.documentsPerIdentity) {
        item.reject(new Refusal('quota-exceeded', `this identity may start ${this.#quotas.documentsPerIdentity} documents here`));
        continue;
      }
      used.bytes += item.bytes.length;
      if (startsDocument) {
        used.documents++;
        fresh.set(doc, false);
      }
      accepted.push(item);
    }
    return accepted;
  }

  /** A peer message carrying an envelope: awareness is relayed, never stored; the rest is a push without an ack. */
  async #envelope(client: Client, bytes: Uint8Array): Promise<void> {
    const header = readEnvelopeHeader(bytes);
    if (header.kind !== 'awareness') return this.#push(client, 0, bytes);
    if ((await this.#standing(client, header.groupId)) === 'unknown-group') return; // presence before its group exists here: dropped
    await this.#verify(client, bytes, ['awareness']);
    this.#relay(client, header.groupId, header.docId, encodeWire({ type: 'envelope', envelope: bytes }));
  }

  /** Passes a frame that is never stored (presence, a beacon) to the document's other subscribers that have room for it. */
  #relay(from: Client, groupId: Uint8Array, docId: Uint8Array, frame: Uint8Array): void {
    const key = docKey(groupId, docId);
    for (const other of this.#clients) if (other !== from && other.subscriptions.has(key) && other.backlog <= this.#limits.highWaterBytes) other.queue(frame);
  }

  /**
   * A member's head beacon: relayed, never stored, to the document's other subscribers, like
   * presence. Only its own (signed by the key it said hello with), only from a current member.
   */
  async #beacon(client: Client, message: Extract<WireMessage, { type: 'beacon' }>): Promise<void> {
    if (!equalBytes(memberIdOf(message.signingPublicKey), client.memberId!)) throw new Refusal('bad-signature', 'a beacon is signed by the member that sends it');
    if ((await this.#standing(client, message.groupId)) === 'unknown-group') return; // before its group exists here: dropped
    await this.#member(client, message.groupId);
    const { type: _type, signature, ...body } = message;
    if (!(await verifyMessage(message.signingPublicKey, BEACON_CONTEXT, beaconSignedBytes(body), signature).catch(() => false))) throw new Refusal('bad-signature', 'the beacon’s signature does not verify');
    this.#relay(client, message.groupId, message.docId, encodeWire(message));
  }

  /** Sends a stored envelope to every subscriber of its document (but `except`). */
  #fanOut(groupId: Uint8Array, docId: Uint8Array, cursor: number, bytes: Uint8Array, except?: Client): void {
    const key = docKey(groupId, docId);
    // One frame for every subscriber.
    const frame = encodeWire({ type: 'deliver', groupId, docId, cursor, envelope: bytes });
    for (const client of this.#clients) {
      const s = client.subscriptions.get(key);
      if (!s || s.waiting || client === except) continue;
      if (s.lagging || client.backlog > this.#limits.highWaterBytes) {
        // Behind: it catches up from the store, in order, once its queue drains.
        s.lagging = true;
        this.#watchDrain();
        continue;
      }
      if (cursor > s.sent) this.#deliver(client, s, cursor, bytes, false, frame);
    }
  }

  /** Sends the log's ops from `fromIndex` (the page that holds it on), each frame once the client has room. */
  async #sendOps(client: Client, groupId: Uint8Array, log: MembershipLog, fromIndex: number): Promise<void> {
    for (const frame of this.#opsPages(groupId, log, fromIndex)) {
      await client.room(true);
      if (client.closed) return;
      client.queueBulk(frame);
    }
  }

  /**
   * The log as `ops` frames, from the page that holds `fromIndex` on. Pages have fixed bounds
   * (each as many ops as fit in a client's frame, from the first op), and each is encoded once
   * and shared by every client that asks for it (a bounded cache): what many clients asking for
   * a long log cost is one copy of it, not one each. A client that holds the first ops of a
   * page already checks them against its own and takes the rest.
   */
  #opsPages(groupId: Uint8Array, log: MembershipLog, fromIndex: number): Uint8Array[] {
    const key = hex(groupId);
    let bounds = this.#pageBounds.get(key);
    if (!bounds || bounds.log !== log || bounds.length > log.length) bounds = { log, length: 0, starts: [], lastBytes: 0 };
    // Extend the bounds with the ops appended since they were last computed.
    for (let i = bounds.length; i < log.length; i++) {
      const size = log.opByteLength(i);
      if (bounds.starts.length === 0 || bounds.lastBytes + size > OPS_FRAME_BYTES) {
        bounds.starts.push(i);
        bounds.lastBytes = 0;
      }
      bounds.lastBytes += size;
    }
    bounds.length = log.length;
    this.#pageBounds.set(key, bounds, 1);
    const frames: Uint8Array[] = [];
    for (let p = 0; p < bounds.starts.length; p++) {
      const start = bounds.starts[p]!;
      const end = bounds.starts[p + 1] ?? log.length;
      if (end <= fromIndex) continue;
      const pageKey = `${key}:${start}:${end}`;
      let frame = this.#pages.get(pageKey);
      if (!frame) {
        frame = encodeWire({ type: 'ops', groupId, fromIndex: start, ops: log.ops(start, end) });
        this.#pages.set(pageKey, frame, frame.length);
      }
      frames.push(frame);
    }
    return frames;
  }

  /**
   * Answers a document's `have` as a peer: the ops it lacks, the envelopes it lacks at or below
   * the cursor it subscribed from (above it, its subscription sends them), and (to a request)
   * our own summary. Costs what it sends, and the rows it reads are charged to the client.
   */
  async #have(client: Client, message: Extract<WireMessage, { type: 'have' }>): Promise<void> {
    if ((await this.#standing(client, message.groupId)) === 'unknown-group') {
      // Unknown here: an empty log and nothing held, so that its creator sends the ops.
      if (!message.reply) this.#send(client, { type: 'have', reply: true, groupId: message.groupId, docId: message.docId, logLength: 0, authors: [] });
      return;
    }
    const log = await this.#member(client, message.groupId);
    const s = client.subscriptions.get(docKey(message.groupId, message.docId));
    if (!s) throw new Refusal('not-subscribed', 'subscribe to the document before saying what you hold of it');
    if (message.logLength < log.length) await this.#sendOps(client, message.groupId, log, message.logLength);
    const ours = await this.#docIndex(message.groupId, message.docId, client);
    if (s.from > 0) {
      // Each set is built in order (the decoder refuses unordered ranges), so each costs its size.
      const theirs = new SeqRanges();
      for (const [author, ranges] of message.authors) for (const [a, b] of ranges) theirs.addRange(hex(author), a, b);
      const lacking = new SeqRanges();
      for (const [author, a, b] of ours.missingFrom(theirs)) lacking.addRange(author, a, b);
      for (const [author, start, end] of [...lacking.missingFrom(s.answered)]) {
        s.answered.addRange(author, start, end);
        for (let from = start; from <= end && !client.closed; ) {
          await client.room(true);
          const page = await this.#store.envelopesBySeq(message.groupId, message.docId, unhex(author), from, end, s.from, PAGE);
          await this.#charge(client, Math.max(1, page.length));
          for (const e of page) this.#deliver(client, s, e.cursor, e.bytes, true);
          if (page.length < PAGE) break;
          from = page[page.length - 1]!.seq + 1;
        }
      }
    }
    if (!message.reply) this.#send(client, { type: 'have', reply: true, groupId: message.groupId, docId: message.docId, logLength: log.length, authors: summary(ours) });
  }

  /**
   * A snapshot author's attestation of what the snapshot covers: checked against the stored
   * snapshot (its author's key under the log), kept, and retention scheduled for the document.
   */
  async #covers(client: Client, message: Extract<WireMessage, { type: 'covers' }>): Promise<void> {
    const log = await this.#member(client, message.groupId);
    const ours = await this.#docIndex(message.groupId, message.docId, client);
    // After the group's pending writes: the snapshot pushed just before is stored by then.
    await this.#serial(message.groupId, async () => {
      const [stored] = await this.#store.envelopesBySeq(message.groupId, message.docId, message.author, message.seq, message.seq, Number.MAX_SAFE_INTEGER, 1);
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
      const own = intersect(claimed, ours.of(hex(message.author)));
      const attestation = new ByteWriter().ranges([[message.author, own]]).finish();
      if (await this.#store.putCovers(message.groupId, message.docId, { author: message.author, seq: message.seq, attestation }))
        this.#scheduleRetention(client, message.groupId, message.docId);
    });
  }

  /** Runs retention for a document soon, at most once every RETENTION_INTERVAL_MS. */
  #scheduleRetention(client: Client, groupId: Uint8Array, docId: Uint8Array): void {
    if (this.#retainAfter === undefined) return;
    const key = docKey(groupId, docId);
    const state = this.#retention.get(key) ?? { timer: undefined, last: 0 };
    this.#retention.set(key, state);
    if (state.timer !== undefined) return;
    const delay = Math.max(RETENTION_DELAY_MS, state.last + RETENTION_INTERVAL_MS - Date.now());
    state.timer = setTimeout(() => {
      state.timer = undefined;
      state.last = Date.now();
      void this.#serial(groupId, () => this.#retain(client, groupId, docId))
        .catch((error: unknown) => this.#log({ event: 'error', connection: client.id, detail: `retention: ${describe(error)}` }))
        .finally(() => state.timer === undefined && Date.now() - state.last >= RETENTION_INTERVAL_MS && this.#retention.delete(key));
    }, delay);
  }

  /** Retention for one document (retention.ts): each author's envelopes that its own ripe snapshots cover are dropped. */
  async #retain(client: Client, groupId: Uint8Array, docId: Uint8Array): Promise<void> {
    const afterSnapshots = this.#retainAfter!;
    const index = await this.#store.index(groupId, docId);
    const cursorOf = new Map(index.map((e) => [`${hex(e.author)}:${e.seq}`, e.cursor]));
    const attested = (await this.#store.covers(groupId, docId)).flatMap((c) => {
      const author = hex(c.author);
      const cursor = cursorOf.get(`${author}:${c.seq}`);
      if (cursor === undefined) return [];
      const own: SeqRange[] = new ByteReader(c.attestation).ranges().flatMap(([a, ranges]) => (hex(a) === author ? ranges : []));
      return [{ author, cursor, own }];
    });
    const drop = droppable(index, (e) => hex(e.author), attested, afterSnapshots);
    if (drop.length === 0) return;
    await this.#store.dropEnvelopes(drop);
    this.#counts.envelopesDropped += drop.length;
    this.#log({ event: 'retention', connection: client.id, count: drop.length });
  }

  /**
   * Ops from a client: the genesis of a new group, or ops that extend the log. Costs the ops
   * it adds: ops the log holds already are compared byte for byte and skipped (a duplicate is a
   * no-op), an op built on an older head is refused before its signature is checked, and the
   * new ones are verified against the live log one by one (a refused op changes nothing), then
   * stored. An op after a refused one is not taken; those before it are.
   */
  async #ops(client: Client, groupId: Uint8Array, fromIndex: number, ops: Uint8Array[]): Promise<number> {
    if (ops.length === 0) return fromIndex;
    const added = await this.#serial(groupId, async (): Promise<{ from: number; count: number; error?: unknown }> => {
      const standing = await this.#standing(client, groupId);
      if (standing === 'unknown-group') return { from: 0, count: await this.#create(client, groupId, fromIndex, ops) };
      if (standing === 'not-a-member') throw new Refusal('not-a-member', 'you are not a member of this group');
      const log = await this.#member(client, groupId);
      const before = log.length;
      if (fromIndex > before) throw new Refusal('unknown-predecessor', `the ops start at ${fromIndex}, past the ${before} this relay holds`);
      // Ops that differ from what the log holds at their place were built on an older head:
      // the client fetches, rebases and sends again.
      const overlap = ops.slice(0, before - fromIndex);
      const held = log.ops(fromIndex, fromIndex + overlap.length);
      if (overlap.some((op, i) => !equalBytes(op, held[i]!))) throw new Refusal('stale-head', 'the log moved meanwhile: fetch it and rebase');
      const fresh = ops.slice(overlap.length);
      if (fresh.length === 0) return { from: before, count: 0 };
      const applied: Uint8Array[] = [];
      const decoded: MembershipOp[] = [];
      let error: unknown;
      try {
        for (const op of fresh) {
          // A create here is refused (by append) before its keys are read.
          const d = op[1] === 1 ? undefined : readMembershipOp(op);
          // The relay orders a removal against the removed member's envelopes: a cutoff below what it already accepted would make members disagree.
          if (d) await this.#checkCutoff(groupId, d);
          if (d) await this.#checkOpQuota(d.author, op.length);
          await log.append(op);
          applied.push(op);
          decoded.push(d!);
        }
      } catch (e) {
        error = e;
      }
      if (applied.length > 0) {
        let stored = false;
        try {
          stored = await this.#store.appendOps(groupId, before, applied, opsEffect(decoded, log));
        } finally {
          // Not stored (another node was first, or the store failed): the live log is read again.
          if (stored) this.#keepLog(groupId, log, applied.reduce((n, op) => n + op.length, 0));
          else this.#logs.delete(hex(groupId));
        }
        if (!stored) throw new Refusal('stale-head', 'the log moved meanwhile: fetch it and rebase');
      }
      return { from: before, count: applied.length, error };
    });
    if (added.count > 0) this.#announceOps(groupId, added.from, client);
    if (added.error) throw added.error;
    return added.from + added.count;
  }

  async #create(client: Client, groupId: Uint8Array, fromIndex: number, ops: Uint8Array[]): Promise<number> {
    if (fromIndex !== 0) throw new Refusal('unknown-group', 'this relay serves no such group');
    // Before any key of the first op is read: how many members it names (a create op's u32 at
    // byte 111, after the header, the history byte and the salt: docs/membership.md).
    const first = ops[0]!;
    const founders = first[1] === 1 && first.length >= 115 ? new DataView(first.buffer, first.byteOffset).getUint32(111) : 0;
    if (founders > this.#limits.foundersPerGroup) throw new Refusal('too-large', `a group starts with ${this.#limits.foundersPerGroup} members at most; add the others afterwards`);
    if (!this.#addresses.get(client.address)?.creations.take(1)) throw new Refusal('busy', 'this network address has created many groups just now: try again in a moment');
    if (!this.#creations.take(1)) throw new Refusal('busy', 'the relay creates many groups right now: try again in a moment');
    const usage = await this.#store.usage(client.memberId!);
    if (usage.groups >= this.#quotas.groupsPerIdentity) throw new Refusal('quota-exceeded', `this identity may create ${this.#quotas.groupsPerIdentity} groups here`);
    const log = await MembershipLog.fromOps(ops);
    if (hex(log.groupId) !== hex(groupId)) throw new Refusal('malformed', 'the ops belong to another group');
    if (!log.member(client.memberId!)) throw new Refusal('not-a-member', 'only a member creates a group here');
    const decoded = ops.map((_, i) => log.opAt(i));
    for (const [i, d] of decoded.entries()) await this.#checkOpQuota(d.author, ops[i]!.length);
    if (!(await this.#store.appendOps(groupId, 0, ops, opsEffect(decoded, log)))) throw new Refusal('stale-head', 'the group was created meanwhile');
    this.#keepLog(groupId, log, ops.reduce((n, op) => n + op.length, 0));
    this.#log({ event: 'group-created', connection: client.id, member: client.member });
    return ops.length;
  }

  /** An op counts towards its author's stored bytes. */
  async #checkOpQuota(author: Uint8Array, bytes: number): Promise<void> {
    const usage = await this.#store.usage(author);
    if (usage.bytes + bytes > this.#quotas.bytesPerIdentity) throw new Refusal('quota-exceeded', `this identity may store ${this.#quotas.bytesPerIdentity} bytes here`);
  }

  async #checkCutoff(groupId: Uint8Array, op: MembershipOp): Promise<void> {
    const change = op.change;
    const cutoff = change.type === 'remove' ? change.cutoff : change.type === 'set-role' && change.role === 'reader' ? change.cutoff : undefined;
    if (cutoff === undefined || (change.type !== 'remove' && change.type !== 'set-role')) return;
    const highest = await this.#store.highestSeq(groupId, change.memberId);
    if (highest !== undefined && (cutoff === null || highest > cutoff))
      throw new Refusal('cutoff-too-low', `this relay already accepted sequence number ${highest} from that member: the cutoff must be at least that`);
  }

  /**
   * Tells the group's subscribers (but `except`, who sent them) the ops from `fromIndex`; those
   * removed lose their subscriptions, those that waited for the group to exist start receiving.
   * A subscriber with no room gets them once it drains; one whose log is further behind asks
   * with its `have`.
   */
  #announceOps(groupId: Uint8Array, fromIndex: number, except?: Client): void {
    void this.#group(groupId).then((log) => {
      if (!log) return;
      const gk = hex(groupId);
      // The new ops in one frame, encoded once for every subscriber (when they fit in one).
      let bytes = 0;
      for (let i = fromIndex; i < log.length && bytes <= OPS_FRAME_BYTES; i++) bytes += log.opByteLength(i);
      const fresh = bytes <= OPS_FRAME_BYTES ? [encodeWire({ type: 'ops', groupId, fromIndex, ops: log.ops(fromIndex) })] : undefined;
      const send = async (client: Client) => {
        for (const frame of fresh ?? this.#opsPages(groupId, log, fromIndex)) {
          await client.room();
          if (!client.closed) client.queue(frame);
        }
      };
      for (const client of this.#clients) {
        const subscribed = [...client.subscriptions.values()].filter((s) => hex(s.groupId) === gk);
        if (subscribed.length === 0) continue;
        if (client !== except) {
          const owed = client.opsOwed.get(gk);
          if (owed || !client.hasRoom) {
            client.opsOwed.set(gk, { groupId, fromIndex: Math.min(owed?.fromIndex ?? fromIndex, fromIndex) });
            this.#watchDrain();
          } else void send(client).catch((error: unknown) => this.#internal(client, error));
        }
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
        if ((await this.#store.openInvitations(message.groupId, now)) >= this.#limits.invitationsPerGroup)
          throw new Refusal('quota-exceeded', `a group has ${this.#limits.invitationsPerGroup} open invitations at most: revoke one first`);
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
        const admitted = invitation && (await this.#store.membership(invitation.groupId, client.memberId!)) === 'member';
        const state = !invitation ? 'unknown' : admitted ? 'admitted' : invitation.revoked ? 'revoked' : invitation.expiresAt <= now ? 'expired' : 'pending';
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
   * recorded in its document's summary and sent to the subscribers here whatever its cursor
   * (another node's transaction may commit after one with a larger cursor; a subscriber already
   * sent it just ignores the copy).
   */
  async #onStoreEvent(event: StoreEvent): Promise<void> {
    if (event.type === 'join-request') {
      const [request] = (await this.#store.joinRequests(event.groupId, Date.now())).filter((r) => hex(r.inviteId) === hex(event.inviteId) && hex(r.requester) === hex(event.requester));
      if (request) this.#toWatchers(event.groupId, request);
      return;
    }
    if (event.type === 'ops') {
      const key = hex(event.groupId);
      const cached = this.#logs.get(key);
      const previous = cached ? ((await cached)?.length ?? 0) : Math.max(0, event.length - 1);
      this.#logs.delete(key);
      this.#announceOps(event.groupId, Math.min(previous, event.length));
      return;
    }
    this.#indexed(event.groupId, event.docId, event.author, event.seq);
    const key = docKey(event.groupId, event.docId);
    if (![...this.#clients].some((c) => c.subscriptions.has(key))) return;
    const [stored] = await this.#store.envelopesAt([event.cursor]);
    if (!stored) return;
    for (const client of this.#clients) {
      const s = client.subscriptions.get(key);
      if (!s || s.waiting) continue;
      if (s.lagging || !client.hasRoom) {
        s.lagging = true;
        this.#watchDrain();
      } else this.#deliver(client, s, stored.cursor, stored.bytes, false);
    }
  }

  #send(client: Client, message: WireMessage): void {
    client.queue(encodeWire(message));
  }

  #refuse(client: Client, ref: number, refusal: Refusal): void {
    this.#counts.refused++;
    this.#log({ event: 'refused', connection: client.id, code: refusal.code, member: client.member });
    this.#send(client, { type: 'error', ref, code: refusal.code, message: refusal.message });
  }

  #internal(client: Client, error: unknown): void {
    this.#log({ event: 'error', connection: client.id, detail: describe(error) });
    this.#send(client, { type: 'error', ref: 0, code: 'internal', message: 'the relay failed to handle that; try again' });
  }
}

/**
 * What ops (now in `log`) change for the store: their authors, and the members they added or
 * removed, as they stand after them. Costs the ops, not the group's size.
 */
function opsEffect(ops: readonly MembershipOp[], log: MembershipLog): OpsEffect {
  const authors: Uint8Array[] = [];
  const touched = new Map<string, Uint8Array>();
  for (const { author, change } of ops) {
    authors.push(author);
    if (change.type === 'create') for (const m of change.members) touched.set(hex(m.memberId), m.memberId);
    else if (change.type === 'add') touched.set(hex(change.member.memberId), change.member.memberId);
    else if (change.type === 'remove') touched.set(hex(change.memberId), change.memberId);
  }
  const ids = [...touched.values()];
  return { authors, joined: ids.filter((id) => log.member(id)), left: ids.filter((id) => !log.member(id)) };
}

/** What two ascending lists of disjoint ranges have in common, in one pass over both. */
function intersect(a: readonly SeqRange[], b: readonly SeqRange[]): SeqRange[] {
  const out: SeqRange[] = [];
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    const start = Math.max(a[i]![0], b[j]![0]);
    const end = Math.min(a[i]![1], b[j]![1]);
    if (start <= end) out.push([start, end]);
    if (a[i]![1] < b[j]![1]) i++;
    else j++;
  }
  return out;
}

/** A document's summary as a `have` carries it, at most MAX_SUMMARY_RANGES ranges (each author's last kept, so that a device learns the sequence numbers its identity used). */
function summary(ranges: SeqRanges): AuthorRanges {
  const out: AuthorRanges = [];
  let budget = MAX_SUMMARY_RANGES;
  for (const [author, list] of ranges.entries()) {
    // Saying less than is held is safe: the client sends what it thinks is missing, and a copy stores nothing.
    const room = Math.max(1, budget);
    const kept = list.length <= room ? [...list] : [...list.slice(0, room - 1), list[list.length - 1]!];
    budget -= kept.length;
    out.push([unhex(author), kept]);
  }
  return out;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : 'unknown';
}
