/**
 * Building membership ops: what an admin's device signs to create a group or change it.
 *
 * - create(members, history) starts epoch 0; add, remove and rotate each start the next
 *   epoch with a fresh 32-byte secret wrapped to every member after the op (HPKE, one wrap
 *   per member in member-id order); set-role keeps the epoch.
 * - Every change is run through the rules a verifier applies before it is signed, so what is
 *   built is what a log accepts; an op refused as `stale-head` is rebuilt with
 *   {@link rebaseOp}.
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { CryptoInputError } from './errors.js';
import { _bytes, _concat, _equal, _hex, _int, _u32, _u64, _wipe } from './bytes.js';
import { Identity, memberIdOf } from './identity.js';
import { MAX_EPOCH, type Keyring } from './keyring.js';
import type { MemberRole } from './envelope.js';
import { _assertAgreementPublicKey } from './primitives.js';
import { signMessage } from './signature.js';
import { _epochCommitment, _sealLineage, _wrapSecret } from './epochs.js';
import {
  _cutoffField,
  _decodeOp,
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
  type HistoryAccess,
  type Member,
  type MemberKeys,
  type MembershipChange,
} from './membership-op.js';
import { _carriesLineage, _checkChange } from './membership-verify.js';
import type { MembershipLog } from './membership-log.js';

/** Who signs an op, and the keyring holding the current epoch's secret (for the lineage). */
export interface OpAuthor {
  admin: Identity;
  keyring: Keyring;
  /** The op's timestamp, ms since 1970; Date.now() by default. */
  now?: number;
}

interface Draft {
  groupId: Uint8Array;
  prev: Uint8Array;
  epoch: number;
  author: Identity;
  time: number;
  body: Uint8Array;
  type: MembershipChange['type'];
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
    d.author.memberId,
    _u64(d.time),
    d.body,
    keys ?? new Uint8Array(0),
  );
  return _concat(signed, await signMessage(d.author, _SIGNATURE_CONTEXT, signed));
}

/** A fresh epoch secret, its commitment, the lineage to `previous`, and one wrap per member. */
async function epochKeys(groupId: Uint8Array, epoch: number, members: readonly Member[], previous: Uint8Array | undefined): Promise<Uint8Array> {
  const secret = randomBytes(32);
  try {
    const wraps = await Promise.all(members.map((m) => _wrapSecret(secret, groupId, epoch, m.memberId, m.agreementPublicKey)));
    const lineage = previous ? _concat(Uint8Array.of(1), _sealLineage(secret, previous, groupId, epoch)) : Uint8Array.of(0);
    return _concat(_epochCommitment(secret, groupId, epoch), lineage, _u32(members.length), ...wraps);
  } finally {
    _wipe(secret);
  }
}

function sortMembers(members: Iterable<Member>): Member[] {
  return [...members]
    .map((m) => [_hex(m.memberId), m] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([, m]) => m);
}

function requireAdmin(log: MembershipLog, by: OpAuthor): void {
  if (!(by.admin instanceof Identity)) throw new CryptoInputError('admin must be an Identity');
  if (log.member(by.admin.memberId)?.role !== 'admin') _fail('not-admin', 'only an admin may change membership');
}

function previousSecret(log: MembershipLog, by: OpAuthor): Uint8Array {
  const secret = by.keyring._secret(log.groupId, log.epoch);
  if (!secret) _fail('missing-secret', `the keyring lacks the secret of epoch ${log.epoch}; unlock it first`);
  return secret;
}

/** The change as it would be recorded, run through the same rules a verifier applies. */
async function keyOp(log: MembershipLog, by: OpAuthor, change: MembershipChange, body: Uint8Array): Promise<Uint8Array> {
  requireAdmin(log, by);
  const current = new Map(log.members().map((m) => [_hex(m.memberId), m]));
  _checkChange(current, change);
  const after = new Map(current);
  if (change.type === 'add') after.set(_hex(change.member.memberId), { ...change.member, role: change.role });
  if (change.type === 'remove') after.delete(_hex(change.memberId));
  const epoch = log.epoch + 1;
  if (epoch > MAX_EPOCH) _fail('bad-epoch', 'the group has used every epoch number');
  const previous = _carriesLineage(change.type, log.history) ? previousSecret(log, by) : undefined;
  const keys = await epochKeys(log.groupId, epoch, sortMembers(after.values()), previous);
  return finish({ groupId: log.groupId, prev: log.head, epoch, author: by.admin, time: checkTime(by.now ?? Date.now()), body, type: change.type }, keys);
}

/**
 * The create op of a new group: epoch 0, the creator as admin, optionally more founding
 * members, and the history setting (`since-join` by default: joiners read from their join on).
 * The group id is derived from the creator's key and a random salt.
 */
export async function createGroup(
  creator: Identity,
  options: { members?: readonly { keys: MemberKeys; role: MemberRole }[]; history?: HistoryAccess; now?: number } = {},
): Promise<Uint8Array> {
  if (!(creator instanceof Identity)) throw new CryptoInputError('creator must be an Identity');
  const history = options.history ?? 'since-join';
  if (!_HISTORIES.includes(history)) throw new CryptoInputError('history must be all or since-join');
  const salt = randomBytes(_GROUP_SALT_LENGTH);
  const groupId = _groupIdOf(creator.signingPublicKey, salt);
  const founders = [{ keys: creator as MemberKeys, role: 'admin' as MemberRole }, ...(options.members ?? [])];
  const members: Member[] = founders.map(({ keys, role }) => {
    checkRole(role);
    _assertAgreementPublicKey(keys.agreementPublicKey);
    return { memberId: memberIdOf(keys.signingPublicKey), signingPublicKey: keys.signingPublicKey, agreementPublicKey: keys.agreementPublicKey, role };
  });
  _checkChange(new Map(), { type: 'create', history, salt, members });
  const body = _concat(
    Uint8Array.of(_HISTORIES.indexOf(history)),
    salt,
    _u32(members.length),
    ...members.map((m) => _concat(_memberKeyBytes(m), Uint8Array.of(_ROLE_CODE[m.role]))),
  );
  const keys = await epochKeys(groupId, 0, sortMembers(members), undefined);
  return finish({ groupId, prev: _ZERO_HASH, epoch: 0, author: creator, time: checkTime(options.now ?? Date.now()), body, type: 'create' }, keys);
}

/** An op adding `member` with `role`: a new epoch wrapped to everyone including the newcomer. */
export async function addMember(log: MembershipLog, by: OpAuthor, member: MemberKeys, role: MemberRole): Promise<Uint8Array> {
  checkRole(role);
  let memberId: Uint8Array;
  try {
    memberId = memberIdOf(member.signingPublicKey);
    _assertAgreementPublicKey(member.agreementPublicKey);
  } catch (error) {
    if (error instanceof CryptoInputError) _fail('bad-key', error.message);
    throw error;
  }
  const keys = { signingPublicKey: member.signingPublicKey, agreementPublicKey: member.agreementPublicKey };
  return keyOp(log, by, { type: 'add', member: { ...keys, memberId }, role }, _concat(_memberKeyBytes(keys), Uint8Array.of(_ROLE_CODE[role])));
}

/**
 * An op removing a member: the member is dropped and the new epoch's secret is wrapped to
 * the others in the same signed op (rotate before revoke). `cutoff` is the member's highest
 * sequence number the admin accepted, or null when none was.
 */
export async function removeMember(log: MembershipLog, by: OpAuthor, memberId: Uint8Array, cutoff: number | null): Promise<Uint8Array> {
  _bytes(memberId, 'memberId', 32);
  checkCutoff(cutoff);
  return keyOp(log, by, { type: 'remove', memberId, cutoff }, _concat(memberId, _cutoffField(cutoff)));
}

/** An op starting a new epoch for the same members (on demand, or when {@link rotationDue} says so). */
export async function rotateEpoch(log: MembershipLog, by: OpAuthor): Promise<Uint8Array> {
  return keyOp(log, by, { type: 'rotate' }, new Uint8Array(0));
}

/**
 * An op changing a member's role; the epoch stays. A demotion to reader records a cutoff
 * (the member's highest accepted sequence number, or null) and requires it.
 */
export async function setMemberRole(log: MembershipLog, by: OpAuthor, memberId: Uint8Array, role: MemberRole, cutoff?: number | null): Promise<Uint8Array> {
  _bytes(memberId, 'memberId', 32);
  checkRole(role);
  if (cutoff !== undefined) checkCutoff(cutoff);
  requireAdmin(log, by);
  const change: MembershipChange = cutoff === undefined ? { type: 'set-role', memberId, role } : { type: 'set-role', memberId, role, cutoff };
  _checkChange(new Map(log.members().map((m) => [_hex(m.memberId), m])), change);
  const body = _concat(memberId, Uint8Array.of(_ROLE_CODE[role]), cutoff === undefined ? Uint8Array.of(0) : _concat(Uint8Array.of(1), _cutoffField(cutoff)));
  return finish({ groupId: log.groupId, prev: log.head, epoch: log.epoch, author: by.admin, time: checkTime(by.now ?? Date.now()), body, type: 'set-role' }, undefined);
}

/**
 * Rebuilds an op that was refused as `stale-head` onto the log's current head: same intent,
 * new epoch secret and wraps for the members as they are now. Throws MembershipError when
 * the intent no longer applies (e.g. `not-a-member`: someone else removed the member).
 */
export async function rebaseOp(op: Uint8Array, log: MembershipLog, by: OpAuthor): Promise<Uint8Array> {
  const decoded = _decodeOp(op);
  if (!_equal(decoded.groupId, log.groupId)) _fail('wrong-group', 'the op belongs to another group');
  if (!_equal(decoded.author, by.admin.memberId)) _fail('not-admin', 'only the op\'s author can rebase it');
  const change = decoded.change;
  switch (change.type) {
    case 'add':
      return addMember(log, by, change.member, change.role);
    case 'remove':
      return removeMember(log, by, change.memberId, change.cutoff);
    case 'set-role':
      return setMemberRole(log, by, change.memberId, change.role, change.cutoff);
    case 'rotate':
      return rotateEpoch(log, by);
    case 'create':
      return _fail('malformed', 'a create op has nothing to rebase onto');
  }
}
