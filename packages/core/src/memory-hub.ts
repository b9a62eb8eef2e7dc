/**
 * An in-memory network for tests: transports attached to one hub reach each other, and the
 * hub injects the faults the engine must survive: drop, duplicate, reorder, delay and
 * partition. Faults are drawn from a seeded generator, so a failing run reproduces. The hub
 * moves bytes: a transport encodes what it sends and decodes what it receives.
 * @module
 */
import { Emitter } from './events.js';
import type { WireMessage } from '@sealdoc/protocol';
import { encodeMessage, receiveMessage, TransportError, type PeerId, type Transport, type TransportEvents, type TransportStatus } from './transport.js';

/** Faults the hub injects into every delivery (one delivery per message and recipient). */
export interface Faults {
  /** Probability that a delivery is lost. */
  drop?: number;
  /** Probability that a delivery arrives twice. */
  duplicate?: number;
  /** Probability that a delivery is held back so later ones overtake it. */
  reorder?: number;
  /** Delivery delay in ms, drawn uniformly from [min, max]. */
  delay?: readonly [min: number, max: number];
}

/** What the hub did, for assertions. */
export interface HubStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  /** Deliveries lost because the recipient went offline or out of reach in flight. */
  unreachable: number;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Connects {@link MemoryTransport}s, with faults. */
export class MemoryHub {
  readonly #transports = new Map<PeerId, MemoryTransport>();
  readonly #random: () => number;
  #faults: Faults;
  #groups: PeerId[][] | undefined;
  #pending = 0;
  #idle: (() => void)[] = [];
  readonly maxMessageBytes: number;
  readonly stats: HubStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, reordered: 0, unreachable: 0 };

  constructor(options: { seed?: number; faults?: Faults; maxMessageBytes?: number } = {}) {
    this.#random = mulberry32(options.seed ?? 1);
    this.#faults = options.faults ?? {};
    this.maxMessageBytes = options.maxMessageBytes ?? 16 * 1024 * 1024;
  }

  /** A transport for `peerId` on this hub, offline until it connects. */
  transport(peerId: PeerId): MemoryTransport {
    if (typeof peerId !== 'string' || peerId.length === 0) throw new TransportError('bad-message', 'a peer id is a non-empty string');
    if (this.#transports.has(peerId)) throw new TransportError('bad-message', `peer ${peerId} already exists on this hub`);
    const t = new MemoryTransport(this, peerId);
    this.#transports.set(peerId, t);
    return t;
  }

  /** Replaces the faults in force. */
  setFaults(faults: Faults): void {
    this.#faults = faults;
  }

  /** Splits the network: peers reach only peers of their own group; unlisted peers reach no one. */
  partition(...groups: PeerId[][]): void {
    this._reachabilityChange(() => (this.#groups = groups.map((g) => [...g])));
  }

  /** Ends any partition. */
  heal(): void {
    this._reachabilityChange(() => (this.#groups = undefined));
  }

  /** Resolves once every delivery in flight (delayed ones included) has landed or been lost. */
  flush(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** @internal Whether `a` and `b` can reach each other now. */
  _reachable(a: PeerId, b: PeerId): boolean {
    if (a === b) return false;
    const ta = this.#transports.get(a);
    const tb = this.#transports.get(b);
    if (ta?.status !== 'online' || tb?.status !== 'online') return false;
    return !this.#groups || this.#groups.some((g) => g.includes(a) && g.includes(b));
  }

  /** @internal The peers `peer` can reach now. */
  _peersOf(peer: PeerId): PeerId[] {
    return [...this.#transports.keys()].filter((other) => this._reachable(peer, other));
  }

  /** @internal Applies `change` (a status change or a partition) and announces who came and went. */
  _reachabilityChange(change: () => void): void {
    const before = new Map([...this.#transports.keys()].map((p) => [p, new Set(this._peersOf(p))]));
    change();
    for (const [peer, was] of before) {
      const now = new Set(this._peersOf(peer));
      const t = this.#transports.get(peer)!;
      for (const p of now) if (!was.has(p)) t._emit('peer', { peer: p, present: true });
      for (const p of was) if (!now.has(p)) t._emit('peer', { peer: p, present: false });
    }
  }

  /** @internal Schedules the deliveries of one message, faults included. */
  _send(from: PeerId, data: Uint8Array, to: PeerId | undefined): void {
    this.stats.sent++;
    const targets = to === undefined ? this._peersOf(from) : [to];
    const { drop = 0, duplicate = 0, reorder = 0, delay = [0, 0] } = this.#faults;
    for (const target of targets) {
      if (this.#random() < drop) {
        this.stats.dropped++;
        continue;
      }
      let copies = 1;
      if (this.#random() < duplicate) {
        copies = 2;
        this.stats.duplicated++;
      }
      for (let i = 0; i < copies; i++) {
        let ms = delay[0] + this.#random() * (delay[1] - delay[0]);
        if (this.#random() < reorder) {
          ms += delay[1] + 1 + this.#random() * 10;
          this.stats.reordered++;
        }
        this.#deliverLater(from, target, data.slice(), ms);
      }
    }
  }

  #deliverLater(from: PeerId, to: PeerId, data: Uint8Array, ms: number): void {
    this.#pending++;
    setTimeout(() => {
      // A peer that went offline or out of reach meanwhile does not receive it.
      if (this._reachable(from, to)) {
        this.stats.delivered++;
        this.#transports.get(to)!._receive(from, data);
      } else {
        this.stats.unreachable++;
      }
      if (--this.#pending === 0) for (const resolve of this.#idle.splice(0)) resolve();
    }, ms);
  }
}

/** One peer's side of a {@link MemoryHub}. */
export class MemoryTransport implements Transport {
  readonly #hub: MemoryHub;
  readonly #events = new Emitter<TransportEvents>();
  #status: TransportStatus = 'offline';
  readonly peerId: PeerId;

  /** @internal Use {@link MemoryHub.transport}. */
  constructor(hub: MemoryHub, peerId: PeerId) {
    this.#hub = hub;
    this.peerId = peerId;
  }

  get status(): TransportStatus {
    return this.#status;
  }
  get maxMessageBytes(): number {
    return this.#hub.maxMessageBytes;
  }
  get events(): Pick<Emitter<TransportEvents>, 'on'> {
    return this.#events;
  }

  async connect(): Promise<void> {
    if (this.#status === 'online') return;
    this.#setStatus('connecting');
    await Promise.resolve();
    this.#hub._reachabilityChange(() => this.#setStatus('online'));
  }

  async disconnect(): Promise<void> {
    if (this.#status === 'offline') return;
    this.#hub._reachabilityChange(() => this.#setStatus('offline'));
  }

  send(message: WireMessage, to?: PeerId): void {
    if (this.#status !== 'online') throw new TransportError('offline', 'the transport is offline');
    this.sendBytes(encodeMessage(message, this.maxMessageBytes), to);
  }

  /**
   * Sends `data` as it is, a message or not: what a broken or hostile peer sends, for tests of
   * what receivers make of it. Throws TransportError: `offline`, `unknown-peer`.
   */
  sendBytes(data: Uint8Array, to?: PeerId): void {
    if (this.#status !== 'online') throw new TransportError('offline', 'the transport is offline');
    if (to !== undefined && !this.#hub._reachable(this.peerId, to)) throw new TransportError('unknown-peer', `peer ${to} is not reachable`);
    this.#hub._send(this.peerId, data, to);
  }

  peers(): PeerId[] {
    return this.#hub._peersOf(this.peerId);
  }

  #setStatus(status: TransportStatus): void {
    this.#status = status;
    this.#events.emit('status', { status });
  }

  /** @internal */
  _emit<K extends keyof TransportEvents>(name: K, event: TransportEvents[K]): void {
    this.#events.emit(name, event);
  }

  /** @internal A delivery from the hub, decoded here. */
  _receive(from: PeerId, data: Uint8Array): void {
    receiveMessage(this.#events, from, data, this.maxMessageBytes);
  }
}
