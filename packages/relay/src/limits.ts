/**
 * What bounds a relay, whatever its clients do. Anyone with a key pair can say hello and
 * create groups of its own, so being a member bounds nothing: every resource a client can make
 * the relay spend (memory, CPU, disk, connections) has a limit here, per connection, per
 * identity or for the whole relay, with defaults meant for a public service.
 * @module
 */
import { MAX_FRAME_BYTES } from '@sealdoc/protocol';

/** Per-connection and whole-relay limits. */
export interface RelayLimits {
  /** Largest frame accepted (default 4 MiB). A larger one closes the connection (1009). */
  maxFrameBytes: number;
  /** Frames a connection may send per second, sustained, with bursts of twice that (default 1,000); an identity's connections share as much again. */
  framesPerSecond: number;
  /** Bytes a connection may send per second, sustained, with bursts of twice that (default 16 MiB); an identity's connections share as much again. */
  bytesPerSecond: number;
  /**
   * A connection with this many bytes queued for it (default 1 MiB) gets no live envelopes
   * (it catches up from the store once drained), and the relay reads nothing more from it
   * until it drains: a client that sends requests and never reads costs this much, not more.
   */
  highWaterBytes: number;
  /** A connection whose queue stays above the high-water mark this long is closed, `too-slow` (default 30 s). */
  stallMs: number;
  /** Bytes queued for all connections together (default 256 MiB): past it the connections holding most are closed, `too-slow`. */
  maxQueuedBytes: number;
  /** Connections at once (default 10,000): more are refused, `busy` (1013). */
  maxConnections: number;
  /**
   * Connections from one network address at once (default 1,000; IPv6 by /64): more are
   * refused, `quota-exceeded`. Behind a reverse proxy the relay must be told to trust its
   * X-Forwarded-For, or every client shares the proxy's address.
   */
  connectionsPerAddress: number;
  /** Connections that have not said hello, at once (default 1,000): past it the oldest is closed. */
  maxPendingConnections: number;
  /** How long a connection may take to say hello (default 10 s). */
  helloTimeoutMs: number;
  /** Bytes a connection may send before its hello is verified (default 16 KiB). */
  maxBytesBeforeHello: number;
  /**
   * Bytes of frames being received and not whole yet, over all connections (default 64 MiB):
   * past it the connection holding most is dropped. A frame must also arrive whole within
   * `frameTimeoutMs` (default 60 s) of its first byte.
   */
  maxReceivingBytes: number;
  frameTimeoutMs: number;
  /** Connections one identity may hold at once (default 32): more are refused, `quota-exceeded`. */
  connectionsPerIdentity: number;
  /** Documents one connection may subscribe to (default 1,000); 64 of them at most for groups the relay does not know yet. */
  subscriptionsPerConnection: number;
  /** Pushes of one connection received but not yet stored or refused (default 256): past it the relay reads nothing more from it until they are. */
  pushesInFlight: number;
  /**
   * Bytes of bulk answers (a subscription's backlog, a log, what a `have` lacks) the relay sends
   * one identity's connections per second (default 8 MiB, bursts of as much): past it the rest
   * waits, so a small request cannot make it send without bound. An identity with half of it
   * left goes ahead even when the relay's budget (below) is used up.
   */
  sendBytesPerSecond: number;
  /** Bytes of bulk answers the relay sends all connections together, per second (default 64 MiB, bursts of as much): copying into sockets has a price too. */
  bulkBytesPerSecond: number;
  /** Rows of the store a connection's requests may make the relay read, per second, sustained (default 200,000, bursts of five times that). */
  storeRowsPerSecond: number;
  /** Membership logs kept in memory, by the bytes of their ops (default 64 MiB); the least recently used are dropped and read again when needed. */
  logCacheBytes: number;
  /** Document summaries kept in memory, by their number of ranges (default 1,000,000), least recently used dropped first. */
  indexCacheRanges: number;
  /** Invitations open at once per group (default 100). */
  invitationsPerGroup: number;
  /**
   * Founding members a group's first op may name (default 64; more join by invitation): each
   * key is checked as the op arrives, at some cost, so a first op cannot make the relay check
   * thousands.
   */
  foundersPerGroup: number;
  /**
   * Groups the relay creates per second for one network address (default 5, bursts of four
   * times that): past it `busy`. Key pairs cost nothing, so it is the address, not the
   * identity, that is held to a rate: a flood of fresh identities from one host cannot keep
   * others from creating theirs.
   */
  groupsPerAddressPerSecond: number;
  /** Groups the relay creates per second, from all addresses together (default 50, bursts of twice that): past it `busy`. A last bound against a flood from many addresses. */
  groupsPerSecond: number;
}

/** What one identity (one signing key) may put on the relay; refused past it with `quota-exceeded`. */
export interface RelayQuotas {
  /** Groups it created (default 1,000). */
  groupsPerIdentity: number;
  /** Documents it started, by its first envelope in them (default 10,000). */
  documentsPerIdentity: number;
  /** Bytes of its envelopes and ops the relay holds (default 1 GiB). */
  bytesPerIdentity: number;
}

export const DEFAULT_LIMITS: RelayLimits = {
  maxFrameBytes: MAX_FRAME_BYTES,
  framesPerSecond: 1000,
  bytesPerSecond: 16 * 1024 * 1024,
  highWaterBytes: 1024 * 1024,
  stallMs: 30_000,
  maxQueuedBytes: 256 * 1024 * 1024,
  maxConnections: 10_000,
  connectionsPerAddress: 1000,
  maxPendingConnections: 1000,
  helloTimeoutMs: 10_000,
  maxBytesBeforeHello: 16 * 1024,
  maxReceivingBytes: 64 * 1024 * 1024,
  frameTimeoutMs: 60_000,
  connectionsPerIdentity: 32,
  subscriptionsPerConnection: 1000,
  pushesInFlight: 256,
  storeRowsPerSecond: 200_000,
  sendBytesPerSecond: 8 * 1024 * 1024,
  bulkBytesPerSecond: 64 * 1024 * 1024,
  logCacheBytes: 64 * 1024 * 1024,
  indexCacheRanges: 1_000_000,
  invitationsPerGroup: 100,
  foundersPerGroup: 64,
  groupsPerAddressPerSecond: 5,
  groupsPerSecond: 50,
};

export const DEFAULT_QUOTAS: RelayQuotas = {
  groupsPerIdentity: 1000,
  documentsPerIdentity: 10_000,
  bytesPerIdentity: 1024 * 1024 * 1024,
};

/** Fills in defaults and checks every value is a whole number in range (RangeError otherwise). */
export function resolveLimits<T extends object>(defaults: T, given: Partial<T> | undefined, what: string): T {
  const out = { ...defaults };
  for (const [name, value] of Object.entries(given ?? {})) {
    if (!(name in defaults)) throw new RangeError(`${what}.${name} is not a setting`);
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || (value as number) < 1) throw new RangeError(`${what}.${name} must be a whole number, at least 1`);
    (out as Record<string, unknown>)[name] = value;
  }
  if ('maxFrameBytes' in out && (out.maxFrameBytes as number) < 1024) throw new RangeError(`${what}.maxFrameBytes must be at least 1024`);
  return out;
}

/** A token bucket: `rate` per second sustained, up to `burst` at once. */
export class TokenBucket {
  #tokens: number;
  #last = Date.now();
  constructor(
    readonly rate: number,
    readonly burst: number,
  ) {
    this.#tokens = burst;
  }

  #refill(): void {
    const now = Date.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.rate);
    this.#last = now;
  }

  /** Takes `n` tokens if there are that many; returns whether it did. */
  take(n: number): boolean {
    this.#refill();
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** Takes `n` tokens, going into debt if need be; returns how long (ms) until the bucket is out of debt. */
  charge(n: number): number {
    this.#refill();
    this.#tokens -= n;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens / this.rate) * 1000);
  }

  /** The tokens there are now (below zero: in debt). */
  get available(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Whether the bucket is full (nothing to remember about it). */
  get full(): boolean {
    this.#refill();
    return this.#tokens >= this.burst;
  }
}
