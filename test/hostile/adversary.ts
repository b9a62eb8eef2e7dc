// A hostile relay, in process: real relays (memory stores) behind an adversary that sees every
// message between each member's WebSocketTransport and the relay, and drops, duplicates,
// delays (reorders) or withholds it as its policy says. With two relays it forks: each member
// is shown one of them (`side`), and the adversary carries beacons and presence across, as a
// relay that wants to look whole must (heads meet there).
import { MemoryRelayStore, Relay, type RelayConnection } from '@sealdoc/relay';
import type { WebSocketLike } from '@sealdoc/core';
import { readEnvelopeHeader } from '@sealdoc/crypto';
import { decodeWire, encodeWire, type WireMessage } from '@sealdoc/protocol';

/** `up`: from a member to the relay; `down`: from the relay to a member. */
export type Direction = 'up' | 'down';
/**
 * What becomes of one message: passed, dropped, sent twice, held back for some ms (others
 * overtake it), or replaced by another (a relay can say what it likes of what it holds).
 */
export type Verdict = 'pass' | 'drop' | 'duplicate' | { delayMs: number } | { replace: WireMessage };
/** Decides each message's fate; `member` is the name a socket was opened for. */
export type Policy = (member: string, direction: Direction, message: WireMessage) => Verdict;

const OPEN = 1;
const CLOSED = 3;

export class HostileRelay {
  readonly relays: Relay[];
  readonly stores: MemoryRelayStore[];
  /** Which relay each member is shown (0 unless set: a fork sets some to 1). */
  readonly side = new Map<string, number>();
  policy: Policy = () => 'pass';
  /**
   * Members whose sockets stay open when the relay closes them (a relay that hides from a
   * member that it was cut off: a revoked device, say). The relay's side is gone; what the
   * member sends still goes through the policy, and reaches no relay.
   */
  readonly holdOpen = new Set<string>();
  /** Messages the adversary acted on (anything but pass), by kind of verdict. */
  readonly acted = { drop: 0, duplicate: 0, delay: 0, replace: 0 };
  readonly #pipes = new Set<Pipe>();

  constructor(sides = 1) {
    this.stores = Array.from({ length: sides }, () => new MemoryRelayStore());
    this.relays = this.stores.map((store) => new Relay({ store }));
  }

  /**
   * The relay of `side` restarts on `store` (a copy of an earlier state: a rollback): every
   * socket to it is closed, and members reconnect to the new one.
   */
  restart(side: number, store: MemoryRelayStore): void {
    this.relays[side]!.close();
    this.stores[side] = store;
    this.relays[side] = new Relay({ store });
    for (const pipe of [...this.#pipes]) if (this.sideOf(pipe.member) === side) pipe.close();
  }

  /** Closes the sockets the relay closed and `holdOpen` kept open (their members reconnect); `holdOpen` is emptied. */
  releaseHeld(): void {
    this.holdOpen.clear();
    for (const pipe of [...this.#pipes]) if (pipe._detached) pipe.close();
  }

  /** Sends `member` an old message again (a replay), on each of its open sockets. */
  replay(member: string, message: WireMessage): void {
    for (const pipe of this.#pipes) if (pipe.member === member) pipe._toMember(message);
  }

  /** The WebSocket constructor a member's transport gets: every socket it opens goes through the adversary. */
  socketFor(member: string): new (url: string) => WebSocketLike {
    const adversary = this;
    return class extends Pipe {
      constructor() {
        super(adversary, member);
      }
    };
  }

  /** @internal */
  _open(pipe: Pipe): void {
    this.#pipes.add(pipe);
  }

  /** @internal */
  _closed(pipe: Pipe): void {
    this.#pipes.delete(pipe);
  }

  /** @internal A message on its way; with two relays, beacons and presence also reach the other side's members. */
  _carry(pipe: Pipe, direction: Direction, message: WireMessage): void {
    this.#judge(pipe.member, direction, message, (m) => (direction === 'up' ? pipe._toRelay(m) : pipe._toMember(m)));
    if (direction !== 'up' || this.relays.length < 2 || !crossesSides(message)) return;
    for (const other of this.#pipes)
      if (other.member !== pipe.member && this.sideOf(other.member) !== this.sideOf(pipe.member)) this.#judge(other.member, 'down', message, (m) => other._toMember(m));
  }

  sideOf(member: string): number {
    return this.side.get(member) ?? 0;
  }

  #judge(member: string, direction: Direction, message: WireMessage, deliver: (m: WireMessage) => void): void {
    const verdict = this.policy(member, direction, message);
    if (verdict === 'drop') {
      this.acted.drop++;
      return;
    }
    if (verdict === 'duplicate') {
      this.acted.duplicate++;
      setTimeout(() => deliver(message), 0);
      setTimeout(() => deliver(message), 0);
      return;
    }
    if (verdict !== 'pass') this.acted['replace' in verdict ? 'replace' : 'delay']++;
    if (verdict !== 'pass' && 'replace' in verdict) setTimeout(() => deliver(verdict.replace), 0);
    else setTimeout(() => deliver(message), verdict === 'pass' ? 0 : verdict.delayMs);
  }

  /** Closes every socket and stops the relays. */
  close(): void {
    for (const pipe of [...this.#pipes]) pipe.close();
    for (const relay of this.relays) relay.close();
  }
}

function crossesSides(message: WireMessage): boolean {
  if (message.type === 'beacon') return true;
  try {
    return message.type === 'envelope' && readEnvelopeHeader(message.envelope).kind === 'awareness';
  } catch {
    return false;
  }
}

/** One member's socket: a WebSocketLike on one side, a relay connection on the other. */
class Pipe implements WebSocketLike {
  binaryType = 'arraybuffer';
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly member: string;
  readonly #adversary: HostileRelay;
  #handlers: ReturnType<Relay['accept']> | undefined;

  constructor(adversary: HostileRelay, member: string) {
    this.#adversary = adversary;
    this.member = member;
    setTimeout(() => {
      if (this.readyState !== 0) return;
      this.readyState = OPEN;
      adversary._open(this);
      this.onopen?.({});
      const relay = adversary.relays[adversary.sideOf(member)]!;
      const connection: RelayConnection = {
        send: (frame) => {
          const m = decodeWire(frame);
          for (const one of m.type === 'batch' ? m.messages : [m]) adversary._carry(this, 'down', one);
        },
        close: () => this.#closedByRelay(),
        terminate: () => this.#closedByRelay(),
        bufferedAmount: 0,
      };
      this.#handlers = relay.accept(connection);
    }, 0);
  }

  send(data: Uint8Array): void {
    if (this.readyState !== OPEN) return;
    this.#adversary._carry(this, 'up', decodeWire(data));
  }

  /** True once the relay closed this socket while the adversary held it open for the member. */
  _detached = false;

  #closedByRelay(): void {
    if (this.readyState === CLOSED) return;
    if (!this.#adversary.holdOpen.has(this.member)) return this.close();
    this._detached = true;
    const handlers = this.#handlers;
    this.#handlers = undefined;
    handlers?.closed();
  }

  close(): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.#adversary._closed(this);
    this.#handlers?.closed();
    setTimeout(() => this.onclose?.({}), 0);
  }

  /** @internal */
  _toRelay(message: WireMessage): void {
    if (this.readyState === OPEN) this.#handlers?.receive(encodeWire(message));
  }

  /** @internal */
  _toMember(message: WireMessage): void {
    if (this.readyState === OPEN) this.onmessage?.({ data: encodeWire(message) });
  }
}
