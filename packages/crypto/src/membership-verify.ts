/**
 * Verifying a membership op against the log it would extend, as docs/membership.md ("Rules a
 * verifier applies") lists them: its place in the chain, its signature, its epoch, the rules
 * on its change and the epoch keys it carries. The log applies only ops that pass.
 *
 * - Only admins author ops; the last admin cannot be removed or demoted.
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
import {
  _decodeOp,
  _fail,
  _groupIdOf,
  _SIGNATURE_CONTEXT,
  _TYPE_CODE,
  _ZERO_HASH,
  type _DecodedOp,
  type HistoryAccess,
  type Member,
  type MembershipChange,
} from './membership-op.js';

/** What verifying an op needs of the log it would extend; read, never changed. */
export interface _LogState {
  /** The ops so far, in log order. */
  readonly ops: readonly _DecodedOp[];
  /** Index of each op by its hash (hex). */
  readonly byHash: ReadonlyMap<string, number>;
  /** Current members by member id (hex). */
  readonly members: ReadonlyMap<string, Member>;
  /** How many of the current members are admins. */
  readonly admins: number;
  readonly history: HistoryAccess;
}

/**
 * Decodes an op and checks it as the next op of `log`; throws MembershipError otherwise.
 * `verified`: ops this process verified before, whose signatures and member keys are not
 * checked again (the chain, the epochs and every rule are).
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
  const signer = signerOf(op, log.members);
  if (!verified && !(await verifyMessage(signer, _SIGNATURE_CONTEXT, op.signed, op.signature))) _fail('bad-signature', 'the op signature does not verify');
  const previousEpoch = first ? -1 : log.ops[log.ops.length - 1]!.epoch;
  checkEpoch(op, previousEpoch);
  _checkChange(log.members, op.change, log.admins);
  if (op.keys) checkKeys(op, log.history, log.members);
  return op;
}

/** The signing key an op must verify under: the creator's for create, else a current admin's. */
function signerOf(op: _DecodedOp, members: ReadonlyMap<string, Member>): Uint8Array {
  if (op.change.type === 'create') {
    const creator = op.change.members.find((m) => _equal(m.memberId, op.author));
    if (!creator || creator.role !== 'admin') _fail('not-admin', 'the creator must be an admin of the group');
    if (!_equal(op.groupId, _groupIdOf(creator.signingPublicKey, op.change.salt))) _fail('wrong-group', 'the group id does not commit to this creator');
    return creator.signingPublicKey;
  }
  const author = members.get(_hex(op.author));
  if (!author || author.role !== 'admin') _fail('not-admin', 'only an admin may change membership');
  return author.signingPublicKey;
}

/** Applies a change to a set of member ids (hex): who is a member after it. */
export function _applyToIds(ids: Set<string>, change: MembershipChange): void {
  if (change.type === 'create') for (const m of change.members) ids.add(_hex(m.memberId));
  else if (change.type === 'add') ids.add(_hex(change.member.memberId));
  else if (change.type === 'remove') ids.delete(_hex(change.memberId));
}

function checkEpoch(op: _DecodedOp, previousEpoch: number): void {
  const expected = op.keys ? previousEpoch + 1 : previousEpoch;
  if (op.epoch !== expected || op.epoch > MAX_EPOCH) _fail('bad-epoch', `the op claims epoch ${op.epoch}, expected ${expected}`);
}

/**
 * The rules every change must satisfy against the members before it; shared by builders and
 * verifiers. `adminCount`, when the caller keeps it, saves counting the admins.
 */
export function _checkChange(members: ReadonlyMap<string, Member>, change: MembershipChange, adminCount?: number): void {
  const admins = () => adminCount ?? [...members.values()].filter((m) => m.role === 'admin').length;
  switch (change.type) {
    case 'create': {
      const ids = new Set(change.members.map((m) => _hex(m.memberId)));
      if (ids.size !== change.members.length) _fail('already-member', 'a member is listed twice');
      return;
    }
    case 'add':
      if (members.has(_hex(change.member.memberId))) _fail('already-member', 'already a member');
      return;
    case 'remove': {
      const target = members.get(_hex(change.memberId));
      if (!target) _fail('not-a-member', 'no such member to remove');
      if (target.role === 'admin' && admins() === 1) _fail('last-admin', 'the last admin cannot be removed');
      return;
    }
    case 'set-role': {
      const target = members.get(_hex(change.memberId));
      if (!target) _fail('not-a-member', 'no such member');
      if (target.role === 'admin' && change.role !== 'admin' && admins() === 1) _fail('last-admin', 'the last admin cannot be demoted');
      const demotion = change.role === 'reader' && target.role !== 'reader';
      if (demotion !== (change.cutoff !== undefined))
        _fail('malformed', demotion ? 'a demotion to reader records a cutoff' : 'only a demotion to reader records a cutoff');
      return;
    }
    case 'rotate':
      return;
  }
}

/**
 * Whether an op's new secret seals the previous one: every epoch-starting op but create,
 * except an add in a `since-join` group (so the joiner's walk back stops at its join).
 */
export function _carriesLineage(type: MembershipChange['type'], history: HistoryAccess): boolean {
  return type !== 'create' && !(type === 'add' && history === 'since-join');
}

/** The epoch keys an op carries: one wrap per member after the op, lineage as the group allows. */
function checkKeys(op: _DecodedOp, history: HistoryAccess, before: ReadonlyMap<string, Member>): void {
  const keys = op.keys!;
  const after = new Set(before.keys());
  _applyToIds(after, op.change);
  if (keys.wraps.length !== after.size * _WRAP_LENGTH) _fail('bad-wraps', `the op carries ${keys.wraps.length / _WRAP_LENGTH} wraps for ${after.size} members`);
  const lineage = _carriesLineage(op.change.type, history);
  if (lineage !== (keys.lineage !== undefined)) _fail('malformed', lineage ? 'the op lacks its lineage' : 'the op must not carry a lineage');
}
