/**
 * Building membership ops: what a member's device signs to create a group or change it.
 *
 * - create(members, history) starts epoch 0; add, remove, rotate and revoke-device each
 *   start the next epoch with a fresh 32-byte secret wrapped to every device after the op
 *   (HPKE, one wrap per device, a person's identity key included, in device-id order);
 *   set-role and certify-device keep the epoch (certify-device wraps the current secret to
 *   the new device).
 * - Admins change membership; any member certifies and revokes its own devices.
 * - Every change is run through the rules a verifier applies before it is signed, so what is
 *   built is what a log accepts; an op refused as `stale-head` is rebuilt with
 *   {@link rebaseOp}.
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { CryptoInputError } from './errors.js';
import { _bytes, _concat, _equal, _hex, _int, _u16, _u32, _u64, _wipe, fromHex as _unhex } from './bytes.js';
import { readDeviceCertificate, type DeviceCertificate } from './device.js';
import { Identity, memberIdOf } from './identity.js';
import { MAX_EPOCH, type Keyring } from './keyring.js';
import type { MemberRole } from './envelope.js';
import { _assertAgreementPublicKey } from './primitives.js';
import { signMessage } from './signature.js';
import { _checkEpochSecret, _epochCommitment, _openLineage, _sealLineage, _wrapSecret, _wrapSecrets } from './epochs.js';
import {
  _cutoffField,
  _cutoffsField,
  _decodeOp,
  _devicesField,
  _MAX_DEVICE_WRAPS,
  _fail,
  _GROUP_SALT_LENGTH,
  _groupIdOf,
  _HISTORIES,
  _memberKeyBytes,
  _ROLE_CODE,
  _ROLES,
  _SIGNATURE_CONTEXT,
  _TYPE_CODE,
  _ZERO_HASH,
  MEMBERSHIP_OP_VERSION,
  type DeviceCutoff,
  type HistoryAccess,
  type MemberKeys,
  type MembershipChange,
  type MembershipOp,
  type PersonKeys,
} from './membership-op.js';
import { _applyToRecipients, _carriesLineage, _checkChange, _devicesOf, type _LogState } from './membership-verify.js';
import type { MembershipLog } from './membership-log.js';

/**
 * A certified device ready to act for its person: its key pairs, its certificate, and the
 * person's public identity keys. A person's identity key pair (an {@link Identity}) acts
 * as its first device.
 */
export interface CertifiedDevice {
  keys: Identity;
  certificate: Uint8Array;
  person: MemberKeys;
}
/** Who acts: a person's identity key pair, or one of its certified devices. */
export type Actor = Identity | CertifiedDevice;

/** Who signs an op, and the keyring holding the current epoch's secret (for the lineage and wraps). */
export interface OpAuthor {
  signer: Actor;
  keyring: Keyring;
  /** The op's timestamp, ms since 1970; Date.now() by default. */
  now?: number;
}

/**
 * Cutoffs for a removal or a demotion: one number (or null) for every device of the person,
 * or one per device, keyed by device id (hex).
 */
export type Cutoffs = number | null | ReadonlyMap<string, number | null>;

interface Draft {
  groupId: Uint8Array;
  prev: Uint8Array;
  epoch: number;
  signer: Identity;
  time: number;
  body: Uint8Array;
  type: MembershipChange['type'];
}

/** The key pairs an actor signs, seals and unwraps with: the identity's, or the device's own. */
export function actorKeys(actor: Actor): Identity {
  return actor instanceof Identity ? actor : actor.keys;
}

/** The member id of the person an actor acts for. */
export function actorPersonId(actor: Actor): Uint8Array {
  return actor instanceof Identity ? actor.memberId : memberIdOf(actor.person.signingPublicKey);
}

/** The key pair that signs for an actor, its device certificate (none for an identity), and its person's keys. */
export function _actor(actor: Actor): { keys: Identity; certificate: DeviceCertificate | undefined; person: MemberKeys & { memberId: Uint8Array } } {
  if (actor instanceof Identity) return { keys: actor, certificate: undefined, person: actor };
  if (!actor || !(actor.keys instanceof Identity)) throw new CryptoInputError('signer must be an Identity or a certified device');
  const certificate = readDeviceCertificate(actor.certificate);
  const personId = memberIdOf(actor.person.signingPublicKey);
  if (!_equal(certificate.personId, personId) || !_equal(certificate.signingPublicKey, actor.keys.signingPublicKey))
    throw new CryptoInputError('the certificate is not this device\'s for this person');
  return { keys: actor.keys, certificate, person: { ...actor.person, memberId: personId } };
}

function checkRole(role: MemberRole): void {
  if (!_ROLES.includes(role)) throw new CryptoInputError('role must be admin, writer or reader');
}

function checkCutoff(cutoff: number | null): void {
  if (cutoff !== null) _int(cutoff, 'cutoff', 0, Number.MAX_SAFE_INTEGER);
}

function checkTime(time: number): number {
  return _int(time, 'now', 0, Number.MAX_SAFE_INTEGER);
}

async function finish(d: Draft, keys: Uint8Array | undefined): Promise<Uint8Array> {
  const signed = _concat(
    Uint8Array.of(MEMBERSHIP_OP_VERSION, _TYPE_CODE[d.type]),
    d.groupId,
    d.prev,
    _u32(d.epoch),
    d.signer.memberId,
    _u64(d.time),
    d.body,
    keys ?? new Uint8Array(0),
  );
  return _concat(signed, await signMessage(d.signer, _SIGNATURE_CONTEXT, signed));
}

// Wraps built at once (see epochKeys): measured in bench:groups, where 512 kept a revocation in
// a group of 3,000 devices near 3 times a removal among 1,000, and unbounded did not.
const WRAPS_IN_FLIGHT = 512;

interface Recipient {
  /** The device id, and its hex (the sort key). */
  id: Uint8Array;
  hex: string;
  agreementPublicKey: Uint8Array;
}

/** A fresh epoch secret, its commitment, the lineage to `previous`, and one wrap per device. */
async function epochKeys(groupId: Uint8Array, epoch: number, recipients: Iterable<Recipient>, previous: Uint8Array | undefined): Promise<Uint8Array> {
  const sorted = [...recipients].sort((a, b) => (a.hex < b.hex ? -1 : 1));
  const secret = randomBytes(32);
  try {
    // At most WRAPS_IN_FLIGHT at once: with every wrap in flight, thousands of ephemeral keys
    // and promises live together and the collector's work grows faster than their number.
    // (In Node the wraps are sealed natively instead, see native.node.ts; in a browser a large
    // op's wraps are made in Web Workers, see wrap-pool.ts.)
    const wraps = await _wrapSecrets(secret, groupId, epoch, sorted, WRAPS_IN_FLIGHT);
    const lineage = previous ? _concat(Uint8Array.of(1), _sealLineage(secret, previous, groupId, epoch)) : Uint8Array.of(0);
    return _concat(_epochCommitment(secret, groupId, epoch), lineage, _u32(sorted.length), wraps);
  } finally {
    _wipe(secret);
  }
}

/** The devices an epoch secret is wrapped to after `change`: the log's, changed as it says. */
function recipientsAfter(state: _LogState, change: MembershipChange): Recipient[] {
  const keys = new Map<string, Recipient>();
  for (const [id, d] of state.devices) keys.set(id, { id: _unhex(id), hex: id, agreementPublicKey: d.agreementPublicKey });
  const people = change.type === 'create' ? change.members : change.type === 'add' ? [change.member] : [];
  for (const p of people) {
    const person = _hex(p.memberId);
    keys.set(person, { id: p.memberId, hex: person, agreementPublicKey: p.agreementPublicKey });
    for (const d of p.devices) {
      const device = _hex(d.deviceId);
      keys.set(device, { id: d.deviceId, hex: device, agreementPublicKey: d.agreementPublicKey });
    }
  }
  const ids = new Map([...keys.keys()].map((id) => [id, state.devices.get(id)?.person ?? id]));
  _applyToRecipients(ids, change);
  return [...ids.keys()].map((id) => keys.get(id)!);
}

/** The signer's device state in the log: it must be a current device of a member (an admin, unless `ownDevices`). */
function requireSigner(log: MembershipLog, by: OpAuthor, ownDevices = false): { keys: Identity; person: string } {
  const actor = _actor(by.signer);
  const device = log._state().devices.get(_hex(actor.keys.memberId));
  if (!device) _fail(ownDevices ? 'not-a-member' : 'not-admin', 'this device is no device of a member of the group');
  if (!ownDevices && log._state().members.get(device.person)!.role !== 'admin') _fail('not-admin', 'only an admin may change membership');
  return { keys: actor.keys, person: device.person };
}

function currentSecret(log: MembershipLog, by: OpAuthor): Uint8Array {
  const secret = by.keyring._secret(log.groupId, log.epoch);
  if (!secret) _fail('missing-secret', `the keyring lacks the secret of epoch ${log.epoch}; unlock it first`);
  return secret;
}

/** The change as it would be recorded, run through the same rules a verifier applies, starting a new epoch. */
async function keyOp(log: MembershipLog, by: OpAuthor, change: MembershipChange, body: Uint8Array, reset = false): Promise<Uint8Array> {
  const leaves = change.type === 'remove' && log._state().devices.get(_hex(_actor(by.signer).keys.memberId))?.person === _hex(change.memberId);
  const signer = requireSigner(log, by, change.type === 'revoke-device' || leaves);
  const state = log._state();
  _checkChange(state, change, signer.person, _hex(signer.keys.memberId));
  const epoch = log.epoch + 1;
  if (epoch > MAX_EPOCH) _fail('bad-epoch', 'the group has used every epoch number');
  const previous = _carriesLineage(change.type, log.history) && !reset ? currentSecret(log, by) : undefined;
  const keys = await epochKeys(log.groupId, epoch, recipientsAfter(state, change), previous);
  return finish({ groupId: log.groupId, prev: log.head, epoch, signer: signer.keys, time: checkTime(by.now ?? Date.now()), body, type: change.type }, keys);
}

/** A person as an op introduces it (identity keys, device certificates), its keys checked. */
function personOf(keys: MemberKeys, certificates: readonly Uint8Array[] = []): PersonKeys {
  let memberId: Uint8Array;
  try {
    memberId = memberIdOf(keys.signingPublicKey);
    _assertAgreementPublicKey(keys.agreementPublicKey);
  } catch (error) {
    if (error instanceof CryptoInputError) _fail('bad-key', error.message);
    throw error;
  }
  const devices = certificates.map((c) => readDeviceCertificate(c));
  for (const d of devices) if (!_equal(d.personId, memberId)) _fail('wrong-person', 'a device certificate names another person');
  return { signingPublicKey: keys.signingPublicKey, agreementPublicKey: keys.agreementPublicKey, memberId, devices };
}

function personBytes(p: PersonKeys): Uint8Array {
  return _concat(_memberKeyBytes(p), _devicesField(p.devices));
}

/** The cutoffs of every device of a person, ascending by device id. */
function cutoffsFor(log: MembershipLog, memberId: Uint8Array, cutoffs: Cutoffs): DeviceCutoff[] {
  _bytes(memberId, 'memberId', 32);
  return _devicesOf(log._state(), _hex(memberId)).map((id) => {
    const cutoff = cutoffs instanceof Map ? cutoffs.get(id) : cutoffs;
    if (cutoff === undefined) _fail('bad-cutoffs', `no cutoff given for device ${id.slice(0, 16)}`);
    checkCutoff(cutoff as number | null);
    return { deviceId: _unhex(id), cutoff: cutoff as number | null };
  });
}

/** A member to add or found a group with: its identity keys, and certificates of its devices. */
export interface NewMember {
  keys: MemberKeys;
  role: MemberRole;
  /** Certificates of the person's devices (see {@link certifyDevice}). */
  devices?: readonly Uint8Array[];
}

/**
 * The create op of a new group: epoch 0, the creator as admin, optionally more founding
 * members, and the history setting (`since-join` by default: joiners read from their join on).
 * The group id is derived from the creator's identity key and a random salt. A device creates
 * for its person; `creatorDevices` are the certificates of the person's devices to include
 * (a creating device's own is included in any case).
 */
export async function createGroup(
  creator: Actor,
  options: { members?: readonly NewMember[]; creatorDevices?: readonly Uint8Array[]; history?: HistoryAccess; now?: number } = {},
): Promise<Uint8Array> {
  const actor = _actor(creator);
  const history = options.history ?? 'since-join';
  if (!_HISTORIES.includes(history)) throw new CryptoInputError('history must be all or since-join');
  const salt = randomBytes(_GROUP_SALT_LENGTH);
  const groupId = _groupIdOf(actor.person.signingPublicKey, salt);
  const own = [...(options.creatorDevices ?? [])];
  if (actor.certificate && !own.some((c) => _equal(readDeviceCertificate(c).deviceId, actor.certificate!.deviceId))) own.push(actor.certificate.bytes);
  const founders = [{ keys: actor.person, role: 'admin' as MemberRole, devices: own }, ...(options.members ?? [])];
  const members = founders.map(({ keys, role, devices }) => {
    checkRole(role);
    return { ...personOf(keys, devices), role };
  });
  const empty = { ops: [], byHash: new Map(), members: new Map(), devices: new Map(), devicesByPerson: new Map(), revoked: new Set<string>(), owners: new Map(), admins: 0, history };
  const change: MembershipChange = { type: 'create', history, salt, members };
  _checkChange(empty, change, _hex(actor.person.memberId));
  const body = _concat(Uint8Array.of(_HISTORIES.indexOf(history)), salt, _u32(members.length), ...members.map((m) => _concat(personBytes(m), Uint8Array.of(_ROLE_CODE[m.role]))));
  const keys = await epochKeys(groupId, 0, recipientsAfter(empty, change), undefined);
  return finish({ groupId, prev: _ZERO_HASH, epoch: 0, signer: actor.keys, time: checkTime(options.now ?? Date.now()), body, type: 'create' }, keys);
}

/** An op adding a member with `role` (and its devices): a new epoch wrapped to every device, the newcomer's included. */
export async function addMember(log: MembershipLog, by: OpAuthor, member: MemberKeys, role: MemberRole, devices: readonly Uint8Array[] = []): Promise<Uint8Array> {
  checkRole(role);
  const person = personOf(member, devices);
  return keyOp(log, by, { type: 'add', member: person, role }, _concat(personBytes(person), Uint8Array.of(_ROLE_CODE[role])));
}

/**
 * An op removing a member: the member and all its devices are dropped and the new epoch's
 * secret is wrapped to the others in the same signed op (rotate before revoke). `cutoffs`:
 * each device's highest sequence number the admin accepted, or null when none was. Signed by
 * an admin; or by a device of the member itself, whatever its role: it leaves the group (the
 * new secret is then one it made: an admin rotates again, see {@link isLeave}).
 */
export async function removeMember(log: MembershipLog, by: OpAuthor, memberId: Uint8Array, cutoffs: Cutoffs): Promise<Uint8Array> {
  const list = cutoffsFor(log, memberId, cutoffs);
  return keyOp(log, by, { type: 'remove', memberId, cutoffs: list }, _concat(memberId, _cutoffsField(list)));
}

/**
 * Whether `op` is a member's removal signed by one of its own devices (it left the group): the
 * epoch it started has a secret the leaver made, which an admin replaces with a rotation.
 */
export function isLeave(op: MembershipOp): boolean {
  const change = op.change;
  return change.type === 'remove' && (_equal(op.author, change.memberId) || change.cutoffs.some((c) => _equal(c.deviceId, op.author)));
}

/**
 * An op starting a new epoch for the same members (on demand, or when {@link rotationDue} says
 * so). With `reset`, the new secret does not seal the current one (no lineage): for an admin
 * whose current epoch's secret is out of reach (unlockEpochSecrets said `bad-secret`: a member
 * started it with keys that do not open); later joiners read from the new epoch on.
 */
export async function rotateEpoch(log: MembershipLog, by: OpAuthor, options: { reset?: boolean } = {}): Promise<Uint8Array> {
  return keyOp(log, by, { type: 'rotate' }, new Uint8Array(0), options.reset === true);
}

/**
 * An op changing a member's role; the epoch stays. A demotion to reader records cutoffs (its
 * devices' highest accepted sequence numbers, or null) and requires them.
 */
export async function setMemberRole(log: MembershipLog, by: OpAuthor, memberId: Uint8Array, role: MemberRole, cutoffs?: Cutoffs): Promise<Uint8Array> {
  _bytes(memberId, 'memberId', 32);
  checkRole(role);
  const signer = requireSigner(log, by);
  const list = cutoffs === undefined ? undefined : cutoffsFor(log, memberId, cutoffs);
  const change: MembershipChange = list === undefined ? { type: 'set-role', memberId, role } : { type: 'set-role', memberId, role, cutoffs: list };
  _checkChange(log._state(), change, signer.person);
  const body = _concat(memberId, Uint8Array.of(_ROLE_CODE[role]), list === undefined ? Uint8Array.of(0) : _concat(Uint8Array.of(1), _cutoffsField(list)));
  return finish({ groupId: log.groupId, prev: log.head, epoch: log.epoch, signer: signer.keys, time: checkTime(by.now ?? Date.now()), body, type: 'set-role' }, undefined);
}

/**
 * An op bringing a device of the signer's person into the group (`certificate`, see
 * {@link certifyDevice}): the epoch stays. The device gets the current epoch's secret, and
 * those of the earlier epochs its person may read that no lineage leads back to (in a
 * `since-join` group, each add op starts such an epoch), so that it reads what its person
 * reads. Any member may certify its own devices; it needs those secrets in `by.keyring`.
 */
export async function addDevice(log: MembershipLog, by: OpAuthor, certificate: Uint8Array): Promise<Uint8Array> {
  const device = readDeviceCertificate(certificate);
  const signer = requireSigner(log, by, true);
  _checkChange(log._state(), { type: 'certify-device', device }, signer.person, _hex(signer.keys.memberId));
  const epochs = [log.epoch];
  // Back from the current epoch: where no lineage leads back (none, or one that does not open
  // to the secret before: a member sealed noise), the epoch before must be given.
  for (let epoch = log.epoch; epoch > 0 && epochs.length < _MAX_DEVICE_WRAPS; epoch--) {
    if (leadsBack(log, by.keyring, epoch)) continue;
    if (!log.wasMemberAt(_unhex(signer.person), epoch - 1)) break;
    if (by.keyring.has(log.groupId, epoch - 1)) epochs.push(epoch - 1);
  }
  epochs.reverse();
  const wraps = await Promise.all(
    epochs.map(async (epoch) => {
      const secret = by.keyring._secret(log.groupId, epoch);
      if (!secret) _fail('missing-secret', `the keyring lacks the secret of epoch ${epoch}; unlock it first`);
      return _concat(_u32(epoch), await _wrapSecret(secret, log.groupId, epoch, device.deviceId, device.agreementPublicKey));
    }),
  );
  const keys = _concat(_u16(wraps.length), ...wraps);
  return finish({ groupId: log.groupId, prev: log.head, epoch: log.epoch, signer: signer.keys, time: checkTime(by.now ?? Date.now()), body: device.bytes, type: 'certify-device' }, keys);
}

/** Whether the lineage of `epoch` opens, with the secret `keyring` holds of it, to the secret of the epoch before. */
function leadsBack(log: MembershipLog, keyring: Keyring, epoch: number): boolean {
  const lineage = log._decoded(log._epochStart(epoch)!).keys!.lineage;
  const newer = keyring._secret(log.groupId, epoch);
  const older = lineage && newer && _openLineage(newer, lineage, log.groupId, epoch);
  if (!older) return false;
  const ok = _checkEpochSecret(older, log.groupId, epoch - 1, log._decoded(log._epochStart(epoch - 1)!).keys!.commitment);
  _wipe(older);
  return ok;
}

/**
 * An op revoking a device of the signer's person: it no longer acts for it, its envelopes
 * past `cutoff` are refused, and a new epoch starts whose secret is wrapped to every other
 * device (the group rotates in the same signed op). Any member may revoke its own devices,
 * from another device or with its identity key; a device may revoke itself.
 */
export async function revokeDevice(log: MembershipLog, by: OpAuthor, deviceId: Uint8Array, cutoff: number | null): Promise<Uint8Array> {
  _bytes(deviceId, 'deviceId', 32);
  checkCutoff(cutoff);
  return keyOp(log, by, { type: 'revoke-device', deviceId, cutoff }, _concat(deviceId, _cutoffField(cutoff)));
}

/**
 * Rebuilds an op that was refused as `stale-head` onto the log's current head: same intent,
 * new epoch secret and wraps for the devices as they are now. Throws MembershipError when
 * the intent no longer applies (e.g. `not-a-member`: someone else removed the member).
 */
export async function rebaseOp(op: Uint8Array, log: MembershipLog, by: OpAuthor): Promise<Uint8Array> {
  const decoded = _decodeOp(op);
  if (!_equal(decoded.groupId, log.groupId)) _fail('wrong-group', 'the op belongs to another group');
  if (!_equal(decoded.author, _actor(by.signer).keys.memberId)) _fail('not-admin', 'only the op\'s author can rebase it');
  const change = decoded.change;
  // Devices the person certified meanwhile get a cutoff of none: they were not there when the
  // intent was made, and a removal (or demotion) must not be held off by them.
  const cutoffs = (list: readonly DeviceCutoff[], memberId: Uint8Array) =>
    new Map([...log.devices(memberId).map((d) => [_hex(d.deviceId), null] as const), ...list.map((c) => [_hex(c.deviceId), c.cutoff] as const)]);
  switch (change.type) {
    case 'add':
      return addMember(log, by, change.member, change.role, change.member.devices.map((d) => d.bytes));
    case 'remove':
      return removeMember(log, by, change.memberId, cutoffs(change.cutoffs, change.memberId));
    case 'set-role':
      return setMemberRole(log, by, change.memberId, change.role, change.cutoffs && cutoffs(change.cutoffs, change.memberId));
    case 'rotate':
      return rotateEpoch(log, by, { reset: decoded.keys!.lineage === undefined });
    case 'certify-device':
      return addDevice(log, by, change.device.bytes);
    case 'revoke-device':
      return revokeDevice(log, by, change.deviceId, change.cutoff);
    case 'create':
      return _fail('malformed', 'a create op has nothing to rebase onto');
  }
}
