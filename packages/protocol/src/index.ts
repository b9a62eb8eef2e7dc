/**
 * @sealdoc/protocol: the messages sealed documents and the relay exchange ({@link encodeWire},
 * {@link decodeWire}), and the length-checked byte codec Sealdoc's formats are written with.
 * Pure: no I/O, no dependencies; imported by the engine (@sealdoc/core) and the relay alike.
 * The bytes are documented in docs/protocol.md.
 * @packageDocumentation
 */
export { ByteReader, ByteWriter, WireError, MAX_ITEMS, type AuthorRanges, type SeqRange, type WireErrorCode } from './codec.js';
export {
  BEACON_CONTEXT,
  beaconSignedBytes,
  COVERS_CONTEXT,
  coversSignedBytes,
  decodeWire,
  encodeBatch,
  encodeWire,
  HELLO_CONTEXT,
  MAX_ECHOES,
  MAX_FRAME_BYTES,
  MESSAGE_TYPES,
  PROTOCOL_VERSION,
  type HeadAt,
  type InviteState,
  type RelayErrorCode,
  type WireMessage,
} from './messages.js';
export { SeqRanges } from './seq-ranges.js';
