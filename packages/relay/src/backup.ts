/**
 * `sealdoc-relay backup`: a consistent copy of the SQLite store, taken while the relay runs
 * and clients write. The copy is SQLite's `VACUUM INTO` (https://sqlite.org/lang_vacuum.html#vacuuminto),
 * one read transaction: in WAL mode it does not hold up the relay's writes, and it holds every
 * transaction committed before it began, so every envelope acknowledged before then (the relay
 * acknowledges after its commit). The online backup API was not chosen: it starts over each
 * time another process writes between its steps, which a busy relay always does.
 *
 * The copy runs in a worker thread, so that the main one can report progress (the size of the
 * file being written against the pages in use); it is written beside the destination under a
 * temporary name, flushed to disk, then linked into place, so that an interrupted backup never
 * leaves a file that looks whole, and an existing file is replaced only when asked (`--force`).
 *
 * Restore: stop the relay, replace its database file with the backup (removing the old file's
 * `-wal` and `-shm`), start the relay.
 * @module
 */
import { closeSync, existsSync, fsyncSync, linkSync, openSync, realpathSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** How far a backup is: bytes of the copy written, of about `totalBytes` (the pages the database uses). */
export interface BackupProgress {
  copiedBytes: number;
  totalBytes: number;
}

/** What a finished backup wrote. */
export interface BackupResult {
  out: string;
  bytes: number;
  /** The schema version of the copy (`PRAGMA user_version`). */
  schemaVersion: number;
  ms: number;
}

/** Options of {@link backupSqlite}. */
export interface BackupOptions {
  /** Replace `out` if it exists (default: refuse). */
  force?: boolean;
  /** Called while the copy is written, every `progressIntervalMs` (default 1000), and once at the end. */
  onProgress?: (progress: BackupProgress) => void;
  progressIntervalMs?: number;
  /** Stops the copy: the temporary file is removed and the call throws a BackupError `interrupted`. */
  signal?: AbortSignal;
}

/** Why a backup was not taken. */
export class BackupError extends Error {
  readonly code: 'exists' | 'no-database' | 'not-a-relay-database' | 'same-file' | 'interrupted' | 'io';
  constructor(code: BackupError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'BackupError';
  }
}

interface Job {
  source: string;
  partial: string;
}
type WorkerMessage = { type: 'started'; totalBytes: number } | { type: 'done'; schemaVersion: number } | { type: 'failed'; code: BackupError['code']; message: string };

/** The worker's side: checks the source is a relay database, then copies it in one read transaction. */
function copy({ source, partial }: Job): WorkerMessage {
  let db: Database.Database | undefined;
  try {
    db = new Database(source, { fileMustExist: true, timeout: 10_000 });
    const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('envelopes', 'ops')").get() as { n: number };
    if (tables.n !== 2) return { type: 'failed', code: 'not-a-relay-database', message: `${source} is not a relay database (it has no envelopes and ops tables)` };
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const pages = (db.pragma('page_count', { simple: true }) as number) - (db.pragma('freelist_count', { simple: true }) as number);
    parentPort!.postMessage({ type: 'started', totalBytes: pages * pageSize } satisfies WorkerMessage);
    db.prepare('VACUUM INTO ?').run(partial);
    const copied = new Database(partial, { readonly: true, fileMustExist: true });
    const schemaVersion = copied.pragma('user_version', { simple: true }) as number;
    copied.close();
    return { type: 'done', schemaVersion };
  } catch (error) {
    const message = (error as Error).message;
    if ((error as { code?: string }).code === 'SQLITE_NOTADB') return { type: 'failed', code: 'not-a-relay-database', message: `${source} is not a SQLite database` };
    return { type: 'failed', code: 'io', message: `cannot copy ${source}: ${message}` };
  } finally {
    db?.close();
  }
}

if (!isMainThread && (workerData as { sealdocBackup?: Job } | null)?.sealdocBackup) {
  parentPort!.postMessage(copy((workerData as { sealdocBackup: Job }).sealdocBackup));
}

const fsyncPath = (path: string) => {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
};

// The files SQLite keeps beside a database.
const SIDE_FILES = ['-wal', '-shm', '-journal'];

/**
 * Copies the relay's SQLite database at `source` to `out`, consistently, while the relay may be
 * writing to it. Throws {@link BackupError}; `out` is then as it was.
 */
export async function backupSqlite(source: string, out: string, options: BackupOptions = {}): Promise<BackupResult> {
  const started = Date.now();
  if (!existsSync(source)) throw new BackupError('no-database', `no database at ${source}`);
  if (!existsSync(dirname(resolve(out)))) throw new BackupError('io', `the folder of ${out} does not exist`);
  // Not the database, nor a file SQLite keeps beside it (replacing the live WAL loses what it holds).
  const database = realpathSync(source);
  const target = existsSync(out) ? realpathSync(out) : join(realpathSync(dirname(resolve(out))), basename(out));
  if (target === database) throw new BackupError('same-file', `${out} is the database itself`);
  if (SIDE_FILES.some((suffix) => target === database + suffix)) throw new BackupError('same-file', `${out} is one of the database's own files (its -wal, -shm or -journal)`);
  if (existsSync(out) && !options.force) throw new BackupError('exists', `${out} exists (add --force to replace it)`);
  const partial = join(dirname(resolve(out)), `.${basename(out)}.partial-${process.pid}-${Date.now()}`);
  const worker = new Worker(new URL(import.meta.url), { workerData: { sealdocBackup: { source: resolve(source), partial } satisfies Job } });
  let totalBytes = 0;
  const report = () => {
    if (!options.onProgress || totalBytes === 0) return;
    let copiedBytes = 0;
    try {
      copiedBytes = statSync(partial).size;
    } catch {
      // Not created yet.
    }
    options.onProgress({ copiedBytes: Math.min(copiedBytes, totalBytes), totalBytes });
  };
  const timer = setInterval(report, options.progressIntervalMs ?? 1000);
  try {
    const outcome = await new Promise<WorkerMessage>((resolveOutcome, reject) => {
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'started') totalBytes = message.totalBytes;
        else resolveOutcome(message);
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the backup worker stopped (exit code ${code})`)));
      const abort = () => reject(new BackupError('interrupted', 'interrupted'));
      if (options.signal?.aborted) abort();
      options.signal?.addEventListener('abort', abort, { once: true });
    });
    if (outcome.type === 'failed') throw new BackupError(outcome.code, outcome.message);
    if (outcome.type !== 'done') throw new BackupError('io', 'the backup worker did not finish');
    // VACUUM INTO does not flush its file: it is made durable before it takes the destination's name.
    fsyncPath(partial);
    if (options.force) renameSync(partial, out);
    else {
      try {
        linkSync(partial, out); // fails, rather than replaces, if the file appeared meanwhile
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new BackupError('exists', `${out} exists (add --force to replace it)`);
        throw error;
      }
      unlinkSync(partial);
    }
    fsyncPath(dirname(resolve(out)));
    const bytes = statSync(out).size;
    if (options.onProgress) options.onProgress({ copiedBytes: bytes, totalBytes: Math.max(totalBytes, bytes) });
    return { out, bytes, schemaVersion: outcome.schemaVersion, ms: Date.now() - started };
  } catch (error) {
    if (error instanceof BackupError) throw error;
    throw new BackupError('io', `backup failed: ${(error as Error).message}`, { cause: error });
  } finally {
    clearInterval(timer);
    await worker.terminate();
    for (const leftover of [partial, `${partial}-journal`]) if (existsSync(leftover)) unlinkSync(leftover);
  }
}

export const BACKUP_USAGE = `usage: sealdoc-relay backup --out FILE [--db PATH] [--force]
  Copies the relay's SQLite database to FILE while the relay runs (a consistent snapshot:
  every envelope acknowledged before the backup began is in it).
  --out FILE   where to write the backup (refused if it exists, unless --force)
  --db PATH    the relay's database (default: $SEALDOC_DB, else ./data/relay.sqlite)
  --force      replace FILE if it exists
exit codes: 0 done, 1 the backup failed (nothing written to FILE), 2 usage error
restore: stop the relay, replace its database with FILE (delete the old file's -wal and -shm), start the relay`;

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** `sealdoc-relay backup ARGS`: plain messages (stdout when done, stderr for progress and errors); resolves with the exit code. */
export async function backupCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: [...argv],
      options: { out: { type: 'string' }, db: { type: 'string' }, force: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n${BACKUP_USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(BACKUP_USAGE);
    return 0;
  }
  if (!values.out) {
    console.error(`--out FILE is required\n${BACKUP_USAGE}`);
    return 2;
  }
  if (values.db === undefined && env.SEALDOC_DB === undefined && env.DATABASE_URL) {
    console.error('backup failed: this relay stores in PostgreSQL (DATABASE_URL is set): back it up with pg_dump or continuous archiving (docs/operating.md); --db PATH backs up a SQLite file');
    return 1;
  }
  const db = values.db ?? env.SEALDOC_DB ?? './data/relay.sqlite';
  // Interrupted (Ctrl-C, a service stopped): the partial file is removed before the process ends.
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    const result = await backupSqlite(db, values.out, {
      signal: interrupt.signal,
      force: values.force,
      onProgress: ({ copiedBytes, totalBytes }) => {
        if (copiedBytes < totalBytes) console.error(`backup: ${Math.floor((100 * copiedBytes) / totalBytes)}% (${mib(copiedBytes)} of about ${mib(totalBytes)})`);
      },
    });
    console.log(`backup: wrote ${result.out} (${mib(result.bytes)}, schema version ${result.schemaVersion}) from ${db} in ${(result.ms / 1000).toFixed(1)} s`);
    return 0;
  } catch (error) {
    console.error(`backup failed: ${(error as Error).message}`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}
