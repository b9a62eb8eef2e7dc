/**
 * IndexedDB storage for browsers. Keys are stored as IndexedDB array keys, which order part
 * by part like {@link compareStorageKeys}; every call is one transaction, so a tab closed in
 * the middle of a {@link Storage.write} leaves all of it or none. Bytes are kept exactly as
 * given: the engine saves only sealed envelopes here, and secrets only under the device key
 * (see {@link DeviceKey}).
 * @module
 */
import { checkStorageKey, checkStorageValue, StorageError, type Storage, type StorageChunk, type StorageKey, type StorageWrite } from './storage.js';

const RECORDS = 'records';
/** @internal The object store that holds device keys (CryptoKey objects, never bytes). */
export const _DEVICE_STORE = 'device';
const DB_VERSION = 1;

/** Options of {@link IndexedDBStorage.open}. */
export interface IndexedDBStorageOptions {
  /**
   * Ask the browser to keep this origin's data under storage pressure
   * (`navigator.storage.persist()`), so that offline work is not evicted. Default true.
   */
  persist?: boolean;
}

/** Maps an IndexedDB failure to a typed one; a full disk is `quota`, never silent. */
function storageError(error: unknown, what: string): StorageError {
  if (error instanceof StorageError) return error;
  const name = (error as { name?: string } | null)?.name;
  if (name === 'QuotaExceededError') return new StorageError('quota', `the browser's storage quota is exhausted (${what})`, { cause: error });
  if (name === 'InvalidStateError') return new StorageError('closed', `the database was closed (${what})`, { cause: error });
  return new StorageError('io', `IndexedDB failed to ${what}: ${name ?? String(error)}`, { cause: error });
}

const request = <T>(r: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

/** @internal Opens (creating or upgrading) the database that holds records and device keys. */
export async function _openDatabase(name: string): Promise<IDBDatabase> {
  if (typeof indexedDB === 'undefined') throw new StorageError('io', 'IndexedDB is not available here');
  const open = indexedDB.open(name, DB_VERSION);
  open.onupgradeneeded = () => {
    const db = open.result;
    if (!db.objectStoreNames.contains(RECORDS)) db.createObjectStore(RECORDS);
    if (!db.objectStoreNames.contains(_DEVICE_STORE)) db.createObjectStore(_DEVICE_STORE);
  };
  open.onblocked = () => undefined; // another tab holds an older version open; it closes on versionchange
  try {
    const db = await request(open);
    db.onversionchange = () => db.close();
    return db;
  } catch (error) {
    throw storageError(error, `open database ${name}`);
  }
}

/** Every key with `prefix`'s parts first: from the prefix itself to just before [...prefix, []]. */
function range(prefix: StorageKey): IDBKeyRange | undefined {
  return prefix.length === 0 ? undefined : IDBKeyRange.bound([...prefix], [...prefix, []], false, true);
}

const copy = (data: Uint8Array): Uint8Array => new Uint8Array(data);

export class IndexedDBStorage implements Storage {
  readonly #db: IDBDatabase;
  readonly #name: string;
  #closed = false;
  /** Whether the browser granted persistent storage (false when not asked or refused). */
  readonly persisted: boolean;

  private constructor(db: IDBDatabase, name: string, persisted: boolean) {
    this.#db = db;
    this.#name = name;
    this.persisted = persisted;
  }

  /** Opens the database `name` (created on first use). */
  static async open(name = 'sealdoc', options: IndexedDBStorageOptions = {}): Promise<IndexedDBStorage> {
    const db = await _openDatabase(name);
    let persisted = false;
    if (options.persist !== false && typeof navigator !== 'undefined' && navigator.storage?.persist) {
      persisted = await navigator.storage.persist().catch(() => false);
    }
    return new IndexedDBStorage(db, name, persisted);
  }

  /** Deletes the database `name` with everything in it (records and device keys). */
  static async deleteDatabase(name: string): Promise<void> {
    try {
      await request(indexedDB.deleteDatabase(name));
    } catch (error) {
      throw storageError(error, `delete database ${name}`);
    }
  }

  /** The database's name. */
  get name(): string {
    return this.#name;
  }

  /** @internal The open connection (for the device key kept beside the records). */
  get _db(): IDBDatabase {
    if (this.#closed) throw new StorageError('closed', 'this store was closed');
    return this.#db;
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    checkStorageKey(key);
    const value = await this.#run('readonly', 'load', (store) => request(store.get([...key])));
    return value === undefined ? undefined : new Uint8Array(value as ArrayBuffer);
  }

  save(key: StorageKey, data: Uint8Array): Promise<void> {
    return this.write([{ op: 'save', key, data }]);
  }

  remove(key: StorageKey): Promise<void> {
    return this.write([{ op: 'remove', key }]);
  }

  async loadRange(prefix: StorageKey): Promise<StorageChunk[]> {
    checkStorageKey(prefix, true);
    const bounds = range(prefix);
    const [keys, values] = await this.#run('readonly', 'load a range', (store) =>
      Promise.all([request(store.getAllKeys(bounds)), request(store.getAll(bounds))]),
    );
    return keys.map((key, i) => ({ key: [...(key as string[])], data: new Uint8Array(values[i] as ArrayBuffer) }));
  }

  async removeRange(prefix: StorageKey): Promise<void> {
    checkStorageKey(prefix, true);
    const bounds = range(prefix);
    await this.#run('readwrite', 'remove a range', (store) => request(bounds ? store.delete(bounds) : store.clear()), true);
  }

  async write(writes: readonly StorageWrite[]): Promise<void> {
    // Everything is checked before the transaction starts: a bad write means no write.
    for (const w of writes) {
      checkStorageKey(w.key);
      if (w.op === 'save') checkStorageValue(w.data);
    }
    // Copies are taken now, so that the caller may reuse its buffers at once.
    const values = writes.map((w) => (w.op === 'save' ? copy(w.data).buffer : undefined));
    await this.#run(
      'readwrite',
      'write',
      (store) => {
        writes.forEach((w, i) => (w.op === 'save' ? store.put(values[i], [...w.key]) : store.delete([...w.key])));
        return Promise.resolve();
      },
      true,
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#db.close();
  }

  /**
   * Runs `body` in one transaction and resolves with its result once the transaction committed.
   * `placed`: `body` places every request before it returns, so the transaction is committed at
   * once, not after a round trip to the database: a page being unloaded still commits it.
   */
  async #run<T>(mode: IDBTransactionMode, what: string, body: (store: IDBObjectStore) => Promise<T>, placed = false): Promise<T> {
    if (this.#closed) throw new StorageError('closed', 'this store was closed');
    let tx: IDBTransaction;
    try {
      tx = this.#db.transaction(RECORDS, mode);
    } catch (error) {
      throw storageError(error, what);
    }
    const done = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(tx.error ?? new DOMException('transaction aborted', 'AbortError'));
    });
    try {
      const running = body(tx.objectStore(RECORDS));
      if (placed) tx.commit?.();
      const [result] = await Promise.all([running, done]);
      return result;
    } catch (error) {
      // A request that failed before reaching the database (a full quota, a value it cannot
      // store) must undo the ones queued before it: all or nothing.
      try {
        tx.abort();
      } catch {
        // finished already (it aborted itself)
      }
      await done.catch(() => undefined);
      throw storageError(error, what);
    }
  }
}
