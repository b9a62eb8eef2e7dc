/**
 * The body of the SQLite store's checkpoint thread (sqlite-checkpoint.ts): its own connection
 * to the relay's database copies what the WAL holds into the database file every
 * `intervalMs`, with a PASSIVE checkpoint (it never waits for, nor blocks, the relay's reads
 * and writes), so that the fsyncs a checkpoint makes happen here and not on the relay's main
 * thread. Posts 'ready' once its connection is open; a failure is posted as 'failed' and ends it.
 *
 * SQLite starts the WAL over only when a write begins with every frame of it checkpointed.
 * Under steady writes (bench:relay's 1,000 pushes/s: a commit every 2 ms) a passive checkpoint
 * never catches up, and the WAL grew without end (about 15 MB/s). So once it holds
 * `restartPages` after a passive round, a RESTART checkpoint follows: it copies what the passive
 * one left (a round's worth), new writes waiting meanwhile (a few milliseconds), and the next
 * write starts the WAL over. The RESTART waits at most `busyMs` for a write under way; past
 * that it fails here, and the next round tries again.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, intervalMs, restartPages, busyMs } = workerData as { path: string; intervalMs: number; restartPages: number; busyMs: number };
try {
  const db = new Database(path, { fileMustExist: true, timeout: busyMs });
  const passive = db.prepare<[], { busy: number; log: number; checkpointed: number }>('PRAGMA wal_checkpoint(PASSIVE)');
  const restart = db.prepare('PRAGMA wal_checkpoint(RESTART)');
  parentPort?.postMessage('ready');
  setInterval(() => {
    try {
      const { log } = passive.get()!;
      if (log >= restartPages) restart.get();
    } catch {
      // Busy or locked now (a backup, a migration): the next interval tries again.
    }
  }, intervalMs);
} catch {
  parentPort?.postMessage('failed');
  process.exit(1);
}
