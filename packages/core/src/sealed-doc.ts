/**
 * A sealed document: binds a Y.Doc to a group, a document id and (optionally) a transport
 * and a store, the way y-websocket and y-indexeddb bind one to a server and a database.
 *
 * - Local updates (any origin but this provider) are batched: merged over `windowMs` or until
 *   `maxBytes`, in bounded windows (never one huge Y.mergeUpdates), then sealed under the
 *   newest epoch held, stored and sent. With a store and a device key, each is also written
 *   to a journal sealed under the device key when it is not an envelope soon, or when the page
 *   goes (`flush`), until it rests in the store as an envelope (edit-journal.ts): a page closed
 *   or reloaded meanwhile loses nothing.
 * - Remote envelopes are verified, decrypted and checked against the membership log, then
 *   applied with this provider as origin. Duplicates are ignored; envelopes whose epoch or
 *   membership head is not known yet wait until the log catches up.
 * - Peers exchange `have` summaries (which sequence numbers each holds, and how long their
 *   log is) in a request and an answer, and send each other what the other lacks: lost,
 *   duplicated or reordered messages heal on resync.
 * - Envelopes sealed while offline are re-sealed under a newer epoch learnt before they were
 *   sent, so members added meanwhile can read them; a removed member sends nothing.
 *
 * Each duty lives in a module of its own (see binding.ts): this class is the façade over them.
 * @module
 */
import type * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import type { WireMessage } from '@sealdoc/protocol';
import { DocBinding } from './binding.js';
import { hex, unhex } from './bytes.js';
import { heldId } from './holdings.js';
import { Emitter } from './events.js';
import type { BeaconOptions } from './head-watch.js';
import type { SyncError } from './sync-error.js';
import type { Group } from './group.js';
import type { Storage } from './storage.js';
import type { PeerId, Transport, TransportStatus } from './transport.js';
import { RelayError } from './websocket-transport.js';
import type { DeviceKey } from './device-key.js';
import { listVersions, type DocVersion } from './versions.js';

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
   * envelopes it does not cover are checked and applied); and keep local edits there, sealed
   * under it, when they are not stored as envelopes soon or the page goes, until they are
   * (see {@link SealedDoc.unsaved}, {@link SealedDocOptions.journalAfterMs}).
   */
  deviceKey?: DeviceKey;
  /**
   * How long after the last change the local state is saved again, in ms (default 1000): it
   * waits for a pause in typing, 60 times this at most while changes go on.
   */
  localSaveMs?: number;
  /**
   * With a store and a device key: how long a local edit may wait to be stored as an envelope
   * before it is written to the journal, in ms (default 150: the batching window and the
   * sealing, with room to spare).
   */
  journalAfterMs?: number;
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
   * was applied), or this provider's own work in the background (storage, sealing), or the
   * group's (its `error` events: the rotation an admin device owes after a member left).
   */
  error: { error: Error; from?: PeerId };
  /** This member was removed: nothing more is sent, nothing new can be read. */
  /** This device acts no more in the group: its person was removed, or (`revoked`) this device was revoked. */
  'access-removed': { epoch: number; revoked: boolean };
  /** How many of this member's edits wait to be sent changed (see {@link SealedDoc.pending}). */
  pending: { count: number };
  /** What is wrong with the relay or the other members changed: one was raised (also an `error`), or resolved (see {@link SealedDoc.alarms}). */
  alarms: { alarms: SyncError[] };
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

  readonly #d: DocBinding;
  readonly #unsubscribe: (() => void)[] = [];
  readonly #ready: Promise<void>;
  // The log length this document last acted on (its membership changes are announced from there).
  #seenLogLength: number;
  #closing: Promise<void> | undefined;

  constructor(doc: Y.Doc, options: SealedDocOptions) {
    this.doc = doc;
    this.group = options.group;
    this.docId = options.docId;
    this.#seenLogLength = options.group.log.length;
    const d = (this.#d = new DocBinding(this, doc, options));
    this.whenSynced = d.sync.whenSynced;

    const onUpdate = (update: Uint8Array, origin: unknown) => {
      if (origin !== this) d.outbox.queueLocal(update, origin === d.journal);
    };
    // Yjs encodes a transaction's update only while something listens for 'update'. This
    // listener is there for the transactions this document did not apply itself: the check
    // below runs after each transaction's cleanup and just before Yjs's, so an envelope applied
    // here is not encoded again only to be ignored (a catch-up of 261 envelopes: about 5 ms).
    const onCleanup = (transaction: Y.Transaction) => {
      if (transaction.origin === this) doc.off('update', onUpdate);
      else doc.on('update', onUpdate);
    };
    doc.on('update', onUpdate);
    doc.on('afterTransactionCleanup', onCleanup);
    this.#unsubscribe.push(() => {
      doc.off('afterTransactionCleanup', onCleanup);
      doc.off('update', onUpdate);
    });
    this.#unsubscribe.push(this.group.events.on('membership', () => d.background(this.#membershipChanged())));
    this.#unsubscribe.push(this.group.events.on('removed', ({ epoch, revoked }) => this.events.emit('access-removed', { epoch, revoked })));
    this.#unsubscribe.push(this.group.events.on('error', ({ error }) => this.events.emit('error', { error })));
    if (d.presence) this.#unsubscribe.push(d.presence.listen());

    const t = d.transport;
    if (t) {
      this.#unsubscribe.push(t.events.on('message', ({ from, message }) => d.background(this.#ready.then(() => this.#receive(from, message)))));
      this.#unsubscribe.push(
        t.events.on('error', ({ error, from }) => {
          // A push of this device's own envelope in this group refused as from no member (or no
          // writer) while this log says otherwise: the relay holds ops not here, or lies. (A
          // transport serves many groups: another group's refusal says nothing of this one; and
          // another author's envelope offered on says nothing of this device's standing.)
          const denied =
            error instanceof RelayError && error.groupId === this.group._key && error.author === this.group._me && ['not-a-member', 'not-a-writer', 'past-cutoff'].includes(error.code);
          if (denied && d.canWrite()) d.watch?.standingDenied();
          this.events.emit('error', { error, ...(from !== undefined ? { from } : {}) });
        }),
      );
      this.#unsubscribe.push(t.events.on('acknowledged', ({ author, seq }) => d.outbox.acknowledged(heldId(author, seq))));
      this.#unsubscribe.push(
        t.events.on('peer', ({ peer, present }) => {
          if (!present) return;
          d.background(this.#ready.then(() => d.sync.sendHave(peer)));
          if (d.presence) d.background(d.presence.send());
        }),
      );
      this.#unsubscribe.push(
        t.events.on('status', ({ status }) => {
          this.events.emit('status', { status });
          if (status !== 'online') return d.sync.disconnected();
          d.sync.connected(t.peers());
          d.background(this.#ready.then(() => this.resync()));
        }),
      );
    }
    this.#ready = d.store.open();
    this.whenLoaded = this.#ready;
    d.background(
      this.#ready.then(() => {
        if (!t) d.sync.alone();
        else if (t.status === 'online') this.resync();
      }),
    );
  }

  /**
   * Problems with the relay or other members that hold now: forks, withholding, a member kept
   * behind, a partition (each was reported once as an `error` event; resolved ones are gone).
   */
  get alarms(): SyncError[] {
    return this.#d.watch?.alarms ?? [];
  }

  /**
   * Envelopes held in memory for this document (sealed here, received, or read from the
   * store), in no particular order. After a cold open from the local state, those in the
   * store are read in the background: they appear once that is done.
   */
  envelopes(): Uint8Array[] {
    return this.#d.holdings.envelopes();
  }

  /**
   * Seals the whole document state under the current epoch as a snapshot envelope naming the
   * sequence ranges it covers: newcomers read it without older keys, and peers do not send
   * them what it covers. Done automatically every `snapshotEvery` envelopes and, by the admin
   * who committed it, after every epoch change.
   */
  snapshot(): Promise<void> {
    return this.#d.snapshots.snapshot();
  }

  /**
   * The versions of the document this device holds: its snapshots (sealed here with
   * {@link SealedDoc.snapshot} or automatically, or received), each verified again, with its
   * author and the time its author gave it, oldest first (see {@link DocVersion}).
   */
  versions(): Promise<DocVersion[]> {
    return listVersions(this.#d);
  }

  /** The transport's status (`offline` without one). */
  get status(): TransportStatus {
    return this.#d.transport?.status ?? 'offline';
  }

  /** Whether a resync settled since the transport last came online (the 'synced' event tells changes). */
  get synced(): boolean {
    return this.#d.sync.synced;
  }

  /**
   * This member's edits that wait to be sent: envelopes sealed while offline (or while the log
   * might be behind), edits that could not be sealed yet, and, through a relay, envelopes sent
   * but not yet acknowledged as stored; edits still in the batching window or being sealed
   * count as one envelope on its way. A `pending` event reports each change.
   */
  get pending(): number {
    return this.#d.outbox.pending;
  }

  /**
   * Whether local edits wait to be written to the store: from the keystroke until its batch is
   * stored as an envelope (the batching window and the sealing, tens of milliseconds) or, with
   * a device key, written to the journal sealed under it (edit-journal.ts: at {@link flush},
   * or when an edit is not an envelope 150 ms after it came), and while a write fails. A page
   * about to be unloaded calls {@link flush} (whose journal write, one encryption and one store
   * write, it still finishes) and can ask its person to stay while this is true (the demo does,
   * on `beforeunload`).
   */
  get unsaved(): boolean {
    const d = this.#d;
    return !d.outbox.allStored && !(d.journal.enabled && d.journal.settled);
  }

  /**
   * Writes the edits not stored yet to the journal at once (with a device key: one encryption
   * and one store write, which a page being unloaded still finishes), then seals and sends the
   * pending batch; resolves once both are done.
   */
  flush(): Promise<void> {
    return Promise.all([this.#d.journal.writeNow(), this.#d.outbox.flush()]).then(() => undefined);
  }

  /** Asks every peer for its summary and sends it ours, so that each sends what the other lacks. */
  resync(): void {
    this.#d.sync.resync();
  }

  /**
   * The device (id) whose sealed envelopes or presence carry Yjs client `clientId`: the
   * author a remote caret belongs to, as verified here (map it to its person with
   * `group.log.device(id)?.personId`). Undefined for a client not seen.
   */
  presenceAuthor(clientId: number): Uint8Array | undefined {
    const owner = this.#d.presence?.owners.ownerOf(clientId);
    return owner === undefined ? undefined : unhex(owner);
  }

  /**
   * Tells the peers at once that this peer's presence is gone, with the "left" state sealed
   * in advance: nothing asynchronous, for a page being unloaded (where sealing could not
   * finish). Peers drop it if a newer state has gone since; `destroy()` does the same, sealed
   * afresh.
   */
  leaveNow(): void {
    this.#d.presence?.leaveNow();
  }

  /**
   * Stops listening to the document, the group and the transport. Edits still batched are
   * sealed and stored first (sent too, when online), the peers are told this peer's presence
   * is gone (its caret goes at once), and the local state is saved: the promise resolves once
   * that is done. Stored data stays.
   */
  destroy(): Promise<void> {
    if (this.#closing) return this.#closing;
    const d = this.#d;
    d.watch?.stop();
    d.sync.stop();
    d.store.stop();
    d.destroyed = true;
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#closing = Promise.all([d.journal.writeNow(), d.outbox.flush(), d.presence?.send(true)])
      .then(() => d.store.saveLocal())
      .catch((error: unknown) => this.events.emit('error', { error: error instanceof Error ? error : new Error(String(error)) }))
      .finally(() => this.events.clear());
    return this.#closing;
  }

  /** Destroys the provider and deletes what it stored for this document. */
  async clearData(): Promise<void> {
    await this.destroy();
    await this.#d.store.clear();
  }

  async #receive(from: PeerId, message: WireMessage): Promise<void> {
    const d = this.#d;
    if (d.destroyed) return;
    switch (message.type) {
      case 'envelope':
        await d.inbox.receiveEnvelope(message.envelope, from);
        break;
      case 'have':
        if (hex(message.groupId) !== this.group._key || hex(message.docId) !== d.docKey) break;
        await d.store.stored; // what the store holds can be sent
        d.sync.answerHave(message, from);
        break;
      case 'beacon':
        if (hex(message.groupId) === this.group._key && hex(message.docId) === d.docKey) await d.watch?.receive(message);
        break;
      case 'ops':
        await d.sync.receiveOps(message, from);
        break;
    }
  }

  async #membershipChanged(): Promise<void> {
    const d = this.#d;
    if (d.destroyed) return;
    d.watch?.logChanged();
    // This member's own op: the peers (a relay) get it now, before anything sealed under it
    // (the snapshot below), which they could not check without it.
    const log = this.group.log;
    const from = Math.min(this.#seenLogLength, log.length);
    this.#seenLogLength = log.length;
    if (from < log.length && hex(log.opAt(log.length - 1).author) === this.group._me) {
      d.broadcast({ type: 'ops', groupId: this.group.groupId, fromIndex: from, ops: log.ops(from) });
      this.resync();
    }
    await d.inbox.retryParked();
    await d.snapshots.epochChanged();
    await d.outbox.sealHeldBack();
    await d.outbox.releaseUnsent();
  }
}
