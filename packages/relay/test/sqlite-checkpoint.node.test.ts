// The SQLite store checkpoints its WAL on a thread of its own (sqlite-checkpoint.ts): commits
// never run SQLite's automatic checkpoint, and what they wrote still reaches the database file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteRelayStore } from '@sealdoc/relay';

test('SQLite store: what commits write reaches the database file (its thread checkpoints the WAL), and survives a reopen', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealdoc-checkpoint-'));
  const path = join(dir, 'relay.sqlite');
  try {
    const store = SqliteRelayStore.open(path);
    const groupId = new Uint8Array(16).fill(1);
    const docId = new Uint8Array(16).fill(2);
    const author = new Uint8Array(32).fill(3);
    const sizeBefore = statSync(path).size;
    // Well past SQLite's automatic checkpoint (1,000 pages of WAL).
    for (let seq = 0; seq < 3000; seq++) await store.putEnvelopes([{ groupId, docId, author, seq, bytes: new Uint8Array(2000).fill(seq % 256) }]);
    // Within a few of the thread's half-second rounds, the pages are in the database file.
    const until = Date.now() + 10_000;
    while (statSync(path).size < sizeBefore + 3000 * 2000 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    assert.ok(statSync(path).size >= sizeBefore + 3000 * 2000, 'the database file holds the envelopes');
    await store.close();
    const db = new Database(path, { readonly: true });
    assert.equal((db.prepare('SELECT count(*) AS n FROM envelopes').get() as { n: number }).n, 3000);
    db.close();
    const again = SqliteRelayStore.open(path);
    assert.equal((await again.envelopesAfter(groupId, docId, 0, 10_000)).length, 3000);
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SQLite store: under steady writes (a commit every few milliseconds, never a pause for the checkpoint to catch up) the WAL stays bounded, and nothing is lost', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealdoc-checkpoint-'));
  const path = join(dir, 'relay.sqlite');
  const walSize = () => {
    try {
      return statSync(`${path}-wal`).size;
    } catch {
      return 0;
    }
  };
  try {
    const store = SqliteRelayStore.open(path);
    const groupId = new Uint8Array(16).fill(1);
    const docId = new Uint8Array(16).fill(2);
    const author = new Uint8Array(32).fill(3);
    let seq = 0;
    let largest = 0;
    // About 15 MB of WAL a second here: before the fix, 70 MB and more after these 5 s.
    const until = Date.now() + 5000;
    while (Date.now() < until) {
      await store.putEnvelopes([0, 1].map(() => ({ groupId, docId, author, seq: seq++, bytes: new Uint8Array(300).fill(seq % 256) })));
      largest = Math.max(largest, walSize());
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.ok(seq > 1000, `${seq} envelopes written`);
    assert.ok(largest < 40e6, `the WAL reached ${(largest / 1e6).toFixed(1)} MB`);
    assert.equal((await store.envelopesAfter(groupId, docId, 0, 100_000)).length, seq);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
