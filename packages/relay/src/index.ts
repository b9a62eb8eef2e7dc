/**
 * @sealdoc/relay: the sync server that stores only ciphertext. It verifies every envelope's
 * signature and the group's membership log, never decrypts, stores what it accepts (SQLite by
 * default, PostgreSQL for several nodes, memory for tests) and fans out to subscribers.
 * Start one with {@link startRelay}, or from the command line with `sealdoc-relay`.
 * @packageDocumentation
 */
export { Relay, type RelayConnection, type RelayOptions, type RelayLogEvent, type RelayStats } from './relay.js';
export { DEFAULT_LIMITS, DEFAULT_QUOTAS, type RelayLimits, type RelayQuotas } from './limits.js';
export { startRelay, type RelayServer, type RelayServerOptions } from './server.js';
export {
  RelayStoreError,
  type RelayStore,
  type StoredEnvelope,
  type NewEnvelope,
  type PutResult,
  type IndexEntry,
  type StoredCovers,
  type StoredInvitation,
  type StoredJoinRequest,
  type StoreEvent,
  type OpsEffect,
  type Usage,
  type Standing,
} from './store.js';
export { SchemaVersionError } from './migrations.js';
export { backupSqlite, BackupError, type BackupOptions, type BackupProgress, type BackupResult } from './backup.js';
export { MemoryRelayStore } from './memory-store.js';
export { SqliteRelayStore, type SqliteRelayStoreOptions } from './sqlite-store.js';
export { PostgresRelayStore } from './postgres-store.js';
