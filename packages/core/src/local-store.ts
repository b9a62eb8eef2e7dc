/**
 * A sealed document's local ciphertext store: its envelopes (those offered to peers, and this
 * member's own never sent), and, with a device key, the document's state sealed under it. The
 * next open applies that state at once, with no signature checks and no replay of envelopes;
 * a "dirty" marker says envelopes were stored after it, which are then checked and applied
 * too; last, the edits a session journaled and did not seal (edit-journal.ts). Nothing in the
 * store is plaintext.
 * @module
 */
import * as Y from 'yjs';
import { EnvelopeError, openEnvelope, readEnvelopeHeader, type EnvelopeHeader } from '@sealdoc/crypto';
import { SeqRanges, WireError } from '@sealdoc/protocol';
import type { DocBinding } from './binding.js';
import { hex, unhex } from './bytes.js';
import { AtRestError, type DeviceKey } from './device-key.js';
import { heldId, splitId } from './holdings.js';
import type { Storage, StorageWrite } from './storage.js';
import { dirtyKey, envelopeKey, localStateKey } from './storage-keys.js';
import { decodeLocalState, decodeSnapshot, encodeLocalState } from './wire.js';

/**
 * A local save waits for a pause in the changes, at most this many times its delay (a minute
 * by default): while typing goes on, each save (the whole document encoded and sealed, tens of
 * milliseconds on a 200 KB one) is a stall between keystrokes, and what is not in the saved
 * state is in the stored envelopes anyway (applied at the next open).
 */
const SAVE_WAIT_FACTOR = 60;

export class LocalStore {
  readonly #d: DocBinding;
  readonly #storage: Storage | undefined;
  readonly #deviceKey: DeviceKey | undefined;
  readonly #localSaveMs: number;
  #localTimer: ReturnType<typeof setTimeout> | undefined;
  #localDirty = false;
  // When the first change not in the saved local state came (a save waits for a pause in the
  // changes, but not longer than SAVE_WAIT_FACTOR times the delay after it).
  #dirtySince: number | undefined;
  // Whether the store's "dirty" marker is set: envelopes were stored since the local state.
  #dirtyMarked = false;
  #storing = 0;
  // While loading over content bound before: a copy of what the store held (compared after).
  #loaded: Y.Doc | undefined;
  /** The rest of the store, read in the background after a cold open from the local state. */
  stored: Promise<void> = Promise.resolve();

  /** The storage the envelopes go to (undefined: none). */
  get storage(): Storage | undefined {
    return this.#storage;
  }

  constructor(d: DocBinding, options: { storage?: Storage; deviceKey?: DeviceKey; localSaveMs?: number }) {
    this.#d = d;
    this.#storage = options.storage;
    this.#deviceKey = options.deviceKey;
    this.#localSaveMs = options.localSaveMs ?? 1000;
  }

  /**
   * Applies what the store holds for this document, before anything from the network. Content
   * the Y.Doc held before binding is then sealed and sent like an edit (what the store turns
   * out to hold of it, not again).
   */
  async open(): Promise<void> {
    const doc = this.#d.doc;
    const initial = doc.store.clients.size > 0 ? Y.encodeStateAsUpdate(doc) : undefined;
    if (initial) this.#loaded = new Y.Doc();
    await this.#load();
    const loaded = this.#loaded;
    this.#loaded = undefined;
    if (initial && loaded) this.#queueInitial(initial, loaded);
  }

  /** Keeps a copy of what the store held, while loading over content bound before. */
  noteLoaded(update: Uint8Array, v2 = false): void {
    if (this.#loaded) (v2 ? Y.applyUpdateV2 : Y.applyUpdate)(this.#loaded, update);
  }

  /** Queues what the content bound before holds beyond what the store held (`loaded`), as a local edit. */
  #queueInitial(initial: Uint8Array, loaded: Y.Doc): void {
    const diff = Y.diffUpdate(initial, Y.encodeStateVector(loaded));
    let news = false;
    loaded.on('update', () => (news = true));
    Y.applyUpdate(loaded, diff);
    loaded.destroy();
    if (news) this.#d.outbox.queueLocal(diff);
  }

  /** Where envelopes are stored: 'env' for those offered to peers, 'unsent' for those held back. */
  key(state: 'env' | 'unsent', header?: EnvelopeHeader): string[] {
    return envelopeKey(state, this.#d.group._key, this.#d.docKey, header && hex(header.author), header?.seq);
  }

  async #load(): Promise<void> {
    const storage = this.#storage;
    if (!storage) return;
    const d = this.#d;
    // The state kept under the device key holds what it names as applied. When nothing was
    // stored after it (the "dirty" marker is absent), it is the whole document: the envelopes
    // are read in the background, only to serve peers. Otherwise they are read now.
    const [trusted, dirty, unsent] = await Promise.all([
      this.#loadLocal(),
      this.#deviceKey ? storage.load(this.#dirtyKey()) : undefined,
      storage.loadRange(this.key('unsent')),
    ]);
    this.#dirtyMarked = !!dirty;
    const lazy = trusted && !dirty;
    if (!lazy) await this.#loadStored(trusted);
    // Own envelopes never sent: applied, and held back again to be re-sealed if the epoch moved.
    // One that does not open as this member's (a store shared by mistake) is reported, not fatal.
    for (const { data } of unsent) {
      try {
        const { header, plaintext } = await openEnvelope(data, d.outbox.ownContext());
        d.outbox.unsent.add(d.holdings.hold(data, true));
        d.outbox.pendingChanged();
        const update = header.kind === 'snapshot' ? decodeSnapshot(plaintext).state : plaintext;
        this.noteLoaded(update);
        Y.applyUpdate(d.doc, update, d.origin);
      } catch (error) {
        if (error instanceof EnvelopeError || error instanceof WireError) d.events.emit('error', { error });
        else throw error;
      }
    }
    // Edits of a session that ended before they were sealed: on top of everything stored.
    await d.journal.load();
    // Last, so that it does not hold up the reads above.
    if (lazy) {
      this.stored = this.#loadStored(trusted);
      d.background(this.stored);
    }
  }

  /**
   * Holds the envelopes in the store: those `trusted` names as applied without checking
   * them (their content is in the state already), the rest verified and applied.
   */
  async #loadStored(trusted: SeqRanges | undefined): Promise<void> {
    const rest: Uint8Array[] = [];
    for (const { data } of await this.#storage!.loadRange(this.key('env'))) {
      let header: EnvelopeHeader | undefined;
      try {
        header = trusted && readEnvelopeHeader(data);
      } catch {
        // not trusted: verified below, and refused there with a typed error
      }
      if (header && trusted?.has(hex(header.author), header.seq)) {
        if (!this.#d.holdings.byId.has(heldId(hex(header.author), header.seq))) this.#d.holdings.hold(data, false, header);
      } else rest.push(data);
    }
    await Promise.all(rest.map((data) => this.#d.inbox.receiveEnvelope(data, undefined, false)));
  }

  #dirtyKey(): string[] {
    return dirtyKey(this.#d.group._key, this.#d.docKey);
  }

  /** Stores envelopes, marking the store dirty (with a device key) until the next local state. */
  async write(writes: StorageWrite[]): Promise<void> {
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
    return localStateKey(this.#d.group._key, this.#d.docKey);
  }

  /** Applies the state kept under the device key; returns what it covers, or undefined. */
  async #loadLocal(): Promise<SeqRanges | undefined> {
    const key = this.#deviceKey;
    const sealed = key && (await this.#storage!.load(this.#localKey()));
    if (!key || !sealed) return undefined;
    const d = this.#d;
    try {
      const local = decodeLocalState(await key.open(sealed, this.#localKey().join('/')));
      this.noteLoaded(local.state, true);
      for (const [client, author] of local.owners ?? []) d.presence?.owners.bindFromDoc(client, hex(author));
      Y.applyUpdateV2(d.doc, local.state, d.origin);
      const applied = SeqRanges.fromAuthorRanges(local.applied);
      d.holdings.cover(applied);
      if (local.best) {
        const covers = SeqRanges.fromAuthorRanges(local.best.covers);
        d.holdings.best = { id: heldId(hex(local.best.author), local.best.seq), covers, size: covers.size };
      }
      return applied;
    } catch (error) {
      // Damaged, altered, or sealed under a device key that is gone: every envelope in the
      // store is checked and applied instead, so nothing the store holds is lost.
      if (error instanceof AtRestError || error instanceof WireError) {
        d.events.emit('error', { error });
        return undefined;
      }
      throw error;
    }
  }

  /** Schedules saving the local state (with a device key and a store). */
  localChanged(): void {
    if (!this.#deviceKey || !this.#storage || this.#d.destroyed) return;
    this.#localDirty = true;
    const now = Date.now();
    this.#dirtySince ??= now;
    if (this.#localTimer !== undefined) {
      // Typing goes on: the save (the whole document encoded and sealed) waits for a pause, so
      // that it does not land between keystrokes every second; past the longest wait it goes.
      if (now - this.#dirtySince >= SAVE_WAIT_FACTOR * this.#localSaveMs) return;
      clearTimeout(this.#localTimer);
    }
    this.#localTimer = setTimeout(() => this.#d.background(this.saveLocal()), this.#localSaveMs);
  }

  /**
   * Seals the document state under the device key, with what it holds. Only when every local
   * edit in it is stored as an envelope (none batched, being sealed or held back): the next
   * open must still find and send them. Otherwise it tries again later.
   */
  async saveLocal(): Promise<void> {
    this.#localTimer = undefined;
    const key = this.#deviceKey;
    const storage = this.#storage;
    const d = this.#d;
    if (!key || !storage || !this.#localDirty) return;
    if (!d.outbox.allStored) {
      if (!d.destroyed) this.localChanged();
      return;
    }
    this.#localDirty = false;
    this.#dirtySince = undefined;
    const applied = d.holdings.appliedRanges();
    const best = d.holdings.best;
    const [bestAuthor, bestSeq] = best ? splitId(best.id) : ['', 0];
    const owners = d.presence?.owners;
    const plaintext = encodeLocalState({
      applied: applied.toAuthorRanges(),
      ...(best ? { best: { author: unhex(bestAuthor), seq: bestSeq, covers: best.covers.toAuthorRanges() } } : {}),
      ...(owners ? { owners: owners.fromDoc().map(([client, author]) => [client, unhex(author)] as [number, Uint8Array]) } : {}),
      // The V2 encoding: half the size of V1 for this kind of text, and quicker to apply.
      state: Y.encodeStateAsUpdateV2(d.doc),
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
      this.localChanged();
      throw error;
    }
    if (clean && this.#storing === 0) this.#dirtyMarked = false;
  }

  /** No more saving later (the document is being destroyed: it saves one last time itself). */
  stop(): void {
    clearTimeout(this.#localTimer);
  }

  /** Deletes what the store holds for this document. */
  async clear(): Promise<void> {
    await this.#storage?.removeRange(this.key('env'));
    await this.#storage?.removeRange(this.key('unsent'));
    await this.#storage?.remove(this.#localKey());
    await this.#storage?.remove(this.#dirtyKey());
    await this.#d.journal.clear();
  }
}
