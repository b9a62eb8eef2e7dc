/**
 * Schema versions of the relay's stores, and the rule they follow: a store opens a database
 * at its version, or brings an older one to it by applying each missing migration in order, in
 * one transaction (all of them or none); it never opens one that a newer relay wrote (whose
 * tables it may misread, or whose rows it may drop), and never writes a version down.
 *
 * SQLite (migrations-sqlite.ts) keeps the version in `PRAGMA user_version` and, from version 3,
 * one row per migration in `schema_version`; PostgreSQL (migrations-postgres.ts) in
 * `sealdoc_schema`, under an advisory lock so that relay nodes starting together migrate once.
 * Releases before version 3 read the same places and refuse a newer version too. Versions are
 * numbered alike in both stores, but a version may change one store alone: 5 is SQLite's (a
 * PostgreSQL schema stays at 4).
 * @module
 */

/** One step of the schema: applied once, in order, never edited once released. */
export interface Migration {
  version: number;
  /** What it changes, for the history table and the log. */
  name: string;
  sql: string;
}

/** Why a store would not open its database. */
export class SchemaVersionError extends Error {
  readonly code = 'newer-schema';
  /** The version the database was written at. */
  readonly found: number;
  /** The newest version this relay knows. */
  readonly known: number;
  constructor(found: number, known: number, where: string) {
    super(
      `${where} was written by a newer relay (schema version ${found}; this relay knows ${known} at most): run that relay's release or a newer one, or restore a backup taken before the upgrade; the database was not changed`,
    );
    this.name = 'SchemaVersionError';
    this.found = found;
    this.known = known;
  }
}

/** The migrations a database at `found` needs, in order; throws {@link SchemaVersionError} when it is newer than `migrations` know. */
export function pendingMigrations(migrations: readonly Migration[], found: number, where: string): Migration[] {
  const known = migrations.at(-1)!.version;
  if (found > known) throw new SchemaVersionError(found, known, where);
  return migrations.filter((m) => m.version > found);
}

/**
 * The name of each migration, for the history table (those a release that kept no history
 * applied are written into it when it is created).
 */
export const MIGRATION_NAMES: Readonly<Record<number, string>> = {
  1: 'envelopes, membership logs, covers, invitations, join requests',
  2: 'membership index and per-identity usage (quotas)',
  3: 'schema history',
  4: 'revoked devices (index)',
  5: 'envelope cursors without AUTOINCREMENT; highest sequence number per author and group instead of an index (SQLite)',
};
