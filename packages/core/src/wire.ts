/**
 * The plaintexts the engine seals that are not Yjs updates as they stand: a snapshot's (what
 * it covers, and the state) and the local state kept under the device key. Written with the
 * protocol's length-checked codec; a malformed one is a WireError.
 * @module
 */
import { ByteReader, ByteWriter, WireError, type AuthorRanges } from '@sealdoc/protocol';

const VERSION = 1;

/** What a snapshot envelope carries: the document state and the sequence ranges it covers. */
export interface SnapshotPayload {
  covers: AuthorRanges;
  state: Uint8Array;
}

/** Encodes a snapshot's plaintext: u8 version · the covered ranges (as in `have`) · the Yjs state. */
export function encodeSnapshot(payload: SnapshotPayload): Uint8Array {
  return new ByteWriter().u8(VERSION).ranges(payload.covers).bytes(payload.state).finish();
}

/** Decodes a snapshot's plaintext; throws WireError. */
export function decodeSnapshot(bytes: Uint8Array): SnapshotPayload {
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== VERSION) throw new WireError('unsupported-version', `snapshot version ${version} is not supported`);
  return { covers: r.ranges(), state: r.rest() };
}

/**
 * What a device keeps of a document under its device key, never sent: the sequence ranges
 * whose content the state holds, the snapshot to send instead of what it covers, and the
 * state (a Yjs update in the V2 encoding).
 */
export interface LocalState {
  applied: AuthorRanges;
  best?: { author: Uint8Array; seq: number; covers: AuthorRanges };
  state: Uint8Array;
}

/** u8 version · applied ranges · u8 has-best · [author 32 · u64 seq · covers] · state. */
export function encodeLocalState(local: LocalState): Uint8Array {
  const w = new ByteWriter().u8(VERSION).ranges(local.applied).u8(local.best ? 1 : 0);
  if (local.best) w.bytes(local.best.author).u64(local.best.seq).ranges(local.best.covers);
  return w.bytes(local.state).finish();
}

/** Decodes {@link encodeLocalState}; throws WireError. */
export function decodeLocalState(bytes: Uint8Array): LocalState {
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== VERSION) throw new WireError('unsupported-version', `local state version ${version} is not supported`);
  const applied = r.ranges();
  const hasBest = r.u8();
  if (hasBest > 1) throw new WireError('malformed', 'bad flag');
  const best = hasBest ? { author: r.take(32), seq: r.u64(), covers: r.ranges() } : undefined;
  return { applied, ...(best ? { best } : {}), state: r.rest() };
}
