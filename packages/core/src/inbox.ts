/**
 * A sealed document's inbox: envelopes from peers and from the store are verified, decrypted
 * and checked against the membership log, then applied with the document's own origin, in
 * arrival order. Duplicates are ignored; a forgery under a held id, or a second envelope its
 * author signed with one number, is reported; envelopes whose epoch or membership head is not
 * known yet are parked (parking.ts) until the log catches up.
 * @module
 */
import * as Y from 'yjs';
import { EnvelopeError, equalBytes, openEnvelopes, readEnvelope, type EnvelopeHeader, type ReadEnvelope } from '@sealdoc/crypto';
import { WireError } from '@sealdoc/protocol';
import type { DocBinding } from './binding.js';
import { hex } from './bytes.js';
import { heldId, type Held } from './holdings.js';
import { Parking } from './parking.js';
import { SyncError } from './sync-error.js';
import type { PeerId } from './transport.js';
import { decodeSnapshot, type SnapshotPayload } from './wire.js';

// Envelopes waiting for the log to catch up, at most (and their bytes); the oldest are forgotten past it.
const MAX_PARKED = 10_000;
const MAX_PARKED_BYTES = 64 * 1024 * 1024;

/** An envelope waiting in the inbox to be opened and applied. */
interface Inbound extends Held {
  id: string;
  /** The envelope as parsed on arrival: opened without parsing it again. */
  read: ReadEnvelope;
  store: boolean;
  from?: PeerId;
}

/** An inbound envelope after opening: its plaintext, or why it did not open. */
interface Opened {
  item: Inbound;
  plaintext?: Uint8Array;
  error?: unknown;
}

export class Inbox {
  readonly #d: DocBinding;
  readonly parked = new Parking(MAX_PARKED, MAX_PARKED_BYTES);
  #inbox: Inbound[] = [];
  #draining: Promise<void> | undefined;

  constructor(d: DocBinding) {
    this.#d = d;
  }

  /** Takes an envelope from a peer (`from`) or from the store (`store` false: stored already). */
  async receiveEnvelope(bytes: Uint8Array, from?: PeerId, store = true): Promise<void> {
    const d = this.#d;
    let read: ReadEnvelope;
    try {
      read = readEnvelope(bytes);
    } catch (error) {
      if (error instanceof EnvelopeError) d.events.emit('error', { error, ...(from ? { from } : {}) });
      return;
    }
    const header = read.header;
    if (!equalBytes(header.groupId, d.group.groupId) || !equalBytes(header.docId, d.docId)) return;
    if (header.kind === 'awareness') return d.presence?.receive(bytes, header, from);
    const author = hex(header.author);
    const id = heldId(author, header.seq);
    const held = d.holdings.byId.get(id);
    // A copy of what is held: nothing to do. Other bytes under a held id are checked all the
    // same (below), so that a forgery is reported rather than dropped unseen.
    if (held && equalBytes(held.bytes, bytes)) return;
    if (from !== undefined && author === d.group._me) {
      // This identity used that sequence number on another device: what this one sealed with
      // it, unsent, is sealed again with a new one, and the other device's envelope applies.
      d.group._sequences.noteUsedElsewhere(header.seq);
      if (held) await d.outbox.resealUnsent(id);
    }
    this.#inbox.push({ id, header, bytes, read, store, ...(from ? { from } : {}) });
    return this.#drainInbox();
  }

  /**
   * Opens what the inbox holds together (one signature check per author's run of envelopes,
   * the rest concurrently: envelope-batch in @sealdoc/crypto), and applies it in arrival order,
   * snapshots first: applied as checks finish, Yjs would juggle pending structs. What arrives
   * meanwhile gathers for the next round.
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
    const group = this.#d.group;
    const logLength = group.log.length;
    const context = group.log.envelopeContext(group.keyring, { docId: this.#d.docId, kinds: ['update', 'snapshot'] });
    const outcomes = await openEnvelopes(batch.map((item) => item.read), context);
    const opened: Opened[] = batch.map((item, i) => {
      const outcome = outcomes[i]!;
      return outcome.ok ? { item, plaintext: outcome.plaintext } : { item, error: outcome.error };
    });
    // Snapshots first: the updates that follow them apply on top.
    const parkedSnapshots = await this.#applyOpened(opened.filter(({ item }) => item.header.kind === 'snapshot'));
    const parkedUpdates = await this.#applyOpened(opened.filter(({ item }) => item.header.kind !== 'snapshot'));
    // The log moved while these were checked: what parked may open now.
    if ((parkedSnapshots || parkedUpdates) && group.log.length !== logLength) this.#d.background(this.retryParked());
  }

  /** Stores, holds and applies what opened; parks what waits for the log. Returns whether any parked. */
  async #applyOpened(opened: Opened[]): Promise<boolean> {
    const d = this.#d;
    const group = d.group;
    const accepted: { item: Inbound; update: Uint8Array; snapshot?: SnapshotPayload }[] = [];
    // What was accepted in this round, by id: a copy of it may be in the same round.
    const seen = new Map<string, Uint8Array>();
    let parked = false;
    for (const { item, plaintext, error } of opened) {
      const first = d.holdings.byId.get(item.id)?.bytes ?? seen.get(item.id);
      if (first) {
        // A copy was applied first; another copy that does not check out (a forgery) is
        // reported, and so is one that does: its author signed two envelopes with one number.
        if (error && !(error instanceof EnvelopeError && (error.code === 'unknown-epoch' || error.code === 'unknown-head'))) this.#refuse(item, error);
        else if (plaintext && !equalBytes(first, item.bytes) && hex(item.header.author) !== group._me)
          d.events.emit('error', {
            error: new SyncError('equivocation', `a member signed two different edits with sequence number ${item.header.seq}; the first one is kept`, { member: hex(item.header.author) }),
            ...(item.from ? { from: item.from } : {}),
          });
        continue;
      }
      if (error instanceof EnvelopeError && error.code === 'unknown-epoch' && this.#neverReadable(item.header)) {
        // Sealed under an epoch before this member joined a since-join group: it holds no key to
        // it and never will. Known, so that peers do not send it again; its content reaches this
        // member through the snapshots sealed since.
        d.holdings.known.add(hex(item.header.author), item.header.seq);
        this.parked.drop(item.id);
      } else if (error instanceof EnvelopeError && (error.code === 'unknown-epoch' || error.code === 'unknown-head')) {
        // The log has not caught up yet: kept (within bounds) until it does; not counted as
        // held, so that a copy, or the real one behind a forgery, still comes.
        this.parked.park(item.id, item.bytes);
        parked = true;
        if (error.code === 'unknown-head') d.watch?.unknownHead(item.header.head, hex(item.header.author));
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
        const index = d.watch && !snapshot ? group.log.indexOf(item.header.head) : undefined;
        if (index !== undefined && index < group.log.length - 1) d.watch?.staleHead(hex(item.header.author), index);
      }
    }
    const toStore = accepted.filter(({ item }) => item.store);
    await d.store.write(toStore.map(({ item }) => ({ op: 'save', key: d.store.key('env', item.header), data: item.bytes })));
    for (const { item } of accepted) {
      this.parked.drop(item.id);
      d.holdings.hold(item.bytes, false, item.header);
    }
    // In arrival order, each in a transaction of its own, as a y-websocket client applies its
    // messages: Yjs merges what each one brought before the next is integrated, where one
    // transaction over a long tail would leave its structs unmerged and its lookups slow.
    for (const { item, update, snapshot } of accepted) {
      // A member's plaintext that is no Yjs update is refused on its own; the rest applies.
      try {
        if (!item.store) d.store.noteLoaded(update);
        if (!snapshot) d.presence?.bindClients(update, hex(item.header.author));
        Y.applyUpdate(d.doc, update, d.origin);
      } catch {
        this.#refuse(item, new WireError('malformed', 'the envelope opened but holds no valid Yjs update'));
      }
      if (snapshot) d.holdings.noteSnapshot(item.id, snapshot);
    }
    d.snapshots.countTowardsSnapshot(accepted.filter(({ snapshot }) => !snapshot).length);
    if (accepted.length > 0) d.store.localChanged();
    // An edit sealed under an older epoch that arrives late: in a since-join group a newcomer
    // cannot read it, so the member who started the newest epoch seals the state again.
    const late = accepted.some(({ item, snapshot }) => !snapshot && item.header.epoch < group.log.epoch);
    if (late && group.log.history === 'since-join' && d.snapshots.startedNewestEpoch()) d.snapshots.autoSnapshot();
    return parked;
  }

  /** Whether an envelope is under an epoch this member is not entitled to: a since-join group's epoch it was no member of. */
  #neverReadable(header: EnvelopeHeader): boolean {
    const log = this.#d.group.log;
    return log.history === 'since-join' && header.epoch <= log.epoch && log.indexOf(header.head) !== undefined && !log.wasMemberAt(this.#d.group.personId, header.epoch);
  }

  /** Reports a peer's envelope that was refused; if it was parked (a forgery waiting for the log), it waits no more. */
  #refuse(item: Inbound, error: unknown): void {
    this.parked.drop(item.id, item.bytes);
    if (error instanceof EnvelopeError || error instanceof WireError) this.#d.events.emit('error', { error, ...(item.from ? { from: item.from } : {}) });
    else throw error;
  }

  /** Tries again what waited for the log. */
  async retryParked(): Promise<void> {
    await Promise.all(this.parked.all().map((bytes) => this.receiveEnvelope(bytes)));
  }
}
