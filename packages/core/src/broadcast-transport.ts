/**
 * A transport between the tabs (and workers) of one browser, over BroadcastChannel: edits and
 * awareness reach the other tabs at once, without the relay. What crosses it is what crosses
 * any transport: sealed envelopes, signed ops and `have` summaries, encoded here as they go
 * and decoded as they come.
 *
 * Presence: a transport that connects says `hello`, the others answer `here`; one that
 * disconnects (or whose page is hidden for good) says `bye`.
 * @module
 */
import { Emitter } from './events.js';
import type { WireMessage } from '@sealdoc/protocol';
import { encodeMessage, receiveMessage, TransportError, type PeerId, type Transport, type TransportEvents, type TransportStatus } from './transport.js';

/** Options of {@link BroadcastTransport}. */
export interface BroadcastTransportOptions {
  /** The channel: tabs with the same name (and origin) reach each other. Default 'sealdoc'. */
  channel?: string;
  /** This tab's peer id; a random one by default. */
  peerId?: PeerId;
  /** Largest message, in bytes (default 16 MiB). */
  maxMessageBytes?: number;
}

type Frame =
  | { t: 'hello' | 'here' | 'bye'; from: PeerId; to?: PeerId }
  | { t: 'data'; from: PeerId; to?: PeerId; data: Uint8Array };

const randomPeerId = () => Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');

function isFrame(value: unknown): value is Frame {
  const f = value as Frame | null;
  if (typeof f !== 'object' || f === null || typeof f.from !== 'string' || (f.to !== undefined && typeof f.to !== 'string')) return false;
  if (f.t === 'data') return f.data instanceof Uint8Array;
  return f.t === 'hello' || f.t === 'here' || f.t === 'bye';
}

export class BroadcastTransport implements Transport {
  readonly peerId: PeerId;
  readonly maxMessageBytes: number;
  readonly events = new Emitter<TransportEvents>();
  readonly #channelName: string;
  #channel: BroadcastChannel | undefined;
  #status: TransportStatus = 'offline';
  readonly #peers = new Set<PeerId>();
  readonly #onPageHide = () => void this.disconnect();

  constructor(options: BroadcastTransportOptions = {}) {
    this.#channelName = `sealdoc:${options.channel ?? 'sealdoc'}`;
    this.peerId = options.peerId ?? randomPeerId();
    this.maxMessageBytes = options.maxMessageBytes ?? 16 * 1024 * 1024;
  }

  get status(): TransportStatus {
    return this.#status;
  }

  peers(): PeerId[] {
    return [...this.#peers];
  }

  async connect(): Promise<void> {
    if (this.#channel) return;
    if (typeof BroadcastChannel === 'undefined') throw new TransportError('offline', 'BroadcastChannel is not available here');
    const channel = new BroadcastChannel(this.#channelName);
    channel.onmessage = ({ data }: MessageEvent) => this.#receive(data);
    this.#channel = channel;
    if (typeof addEventListener === 'function') addEventListener('pagehide', this.#onPageHide);
    this.#setStatus('online');
    this.#post({ t: 'hello', from: this.peerId });
  }

  async disconnect(): Promise<void> {
    const channel = this.#channel;
    if (!channel) return;
    this.#post({ t: 'bye', from: this.peerId });
    channel.close();
    this.#channel = undefined;
    if (typeof removeEventListener === 'function') removeEventListener('pagehide', this.#onPageHide);
    for (const peer of [...this.#peers]) this.#gone(peer);
    this.#setStatus('offline');
  }

  send(message: WireMessage, to?: PeerId): void {
    if (!this.#channel) throw new TransportError('offline', 'this transport is offline');
    const data = encodeMessage(message, this.maxMessageBytes);
    if (to !== undefined && !this.#peers.has(to)) throw new TransportError('unknown-peer', `no peer ${to} on this channel`);
    this.#post({ t: 'data', from: this.peerId, data, ...(to !== undefined ? { to } : {}) });
  }

  #post(frame: Frame): void {
    this.#channel?.postMessage(frame);
  }

  #receive(frame: unknown): void {
    // Anything else on the channel (another version, another library) is ignored.
    if (!isFrame(frame) || frame.from === this.peerId || (frame.to !== undefined && frame.to !== this.peerId)) return;
    switch (frame.t) {
      case 'hello':
        this.#post({ t: 'here', from: this.peerId, to: frame.from });
        this.#present(frame.from);
        break;
      case 'here':
        this.#present(frame.from);
        break;
      case 'bye':
        this.#gone(frame.from);
        break;
      case 'data':
        // A tab that spoke before its hello reached us is present all the same.
        this.#present(frame.from);
        if (frame.data.length <= this.maxMessageBytes) receiveMessage(this.events, frame.from, frame.data, this.maxMessageBytes);
        break;
    }
  }

  #present(peer: PeerId): void {
    if (this.#peers.has(peer)) return;
    this.#peers.add(peer);
    this.events.emit('peer', { peer, present: true });
  }

  #gone(peer: PeerId): void {
    if (this.#peers.delete(peer)) this.events.emit('peer', { peer, present: false });
  }

  #setStatus(status: TransportStatus): void {
    this.#status = status;
    this.events.emit('status', { status });
  }
}
