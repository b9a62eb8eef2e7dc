/**
 * One sealed document's binding: the Y.Doc, group, document id and transport that a
 * {@link SealedDoc} ties together, its events, and its parts, each in a module named by what it
 * does: what it holds (holdings.ts), its local ciphertext store (local-store.ts), the journal of
 * edits not sealed yet (edit-journal.ts), the outbox (outbox.ts), the inbox (inbox.ts), peer
 * sync (peer-sync.ts), snapshots (snapshots.ts), sealed awareness (sealed-awareness.ts) and the
 * watch over the relay (head-watch.ts). The
 * parts reach each other through it; SealedDoc is the façade over them.
 * @module
 */
import type * as Y from 'yjs';
import { SeqRanges, type WireMessage } from '@sealdoc/protocol';
import { EditJournal } from './edit-journal.js';
import type { Emitter } from './events.js';
import type { Group } from './group.js';
import { HeadWatch, type BeaconOptions } from './head-watch.js';
import { Holdings, splitId } from './holdings.js';
import { Inbox } from './inbox.js';
import { LocalStore } from './local-store.js';
import { Outbox } from './outbox.js';
import { PeerSync } from './peer-sync.js';
import { SealedAwareness } from './sealed-awareness.js';
import type { SealedDoc, SealedDocEvents, SealedDocOptions } from './sealed-doc.js';
import { hex } from './bytes.js';
import type { PeerId, Transport } from './transport.js';
import { Snapshots } from './snapshots.js';

export class DocBinding {
  readonly doc: Y.Doc;
  readonly group: Group;
  readonly docId: Uint8Array;
  /** Hex of the document id, for map and storage keys. */
  readonly docKey: string;
  readonly transport: Transport | undefined;
  readonly events: Emitter<SealedDocEvents>;
  /** The origin of what this binding applies to the document and to awareness: the SealedDoc. */
  readonly origin: SealedDoc;
  destroyed = false;
  readonly holdings: Holdings;
  readonly store: LocalStore;
  readonly journal: EditJournal;
  readonly outbox: Outbox;
  readonly inbox: Inbox;
  readonly sync: PeerSync;
  readonly snapshots: Snapshots;
  /** With awareness: presence, sealed. */
  readonly presence: SealedAwareness | undefined;
  // With a transport: beacons, and what they show of the relay (forks, withholding).
  readonly watch: HeadWatch | undefined;

  constructor(origin: SealedDoc, doc: Y.Doc, options: SealedDocOptions) {
    this.origin = origin;
    this.doc = doc;
    this.group = options.group;
    this.docId = options.docId;
    this.docKey = hex(options.docId);
    this.transport = options.transport;
    this.events = origin.events;
    this.holdings = new Holdings(this.group);
    this.store = new LocalStore(this, options);
    this.journal = new EditJournal(this, options);
    this.outbox = new Outbox(this, options.batch);
    this.inbox = new Inbox(this);
    this.sync = new PeerSync(this);
    this.snapshots = new Snapshots(this, options.snapshotEvery ?? 500);
    this.presence = options.awareness && new SealedAwareness(this, options.awareness);
    const t = this.transport;
    this.watch = t && this.#watchHeads(t, options.beacons);
  }

  /** Beacons for this document, and the watch over what they show (see head-watch.ts). */
  #watchHeads(t: Transport, options: BeaconOptions | undefined): HeadWatch {
    return new HeadWatch(
      {
        group: this.group,
        docId: this.docId,
        online: () => t.status === 'online',
        ready: () => t.status === 'online' && this.sync.synced,
        vouched: () => {
          const vouched = SeqRanges.of(this.holdings.knownRanges());
          for (const id of this.outbox.unacked.keys()) vouched.delete(...splitId(id));
          return vouched;
        },
        holdings: () => SeqRanges.of([...this.holdings.knownRanges(), ...[...this.inbox.parked.ids()].map(splitId)]),
        unacknowledged: () => [...this.outbox.unacked.values()],
        send: (beacon) => this.broadcast(beacon),
        resync: () => this.sync.resync(),
        raise: (error) => this.events.emit('error', { error }),
        alarmsChanged: () => this.events.emit('alarms', { alarms: this.watch?.alarms ?? [] }),
        behindChanged: () => this.background(this.outbox.releaseUnsent()),
      },
      options,
    );
  }

  broadcast(message: WireMessage, to?: PeerId): void {
    const t = this.transport;
    if (t?.status !== 'online') return;
    try {
      t.send(message, to);
    } catch {
      // Best effort: a peer that vanished meanwhile catches up on the next resync.
    }
  }

  /** Runs work nobody awaits; a failure becomes an 'error' event, never a lost rejection. */
  background(work: Promise<unknown>): void {
    work.catch((error: unknown) => this.events.emit('error', { error: error instanceof Error ? error : new Error(String(error)) }));
  }

  readyToSeal(): boolean {
    return this.canWrite() && this.group.keyring.has(this.group.groupId, this.group.log.epoch);
  }

  canWrite(): boolean {
    const role = this.group.role;
    return role === 'admin' || role === 'writer';
  }
}
