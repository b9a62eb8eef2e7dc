// `sealdoc-relay backup`: a backup taken by the command while a client pushes holds every
// envelope the relay acknowledged before the backup began, passes SQLite's integrity check, and
// a relay started on it (the restore: replace the file, start) serves them; progress for a
// large database; an existing file is kept unless --force; exit codes 0, 1, 2.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { BackupError, backupSqlite, SqliteRelayStore, startRelay, type BackupProgress } from '@sealdoc/relay';
import { DOC_ID, eventually, identity, Team } from './clients.js';
import { envelopeMaker, RawClient } from './raw-client.js';

const BIN = fileURLToPath(new URL('../bin/sealdoc-relay.js', import.meta.url));

/** Runs `sealdoc-relay backup ARGS`; resolves with its exit code and output. */
function backupCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { DATABASE_URL: _url, SEALDOC_DB: _db, ...inherited } = process.env;
  const child = spawn(process.execPath, [BIN, 'backup', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...inherited, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sealdoc-backup-'));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('sealdoc-relay backup', () => {
  it('taken while a client pushes, holds every envelope acknowledged before it began; a relay restored from it serves them', () =>
    withDir(async (dir) => {
      const live = join(dir, 'relay.sqlite');
      const out = join(dir, 'backup.sqlite');
      const store = SqliteRelayStore.open(live);
      const server = await startRelay({ store, port: 0 });
      const team = await Team.create(['alice', 'bob']);
      const alice = await RawClient.connect(server.url, identity('alice'));
      alice.send({ type: 'ops', groupId: team.groupId, fromIndex: 0, ops: team.ops });
      const seal = await envelopeMaker(identity('alice'), team.ops, DOC_ID);
      const envelopes = await Promise.all(Array.from({ length: 1500 }, (_, seq) => seal(seq)));
      const acked = () => {
        const byRef = new Map<number, number>();
        for (const m of alice.received) if (m.type === 'ack') byRef.set(m.ref - 1, m.cursor);
        return byRef;
      };
      // The client pushes about 500 envelopes a second, before, during and after the backup.
      let sent = 0;
      const pump = setInterval(() => {
        for (let i = 0; i < 5 && sent < envelopes.length; i++, sent++) alice.send({ type: 'push', ref: sent + 1, envelope: envelopes[sent]! });
      }, 10);
      let before: Map<number, number>;
      let during: number;
      let result: Awaited<ReturnType<typeof backupCli>>;
      try {
        await eventually(() => acked().size >= 200, 10_000, '200 acks');
        before = acked();
        result = await backupCli(['--db', live, '--out', out]);
        during = acked().size - before.size;
        await eventually(() => acked().size === envelopes.length, 20_000, 'every push acknowledged');
      } finally {
        clearInterval(pump);
        alice.close();
        await server.close();
        await store.close();
      }
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^backup: wrote .*backup\.sqlite \([\d.]+ MiB, schema version 5\) from .* in [\d.]+ s\n$/);
      assert.ok(during > 0, `the client kept writing while the backup ran (${during} acks)`);
      assert.ok(before.size + during < envelopes.length, 'and after it');
      assert.deepEqual(readdirSync(dir).filter((f) => f.includes('partial')), [], 'no temporary file left');

      const check = new Database(out, { readonly: true });
      assert.deepEqual(check.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
      check.close();

      // Restore as documented: the relay stopped, its file replaced (no -wal, no -shm), started.
      const restoredPath = join(dir, 'restored', 'relay.sqlite');
      const restoredStore = SqliteRelayStore.open(restoredPath);
      await restoredStore.close();
      for (const suffix of ['-wal', '-shm']) rmSync(restoredPath + suffix, { force: true });
      copyFileSync(out, restoredPath);
      const restored = SqliteRelayStore.open(restoredPath);
      const relay = await startRelay({ store: restored, port: 0 });
      try {
        const reader = await RawClient.connect(relay.url, identity('bob'));
        reader.send({ type: 'subscribe', groupId: team.groupId, docId: DOC_ID, cursor: 0 });
        await reader.next('caught-up', 10_000);
        const stored = new Map<number, Uint8Array>();
        for (const m of reader.received) if (m.type === 'deliver') stored.set(m.cursor, m.envelope);
        reader.close();
        const missing = [...before].filter(([seq, cursor]) => !stored.has(cursor) || Buffer.compare(stored.get(cursor)!, envelopes[seq]!) !== 0);
        assert.deepEqual(missing, [], `every envelope acknowledged before the backup began is in it (${before.size}; the backup holds ${stored.size})`);
        assert.ok(stored.size < envelopes.length, 'a snapshot of the middle of the stream');
      } finally {
        await relay.close();
        await restored.close();
      }
    }));

  it('reports progress while it copies a large database', () =>
    withDir(async (dir) => {
      const path = join(dir, 'large.sqlite');
      await SqliteRelayStore.open(path).close();
      const db = new Database(path);
      const insert = db.prepare('INSERT INTO envelopes (group_id, doc_id, author, seq, bytes) VALUES (?, ?, ?, ?, randomblob(4000))');
      db.transaction(() => {
        for (let seq = 0; seq < 12_000; seq++) insert.run(Buffer.alloc(16, 1), Buffer.alloc(16, 2), Buffer.alloc(32, 3), seq);
      })();
      db.close();
      const seen: BackupProgress[] = [];
      const result = await backupSqlite(path, join(dir, 'copy.sqlite'), { onProgress: (p) => seen.push(p), progressIntervalMs: 2 });
      assert.ok(result.bytes > 45 * 2 ** 20, `a large database (${result.bytes} bytes)`);
      assert.ok(
        seen.some((p) => p.copiedBytes > 0 && p.copiedBytes < p.totalBytes),
        `progress on the way: ${JSON.stringify(seen.slice(0, 5))}…`,
      );
      assert.ok(seen.every((p, i) => i === 0 || p.copiedBytes >= seen[i - 1]!.copiedBytes), 'it only grows');
      assert.deepEqual(seen.at(-1), { copiedBytes: result.bytes, totalBytes: seen.at(-1)!.totalBytes });
      assert.ok(seen.at(-1)!.totalBytes >= result.bytes);
    }));

  it('keeps an existing file unless --force, and says why it failed: exit 1, usage errors exit 2', () =>
    withDir(async (dir) => {
      const live = join(dir, 'relay.sqlite');
      await SqliteRelayStore.open(live).close();
      const out = join(dir, 'out.sqlite');
      writeFileSync(out, 'an older backup');

      let r = await backupCli(['--db', live, '--out', out]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `backup failed: ${out} exists (add --force to replace it)\n`);
      assert.equal(readFileSync(out, 'utf8'), 'an older backup', 'left as it was');

      r = await backupCli(['--db', live, '--out', out, '--force']);
      assert.equal(r.code, 0, r.stderr);
      const copy = new Database(out, { readonly: true });
      assert.equal(copy.pragma('user_version', { simple: true }), 5);
      copy.close();

      r = await backupCli(['--db', join(dir, 'nowhere.sqlite'), '--out', join(dir, 'x.sqlite')]);
      assert.deepEqual([r.code, r.stderr], [1, `backup failed: no database at ${join(dir, 'nowhere.sqlite')}\n`]);
      writeFileSync(join(dir, 'notes.txt'), 'not a database at all, but long enough to be read as one'.repeat(20));
      r = await backupCli(['--db', join(dir, 'notes.txt'), '--out', join(dir, 'x.sqlite')]);
      assert.deepEqual([r.code, r.stderr], [1, `backup failed: ${join(dir, 'notes.txt')} is not a SQLite database\n`]);
      const other = new Database(join(dir, 'other.sqlite'));
      other.exec('CREATE TABLE t (x)');
      other.close();
      r = await backupCli(['--db', join(dir, 'other.sqlite'), '--out', join(dir, 'x.sqlite')]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /is not a relay database/);
      r = await backupCli(['--db', live, '--out', live, '--force']);
      assert.deepEqual([r.code, r.stderr], [1, `backup failed: ${live} is the database itself\n`]);
      // Nor the files SQLite keeps beside it: a backup over the live WAL lost the database at the next crash.
      for (const side of ['-wal', '-shm', '-journal']) {
        r = await backupCli(['--db', live, '--out', `${live}${side}`, '--force']);
        assert.equal(r.code, 1, side);
        assert.match(r.stderr, /is one of the database's own files/);
      }
      assert.equal(existsSync(join(dir, 'x.sqlite')), false, 'no file written by a failed backup');

      r = await backupCli(['--db', live]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^--out FILE is required\nusage: sealdoc-relay backup --out FILE/);
      r = await backupCli(['--out', out, '--bogus']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--bogus/);
      r = await backupCli(['--out', join(dir, 'x.sqlite')], { SEALDOC_DB: live });
      assert.equal(r.code, 0, 'SEALDOC_DB names the database, as for the relay');
      r = await backupCli(['--out', join(dir, 'y.sqlite')], { DATABASE_URL: 'postgres://user:secret@127.0.0.1/db' });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /stores in PostgreSQL .*pg_dump/);
      assert.doesNotMatch(r.stderr, /secret/);
      r = await backupCli(['--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /restore: stop the relay, replace its database with FILE/);
    }));

  it('throws a typed BackupError; interrupted, it leaves no file behind', () =>
    withDir(async (dir) => {
      await assert.rejects(backupSqlite(join(dir, 'nothing.sqlite'), join(dir, 'unused.sqlite')), (error: unknown) => error instanceof BackupError && error.code === 'no-database');
      const path = join(dir, 'relay.sqlite');
      await SqliteRelayStore.open(path).close();
      const db = new Database(path);
      db.prepare('INSERT INTO envelopes (group_id, doc_id, author, seq, bytes) WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999) SELECT x\'01\', x\'02\', x\'03\', i, randomblob(4000) FROM n').run();
      db.close();
      const stop = new AbortController();
      const copying = backupSqlite(path, join(dir, 'copy.sqlite'), { signal: stop.signal, onProgress: (p) => p.copiedBytes > 0 && stop.abort(), progressIntervalMs: 1 });
      await assert.rejects(copying, (error: unknown) => error instanceof BackupError && error.code === 'interrupted');
      assert.deepEqual(readdirSync(dir).sort(), ['relay.sqlite'], 'neither the backup nor its temporary file');
    }));
});
