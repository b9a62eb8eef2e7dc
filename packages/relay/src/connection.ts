/**
 * One client connection as the relay keeps it: who it is, what it subscribed to, and both of
 * its queues, each bounded. Outgoing frames gather for one turn of the event loop (a commit's
 * acks and deliveries, until its pushes are answered: intake.ts) and leave as one batch frame;
 * what waits in the socket counts too (`backlog`). Incoming frames are handled
 * one at a time, in order, and only while the connection has room: one that does not read what
 * it is sent stops being read (the transport is paused), so that no client grows the relay by
 * sending requests and never reading the answers.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { encodeBatch, type SeqRanges } from '@sealdoc/protocol';
import { addressKey } from './address.js';
import { hex } from './bytes.js';
import { TokenBucket, type RelayLimits } from './limits.js';

/** One client connection, whatever carries it (a WebSocket, a test's pipe). */
export interface RelayConnection {
  send(frame: Uint8Array): void;
  close(code: number, reason: string): void;
  /** Bytes queued for sending and not yet sent (backpressure). */
  readonly bufferedAmount: number;
  /** Stops reading from the connection until {@link RelayConnection.resume} (optional: a pipe that cannot pause is simply not read from meanwhile). */
  pause?(): void;
  resume?(): void;
  /** Drops the connection and what is queued on it at once (optional: `close` otherwise). */
  terminate?(): void;
  /** The peer's network address, for the per-address limits (connections without one are counted together). */
  readonly address?: string;
  /** What the client connected with (an HTTP upgrade request), for `RelayOptions.authenticate`. */
  readonly request?: unknown;
}

/** A document's key in a connection's subscriptions and in the relay's maps: "group:doc", in hex. */
export const docKey = (groupId: Uint8Array, docId: Uint8Array): string => `${hex(groupId)}:${hex(docId)}`;

/** A document a connection subscribed to. */
export interface Subscription {
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
  /** What `have` answers sent on it (at or below `from`): not sent twice. */
  answered: SeqRanges;
  /**
   * The smallest cursor it was told of while lagging and not yet read again from the store: on
   * several relay nodes cursors commit out of order, and a catch-up from `sent`, or one whose read
   * came before that commit, would skip it (subscriptions.ts `#behind`).
   */
  missed: number | undefined;
}

/** A batch frame is closed at this size (a client accepts 4 MiB). */
const BATCH_BYTES = 1024 * 1024;
/** Frames waiting to be handled past which the transport is paused. */
const INBOUND_FRAMES = 64;

// The connections that queued frames in this turn of the event loop: flushed together at its
// end, by one immediate for all of them (a fan-out queues a frame for each subscriber).
let flushing: Client[] = [];
function flushSoon(client: Client): void {
  if (flushing.length === 0) setImmediate(flushQueued);
  flushing.push(client);
}

/**
 * Sends now what the connections have queued so far: at the end of the turn (flushSoon), or
 * sooner for the acknowledgements and deliveries of a commit (intake.ts): a commit ends in the
 * check phase of the event loop, where an immediate it queues runs only after the next poll
 * phase, that is after the next burst of frames has been read and checked.
 */
export function flushQueued(): void {
  const clients = flushing;
  flushing = [];
  for (const client of clients) client.flush();
}

export class Client {
  memberId: Uint8Array | undefined;
  /** Hex of the member id ('' before hello). */
  key = '';
  /** The first 16 hex digits of the member id, for logs. */
  member = '';
  /** Its network address, as the per-address limits count it. */
  readonly address: string;
  readonly nonce = new Uint8Array(randomBytes(32));
  readonly subscriptions = new Map<string, Subscription>();
  /** Groups (hex) whose join requests this admin's connection receives. */
  readonly watches = new Set<string>();
  readonly frames: TokenBucket;
  readonly bytes: TokenBucket;
  readonly rows: TokenBucket;
  strikes = 0;
  closed = false;
  helloTimer: ReturnType<typeof setTimeout> | undefined;
  /** Since when its backlog has stayed above the high-water mark. */
  fullSince: number | undefined;
  /** Per group (hex): the index from which ops announced while it had no room are still owed. */
  readonly opsOwed = new Map<string, { groupId: Uint8Array; fromIndex: number }>();
  /** Pushes received and not yet stored (or refused): bounded by `limits.pushesInFlight`. */
  pushesInFlight = 0;
  /** Resolves once the connection's latest push was handed to its batch (or refused): the next one waits for it (intake.ts). */
  pushesHandedOver: Promise<void> = Promise.resolve();
  /** What bulk answers (a backlog, a log, what a `have` lacks) may send this identity's connections, shared by them. */
  sendBudget: TokenBucket | undefined;
  #outbox: Uint8Array[] = [];
  #outboxBytes = 0;
  readonly #inbound: Uint8Array[] = [];
  #inboundBytes = 0;
  #handling = false;
  #paused = false;
  #waiters: { bulk: boolean; resolve: () => void }[] = [];

  constructor(
    readonly id: number,
    readonly connection: RelayConnection,
    readonly limits: RelayLimits,
    readonly hooks: {
      /** Handles one frame of this client (frames are handed over one at a time). */
      handle: (client: Client, frame: Uint8Array) => Promise<void>;
      /** Something now waits for this client to drain: the relay watches its queue. */
      waiting: () => void;
      /** The relay's budget for bulk answers, over all connections. */
      bulk: TokenBucket;
    },
  ) {
    this.address = addressKey(connection.address);
    this.frames = new TokenBucket(limits.framesPerSecond, limits.framesPerSecond * 2);
    this.bytes = new TokenBucket(limits.bytesPerSecond, limits.bytesPerSecond * 2);
    this.rows = new TokenBucket(limits.storeRowsPerSecond, limits.storeRowsPerSecond * 5);
  }

  /** Bytes waiting for this client: queued here and in the socket. */
  get backlog(): number {
    return this.connection.bufferedAmount + this.#outboxBytes;
  }

  /** Whether the relay may handle its next request: room in its queue, and few pushes in flight. */
  get hasRoom(): boolean {
    return this.backlog <= this.limits.highWaterBytes && this.pushesInFlight < this.limits.pushesInFlight;
  }

  /**
   * Whether the relay may send this client more of a bulk answer: room in its queue, and its
   * identity's and the relay's bulk budgets not in debt. What a small request can make the
   * relay send (and copy into sockets) is thereby bounded per identity and in all, while live
   * edits, acknowledgements and errors go at once.
   */
  get hasBulkRoom(): boolean {
    if (this.backlog > this.limits.highWaterBytes) return false;
    const own = this.sendBudget;
    if (!own) return this.hooks.bulk.available >= 0;
    // An identity that has used little of its own budget goes first, even when others have
    // used up the relay's: no crowd of identities can starve a quiet one.
    const left = own.available;
    return left >= 0 && (this.hooks.bulk.available >= 0 || left >= own.burst / 2);
  }

  /** Whether something waits for this client to drain. */
  get waiting(): boolean {
    return this.#waiters.length > 0 || this.opsOwed.size > 0 || [...this.subscriptions.values()].some((s) => s.lagging && !s.waiting);
  }

  /**
   * Resolves once the client has room (at once when it has), for a request (`hasRoom`) or for
   * more of a bulk answer (`hasBulkRoom`); the relay calls {@link Client.wake} as it drains.
   */
  room(bulk = false): Promise<void> | undefined {
    if (this.closed || (bulk ? this.hasBulkRoom : this.hasRoom)) return undefined;
    this.hooks.waiting();
    return new Promise((resolve) => this.#waiters.push({ bulk, resolve }));
  }

  /** Lets what waited for room go on, if there is room for it now (or the client is gone). */
  wake(): void {
    if (this.#waiters.length === 0) return;
    const [room, bulkRoom] = [this.closed || this.hasRoom, this.closed || this.hasBulkRoom];
    const ready = this.#waiters.filter((w) => (w.bulk ? bulkRoom : room));
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  /** A frame from the client: handled after those before it, once there is room. */
  receive(frame: Uint8Array): void {
    this.#inbound.push(frame);
    this.#inboundBytes += frame.length;
    if (!this.#paused && (this.#inbound.length > INBOUND_FRAMES || this.#inboundBytes > this.limits.maxFrameBytes * 2)) {
      this.#paused = true;
      this.connection.pause?.();
    }
    if (!this.#handling) void this.#drainInbound();
  }

  async #drainInbound(): Promise<void> {
    this.#handling = true;
    try {
      while (this.#inbound.length > 0 && !this.closed) {
        await this.room();
        if (this.closed) break;
        const frame = this.#inbound.shift()!;
        this.#inboundBytes -= frame.length;
        if (this.#paused && this.#inbound.length <= INBOUND_FRAMES / 2 && this.#inboundBytes <= this.limits.maxFrameBytes) {
          this.#paused = false;
          this.connection.resume?.();
        }
        await this.hooks.handle(this, frame);
      }
    } finally {
      this.#handling = false;
    }
  }

  /**
   * Queues a frame. What a turn of the event loop queues leaves together, as one batch frame
   * (or as it is, when alone): under load, far fewer frames and system calls.
   */
  queue(frame: Uint8Array): void {
    if (this.closed) return;
    if (this.#outbox.length === 0) flushSoon(this);
    this.#outbox.push(frame);
    this.#outboxBytes += frame.length;
  }

  /** Queues a frame of a bulk answer, charged to the identity's and the relay's bulk budgets. */
  queueBulk(frame: Uint8Array): void {
    this.queue(frame);
    this.sendBudget?.charge(frame.length);
    this.hooks.bulk.charge(frame.length);
  }

  flush(): void {
    const frames = this.#outbox;
    this.#outbox = [];
    this.#outboxBytes = 0;
    try {
      // Alone (as most are): sent as it is.
      if (frames.length === 1) return this.connection.send(frames[0]!);
      let start = 0;
      let bytes = 0;
      for (let i = 0; i <= frames.length; i++) {
        if (i === frames.length || (bytes + frames[i]!.length > BATCH_BYTES && i > start)) {
          if (i > start) {
            const chunk = frames.slice(start, i);
            this.connection.send(chunk.length === 1 ? chunk[0]! : encodeBatch(chunk));
          }
          start = i;
          bytes = 0;
        }
        if (i < frames.length) bytes += frames[i]!.length;
      }
    } catch {
      // The connection is closing: nothing more to say.
    }
  }

  /** Drops what is queued and the connection itself. */
  terminate(code: number, reason: string): void {
    this.#outbox = [];
    this.#outboxBytes = 0;
    if (this.connection.terminate) {
      this.closed = true;
      clearTimeout(this.helloTimer);
      this.#inbound.length = 0;
      this.wake();
      this.connection.terminate();
    } else this.close(code, reason);
  }

  /** Sends what is queued, then closes; nothing more is handled or sent. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    clearTimeout(this.helloTimer);
    this.#inbound.length = 0;
    this.wake();
    try {
      this.connection.close(code, reason);
    } catch {
      // already gone
    }
  }
}
