/**
 * @sealdoc/core: the sealed Yjs engine. Built so far: the Storage interface and its memory
 * store (with one conformance suite every store must pass). The sealed document, the offline
 * queue, snapshots, sealed awareness and transports are still to come.
 * @packageDocumentation
 */
export {
  StorageError,
  checkStorageKey,
  checkStorageValue,
  compareStorageKeys,
  hasPrefix,
  MAX_KEY_PARTS,
  MAX_KEY_PART_LENGTH,
  type Storage,
  type StorageKey,
  type StorageChunk,
  type StorageWrite,
  type StorageErrorCode,
} from './storage.js';
export { MemoryStorage } from './memory-storage.js';
