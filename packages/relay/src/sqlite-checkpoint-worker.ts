/**
 * The body of the SQLite store's checkpoint thread (sqlite-checkpoint.ts): its own connection
 * to the relay's database copies what the WAL holds into the database file every
 * `intervalMs`, with a PASSIVE checkpoint (it never waits for, nor blocks, the relay's reads
 * and writes), so that the fsyncs a checkpoint makes happen here and not on the relay's main
 * thread. Posts 'ready' once its connection is open; a failure is posted as 'failed' and ends it.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
try {
  const db = new Database(path, { fileMustExist: true });
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  parentPort?.postMessage('ready');
  setInterval(() => {
    try {
      checkpoint.run();
    } catch {
      // Busy or locked now (a backup, a migration): the next interval tries again.
    }
  }, intervalMs);
} catch {
  parentPort?.postMessage('failed');
  process.exit(1);
}
