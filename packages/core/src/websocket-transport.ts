/**
 * A transport to a Sealdoc relay over a WebSocket, in browsers and in Node (pass the `ws`
 * package's WebSocket there). To the documents on it the relay is one peer, `relay`, that
 * answers like any other; underneath, this transport proves the member's identity (a signed
 * challenge), subscribes each document from the last cursor it saw (kept in a store, so that
 * a restart resumes where it stopped), turns envelopes into pushes the relay acknowledges (it
 * reads their header, nothing more) and the relay's deliveries into envelopes, and reconnects
 * while it is wanted online: with backoff and jitter (reconnect.ts), at once when the browser
 * says the network is back or the page is shown again, and within a moment after a relay
 * node's 1012 ("service restart": it went down on purpose). A link gone silent (a half-open
 * socket) is noticed by an unanswered ping within seconds. Each message is encoded once on the
 * way out and decoded once on the way in.
 * @module
 */
import { readEnvelopeHeader, signMessage, type Identity } from '@sealdoc/crypto';
import { decodeWire, encodeWire, HELLO_CONTEXT, MAX_FRAME_BYTES, type RelayErrorCode, type WireMessage } from '@sealdoc/protocol';
import { hex } from './bytes.js';
import { Emitter } from './events.js';
import { reconnectDelay, type BackoffOptions } from './reconnect.js';
import type { Storage } from './storage.js';
import { cursorKey } from './storage-keys.js';
import { encodeMessage, TransportError, type PeerId, type Transport, type TransportEvents, type TransportStatus } from './transport.js';

/** The close code a relay sends when it shuts down on purpose (RFC 6455's registry: "Service Restart"). */
const SERVICE_RESTART = 1012;
/** After a 1012, clients reconnect within this (spread, so that a node's clients do not all arrive at once). */
const RESTART_JITTER_MS = 250;
/** What a relay says when it turns a connection away for its load: the client then waits as in a long outage. */
const SLOW_DOWN = new Set<RelayErrorCode>(['busy', 'quota-exceeded', 'rate-limited']);

/** What a relay refused, with its code (an EnvelopeError or MembershipError code, or the relay's own). */
export class RelayError extends Error {
  readonly code: RelayErrorCode;
  /** The request it answers (0: none). */
  readonly ref: number;
  /** Hex of the group of the envelope it refused, when it answers a push. */
  readonly groupId: string | undefined;
  /** Hex of the author (a device id) of the envelope it refused, when it answers a push. */
  readonly author: string | undefined;
  constructor(code: RelayErrorCode, message: string, ref = 0, groupId?: string, author?: string) {
    super(message);
    this.code = code;
    this.ref = ref;
    this.groupId = groupId;
    this.author = author;
    this.name = 'RelayError';
  }
}

/** The part of the WebSocket API this transport uses (the browser's, or `ws`'s in Node). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** Options of {@link WebSocketTransport}. */
export interface WebSocketTransportOptions {
  /** The relay's ws:// or wss:// URL. */
  url: string;
  /** The member this device speaks for: it signs the relay's challenge. */
  identity: Identity;
  /** The WebSocket constructor: the platform's by default; in Node 20, `ws`'s. */
  WebSocket?: new (url: string) => WebSocketLike;
  /** Where the last cursor of each document is kept, to resume from it after a restart. */
  cursors?: Storage;
  /**
   * Reconnection waits: doubling from `minMs` (default 250), capped at `quickMaxMs` (1 s) for
   * the first `quickForMs` (60 s) of an outage, then at a cap that doubles every `quickForMs`
   * up to `maxMs` (30 s); each with jitter (see {@link reconnectDelay}).
   */
  backoff?: BackoffOptions;
  /**
   * Heartbeats: with nothing from the relay for `intervalMs` (default 2.5 s) a `ping` goes, and
   * a link silent for `timeoutMs` (default 7.5 s) whose ping went unanswered is taken as lost (a
   * half-open socket): status leaves `online` and the transport reconnects.
   */
  heartbeat?: { intervalMs?: number; timeoutMs?: number };
  /** How long an attempt may take to be admitted by the relay before it is given up and tried again (default 10 s). */
  connectTimeoutMs?: number;
  /** How long a request waits for the relay's answer before it fails with TransportError('timeout') (default 30 s). */
  requestTimeoutMs?: number;
}

/** What a WebSocketTransport reports besides what every transport does. */
export interface WebSocketTransportEvents extends TransportEvents {
  /** A join request for an invitation of a group this connection watches (see {@link WebSocketTransport.watchInvitations}). */
  'invite-requested': { inviteId: Uint8Array; requester: Uint8Array; request: Uint8Array };
  /** The socket closed (by either side, or given up on after a silence: code 4000), with the close code and reason. */
  'connection-close': { code: number; reason: string };
  /** The socket reported an error (a close follows); `event` is the platform's error event. */
  'connection-error': { event: unknown };
  /**
   * The link went quiet (`quiet: true`: a ping unanswered for {@link QUIET_MS}, the link may be
   * dead and is given up if it stays so) or was heard from again; see {@link WebSocketTransport.quiet}.
   */
  link: { quiet: boolean };
}

/** The relay's answer to a request: an `ack`, an `invite-state` or `groups`. */
export type RelayAnswer = Extract<WireMessage, { type: 'ack' | 'invite-state' | 'groups' }>;

/** The relay's name as a peer. */
export const RELAY_PEER: PeerId = 'relay';
/** How long a ping may go unanswered before the link counts as quiet (an answer normally takes well under a second). */
export const QUIET_MS = 1500;
const OPEN = 1;
const CLOSED = 3;
// How long a closing socket may wait for the relay's answer before it is cut.
const CLOSE_GRACE_MS = 1000;

export class WebSocketTransport implements Transport {
  readonly peerId: PeerId;
  /** The relay acknowledges what it stored (`acknowledged` events). */
  readonly acknowledges = true;
  /** The relay's name as a peer: {@link RELAY_PEER}. */
  readonly relayPeer = RELAY_PEER;
  readonly events = new Emitter<WebSocketTransportEvents>();
  readonly #options: WebSocketTransportOptions;
  readonly #WebSocket: new (url: string) => WebSocketLike;
  #socket: WebSocketLike | undefined;
  #status: TransportStatus = 'offline';
  #wanted = false;
  #attempt = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #maxFrameBytes = MAX_FRAME_BYTES;
  #nextRef = 0;
  // Requests waiting for the relay's answer, by ref.
  readonly #waiting = new Map<number, { resolve(answer: RelayAnswer): void; reject(error: Error): void }>();
  // Groups whose join requests this device watches (sent again on every connection).
  readonly #watches = new Map<string, Uint8Array>();
  // Documents subscribed on the current socket ("group:doc"), and the highest cursor seen of each.
  #subscribed = new Set<string>();
  readonly #cursors = new Map<string, number>();
  // Frames leave in the order given, after any subscription they need.
  #outbox: Promise<void> = Promise.resolve();
  #online: Promise<void> | undefined;
  #inbound: Promise<void> = Promise.resolve();
  #resolveOnline: (() => void) | undefined;
  #rejectOnline: ((error: Error) => void) | undefined;
  // Pushes on the current socket not acknowledged yet, by ref: their envelope's author and seq.
  #pushes = new Map<number, { author: string; seq: number; group: string }>();
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #lastHeard = 0;
  // When the ping not answered yet went (0: none), and the last ping's number.
  #pingAt = 0;
  #pingNonce = 0;
  // When the relay was last lost or first tried (undefined while online): how old the outage is.
  #downSince: number | undefined;
  // The attempt under way, given up if not admitted in time.
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #watchingNetwork = false;
  // The relay turned this connection away for its load (busy, over a quota): the next waits are a long outage's.
  #slowDown = false;
  #quiet = false;

  constructor(options: WebSocketTransportOptions) {
    this.#options = options;
    const ctor = options.WebSocket ?? (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
    if (!ctor) throw new TransportError('offline', 'no WebSocket here: pass one (in Node 20, the ws package)');
    this.#WebSocket = ctor;
    this.peerId = hex(options.identity.memberId).slice(0, 16);
  }

  get status(): TransportStatus {
    return this.#status;
  }

  /**
   * Online, but a ping has gone unanswered for {@link QUIET_MS}: the relay may be gone (a
   * silent network) or slow. Nothing is sure of being delivered until it answers; the link is
   * given up if it does not within the heartbeat's timeout. A `link` event reports changes.
   */
  get quiet(): boolean {
    return this.#quiet;
  }

  /** Largest message: what the relay accepts, less a frame's header. */
  get maxMessageBytes(): number {
    return this.#maxFrameBytes - 64;
  }

  peers(): PeerId[] {
    return this.#status === 'online' ? [RELAY_PEER] : [];
  }

  /**
   * Goes online and stays so (reconnecting as needed) until disconnect; resolves once online.
   * Rejects with the relay's RelayError('auth-failed') when the relay does not admit this
   * client: then it stops trying.
   */
  connect(): Promise<void> {
    this.#wanted = true;
    this.#watchNetwork(true);
    if (this.#status === 'online') return Promise.resolve();
    this.#online ??= new Promise((resolve, reject) => {
      this.#resolveOnline = resolve;
      this.#rejectOnline = reject;
    });
    if (!this.#socket && this.#retry === undefined) this.#open();
    return this.#online;
  }

  async disconnect(): Promise<void> {
    this.#wanted = false;
    this.#watchNetwork(false);
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#downSince = undefined;
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.close(1000, 'bye');
    // A relay that never answers the close would keep the socket (ws waits 30 s): where the
    // platform can (Node's ws), it is cut after a second.
    const terminate = (socket as { terminate?: () => void } | undefined)?.terminate;
    if (socket && typeof terminate === 'function') {
      const cut = setTimeout(() => socket.readyState !== CLOSED && terminate.call(socket), CLOSE_GRACE_MS);
      (cut as { unref?: () => void }).unref?.();
    }
    if (socket) this.events.emit('connection-close', { code: 1000, reason: 'bye' });
    this.#lost();
    this.#setStatus('offline');
  }

  send(message: WireMessage, to?: PeerId): void {
    if (this.#status !== 'online') throw new TransportError('offline', 'not connected to the relay');
    if (to !== undefined && to !== RELAY_PEER) throw new TransportError('unknown-peer', `the only peer here is ${RELAY_PEER}`);
    // An envelope the relay stores goes as a push, which it acknowledges by `ref`.
    const envelope = message?.type === 'envelope' ? message.envelope : undefined;
    const stored = envelope && storedHeader(envelope);
    const ref = stored ? ++this.#nextRef : 0;
    const frame = encodeMessage(envelope && stored ? { type: 'push', ref, envelope } : message, this.maxMessageBytes);
    const subscribe = message.type === 'have' ? ([message.groupId.slice(), message.docId.slice()] as const) : undefined;
    const socket = this.#socket!;
    this.#outbox = this.#outbox
      .then(async () => {
        if (subscribe) await this.#subscribe(socket, ...subscribe);
        if (socket !== this.#socket || socket.readyState !== OPEN) return; // lost meanwhile: the next resync sends again
        if (stored) this.#pushes.set(ref, stored);
        socket.send(frame);
      })
      .catch((error: unknown) => this.events.emit('error', { error: error instanceof Error ? error : new Error(String(error)) }));
  }

  /**
   * Sends a request to the relay and resolves with its answer (matched by `ref`, which this
   * sets): an `ack`, an `invite-state` or `groups`. Rejects with the relay's `RelayError`, with
   * TransportError('offline') when not connected or when the connection drops first, or with
   * TransportError('timeout') when no answer comes within `requestTimeoutMs`.
   */
  request(message: Extract<WireMessage, { ref: number }>): Promise<RelayAnswer> {
    const socket = this.#socket;
    if (this.#status !== 'online' || !socket || socket.readyState !== OPEN) return Promise.reject(new TransportError('offline', 'not connected to the relay'));
    const ref = ++this.#nextRef;
    return new Promise<RelayAnswer>((resolve, reject) => {
      // A relay that never answers (it dropped the request, or the answer) cannot hold the caller for ever.
      const ms = this.#options.requestTimeoutMs ?? 30_000;
      const timer = setTimeout(() => {
        if (this.#waiting.delete(ref)) reject(new TransportError('timeout', `the relay did not answer within ${Math.round(ms / 1000)} s`));
      }, ms);
      (timer as { unref?: () => void }).unref?.();
      this.#waiting.set(ref, {
        resolve: (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      // After what `send` queued before: the relay sees frames in the order they were given.
      this.#outbox = this.#outbox.then(() => {
        if (socket === this.#socket && socket.readyState === OPEN) socket.send(encodeWire({ ...message, ref }));
        else if (this.#waiting.delete(ref)) reject(new TransportError('offline', 'the connection to the relay was lost'));
      });
    });
  }

  /** The highest sequence number the relay holds of `memberId` in the group (null: none), for a removal's cutoff. */
  async highestSeq(groupId: Uint8Array, memberId: Uint8Array): Promise<number | null> {
    const answer = await this.request({ type: 'member-seq', ref: 0, groupId, memberId });
    return answer.type === 'ack' && answer.cursor > 0 ? answer.cursor - 1 : null;
  }

  /** Sends membership ops and resolves once the relay stored them; rejects with its RelayError (`stale-head`, `cutoff-too-low`, ...). */
  async commitOps(groupId: Uint8Array, fromIndex: number, ops: readonly Uint8Array[]): Promise<void> {
    await this.request({ type: 'commit-ops', ref: 0, groupId, fromIndex, ops: [...ops] });
  }

  /** Asks the relay for the join requests of `groupId`'s open invitations, now and as they come, on every connection (an admin's device). */
  watchInvitations(groupId: Uint8Array): void {
    this.#watches.set(hex(groupId), groupId.slice());
    if (this.#status === 'online' && this.#socket?.readyState === OPEN) this.#socket.send(encodeWire({ type: 'invite-watch', groupId }));
  }

  /** Subscribes a document on this socket from the last cursor seen (kept in `cursors`). */
  async #subscribe(socket: WebSocketLike, groupId: Uint8Array, docId: Uint8Array): Promise<void> {
    const key = `${hex(groupId)}:${hex(docId)}`;
    if (this.#subscribed.has(key)) return;
    this.#subscribed.add(key);
    let cursor = this.#cursors.get(key);
    if (cursor === undefined) {
      const stored = await this.#options.cursors?.load(cursorKey(hex(groupId), hex(docId)));
      cursor = stored?.length === 8 ? new DataView(stored.buffer, stored.byteOffset).getFloat64(0) : 0;
      this.#cursors.set(key, Math.max(cursor, this.#cursors.get(key) ?? 0));
    }
    if (socket === this.#socket && socket.readyState === OPEN) socket.send(encodeWire({ type: 'subscribe', groupId, docId, cursor: this.#cursors.get(key)! }));
  }

  #open(): void {
    this.#setStatus('connecting');
    this.#downSince ??= Date.now();
    let socket: WebSocketLike;
    try {
      socket = new this.#WebSocket(this.#options.url);
    } catch (error) {
      this.events.emit('error', { error: error instanceof Error ? error : new Error(String(error)) });
      return this.#scheduleRetry();
    }
    socket.binaryType = 'arraybuffer';
    this.#socket = socket;
    // An attempt the network swallows (no answer, no refusal) would hold the transport for ever.
    clearTimeout(this.#connectTimer);
    const connectMs = this.#options.connectTimeoutMs ?? 10_000;
    this.#connectTimer = setTimeout(() => {
      if (socket !== this.#socket || this.#status === 'online') return;
      this.#giveUp(socket, 4001, 'connect timeout', `the relay did not let this device in within ${Math.round(connectMs / 1000)} s: trying again`);
    }, connectMs);
    socket.onmessage = ({ data }) => {
      if (socket !== this.#socket) return;
      this.#lastHeard = Date.now();
      this.#setQuiet(false);
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data instanceof Uint8Array ? data : undefined;
      if (bytes) void this.#receive(socket, bytes);
    };
    socket.onclose = (event) => {
      if (socket !== this.#socket) return;
      this.#socket = undefined;
      const { code, reason } = event as { code?: number; reason?: string };
      this.events.emit('connection-close', { code: code ?? 1006, reason: reason ?? '' });
      this.#lost();
      // 1012 ("service restart"): a relay node going down on purpose; another takes its clients now, not after the backoff.
      if (this.#wanted) this.#scheduleRetry(code === SERVICE_RESTART ? Math.random() * RESTART_JITTER_MS : undefined);
      else this.#setStatus('offline');
    };
    socket.onerror = (event) => {
      if (socket === this.#socket) this.events.emit('connection-error', { event }); // onclose follows
    };
  }

  /** The next attempt after `after` ms (the backoff starting over), or after the backoff's next delay. */
  #scheduleRetry(after?: number): void {
    this.#setStatus('connecting');
    const now = Date.now();
    this.#downSince ??= now;
    if (after !== undefined) this.#attempt = 0;
    // Turned away for its load, the relay gets a long outage's wait at once; otherwise the schedule runs from the outage's start.
    const delay = after ?? (this.#slowDown ? reconnectDelay(Infinity, Infinity, this.#options.backoff) : reconnectDelay(this.#attempt++, now - this.#downSince, this.#options.backoff));
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (this.#wanted) this.#open();
    }, delay);
  }

  /**
   * While online: a `ping` when the relay has said nothing for a while, and the socket dropped
   * (then reconnected) when that ping went unanswered for too long. A ping must have gone
   * first: a page whose timers the browser slowed (a hidden tab) does not take its own
   * slowness for the relay's silence.
   */
  #startHeartbeat(socket: WebSocketLike): void {
    const interval = this.#options.heartbeat?.intervalMs ?? 2500;
    const timeout = this.#options.heartbeat?.timeoutMs ?? 7500;
    const pongWait = Math.max(10, timeout - interval);
    this.#pingAt = 0;
    clearInterval(this.#heartbeat);
    this.#heartbeat = setInterval(
      () => {
        if (socket !== this.#socket) return clearInterval(this.#heartbeat);
        const now = Date.now();
        if (this.#pingAt !== 0 && this.#lastHeard >= this.#pingAt) this.#pingAt = 0; // answered, or something else came
        const silent = now - this.#lastHeard;
        if (this.#pingAt !== 0 && now - this.#pingAt >= pongWait) {
          // Half-open: its close handshake may never finish, so it is given up on now.
          this.#giveUp(socket, 4000, 'heartbeat timeout', `the relay said nothing for ${Math.round(silent / 1000)} s: reconnecting`);
        } else if (this.#pingAt !== 0 && now - this.#pingAt >= Math.min(QUIET_MS, pongWait / 2)) this.#setQuiet(true);
        else if (silent >= interval) this.#ping();
      },
      Math.max(10, Math.min(interval, timeout) / 2),
    );
  }

  /** Sends a `ping` unless one is unanswered: the relay's silence after it tells a lost link. */
  #ping(): void {
    const socket = this.#socket;
    if (this.#pingAt !== 0 || !socket || socket.readyState !== OPEN) return;
    this.#pingAt = Date.now();
    socket.send(encodeWire({ type: 'ping', nonce: (this.#pingNonce = (this.#pingNonce + 1) >>> 0) }));
  }

  /** Gives up `socket` (a silent link, an attempt not admitted in time) without waiting for its close handshake, then tries again. */
  #giveUp(socket: WebSocketLike, code: number, reason: string, message: string): void {
    this.#socket = undefined;
    socket.close(code, reason);
    this.events.emit('connection-close', { code, reason });
    this.events.emit('error', { error: new TransportError('closed', message) });
    this.#lost();
    if (this.#wanted) this.#scheduleRetry();
    else this.#setStatus('offline');
  }

  /**
   * Follows the browser's word on the network and the page (where there is one): back online
   * or shown again, a lost relay is tried at once rather than at the end of its wait, and a live
   * link is checked at once (a ping: a laptop waking up may hold a socket that died asleep).
   */
  #watchNetwork(on: boolean): void {
    const scope = globalThis as { addEventListener?: typeof addEventListener; removeEventListener?: typeof removeEventListener; document?: Document };
    if (on === this.#watchingNetwork || typeof scope.addEventListener !== 'function') return;
    this.#watchingNetwork = on;
    const method = on ? 'addEventListener' : 'removeEventListener';
    scope[method]!('online', this.#nudge);
    scope[method]!('offline', this.#nudge);
    scope.document?.[method]('visibilitychange', this.#nudge);
  }

  readonly #nudge = (event: Event): void => {
    if (!this.#wanted || (globalThis as { document?: Document }).document?.visibilityState === 'hidden') return;
    if (this.#status === 'online') return this.#ping();
    if (event.type === 'offline') return; // nothing to try until the network is back
    if (this.#retry === undefined) return; // an attempt is under way
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#attempt = 0;
    this.#open();
  };

  /** The socket is gone: the relay is no longer a peer, subscriptions must be made again. */
  #lost(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    clearTimeout(this.#connectTimer);
    this.#pingAt = 0;
    this.#setQuiet(false);
    this.#pushes = new Map();
    this.#subscribed = new Set();
    for (const { reject } of this.#waiting.values()) reject(new TransportError('offline', 'the connection to the relay was lost'));
    this.#waiting.clear();
    if (this.#status === 'online') this.events.emit('peer', { peer: RELAY_PEER, present: false });
  }

  async #receive(socket: WebSocketLike, bytes: Uint8Array): Promise<void> {
    let message: WireMessage;
    try {
      message = decodeWire(bytes);
    } catch (error) {
      this.events.emit('error', { error: error as Error });
      return;
    }
    // Frames are handled in the order they came, a batch's messages too.
    this.#inbound = this.#inbound
      .then(async () => {
        for (const m of message.type === 'batch' ? message.messages : [message]) await this.#handle(socket, m);
      })
      .catch((error: unknown) => this.events.emit('error', { error: error instanceof Error ? error : new Error(String(error)) }));
    return this.#inbound;
  }

  async #handle(socket: WebSocketLike, message: WireMessage): Promise<void> {
    switch (message.type) {
      case 'challenge': {
        this.#maxFrameBytes = Math.min(message.maxFrameBytes, MAX_FRAME_BYTES);
        const signature = await signMessage(this.#options.identity, HELLO_CONTEXT, message.nonce);
        if (socket.readyState === OPEN) socket.send(encodeWire({ type: 'hello', signingPublicKey: this.#options.identity.signingPublicKey, signature }));
        return;
      }
      case 'welcome':
        this.#attempt = 0;
        this.#downSince = undefined;
        this.#slowDown = false;
        clearTimeout(this.#connectTimer);
        this.#startHeartbeat(socket);
        for (const groupId of this.#watches.values()) socket.send(encodeWire({ type: 'invite-watch', groupId }));
        this.#setStatus('online');
        this.events.emit('peer', { peer: RELAY_PEER, present: true });
        this.#resolveOnline?.();
        this.#online = undefined;
        return;
      case 'deliver': {
        const key = `${hex(message.groupId)}:${hex(message.docId)}`;
        this.#emit({ type: 'envelope', envelope: message.envelope });
        if (message.cursor > (this.#cursors.get(key) ?? 0)) {
          this.#cursors.set(key, message.cursor);
          await this.#saveCursor(message.groupId, message.docId, message.cursor);
        }
        return;
      }
      case 'error': {
        const refused = this.#pushes.get(message.ref);
        this.#pushes.delete(message.ref);
        const error = new RelayError(message.code, message.message, message.ref, refused?.group, refused?.author);
        // Turned away for the relay's load before being let in: coming back every second would add to it.
        if (this.#status !== 'online' && SLOW_DOWN.has(message.code)) this.#slowDown = true;
        if (message.code === 'auth-failed' || message.code === 'device-revoked') {
          // The relay's operator does not admit this client, or its person revoked this device:
          // trying again would only be refused again.
          this.#wanted = false;
          this.#rejectOnline?.(error);
          this.#online = undefined;
        }
        const waiting = this.#waiting.get(message.ref);
        this.#waiting.delete(message.ref);
        if (waiting) waiting.reject(error);
        else this.events.emit('error', { error });
        return;
      }
      case 'ack': {
        const push = this.#pushes.get(message.ref);
        if (push) {
          this.#pushes.delete(message.ref);
          this.events.emit('acknowledged', { author: push.author, seq: push.seq });
          return;
        }
        const waiting = this.#waiting.get(message.ref);
        this.#waiting.delete(message.ref);
        waiting?.resolve(message);
        return;
      }
      case 'invite-state':
      case 'groups': {
        const waiting = this.#waiting.get(message.ref);
        this.#waiting.delete(message.ref);
        waiting?.resolve(message);
        return;
      }
      case 'invite-requested':
        this.events.emit('invite-requested', { inviteId: message.inviteId, requester: message.requester, request: message.request });
        return;
      case 'envelope':
      case 'have':
      case 'ops':
      case 'beacon':
        this.#emit(message);
        return;
      default:
        return; // caught-up: nothing to do here
    }
  }

  async #saveCursor(groupId: Uint8Array, docId: Uint8Array, cursor: number): Promise<void> {
    const storage = this.#options.cursors;
    if (!storage) return;
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, cursor);
    await storage.save(cursorKey(hex(groupId), hex(docId)), bytes).catch((error: unknown) => this.events.emit('error', { error: error as Error }));
  }

  #emit(message: WireMessage): void {
    this.events.emit('message', { from: RELAY_PEER, message });
  }

  #setQuiet(quiet: boolean): void {
    if (this.#quiet === quiet) return;
    this.#quiet = quiet;
    this.events.emit('link', { quiet });
  }

  #setStatus(status: TransportStatus): void {
    if (this.#status === status) return;
    this.#status = status;
    this.events.emit('status', { status });
  }
}

/** The author (hex), sequence number and group (hex) of an envelope the relay stores (an update or a snapshot); undefined for awareness. */
function storedHeader(envelope: Uint8Array): { author: string; seq: number; group: string } | undefined {
  try {
    const header = readEnvelopeHeader(envelope);
    return header.kind === 'awareness' ? undefined : { author: hex(header.author), seq: header.seq, group: hex(header.groupId) };
  } catch {
    // Malformed: pushed as it is, for the relay to refuse.
    return { author: '', seq: -1, group: '' };
  }
}
