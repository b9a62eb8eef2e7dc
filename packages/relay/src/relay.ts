/**
 * The relay's protocol, apart from sockets: authenticates clients (a signed challenge),
 * verifies every envelope and op against the group's membership log without decrypting
 * anything, stores what it accepts, acknowledges only after the store committed, and fans
 * out to the subscribers of each document. It answers the peer messages of sealed documents
 * (`have`, `ops`) as a peer that holds every envelope and the log, but no key.
 *
 * `Relay` is a façade: it routes each message to the part whose duty it is, and wires the
 * parts together. Connections (connections.ts: hello, the authenticate hook, rates, queues);
 * group logs and document summaries held in memory (groups.ts, doc-index.ts); subscriptions and
 * fan-out (subscriptions.ts); envelopes verified and stored (intake.ts); ops appended to a log
 * (log-append.ts); retention (retention.ts); invitations (invitations.ts); presence and beacons
 * forwarded (presence.ts).
 *
 * Whatever a client does, what it costs the relay is bounded (limits.ts): its queues (a client
 * that does not read is not read from, then closed), the frames, bytes and store rows it may
 * make the relay handle, what the relay keeps in memory about groups and documents (bounded
 * caches), and what an identity may store (quotas). An ops frame costs the ops it adds.
 * @module
 */
import { EnvelopeError, MembershipError, readEnvelope } from '@sealdoc/crypto';
import { decodeWire, WireError, type WireMessage } from '@sealdoc/protocol';
import type { Client, RelayConnection } from './connection.js';
import { Connections, type Authenticate } from './connections.js';
import { DocIndexes } from './doc-index.js';
import { GroupLogs } from './groups.js';
import { Intake } from './intake.js';
import { Invitations } from './invitations.js';
import { DEFAULT_LIMITS, DEFAULT_QUOTAS, resolveLimits, type RelayLimits, type RelayQuotas } from './limits.js';
import { LogAppend } from './log-append.js';
import { Presence } from './presence.js';
import { describe, Refusal, type RelayLogEvent } from './report.js';
import { Retention } from './retention.js';
import type { RelayStore, StoreEvent } from './store.js';
import { Subscriptions } from './subscriptions.js';
import { defaultVerifyThreads, VerifyPool } from './verify-pool.js';

export type { RelayConnection } from './connection.js';

/** What a handler returns when it is done at once. */
const DONE: Promise<void> = Promise.resolve();

/** The kind byte of an awareness envelope (the second byte of every envelope: docs/envelope.md). */
const AWARENESS_KIND = 3;
export type { RelayLogEvent } from './report.js';

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
  authenticate?: Authenticate;
  /**
   * Worker threads that check envelope signatures (started at the first envelope), so that the
   * checks hold up no other connection's frames; 0 checks them on the main thread. Default: one
   * per core but one, 1 to 4.
   */
  verifyThreads?: number;
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
  /** Bytes queued for clients and not yet sent, in the relay's queues and the sockets' buffers. */
  outboxBytes: number;
  /** Group logs and document summaries held in memory now (both bounded). */
  cachedLogs: number;
  cachedIndexes: number;
}

export class Relay {
  readonly #store: RelayStore;
  readonly #limits: RelayLimits;
  readonly #connections: Connections;
  readonly #groups: GroupLogs;
  readonly #indexes: DocIndexes;
  readonly #subscriptions: Subscriptions;
  readonly #intake: Intake;
  readonly #logAppend: LogAppend;
  readonly #retention: Retention;
  readonly #invitations: Invitations;
  readonly #presence: Presence;
  readonly #verifier: VerifyPool;
  readonly #log: (event: RelayLogEvent) => void;
  /** Resolves once the store's membership index is complete (a database from an earlier release is indexed first). */
  readonly ready: Promise<void>;
  // Whether `ready` has resolved: frames are then handled without waiting for it.
  #isReady = false;

  constructor(options: RelayOptions) {
    const store = (this.#store = options.store);
    const limits = (this.#limits = resolveLimits(DEFAULT_LIMITS, options.limits, 'limits'));
    const quotas = resolveLimits(DEFAULT_QUOTAS, options.quotas, 'quotas');
    const log = (this.#log = options.log ?? (() => undefined));
    const after = options.retention?.afterSnapshots;
    if (after !== undefined && !(Number.isSafeInteger(after) && after >= 0)) throw new RangeError('retention.afterSnapshots is a whole number, 0 or more');
    const connections = (this.#connections = new Connections(limits, log, options.authenticate, {
      handle: (client, frame) => this.#handle(client, frame),
      drained: (client) => this.#subscriptions.resume(client),
      forgotten: (client) => {
        this.#subscriptions.forget(client);
        this.#invitations.forget(client);
      },
      revocations: (deviceId) => this.#groups.revocations(deviceId),
      sendOps: (client, groupId, log, fromIndex) => this.#groups.sendOps(client, groupId, log, fromIndex),
    }));
    const groups = (this.#groups = new GroupLogs(store, limits));
    const indexes = (this.#indexes = new DocIndexes(store, limits, groups, connections));
    const subscriptions = (this.#subscriptions = new Subscriptions(store, connections, groups, indexes));
    const threads = options.verifyThreads ?? defaultVerifyThreads();
    if (!(Number.isSafeInteger(threads) && threads >= 0 && threads <= 64)) throw new RangeError('verifyThreads is a whole number from 0 to 64');
    this.#verifier = new VerifyPool(threads);
    const intake = (this.#intake = new Intake(store, quotas, connections, groups, indexes, subscriptions, this.#verifier));
    this.#logAppend = new LogAppend(store, limits, quotas, connections, groups, subscriptions);
    this.#retention = new Retention(store, groups, indexes, log, after);
    this.#invitations = new Invitations(store, connections, groups);
    this.#presence = new Presence(store, groups, intake, subscriptions, log);
    store.onEvent?.((event) => void this.#onStoreEvent(event).catch((error: unknown) => log({ event: 'error', connection: 0, detail: describe(error) })));
    this.ready = groups.indexMembership().catch((error: unknown) => log({ event: 'error', connection: 0, detail: `indexing membership: ${describe(error)}` }));
    void this.ready.then(() => (this.#isReady = true));
  }

  /** What the relay has done and holds now. */
  get stats(): RelayStats {
    return {
      envelopesAccepted: this.#intake.accepted,
      envelopesDelivered: this.#subscriptions.delivered,
      envelopesDropped: this.#retention.dropped,
      refused: this.#connections.refused,
      closedSlow: this.#connections.closedSlow,
      outboxBytes: [...this.#connections.clients].reduce((sum, client) => sum + client.backlog, 0),
      connections: this.#connections.clients.size,
      cachedLogs: this.#groups.size,
      cachedIndexes: this.#indexes.size,
    };
  }

  /**
   * Starts the threads that check envelope signatures now rather than at the first envelope,
   * and resolves once they are ready (startRelay does, before it listens).
   */
  prepare(): Promise<void> {
    return this.#verifier.prepare();
  }

  /** The limits in force (defaults filled in). */
  get limits(): Readonly<RelayLimits> {
    return this.#limits;
  }

  /** Largest frame this relay accepts. */
  get maxFrameBytes(): number {
    return this.#limits.maxFrameBytes;
  }

  /**
   * A new connection: the relay sends its challenge and returns the handlers to call.
   * `authenticated` tells the transport when the client's hello was verified (until then it
   * may bound what it reads from the client more tightly).
   */
  accept(connection: RelayConnection): { receive(frame: Uint8Array): void; closed(): void; readonly authenticated: boolean } {
    return this.#connections.accept(connection);
  }

  /** Stops the timers and closes every connection (clients may connect again). The store stays open. */
  close(): void {
    this.#retention.close();
    this.#connections.close();
    // Its threads stop; a relay used again after close verifies inline.
    void this.#verifier.close();
  }

  /**
   * One frame of a client, decoded once and handed to the part whose duty it is; what it
   * refuses goes back as an `error`. A push (most frames) is handed to intake in this turn,
   * without an async frame or a turn of its own; anything else goes through #receive.
   */
  #handle(client: Client, frame: Uint8Array): Promise<void> {
    if (!this.#isReady) return this.ready.then(() => this.#handle(client, frame));
    try {
      let message: WireMessage;
      try {
        message = decodeWire(frame, this.#limits.maxFrameBytes);
      } catch (error) {
        if (!(error instanceof WireError)) throw error;
        this.#connections.refuse(client, 0, new Refusal(error.code, error.message));
        return DONE;
      }
      if (message.type === 'push') return this.#push(client, message);
      return this.#receive(client, message, frame).catch((error: unknown) => this.#connections.internal(client, error));
    } catch (error) {
      this.#connections.internal(client, error);
      return DONE;
    }
  }

  /** A push: its envelope parsed (once: the check uses the parse), then handed to intake (which checks pushes side by side and resolves at once). */
  #push(client: Client, message: Extract<WireMessage, { type: 'push' }>): Promise<void> {
    try {
      if (!client.memberId) throw new Refusal('not-authenticated', 'say hello first');
      return this.#intake.push(client, message.ref, readEnvelope(message.envelope));
    } catch (error) {
      this.#refuse(client, message.ref, error);
      return DONE;
    }
  }

  /** Answers a refusal (a Refusal, an EnvelopeError or a MembershipError) by `ref`; anything else is thrown on. */
  #refuse(client: Client, ref: number, error: unknown): void {
    if (error instanceof Refusal) return this.#connections.refuse(client, ref, error);
    if (error instanceof EnvelopeError || error instanceof MembershipError) return this.#connections.refuse(client, ref, new Refusal(error.code, error.message));
    throw error;
  }

  /** A frame other than a push, decoded. */
  async #receive(client: Client, message: Exclude<WireMessage, { type: 'push' }>, frame: Uint8Array): Promise<void> {
    const connections = this.#connections;
    const ref = 'ref' in message ? message.ref : 0;
    // Pushes are checked side by side (intake.ts); anything else comes after the pushes before
    // it were handed to their batches (a snapshot's covers after the snapshot, ops after the
    // envelopes sealed under the older head), as if they had been handled one by one.
    if (!(message.type === 'envelope' && message.envelope[1] !== AWARENESS_KIND)) await client.pushesHandedOver;
    try {
      if (message.type === 'hello') return await connections.hello(client, message);
      if (!client.memberId) throw new Refusal('not-authenticated', 'say hello first');
      switch (message.type) {
        case 'subscribe':
          return await this.#subscriptions.subscribe(client, message.groupId, message.docId, message.cursor);
        case 'unsubscribe':
          return this.#subscriptions.unsubscribe(client, message.groupId, message.docId);
        case 'envelope': {
          // A peer message carrying an envelope: awareness is forwarded, never stored; the rest is a push without an ack.
          const envelope = readEnvelope(message.envelope);
          if (envelope.header.kind === 'awareness') return await this.#presence.awareness(client, envelope, frame);
          return await this.#intake.push(client, 0, envelope);
        }
        case 'beacon':
          return await this.#presence.beacon(client, message, frame);
        case 'have':
          return await this.#subscriptions.have(client, message);
        case 'ops':
          await this.#logAppend.append(client, message.groupId, message.fromIndex, message.ops);
          return;
        case 'commit-ops':
          connections.send(client, { type: 'ack', ref: message.ref, cursor: await this.#logAppend.append(client, message.groupId, message.fromIndex, message.ops) });
          return;
        case 'member-seq': {
          await this.#groups.member(client, message.groupId);
          const highest = await this.#store.highestSeq(message.groupId, message.memberId);
          connections.send(client, { type: 'ack', ref: message.ref, cursor: highest === undefined ? 0 : highest + 1 });
          return;
        }
        case 'covers':
          return await this.#retention.covers(client, message);
        case 'invite-open':
        case 'invite-close':
        case 'invite-request':
        case 'invite-watch':
        case 'invite-status':
          return await this.#invitations.handle(client, message);
        case 'fetch-ops': {
          const log = await this.#groups.member(client, message.groupId);
          return await this.#groups.sendOps(client, message.groupId, log, message.fromIndex);
        }
        case 'ping':
          connections.send(client, { type: 'pong', nonce: message.nonce });
          return;
        case 'list-groups':
          connections.send(client, { type: 'groups', ref: message.ref, groupIds: await this.#store.groupsOf(client.memberId) });
          return;
        default:
          throw new Refusal('malformed', `a client does not send ${message.type}`);
      }
    } catch (error) {
      this.#refuse(client, ref, error);
    }
  }

  /** Something another node stored or shared (several nodes on one database), handed to the part that tells the clients here. */
  async #onStoreEvent(event: StoreEvent): Promise<void> {
    if (event.type === 'presence') return this.#presence.sharedElsewhere(event);
    if (event.type === 'join-request') return this.#invitations.requestedElsewhere(event);
    if (event.type === 'ops') return this.#logAppend.appendedElsewhere(event);
    if (event.type === 'events-lost') return this.#log({ event: 'error', connection: 0, detail: event.detail });
    if (event.type === 'events-resumed') return this.#resync();
    return this.#subscriptions.storedElsewhere(event);
  }

  /**
   * The store hears the other nodes again after a while it could not: what they stored and
   * changed meanwhile was never told here. The logs and summaries kept are forgotten (read again
   * when next needed: a member removed meanwhile is refused), and every client is told to connect
   * again, as at a node's restart: its subscribe and `have` bring what it missed, which no cursor
   * of this node's could say (cursors commit out of order across nodes).
   */
  #resync(): void {
    this.#groups.forgetAll();
    this.#indexes.forgetAll();
    const count = this.#connections.reconnectAll('relay catching up with the other nodes: connect again');
    this.#log({ event: 'resynced', connection: 0, count, detail: 'this node hears the other relay nodes again; its clients were asked to connect again' });
  }
}
