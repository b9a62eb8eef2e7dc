/**
 * Checkpoints of the SQLite store's WAL, off the relay's main thread. SQLite's automatic
 * checkpoint runs inside the commit that crosses 1,000 WAL pages and fsyncs the WAL and the
 * database file there: with better-sqlite3, whose calls block, one commit in a few hundred
 * held the event loop for 5 to 40 ms (every connection's frames waited behind it). Instead the
 * store turns the automatic checkpoint off and a worker thread (sqlite-checkpoint-worker.ts)
 * checkpoints on its own connection every half second (and makes the WAL start over once it
 * holds 16 MB: sqlite-checkpoint-worker.ts). Durability does not change: a commit
 * is in the WAL when it returns, as before. Should the thread not start, or stop, the automatic
 * checkpoint is turned back on.
 * @module
 */
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** How often the thread checkpoints. */
const INTERVAL_MS = 500;
/** SQLite's default automatic checkpoint, in WAL pages: what the store goes back to without the thread. */
const AUTO_PAGES = 1000;
/** WAL pages past which a round ends with a RESTART checkpoint, so that the WAL starts over (16 MB of 4 KB pages). */
const RESTART_PAGES = 4096;
/** How long the thread's RESTART waits for a write under way before it gives up until the next round. */
const BUSY_MS = 1000;

export class SqliteCheckpointer {
  readonly #worker: Worker | undefined;
  #stopped = false;

  /** Starts the thread for the database at `path`, open in `db` (a file, in WAL mode). */
  constructor(
    readonly db: Database.Database,
    path: string,
  ) {
    let worker: Worker;
    try {
      worker = new Worker(new URL('./sqlite-checkpoint-worker.js', import.meta.url), { workerData: { path, intervalMs: INTERVAL_MS, restartPages: RESTART_PAGES, busyMs: BUSY_MS } });
    } catch {
      return; // no worker threads: SQLite's automatic checkpoint stays
    }
    worker.unref();
    this.#worker = worker;
    db.pragma('wal_autocheckpoint = 0');
    const fallBack = () => {
      if (this.#stopped || !db.open) return;
      this.#stopped = true;
      db.pragma(`wal_autocheckpoint = ${AUTO_PAGES}`);
    };
    worker.on('message', (m) => m === 'failed' && fallBack());
    worker.on('error', fallBack);
    worker.on('exit', fallBack);
  }

  /** Stops the thread (before the store closes its connection, which checkpoints what is left). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#worker?.terminate();
  }
}
