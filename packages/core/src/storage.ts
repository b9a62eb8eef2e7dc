/**
 * Storage: where the engine keeps what it must not lose across restarts (envelopes, this
 * member's unsent ones included, the membership log, sequence counters, each document's state
 * sealed under the device key, the identity, relay cursors: the layout is storage-keys.ts).
 * Epoch secrets are not kept: they are unwrapped again from the log. A narrow key-value
 * interface in the manner of automerge-repo's StorageAdapter, so that memory, IndexedDB and
 * SQLite stores are interchangeable and pass one conformance suite (storage-conformance.ts, in `@sealdoc/core/testing/conformance`).
 *
 * Stores keep bytes exactly as given: the engine encrypts before it saves.
 * @module
 */

/**
 * A key is a path: 1 to 16 parts of printable ASCII (no spaces), e.g.
 * ['env', groupHex, docHex, authorHex, '0000000000000042'] (pad numbers so they sort).
 */
export type StorageKey = readonly string[];

/** One stored record. */
export interface StorageChunk {
  key: string[];
  data: Uint8Array;
}

/** One write of an atomic {@link Storage.write}. */
export type StorageWrite = { op: 'save'; key: StorageKey; data: Uint8Array } | { op: 'remove'; key: StorageKey };

/** Why a store refused a call. */
export type StorageErrorCode = 'bad-key' | 'bad-value' | 'closed' | 'quota' | 'io';

/** A typed storage failure; nothing was written when a call throws it. */
export class StorageError extends Error {
  readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'StorageError';
  }
}

/**
 * What every store provides. Keys compare part by part, each part character by character,
 * and a prefix matches whole parts only. Data is copied in and out.
 */
export interface Storage {
  /** The bytes at `key`, or undefined. */
  load(key: StorageKey): Promise<Uint8Array | undefined>;
  /** Stores `data` at `key`, replacing what was there. */
  save(key: StorageKey, data: Uint8Array): Promise<void>;
  /** Removes the record at `key`, if any. */
  remove(key: StorageKey): Promise<void>;
  /** Every record whose key starts with `prefix` (the empty prefix: all), in key order. */
  loadRange(prefix: StorageKey): Promise<StorageChunk[]>;
  /** Removes every record whose key starts with `prefix`. */
  removeRange(prefix: StorageKey): Promise<void>;
  /** Applies all writes or none (one IndexedDB or SQLite transaction). */
  write(writes: readonly StorageWrite[]): Promise<void>;
  /** Releases resources; later calls throw StorageError('closed'). */
  close(): Promise<void>;
}

/** Largest number of parts in a key. */
export const MAX_KEY_PARTS = 16;
/** Largest number of characters in one key part. */
export const MAX_KEY_PART_LENGTH = 256;
// Printable ASCII only: every store then orders keys alike (code units, bytes and collations
// agree on ASCII), and no part can contain a separator a store might use.
const KEY_PART = /^[!-~]+$/;

/** Throws StorageError('bad-key') unless `key` is a valid key (or, with `prefix`, a valid prefix). */
export function checkStorageKey(key: unknown, prefix = false): asserts key is StorageKey {
  if (!Array.isArray(key) || (!prefix && key.length === 0) || key.length > MAX_KEY_PARTS)
    throw new StorageError('bad-key', `a key is an array of 1 to ${MAX_KEY_PARTS} strings`);
  for (const part of key) {
    if (typeof part !== 'string' || part.length > MAX_KEY_PART_LENGTH || !KEY_PART.test(part))
      throw new StorageError('bad-key', `a key part is 1 to ${MAX_KEY_PART_LENGTH} printable ASCII characters, no spaces`);
  }
}

/** Throws StorageError('bad-value') unless `data` is a Uint8Array. */
export function checkStorageValue(data: unknown): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) throw new StorageError('bad-value', 'stored data must be a Uint8Array');
}

/** Orders keys part by part; a key sorts before any longer key it is a prefix of. */
export function compareStorageKeys(a: StorageKey, b: StorageKey): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length - b.length;
}

/** Whether `key` starts with all of `prefix`'s parts. */
export function hasPrefix(key: StorageKey, prefix: StorageKey): boolean {
  return prefix.length <= key.length && prefix.every((part, i) => key[i] === part);
}
