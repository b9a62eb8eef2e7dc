/**
 * The SQLite store's schema, one migration per version (migrations.ts says the rule). The
 * version is `PRAGMA user_version` (a release before 3 reads it and refuses a newer one);
 * `schema_version` lists each migration and when this database got it.
 * @module
 */
import type Database from 'better-sqlite3';
import { MIGRATION_NAMES, pendingMigrations, type Migration } from './migrations.js';

// Retention drops an envelope's bytes by emptying them: no envelope is empty.
const V1 = `
CREATE TABLE IF NOT EXISTS ops (
  group_id BLOB NOT NULL,
  idx INTEGER NOT NULL,
  op BLOB NOT NULL,
  PRIMARY KEY (group_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS envelopes (
  cursor INTEGER PRIMARY KEY AUTOINCREMENT,
  group_id BLOB NOT NULL,
  doc_id BLOB NOT NULL,
  author BLOB NOT NULL,
  seq INTEGER NOT NULL,
  bytes BLOB NOT NULL,
  UNIQUE (group_id, doc_id, author, seq)
);
CREATE INDEX IF NOT EXISTS envelopes_by_doc ON envelopes (group_id, doc_id, cursor);
CREATE INDEX IF NOT EXISTS envelopes_by_author ON envelopes (group_id, author, seq);
CREATE TABLE IF NOT EXISTS covers (
  group_id BLOB NOT NULL,
  doc_id BLOB NOT NULL,
  author BLOB NOT NULL,
  seq INTEGER NOT NULL,
  attestation BLOB NOT NULL,
  PRIMARY KEY (group_id, doc_id, author, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS invitations (
  invite_id BLOB PRIMARY KEY,
  group_id BLOB NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS invitations_by_group ON invitations (group_id);
CREATE TABLE IF NOT EXISTS join_requests (
  invite_id BLOB NOT NULL,
  requester BLOB NOT NULL,
  request BLOB NOT NULL,
  PRIMARY KEY (invite_id, requester)
) WITHOUT ROWID;
`;

// Version 2. Usage already stored is counted once, here (an op's author is bytes 54 to 85 of
// the op, docs/membership.md); the membership index is filled by the relay, which replays the logs.
// Covers attestations were kept whole; now only what they say of their author's own envelopes
// is: those kept before are dropped (retention then counts only snapshots attested since).
const V2 = `
DELETE FROM covers;
CREATE TABLE members (
  group_id BLOB NOT NULL,
  member_id BLOB NOT NULL,
  PRIMARY KEY (group_id, member_id)
) WITHOUT ROWID;
CREATE INDEX members_by_member ON members (member_id);
CREATE TABLE usage (
  member_id BLOB PRIMARY KEY,
  groups INTEGER NOT NULL DEFAULT 0,
  documents INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO usage (member_id, bytes) SELECT author, sum(length(bytes)) FROM envelopes GROUP BY author;
INSERT INTO usage (member_id, documents)
  SELECT author, n FROM (SELECT e.author, count(*) AS n FROM envelopes e JOIN (SELECT min(cursor) AS c FROM envelopes GROUP BY group_id, doc_id) f ON e.cursor = f.c GROUP BY e.author)
  WHERE true ON CONFLICT (member_id) DO UPDATE SET documents = documents + excluded.documents;
INSERT INTO usage (member_id, groups, bytes)
  SELECT author, g, n FROM (SELECT substr(op, 55, 32) AS author, sum(idx = 0) AS g, sum(length(op)) AS n FROM ops GROUP BY 1)
  WHERE true ON CONFLICT (member_id) DO UPDATE SET groups = groups + excluded.groups, bytes = bytes + excluded.bytes;
`;

// Version 3: the history. Versions 1 and 2 were applied before it was kept (applied_at NULL
// unless they were applied together with it).
const V3 = `
CREATE TABLE schema_version (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT
);
`;

// Version 4: the index of revoked devices (a device, and a group whose log revokes it), so
// that a revoked device's hello is refused after one indexed lookup (RelayStore.revokedIn).
// Filled as ops are appended, in the same transaction. Nothing is backfilled: groups stored
// before this version were stored by releases that knew no devices (they came with this
// version), so no log holds a revocation; and a group the relay indexes from its log at start
// (GroupLogs.indexMembership) gets its rows then.
const V4 = `
CREATE TABLE revoked_devices (
  device_id BLOB NOT NULL,
  group_id BLOB NOT NULL,
  PRIMARY KEY (device_id, group_id)
) WITHOUT ROWID;
`;

// Version 5: less written per envelope (each commit wrote about 7 pages of WAL; these were 2 of
// them). The cursor becomes a plain rowid alias, without AUTOINCREMENT and its sqlite_sequence
// row rewritten at every commit: SQLite then gives a new row the largest cursor + 1, and since
// an envelope's row is never deleted (retention empties its bytes, keeping its cursor), no
// cursor handed out is ever given again. (A number AUTOINCREMENT drew for an insert that met a
// duplicate was never handed out: it may be drawn now.) And the index by (group, author, seq),
// whose entries sat on a page of their own per author, is replaced by one row per author and
// group holding the highest sequence number stored (RelayStore.highestSeq), written with the
// envelopes. The table is rebuilt (SQLite cannot drop AUTOINCREMENT in place), cursors and
// bytes as they were.
const V5 = `
CREATE TABLE envelopes_v5 (
  cursor INTEGER PRIMARY KEY,
  group_id BLOB NOT NULL,
  doc_id BLOB NOT NULL,
  author BLOB NOT NULL,
  seq INTEGER NOT NULL,
  bytes BLOB NOT NULL,
  UNIQUE (group_id, doc_id, author, seq)
);
INSERT INTO envelopes_v5 (cursor, group_id, doc_id, author, seq, bytes) SELECT cursor, group_id, doc_id, author, seq, bytes FROM envelopes ORDER BY cursor;
CREATE TABLE author_heads (
  group_id BLOB NOT NULL,
  author BLOB NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (group_id, author)
) WITHOUT ROWID;
INSERT INTO author_heads (group_id, author, seq) SELECT group_id, author, max(seq) FROM envelopes GROUP BY group_id, author;
DROP TABLE envelopes;
ALTER TABLE envelopes_v5 RENAME TO envelopes;
CREATE INDEX envelopes_by_doc ON envelopes (group_id, doc_id, cursor);
`;

export const SQLITE_MIGRATIONS: readonly Migration[] = [V1, V2, V3, V4, V5].map((sql, i) => ({ version: i + 1, name: MIGRATION_NAMES[i + 1]!, sql }));

/** The schema version of a SQLite database this relay writes (PostgreSQL's stops at 4: version 5 is SQLite's alone). */
export const SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS.at(-1)!.version;

/**
 * Brings the database to {@link SQLITE_SCHEMA_VERSION}: every missing migration and its history
 * rows in one IMMEDIATE transaction (a second process opening the file waits for it, then finds
 * nothing to do), then a checkpoint that empties the WAL. Returns the migrations applied;
 * throws SchemaVersionError, changing nothing, for a database a newer relay wrote.
 */
export function migrateSqlite(db: Database.Database, where: string): Migration[] {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  if (pendingMigrations(SQLITE_MIGRATIONS, version(), where).length === 0) return [];
  const applied = db
    .transaction(() => {
      const pending = pendingMigrations(SQLITE_MIGRATIONS, version(), where);
      if (pending.length === 0) return [];
      for (const m of pending) db.exec(m.sql);
      const record = db.prepare<[number, string, string | null]>('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?) ON CONFLICT (version) DO NOTHING');
      const now = new Date().toISOString();
      for (const m of SQLITE_MIGRATIONS) record.run(m.version, m.name, pending.includes(m) ? now : null);
      db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
      return pending;
    })
    .immediate();
  // A migration that rebuilt a table wrote all of it to the WAL: copied into the database now,
  // and the WAL file cut back (else it keeps that size on disk). Busy (another process reading),
  // it is left to the store's checkpoints.
  if (applied.length > 0 && db.pragma('journal_mode', { simple: true }) === 'wal') db.pragma('wal_checkpoint(TRUNCATE)');
  return applied;
}
