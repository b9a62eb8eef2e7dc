/**
 * The plaintexts the engine seals that are not Yjs updates as they stand: a snapshot's (what
 * it covers, and the state) and the local state kept under the device key. Written with the
 * protocol's length-checked codec; a malformed one is a WireError.
 * @module
 */
import { ByteReader, ByteWriter, WireError, type AuthorRanges } from '@sealdoc/protocol';

// Version 2 adds the time the author sealed it; version 1 is still read.
const SNAPSHOT_VERSION = 2;

/** What a snapshot envelope carries: the document state and the sequence ranges it covers. */
export interface SnapshotPayload {
  covers: AuthorRanges;
  /**
   * When its author sealed it (ms since 1970, the author's clock: signed with the rest, so
   * only the author can claim it); undefined for a snapshot of version 1.
   */
  time?: number;
  state: Uint8Array;
}

/** Encodes a snapshot's plaintext: u8 version (2) · the covered ranges (as in `have`) · u64 time (0: none) · the Yjs state. */
export function encodeSnapshot(payload: SnapshotPayload): Uint8Array {
  return new ByteWriter().u8(SNAPSHOT_VERSION).ranges(payload.covers).u64(payload.time ?? 0).bytes(payload.state).finish();
}

/** Decodes a snapshot's plaintext (versions 1 and 2); throws WireError. */
export function decodeSnapshot(bytes: Uint8Array): SnapshotPayload {
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== 1 && version !== SNAPSHOT_VERSION) throw new WireError('unsupported-version', `snapshot version ${version} is not supported`);
  const covers = r.ranges();
  const time = version === SNAPSHOT_VERSION ? r.u64() : 0;
  return { covers, ...(time > 0 ? { time } : {}), state: r.rest() };
}

/**
 * What a device keeps of a document under its device key, never sent: the sequence ranges
 * whose content the state holds, the snapshot to send instead of what it covers, and the
 * state (a Yjs update in the V2 encoding).
 */
export interface LocalState {
  applied: AuthorRanges;
  best?: { author: Uint8Array; seq: number; covers: AuthorRanges };
  /** Which member's envelopes carry each Yjs client's edits (who may speak for it in presence). */
  owners?: [client: number, author: Uint8Array][];
  state: Uint8Array;
}

// Version 2 adds the owners of the document's Yjs clients; version 1 is still read.
const LOCAL_VERSION = 2;

/** u8 version (2) · applied ranges · u8 has-best · [author 32 · u64 seq · covers] · u32 owners · per owner: u32 client · author 32 · state. */
export function encodeLocalState(local: LocalState): Uint8Array {
  const w = new ByteWriter().u8(LOCAL_VERSION).ranges(local.applied).u8(local.best ? 1 : 0);
  if (local.best) w.bytes(local.best.author).u64(local.best.seq).ranges(local.best.covers);
  const owners = local.owners ?? [];
  w.u32(owners.length);
  for (const [client, author] of owners) w.u32(client).bytes(author);
  return w.bytes(local.state).finish();
}

/** Decodes {@link encodeLocalState} (versions 1 and 2); throws WireError. */
export function decodeLocalState(bytes: Uint8Array): LocalState {
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== 1 && version !== LOCAL_VERSION) throw new WireError('unsupported-version', `local state version ${version} is not supported`);
  const applied = r.ranges();
  const hasBest = r.u8();
  if (hasBest > 1) throw new WireError('malformed', 'bad flag');
  const best = hasBest ? { author: r.take(32), seq: r.u64(), covers: r.ranges() } : undefined;
  const owners: [number, Uint8Array][] = [];
  if (version === 2) for (let i = r.count(); i > 0; i--) owners.push([r.u32(), r.take(32)]);
  return { applied, ...(best ? { best } : {}), ...(owners.length ? { owners } : {}), state: r.rest() };
}
