/**
 * @sealdoc/core: the sealed Yjs engine. Built so far: the Storage and Transport interfaces,
 * the memory store and the in-memory hub with fault injection (each interface with one
 * conformance suite every implementation must pass). The sealed document, the offline
 * queue, snapshots and sealed awareness are still to come.
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
export { Emitter } from './events.js';
export {
  TransportError,
  type Transport,
  type TransportEvents,
  type TransportStatus,
  type TransportErrorCode,
  type PeerId,
} from './transport.js';
export { MemoryHub, MemoryTransport, type Faults, type HubStats } from './memory-hub.js';
