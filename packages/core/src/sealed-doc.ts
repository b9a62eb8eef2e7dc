/**
 * A sealed document: binds a Y.Doc to a group, a document id and (optionally) a transport
 * and a store, the way y-websocket and y-indexeddb bind one to a server and a database.
 *
 * - Local updates (any origin but this provider) are batched: merged over `windowMs` or until
 *   `maxBytes`, in bounded windows (never one huge Y.mergeUpdates), then sealed under the
 *   newest epoch held, stored and sent.
 * - Remote envelopes are verified, decrypted and checked against the membership log, then
 *   applied with this provider as origin. Duplicates are ignored; envelopes whose epoch or
 *   membership head is not known yet wait until the log catches up.
 * - Peers exchange `have` summaries (which sequence numbers each holds, and how long their
 *   log is) in a request and an answer, and send each other what the other lacks: lost,
 *   duplicated or reordered messages heal on resync.
 * - Envelopes sealed while offline are re-sealed under a newer epoch learnt before they were
 *   sent, so members added meanwhile can read them; a removed member sends nothing.
 * @module
 */
import * as Y from 'yjs';
import { applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates, type Awareness } from 'y-protocols/awareness';
import { EnvelopeError, equalBytes, MembershipError, openEnvelope, readEnvelopeHeader, sealEnvelope, signMessage, type EnvelopeHeader, type OpenContext } from '@sealdoc/crypto';
import { hex, unhex } from './bytes.js';
import { Emitter } from './events.js';
import { Parking } from './parking.js';
import { PresenceOwners } from './presence.js';
import { HeadWatch, type BeaconOptions } from './head-watch.js';
import { SyncError } from './sync-error.js';
import type { Group } from './group.js';

import type { Storage, StorageWrite } from './storage.js';
import type { PeerId, Transport, TransportStatus } from './transport.js';
import { RELAY_PEER, RelayError } from './websocket-transport.js';
import { AtRestError, type DeviceKey } from './device-key.js';
import { COVERS_CONTEXT, coversSignedBytes, decodeWire, encodeWire, SeqRanges, WireError, type WireMessage } from '@sealdoc/protocol';
import { decodeLocalState, decodeSnapshot, encodeLocalState, encodeSnapshot, type SnapshotPayload } from './wire.js';

/** Batching of local edits before sealing. */
export interface BatchOptions {
  /** How long edits accumulate before they are sealed, in ms (default 50). */
  windowMs?: number;
  /** Seal at once when the batch grows past this many bytes (default 64 KiB). */
  maxBytes?: number;
}

/** Options of {@link SealedDoc}. */
export interface SealedDocOptions {
  group: Group;
  /** 16-byte document id. */
  docId: Uint8Array;
  transport?: Transport;
  storage?: Storage;
  batch?: BatchOptions;
  /**
   * y-protocols awareness (cursors, names) to share, sealed and signed like updates, with a
   * per-author counter so that stale or replayed states are dropped; never stored.
   */
  awareness?: Awareness;
  /** Seal a snapshot after this many envelopes since the last one (default 500); 0 never. */
  snapshotEvery?: number;
  /**
   * With a store: keep the document's state there, sealed under this device key, so that the
   * next open applies it at once, with no signature checks and no replay of envelopes (only
   * envelopes it does not cover are checked and applied).
   */
  deviceKey?: DeviceKey;
  /** How long after a change the local state is saved again, in ms (default 1000). */
  localSaveMs?: number;
  /**
   * Signed head beacons (with a transport): how often they go, and how long the relay has to
   * deliver what they show before this member is told (see {@link BeaconOptions}).
   */
  beacons?: BeaconOptions;
}

/** What a sealed document reports. */
export interface SealedDocEvents extends Record<string, unknown> {
  /**
   * Every envelope known to be available was applied (after a resync exchange settled:
   * `true`), or the transport went offline since (`false`).
   */
  synced: { synced: boolean };
  /** The transport's status. */
  status: { status: TransportStatus };
  /**
   * Something was refused or failed: a peer's envelope, op or message (with `from`; nothing
   * was applied), or this provider's own work in the background (storage, sealing).
   */
  error: { error: Error; from?: PeerId };
  /** This member was removed: nothing more is sent, nothing new can be read. */
  'access-removed': { epoch: number };
  /** How many of this member's edits wait to be sent changed (see {@link SealedDoc.pending}). */
  pending: { count: number };
  /** What is wrong with the relay or the other members changed: one was raised (also an `error`), or resolved (see {@link SealedDoc.alarms}). */
  alarms: { alarms: SyncError[] };
}

const MERGE_WINDOW = 100;
// Awareness states older than this are dropped: a replay after the receiver restarted.
const AWARENESS_MAX_AGE_MS = 60_000;
// Envelopes waiting for the log to catch up, at most (and their bytes); the oldest are forgotten past it.
const MAX_PARKED = 10_000;
const MAX_PARKED_BYTES = 64 * 1024 * 1024;
// How far a peer (not the relay) may move this member's sequence counter by claiming to hold its envelopes.
const MAX_CLAIMED_SEQ_JUMP = 2 ** 20;
// How long after connecting edits wait for the peers present to report their log.
const LOG_GRACE_MS = 1000;
const seqKey = (seq: number) => String(seq).padStart(16, '0');
/** "author:seq" -> [author, seq] */
const splitId = (id: string): [author: string, seq: number] => {
  const colon = id.indexOf(':');
  return [id.slice(0, colon), Number(id.slice(colon + 1))];
};

/** Merges updates in bounded windows, then merges the results: never one call over thousands. */
function mergeBounded(updates: Uint8Array[]): Uint8Array {
  let level = updates;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += MERGE_WINDOW) next.push(Y.mergeUpdates(level.slice(i, i + MERGE_WINDOW)));
    level = next;
  }
  return level[0] ?? new Uint8Array(0);
}

interface Held {
  header: EnvelopeHeader;
  bytes: Uint8Array;
}

/** An envelope waiting in the inbox to be opened and applied. */
interface Inbound extends Held {
  id: string;
  store: boolean;
  from?: PeerId;
}

/** An inbound envelope after opening: its plaintext, or why it did not open. */
interface Opened {
  item: Inbound;
  plaintext?: Uint8Array;
  error?: unknown;
}

export class SealedDoc {
  readonly doc: Y.Doc;
  readonly group: Group;
  readonly docId: Uint8Array;
  readonly events = new Emitter<SealedDocEvents>();
  /** Resolves once the first exchange with peers settled (or at once without a transport). */
  readonly whenSynced: Promise<void>;
  /** Resolves once what the store holds is applied (at once without a store), online or not. */
  readonly whenLoaded: Promise<void>;

  readonly #docKey: string;
  readonly #transport: Transport | undefined;
  readonly #storage: Storage | undefined;
  readonly #windowMs: number;
  readonly #maxBytes: number;
  readonly #held = new Map<string, Held>(); // "author:seq" -> envelope
  // What this peer holds (or has settled as never readable here): its `have` summary. Parked
  // envelopes are not in it: an envelope is counted as held only once it was checked.
  readonly #known = new SeqRanges();
  readonly #parked = new Parking(MAX_PARKED, MAX_PARKED_BYTES);
  #inbox: Inbound[] = [];
  #draining: Promise<void> | undefined;
  // The snapshot held that covers most, and what it covers: sent instead of those envelopes.
  #bestSnapshot: { id: string; covers: SeqRanges; size: number } | undefined;
  readonly #unsent = new Set<string>();
  // This member's envelopes sent to a peer that acknowledges (a relay) and not acknowledged yet.
  // (By id, with when it was first sent.)
  readonly #unacked = new Map<string, number>();
  #synced = false;
  #syncedOnce = false;
  // An automatic snapshot that waited for the first resync.
  #snapshotOwed = false;
  #pendingNoted = false;
  #pendingReported = 0;
  // Local edits not sealed yet: made while this member could not write (removed, or a reader)
  // or while the newest epoch's key was still being unlocked. In memory only.
  readonly #heldBack: Uint8Array[] = [];
  // Since the last connect: the peers present then whose `have` has not arrived yet (for at
  // most LOG_GRACE_MS: a silent peer cannot hold edits back for ever), and the longest log
  // any peer has reported.
  #awaiting = new Set<PeerId>();
  #peerLogLength = 0;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #unsubscribe: (() => void)[] = [];
  #batch: Uint8Array[] = [];
  #batchBytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #destroyed = false;
  #resolveSynced!: () => void;
  readonly #ready: Promise<void>;
  readonly #awareness: Awareness | undefined;
  // This peer's awareness counter (µs since 1970, strictly increasing), and the last seen per author.
  #awarenessCounter = 0;
  // With awareness: who may speak for each Yjs client in presence.
  #owners: PresenceOwners | undefined;
  readonly #awarenessSeen = new Map<string, number>();
  // This peer's "left" presence, sealed in advance (see leaveNow).
  #farewell: { seq: number; bytes: Uint8Array } | undefined;
  readonly #snapshotEvery: number;
  #sinceSnapshot = 0;
  #snapshotEpoch = -1;
  // The log length this document last acted on (its membership changes are announced from there).
  #seenLogLength: number;
  // While loading over content bound before: a copy of what the store held (compared after).
  #loaded: Y.Doc | undefined;
  // What the snapshots applied here cover, together.
  readonly #covered = new SeqRanges();
  readonly #deviceKey: DeviceKey | undefined;
  readonly #localSaveMs: number;
  #localTimer: ReturnType<typeof setTimeout> | undefined;
  #localDirty = false;
  // Local edits taken from the batch but not stored as envelopes yet.
  #sealing = 0;
  #closing: Promise<void> | undefined;
  // Whether the store's "dirty" marker is set: envelopes were stored since the local state.
  #dirtyMarked = false;
  #storing = 0;
  // The rest of the store, read in the background after a cold open from the local state.
  #storedLoaded: Promise<void> = Promise.resolve();
  // With a transport: beacons, and what they show of the relay (forks, withholding).
  readonly #watch: HeadWatch | undefined;

  constructor(doc: Y.Doc, options: SealedDocOptions) {
    this.doc = doc;
    this.group = options.group;
    this.docId = options.docId;
    this.#docKey = hex(options.docId);
    this.#seenLogLength = options.group.log.length;
    this.#transport = options.transport;
    this.#storage = options.storage;
    this.#awareness = options.awareness;
    this.#snapshotEvery = options.snapshotEvery ?? 500;
    this.#deviceKey = options.deviceKey;
    this.#localSaveMs = options.localSaveMs ?? 1000;
    this.#windowMs = options.batch?.windowMs ?? 50;
    this.#maxBytes = options.batch?.maxBytes ?? 64 * 1024;
    this.whenSynced = new Promise((resolve) => (this.#resolveSynced = resolve));

    const onUpdate = (update: Uint8Array, origin: unknown) => {
      if (origin !== this) this.#queueLocal(update);
    };
    doc.on('update', onUpdate);
    this.#unsubscribe.push(() => doc.off('update', onUpdate));
    this.#unsubscribe.push(this.group.events.on('membership', () => this.#background(this.#membershipChanged())));
    this.#unsubscribe.push(this.group.events.on('removed', ({ epoch }) => this.events.emit('access-removed', { epoch })));

    const awareness = this.#awareness;
    if (awareness) {
      this.#owners = new PresenceOwners();
      for (const client of new Set([awareness.clientID, doc.clientID])) this.#owners.bindFromDoc(client, this.group._me);
      const onAwareness = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
        if (origin !== this && [...added, ...updated, ...removed].includes(awareness.clientID)) this.#background(this.#sendAwareness());
      };
      awareness.on('update', onAwareness);
      this.#unsubscribe.push(() => awareness.off('update', onAwareness));
    }

    const t = this.#transport;
    this.#watch = t && this.#watchHeads(t, options.beacons);
    if (t) {
      this.#unsubscribe.push(t.events.on('message', ({ from, data }) => this.#background(this.#ready.then(() => this.#receive(from, data)))));
      this.#unsubscribe.push(
        t.events.on('error', ({ error }) => {
          // A push of this group refused as from no member (or no writer) while this log says
          // otherwise: the relay holds ops not here, or lies. (A transport serves many groups:
          // another group's refusal says nothing of this one.)
          const denied = error instanceof RelayError && error.groupId === this.group._key && ['not-a-member', 'not-a-writer', 'past-cutoff'].includes(error.code);
          if (denied && this.#canWrite()) this.#watch?.standingDenied();
          this.events.emit('error', { error });
        }),
      );
      this.#unsubscribe.push(
        t.events.on('acknowledged', ({ author, seq }) => {
          if (this.#unacked.delete(`${author}:${seq}`)) this.#pendingChanged();
        }),
      );
      this.#unsubscribe.push(
        t.events.on('peer', ({ peer, present }) => {
          if (!present) return;
          this.#background(this.#ready.then(() => this.#sendHave(peer)));
          this.#background(this.#sendAwareness());
        }),
      );
      this.#unsubscribe.push(
        t.events.on('status', ({ status }) => {
          this.events.emit('status', { status });
          if (status !== 'online') {
            if (this.#synced) {
              this.#synced = false;
              this.events.emit('synced', { synced: false });
            }
            return;
          }
          this.#awaiting = new Set(t.peers());
          this.#peerLogLength = 0;
          clearTimeout(this.#graceTimer);
          this.#graceTimer = setTimeout(() => {
            this.#awaiting.clear();
            this.#background(this.#releaseUnsent());
          }, LOG_GRACE_MS);
          this.#background(this.#ready.then(() => this.resync()));
        }),
      );
    }
    // Content the Y.Doc held before binding is sealed and sent like an edit (what the store
    // turns out to hold of it, not again).
    const initial = doc.store.clients.size > 0 ? Y.encodeStateAsUpdate(doc) : undefined;
    if (initial) this.#loaded = new Y.Doc();
    this.#ready = this.#load().then(() => {
      const loaded = this.#loaded;
      this.#loaded = undefined;
      if (initial && loaded) this.#queueInitial(initial, loaded);
    });
    this.whenLoaded = this.#ready;
    this.#background(
      this.#ready.then(() => {
        if (!t) this.#resolveSynced();
        else if (t.status === 'online') this.resync();
      }),
    );
  }

  /** Beacons for this document, and the watch over what they show (see head-watch.ts). */
  #watchHeads(t: Transport, options: BeaconOptions | undefined): HeadWatch {
    return new HeadWatch(
      {
        group: this.group,
        docId: this.docId,
        online: () => t.status === 'online',
        ready: () => t.status === 'online' && this.#synced,
        vouched: () => {
          const vouched = SeqRanges.of(this.#knownRanges());
          for (const id of this.#unacked.keys()) vouched.delete(...splitId(id));
          return vouched;
        },
        holdings: () => SeqRanges.of([...this.#knownRanges(), ...[...this.#parked.ids()].map(splitId)]),
        unacknowledged: () => [...this.#unacked.values()],
        send: (beacon) => this.#broadcast(beacon),
        resync: () => this.resync(),
        raise: (error) => this.events.emit('error', { error }),
        alarmsChanged: () => this.events.emit('alarms', { alarms: this.alarms }),
        behindChanged: () => this.#background(this.#releaseUnsent()),
      },
      options,
    );
  }

  /** What this peer holds (its `have` summary), as (author, start, end) triples. */
  #knownRanges(): (readonly [string, number, number])[] {
    return this.#known.entries().flatMap(([author, ranges]) => ranges.map(([s, e]) => [author, s, e] as const));
  }

  /**
   * Problems with the relay or other members that hold now: forks, withholding, a member kept
   * behind, a partition (each was reported once as an `error` event; resolved ones are gone).
   */
  get alarms(): SyncError[] {
    return this.#watch?.alarms ?? [];
  }

  /** Keeps a copy of what the store held, while loading over content bound before. */
  #noteLoaded(update: Uint8Array, v2 = false): void {
    if (this.#loaded) (v2 ? Y.applyUpdateV2 : Y.applyUpdate)(this.#loaded, update);
  }

  /** Queues what the content bound before holds beyond what the store held (`loaded`), as a local edit. */
  #queueInitial(initial: Uint8Array, loaded: Y.Doc): void {
    const diff = Y.diffUpdate(initial, Y.encodeStateVector(loaded));
    let news = false;
    loaded.on('update', () => (news = true));
    Y.applyUpdate(loaded, diff);
    loaded.destroy();
    if (news) this.#queueLocal(diff);
  }

  /** Where envelopes are stored: 'env' for those offered to peers, 'unsent' for those held back. */
  #key(state: 'env' | 'unsent', header?: EnvelopeHeader): string[] {
    const prefix = [state, this.group._key, this.#docKey];
    return header ? [...prefix, hex(header.author), seqKey(header.seq)] : prefix;
  }

  /** Applies what the store holds for this document, before anything from the network. */
  async #load(): Promise<void> {
    const storage = this.#storage;
    if (!storage) return;
    // The state kept under the device key holds what it names as applied. When nothing was
    // stored after it (the "dirty" marker is absent), it is the whole document: the envelopes
    // are read in the background, only to serve peers. Otherwise they are read now.
    const [trusted, dirty, unsent] = await Promise.all([
      this.#loadLocal(),
      this.#deviceKey ? storage.load(this.#dirtyKey()) : undefined,
      storage.loadRange(this.#key('unsent')),
    ]);
    this.#dirtyMarked = !!dirty;
    const lazy = trusted && !dirty;
    if (!lazy) await this.#loadStored(trusted);
    // Own envelopes never sent: applied, and held back again to be re-sealed if the epoch moved.
    // One that does not open as this member's (a store shared by mistake) is reported, not fatal.
    for (const { data } of unsent) {
      try {
        const { header, plaintext } = await openEnvelope(data, this.#ownContext());
        this.#unsent.add(this.#hold(data, true));
        this.#pendingChanged();
        const update = header.kind === 'snapshot' ? decodeSnapshot(plaintext).state : plaintext;
        this.#noteLoaded(update);
        Y.applyUpdate(this.doc, update, this);
      } catch (error) {
        if (error instanceof EnvelopeError || error instanceof WireError) this.events.emit('error', { error });
        else throw error;
      }
    }
    // Last, so that it does not hold up the reads above.
    if (lazy) {
      this.#storedLoaded = this.#loadStored(trusted);
      this.#background(this.#storedLoaded);
    }
  }

  /**
   * Holds the envelopes in the store: those `trusted` names as applied without checking
   * them (their content is in the state already), the rest verified and applied.
   */
  async #loadStored(trusted: SeqRanges | undefined): Promise<void> {
    const rest: Uint8Array[] = [];
    for (const { data } of await this.#storage!.loadRange(this.#key('env'))) {
      let header: EnvelopeHeader | undefined;
      try {
        header = trusted && readEnvelopeHeader(data);
      } catch {
        // not trusted: verified below, and refused there with a typed error
      }
      if (header && trusted?.has(hex(header.author), header.seq)) {
        if (!this.#held.has(`${hex(header.author)}:${header.seq}`)) this.#hold(data);
      } else rest.push(data);
    }
    await Promise.all(rest.map((data) => this.#receiveEnvelope(data, undefined, false)));
  }

  #dirtyKey(): string[] {
    return ['dirty', this.group._key, this.#docKey];
  }

  /** Stores envelopes, marking the store dirty (with a device key) until the next local state. */
  async #store(writes: StorageWrite[]): Promise<void> {
    const storage = this.#storage;
    if (!storage || writes.length === 0) return;
    const mark = this.#deviceKey !== undefined && !this.#dirtyMarked;
    this.#storing++;
    try {
      await storage.write(mark ? [...writes, { op: 'save', key: this.#dirtyKey(), data: new Uint8Array([1]) }] : writes);
      if (mark) this.#dirtyMarked = true;
    } finally {
      this.#storing--;
    }
  }

  /** The local state's key and the context it is sealed under. */
  #localKey(): string[] {
    return ['local', this.group._key, this.#docKey];
  }

  /** Applies the state kept under the device key; returns what it covers, or undefined. */
  async #loadLocal(): Promise<SeqRanges | undefined> {
    const key = this.#deviceKey;
    const sealed = key && (await this.#storage!.load(this.#localKey()));
    if (!key || !sealed) return undefined;
    try {
      const local = decodeLocalState(await key.open(sealed, this.#localKey().join('/')));
      this.#noteLoaded(local.state, true);
      for (const [client, author] of local.owners ?? []) this.#owners?.bindFromDoc(client, hex(author));
      Y.applyUpdateV2(this.doc, local.state, this);
      const applied = new SeqRanges();
      for (const [author, ranges] of local.applied) for (const [s, e] of ranges) applied.addRange(hex(author), s, e);
      for (const [author, ranges] of applied.entries()) {
        for (const [s, e] of ranges) {
          this.#known.addRange(author, s, e);
          this.#covered.addRange(author, s, e);
        }
      }
      if (local.best) {
        const covers = new SeqRanges();
        for (const [author, ranges] of local.best.covers) for (const [s, e] of ranges) covers.addRange(hex(author), s, e);
        this.#bestSnapshot = { id: `${hex(local.best.author)}:${local.best.seq}`, covers, size: covers.size };
      }
      return applied;
    } catch (error) {
      // Damaged, altered, or sealed under a device key that is gone: every envelope in the
      // store is checked and applied instead, so nothing the store holds is lost.
      if (error instanceof AtRestError || error instanceof WireError) {
        this.events.emit('error', { error });
        return undefined;
      }
      throw error;
    }
  }

  /** Schedules saving the local state (with a device key and a store). */
  #localChanged(): void {
    if (!this.#deviceKey || !this.#storage || this.#destroyed) return;
    this.#localDirty = true;
    if (this.#localTimer === undefined) this.#localTimer = setTimeout(() => this.#background(this.#saveLocal()), this.#localSaveMs);
  }

  /**
   * Seals the document state under the device key, with what it holds. Only when every local
   * edit in it is stored as an envelope (none batched, being sealed or held back): the next
   * open must still find and send them. Otherwise it tries again later.
   */
  async #saveLocal(): Promise<void> {
    this.#localTimer = undefined;
    const key = this.#deviceKey;
    const storage = this.#storage;
    if (!key || !storage || !this.#localDirty) return;
    if (this.#batch.length > 0 || this.#sealing > 0 || this.#heldBack.length > 0) {
      if (!this.#destroyed) this.#localChanged();
      return;
    }
    this.#localDirty = false;
    const applied = this.#appliedRanges();
    const best = this.#bestSnapshot;
    const [bestAuthor, bestSeq] = best ? splitId(best.id) : ['', 0];
    const plaintext = encodeLocalState({
      applied: applied.entries().map(([a, r]) => [unhex(a), [...r]]),
      ...(best ? { best: { author: unhex(bestAuthor), seq: bestSeq, covers: best.covers.entries().map(([a, r]) => [unhex(a), [...r]]) } } : {}),
      ...(this.#owners ? { owners: this.#owners.fromDoc().map(([client, author]) => [client, unhex(author)] as [number, Uint8Array]) } : {}),
      // The V2 encoding: half the size of V1 for this kind of text, and quicker to apply.
      state: Y.encodeStateAsUpdateV2(this.doc),
    });
    // Envelopes being stored right now are not in this state: the store stays marked dirty.
    const clean = this.#storing === 0;
    const sealed = await key.seal(plaintext, this.#localKey().join('/'));
    plaintext.fill(0);
    const writes: StorageWrite[] = [{ op: 'save', key: this.#localKey(), data: sealed }];
    if (clean && this.#dirtyMarked) writes.push({ op: 'remove', key: this.#dirtyKey() });
    try {
      await storage.write(writes);
    } catch (error) {
      this.#localChanged();
      throw error;
    }
    if (clean && this.#storing === 0) this.#dirtyMarked = false;
  }

  /**
   * Envelopes held in memory for this document (sealed here, received, or read from the
   * store), in no particular order. After a cold open from the local state, those in the
   * store are read in the background: they appear once that is done.
   */
  envelopes(): Uint8Array[] {
    return [...this.#held.values()].map((h) => h.bytes);
  }

  /**
   * Seals the whole document state under the current epoch as a snapshot envelope naming the
   * sequence ranges it covers: newcomers read it without older keys, and peers do not send
   * them what it covers. Done automatically every `snapshotEvery` envelopes and, by the admin
   * who committed it, after every epoch change.
   */
  async snapshot(): Promise<void> {
    const group = this.group;
    if (!this.#readyToSeal()) return;
    // Everything applied: what is held, and what earlier snapshots (and the local state) cover.
    const covered = this.#appliedRanges();
    const plaintext = encodeSnapshot({
      covers: covered.entries().map(([a, r]) => [unhex(a), [...r]]),
      state: Y.encodeStateAsUpdate(this.doc),
    });
    this.#sinceSnapshot = 0;
    this.#snapshotEpoch = group.log.epoch;
    await this.#sealAndSend(plaintext, 'snapshot');
  }

  /** What this peer applied: what it holds, and what the snapshots (and the local state) it applied cover. */
  #appliedRanges(): SeqRanges {
    return SeqRanges.of([...this.#covered.ranges(), ...[...this.#held.keys()].map(splitId)]);
  }

  /** The transport's status (`offline` without one). */
  get status(): TransportStatus {
    return this.#transport?.status ?? 'offline';
  }

  /** Whether a resync settled since the transport last came online (the 'synced' event tells changes). */
  get synced(): boolean {
    return this.#synced;
  }

  /**
   * This member's edits that wait to be sent: envelopes sealed while offline (or while the log
   * might be behind), edits that could not be sealed yet, and, through a relay, envelopes sent
   * but not yet acknowledged as stored. Edits still in the batching window (a few
   * milliseconds) are not counted. A `pending` event reports each change.
   */
  get pending(): number {
    return this.#unsent.size + this.#heldBack.length + this.#unacked.size;
  }

  #pendingChanged(): void {
    if (this.#pendingNoted) return;
    this.#pendingNoted = true;
    queueMicrotask(() => {
      this.#pendingNoted = false;
      if (this.pending === this.#pendingReported) return;
      this.#pendingReported = this.pending;
      this.events.emit('pending', { count: this.pending });
    });
  }

  /** Seals and sends the pending batch now. */
  flush(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    // Edits that could not be stored before go first.
    const batch = this.#heldBack.length > 0 && this.#readyToSeal() ? [...this.#heldBack.splice(0), ...this.#batch] : this.#batch;
    this.#pendingChanged();
    this.#batch = [];
    this.#batchBytes = 0;
    if (batch.length > 0) this.#sealing++;
    const run = this.#flushing.then(() => (batch.length > 0 ? this.#sealAndSend(mergeBounded(batch)) : undefined));
    this.#flushing = run.catch(() => undefined).finally(() => {
      if (batch.length > 0) this.#sealing--;
    });
    return run;
  }

  /** Asks every peer for its summary and sends it ours, so that each sends what the other lacks. */
  resync(): void {
    const t = this.#transport;
    if (t?.status !== 'online') return;
    this.#sendHave();
    // Peers answer every request; with none to answer, this peer is as synced as it can be.
    if (t.peers().length === 0) this.#settled();
  }

  /**
   * Stops listening to the document, the group and the transport. Edits still batched are
   * sealed and stored first (sent too, when online), the peers are told this peer's presence
   * is gone (its caret goes at once), and the local state is saved: the promise resolves once
   * that is done. Stored data stays.
   */
  destroy(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#watch?.stop();
    clearTimeout(this.#graceTimer);
    clearTimeout(this.#localTimer);
    this.#destroyed = true;
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#closing = Promise.all([this.flush(), this.#sendAwareness(true)])
      .then(() => this.#saveLocal())
      .catch((error: unknown) => this.events.emit('error', { error: error instanceof Error ? error : new Error(String(error)) }))
      .finally(() => this.events.clear());
    return this.#closing;
  }

  /** Destroys the provider and deletes what it stored for this document. */
  async clearData(): Promise<void> {
    await this.destroy();
    await this.#storage?.removeRange(this.#key('env'));
    await this.#storage?.removeRange(this.#key('unsent'));
    await this.#storage?.remove(this.#localKey());
    await this.#storage?.remove(this.#dirtyKey());
  }

  #queueLocal(update: Uint8Array): void {
    if (this.#destroyed) return;
    this.#batch.push(update);
    this.#batchBytes += update.length;
    if (this.#batchBytes >= this.#maxBytes) this.#background(this.flush());
    else if (this.#timer === undefined) this.#timer = setTimeout(() => this.#background(this.flush()), this.#windowMs);
  }

  async #sealAndSend(plaintext: Uint8Array, kind: 'update' | 'snapshot' = 'update'): Promise<void> {
    const group = this.group;
    // Nothing is sealed without the right to write, nor under an older epoch than the log's
    // (its key may still be unlocking; a member just removed could read the older one). Edits
    // wait in memory, never at rest in clear; a snapshot is simply made again later. Checked
    // again after the sequence number: the log may move meanwhile.
    const holdBack = () => {
      if (kind === 'update') this.#heldBack.push(plaintext);
      this.#pendingChanged();
      if (!this.#canWrite()) this.events.emit('access-removed', { epoch: group.log.epoch });
    };
    if (!this.#readyToSeal()) return holdBack();
    const seq = await group.nextSeq();
    if (!this.#readyToSeal()) return holdBack();
    const epoch = group.log.epoch;
    const bytes = await sealEnvelope({
      kind,
      groupId: group.groupId,
      docId: this.docId,
      epoch,
      seq,
      head: group.log.head,
      author: group.identity,
      keyring: group.keyring,
      plaintext,
    });
    // The log may have moved while sealing (a removal, a new epoch): then it waits, to be
    // re-sealed or held back by #releaseUnsent.
    const send = this.#logCurrent() && group.log.epoch === epoch && this.#canWrite();
    // Not sent (and not offered to peers) until this peer has caught up with the log: it may
    // be re-sealed under a newer epoch first.
    try {
      await this.#store([{ op: 'save', key: this.#key(send ? 'env' : 'unsent', readEnvelopeHeader(bytes)), data: bytes }]);
    } catch (error) {
      // Not stored (a full disk, a closed store): the edit waits in memory and goes with the
      // next flush; the caller gets the typed error.
      if (kind === 'update') this.#heldBack.push(plaintext);
      this.#pendingChanged();
      throw error;
    }
    const id = this.#hold(bytes, !send);
    this.#localChanged();
    if (!send) {
      this.#unsent.add(id);
      this.#pendingChanged();
    } else {
      this.#sendOwn(id, bytes);
      if (kind === 'update') this.#countTowardsSnapshot(1);
      else {
        const snapshot = decodeSnapshot(plaintext);
        this.#noteSnapshot(id, snapshot);
        await this.#attestCovers(seq, snapshot);
      }
    }
  }

  /** Whether the peers present at connect have told their log length (or the grace ran out) and none is ahead. */
  #logCurrent(): boolean {
    if (this.#transport?.status !== 'online' || this.#watch?.behind) return false;
    return this.#awaiting.size === 0 && this.group.log.length >= this.#peerLogLength;
  }

  /**
   * An unsent envelope of this device whose sequence number another device of this member
   * used: forgotten here, its edit waits to be sealed again with a new one (a snapshot is
   * simply made again later).
   */
  async #resealUnsent(id: string): Promise<void> {
    const held = this.#held.get(id);
    if (!held || !this.#unsent.has(id)) return;
    this.#held.delete(id);
    this.#unsent.delete(id);
    const { plaintext } = await openEnvelope(held.bytes, this.#ownContext());
    await this.#store([{ op: 'remove', key: this.#key('unsent', held.header) }]);
    if (held.header.kind === 'update') this.#heldBack.push(plaintext);
    this.#pendingChanged();
    this.#background(this.flush());
  }

  /**
   * Sends what was sealed while the log might have been behind, re-sealed under the newest
   * epoch (or with a new sequence number, when another device of this member used its own).
   */
  async #releaseUnsent(): Promise<void> {
    if (this.#unsent.size === 0 || !this.#logCurrent() || !this.#canWrite()) return;
    const group = this.group;
    for (const id of [...this.#unsent]) {
      const held = this.#held.get(id);
      this.#unsent.delete(id);
      this.#pendingChanged();
      if (!held) continue;
      if (held.header.epoch === group.log.epoch && held.header.seq > group._usedElsewhere) {
        this.#known.add(hex(held.header.author), held.header.seq);
        await this.#store([
          { op: 'save', key: this.#key('env', held.header), data: held.bytes },
          { op: 'remove', key: this.#key('unsent', held.header) },
        ]);
        this.#sendOwn(id, held.bytes);
        if (held.header.kind === 'snapshot') await this.#attestCovers(held.header.seq, decodeSnapshot((await openEnvelope(held.bytes, this.#ownContext())).plaintext));
        continue;
      }
      // Out of sight before the first await, so that no peer is ever served the stale copy.
      this.#held.delete(id);
      const { plaintext } = await openEnvelope(held.bytes, this.#ownContext());
      await this.#store([{ op: 'remove', key: this.#key('unsent', held.header) }]);
      await this.#sealAndSend(plaintext, held.header.kind === 'snapshot' ? 'snapshot' : 'update');
    }
  }

  #readyToSeal(): boolean {
    return this.#canWrite() && this.group.keyring.has(this.group.groupId, this.group.log.epoch);
  }

  #canWrite(): boolean {
    const role = this.group.role;
    return role === 'admin' || role === 'writer';
  }

  /**
   * Opens this member's own envelopes, whatever the log says of them since: only their
   * plaintext is wanted, to seal it again (a cutoff recorded while it was unsent included).
   */
  #ownContext(): OpenContext {
    const me = this.group.identity;
    return {
      groupId: this.group.groupId,
      docId: this.docId,
      keyring: this.group.keyring,
      author: (header) => (hex(header.author) === this.group._me ? { signingPublicKey: me.signingPublicKey, role: 'writer' } : undefined),
    };
  }

  /** Records an envelope as held (stored already, or not to be); returns its id. */
  #hold(bytes: Uint8Array, unsent = false): string {
    const header = readEnvelopeHeader(bytes);
    const author = hex(header.author);
    const id = `${author}:${header.seq}`;
    this.#held.set(id, { header, bytes });
    if (!unsent) this.#known.add(author, header.seq);
    this.group.observeSeq(header.author, header.seq);
    return id;
  }

  /**
   * Counts what a snapshot covers as known, and remembers the one that covers most. A
   * snapshot's author vouches only for its own envelopes (before the snapshot): a writer whose
   * snapshot claims others' envelopes it does not hold must not stop this peer from fetching
   * them. Others' envelopes are fetched and applied as they are (Yjs skips what it has).
   */
  #noteSnapshot(id: string, snapshot: SnapshotPayload): void {
    const [author, seq] = splitId(id);
    const covers = new SeqRanges();
    for (const [a, ranges] of snapshot.covers) {
      if (hex(a) !== author) continue;
      for (const [s, e] of ranges) if (s < seq) covers.addRange(author, s, Math.min(e, seq - 1));
    }
    // What it covers need not be sent here; what was parked of it is settled by it.
    for (const [author, ranges] of covers.entries()) {
      for (const [s, e] of ranges) {
        this.#known.addRange(author, s, e);
        this.#covered.addRange(author, s, e);
      }
    }
    const size = covers.size;
    if (!this.#bestSnapshot || size >= this.#bestSnapshot.size) this.#bestSnapshot = { id, covers, size };
  }

  /**
   * Tells the peers, signed, what this member's snapshot `seq` covers: the ranges are sealed
   * inside it, and a relay with retention needs them (peers ignore the message).
   */
  async #attestCovers(seq: number, snapshot: SnapshotPayload): Promise<void> {
    const body = { groupId: this.group.groupId, docId: this.docId, author: this.group.identity.memberId, seq, authors: snapshot.covers };
    const signature = await signMessage(this.group.identity, COVERS_CONTEXT, coversSignedBytes(body));
    this.#broadcast({ type: 'covers', ...body, signature });
  }

  /** Sends one of this member's envelopes; through a transport that acknowledges, it is pending until acknowledged. */
  #sendOwn(id: string, bytes: Uint8Array, to?: PeerId): void {
    if (this.#transport?.acknowledges && this.#transport.status === 'online' && !this.#unacked.has(id)) {
      this.#unacked.set(id, Date.now());
      this.#pendingChanged();
    }
    this.#broadcast({ type: 'envelope', envelope: bytes }, to);
  }

  #broadcast(message: WireMessage, to?: PeerId): void {
    const t = this.#transport;
    if (t?.status !== 'online') return;
    try {
      t.send(encodeWire(message), to);
    } catch {
      // Best effort: a peer that vanished meanwhile catches up on the next resync.
    }
  }

  #sendHave(to?: PeerId, reply = false): void {
    this.#broadcast(
      {
        type: 'have',
        reply,
        groupId: this.group.groupId,
        docId: this.docId,
        logLength: this.group.log.length,
        authors: this.#known.entries().map(([a, r]) => [unhex(a), [...r]]),
      },
      to,
    );
  }

  async #receive(from: PeerId, data: Uint8Array): Promise<void> {
    if (this.#destroyed) return;
    let message: WireMessage;
    try {
      message = decodeWire(data);
    } catch (error) {
      if (error instanceof WireError) this.events.emit('error', { error, from });
      return;
    }
    switch (message.type) {
      case 'envelope':
        await this.#receiveEnvelope(message.envelope, from);
        break;
      case 'have':
        if (hex(message.groupId) !== this.group._key || hex(message.docId) !== this.#docKey) break;
        await this.#storedLoaded; // what the store holds can be sent
        this.#answerHave(message, from);
        break;
      case 'beacon':
        if (hex(message.groupId) === this.group._key && hex(message.docId) === this.#docKey) await this.#watch?.receive(message);
        break;
      case 'ops':
        if (hex(message.groupId) !== this.group._key) break;
        // Ops past the end of this log (the peer announced only its newest): ask for the rest.
        if (message.fromIndex > this.group.log.length) {
          this.#sendHave(from);
          break;
        }
        try {
          await this.group.receiveOps(message.ops, message.fromIndex);
        } catch (error) {
          if (error instanceof MembershipError) this.events.emit('error', { error, from });
          else throw error;
        }
        break;
    }
  }

  #answerHave(message: Extract<WireMessage, { type: 'have' }>, from: PeerId): void {
    this.#awaiting.delete(from);
    this.#peerLogLength = Math.max(this.#peerLogLength, message.logLength);
    // What a peer holds of this member's own envelopes (sent by another of its devices, or
    // before a restore): those sequence numbers are never handed out again here, and what this
    // device sealed with one of them, unsent, is sealed again before it goes. The relay's word
    // is taken as it is; a peer's only within a bound, so that claiming [0, 2^53) cannot leave
    // this member unable to write.
    for (const [author, ranges] of message.authors) {
      const last = ranges.at(-1)?.[1];
      if (last === undefined || hex(author) !== this.group._me) continue;
      if (from === RELAY_PEER || last <= this.group._nextSeqHint + MAX_CLAIMED_SEQ_JUMP) this.group._noteUsedElsewhere(last);
    }
    this.#background(this.#releaseUnsent());
    if (message.logLength < this.group.log.length)
      this.#broadcast({ type: 'ops', groupId: this.group.groupId, fromIndex: message.logLength, ops: this.group.log.ops().slice(message.logLength) }, from);
    // Ranges are compared as ranges, never enumerated: a peer may claim [0, 2^53).
    const theirs = new SeqRanges();
    for (const [author, ranges] of message.authors) for (const [s, e] of ranges) theirs.addRange(hex(author), s, e);
    // A peer that lacks the snapshot covering most gets it instead of what it covers: a new
    // device loads the newest snapshot and the tail after it.
    const best = this.#bestSnapshot;
    const skip = best && !theirs.has(...splitId(best.id)) ? best.covers : undefined;
    for (const [id, held] of this.#held) {
      const [author, seq] = splitId(id);
      if (this.#unsent.has(id)) continue;
      // The relay holds it: stored, whether or not its acknowledgement came.
      if (theirs.has(author, seq)) {
        if (from === RELAY_PEER && this.#unacked.delete(id)) this.#pendingChanged();
      } else if (!skip?.has(author, seq)) {
        if (author === this.group._me) this.#sendOwn(id, held.bytes, from);
        else this.#broadcast({ type: 'envelope', envelope: held.bytes }, from);
      }
    }
    // A request gets our own summary back, so that they send what we lack and learn our log
    // length; an answer ends the exchange.
    if (!message.reply) this.#sendHave(from, true);
    else this.#settled();
  }

  /**
   * Seals this peer's awareness state and sends it; only online, only with the right to write.
   * `leaving`: its state as removed instead (peers drop its caret at once).
   */
  async #sendAwareness(leaving = false): Promise<void> {
    const awareness = this.#awareness;
    const group = this.group;
    if (!awareness || this.#transport?.status !== 'online' || !this.#readyToSeal()) return;
    const seq = (this.#awarenessCounter = Math.max(this.#awarenessCounter + 1, Date.now() * 1000));
    const seal = (counter: number, states: Map<number, unknown>) =>
      sealEnvelope({
        kind: 'awareness',
        groupId: group.groupId,
        docId: this.docId,
        epoch: group.log.epoch,
        seq: counter,
        head: group.log.head,
        author: group.identity,
        keyring: group.keyring,
        plaintext: encodeAwarenessUpdate(awareness, [awareness.clientID], states as Map<number, Record<string, unknown>>),
      });
    if (leaving) {
      this.#farewell = undefined;
      this.#broadcast({ type: 'envelope', envelope: await seal(seq, new Map()) });
      return;
    }
    // With every state, its "left" sealed in advance (the next counter), for leaveNow().
    const farewellSeq = ++this.#awarenessCounter;
    const [bytes, farewell] = await Promise.all([seal(seq, awareness.getStates()), seal(farewellSeq, new Map())]);
    this.#broadcast({ type: 'envelope', envelope: bytes });
    if (farewellSeq > (this.#farewell?.seq ?? 0)) this.#farewell = { seq: farewellSeq, bytes: farewell };
  }

  /**
   * Tells the peers at once that this peer's presence is gone, with the "left" state sealed
   * in advance: nothing asynchronous, for a page being unloaded (where sealing could not
   * finish). Peers drop it if a newer state has gone since; `destroy()` does the same, sealed
   * afresh.
   */
  leaveNow(): void {
    const farewell = this.#farewell;
    this.#farewell = undefined;
    if (farewell && this.#transport?.status === 'online') this.#broadcast({ type: 'envelope', envelope: farewell.bytes });
  }

  async #receiveAwareness(bytes: Uint8Array, header: EnvelopeHeader, from?: PeerId): Promise<void> {
    const awareness = this.#awareness;
    if (!awareness) return;
    const author = hex(header.author);
    // Stale, replayed or too old: dropped without a word (it is not an attack signal by itself).
    if (header.seq <= (this.#awarenessSeen.get(author) ?? 0) || header.seq / 1000 < Date.now() - AWARENESS_MAX_AGE_MS) return;
    try {
      const { plaintext } = await openEnvelope(bytes, this.group.log.envelopeContext(this.group.keyring, { docId: this.docId, kinds: ['awareness'] }));
      if (header.seq <= (this.#awarenessSeen.get(author) ?? 0)) return;
      this.#awarenessSeen.set(author, header.seq);
      // Only for the clients this member may speak for: its own edits' clients, or new ones.
      const { allowed, refused } = this.#owners!.filter(plaintext, author);
      if (refused.length > 0)
        this.events.emit('error', {
          error: new SyncError('spoofed-presence', `a member sent presence for ${refused.length} Yjs client(s) that belong to other members; it was dropped`, { member: author }),
          ...(from ? { from } : {}),
        });
      if (allowed) applyAwarenessUpdate(awareness, allowed, this);
    } catch (error) {
      if (error instanceof EnvelopeError) this.events.emit('error', { error, ...(from ? { from } : {}) });
      else throw error;
    }
  }

  async #receiveEnvelope(bytes: Uint8Array, from?: PeerId, store = true): Promise<void> {
    let header: EnvelopeHeader;
    try {
      header = readEnvelopeHeader(bytes);
    } catch (error) {
      if (error instanceof EnvelopeError) this.events.emit('error', { error, ...(from ? { from } : {}) });
      return;
    }
    if (hex(header.groupId) !== this.group._key || hex(header.docId) !== this.#docKey) return;
    if (header.kind === 'awareness') return this.#receiveAwareness(bytes, header, from);
    const author = hex(header.author);
    const id = `${author}:${header.seq}`;
    const held = this.#held.get(id);
    // A copy of what is held: nothing to do. Other bytes under a held id are checked all the
    // same (below), so that a forgery is reported rather than dropped unseen.
    if (held && equalBytes(held.bytes, bytes)) return;
    if (from !== undefined && author === this.group._me) {
      // This identity used that sequence number on another device: what this one sealed with
      // it, unsent, is sealed again with a new one, and the other device's envelope applies.
      this.group._noteUsedElsewhere(header.seq);
      if (held) await this.#resealUnsent(id);
    }
    this.#inbox.push({ id, header, bytes, store, ...(from ? { from } : {}) });
    return this.#drainInbox();
  }

  /**
   * Opens what the inbox holds, concurrently (signature checks pipeline on WebCrypto), and
   * applies it in arrival order, in one transaction for the snapshots and one for the rest:
   * applied one by one as checks finish, Yjs would juggle pending structs and observers
   * would run per envelope. What arrives meanwhile gathers for the next round.
   */
  #drainInbox(): Promise<void> {
    this.#draining ??= (async () => {
      await Promise.resolve(); // let envelopes handed over together gather first
      try {
        while (this.#inbox.length > 0) await this.#openAndApply(this.#inbox.splice(0));
      } finally {
        this.#draining = undefined;
      }
    })();
    return this.#draining;
  }

  async #openAndApply(batch: Inbound[]): Promise<void> {
    const logLength = this.group.log.length;
    const context = this.group.log.envelopeContext(this.group.keyring, { docId: this.docId, kinds: ['update', 'snapshot'] });
    const open = (item: Inbound): Promise<Opened> =>
      openEnvelope(item.bytes, context).then(
        ({ plaintext }) => ({ item, plaintext }),
        (error: unknown) => ({ item, error }),
      );
    // Every check starts now; snapshots are applied first, while the tail's checks run on.
    const snapshots = batch.filter((item) => item.header.kind === 'snapshot').map(open);
    const updates = batch.filter((item) => item.header.kind !== 'snapshot').map(open);
    const parkedSnapshots = await this.#applyOpened(await Promise.all(snapshots));
    const parkedUpdates = await this.#applyOpened(await Promise.all(updates));
    // The log moved while these were checked: what parked may open now.
    if ((parkedSnapshots || parkedUpdates) && this.group.log.length !== logLength) this.#background(this.#retryParked());
  }

  /** Stores, holds and applies what opened; parks what waits for the log. Returns whether any parked. */
  async #applyOpened(opened: Opened[]): Promise<boolean> {
    const accepted: { item: Inbound; update: Uint8Array; snapshot?: SnapshotPayload }[] = [];
    // What was accepted in this round, by id: a copy of it may be in the same round.
    const seen = new Map<string, Uint8Array>();
    let parked = false;
    for (const { item, plaintext, error } of opened) {
      const first = this.#held.get(item.id)?.bytes ?? seen.get(item.id);
      if (first) {
        // A copy was applied first; another copy that does not check out (a forgery) is
        // reported, and so is one that does: its author signed two envelopes with one number.
        if (error && !(error instanceof EnvelopeError && (error.code === 'unknown-epoch' || error.code === 'unknown-head'))) this.#refuse(item, error);
        else if (plaintext && !equalBytes(first, item.bytes) && hex(item.header.author) !== this.group._me)
          this.events.emit('error', {
            error: new SyncError('equivocation', `a member signed two different edits with sequence number ${item.header.seq}; the first one is kept`, { member: hex(item.header.author) }),
            ...(item.from ? { from: item.from } : {}),
          });
        continue;
      }
      if (error instanceof EnvelopeError && error.code === 'unknown-epoch' && this.#neverReadable(item.header)) {
        // Sealed under an epoch before this member joined a since-join group: it holds no key to
        // it and never will. Known, so that peers do not send it again; its content reaches this
        // member through the snapshots sealed since.
        this.#known.add(hex(item.header.author), item.header.seq);
        this.#parked.drop(item.id);
      } else if (error instanceof EnvelopeError && (error.code === 'unknown-epoch' || error.code === 'unknown-head')) {
        // The log has not caught up yet: kept (within bounds) until it does; not counted as
        // held, so that a copy, or the real one behind a forgery, still comes.
        this.#parked.park(item.id, item.bytes);
        parked = true;
        if (error.code === 'unknown-head') this.#watch?.unknownHead(item.header.head, hex(item.header.author));
      } else if (!plaintext) this.#refuse(item, error);
      else {
        let snapshot: SnapshotPayload | undefined;
        try {
          snapshot = item.header.kind === 'snapshot' ? decodeSnapshot(plaintext) : undefined;
        } catch (e) {
          this.#refuse(item, e);
          continue;
        }
        accepted.push(snapshot ? { item, update: snapshot.state, snapshot } : { item, update: plaintext });
        seen.set(item.id, item.bytes);
        // Sealed under a head the group has left: its author may be kept behind by the relay.
        const index = this.group.log.indexOf(item.header.head);
        if (!snapshot && index !== undefined && index < this.group.log.length - 1) this.#watch?.staleHead(hex(item.header.author), index);
      }
    }
    const toStore = accepted.filter(({ item }) => item.store);
    await this.#store(toStore.map(({ item }) => ({ op: 'save', key: this.#key('env', item.header), data: item.bytes })));
    for (const { item } of accepted) {
      this.#parked.drop(item.id);
      this.#hold(item.bytes);
    }
    Y.transact(
      this.doc,
      () => {
        for (const { item, update, snapshot } of accepted) {
          // A member's plaintext that is no Yjs update is refused on its own; the rest applies.
          try {
            if (!item.store) this.#noteLoaded(update);
            if (!snapshot) this.#bindClients(update, hex(item.header.author));
            Y.applyUpdate(this.doc, update, this);
          } catch {
            this.#refuse(item, new WireError('malformed', 'the envelope opened but holds no valid Yjs update'));
          }
          if (snapshot) this.#noteSnapshot(item.id, snapshot);
        }
      },
      this,
    );
    this.#countTowardsSnapshot(accepted.filter(({ snapshot }) => !snapshot).length);
    if (accepted.length > 0) this.#localChanged();
    // An edit sealed under an older epoch that arrives late: in a since-join group a newcomer
    // cannot read it, so the member who started the newest epoch seals the state again.
    const late = accepted.some(({ item, snapshot }) => !snapshot && item.header.epoch < this.group.log.epoch);
    if (late && this.group.log.history === 'since-join' && this.#startedNewestEpoch()) this.#autoSnapshot();
    return parked;
  }

  /** Whether an envelope is under an epoch this member is not entitled to: a since-join group's epoch it was no member of. */
  #neverReadable(header: EnvelopeHeader): boolean {
    const log = this.group.log;
    return log.history === 'since-join' && header.epoch <= log.epoch && log.indexOf(header.head) !== undefined && !log.wasMemberAt(this.group.identity.memberId, header.epoch);
  }

  /**
   * With awareness: the Yjs clients whose edits an update carries belong to its envelope's
   * author (a snapshot's author speaks for everyone's edits, so it binds nothing); a presence
   * that claimed one of them before is removed.
   */
  #bindClients(update: Uint8Array, author: string): void {
    const owners = this.#owners;
    if (!owners) return;
    for (const client of Y.parseUpdateMeta(update).from.keys()) {
      if (owners.bindFromDoc(client, author) !== undefined) removeAwarenessStates(this.#awareness!, [client], this);
    }
  }

  /** Reports a peer's envelope that was refused; if it was parked (a forgery waiting for the log), it waits no more. */
  #refuse(item: Inbound, error: unknown): void {
    this.#parked.drop(item.id, item.bytes);
    if (error instanceof EnvelopeError || error instanceof WireError) this.events.emit('error', { error, ...(item.from ? { from: item.from } : {}) });
    else throw error;
  }

  /**
   * A snapshot this peer decided on by itself. On a device that has not sealed in the group yet,
   * not before the first resync settled: a new device of an existing member (a restore) learns
   * from the relay which sequence numbers its identity already used, and must not reuse one.
   */
  #autoSnapshot(): void {
    if (this.#mayAutoSnapshot()) this.#background(this.snapshot());
    else this.#snapshotOwed = true;
  }

  #mayAutoSnapshot(): boolean {
    return !this.#transport || this.#syncedOnce || this.group._sealedHere;
  }

  #countTowardsSnapshot(envelopes: number): void {
    this.#sinceSnapshot += envelopes;
    if (this.#snapshotEvery > 0 && envelopes > 0 && this.#sinceSnapshot >= this.#snapshotEvery) this.#autoSnapshot();
  }

  /** Tries again what waited for the log. */
  async #retryParked(): Promise<void> {
    await Promise.all(this.#parked.all().map((bytes) => this.#receiveEnvelope(bytes)));
  }

  async #membershipChanged(): Promise<void> {
    if (this.#destroyed) return;
    this.#watch?.logChanged();
    // This member's own op: the peers (a relay) get it now, before anything sealed under it
    // (the snapshot below), which they could not check without it.
    const log = this.group.log;
    const from = Math.min(this.#seenLogLength, log.length);
    this.#seenLogLength = log.length;
    if (from < log.length && hex(log.opAt(log.length - 1).author) === this.group._me) {
      this.#broadcast({ type: 'ops', groupId: this.group.groupId, fromIndex: from, ops: log.ops(from) });
      this.resync();
    }
    await this.#retryParked();
    // The admin who started a new epoch seals the state under it, for those who just joined.
    if (this.group.log.epoch > this.#snapshotEpoch && this.#startedNewestEpoch() && this.#held.size > 0) {
      if (this.#mayAutoSnapshot()) await this.snapshot();
      else this.#snapshotOwed = true;
    }
    if (this.#heldBack.length > 0 && this.#canWrite()) {
      const edits = this.#heldBack.splice(0);
      this.#pendingChanged();
      await this.#sealAndSend(mergeBounded(edits));
    }
    await this.#releaseUnsent();
  }

  /** Whether this member committed the op that started the log's current epoch. */
  #startedNewestEpoch(): boolean {
    const log = this.group.log;
    const last = log.opAt(log.length - 1);
    return hex(last.author) === this.group._me && last.epoch === log.epoch;
  }

  /** Runs work nobody awaits; a failure becomes an 'error' event, never a lost rejection. */
  #background(work: Promise<unknown>): void {
    work.catch((error: unknown) => this.events.emit('error', { error: error instanceof Error ? error : new Error(String(error)) }));
  }

  #settled(): void {
    this.#resolveSynced();
    this.#synced = true;
    this.#watch?.settled();
    this.#syncedOnce = true;
    if (this.#snapshotOwed) {
      this.#snapshotOwed = false;
      this.#background(this.snapshot());
    }
    this.events.emit('synced', { synced: true });
  }
}
