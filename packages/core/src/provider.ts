/**
 * SealdocProvider: a sealed document through a relay, in one call, shaped like y-websocket's
 * WebsocketProvider (and Hocuspocus's provider): `new SealdocProvider(url, name, doc, options)`,
 * `provider.awareness`, `on`/`off`/`once` for `status`, `sync`/`synced`, `connection-close`,
 * `connection-error` and `auth-failed`, `connect()`, `disconnect()`, `destroy()`, `whenSynced`.
 *
 * What differs from y-websocket is what makes it sealed: the options name the group whose keys
 * seal the document (and, for an encrypted local store, the store and its device key); the
 * name is hashed inside the group to a document id the relay sees instead; the provider also
 * reports what the relay or other members refused or did wrong (`error`, `alarms`).
 * @module
 */
import type * as Y from 'yjs';
import { Awareness, removeAwarenessStates } from 'y-protocols/awareness';
import { ObservableV2 } from 'lib0/observable';
import { documentIdFromName } from '@sealdoc/crypto';
import { SealedDoc, type BatchOptions } from './sealed-doc.js';
import { RelayError, WebSocketTransport, type WebSocketLike } from './websocket-transport.js';
import type { BeaconOptions } from './head-watch.js';
import type { LocalDevice } from './local-device.js';
import type { Group } from './group.js';
import type { PeerId, TransportStatus } from './transport.js';
import type { SyncError } from './sync-error.js';

/** A provider's connection status, in y-websocket's words. */
export type ProviderStatus = 'connecting' | 'connected' | 'disconnected';

/** Options of {@link SealdocProvider}. */
export interface SealdocProviderOptions {
  /** The group whose members may read the document: its keys seal it. */
  group: Group;
  /**
   * This device's encrypted store and key: the document opens from the store offline (its
   * state sealed under the device key), edits wait there until the relay has them, and the
   * relay's cursors are kept there. Without one, nothing is kept on the device.
   */
  device?: LocalDevice;
  /** Cursors and names to share (sealed, never stored): a new y-protocols Awareness when none is given. */
  awareness?: Awareness;
  /** Query parameters added to the relay's URL (a token its `authenticate` hook reads), as y-websocket's `params`. */
  params?: Record<string, string>;
  /** Connect at once (default true), as y-websocket's `connect` option. */
  connect?: boolean;
  /** The WebSocket class where the platform has none (Node 20: the `ws` package's), as y-websocket's `WebSocketPolyfill`. */
  WebSocketPolyfill?: new (url: string) => WebSocketLike;
  /** Batching of local edits before sealing. */
  batch?: BatchOptions;
  /** Signed head beacons: how often, and how long the relay has to deliver what they show. */
  beacons?: BeaconOptions;
}

/** What a {@link SealdocProvider} reports (`on`, `off`, `once`), with y-websocket's argument shapes. */
export interface SealdocProviderEvents {
  /** The connection to the relay: `connecting`, `connected` or `disconnected`. */
  status: (event: { status: ProviderStatus }) => void;
  /** Whether everything the relay holds of the document is applied here (false again once offline). */
  sync: (synced: boolean) => void;
  /** The same as `sync`. */
  synced: (synced: boolean) => void;
  /** The socket closed: its close code and reason. */
  'connection-close': (event: { code: number; reason: string }, provider: SealdocProvider) => void;
  /** The socket reported an error (a close follows). */
  'connection-error': (event: unknown, provider: SealdocProvider) => void;
  /** The relay does not admit this client (its `authenticate` hook said no): the provider stops trying. */
  'auth-failed': (event: { reason: string }) => void;
  /** Something was refused or went wrong: a peer's envelope, the relay's refusal, the store, the rotation an admin's device owes after a member left (a RekeyError). */
  error: (error: Error, from?: PeerId) => void;
  /** What is wrong with the relay or other members changed (see SealedDoc.alarms). */
  alarms: (alarms: SyncError[]) => void;
  /** How many of this member's edits wait to be sent or acknowledged. */
  pending: (count: number) => void;
  /**
   * This device acts no more in the group: its person was removed, or (`revoked`) its person
   * revoked this device. Nothing more is sent, nothing new can be read.
   */
  'access-removed': (event: { epoch: number; revoked: boolean }) => void;
  /**
   * This device was revoked by its person (a revocation it verified in the group's log, never
   * the relay's word alone): the provider disconnected and, with a `device`, wiped the
   * device's store (`wiped`). The app says so plainly and offers to restore from the words.
   */
  'device-revoked': (event: { epoch: number; wiped: boolean }) => void;
}

// The relay connections of the live providers of each group, oldest first.
const LIVE_RELAYS = new WeakMap<Group, WebSocketTransport[]>();

/** `url` with `params` added to its query. */
function withParams(url: string, params: Record<string, string> | undefined): string {
  if (!params || Object.keys(params).length === 0) return url;
  return `${url}${url.includes('?') ? '&' : '?'}${new URLSearchParams(params).toString()}`;
}

const STATUS: Record<TransportStatus, ProviderStatus> = { online: 'connected', connecting: 'connecting', offline: 'disconnected' };

/**
 * A Y.Doc synced through a Sealdoc relay, sealed under a group's keys:
 *
 * ```ts
 * const provider = new SealdocProvider('wss://relay.example', 'notes', ydoc, { group, device });
 * provider.on('status', ({ status }) => console.log(status));
 * provider.awareness.setLocalStateField('user', { name: 'Alice' });
 * ```
 *
 * `serverUrl` may instead be a {@link WebSocketTransport} shared by several providers (one
 * socket for many documents); this provider then neither opens nor closes it.
 */
export class SealdocProvider extends ObservableV2<SealdocProviderEvents> {
  readonly doc: Y.Doc;
  /** The document's name, as given. */
  readonly name: string;
  /** The 16-byte id the relay sees: the name hashed inside the group. */
  readonly docId: Uint8Array;
  readonly awareness: Awareness;
  /** The connection to the relay. */
  readonly transport: WebSocketTransport;
  /** The sealed document underneath (alarms, pending, flush, snapshots). */
  readonly sealed: SealedDoc;
  /** Resolves with this provider once the first sync with the relay settled. */
  readonly whenSynced: Promise<SealdocProvider>;
  /** Resolves once what the local store holds of the document is applied (at once without a store). */
  readonly whenLoaded: Promise<void>;
  readonly #ownsTransport: boolean;
  readonly #ownsAwareness: boolean;
  readonly #off: (() => void)[] = [];
  #destroying: Promise<void> | undefined;

  constructor(serverUrl: string | WebSocketTransport, name: string, doc: Y.Doc, options: SealdocProviderOptions) {
    super();
    this.doc = doc;
    this.name = name;
    this.docId = documentIdFromName(options.group.groupId, name);
    this.#ownsAwareness = !options.awareness;
    this.awareness = options.awareness ?? new Awareness(doc);
    this.#ownsTransport = typeof serverUrl === 'string';
    this.transport =
      typeof serverUrl === 'string'
        ? new WebSocketTransport({ url: withParams(serverUrl, options.params), identity: options.group.keys, ...(options.device ? { cursors: options.device.storage } : {}), ...(options.WebSocketPolyfill ? { WebSocket: options.WebSocketPolyfill } : {}) })
        : serverUrl;
    this.sealed = new SealedDoc(doc, {
      group: options.group,
      docId: this.docId,
      transport: this.transport,
      awareness: this.awareness,
      ...(options.device ? { storage: options.device.storage, deviceKey: options.device.deviceKey } : {}),
      ...(options.batch ? { batch: options.batch } : {}),
      ...(options.beacons ? { beacons: options.beacons } : {}),
    });
    // Membership changes made through this group go to the relay (unless they go elsewhere
    // already); when this provider goes, to another live provider's, never to none while one lives.
    if (this.#ownsTransport) {
      const group = options.group;
      LIVE_RELAYS.set(group, [...(LIVE_RELAYS.get(group) ?? []), this.transport]);
      group.relay ??= this.transport;
      this.#off.push(() => {
        const rest = (LIVE_RELAYS.get(group) ?? []).filter((t) => t !== this.transport);
        LIVE_RELAYS.set(group, rest);
        if (group.relay === this.transport) group.relay = rest[0];
      });
    }
    this.whenLoaded = this.sealed.whenLoaded;
    this.whenSynced = this.sealed.whenSynced.then(() => this);

    const events = this.sealed.events;
    this.#off.push(
      this.transport.events.on('status', ({ status }) => {
        if (status !== 'online') this.#dropRemotePresence();
        this.emit('status', [{ status: STATUS[status] }]);
      }),
      events.on('synced', ({ synced }) => {
        this.emit('synced', [synced]);
        this.emit('sync', [synced]);
      }),
      events.on('error', ({ error, from }) => {
        if (error instanceof RelayError && error.code === 'auth-failed') this.emit('auth-failed', [{ reason: error.message }]);
        this.emit('error', [error, from]);
      }),
      events.on('alarms', ({ alarms }) => this.emit('alarms', [alarms])),
      events.on('pending', ({ count }) => this.emit('pending', [count])),
      events.on('access-removed', (event) => {
        this.emit('access-removed', [event]);
        if (event.revoked) void this.#revoked(event.epoch, options.device);
      }),
      this.transport.events.on('connection-close', (event) => this.emit('connection-close', [event, this])),
      this.transport.events.on('connection-error', ({ event }) => this.emit('connection-error', [event, this])),
    );

    // A page that goes away takes its caret with it (sealed in advance: nothing asynchronous
    // finishes during an unload); one restored from the back/forward cache shows it again.
    const target = globalThis as { addEventListener?: EventTarget['addEventListener']; removeEventListener?: EventTarget['removeEventListener'] };
    if (typeof target.addEventListener === 'function') {
      const onHide = () => this.sealed.leaveNow();
      const onShow = (event: Event) => {
        if ((event as { persisted?: boolean }).persisted) this.awareness.setLocalState(this.awareness.getLocalState());
      };
      target.addEventListener('pagehide', onHide);
      target.addEventListener('pageshow', onShow);
      this.#off.push(() => {
        target.removeEventListener?.('pagehide', onHide);
        target.removeEventListener?.('pageshow', onShow);
      });
    }
    // After the caller's listeners are on: they see `connecting` too.
    if (options.connect ?? true) queueMicrotask(() => this.connect());
  }

  /** The connection's status. */
  get status(): ProviderStatus {
    return STATUS[this.transport.status];
  }

  /** Whether everything the relay holds of the document is applied here. */
  get synced(): boolean {
    return this.sealed.synced;
  }

  /**
   * Connects (and reconnects after losses) until `disconnect()`. A refusal by the relay is an
   * `auth-failed` event (and `error`), not an exception.
   */
  connect(): void {
    if (this.#destroying) return;
    this.transport.connect().catch(() => undefined); // reported through the events
  }

  /**
   * Goes offline: edits go on being sealed and kept (in the store, with one) until the next
   * `connect()`. A shared connection goes offline for every document on it.
   */
  disconnect(): void {
    void this.transport.disconnect();
  }

  /** This device was revoked: stop, wipe the device's store (what it holds can no longer be sent nor read anew), say so. */
  async #revoked(epoch: number, device: LocalDevice | undefined): Promise<void> {
    this.disconnect();
    let wiped = false;
    if (device) {
      await this.sealed.destroy().catch(() => undefined);
      wiped = await device.wipe().then(
        () => true,
        (error: unknown) => (this.emit('error', [error as Error]), false),
      );
    }
    this.emit('device-revoked', [{ epoch, wiped }]);
  }

  /**
   * Releases everything this provider started: the sealed document (pending edits sealed and
   * stored, this peer's presence removed at the other members at once), the socket it owns,
   * the awareness it created, its listeners. Resolves once that is done; stored data stays.
   */
  override destroy(): Promise<void> {
    this.#destroying ??= (async () => {
      await this.sealed.destroy();
      if (this.#ownsTransport) await this.transport.disconnect(); // its close is still reported
      for (const off of this.#off.splice(0)) off();
      if (this.#ownsAwareness) this.awareness.destroy();
      super.destroy();
    })();
    return this.#destroying;
  }

  /** The other members' presence is stale once the relay is gone (as y-websocket does). */
  #dropRemotePresence(): void {
    const others = [...this.awareness.getStates().keys()].filter((client) => client !== this.awareness.clientID);
    if (others.length > 0) removeAwarenessStates(this.awareness, others, this);
  }
}
