/**
 * SQLite storage for Node (better-sqlite3, WAL): for Node apps, tools and tests. One table of
 * (key, bytes); a key's parts are joined with a space, which sorts below every character a
 * part may hold, so SQLite's byte order is {@link compareStorageKeys}' order and a prefix is
 * a range. Every write is one transaction (all or nothing), durable when the call resolves.
 *
 * Import it from `@sealdoc/core/node`: better-sqlite3 is a native module, so it is an
 * optional peer dependency, installed by those who use this store.
 * @module
 */
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { checkStorageKey, checkStorageValue, StorageError, type Storage, type StorageChunk, type StorageKey, type StorageWrite } from './storage.js';

/** better-sqlite3, loaded when a store is opened: an optional peer that an app that never opens one need not install. */
function loadSqlite(): typeof Database {
  try {
    return createRequire(import.meta.url)('better-sqlite3') as typeof Database;
  } catch (error) {
    throw new StorageError('io', `SqliteStorage needs the better-sqlite3 package (npm install better-sqlite3): ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Options of {@link SqliteStorage.open}. */
export interface SqliteStorageOptions {
  /**
   * SQLite's `synchronous` setting: 'full' (default) survives power loss; 'normal' survives a
   * crash of the process, and writes faster.
   */
  synchronous?: 'full' | 'normal';
}

const SEPARATOR = ' ';
const joinKey = (key: StorageKey) => key.join(SEPARATOR);

function storageError(error: unknown, what: string): StorageError {
  if (error instanceof StorageError) return error;
  const code = (error as { code?: string } | null)?.code ?? '';
  if (code === 'SQLITE_FULL') return new StorageError('quota', `the disk is full (${what})`, { cause: error });
  return new StorageError('io', `SQLite failed to ${what}: ${code || String(error)}`, { cause: error });
}

export class SqliteStorage implements Storage {
  readonly #db: Database.Database;
  readonly #get: Database.Statement<[string], { data: Buffer }>;
  readonly #put: Database.Statement<[string, Buffer]>;
  readonly #delete: Database.Statement<[string]>;
  readonly #all: Database.Statement<[], { key: string; data: Buffer }>;
  readonly #range: Database.Statement<[string, string, string], { key: string; data: Buffer }>;
  readonly #deleteAll: Database.Statement<[]>;
  readonly #deleteRange: Database.Statement<[string, string, string]>;
  readonly #writeAll: (writes: readonly StorageWrite[]) => void;

  private constructor(db: Database.Database) {
    this.#db = db;
    db.exec('CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID');
    this.#get = db.prepare('SELECT data FROM records WHERE key = ?');
    this.#put = db.prepare('INSERT INTO records (key, data) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET data = excluded.data');
    this.#delete = db.prepare('DELETE FROM records WHERE key = ?');
    this.#all = db.prepare('SELECT key, data FROM records ORDER BY key');
    // The prefix itself, or anything after "prefix " and before "prefix!" ('!' follows ' ').
    const inRange = 'key = ? OR (key >= ? AND key < ?)';
    this.#range = db.prepare(`SELECT key, data FROM records WHERE ${inRange} ORDER BY key`);
    this.#deleteAll = db.prepare('DELETE FROM records');
    this.#deleteRange = db.prepare(`DELETE FROM records WHERE ${inRange}`);
    this.#writeAll = db.transaction((writes: readonly StorageWrite[]) => {
      for (const w of writes) {
        if (w.op === 'save') this.#put.run(joinKey(w.key), Buffer.from(w.data));
        else this.#delete.run(joinKey(w.key));
      }
    });
  }

  /** Opens (creating if needed) the database file at `path`. */
  static open(path: string, options: SqliteStorageOptions = {}): SqliteStorage {
    let db: Database.Database | undefined;
    try {
      db = new (loadSqlite())(path);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
      return new SqliteStorage(db);
    } catch (error) {
      db?.close();
      throw storageError(error, `open ${path}`);
    }
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    checkStorageKey(key);
    const row = this.#do('load', () => this.#get.get(joinKey(key)));
    return row ? new Uint8Array(row.data) : undefined;
  }

  save(key: StorageKey, data: Uint8Array): Promise<void> {
    return this.write([{ op: 'save', key, data }]);
  }

  remove(key: StorageKey): Promise<void> {
    return this.write([{ op: 'remove', key }]);
  }

  async loadRange(prefix: StorageKey): Promise<StorageChunk[]> {
    checkStorageKey(prefix, true);
    const rows = this.#do('load a range', () => (prefix.length === 0 ? this.#all.all() : this.#range.all(...bounds(prefix))));
    return rows.map(({ key, data }) => ({ key: key.split(SEPARATOR), data: new Uint8Array(data) }));
  }

  async removeRange(prefix: StorageKey): Promise<void> {
    checkStorageKey(prefix, true);
    this.#do('remove a range', () => (prefix.length === 0 ? this.#deleteAll.run() : this.#deleteRange.run(...bounds(prefix))));
  }

  async write(writes: readonly StorageWrite[]): Promise<void> {
    for (const w of writes) {
      checkStorageKey(w.key);
      if (w.op === 'save') checkStorageValue(w.data);
    }
    this.#do('write', () => this.#writeAll(writes));
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  #do<T>(what: string, body: () => T): T {
    if (!this.#db.open) throw new StorageError('closed', 'this store was closed');
    try {
      return body();
    } catch (error) {
      throw storageError(error, what);
    }
  }
}

function bounds(prefix: StorageKey): [string, string, string] {
  const p = joinKey(prefix);
  return [p, p + SEPARATOR, p + '!'];
}
