/**
 * A membership op: the public types that describe one, and its bytes, laid out field by field
 * in docs/membership.md ("Bytes"). The field codes and the decoder live in this one file, to
 * be read against that document; the builders, the verifier and the log share them.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoInputError, MembershipError, type MembershipErrorCode } from './errors.js';
import { _bytes, _concat, _equal, _Reader, _u64, _utf8 } from './bytes.js';
import { _readDeviceCertificate, type DeviceCertificate } from './device.js';
import { _memberIdOfChecked, memberIdOf, type Identity } from './identity.js';
import { ID_LENGTH } from './keyring.js';
import type { MemberRole } from './envelope.js';
import { _assertAgreementPublicKey } from './primitives.js';
import { _LINEAGE_LENGTH, _WRAP_LENGTH } from './epochs.js';
import type { MembershipLog } from './membership-log.js';

/** The op format version this code writes; it reads this one and version 1 (before devices). */
export const MEMBERSHIP_OP_VERSION = 2;
/** Whether members who join later may read what was written before they joined. */
export type HistoryAccess = 'all' | 'since-join';
/** The public keys that make someone addressable as a member (an {@link Identity} has them). */
export interface MemberKeys {
  /** 32-byte Ed25519 public key. */
  signingPublicKey: Uint8Array;
  /** 32-byte X25519 public key that epoch secrets are wrapped to. */
  agreementPublicKey: Uint8Array;
}
/** A current member of a group: a person, with the identity keys of its 24 words. */
export interface Member extends MemberKeys {
  /** 32-byte member id, {@link memberIdOf} the signing key. */
  memberId: Uint8Array;
  role: MemberRole;
}
/** A person as an op introduces it: identity keys, and the devices it brings (certificates). */
export interface PersonKeys extends MemberKeys {
  memberId: Uint8Array;
  devices: readonly DeviceCertificate[];
}
/** The highest accepted sequence number of one device (null when none was). */
export interface DeviceCutoff {
  deviceId: Uint8Array;
  cutoff: number | null;
}
/**
 * What an op changes. Cutoffs, one per device of the person (its identity key included):
 * the highest accepted sequence number, null when none was.
 */
export type MembershipChange =
  | { type: 'create'; history: HistoryAccess; salt: Uint8Array; members: readonly (PersonKeys & { role: MemberRole })[] }
  | { type: 'add'; member: PersonKeys; role: MemberRole }
  | { type: 'remove'; memberId: Uint8Array; cutoffs: readonly DeviceCutoff[] }
  | { type: 'set-role'; memberId: Uint8Array; role: MemberRole; cutoffs?: readonly DeviceCutoff[] }
  | { type: 'rotate' }
  | { type: 'certify-device'; device: DeviceCertificate }
  | { type: 'revoke-device'; deviceId: Uint8Array; cutoff: number | null };
/** A decoded op, as {@link readMembershipOp} and {@link MembershipLog.opAt} show it. */
export interface MembershipOp {
  /** SHA-256 over "sealdoc/v1/op" and the op's bytes: the id later ops name as predecessor. */
  hash: Uint8Array;
  /** Format version: 1 (before devices) or 2. */
  version: number;
  groupId: Uint8Array;
  /** Hash of the predecessor; 32 zero bytes for create. */
  prev: Uint8Array;
  /** The epoch in force after this op. */
  epoch: number;
  /** Device id of the signer (for a person's first device, its identity key, the member id). */
  author: Uint8Array;
  /** The author's clock, ms since 1970; informative (rotation policy), never used to order. */
  time: number;
  change: MembershipChange;
}

interface EpochKeys {
  commitment: Uint8Array;
  lineage: Uint8Array | undefined;
  wraps: Uint8Array;
}
/** An op as decoded: its public view, the keys it carries, and its bytes (what was signed, and the signature). */
export interface _DecodedOp extends MembershipOp {
  /** The new epoch's keys, for an op that starts one. */
  keys: EpochKeys | undefined;
  /**
   * A certify-device op's wraps to the new device: the current epoch's secret, and those of the
   * earlier epochs its person may read that no lineage leads back to (a `since-join` group's adds).
   */
  deviceWraps: { epoch: number; wrap: Uint8Array }[] | undefined;
  bytes: Uint8Array;
  signed: Uint8Array;
  signature: Uint8Array;
}

const TYPES = ['create', 'add', 'remove', 'set-role', 'rotate', 'certify-device', 'revoke-device'] as const;
/** Roles in the order of their codes (1, 2, 3). */
export const _ROLES: readonly MemberRole[] = ['admin', 'writer', 'reader'];
/** History settings in the order of their codes (0, 1). */
export const _HISTORIES: readonly HistoryAccess[] = ['since-join', 'all'];
/** The signature context of an op (signMessage, verifyMessage). */
export const _SIGNATURE_CONTEXT = 'membership-op';
const OP_HASH_LABEL = _utf8('sealdoc/v1/op');
/** The predecessor a create op names. */
export const _ZERO_HASH = new Uint8Array(32);
const MAX_MEMBERS = 100_000;
/** Most devices a person may have certified in a group at once, besides its identity key. */
export const MAX_DEVICES = 16;
const MAX_WRAPS = MAX_MEMBERS * (MAX_DEVICES + 1);
/** Most wraps a certify-device op gives its device (epochs no lineage leads back to, and the current one). */
export const _MAX_DEVICE_WRAPS = 4096;
export const _GROUP_SALT_LENGTH = 16;
const GROUP_ID_LABEL = _utf8('sealdoc/v1/group-id');
export const _TYPE_CODE: Record<MembershipChange['type'], number> = {
  create: 1,
  add: 2,
  remove: 3,
  'set-role': 4,
  rotate: 5,
  'certify-device': 6,
  'revoke-device': 7,
};
export const _ROLE_CODE: Record<MemberRole, number> = { admin: 1, writer: 2, reader: 3 };

/**
 * A group's id commits to its creator: the first 16 bytes of SHA-256("sealdoc/v1/group-id"
 * || creator's Ed25519 key || salt). Only the creator's key can sign a create op for it, so
 * no one (a relay included) can substitute a different genesis under the same id.
 */
export function _groupIdOf(creatorSigningKey: Uint8Array, salt: Uint8Array): Uint8Array {
  return sha256(_concat(GROUP_ID_LABEL, creatorSigningKey, salt)).subarray(0, ID_LENGTH);
}

/** Throws the MembershipError `code`. */
export function _fail(code: MembershipErrorCode, message: string, ops: readonly string[] = []): never {
  throw new MembershipError(code, message, ops);
}

/** The hash of an op: SHA-256("sealdoc/v1/op" || bytes). */
export function _opHash(bytes: Uint8Array): Uint8Array {
  return sha256(_concat(OP_HASH_LABEL, bytes));
}

/** A cutoff as its u64 field. */
export function _cutoffField(cutoff: number | null): Uint8Array {
  return _u64(cutoff === null ? 0 : cutoff + 1);
}

/** A list of device cutoffs as an op carries it: u8 n · n × (device id 32 · u64 cutoff). */
export function _cutoffsField(cutoffs: readonly DeviceCutoff[]): Uint8Array {
  return _concat(Uint8Array.of(cutoffs.length), ...cutoffs.map((c) => _concat(c.deviceId, _cutoffField(c.cutoff))));
}

/** A person's devices as an op carries them: u8 n · n certificates. */
export function _devicesField(devices: readonly DeviceCertificate[]): Uint8Array {
  return _concat(Uint8Array.of(devices.length), ...devices.map((d) => d.bytes));
}

// A cutoff is stored as seq + 1, so that every sequence number an envelope may carry (up to
// 2^53 - 1) can be a cutoff: the field reaches 2^53. A writer cannot outrun its removal.
const MAX_CUTOFF_FIELD = Number.MAX_SAFE_INTEGER + 1;

function readCutoff(r: _Reader): number | null {
  const v = r.u64(MAX_CUTOFF_FIELD);
  return v === 0 ? null : v - 1;
}

function readCutoffs(r: _Reader): DeviceCutoff[] {
  const count = r.u8();
  if (count < 1 || count > MAX_DEVICES + 1) _fail('malformed', 'cutoff count out of range');
  const cutoffs: DeviceCutoff[] = [];
  for (let i = 0; i < count; i++) cutoffs.push({ deviceId: r.take(32).slice(), cutoff: readCutoff(r) });
  return cutoffs;
}

function readRole(r: _Reader): MemberRole {
  const role = _ROLES[r.u8() - 1];
  if (!role) _fail('malformed', 'unknown role');
  return role;
}

/** A member's keys; checked (canonical, not of small order) unless `checked` says they were before. */
function readMemberKeys(r: _Reader, checked = false): MemberKeys & { memberId: Uint8Array } {
  const signingPublicKey = r.take(32).slice();
  const agreementPublicKey = r.take(32).slice();
  if (checked) return { signingPublicKey, agreementPublicKey, memberId: _memberIdOfChecked(signingPublicKey) };
  let memberId: Uint8Array;
  try {
    memberId = memberIdOf(signingPublicKey);
    _assertAgreementPublicKey(agreementPublicKey);
  } catch (error) {
    if (error instanceof CryptoInputError) _fail('bad-key', `a member key is invalid: ${error.message}`);
    throw error;
  }
  return { signingPublicKey, agreementPublicKey, memberId };
}

/** A person as an op carries it: identity keys, then (version 2) its devices' certificates. */
function readPerson(r: _Reader, source: Uint8Array, version: number, checked: boolean): PersonKeys {
  const keys = readMemberKeys(r, checked);
  const devices: DeviceCertificate[] = [];
  if (version >= 2) {
    const count = r.u8();
    if (count > MAX_DEVICES) _fail('too-many-devices', `a person brings at most ${MAX_DEVICES} devices`);
    for (let i = 0; i < count; i++) {
      const { signatures: _, ...device } = _readDeviceCertificate(r, source, checked);
      if (!_equal(device.personId, keys.memberId)) _fail('wrong-person', 'a device certificate names another person');
      devices.push(device);
    }
  }
  return { ...keys, devices };
}

/** A member's two public keys as the op carries them. */
export function _memberKeyBytes(keys: MemberKeys): Uint8Array {
  return _concat(_bytes(keys.signingPublicKey, 'signingPublicKey', 32), _bytes(keys.agreementPublicKey, 'agreementPublicKey', 32));
}

/**
 * Parses an op (the format only: not its signatures nor its place in a log); member and
 * device keys are checked unless `checked` says they were before.
 */
export function _decodeOp(bytes: Uint8Array, checked = false): _DecodedOp {
  if (!(bytes instanceof Uint8Array)) _fail('malformed', 'an op must be a Uint8Array');
  const r = new _Reader(bytes, (why) => _fail('malformed', `op ${why}`));
  const version = r.u8();
  if (version !== 1 && version !== MEMBERSHIP_OP_VERSION) _fail('unsupported-version', `op version ${version} is not supported`);
  const type = TYPES[r.u8() - 1];
  if (!type || (version === 1 && _TYPE_CODE[type] > _TYPE_CODE.rotate)) _fail('malformed', 'unknown op type');
  const groupId = r.take(ID_LENGTH).slice();
  const prev = r.take(32).slice();
  const epoch = r.u32();
  const author = r.take(32).slice();
  const time = r.u64();
  let change: MembershipChange;
  switch (type) {
    case 'create': {
      const history = _HISTORIES[r.u8()];
      if (!history) _fail('malformed', 'unknown history setting');
      const salt = r.take(_GROUP_SALT_LENGTH).slice();
      const count = r.u32();
      if (count < 1 || count > MAX_MEMBERS) _fail('malformed', 'member count out of range');
      const members = [];
      for (let i = 0; i < count; i++) {
        const person = readPerson(r, bytes, version, checked);
        members.push({ ...person, role: readRole(r) });
      }
      change = { type, history, salt, members };
      break;
    }
    case 'add': {
      const member = readPerson(r, bytes, version, checked);
      change = { type, member, role: readRole(r) };
      break;
    }
    case 'remove': {
      const memberId = r.take(32).slice();
      // Version 1 knew one device per person, its identity key: one cutoff.
      change = { type, memberId, cutoffs: version === 1 ? [{ deviceId: memberId, cutoff: readCutoff(r) }] : readCutoffs(r) };
      break;
    }
    case 'set-role': {
      const memberId = r.take(32).slice();
      const role = readRole(r);
      const flag = r.u8();
      if (flag > 1) _fail('malformed', 'bad cutoff flag');
      if (flag === 0) change = { type, memberId, role };
      else change = { type, memberId, role, cutoffs: version === 1 ? [{ deviceId: memberId, cutoff: readCutoff(r) }] : readCutoffs(r) };
      break;
    }
    case 'rotate':
      change = { type };
      break;
    case 'certify-device': {
      const { signatures: _, ...device } = _readDeviceCertificate(r, bytes, checked);
      change = { type, device };
      break;
    }
    case 'revoke-device':
      change = { type, deviceId: r.take(32).slice(), cutoff: readCutoff(r) };
      break;
  }
  let keys: EpochKeys | undefined;
  let deviceWraps: { epoch: number; wrap: Uint8Array }[] | undefined;
  if (type === 'certify-device') {
    const count = r.u16();
    if (count < 1 || count > _MAX_DEVICE_WRAPS) _fail('malformed', 'device wrap count out of range');
    deviceWraps = [];
    for (let i = 0; i < count; i++) deviceWraps.push({ epoch: r.u32(), wrap: r.take(_WRAP_LENGTH).slice() });
  } else if (type !== 'set-role') {
    const commitment = r.take(32).slice();
    const flag = r.u8();
    if (flag > 1) _fail('malformed', 'bad lineage flag');
    const lineage = flag === 1 ? r.take(_LINEAGE_LENGTH).slice() : undefined;
    const count = r.u32();
    if (count > MAX_WRAPS) _fail('malformed', 'too many wraps');
    keys = { commitment, lineage, wraps: r.take(count * _WRAP_LENGTH).slice() };
  }
  const signedLength = r.position;
  const signature = r.take(64).slice();
  r.end();
  return { hash: _opHash(bytes), version, groupId, prev, epoch, author, time, change, keys, deviceWraps, bytes, signed: bytes.subarray(0, signedLength), signature };
}

/** What a caller may see of a decoded op. */
export function _publicView(op: _DecodedOp): MembershipOp {
  const { hash, version, groupId, prev, epoch, author, time, change } = op;
  return { hash, version, groupId, prev, epoch, author, time, change };
}

/**
 * Parses an op without checking its signature or its place in a log; for routing and
 * display. Throws MembershipError (malformed, unsupported-version, bad-key).
 */
export function readMembershipOp(bytes: Uint8Array): MembershipOp {
  return _publicView(_decodeOp(bytes));
}
