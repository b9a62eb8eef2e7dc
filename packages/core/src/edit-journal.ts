/**
 * A sealed document's journal of local edits not sealed yet. Edits wait in the outbox's batch
 * for up to `windowMs`, then take several asynchronous steps (a sequence number, a
 * signature, a store write) before they rest in the store as an envelope: a page reloaded or
 * closed, or a process killed, in those moments would lose them. So, with a store and a device
 * key, edits are also written to the journal under the device key: one encryption and one
 * store write, which a page being unloaded still finishes. The journal is written when asked
 * (`writeNow`: SealedDoc.flush, which a page going away calls) and otherwise when an edit is
 * still not an envelope {@link JOURNAL_AFTER_MS} after it came (sealing held back, slow, or the
 * batching window long): while typing goes as usual, each batch is an envelope within that
 * time and nothing is journaled, so a keystroke costs no store write of its own. The next open
 * applies what the journal holds and seals it like any local edit. Once every local edit is
 * stored as an envelope, the journal's records are removed. Nothing in it is plaintext at rest:
 * each record is sealed under the device key, its key the context.
 *
 * Without a device key nothing is journaled (edits never rest in clear): they are safe once
 * sealed and stored, as before.
 * @module
 */
import * as Y from 'yjs';
import { AtRestError, type DeviceKey } from './device-key.js';
import type { DocBinding } from './binding.js';
import { hex } from './bytes.js';
import type { Storage, StorageKey } from './storage.js';
import { journalKey } from './storage-keys.js';
import { mergeBounded } from './outbox.js';

/**
 * How long an edit may wait to become an envelope before the journal writes it, by default
 * (`journalAfterMs`): the default batching window (50 ms) and the sealing and storing after
 * it, with room to spare.
 */
export const JOURNAL_AFTER_MS = 150;

export class EditJournal {
  readonly #d: DocBinding;
  readonly #storage: Storage | undefined;
  readonly #deviceKey: DeviceKey | undefined;
  // Records of this session get keys of their own: another tab of the same store writes others.
  readonly #session = hex(crypto.getRandomValues(new Uint8Array(8)));
  #next = 0;
  // Local edits not written yet.
  #unwritten: Uint8Array[] = [];
  // Writes them JOURNAL_AFTER_MS after the first came, unless every edit is an envelope by then.
  #timer: ReturnType<typeof setTimeout> | undefined;
  // Writes under way, by key (joined).
  readonly #writing = new Map<string, Promise<void>>();
  // Records written (or being written) since every local edit was last stored as an envelope.
  #records: StorageKey[] = [];

  readonly #afterMs: number;

  constructor(d: DocBinding, options: { storage?: Storage; deviceKey?: DeviceKey; journalAfterMs?: number }) {
    this.#d = d;
    this.#storage = options.storage;
    this.#deviceKey = options.deviceKey;
    this.#afterMs = options.journalAfterMs ?? JOURNAL_AFTER_MS;
  }

  /** Whether edits are journaled here: a store and a device key. */
  get enabled(): boolean {
    return this.#storage !== undefined && this.#deviceKey !== undefined;
  }

  /** Whether every edit noted is written (none waiting, none being written). */
  get settled(): boolean {
    return this.#unwritten.length === 0 && this.#writing.size === 0;
  }

  /** A local edit: written with the others waiting `journalAfterMs` after it came, unless it is an envelope by then. */
  note(update: Uint8Array): void {
    if (!this.enabled) return;
    this.#unwritten.push(update);
    this.#timer ??= setTimeout(() => this.writeNow(), this.#afterMs);
  }

  /**
   * Writes the edits waiting now, as one record (a page about to go: one encryption, one write).
   * Resolves once the write is over; a failure is an 'error' event, never a rejection here.
   */
  writeNow(): Promise<void> {
    const writing = this.#write();
    if (!writing) return Promise.resolve();
    this.#d.background(writing);
    return writing.catch(() => undefined);
  }

  /** Writes `update` (with what else was noted) now; resolves once it is in the store. */
  keep(update: Uint8Array): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    this.#unwritten.push(update);
    return this.#write() ?? Promise.resolve();
  }

  /** Writes what was noted, as one record; the edits wait for the next write if it fails. */
  #write(): Promise<void> | undefined {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#unwritten.length === 0) return undefined;
    const updates = this.#unwritten.splice(0);
    const key = journalKey(this.#d.group._key, this.#d.docKey, this.#session, this.#next++);
    const context = key.join('/');
    const writing = (async () => {
      const sealed = await this.#deviceKey!.seal(mergeBounded(updates), context);
      await this.#storage!.write([{ op: 'save', key, data: sealed }]);
    })();
    this.#records.push(key);
    const settled = writing
      .catch((error: unknown) => {
        this.#unwritten.unshift(...updates);
        throw error;
      })
      .finally(() => this.#writing.delete(context));
    this.#writing.set(context, settled.catch(() => undefined));
    return settled;
  }

  /**
   * Applies what the journal holds (a session that ended before its edits were sealed) as local
   * edits, with this journal as their origin: the outbox seals them (without journaling them
   * again), and the records are removed once they are stored as envelopes. A record that does
   * not open (damaged, or under a device key that is gone) is reported and removed with the others.
   */
  async load(): Promise<void> {
    if (!this.enabled) return;
    const d = this.#d;
    for (const { key, data } of await this.#storage!.loadRange(journalKey(d.group._key, d.docKey))) {
      this.#records.push(key);
      let update: Uint8Array;
      try {
        update = await this.#deviceKey!.open(data, key.join('/'));
      } catch (error) {
        if (error instanceof AtRestError) d.events.emit('error', { error });
        else throw error;
        continue;
      }
      d.store.noteLoaded(update);
      try {
        Y.applyUpdate(d.doc, update, this);
      } catch (error) {
        d.events.emit('error', { error: new AtRestError('corrupt', 'a journaled edit does not decode', { cause: error }) });
      }
    }
    this.retire();
  }

  /**
   * Every local edit is stored as an envelope (none batched, being sealed or held back): the
   * records written so far hold nothing the store lacks, and are removed (once written, if a
   * write is under way). Does nothing otherwise.
   */
  retire(): void {
    if (!this.enabled || !this.#d.outbox.allStored) return;
    this.#unwritten = [];
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#records.length === 0) return;
    const records = this.#records.splice(0);
    const writes = records.flatMap((key) => this.#writing.get(key.join('/')) ?? []);
    this.#d.background(Promise.allSettled(writes).then(() => this.#storage!.write(records.map((key) => ({ op: 'remove' as const, key })))));
  }

  /** Deletes every record of the document's journal. */
  async clear(): Promise<void> {
    await this.#storage?.removeRange(journalKey(this.#d.group._key, this.#d.docKey));
  }
}
