/**
 * Transport: how the engine exchanges bytes with other peers, in the manner of
 * automerge-repo's NetworkAdapter. A relay connection (WebSocket), the tabs of one browser
 * (BroadcastChannel) and the in-memory hub of the tests all fit it. The peer-to-peer ones pass
 * one conformance suite (test/conformance/transport.ts); the WebSocket transport, whose one
 * peer is the relay, is tested against a real relay (packages/relay/test/websocket-transport.node.test.ts).
 *
 * What messages mean (envelopes, membership ops, awareness, sync requests) is the engine's
 * protocol: peer-to-peer transports move them as opaque bytes; the WebSocket transport reads
 * them, to subscribe documents and to push envelopes the relay acknowledges. Envelopes are
 * sealed, and ops signed, before they reach any transport.
 * @module
 */
import type { Emitter } from './events.js';

/** A peer's name on a transport. */
export type PeerId = string;

/** Whether a transport can send. */
export type TransportStatus = 'offline' | 'connecting' | 'online';

/** What a transport reports. */
export interface TransportEvents extends Record<string, unknown> {
  /** A message from another peer. */
  message: { from: PeerId; data: Uint8Array };
  /** A peer became reachable (`present: true`) or stopped being so. */
  peer: { peer: PeerId; present: boolean };
  /** The transport's own status changed. */
  status: { status: TransportStatus };
  /** Something the other side refused or that failed on the way (a relay's error), to report. */
  error: { error: Error };
  /**
   * An envelope sent through this transport was stored by the other side (a relay's ack): its
   * author (hex member id) and sequence number. Only a transport that `acknowledges` emits it.
   */
  acknowledged: { author: string; seq: number };
}

/** Why a transport refused a call. */
export type TransportErrorCode = 'offline' | 'too-large' | 'unknown-peer' | 'bad-message' | 'closed' | 'timeout';

/** A typed transport failure. */
export class TransportError extends Error {
  readonly code: TransportErrorCode;
  constructor(code: TransportErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'TransportError';
  }
}

/** What every transport provides. */
export interface Transport {
  /** This peer's id. */
  readonly peerId: PeerId;
  /** Current status. */
  readonly status: TransportStatus;
  /** Largest message `send` accepts, in bytes. */
  readonly maxMessageBytes: number;
  /** Whether the other side acknowledges the envelopes it stores (`acknowledged` events): a relay does, peers do not. */
  readonly acknowledges?: boolean;
  /**
   * The peer id of the relay this transport speaks to, when it speaks to one. A relay stores
   * what it holds: its `have` lists what it stored, and its word on which of this member's
   * sequence numbers are used is taken as it is (a peer's only within a bound).
   */
  readonly relayPeer?: PeerId;
  /** Events: message, peer, status. */
  readonly events: Pick<Emitter<TransportEvents>, 'on'>;
  /** Goes online; resolves once it is. */
  connect(): Promise<void>;
  /** Goes offline; no message is delivered to or from this peer afterwards. */
  disconnect(): Promise<void>;
  /**
   * Sends `data` to one peer, or to every other peer when `to` is omitted. Throws
   * TransportError: `offline`, `too-large`, `unknown-peer`, `bad-message`. Delivery is best
   * effort: the engine, not the transport, heals loss by resync.
   */
  send(data: Uint8Array, to?: PeerId): void;
  /** The peers currently reachable, this one excluded. */
  peers(): PeerId[];
}
