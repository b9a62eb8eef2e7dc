/**
 * A Storage in memory, for tests and for documents that need not survive a reload.
 * @module
 */
import { checkStorageKey, checkStorageValue, compareStorageKeys, hasPrefix, StorageError, type Storage, type StorageChunk, type StorageKey, type StorageWrite } from './storage.js';

// A space cannot occur in a key part (checkStorageKey refuses it), so it separates parts safely.
const encode = (key: StorageKey) => key.join(' ');

/** Keeps every record in a Map; data is copied in and out. */
export class MemoryStorage implements Storage {
  readonly #records = new Map<string, { key: string[]; data: Uint8Array }>();
  #closed = false;

  #open(): void {
    if (this.#closed) throw new StorageError('closed', 'the store is closed');
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    this.#open();
    checkStorageKey(key);
    return this.#records.get(encode(key))?.data.slice();
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    await this.write([{ op: 'save', key, data }]);
  }

  async remove(key: StorageKey): Promise<void> {
    await this.write([{ op: 'remove', key }]);
  }

  async loadRange(prefix: StorageKey): Promise<StorageChunk[]> {
    this.#open();
    checkStorageKey(prefix, true);
    return [...this.#records.values()]
      .filter((r) => hasPrefix(r.key, prefix))
      .sort((a, b) => compareStorageKeys(a.key, b.key))
      .map((r) => ({ key: [...r.key], data: r.data.slice() }));
  }

  async removeRange(prefix: StorageKey): Promise<void> {
    this.#open();
    checkStorageKey(prefix, true);
    for (const [id, r] of this.#records) if (hasPrefix(r.key, prefix)) this.#records.delete(id);
  }

  async write(writes: readonly StorageWrite[]): Promise<void> {
    this.#open();
    // Validate everything first: a bad write anywhere means no write at all.
    for (const w of writes) {
      checkStorageKey(w.key);
      if (w.op === 'save') checkStorageValue(w.data);
      else if (w.op !== 'remove') throw new StorageError('bad-value', 'a write is a save or a remove');
    }
    for (const w of writes) {
      if (w.op === 'save') this.#records.set(encode(w.key), { key: [...w.key], data: w.data.slice() });
      else this.#records.delete(encode(w.key));
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#records.clear();
  }
}
