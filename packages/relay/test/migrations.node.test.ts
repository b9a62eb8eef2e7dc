// Upgrades: a database written by the release with schema 2 (test/fixtures, made by
// make-store-fixtures.ts with that release's code) opens with this code, is migrated once, and
// every row reads back as that release read it; a relay started on it serves its envelopes.
// A database at schema 3 (the schema-4 fixture below, less what version 4 added) gets versions 4 and 5.
// A database written by the release with schema 4 (relay-schema-4.sqlite, written at 38dc1b3)
// gets version 5: its envelope table rebuilt without AUTOINCREMENT, cursors kept, and the
// highest sequence number per author and group as the index it replaces gave it.
// A database from a newer release is refused with a SchemaVersionError and left unchanged.
// SQLite always; PostgreSQL when it answers (always under CI=true), with relay nodes starting
// together on one schema.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PostgresRelayStore, SchemaVersionError, SqliteRelayStore, startRelay, type RelayStore } from '@sealdoc/relay';
import { identity } from './clients.js';
import { RawClient } from './raw-client.js';
import { freshSchema, postgresAvailable } from './postgres.js';
import { FIXTURE_SCHEMA } from './fixtures/make-store-fixtures.js';
import { readManifest, unhex, type StoreManifest } from './fixtures/store-manifest.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const manifest = (name: string) => JSON.parse(readFileSync(join(fixtures, name), 'utf8')) as StoreManifest;
/** The newest SQLite schema (5 changed SQLite alone) and the newest PostgreSQL one. */
const NEWEST = 5;
const POSTGRES_NEWEST = 4;

/** Stores what a fourth envelope of alice's would be, at the next cursor; then a relay on the store hands alice's document to her. */
async function stillWorks(store: RelayStore, expected: StoreManifest): Promise<void> {
  const last = Math.max(...expected.documents.flatMap((d) => d.envelopes.map((e) => e.cursor)));
  const doc = expected.documents[0]!;
  const [result] = await store.putEnvelopes([{ groupId: unhex(doc.groupId), docId: unhex(doc.docId), author: identity('erin').memberId, seq: 0, bytes: Uint8Array.of(1, 2, 3) }]);
  assert.equal(result!.outcome, 'stored');
  assert.ok(result!.cursor > last, `new cursors continue past the fixture's (${result!.cursor} > ${last})`);
  await store.dropEnvelopes([result!.cursor]);

  const server = await startRelay({ store, port: 0 });
  try {
    const alice = await RawClient.connect(server.url, identity('alice'));
    const hers = expected.documents.find((d) => d.envelopes.some((e) => e.author === Buffer.from(identity('alice').memberId).toString('hex')))!;
    alice.send({ type: 'subscribe', groupId: unhex(hers.groupId), docId: unhex(hers.docId), cursor: 0 });
    await alice.next('caught-up', 10_000);
    const delivered = alice.received.flatMap((m) => (m.type === 'deliver' ? [{ cursor: m.cursor, bytes: Buffer.from(m.envelope).toString('hex') }] : []));
    assert.deepEqual(
      delivered,
      hers.envelopes.map((e) => ({ cursor: e.cursor, bytes: e.bytes })),
      'the relay serves the migrated envelopes',
    );
    alice.close();
  } finally {
    await server.close();
  }
}

describe('SQLite schema migrations', () => {
  const withDir = async (body: (dir: string) => Promise<void>) => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdoc-migrate-'));
    try {
      await body(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('upgrades a database written by the release with schema 2: every row is read back, once', () =>
    withDir(async (dir) => {
      const path = join(dir, 'relay.sqlite');
      copyFileSync(join(fixtures, 'relay-schema-2.sqlite'), path);
      const expected = manifest('relay-schema-2.sqlite.json');
      assert.equal(expected.documents.reduce((n, d) => n + d.envelopes.length, 0), 24, 'the fixture holds what its manifest says');

      let store = SqliteRelayStore.open(path);
      assert.deepEqual(await readManifest(store), expected);
      await store.close();

      const db = new Database(path, { readonly: true });
      assert.equal(db.pragma('user_version', { simple: true }), NEWEST);
      const history = db.prepare('SELECT version, name, applied_at FROM schema_version ORDER BY version').all() as { version: number; name: string; applied_at: string | null }[];
      db.close();
      assert.deepEqual(
        history.map((h) => [h.version, h.applied_at === null]),
        [
          [1, true],
          [2, true],
          [3, false],
          [4, false],
          [5, false],
        ],
        'versions 1 and 2 came before the history; 3 to 5 were applied now',
      );
      assert.ok(history.every((h) => h.name.length > 0));

      // Opening again changes nothing; the store writes and a relay serves as before.
      store = SqliteRelayStore.open(path);
      const again = new Database(path, { readonly: true });
      assert.deepEqual(again.prepare('SELECT version, name, applied_at FROM schema_version ORDER BY version').all(), history);
      again.close();
      await stillWorks(store, expected);
      await store.close();
    }));

  it('migrates once when relay processes open the file together', () =>
    withDir(async (dir) => {
      const path = join(dir, 'relay.sqlite');
      copyFileSync(join(fixtures, 'relay-schema-2.sqlite'), path);
      // Held at the write lock until all have read the old version, they would each migrate without a second look inside the transaction.
      const holder = new Database(path);
      holder.pragma('journal_mode = WAL'); // as a relay leaves its file (the fixture was compacted out of WAL)
      holder.prepare('BEGIN IMMEDIATE').run();
      const opener = `import { SqliteRelayStore } from '@sealdoc/relay'; const s = SqliteRelayStore.open(${JSON.stringify(path)}); await s.close(); console.log('opened');`;
      const opening = Array.from({ length: 3 }, () => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', opener], { cwd: dirname(fileURLToPath(import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (d: Buffer) => (output += d));
        child.stderr.on('data', (d: Buffer) => (output += d));
        return new Promise<string>((resolve) => child.once('close', (code) => resolve(`${code} ${output.trim()}`)));
      });
      await new Promise((r) => setTimeout(r, 1500));
      holder.prepare('COMMIT').run();
      holder.close();
      assert.deepEqual(await Promise.all(opening), ['0 opened', '0 opened', '0 opened']);
      const db = new Database(path, { readonly: true });
      assert.deepEqual(db.prepare('SELECT version FROM schema_version ORDER BY version').all(), [{ version: 1 }, { version: 2 }, { version: 3 }, { version: 4 }, { version: 5 }]);
      db.close();
      const store = SqliteRelayStore.open(path);
      assert.deepEqual(await readManifest(store), manifest('relay-schema-2.sqlite.json'));
      await store.close();
    }));

  it('brings a database at schema 3 up: version 4 adds only the table of revoked devices, the rest untouched', () =>
    withDir(async (dir) => {
      const path = join(dir, 'relay.sqlite');
      copyFileSync(join(fixtures, 'relay-schema-4.sqlite'), path);
      // What the release with schema 3 leaves: the release with schema 4's file less this table and its history row.
      let db = new Database(path);
      db.exec('DROP TABLE revoked_devices; DELETE FROM schema_version WHERE version >= 4');
      db.pragma('user_version = 3');
      const before = db.prepare('SELECT version, name, applied_at FROM schema_version ORDER BY version').all();
      db.close();

      const store = SqliteRelayStore.open(path);
      assert.deepEqual(await readManifest(store), manifest('relay-schema-4.sqlite.json'), 'every row as it was');
      assert.deepEqual(await store.revokedIn(identity('alice').memberId, 16), [], 'nothing backfilled: no log of then revokes a device');
      await store.close();
      db = new Database(path, { readonly: true });
      assert.equal(db.pragma('user_version', { simple: true }), NEWEST);
      const after = db.prepare('SELECT version, name, applied_at FROM schema_version ORDER BY version').all() as { version: number; name: string; applied_at: string | null }[];
      assert.deepEqual(after.slice(0, 3), before, 'the history of 1 to 3 kept as it was');
      assert.deepEqual([after[3]!.version, after[3]!.name, after[3]!.applied_at !== null], [4, 'revoked devices (index)', true]);
      assert.deepEqual([after[4]!.version, after[4]!.applied_at !== null], [5, true]);
      assert.deepEqual(db.prepare('SELECT count(*) AS n FROM revoked_devices').get(), { n: 0 });
      db.close();
    }));

  it('brings a database written by the release with schema 4 to 5: cursors, rows and highest sequence numbers as they were; no cursor given twice', () =>
    withDir(async (dir) => {
      const path = join(dir, 'relay.sqlite');
      copyFileSync(join(fixtures, 'relay-schema-4.sqlite'), path);
      const expected = manifest('relay-schema-4.sqlite.json');
      // What the release with schema 4 held and answered, read with its own schema and index.
      let db = new Database(path);
      db.pragma('journal_mode = WAL');
      assert.equal(db.pragma('user_version', { simple: true }), 4);
      const rows = () => db.prepare('SELECT cursor, group_id, doc_id, author, seq, bytes FROM envelopes ORDER BY cursor').all();
      const before = rows();
      const highest = db.prepare('SELECT group_id, author, max(seq) AS seq FROM envelopes GROUP BY group_id, author ORDER BY group_id, author').all() as { group_id: Buffer; author: Buffer; seq: number }[];
      // Its insert of a duplicate drew a number from AUTOINCREMENT's sequence and handed it to nobody.
      const last = before.at(-1) as { cursor: number; group_id: Buffer; doc_id: Buffer; author: Buffer; seq: number; bytes: Buffer };
      db.prepare('INSERT INTO envelopes (group_id, doc_id, author, seq, bytes) VALUES (?, ?, ?, ?, ?) ON CONFLICT (group_id, doc_id, author, seq) DO NOTHING').run(last.group_id, last.doc_id, last.author, last.seq, last.bytes);
      const sequence = (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'envelopes'").get() as { seq: number }).seq;
      db.close();
      assert.ok(highest.length >= 4 && sequence >= last.cursor);

      const store = SqliteRelayStore.open(path);
      assert.equal(statSync(`${path}-wal`).size, 0, 'the rebuilt table was checkpointed and the WAL cut back');
      assert.deepEqual(await readManifest(store), expected, 'every row reads back as that release read it');
      for (const h of highest) assert.equal(await store.highestSeq(new Uint8Array(h.group_id), new Uint8Array(h.author)), h.seq);
      assert.equal(await store.highestSeq(new Uint8Array(highest[0]!.group_id), identity('erin').memberId), undefined);
      await store.close();

      db = new Database(path, { readonly: true });
      assert.equal(db.pragma('user_version', { simple: true }), NEWEST);
      assert.deepEqual(rows(), before, 'the same rows, at the same cursors');
      const schema = (db.prepare("SELECT sql FROM sqlite_master WHERE name = 'envelopes'").get() as { sql: string }).sql;
      assert.doesNotMatch(schema, /AUTOINCREMENT/i);
      assert.match(schema, /cursor INTEGER PRIMARY KEY,/);
      assert.deepEqual(
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'envelopes' ORDER BY name").all(),
        [{ name: 'envelopes_by_doc' }, { name: 'sqlite_autoindex_envelopes_1' }],
        'the index by author is gone; the one by document and the unique one stay',
      );
      assert.deepEqual(db.prepare("SELECT count(*) AS n FROM sqlite_sequence WHERE name = 'envelopes'").get(), { n: 0 });
      const history = db.prepare('SELECT version, applied_at FROM schema_version ORDER BY version').all() as { version: number; applied_at: string | null }[];
      assert.deepEqual(history.map((h) => h.version), [1, 2, 3, 4, 5]);
      db.close();

      // New cursors continue past every old one; a relay on it serves its envelopes.
      const reopened = SqliteRelayStore.open(path);
      await stillWorks(reopened, expected);
      await reopened.close();
    }));

  it('keeps the history of a new database from its first open', () =>
    withDir(async (dir) => {
      const store = SqliteRelayStore.open(join(dir, 'new.sqlite'));
      await store.close();
      const db = new Database(join(dir, 'new.sqlite'), { readonly: true });
      assert.equal(db.pragma('user_version', { simple: true }), NEWEST);
      const rows = db.prepare('SELECT version, applied_at FROM schema_version ORDER BY version').all() as { version: number; applied_at: string | null }[];
      db.close();
      assert.deepEqual(rows.map((r) => r.version), [1, 2, 3, 4, 5]);
      assert.ok(rows.every((r) => r.applied_at !== null));
    }));

  it('refuses a database a newer release wrote, with a SchemaVersionError, and leaves it unchanged', () =>
    withDir(async (dir) => {
      const path = join(dir, 'future.sqlite');
      await SqliteRelayStore.open(path).close();
      const db = new Database(path);
      db.exec("CREATE TABLE next_release_table (x); INSERT INTO next_release_table VALUES ('kept')");
      db.pragma(`user_version = ${NEWEST + 1}`);
      db.close();
      const before = readFileSync(path);

      assert.throws(
        () => SqliteRelayStore.open(path),
        (error: unknown) => {
          assert.ok(error instanceof SchemaVersionError, String(error));
          assert.equal(error.code, 'newer-schema');
          assert.equal(error.found, NEWEST + 1);
          assert.equal(error.known, NEWEST);
          assert.match(error.message, /newer relay \(schema version 6; this relay knows 5 at most\)/);
          assert.ok(error.message.includes(path), 'the message names the file');
          return true;
        },
      );
      assert.deepEqual(readFileSync(path), before, 'not a byte changed');
      const after = new Database(path, { readonly: true });
      assert.equal(after.pragma('user_version', { simple: true }), NEWEST + 1, 'never written down');
      after.close();
    }));
});

if (await postgresAvailable()) {
  /** A fresh schema holding the release-2 dump. */
  const fixtureSchema = async () => {
    const fresh = await freshSchema();
    const schema = new URL(fresh.url).searchParams.get('options')!.replace('-c search_path=', '');
    const client = new pg.Client({ connectionString: fresh.url });
    await client.connect();
    await client.query(readFileSync(join(fixtures, 'relay-schema-2.postgres.sql'), 'utf8').replaceAll(FIXTURE_SCHEMA, schema));
    await client.end();
    return fresh;
  };
  const history = async (url: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<{ version: number; name: string; applied: boolean }>('SELECT version, name, applied_at IS NOT NULL AS applied FROM sealdoc_schema ORDER BY version')).rows;
    } finally {
      await client.end();
    }
  };

  describe('PostgreSQL schema migrations', () => {
    it('upgrades a schema written by the release with schema 2: every row is read back, once', async () => {
      const { url, drop } = await fixtureSchema();
      try {
        const expected = manifest('relay-schema-2.postgres.json');
        let store = await PostgresRelayStore.connect(url);
        assert.deepEqual(await readManifest(store), expected);
        await store.close();
        const rows = await history(url);
        assert.deepEqual(
          rows.map((r) => [r.version, r.applied]),
          [
            [1, false],
            [2, false],
            [3, true],
            [4, true],
          ],
        );
        store = await PostgresRelayStore.connect(url);
        assert.deepEqual(await history(url), rows, 'a second start applies nothing');
        await stillWorks(store, expected);
        await store.close();
      } finally {
        await drop();
      }
    });

    it('migrates once when relay nodes start together (advisory lock), on an old schema and on an empty one', async () => {
      for (const make of [fixtureSchema, freshSchema]) {
        const { url, drop } = await make();
        try {
          // On the old schema, the nodes are held at its version table until all have started, so they would race without the lock.
          const holder = new pg.Client({ connectionString: url });
          await holder.connect();
          if (make === fixtureSchema) await holder.query('BEGIN; LOCK TABLE sealdoc_schema IN ACCESS EXCLUSIVE MODE');
          const starting = Promise.allSettled(Array.from({ length: 4 }, () => PostgresRelayStore.connect(url, { max: 2 })));
          await new Promise((r) => setTimeout(r, 300));
          await holder.query('COMMIT');
          await holder.end();
          const started = await starting;
          const stores = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
          try {
            assert.deepEqual(
              started.map((s) => (s.status === 'fulfilled' ? 'started' : String(s.reason))),
              ['started', 'started', 'started', 'started'],
            );
            const rows = await history(url);
            assert.deepEqual(rows.map((r) => r.version), [1, 2, 3, 4]);
            if (make === fixtureSchema) assert.deepEqual(await readManifest(stores[3]!), manifest('relay-schema-2.postgres.json'));
          } finally {
            await Promise.all(stores.map((s) => s.close()));
          }
        } finally {
          await drop();
        }
      }
    });

    it('brings a schema at version 3 to 4: only the table of revoked devices is added, the rest untouched', async () => {
      const { url, drop } = await fixtureSchema();
      try {
        await (await PostgresRelayStore.connect(url)).close();
        // What the release with schema 3 leaves: version 4 is this table and its history row.
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        await client.query('DROP TABLE sealdoc_revoked_devices; DELETE FROM sealdoc_schema WHERE version = 4');
        await client.end();
        const before = await history(url);
        assert.deepEqual(before.map((r) => r.version), [1, 2, 3]);

        const store = await PostgresRelayStore.connect(url);
        try {
          assert.deepEqual(await readManifest(store), manifest('relay-schema-2.postgres.json'), 'every row as it was');
          assert.deepEqual(await store.revokedIn(identity('alice').memberId, 16), [], 'nothing backfilled: no log of then revokes a device');
        } finally {
          await store.close();
        }
        const after = await history(url);
        assert.deepEqual(after.slice(0, 3), before, 'the history of 1 to 3 kept as it was');
        assert.deepEqual(after[3], { version: 4, name: 'revoked devices (index)', applied: true });
      } finally {
        await drop();
      }
    });

    it('refuses a schema a newer release wrote, with a SchemaVersionError, and leaves it unchanged', async () => {
      const { url, drop } = await freshSchema();
      try {
        await (await PostgresRelayStore.connect(url)).close();
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        await client.query("INSERT INTO sealdoc_schema (version, name, applied_at) VALUES (5, 'from the future', now())");
        await client.end();
        const before = await history(url);
        await assert.rejects(PostgresRelayStore.connect(url), (error: unknown) => {
          assert.ok(error instanceof SchemaVersionError, String(error));
          assert.equal(error.found, POSTGRES_NEWEST + 1);
          assert.equal(error.known, POSTGRES_NEWEST);
          assert.doesNotMatch(error.message, /postgres:\/\//, 'no URL (it may hold a password)');
          return true;
        });
        assert.deepEqual(await history(url), before);
      } finally {
        await drop();
      }
    });
  });
}
