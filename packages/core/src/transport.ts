/**
 * Transport: how the engine exchanges messages with other peers, in the manner of
 * automerge-repo's NetworkAdapter. A relay connection (WebSocket), the tabs of one browser
 * (BroadcastChannel) and the in-memory hub of the tests all fit it. The peer-to-peer ones pass
 * one conformance suite (transport-conformance.ts, in `@sealdoc/core/testing/conformance`); the WebSocket transport, whose one
 * peer is the relay, is tested against a real relay (packages/relay/test/websocket-transport.node.test.ts).
 *
 * Messages cross the interface typed (the protocol's WireMessage: envelopes, membership ops,
 * sync requests, beacons), and each hop encodes once and decodes once, at the transport's
 * edge: the hub and BroadcastChannel turn them into bytes and back; the WebSocket transport
 * turns an envelope into a push the relay acknowledges (reading only its header) and a relay's
 * delivery into an envelope. Envelopes are sealed, and ops signed, before they reach any
 * transport.
 * @module
 */
import { decodeWire, encodeWire, MESSAGE_TYPES, WireError, type WireMessage } from '@sealdoc/protocol';
import type { Emitter } from './events.js';

/** A peer's name on a transport. */
export type PeerId = string;

/** Whether a transport can send. */
export type TransportStatus = 'offline' | 'connecting' | 'online';

/** What a transport reports. */
export interface TransportEvents extends Record<string, unknown> {
  /** A message from another peer, decoded. */
  message: { from: PeerId; message: WireMessage };
  /** A peer became reachable (`present: true`) or stopped being so. */
  peer: { peer: PeerId; present: boolean };
  /** The transport's own status changed. */
  status: { status: TransportStatus };
  /**
   * Something the other side refused or that failed on the way (a relay's error), to report;
   * with `from`, a peer's message that did not decode (a WireError).
   */
  error: { error: Error; from?: PeerId };
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
  /** Largest message `send` accepts, encoded, in bytes. */
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
   * Sends `message` to one peer, or to every other peer when `to` is omitted; it is encoded at
   * once (the caller may reuse its buffers). Throws TransportError: `offline`, `too-large`,
   * `unknown-peer`, `bad-message` (no WireMessage). Delivery is best effort: the engine, not
   * the transport, heals loss by resync.
   */
  send(message: WireMessage, to?: PeerId): void;
  /** The peers currently reachable, this one excluded. */
  peers(): PeerId[];
}

/**
 * @internal Encodes a message at a transport's edge. Throws TransportError: `bad-message` for
 * anything that is no WireMessage, `too-large` when it encodes to more than `maxBytes`.
 */
export function encodeMessage(message: WireMessage, maxBytes: number): Uint8Array {
  if (typeof message !== 'object' || message === null || !Object.hasOwn(MESSAGE_TYPES, message.type)) throw new TransportError('bad-message', 'not a message of the protocol');
  let data: Uint8Array;
  try {
    data = encodeWire(message);
  } catch (error) {
    // A field of the wrong kind or size.
    throw new TransportError('bad-message', `not a message of the protocol: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (data.length > maxBytes) throw new TransportError('too-large', `a message is at most ${maxBytes} bytes`);
  return data;
}

/**
 * @internal Decodes a peer's bytes at a transport's edge and reports them on `events`: a
 * `message`, or an `error` (the WireError, with `from`) when they are no message.
 */
export function receiveMessage(events: Pick<Emitter<TransportEvents>, 'emit'>, from: PeerId, data: Uint8Array, maxBytes: number): void {
  let message: WireMessage;
  try {
    message = decodeWire(data, maxBytes);
  } catch (error) {
    if (error instanceof WireError) events.emit('error', { error, from });
    return;
  }
  events.emit('message', { from, message });
}
