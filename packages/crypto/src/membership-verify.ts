/**
 * Verifying a membership op against the log it would extend, as docs/membership.md ("Rules a
 * verifier applies") lists them: its place in the chain, its signature, its epoch, the rules
 * on its change and the epoch keys it carries. The log applies only ops that pass.
 *
 * - Ops are signed by a device of a member (its identity key is its first device). Only
 *   admins change membership; a person certifies and revokes its own devices, and removes
 *   itself (leaves), whatever its role. The last admin cannot be removed or demoted.
 * - An op must name the current head as predecessor (`stale-head` otherwise: rebase it with
 *   rebaseOp). The create op is signed by the key the group id commits to.
 * - The rules on a change ({@link _checkChange}) are the builders' too: an admin's device
 *   refuses to sign what a verifier would refuse.
 * @module
 */
import { _equal, _hex } from './bytes.js';
import { MAX_EPOCH } from './keyring.js';
import { verifyMessage } from './signature.js';
import { _WRAP_LENGTH } from './epochs.js';
import { _verifyDeviceCertificate, type DeviceCertificate } from './device.js';
import {
  _decodeOp,
  _fail,
  _groupIdOf,
  _SIGNATURE_CONTEXT,
  _TYPE_CODE,
  _ZERO_HASH,
  type _DecodedOp,
  type HistoryAccess,
  MAX_DEVICES,
  type DeviceCutoff,
  type Member,
  type MembershipChange,
  type PersonKeys,
} from './membership-op.js';

/** A device of a current member as the log knows it: the identity key itself, or a certified one. */
export interface _DeviceState {
  /** Hex of the person's member id. */
  person: string;
  signingPublicKey: Uint8Array;
  agreementPublicKey: Uint8Array;
  /** The certificate, for a certified device; undefined for the person's identity key. */
  certificate: DeviceCertificate | undefined;
}

/** What verifying an op needs of the log it would extend; read, never changed. */
export interface _LogState {
  /** The ops so far, in log order. */
  readonly ops: readonly _DecodedOp[];
  /** Index of each op by its hash (hex). */
  readonly byHash: ReadonlyMap<string, number>;
  /** Current members by member id (hex). */
  readonly members: ReadonlyMap<string, Member>;
  /** Current devices of current members (identity keys included), by device id (hex). */
  readonly devices: ReadonlyMap<string, _DeviceState>;
  /** The same devices by person (hex): device ids (hex), so that no lookup scans every device. */
  readonly devicesByPerson: ReadonlyMap<string, ReadonlySet<string>>;
  /** Devices revoked in this log, ever (hex): none comes back. */
  readonly revoked: ReadonlySet<string>;
  /** The person (hex) of every device this log ever named (hex): a device acts for one person only. */
  readonly owners: ReadonlyMap<string, string>;
  /** How many of the current members are admins. */
  readonly admins: number;
  readonly history: HistoryAccess;
}

/**
 * Decodes an op and checks it as the next op of `log`; throws MembershipError otherwise.
 * `verified`: ops this process verified before, whose signatures and keys are not checked
 * again (the chain, the epochs and every rule are).
 */
export async function _verifyOp(bytes: Uint8Array, log: _LogState, verified: boolean): Promise<_DecodedOp> {
  // A second create is refused before its member keys are read (they may be many).
  if (log.ops.length > 0 && bytes instanceof Uint8Array && bytes[1] === _TYPE_CODE.create) _fail('malformed', 'a group has one create op');
  const op = _decodeOp(bytes, verified);
  const hashHex = _hex(op.hash);
  const first = log.ops.length === 0;
  if (first) {
    if (op.change.type !== 'create') _fail('not-genesis', 'a log starts with a create op');
    if (!_equal(op.prev, _ZERO_HASH)) _fail('malformed', 'a create op has no predecessor');
  } else {
    if (log.byHash.has(hashHex)) _fail('duplicate', 'this op is already in the log', [hashHex]);
    if (!_equal(op.groupId, log.ops[0]!.groupId)) _fail('wrong-group', 'the op belongs to another group');
    if (!_equal(op.prev, log.ops[log.ops.length - 1]!.hash)) {
      const at = log.byHash.get(_hex(op.prev));
      if (at === undefined) _fail('unknown-predecessor', 'the op builds on an op this log does not have');
      _fail('stale-head', 'the op builds on an older head: rebase it', [hashHex, _hex(log.ops[at + 1]!.hash)]);
    }
    if (op.change.type === 'create') _fail('malformed', 'a group has one create op');
  }
  const signer = signerOf(op, log);
  const previousEpoch = first ? -1 : log.ops[log.ops.length - 1]!.epoch;
  checkEpoch(op, previousEpoch);
  _checkChange(log, op.change, signer.person, _hex(op.author));
  if (op.keys) checkKeys(op, log, signer.person);
  if (op.deviceWraps) checkDeviceWraps(op);
  if (!verified) {
    // The op's own signature first: a forged op costs one check, not one per certificate.
    if (!(await verifyMessage(signer.key, _SIGNATURE_CONTEXT, op.signed, op.signature))) _fail('bad-signature', 'the op signature does not verify');
    if ((await Promise.all(certificatesOf(op, log))).includes(false)) _fail('bad-signature', 'a device certificate does not verify');
  }
  return op;
}

/** Checks of every device certificate an op brings, against its person's identity key. */
function certificatesOf(op: _DecodedOp, log: _LogState): Promise<boolean>[] {
  const change = op.change;
  const people = change.type === 'create' ? change.members : change.type === 'add' ? [change.member] : [];
  const checks = people.flatMap((p) => p.devices.map((d) => _verifyDeviceCertificate(d.bytes, p.signingPublicKey)));
  if (change.type === 'certify-device') {
    const person = log.members.get(_hex(change.device.personId));
    if (person) checks.push(_verifyDeviceCertificate(change.device.bytes, person.signingPublicKey));
  }
  return checks;
}

/**
 * Who signed an op: the key it must verify under and the person (hex) it acts for. The
 * creator (its identity key or one of the devices it brings) for create; else a current
 * device of a current member, an admin for every op but a person's own device changes and
 * its own removal (it leaves the group).
 */
function signerOf(op: _DecodedOp, log: _LogState): { key: Uint8Array; person: string } {
  const change = op.change;
  if (change.type === 'create') {
    for (const m of change.members) {
      const key = _equal(m.memberId, op.author) ? m.signingPublicKey : m.devices.find((d) => _equal(d.deviceId, op.author))?.signingPublicKey;
      if (!key) continue;
      if (m.role !== 'admin') _fail('not-admin', 'the creator must be an admin of the group');
      if (!_equal(op.groupId, _groupIdOf(m.signingPublicKey, change.salt))) _fail('wrong-group', 'the group id does not commit to this creator');
      return { key, person: _hex(m.memberId) };
    }
    _fail('not-admin', 'the creator must be an admin of the group');
  }
  const device = log.devices.get(_hex(op.author));
  // A person's own devices, and its own removal (it leaves): any member, whatever its role.
  const leaves = change.type === 'remove' && device?.person === _hex(change.memberId);
  const ownDevices = change.type === 'certify-device' || change.type === 'revoke-device' || leaves;
  if (!device) _fail(ownDevices ? 'not-a-member' : 'not-admin', log.revoked.has(_hex(op.author)) ? 'the signing device was revoked' : 'the signer is no device of a member');
  if (!ownDevices && log.members.get(device.person)!.role !== 'admin') _fail('not-admin', 'only an admin may change membership');
  return { key: device.signingPublicKey, person: device.person };
}

/** The devices of a person (hex) now, identity key included, ascending by device id (hex). */
export function _devicesOf(log: Pick<_LogState, 'devicesByPerson'>, person: string): string[] {
  return [...(log.devicesByPerson.get(person) ?? [])].sort();
}

/** Applies a change to the map of recipients (device id hex -> person hex): who an epoch secret is wrapped to after it. */
export function _applyToRecipients(recipients: Map<string, string>, change: MembershipChange): void {
  const addPerson = (p: PersonKeys) => {
    const person = _hex(p.memberId);
    recipients.set(person, person);
    for (const d of p.devices) recipients.set(_hex(d.deviceId), person);
  };
  if (change.type === 'create') change.members.forEach(addPerson);
  else if (change.type === 'add') addPerson(change.member);
  else if (change.type === 'certify-device') recipients.set(_hex(change.device.deviceId), _hex(change.device.personId));
  else if (change.type === 'revoke-device') recipients.delete(_hex(change.deviceId));
  else if (change.type === 'remove') {
    const person = _hex(change.memberId);
    for (const [id, p] of recipients) if (p === person) recipients.delete(id);
  }
}

function checkEpoch(op: _DecodedOp, previousEpoch: number): void {
  const expected = op.keys ? previousEpoch + 1 : previousEpoch;
  if (op.epoch !== expected || op.epoch > MAX_EPOCH) _fail('bad-epoch', `the op claims epoch ${op.epoch}, expected ${expected}`);
}

/** A key (hex) that would come into the group for `person`: never revoked here, never another person's, not in the group (nor in `seen`, the op's own). */
function checkNewKey(log: _LogState, id: string, person: string, seen = new Set<string>()): void {
  if (log.revoked.has(id)) _fail('device-revoked', 'a device revoked in this group cannot come back');
  const owner = log.owners.get(id);
  if (owner !== undefined && owner !== person) _fail('already-member', 'a key acts for one person only in a group');
  if (seen.has(id) || log.devices.has(id) || log.members.has(id)) _fail('already-member', 'a person or device is listed twice');
  seen.add(id);
}

function checkNewDevices(log: _LogState, people: readonly PersonKeys[]): void {
  const seen = new Set<string>();
  for (const p of people) {
    if (p.devices.length > MAX_DEVICES) _fail('too-many-devices', `a person may have ${MAX_DEVICES} devices`);
    const person = _hex(p.memberId);
    for (const id of [person, ...p.devices.map((d) => _hex(d.deviceId))]) checkNewKey(log, id, person, seen);
  }
}

function checkCutoffs(log: _LogState, memberId: Uint8Array, cutoffs: readonly DeviceCutoff[]): void {
  const expected = _devicesOf(log, _hex(memberId));
  const given = cutoffs.map((c) => _hex(c.deviceId));
  if (given.length !== expected.length || given.some((id, i) => id !== expected[i]))
    _fail('bad-cutoffs', 'a cutoff is recorded for each of the person\'s devices, by ascending device id');
}

/**
 * The rules every change must satisfy against the log before it; shared by builders and
 * verifiers. `signer`: the person (hex) who signs it.
 */
export function _checkChange(log: _LogState, change: MembershipChange, signer: string, signerDevice?: string): void {
  const members = log.members;
  switch (change.type) {
    case 'create':
      checkNewDevices(log, change.members);
      return;
    case 'add':
      if (members.has(_hex(change.member.memberId))) _fail('already-member', 'already a member');
      checkNewDevices(log, [change.member]);
      return;
    case 'remove': {
      const target = members.get(_hex(change.memberId));
      if (!target) _fail('not-a-member', 'no such member to remove');
      if (target.role === 'admin' && log.admins === 1) _fail('last-admin', 'the last admin cannot be removed');
      checkCutoffs(log, change.memberId, change.cutoffs);
      return;
    }
    case 'set-role': {
      const target = members.get(_hex(change.memberId));
      if (!target) _fail('not-a-member', 'no such member');
      if (target.role === 'admin' && change.role !== 'admin' && log.admins === 1) _fail('last-admin', 'the last admin cannot be demoted');
      const demotion = change.role === 'reader' && target.role !== 'reader';
      if (demotion !== (change.cutoffs !== undefined))
        _fail('malformed', demotion ? 'a demotion to reader records a cutoff' : 'only a demotion to reader records a cutoff');
      if (change.cutoffs) checkCutoffs(log, change.memberId, change.cutoffs);
      return;
    }
    case 'rotate':
      return;
    case 'certify-device': {
      const person = _hex(change.device.personId);
      if (person !== signer) _fail('wrong-person', 'a device is certified into a group by a device of its own person');
      if (_devicesOf(log, person).length > MAX_DEVICES) _fail('too-many-devices', `a person may have ${MAX_DEVICES} devices`);
      checkNewKey(log, _hex(change.device.deviceId), person);
      return;
    }
    case 'revoke-device': {
      const device = log.devices.get(_hex(change.deviceId));
      if (!device || device.person !== signer || !device.certificate)
        _fail('not-a-device', 'a device is revoked by a device of its own person, and the identity key is no device to revoke');
      // Not by itself: a device would choose its own cutoff, out of its person's reach.
      if (signerDevice === _hex(change.deviceId)) _fail('not-a-device', 'a device is revoked from another device of its person, or with the identity key');
      return;
    }
  }
}

/**
 * Whether an op's new secret seals the previous one: every epoch-starting op but create,
 * except an add in a `since-join` group (so the joiner's walk back stops at its join).
 */
export function _carriesLineage(type: MembershipChange['type'], history: HistoryAccess): boolean {
  return type !== 'create' && !(type === 'add' && history === 'since-join');
}

/** The recipients (device id hex -> person hex) of the log now. */
export function _recipientsOf(log: _LogState): Map<string, string> {
  const recipients = new Map<string, string>();
  for (const [id, d] of log.devices) recipients.set(id, d.person);
  return recipients;
}

/**
 * The epoch keys an op carries: one wrap per device after the op, lineage as the group allows.
 * An admin's rotate may go without its lineage: a reset, when the previous epoch's secret is
 * out of reach (a member started it with keys that do not open): later joiners read from it on.
 */
function checkKeys(op: _DecodedOp, log: _LogState, signer: string): void {
  const keys = op.keys!;
  const after = _recipientsOf(log);
  _applyToRecipients(after, op.change);
  if (keys.wraps.length !== after.size * _WRAP_LENGTH) _fail('bad-wraps', `the op carries ${keys.wraps.length / _WRAP_LENGTH} wraps for ${after.size} devices`);
  const lineage = _carriesLineage(op.change.type, log.history);
  const reset = op.change.type === 'rotate' && keys.lineage === undefined && log.members.get(signer)?.role === 'admin';
  if (lineage !== (keys.lineage !== undefined) && !reset) _fail('malformed', lineage ? 'the op lacks its lineage' : 'the op must not carry a lineage');
}

/** A certify-device op's wraps: epochs ascending, the last the current one. */
function checkDeviceWraps(op: _DecodedOp): void {
  const epochs = op.deviceWraps!.map((w) => w.epoch);
  if (epochs.some((e, i) => i > 0 && e <= epochs[i - 1]!) || epochs[epochs.length - 1] !== op.epoch)
    _fail('bad-wraps', 'a new device gets wraps of ascending epochs, ending with the current one');
}
