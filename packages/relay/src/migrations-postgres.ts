/**
 * The PostgreSQL store's schema, one migration per version (migrations.ts says the rule). The
 * version is the highest in `sealdoc_schema` (a release before 3 reads it and refuses a newer
 * one), which from version 3 lists each migration and when this database got it. Relay nodes
 * that start together take one advisory lock (the one releases before 3 took too), so that
 * one migrates and the others then find nothing to do.
 * @module
 */
import type pg from 'pg';
import { MIGRATION_NAMES, pendingMigrations, type Migration } from './migrations.js';

/** The advisory lock every relay node takes to read and migrate the schema (the same number since schema 2). */
export const SCHEMA_LOCK = 7206131;

// Retention drops an envelope's bytes by emptying them: no envelope is empty.
const V1 = `
CREATE TABLE IF NOT EXISTS sealdoc_ops (
  group_id BYTEA NOT NULL,
  idx INTEGER NOT NULL,
  op BYTEA NOT NULL,
  PRIMARY KEY (group_id, idx)
);
CREATE TABLE IF NOT EXISTS sealdoc_envelopes (
  cursor BIGSERIAL PRIMARY KEY,
  group_id BYTEA NOT NULL,
  doc_id BYTEA NOT NULL,
  author BYTEA NOT NULL,
  seq BIGINT NOT NULL,
  bytes BYTEA NOT NULL,
  UNIQUE (group_id, doc_id, author, seq)
);
CREATE INDEX IF NOT EXISTS sealdoc_envelopes_by_doc ON sealdoc_envelopes (group_id, doc_id, cursor);
CREATE INDEX IF NOT EXISTS sealdoc_envelopes_by_author ON sealdoc_envelopes (group_id, author, seq);
CREATE TABLE IF NOT EXISTS sealdoc_covers (
  group_id BYTEA NOT NULL,
  doc_id BYTEA NOT NULL,
  author BYTEA NOT NULL,
  seq BIGINT NOT NULL,
  attestation BYTEA NOT NULL,
  PRIMARY KEY (group_id, doc_id, author, seq)
);
CREATE TABLE IF NOT EXISTS sealdoc_invitations (
  invite_id BYTEA PRIMARY KEY,
  group_id BYTEA NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS sealdoc_invitations_by_group ON sealdoc_invitations (group_id);
CREATE TABLE IF NOT EXISTS sealdoc_join_requests (
  invite_id BYTEA NOT NULL,
  requester BYTEA NOT NULL,
  request BYTEA NOT NULL,
  PRIMARY KEY (invite_id, requester)
);
`;

// Version 2. Usage already stored is counted once, here (an op's author is bytes 54 to 85 of
// the op, docs/membership.md); the membership index is filled by the relay, which replays the logs.
// Covers attestations were kept whole; now only what they say of their author's own envelopes
// is: those kept before are dropped (retention then counts only snapshots attested since).
const V2 = `
DELETE FROM sealdoc_covers;
CREATE TABLE sealdoc_members (
  group_id BYTEA NOT NULL,
  member_id BYTEA NOT NULL,
  PRIMARY KEY (group_id, member_id)
);
CREATE INDEX sealdoc_members_by_member ON sealdoc_members (member_id);
CREATE TABLE sealdoc_usage (
  member_id BYTEA PRIMARY KEY,
  groups BIGINT NOT NULL DEFAULT 0,
  documents BIGINT NOT NULL DEFAULT 0,
  bytes BIGINT NOT NULL DEFAULT 0
);
INSERT INTO sealdoc_usage (member_id, bytes) SELECT author, sum(length(bytes)) FROM sealdoc_envelopes GROUP BY author;
INSERT INTO sealdoc_usage (member_id, documents)
  SELECT e.author, count(*) FROM sealdoc_envelopes e JOIN (SELECT min(cursor) AS c FROM sealdoc_envelopes GROUP BY group_id, doc_id) f ON e.cursor = f.c GROUP BY e.author
  ON CONFLICT (member_id) DO UPDATE SET documents = sealdoc_usage.documents + excluded.documents;
INSERT INTO sealdoc_usage (member_id, groups, bytes)
  SELECT substring(op from 55 for 32), count(*) FILTER (WHERE idx = 0), sum(length(op)) FROM sealdoc_ops GROUP BY 1
  ON CONFLICT (member_id) DO UPDATE SET groups = sealdoc_usage.groups + excluded.groups, bytes = sealdoc_usage.bytes + excluded.bytes;
CREATE TABLE sealdoc_schema (version INTEGER NOT NULL);
INSERT INTO sealdoc_schema (version) VALUES (2);
`;

// Version 3: the history. Versions 1 and 2 were applied before it was kept (applied_at NULL
// unless they were applied together with it); their rows are written again with names.
const V3 = `
DELETE FROM sealdoc_schema;
ALTER TABLE sealdoc_schema ADD COLUMN name TEXT, ADD COLUMN applied_at TIMESTAMPTZ, ADD PRIMARY KEY (version);
`;

// Version 4: the index of revoked devices (a device, and a group whose log revokes it), so
// that a revoked device's hello is refused after one indexed lookup (RelayStore.revokedIn).
// Filled as ops are appended, in the same transaction. Nothing is backfilled: groups stored
// before this version were stored by releases that knew no devices (they came with this
// version), so no log holds a revocation; and a group the relay indexes from its log at start
// (GroupLogs.indexMembership) gets its rows then.
const V4 = `
CREATE TABLE sealdoc_revoked_devices (
  device_id BYTEA NOT NULL,
  group_id BYTEA NOT NULL,
  PRIMARY KEY (device_id, group_id)
);
`;

export const POSTGRES_MIGRATIONS: readonly Migration[] = [V1, V2, V3, V4].map((sql, i) => ({ version: i + 1, name: MIGRATION_NAMES[i + 1]!, sql }));

/**
 * Brings the schema to the newest version inside the caller's transaction (`client` has
 * begun one): takes the advisory lock (held until that transaction ends), reads the version,
 * applies every missing migration and writes their history rows. Returns the migrations
 * applied; throws SchemaVersionError, changing nothing, for a schema a newer relay wrote.
 */
export async function migratePostgres(client: pg.ClientBase, where: string): Promise<Migration[]> {
  await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
  // A schema of the first release has no sealdoc_schema (its tables are created IF NOT EXISTS, as a new one's).
  const { rows } = await client.query<{ exists: boolean }>("SELECT to_regclass('sealdoc_schema') IS NOT NULL AS exists");
  const found = rows[0]!.exists ? ((await client.query<{ version: number | null }>('SELECT max(version) AS version FROM sealdoc_schema')).rows[0]!.version ?? 0) : 0;
  const pending = pendingMigrations(POSTGRES_MIGRATIONS, found, where);
  if (pending.length === 0) return [];
  for (const m of pending) await client.query(m.sql);
  for (const m of POSTGRES_MIGRATIONS) {
    await client.query('INSERT INTO sealdoc_schema (version, name, applied_at) VALUES ($1, $2, CASE WHEN $3 THEN now() END) ON CONFLICT (version) DO NOTHING', [m.version, m.name, pending.includes(m)]);
  }
  return pending;
}
