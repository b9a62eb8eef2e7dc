/**
 * The relay's connections, all together (connection.ts is one of them): who may connect (the
 * relay's and each network address's bound), the signed hello and the operator's
 * `authenticate` hook, a revoked device's refusal (shown the logs that revoke it first), the
 * hello deadline, the frame and byte rates per connection and per identity, and the queues: a
 * connection that does not read is not read from, then closed, and what waited for it to
 * drain goes on once it has. Also how the relay answers a client (`send`, `refuse`,
 * `internal`), which every other part uses.
 * @module
 */
import { memberIdOf, verifyMessage, type MembershipLog } from '@sealdoc/crypto';
import { encodeWire, HELLO_CONTEXT, type WireMessage } from '@sealdoc/protocol';
import { hex } from './bytes.js';
import { Client, type RelayConnection } from './connection.js';
import { TokenBucket, type RelayLimits } from './limits.js';
import { describe, Refusal, type RelayLog } from './report.js';

/** Admits a client once its hello verified: `true`, or `false` or a reason to refuse it (RelayOptions.authenticate). */
export type Authenticate = (hello: { memberId: Uint8Array; signingPublicKey: Uint8Array }, request: unknown) => boolean | string | Promise<boolean | string>;

const CLOSE_POLICY = 1008;
const CLOSE_TOO_BIG = 1009;
const CLOSE_BUSY = 1013;
/** The close code that tells a client to connect again, to this relay or another node, at once (RFC 6455 registry: "Service Restart"). */
export const SERVICE_RESTART = 1012;
const DRAIN_CHECK_MS = 25;
const SWEEP_MS = 1000;
// A frame before hello is a hello: a few hundred bytes.
const MAX_FRAME_BEFORE_HELLO = 1024;
// Identities remembered (their shared buckets) after their last connection closed, at most.
const MAX_IDLE_IDENTITIES = 100_000;

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

export class Connections {
  readonly clients = new Set<Client>();
  // Connections that have not said hello, oldest first.
  readonly #pending = new Set<Client>();
  readonly #identities = new Map<string, IdentityState>();
  // Per network address: connections held, groups created (limits.*PerAddress*).
  readonly #addresses = new Map<string, AddressState>();
  // What bulk answers may send all connections together (limits.bulkBytesPerSecond).
  readonly #bulk: TokenBucket;
  #nextId = 0;
  #drainTimer: ReturnType<typeof setInterval> | undefined;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  /** Refusals sent, and connections closed for not reading what they were sent. */
  refused = 0;
  closedSlow = 0;

  constructor(
    readonly limits: RelayLimits,
    readonly log: RelayLog,
    readonly authenticate: Authenticate | undefined,
    readonly hooks: {
      /** Handles one frame of a client (frames are handed over one at a time). */
      handle: (client: Client, frame: Uint8Array) => Promise<void>;
      /** A client that had something waiting for it drained: what waited goes on. */
      drained: (client: Client) => void;
      /** A client is gone (closed by either side): what is kept about it elsewhere goes. */
      forgotten: (client: Client) => void;
      /** The groups whose logs revoke a device, with their logs (one indexed lookup; none for a key no log revokes). */
      revocations: (deviceId: Uint8Array) => Promise<{ groupId: Uint8Array; log: MembershipLog }[]>;
      /** Sends a group's log from `fromIndex`, page by page, as the client has room. */
      sendOps: (client: Client, groupId: Uint8Array, log: MembershipLog, fromIndex: number) => Promise<void>;
    },
  ) {
    this.#bulk = new TokenBucket(limits.bulkBytesPerSecond, limits.bulkBytesPerSecond);
  }

  /**
   * A new connection: the relay sends its challenge and returns the handlers to call.
   * `authenticated` tells the transport when the client's hello was verified (until then it
   * may bound what it reads from the client more tightly).
   */
  accept(connection: RelayConnection): { receive(frame: Uint8Array): void; closed(): void; readonly authenticated: boolean } {
    const client = new Client(++this.#nextId, connection, this.limits, {
      handle: this.hooks.handle,
      waiting: () => this.watchDrain(),
      bulk: this.#bulk,
    });
    if (this.clients.size >= this.limits.maxConnections) {
      client.queue(encodeWire({ type: 'error', ref: 0, code: 'busy', message: 'the relay serves as many connections as it can: try again later' }));
      client.close(CLOSE_BUSY, 'busy');
      return { receive: () => undefined, closed: () => undefined, authenticated: false };
    }
    let address = this.#addresses.get(client.address);
    if (address && address.connections >= this.limits.connectionsPerAddress) {
      client.queue(encodeWire({ type: 'error', ref: 0, code: 'quota-exceeded', message: `one network address may hold ${this.limits.connectionsPerAddress} connections at once` }));
      client.close(CLOSE_POLICY, 'too many connections');
      return { receive: () => undefined, closed: () => undefined, authenticated: false };
    }
    if (!address) {
      const rate = this.limits.groupsPerAddressPerSecond;
      address = { connections: 0, creations: new TokenBucket(rate, rate * 4) };
      this.#addresses.set(client.address, address);
    }
    address.connections++;
    this.clients.add(client);
    this.#pending.add(client);
    if (this.#pending.size > this.limits.maxPendingConnections) {
      const [oldest] = this.#pending;
      this.refuse(oldest!, 0, new Refusal('not-authenticated', 'too many connections are waiting to say hello'));
      this.#close(oldest!, CLOSE_POLICY, 'hello timeout');
    }
    client.helloTimer = setTimeout(() => {
      if (client.memberId || client.closed) return;
      this.refuse(client, 0, new Refusal('not-authenticated', `say hello within ${this.limits.helloTimeoutMs} ms`));
      this.#close(client, CLOSE_POLICY, 'hello timeout');
    }, this.limits.helloTimeoutMs);
    this.#sweepTimer ??= setInterval(() => this.#sweep(), SWEEP_MS);
    this.#sweepTimer.unref?.();
    this.log({ event: 'connected', connection: client.id });
    this.send(client, { type: 'challenge', nonce: client.nonce, maxFrameBytes: this.limits.maxFrameBytes });
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
  /**
   * A device was revoked in `groupId` (whose log is `log`) here: its open connections on this
   * node get the log that proves it, then `device-revoked`, and are closed, as at a hello.
   * Other nodes refuse it at its next hello.
   */
  async revokedDevice(deviceId: Uint8Array, groupId: Uint8Array, log: MembershipLog): Promise<void> {
    const key = hex(deviceId);
    for (const client of [...this.clients]) if (client.key === key && !client.closed) await this.#refuseRevoked(client, [{ groupId, log }]);
  }

  /** The logs that revoke a device, then `device-revoked`, then the close: it verifies the revocation itself. */
  async #refuseRevoked(client: Client, revocations: readonly { groupId: Uint8Array; log: MembershipLog }[]): Promise<void> {
    for (const { groupId, log } of revocations) {
      await this.hooks.sendOps(client, groupId, log, 0);
      if (client.closed) return;
    }
    this.refuse(client, 0, new Refusal('device-revoked', 'this device was revoked by its person; it can no longer sync here'));
    this.#close(client, CLOSE_POLICY, 'device revoked');
  }

  #close(client: Client, code: number, reason: string): void {
    client.close(code, reason);
    this.#forget(client);
  }

  #forget(client: Client): void {
    if (!this.clients.delete(client)) return;
    this.#pending.delete(client);
    this.hooks.forgotten(client);
    client.closed = true;
    clearTimeout(client.helloTimer);
    client.wake();
    const identity = client.memberId && this.#identities.get(client.key);
    if (identity) identity.connections--;
    const address = this.#addresses.get(client.address);
    if (address && --address.connections === 0 && address.creations.full) this.#addresses.delete(client.address);
    this.log({ event: 'closed', connection: client.id, member: client.member });
  }

  /** Tells every client to connect again at once (`reason`, in plain words), and closes its connection; returns how many there were. */
  reconnectAll(reason: string): number {
    const clients = [...this.clients];
    for (const client of clients) this.#close(client, SERVICE_RESTART, reason);
    return clients.length;
  }

  /** Stops the timers and closes every connection (clients may connect again). */
  close(): void {
    clearInterval(this.#drainTimer);
    clearInterval(this.#sweepTimer);
    this.#drainTimer = this.#sweepTimer = undefined;
    for (const client of [...this.clients]) this.#close(client, 1001, 'relay shutting down');
  }

  /** Token buckets, per connection and per identity: a client over its rate gets an error; one that keeps on is closed. */
  #admit(client: Client, size: number): boolean {
    const limit = client.memberId ? this.limits.maxFrameBytes : MAX_FRAME_BEFORE_HELLO;
    if (size > limit) {
      this.refuse(client, 0, new Refusal('too-large', client.memberId ? `a frame is at most ${limit} bytes` : 'say hello first'));
      this.#close(client, CLOSE_TOO_BIG, 'frame too large');
      return false;
    }
    const identity = client.memberId && this.#identities.get(client.key);
    if (client.frames.take(1) && client.bytes.take(size) && (!identity || (identity.frames.take(1) && identity.bytes.take(size)))) return true;
    this.refuse(client, 0, new Refusal('rate-limited', 'too many frames or bytes: slow down'));
    if (++client.strikes > 100) this.#close(client, CLOSE_POLICY, 'rate limit');
    return false;
  }

  async hello(client: Client, message: Extract<WireMessage, { type: 'hello' }>): Promise<void> {
    if (client.memberId) throw new Refusal('malformed', 'hello was said already');
    if (!(await verifyMessage(message.signingPublicKey, HELLO_CONTEXT, client.nonce, message.signature).catch(() => false))) {
      this.refuse(client, 0, new Refusal('bad-hello', 'the hello signature does not verify'));
      this.#close(client, CLOSE_POLICY, 'bad hello');
      return;
    }
    const memberId = memberIdOf(message.signingPublicKey);
    const authenticate = this.authenticate;
    // A hook that throws (at once or later) refuses; its error stays here (it may name secrets).
    const verdict = authenticate ? await (async () => authenticate({ memberId, signingPublicKey: message.signingPublicKey }, client.connection.request))().catch(() => 'the server could not check this client') : true;
    // Closed meanwhile (its hello deadline passed while the hook ran): nothing to count it under.
    if (client.closed) return;
    if (verdict !== true) {
      this.refuse(client, 0, new Refusal('auth-failed', typeof verdict === 'string' && verdict ? verdict.slice(0, 200) : 'this server does not admit this client'));
      this.#close(client, CLOSE_POLICY, 'auth failed');
      return;
    }
    const key = hex(memberId);
    // A device its person revoked (in any group: revocation is the person's intent, wherever it
    // is certified still) gets the ops of the groups whose logs revoke it, then the refusal: it
    // verifies the revocation itself, since a relay's word alone must never make a device wipe
    // itself. One indexed lookup per hello; what is sent is charged to the identity's budget.
    const revocations = await this.hooks.revocations(memberId);
    if (client.closed) return;
    if (revocations.length > 0) {
      clearTimeout(client.helloTimer);
      client.member = key.slice(0, 16);
      client.sendBudget = this.#identity(key).sent;
      return this.#refuseRevoked(client, revocations);
    }
    const identity = this.#identity(key);
    if (identity.connections >= this.limits.connectionsPerIdentity) {
      this.refuse(client, 0, new Refusal('quota-exceeded', `one identity may hold ${this.limits.connectionsPerIdentity} connections at once`));
      this.#close(client, CLOSE_POLICY, 'too many connections');
      return;
    }
    identity.connections++;
    client.sendBudget = identity.sent;
    client.memberId = memberId;
    client.key = key;
    client.member = key.slice(0, 16);
    clearTimeout(client.helloTimer);
    this.#pending.delete(client);
    this.log({ event: 'authenticated', connection: client.id, member: client.member });
    this.send(client, { type: 'welcome', memberId });
  }

  /** What the relay keeps for an identity (its shared buckets), made on first use. */
  #identity(key: string): IdentityState {
    let identity = this.#identities.get(key);
    if (!identity) {
      const { framesPerSecond: f, bytesPerSecond: b, storeRowsPerSecond: r, sendBytesPerSecond: o } = this.limits;
      identity = { connections: 0, frames: new TokenBucket(f, f * 2), bytes: new TokenBucket(b, b * 2), rows: new TokenBucket(r, r * 5), sent: new TokenBucket(o, o) };
      this.#identities.set(key, identity);
    }
    return identity;
  }

  /** Takes one of the groups the client's network address may create now; false when it has none left (limits.groupsPerAddressPerSecond). */
  createFromAddress(client: Client): boolean {
    return this.#addresses.get(client.address)?.creations.take(1) ?? false;
  }

  /**
   * Charges store rows read for a client (per connection and per identity); waits while either
   * is in debt, so that what one client makes the relay read is bounded by the rate.
   */
  async charge(client: Client, rows: number): Promise<void> {
    const identity = this.#identities.get(client.key);
    const wait = Math.max(client.rows.charge(rows), identity?.rows.charge(rows) ?? 0);
    if (wait > 0 && !client.closed) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  /** While connections drain: what waited for room goes on (the `drained` hook: lagging subscriptions, owed ops). */
  watchDrain(): void {
    this.#drainTimer ??= setInterval(() => {
      let waiting = false;
      for (const client of this.clients) {
        if (!client.waiting) continue;
        waiting = true;
        if (client.backlog > this.limits.highWaterBytes / 2) continue;
        client.wake();
        this.hooks.drained(client);
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
    for (const client of this.clients) {
      const backlog = client.backlog;
      total += backlog;
      if (backlog <= this.limits.highWaterBytes) client.fullSince = undefined;
      else if ((client.fullSince ??= now) < now - this.limits.stallMs) this.#tooSlow(client);
    }
    if (total > this.limits.maxQueuedBytes) {
      for (const client of [...this.clients].sort((a, b) => b.backlog - a.backlog)) {
        if (total <= this.limits.maxQueuedBytes) break;
        total -= client.backlog;
        this.#tooSlow(client);
      }
    }
    if (this.#identities.size > MAX_IDLE_IDENTITIES / 2)
      for (const [key, identity] of this.#identities) if (identity.connections === 0 && (identity.frames.full || this.#identities.size > MAX_IDLE_IDENTITIES)) this.#identities.delete(key);
    for (const [key, address] of this.#addresses) if (address.connections === 0 && address.creations.full) this.#addresses.delete(key);
    if (this.clients.size === 0) {
      clearInterval(this.#sweepTimer);
      this.#sweepTimer = undefined;
    }
  }

  /** A connection that does not read: what is queued for it is dropped with it (it would not read a last word either). */
  #tooSlow(client: Client): void {
    this.closedSlow++;
    this.log({ event: 'refused', connection: client.id, code: 'too-slow', member: client.member });
    client.terminate(CLOSE_POLICY, 'too slow: read what the relay sends');
    this.#forget(client);
  }

  send(client: Client, message: WireMessage): void {
    client.queue(encodeWire(message));
  }

  refuse(client: Client, ref: number, refusal: Refusal): void {
    this.refused++;
    this.log({ event: 'refused', connection: client.id, code: refusal.code, member: client.member });
    this.send(client, { type: 'error', ref, code: refusal.code, message: refusal.message });
  }

  internal(client: Client, error: unknown): void {
    this.log({ event: 'error', connection: client.id, detail: describe(error) });
    this.send(client, { type: 'error', ref: 0, code: 'internal', message: 'the relay failed to handle that; try again' });
  }
}
