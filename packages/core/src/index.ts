/**
 * @sealdoc/core: the sealed Yjs engine. {@link SealdocProvider} (a sealed document through a
 * relay, shaped like y-websocket's provider), {@link SealdocPersistence} (shaped like
 * y-indexeddb's), {@link LocalDevice} (this device's store, key and identity); {@link SealedDoc} (batching, sealing, verified and
 * decrypted apply, parking until the log catches up, peer-to-peer resync, re-sealing of
 * unsent edits under a newer epoch, access-removed, snapshots, sealed awareness, a local
 * state under the device key), {@link Group}; the Storage interface with the memory and
 * IndexedDB stores (SQLite in `@sealdoc/core/node`), {@link DeviceKey}; the Transport
 * interface with the relay and BroadcastChannel transports (the fault-injecting in-memory hub
 * for tests is in `@sealdoc/core/testing`).
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
export { IndexedDBStorage, type IndexedDBStorageOptions } from './indexeddb-storage.js';
export { BroadcastTransport, type BroadcastTransportOptions } from './broadcast-transport.js';
export { reconnectDelay, reconnectCap, BACKOFF_DEFAULTS, type BackoffOptions } from './reconnect.js';
export { WebSocketTransport, RelayError, RELAY_PEER, QUIET_MS, type WebSocketTransportOptions, type WebSocketTransportEvents, type WebSocketLike, type RelayAnswer } from './websocket-transport.js';
export { DeviceKey, AtRestError, type AtRestErrorCode, type DeviceKeyOptions } from './device-key.js';
export { saveIdentity, loadIdentity, forgetIdentity } from './identity-store.js';
export { Group, type GroupEvents, type GroupRelay } from './group.js';
export { RekeyError, REKEY_RETRIES, type RekeyErrorCode } from './leave-rotation.js';
export { MemberNames, MemberNameError, MEMBER_NAMES_FIELD, type MemberNameErrorCode, MAX_NAME_LENGTH, type MemberName, type MemberNamesEvents } from './member-names.js';
export { SealedDoc, type SealedDocOptions, type SealedDocEvents, type BatchOptions } from './sealed-doc.js';
export { SealdocProvider, type SealdocProviderOptions, type SealdocProviderEvents, type ProviderStatus } from './provider.js';
export { SealdocPersistence, type SealdocPersistenceEvents } from './persistence.js';
export { LocalDevice, type LocalDeviceOptions } from './local-device.js';
export { DeviceLinkOffer, linkDevice, type LinkRequest, type LinkDeviceOptions, type DeviceLinkOfferEvents } from './device-linking.js';
export { fetchRelayGroup, listRelayGroups } from './relay-groups.js';
export { SyncError, type SyncErrorCode, type SyncErrorDetails } from './sync-error.js';
export { type BeaconOptions } from './head-watch.js';
export { encodeSnapshot, decodeSnapshot, type SnapshotPayload } from './wire.js';
export { type DocVersion } from './versions.js';
export {
  GroupInvitation,
  JoinByInvitation,
  INVITE_FRAGMENT,
  checkInvitation,
  throwawayIdentity,
  type InvitationCheck,
  type GroupInvitationEvents,
  type InvitationRequest,
  type InvitationState,
  type JoinEvents,
  type JoinOptions,
  type JoinState,
} from './invitations.js';
