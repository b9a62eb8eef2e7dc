/**
 * A sealed document's outbox: this member's local edits (any origin but the document's own)
 * batched, merged over `windowMs` or until `maxBytes`, in bounded windows (never one huge
 * Y.mergeUpdates), then sealed under the newest epoch held, stored and sent. Envelopes sealed
 * while the log might have been behind wait unsent, and are re-sealed under a newer epoch learnt
 * before they were sent (so that members added meanwhile can read them), or with a new
 * sequence number when another device of this member used theirs; a removed member sends
 * nothing. Edits that cannot be sealed yet wait in memory; through a relay, envelopes sent are
 * pending until acknowledged. Together: what {@link SealedDoc.pending} counts.
 * @module
 */
import * as Y from 'yjs';
import { envelopeHash, openEnvelope, readEnvelopeHeader, sealEnvelope, type OpenContext } from '@sealdoc/crypto';
import type { DocBinding } from './binding.js';
import { hex } from './bytes.js';
import type { BatchOptions } from './sealed-doc.js';
import type { PeerId } from './transport.js';
import { decodeSnapshot } from './wire.js';

const MERGE_WINDOW = 100;

/** Merges updates in bounded windows, then merges the results: never one call over thousands. */
export function mergeBounded(updates: Uint8Array[]): Uint8Array {
  let level = updates;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += MERGE_WINDOW) next.push(Y.mergeUpdates(level.slice(i, i + MERGE_WINDOW)));
    level = next;
  }
  return level[0] ?? new Uint8Array(0);
}

export class Outbox {
  readonly #d: DocBinding;
  readonly #windowMs: number;
  readonly #maxBytes: number;
  /** This member's envelopes sealed while the log might have been behind, not sent yet (by id). */
  readonly unsent = new Set<string>();
  // This member's envelopes sent to a peer that acknowledges (a relay) and not acknowledged yet.
  // (By id, with when it was first sent.)
  readonly unacked = new Map<string, number>();
  #pendingNoted = false;
  #pendingReported = 0;
  // Local edits not sealed yet: made while this member could not write (removed, or a reader)
  // or while the newest epoch's key was still being unlocked. In memory only.
  readonly #heldBack: Uint8Array[] = [];
  #batch: Uint8Array[] = [];
  #batchBytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> = Promise.resolve();
  // Local edits taken from the batch but not stored as envelopes yet.
  #sealing = 0;
  // The hash of the last envelope this device sealed for this document, named by the next
  // (`prev`), so that a reader checks one signature for the run. Unknown after a restart.
  #prev: Uint8Array | undefined;

  constructor(d: DocBinding, batch: BatchOptions | undefined) {
    this.#d = d;
    this.#windowMs = batch?.windowMs ?? 50;
    this.#maxBytes = batch?.maxBytes ?? 64 * 1024;
  }

  /** See {@link SealedDoc.pending}. */
  get pending(): number {
    // Edits batched or being sealed count as one envelope on its way: from the first keystroke,
    // the count never says that nothing waits.
    return this.unsent.size + this.#heldBack.length + this.unacked.size + (this.#batch.length > 0 || this.#sealing > 0 ? 1 : 0);
  }

  pendingChanged(): void {
    if (this.#pendingNoted) return;
    this.#pendingNoted = true;
    queueMicrotask(() => {
      this.#pendingNoted = false;
      if (this.pending === this.#pendingReported) return;
      this.#pendingReported = this.pending;
      this.#d.events.emit('pending', { count: this.pending });
    });
  }

  /** Whether every local edit is stored as an envelope: none batched, being sealed or held back. */
  get allStored(): boolean {
    return this.#batch.length === 0 && this.#sealing === 0 && this.#heldBack.length === 0;
  }

  /** Seals and sends the pending batch now. */
  flush(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    // Edits that could not be stored before go first.
    const batch = this.#heldBack.length > 0 && this.#d.readyToSeal() ? [...this.#heldBack.splice(0), ...this.#batch] : this.#batch;
    this.pendingChanged();
    this.#batch = [];
    this.#batchBytes = 0;
    if (batch.length > 0) this.#sealing++;
    const run = this.#flushing.then(() => (batch.length > 0 ? this.sealAndSend(mergeBounded(batch), 'update', true) : undefined));
    this.#flushing = run.catch(() => undefined);
    return run;
  }

  /** A local edit into the batch; also into the journal, unless it comes from there (`journaled`). */
  queueLocal(update: Uint8Array, journaled = false): void {
    if (this.#d.destroyed) return;
    if (!journaled) this.#d.journal.note(update);
    this.#batch.push(update);
    this.#batchBytes += update.length;
    if (this.#batch.length === 1) this.pendingChanged();
    if (this.#batchBytes >= this.#maxBytes) this.#d.background(this.flush());
    else if (this.#timer === undefined) this.#timer = setTimeout(() => this.#d.background(this.flush()), this.#windowMs);
  }

  /** Seals the edits held back (once this member may write again), and sends them. */
  async sealHeldBack(): Promise<void> {
    if (this.#heldBack.length > 0 && this.#d.canWrite()) {
      const edits = this.#heldBack.splice(0);
      this.#sealing++;
      await this.sealAndSend(mergeBounded(edits), 'update', true);
    }
  }

  /**
   * Seals `plaintext` and stores it; sends it when this member is current. `taken`: the edits
   * were taken from the batch or the held-back ones (counted in `#sealing`, so in `pending`,
   * until they are held, stored or held back again: in the same turn, so the count never dips).
   */
  async sealAndSend(plaintext: Uint8Array, kind: 'update' | 'snapshot' = 'update', taken = false): Promise<void> {
    let counted = taken;
    const settle = () => {
      if (counted) this.#sealing--;
      counted = false;
    };
    try {
      await this.#sealAndSend(plaintext, kind, settle);
    } finally {
      settle();
      this.pendingChanged();
      // Once every local edit is stored as an envelope, the journal's records are no longer needed.
      this.#d.journal.retire();
    }
  }

  async #sealAndSend(plaintext: Uint8Array, kind: 'update' | 'snapshot', settle: () => void): Promise<void> {
    const d = this.#d;
    const group = d.group;
    // Nothing is sealed without the right to write, nor under an older epoch than the log's
    // (its key may still be unlocking; a member just removed could read the older one). Edits
    // wait in memory, never at rest in clear; a snapshot is simply made again later. Checked
    // again after the sequence number: the log may move meanwhile.
    const holdBack = () => {
      settle();
      if (kind === 'update') this.#heldBack.push(plaintext);
      this.pendingChanged();
      if (!d.canWrite()) d.events.emit('access-removed', { epoch: group.log.epoch, revoked: group.log.wasRevoked(group.deviceId) });
    };
    if (!d.readyToSeal()) return holdBack();
    // The counter is saved with the envelope, in the store's one write (sequence.ts).
    const { seq, counter } = await group._sequences.take(d.store.storage);
    if (!d.readyToSeal()) return holdBack();
    const epoch = group.log.epoch;
    const bytes = await sealEnvelope({
      kind,
      groupId: group.groupId,
      docId: d.docId,
      epoch,
      seq,
      head: group.log.head,
      author: group.keys,
      keyring: group.keyring,
      plaintext,
      ...(this.#prev ? { prev: this.#prev } : {}),
    });
    this.#prev = await envelopeHash(bytes);
    // The log may have moved while sealing (a removal, a new epoch): then it waits, to be
    // re-sealed or held back by releaseUnsent.
    const send = d.sync.logCurrent() && group.log.epoch === epoch && d.canWrite();
    // Not sent (and not offered to peers) until this peer has caught up with the log: it may
    // be re-sealed under a newer epoch first.
    const header = readEnvelopeHeader(bytes);
    try {
      await d.store.write([{ op: 'save', key: d.store.key(send ? 'env' : 'unsent', header), data: bytes }, ...counter()]);
    } catch (error) {
      // Not stored (a full disk, a closed store): the edit waits in memory and goes with the
      // next flush; the caller gets the typed error.
      settle();
      if (kind === 'update') this.#heldBack.push(plaintext);
      this.pendingChanged();
      throw error;
    }
    const id = d.holdings.hold(bytes, !send, header);
    settle();
    d.store.localChanged();
    if (!send) {
      this.unsent.add(id);
      this.pendingChanged();
    } else {
      this.sendOwn(id, bytes);
      if (kind === 'update') d.snapshots.countTowardsSnapshot(1);
      else {
        const snapshot = decodeSnapshot(plaintext);
        d.holdings.noteSnapshot(id, snapshot);
        await d.snapshots.attestCovers(seq, snapshot);
      }
    }
  }

  /**
   * An unsent envelope of this device whose sequence number another device of this member
   * used: forgotten here, its edit waits to be sealed again with a new one (a snapshot is
   * simply made again later).
   */
  async resealUnsent(id: string): Promise<void> {
    const d = this.#d;
    const held = d.holdings.byId.get(id);
    if (!held || !this.unsent.has(id)) return;
    d.holdings.byId.delete(id);
    this.unsent.delete(id);
    const { plaintext } = await openEnvelope(held.bytes, this.ownContext());
    if (held.header.kind === 'update') this.#heldBack.push(plaintext);
    this.pendingChanged();
    // Journaled before it leaves the store: a reload meanwhile still finds it.
    if (held.header.kind === 'update') await d.journal.keep(plaintext);
    await d.store.write([{ op: 'remove', key: d.store.key('unsent', held.header) }]);
    d.background(this.flush());
  }

  /**
   * Sends what was sealed while the log might have been behind, re-sealed under the newest
   * epoch (or with a new sequence number, when another device of this member used its own).
   */
  async releaseUnsent(): Promise<void> {
    const d = this.#d;
    if (this.unsent.size === 0 || !d.sync.logCurrent() || !d.canWrite()) return;
    const group = d.group;
    for (const id of [...this.unsent]) {
      const held = d.holdings.byId.get(id);
      this.unsent.delete(id);
      this.pendingChanged();
      if (!held) continue;
      if (held.header.epoch === group.log.epoch && held.header.seq > group._sequences.usedElsewhere) {
        d.holdings.known.add(hex(held.header.author), held.header.seq);
        await d.store.write([
          { op: 'save', key: d.store.key('env', held.header), data: held.bytes },
          { op: 'remove', key: d.store.key('unsent', held.header) },
        ]);
        this.sendOwn(id, held.bytes);
        if (held.header.kind === 'snapshot') await d.snapshots.attestCovers(held.header.seq, decodeSnapshot((await openEnvelope(held.bytes, this.ownContext())).plaintext));
        continue;
      }
      // Out of sight before the first await, so that no peer is ever served the stale copy.
      d.holdings.byId.delete(id);
      const { plaintext } = await openEnvelope(held.bytes, this.ownContext());
      await d.store.write([{ op: 'remove', key: d.store.key('unsent', held.header) }]);
      await this.sealAndSend(plaintext, held.header.kind === 'snapshot' ? 'snapshot' : 'update');
    }
  }

  /**
   * Opens this member's own envelopes, whatever the log says of them since: only their
   * plaintext is wanted, to seal it again (a cutoff recorded while it was unsent included).
   */
  ownContext(): OpenContext {
    const group = this.#d.group;
    const me = group.keys;
    return {
      groupId: group.groupId,
      docId: this.#d.docId,
      keyring: group.keyring,
      author: (header) => (hex(header.author) === group._me ? { signingPublicKey: me.signingPublicKey, role: 'writer' } : undefined),
    };
  }

  /** Sends one of this member's envelopes; through a transport that acknowledges, it is pending until acknowledged. */
  sendOwn(id: string, bytes: Uint8Array, to?: PeerId): void {
    const t = this.#d.transport;
    if (t?.acknowledges && t.status === 'online' && !this.unacked.has(id)) {
      this.unacked.set(id, Date.now());
      this.pendingChanged();
    }
    this.#d.broadcast({ type: 'envelope', envelope: bytes }, to);
  }

  /** The other side (a relay) stored one of this member's envelopes. */
  acknowledged(id: string): void {
    if (this.unacked.delete(id)) this.pendingChanged();
  }
}
