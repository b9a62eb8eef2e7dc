/**
 * The membership log of a group: a hash-chained list of signed ops, documented byte by byte
 * in docs/membership.md.
 *
 * - create(members, history) starts epoch 0; add, remove and rotate each start the next
 *   epoch with a fresh 32-byte secret wrapped to every member after the op (HPKE, one wrap
 *   per member in member-id order); set-role keeps the epoch.
 * - Only admins author ops; the last admin cannot be removed or demoted.
 * - A removal (and a demotion to reader) records a cutoff: the highest sequence number of
 *   the member's envelopes the admin accepted. Envelopes past it are refused, whatever
 *   epoch they claim.
 * - Ops are applied in log order only (never by their timestamps); an op must name the
 *   current head as predecessor (`stale-head` otherwise: rebase it with {@link rebaseOp}).
 *   A chain that differs from one already seen is a `fork`.
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoInputError, EnvelopeError, MembershipError, type MembershipErrorCode } from './errors.js';
import { _bytes, _concat, _equal, _hex, _int, _Reader, _u32, _u64, _utf8, _wipe } from './bytes.js';
import { _memberIdOfChecked, Identity, memberIdOf } from './identity.js';
import { ID_LENGTH, MAX_EPOCH, type Keyring } from './keyring.js';
import type { EnvelopeAuthor, EnvelopeHeader, EnvelopeKind, MemberRole, OpenContext, VerifyContext } from './envelope.js';
import { _assertAgreementPublicKey } from './primitives.js';
import { signMessage, verifyMessage } from './signature.js';
import { _checkEpochSecret, _epochCommitment, _LINEAGE_LENGTH, _openLineage, _sealLineage, _unwrapSecret, _WRAP_LENGTH, _wrapSecret } from './epochs.js';

/** The only op format version this code writes and reads. */
export const MEMBERSHIP_OP_VERSION = 1;
/** Whether members who join later may read what was written before they joined. */
export type HistoryAccess = 'all' | 'since-join';
/** The public keys that make someone addressable as a member (an {@link Identity} has them). */
export interface MemberKeys {
  /** 32-byte Ed25519 public key. */
  signingPublicKey: Uint8Array;
  /** 32-byte X25519 public key that epoch secrets are wrapped to. */
  agreementPublicKey: Uint8Array;
}
/** A current member of a group. */
export interface Member extends MemberKeys {
  /** 32-byte member id, {@link memberIdOf} the signing key. */
  memberId: Uint8Array;
  role: MemberRole;
}
/** What an op changes. Cutoffs: the highest accepted sequence number, null when none was. */
export type MembershipChange =
  | { type: 'create'; history: HistoryAccess; salt: Uint8Array; members: readonly (MemberKeys & { memberId: Uint8Array; role: MemberRole })[] }
  | { type: 'add'; member: MemberKeys & { memberId: Uint8Array }; role: MemberRole }
  | { type: 'remove'; memberId: Uint8Array; cutoff: number | null }
  | { type: 'set-role'; memberId: Uint8Array; role: MemberRole; cutoff?: number | null }
  | { type: 'rotate' };
/** A decoded op, as {@link readMembershipOp} and {@link MembershipLog.opAt} show it. */
export interface MembershipOp {
  /** SHA-256 over "sealdoc/v1/op" and the op's bytes: the id later ops name as predecessor. */
  hash: Uint8Array;
  groupId: Uint8Array;
  /** Hash of the predecessor; 32 zero bytes for create. */
  prev: Uint8Array;
  /** The epoch in force after this op. */
  epoch: number;
  /** Member id of the admin who signed it. */
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
interface DecodedOp extends MembershipOp {
  keys: EpochKeys | undefined;
  bytes: Uint8Array;
  signed: Uint8Array;
  signature: Uint8Array;
}
/** What happened to a member at one op: its role after it (null: removed), and any cutoff. */
interface MemberEvent {
  index: number;
  role: MemberRole | null;
  keys: MemberKeys;
  cutoff?: number | null;
}

const TYPES = ['create', 'add', 'remove', 'set-role', 'rotate'] as const;
const ROLES: readonly MemberRole[] = ['admin', 'writer', 'reader'];
const HISTORIES: readonly HistoryAccess[] = ['since-join', 'all'];
const SIGNATURE_CONTEXT = 'membership-op';
const OP_HASH_LABEL = _utf8('sealdoc/v1/op');
const ZERO_HASH = new Uint8Array(32);
const MAX_MEMBERS = 100_000;
const GROUP_SALT_LENGTH = 16;
const GROUP_ID_LABEL = _utf8('sealdoc/v1/group-id');

/**
 * A group's id commits to its creator: the first 16 bytes of SHA-256("sealdoc/v1/group-id"
 * || creator's Ed25519 key || salt). Only the creator's key can sign a create op for it, so
 * no one (a relay included) can substitute a different genesis under the same id.
 */
function groupIdOf(creatorSigningKey: Uint8Array, salt: Uint8Array): Uint8Array {
  return sha256(_concat(GROUP_ID_LABEL, creatorSigningKey, salt)).subarray(0, ID_LENGTH);
}

function fail(code: MembershipErrorCode, message: string, ops: readonly string[] = []): never {
  throw new MembershipError(code, message, ops);
}

function opHash(bytes: Uint8Array): Uint8Array {
  return sha256(_concat(OP_HASH_LABEL, bytes));
}

function cutoffField(cutoff: number | null): Uint8Array {
  return _u64(cutoff === null ? 0 : cutoff + 1);
}

// A cutoff is stored as seq + 1, so that every sequence number an envelope may carry (up to
// 2^53 - 1) can be a cutoff: the field reaches 2^53. A writer cannot outrun its removal.
const MAX_CUTOFF_FIELD = Number.MAX_SAFE_INTEGER + 1;

function readCutoff(r: _Reader): number | null {
  const v = r.u64(MAX_CUTOFF_FIELD);
  return v === 0 ? null : v - 1;
}

function readRole(r: _Reader): MemberRole {
  const role = ROLES[r.u8() - 1];
  if (!role) fail('malformed', 'unknown role');
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
    if (error instanceof CryptoInputError) fail('bad-key', `a member key is invalid: ${error.message}`);
    throw error;
  }
  return { signingPublicKey, agreementPublicKey, memberId };
}

function memberKeyBytes(keys: MemberKeys): Uint8Array {
  return _concat(_bytes(keys.signingPublicKey, 'signingPublicKey', 32), _bytes(keys.agreementPublicKey, 'agreementPublicKey', 32));
}

function decodeOp(bytes: Uint8Array, checked = false): DecodedOp {
  if (!(bytes instanceof Uint8Array)) fail('malformed', 'an op must be a Uint8Array');
  const r = new _Reader(bytes, (why) => fail('malformed', `op ${why}`));
  const version = r.u8();
  if (version !== MEMBERSHIP_OP_VERSION) fail('unsupported-version', `op version ${version} is not supported`);
  const type = TYPES[r.u8() - 1];
  if (!type) fail('malformed', 'unknown op type');
  const groupId = r.take(ID_LENGTH).slice();
  const prev = r.take(32).slice();
  const epoch = r.u32();
  const author = r.take(32).slice();
  const time = r.u64();
  let change: MembershipChange;
  switch (type) {
    case 'create': {
      const history = HISTORIES[r.u8()];
      if (!history) fail('malformed', 'unknown history setting');
      const salt = r.take(GROUP_SALT_LENGTH).slice();
      const count = r.u32();
      if (count < 1 || count > MAX_MEMBERS) fail('malformed', 'member count out of range');
      const members = [];
      for (let i = 0; i < count; i++) {
        const keys = readMemberKeys(r, checked);
        members.push({ ...keys, role: readRole(r) });
      }
      change = { type, history, salt, members };
      break;
    }
    case 'add': {
      const member = readMemberKeys(r, checked);
      change = { type, member, role: readRole(r) };
      break;
    }
    case 'remove':
      change = { type, memberId: r.take(32).slice(), cutoff: readCutoff(r) };
      break;
    case 'set-role': {
      const memberId = r.take(32).slice();
      const role = readRole(r);
      const flag = r.u8();
      if (flag > 1) fail('malformed', 'bad cutoff flag');
      change = flag === 1 ? { type, memberId, role, cutoff: readCutoff(r) } : { type, memberId, role };
      break;
    }
    case 'rotate':
      change = { type };
      break;
  }
  let keys: EpochKeys | undefined;
  if (type !== 'set-role') {
    const commitment = r.take(32).slice();
    const flag = r.u8();
    if (flag > 1) fail('malformed', 'bad lineage flag');
    const lineage = flag === 1 ? r.take(_LINEAGE_LENGTH).slice() : undefined;
    const count = r.u32();
    if (count > MAX_MEMBERS) fail('malformed', 'too many wraps');
    keys = { commitment, lineage, wraps: r.take(count * _WRAP_LENGTH).slice() };
  }
  const signedLength = r.position;
  const signature = r.take(64).slice();
  r.end();
  return { hash: opHash(bytes), groupId, prev, epoch, author, time, change, keys, bytes, signed: bytes.subarray(0, signedLength), signature };
}

function publicView(op: DecodedOp): MembershipOp {
  const { hash, groupId, prev, epoch, author, time, change } = op;
  return { hash, groupId, prev, epoch, author, time, change };
}

/**
 * Parses an op without checking its signature or its place in a log; for routing and
 * display. Throws MembershipError (malformed, unsupported-version, bad-key).
 */
export function readMembershipOp(bytes: Uint8Array): MembershipOp {
  return publicView(decodeOp(bytes));
}

function copyMember(m: Member): Member {
  return { memberId: m.memberId.slice(), signingPublicKey: m.signingPublicKey.slice(), agreementPublicKey: m.agreementPublicKey.slice(), role: m.role };
}

function sortedIds(ids: Iterable<string>): string[] {
  return [...ids].sort();
}

/**
 * A group's verified membership log and the state it produces. Build one with
 * {@link MembershipLog.fromOps}; extend it with {@link MembershipLog.append} (one op) or
 * {@link MembershipLog.sync} (a remote copy). Failed calls change nothing.
 */
export class MembershipLog {
  readonly #ops: DecodedOp[] = [];
  readonly #byHash = new Map<string, number>();
  readonly #members = new Map<string, Member>();
  readonly #events = new Map<string, MemberEvent[]>();
  readonly #epochStart = new Map<number, number>();
  // How many of the current members are admins (kept as ops apply, so no op counts them).
  #admins = 0;
  #history: HistoryAccess = 'since-join';
  #queue: Promise<unknown> = Promise.resolve();

  private constructor() {}

  /**
   * Verifies a whole log from its create op and returns it. With `expectedHead` (a head
   * seen before, e.g. in an envelope or a stored copy), a log that does not reach it
   * (withheld or rolled back) is refused as `truncated`.
   */
  static async fromOps(ops: readonly Uint8Array[], options: { expectedHead?: Uint8Array } = {}): Promise<MembershipLog> {
    const log = new MembershipLog();
    for (const op of ops) await log.append(op);
    return log.#done(options.expectedHead);
  }

  /**
   * Rebuilds a log from ops this process verified before, or its own store kept after they
   * were verified (a relay reading back what it stored): the chain, the epochs and every rule
   * are checked again, but not the signatures nor the member keys, which cost most (a
   * signature per op, a point decompression per member). Never for ops from anyone else.
   */
  static async fromVerifiedOps(ops: readonly Uint8Array[]): Promise<MembershipLog> {
    const log = new MembershipLog();
    for (const op of ops) await log.#apply(op, true);
    return log.#done();
  }

  #done(expectedHead?: Uint8Array): MembershipLog {
    const log = this;
    if (log.#ops.length === 0) fail('not-genesis', 'a log starts with a create op');
    if (expectedHead && !log.#byHash.has(_hex(expectedHead)))
      fail('truncated', 'the log does not reach the head expected of it (withheld or rolled back)');
    return log;
  }

  /** 16-byte group id. */
  get groupId(): Uint8Array {
    return this.#genesis().groupId.slice();
  }
  /** The current epoch. */
  get epoch(): number {
    return this.#last().epoch;
  }
  /** Hash of the newest op. */
  get head(): Uint8Array {
    return this.#last().hash.slice();
  }
  /** Number of ops. */
  get length(): number {
    return this.#ops.length;
  }
  /** The group's history setting, fixed at creation. */
  get history(): HistoryAccess {
    return this.#history;
  }
  /** Author's timestamp of the op that started the current epoch (ms since 1970). */
  get epochStartedAt(): number {
    return this.#ops[this.#epochStart.get(this.epoch)!]!.time;
  }
  /** Current members, ordered by member id (copies: changing them changes nothing here). */
  members(): Member[] {
    return sortedIds(this.#members.keys()).map((id) => copyMember(this.#members.get(id)!));
  }
  /** A current member, or undefined. */
  member(memberId: Uint8Array): Member | undefined {
    const m = this.#members.get(_hex(memberId));
    return m && copyMember(m);
  }
  /** Copies of the ops' bytes from index `start` to before `end` (all of them by default), in order: what to store or send. */
  ops(start = 0, end = this.#ops.length): Uint8Array[] {
    return this.#ops.slice(start, end).map((op) => op.bytes.slice());
  }
  /** The length in bytes of the op at `index` (what sending it costs, without copying it). */
  opByteLength(index: number): number {
    const op = this.#ops[index];
    if (!op) throw new CryptoInputError(`no op at index ${index}`);
    return op.bytes.length;
  }

  /** The decoded op at `index` (a copy: changing it changes nothing here). */
  opAt(index: number): MembershipOp {
    const op = this.#ops[index];
    if (!op) throw new CryptoInputError(`no op at index ${index}`);
    // A deep copy, without decoding and re-validating every member key again.
    return structuredClone(publicView(op));
  }
  /**
   * Whether `memberId` was a member once the op that started `epoch` was applied: whether that
   * op wrapped the epoch's secret to it. False for an epoch the log does not have.
   */
  wasMemberAt(memberId: Uint8Array, epoch: number): boolean {
    const start = this.#epochStart.get(epoch);
    if (start === undefined) return false;
    let role: MemberRole | null = null;
    for (const event of this.#events.get(_hex(memberId)) ?? []) {
      if (event.index > start) break;
      role = event.role;
    }
    return role !== null;
  }

  /** The head the log had at `length` ops (the hash of op `length - 1`), or undefined past its end. */
  headAt(length: number): Uint8Array | undefined {
    return length >= 1 ? this.#ops[length - 1]?.hash.slice() : undefined;
  }

  /** Index of the op with this hash, or undefined. */
  indexOf(hash: Uint8Array): number | undefined {
    return this.#byHash.get(_hex(hash));
  }

  /**
   * Verifies one op against the current state and applies it. Throws MembershipError:
   * `stale-head` when it builds on an older op (ops names it and the op already there:
   * rebase it), `unknown-predecessor`, `duplicate`, `bad-signature`, `not-admin`, ...
   * Calls are serialized; a refused op changes nothing.
   */
  append(op: Uint8Array): Promise<MembershipOp> {
    const run = this.#queue.then(() => this.#apply(op));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Brings this log up to date with a remote copy whose ops start at `fromIndex`. Ops
   * already held must be identical: a different op at a position already seen is a `fork`
   * (ops names the remote op, then ours), never accepted. Returns how many ops were added.
   */
  sync(remote: readonly Uint8Array[], fromIndex = 0): Promise<number> {
    // Serialized with appends, so that two copies arriving at once cannot both add an op.
    const run = this.#queue.then(() => this.#sync(remote, fromIndex));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #sync(remote: readonly Uint8Array[], fromIndex: number): Promise<number> {
    _int(fromIndex, 'fromIndex', 0, Number.MAX_SAFE_INTEGER);
    if (fromIndex > this.#ops.length) fail('unknown-predecessor', `the remote ops start at ${fromIndex}, past the ${this.#ops.length} held`);
    let added = 0;
    for (let i = 0; i < remote.length; i++) {
      const index = fromIndex + i;
      const ours = this.#ops[index];
      if (ours) {
        const theirs = remote[i]!;
        if (!_equal(theirs, ours.bytes)) {
          const theirHash = theirs instanceof Uint8Array ? _hex(opHash(theirs)) : 'not-bytes';
          fail('fork', `the remote log differs at op ${index}: a fork`, [theirHash, _hex(ours.hash)]);
        }
        continue;
      }
      await this.#apply(remote[i]!);
      added++;
    }
    return added;
  }

  /**
   * An {@link OpenContext} that binds envelopes to this log: the head an envelope names must
   * be one of its ops (`unknown-head`), its epoch the epoch at that op (`wrong-epoch`), its
   * author a member there (`not-a-member`) and a writer or admin (`not-a-writer`), and its
   * sequence number within every cutoff recorded for the author after that op (`past-cutoff`).
   */
  envelopeContext(keyring: Keyring, options: { docId?: Uint8Array; kinds?: readonly EnvelopeKind[] } = {}): OpenContext {
    return { ...this.verifyContext(options), keyring };
  }

  /** The same checks without keys: for a relay, which verifies but never decrypts. */
  verifyContext(options: { docId?: Uint8Array; kinds?: readonly EnvelopeKind[] } = {}): VerifyContext {
    return {
      groupId: this.groupId,
      ...(options.docId ? { docId: options.docId } : {}),
      ...(options.kinds ? { kinds: options.kinds } : {}),
      author: (header) => this.#envelopeAuthor(header),
    };
  }

  #envelopeAuthor(header: EnvelopeHeader): EnvelopeAuthor | undefined {
    const index = this.#byHash.get(_hex(header.head));
    if (index === undefined) throw new EnvelopeError('unknown-head', 'the envelope names a membership head this log does not have');
    if (this.#ops[index]!.epoch !== header.epoch)
      throw new EnvelopeError('wrong-epoch', `the envelope claims epoch ${header.epoch} but its head is in epoch ${this.#ops[index]!.epoch}`);
    const events = this.#events.get(_hex(header.author));
    if (!events) return undefined;
    let state: MemberEvent | undefined;
    for (const event of events) {
      if (event.index <= index) state = event;
      else if (event.cutoff !== undefined && (event.cutoff === null || header.seq > event.cutoff))
        throw new EnvelopeError('past-cutoff', `sequence number ${header.seq} is past the author's cutoff`);
    }
    if (!state || state.role === null) return undefined;
    return { signingPublicKey: state.keys.signingPublicKey, role: state.role };
  }

  /** @internal Member ids (hex, sorted) after each op, replayed from genesis, for recovery. */
  _membersAfterEachOp(): string[][] {
    const current = new Set<string>();
    return this.#ops.map((op) => {
      applyToIds(current, op.change);
      return sortedIds(current);
    });
  }

  /** @internal */
  _decoded(index: number): DecodedOp {
    return this.#ops[index]!;
  }

  /** @internal The index of the op that started `epoch`. */
  _epochStart(epoch: number): number | undefined {
    return this.#epochStart.get(epoch);
  }

  #genesis(): DecodedOp {
    const op = this.#ops[0];
    if (!op) throw new CryptoInputError('the log is empty');
    return op;
  }

  #last(): DecodedOp {
    return this.#ops[this.#ops.length - 1] ?? this.#genesis();
  }

  async #apply(bytes: Uint8Array, verified = false): Promise<MembershipOp> {
    // A second create is refused before its member keys are read (they may be many).
    if (this.#ops.length > 0 && bytes instanceof Uint8Array && bytes[1] === TYPE_CODE.create) fail('malformed', 'a group has one create op');
    const op = decodeOp(bytes, verified);
    const hashHex = _hex(op.hash);
    const first = this.#ops.length === 0;
    if (first) {
      if (op.change.type !== 'create') fail('not-genesis', 'a log starts with a create op');
      if (!_equal(op.prev, ZERO_HASH)) fail('malformed', 'a create op has no predecessor');
    } else {
      if (this.#byHash.has(hashHex)) fail('duplicate', 'this op is already in the log', [hashHex]);
      if (!_equal(op.groupId, this.groupId)) fail('wrong-group', 'the op belongs to another group');
      if (!_equal(op.prev, this.head)) {
        const at = this.#byHash.get(_hex(op.prev));
        if (at === undefined) fail('unknown-predecessor', 'the op builds on an op this log does not have');
        fail('stale-head', 'the op builds on an older head: rebase it', [hashHex, _hex(this.#ops[at + 1]!.hash)]);
      }
      if (op.change.type === 'create') fail('malformed', 'a group has one create op');
    }
    const signer = this.#signer(op);
    if (!verified && !(await verifyMessage(signer, SIGNATURE_CONTEXT, op.signed, op.signature))) fail('bad-signature', 'the op signature does not verify');
    const previousEpoch = first ? -1 : this.epoch;
    checkEpoch(op, previousEpoch);
    checkChange(this.#members, op.change, this.#admins);
    if (op.keys) checkKeys(op, this.#history, this.#members);
    this.#commit(op);
    return publicView(op);
  }

  #signer(op: DecodedOp): Uint8Array {
    if (op.change.type === 'create') {
      const creator = op.change.members.find((m) => _equal(m.memberId, op.author));
      if (!creator || creator.role !== 'admin') fail('not-admin', 'the creator must be an admin of the group');
      if (!_equal(op.groupId, groupIdOf(creator.signingPublicKey, op.change.salt))) fail('wrong-group', 'the group id does not commit to this creator');
      return creator.signingPublicKey;
    }
    const author = this.#members.get(_hex(op.author));
    if (!author || author.role !== 'admin') fail('not-admin', 'only an admin may change membership');
    return author.signingPublicKey;
  }

  #commit(op: DecodedOp): void {
    const index = this.#ops.length;
    const record = (memberId: Uint8Array, role: MemberRole | null, keys: MemberKeys, cutoff?: number | null) => {
      const id = _hex(memberId);
      const event: MemberEvent = { index, role, keys, ...(cutoff !== undefined ? { cutoff } : {}) };
      const list = this.#events.get(id);
      if (list) list.push(event);
      else this.#events.set(id, [event]);
      if (this.#members.get(id)?.role === 'admin') this.#admins--;
      if (role === 'admin') this.#admins++;
      if (role === null) this.#members.delete(id);
      else this.#members.set(id, { memberId, signingPublicKey: keys.signingPublicKey, agreementPublicKey: keys.agreementPublicKey, role });
    };
    const change = op.change;
    switch (change.type) {
      case 'create':
        this.#history = change.history;
        for (const m of change.members) record(m.memberId, m.role, m);
        break;
      case 'add':
        record(change.member.memberId, change.role, change.member);
        break;
      case 'remove': {
        const m = this.#members.get(_hex(change.memberId))!;
        record(change.memberId, null, m, change.cutoff);
        break;
      }
      case 'set-role': {
        const m = this.#members.get(_hex(change.memberId))!;
        record(change.memberId, change.role, m, change.cutoff);
        break;
      }
      case 'rotate':
        break;
    }
    this.#ops.push(op);
    this.#byHash.set(_hex(op.hash), index);
    if (op.keys) this.#epochStart.set(op.epoch, index);
  }
}

function applyToIds(ids: Set<string>, change: MembershipChange): void {
  if (change.type === 'create') for (const m of change.members) ids.add(_hex(m.memberId));
  else if (change.type === 'add') ids.add(_hex(change.member.memberId));
  else if (change.type === 'remove') ids.delete(_hex(change.memberId));
}

function checkEpoch(op: DecodedOp, previousEpoch: number): void {
  const expected = op.keys ? previousEpoch + 1 : previousEpoch;
  if (op.epoch !== expected || op.epoch > MAX_EPOCH) fail('bad-epoch', `the op claims epoch ${op.epoch}, expected ${expected}`);
}

/**
 * The rules every change must satisfy against the members before it; shared by builders and
 * verifiers. `adminCount`, when the caller keeps it, saves counting the admins.
 */
function checkChange(members: ReadonlyMap<string, Member>, change: MembershipChange, adminCount?: number): void {
  const admins = () => adminCount ?? [...members.values()].filter((m) => m.role === 'admin').length;
  switch (change.type) {
    case 'create': {
      const ids = new Set(change.members.map((m) => _hex(m.memberId)));
      if (ids.size !== change.members.length) fail('already-member', 'a member is listed twice');
      return;
    }
    case 'add':
      if (members.has(_hex(change.member.memberId))) fail('already-member', 'already a member');
      return;
    case 'remove': {
      const target = members.get(_hex(change.memberId));
      if (!target) fail('not-a-member', 'no such member to remove');
      if (target.role === 'admin' && admins() === 1) fail('last-admin', 'the last admin cannot be removed');
      return;
    }
    case 'set-role': {
      const target = members.get(_hex(change.memberId));
      if (!target) fail('not-a-member', 'no such member');
      if (target.role === 'admin' && change.role !== 'admin' && admins() === 1) fail('last-admin', 'the last admin cannot be demoted');
      const demotion = change.role === 'reader' && target.role !== 'reader';
      if (demotion !== (change.cutoff !== undefined))
        fail('malformed', demotion ? 'a demotion to reader records a cutoff' : 'only a demotion to reader records a cutoff');
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
function carriesLineage(type: MembershipChange['type'], history: HistoryAccess): boolean {
  return type !== 'create' && !(type === 'add' && history === 'since-join');
}

/** The epoch keys an op carries: one wrap per member after the op, lineage as the group allows. */
function checkKeys(op: DecodedOp, history: HistoryAccess, before: ReadonlyMap<string, Member>): void {
  const keys = op.keys!;
  const after = new Set(before.keys());
  applyToIds(after, op.change);
  if (keys.wraps.length !== after.size * _WRAP_LENGTH) fail('bad-wraps', `the op carries ${keys.wraps.length / _WRAP_LENGTH} wraps for ${after.size} members`);
  const lineage = carriesLineage(op.change.type, history);
  if (lineage !== (keys.lineage !== undefined)) fail('malformed', lineage ? 'the op lacks its lineage' : 'the op must not carry a lineage');
}

// Building ops

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

const TYPE_CODE: Record<MembershipChange['type'], number> = { create: 1, add: 2, remove: 3, 'set-role': 4, rotate: 5 };
const ROLE_CODE: Record<MemberRole, number> = { admin: 1, writer: 2, reader: 3 };

function checkRole(role: MemberRole): void {
  if (!ROLES.includes(role)) throw new CryptoInputError('role must be admin, writer or reader');
}

function checkCutoff(cutoff: number | null): void {
  if (cutoff !== null) _int(cutoff, 'cutoff', 0, Number.MAX_SAFE_INTEGER);
}

function checkTime(time: number): number {
  return _int(time, 'now', 0, Number.MAX_SAFE_INTEGER);
}

async function finish(d: Draft, keys: Uint8Array | undefined): Promise<Uint8Array> {
  const signed = _concat(
    Uint8Array.of(MEMBERSHIP_OP_VERSION, TYPE_CODE[d.type]),
    d.groupId,
    d.prev,
    _u32(d.epoch),
    d.author.memberId,
    _u64(d.time),
    d.body,
    keys ?? new Uint8Array(0),
  );
  return _concat(signed, await signMessage(d.author, SIGNATURE_CONTEXT, signed));
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
  if (log.member(by.admin.memberId)?.role !== 'admin') fail('not-admin', 'only an admin may change membership');
}

function previousSecret(log: MembershipLog, by: OpAuthor): Uint8Array {
  const secret = by.keyring._secret(log.groupId, log.epoch);
  if (!secret) fail('missing-secret', `the keyring lacks the secret of epoch ${log.epoch}; unlock it first`);
  return secret;
}

/** The change as it would be recorded, run through the same rules a verifier applies. */
async function keyOp(log: MembershipLog, by: OpAuthor, change: MembershipChange, body: Uint8Array): Promise<Uint8Array> {
  requireAdmin(log, by);
  const current = new Map(log.members().map((m) => [_hex(m.memberId), m]));
  checkChange(current, change);
  const after = new Map(current);
  if (change.type === 'add') after.set(_hex(change.member.memberId), { ...change.member, role: change.role });
  if (change.type === 'remove') after.delete(_hex(change.memberId));
  const epoch = log.epoch + 1;
  if (epoch > MAX_EPOCH) fail('bad-epoch', 'the group has used every epoch number');
  const previous = carriesLineage(change.type, log.history) ? previousSecret(log, by) : undefined;
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
  if (!HISTORIES.includes(history)) throw new CryptoInputError('history must be all or since-join');
  const salt = randomBytes(GROUP_SALT_LENGTH);
  const groupId = groupIdOf(creator.signingPublicKey, salt);
  const founders = [{ keys: creator as MemberKeys, role: 'admin' as MemberRole }, ...(options.members ?? [])];
  const members: Member[] = founders.map(({ keys, role }) => {
    checkRole(role);
    _assertAgreementPublicKey(keys.agreementPublicKey);
    return { memberId: memberIdOf(keys.signingPublicKey), signingPublicKey: keys.signingPublicKey, agreementPublicKey: keys.agreementPublicKey, role };
  });
  checkChange(new Map(), { type: 'create', history, salt, members });
  const body = _concat(
    Uint8Array.of(HISTORIES.indexOf(history)),
    salt,
    _u32(members.length),
    ...members.map((m) => _concat(memberKeyBytes(m), Uint8Array.of(ROLE_CODE[m.role]))),
  );
  const keys = await epochKeys(groupId, 0, sortMembers(members), undefined);
  return finish({ groupId, prev: ZERO_HASH, epoch: 0, author: creator, time: checkTime(options.now ?? Date.now()), body, type: 'create' }, keys);
}

/** An op adding `member` with `role`: a new epoch wrapped to everyone including the newcomer. */
export async function addMember(log: MembershipLog, by: OpAuthor, member: MemberKeys, role: MemberRole): Promise<Uint8Array> {
  checkRole(role);
  let memberId: Uint8Array;
  try {
    memberId = memberIdOf(member.signingPublicKey);
    _assertAgreementPublicKey(member.agreementPublicKey);
  } catch (error) {
    if (error instanceof CryptoInputError) fail('bad-key', error.message);
    throw error;
  }
  const keys = { signingPublicKey: member.signingPublicKey, agreementPublicKey: member.agreementPublicKey };
  return keyOp(log, by, { type: 'add', member: { ...keys, memberId }, role }, _concat(memberKeyBytes(keys), Uint8Array.of(ROLE_CODE[role])));
}

/**
 * An op removing a member: the member is dropped and the new epoch's secret is wrapped to
 * the others in the same signed op (rotate before revoke). `cutoff` is the member's highest
 * sequence number the admin accepted, or null when none was.
 */
export async function removeMember(log: MembershipLog, by: OpAuthor, memberId: Uint8Array, cutoff: number | null): Promise<Uint8Array> {
  _bytes(memberId, 'memberId', 32);
  checkCutoff(cutoff);
  return keyOp(log, by, { type: 'remove', memberId, cutoff }, _concat(memberId, cutoffField(cutoff)));
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
  checkChange(new Map(log.members().map((m) => [_hex(m.memberId), m])), change);
  const body = _concat(memberId, Uint8Array.of(ROLE_CODE[role]), cutoff === undefined ? Uint8Array.of(0) : _concat(Uint8Array.of(1), cutoffField(cutoff)));
  return finish({ groupId: log.groupId, prev: log.head, epoch: log.epoch, author: by.admin, time: checkTime(by.now ?? Date.now()), body, type: 'set-role' }, undefined);
}

/**
 * Rebuilds an op that was refused as `stale-head` onto the log's current head: same intent,
 * new epoch secret and wraps for the members as they are now. Throws MembershipError when
 * the intent no longer applies (e.g. `not-a-member`: someone else removed the member).
 */
export async function rebaseOp(op: Uint8Array, log: MembershipLog, by: OpAuthor): Promise<Uint8Array> {
  const decoded = decodeOp(op);
  if (!_equal(decoded.groupId, log.groupId)) fail('wrong-group', 'the op belongs to another group');
  if (!_equal(decoded.author, by.admin.memberId)) fail('not-admin', 'only the op\'s author can rebase it');
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
      return fail('malformed', 'a create op has nothing to rebase onto');
  }
}

// Unlocking epoch secrets

/**
 * Adds to `keyring` every epoch secret of the group that `identity` is entitled to: the
 * epochs it was a member of (its own wraps) and, walking the lineage back from those, the
 * earlier epochs the group's history setting lets it read. Nothing else is derivable: a
 * removed member has no wrap in later epochs, and a lineage only leads backwards.
 * Each secret is checked against the op's commitment (`bad-secret` if an admin cheated).
 * Returns the epochs added, ascending. Serves both live updates and recovery on a new device.
 */
export async function unlockEpochSecrets(log: MembershipLog, identity: Identity, keyring: Keyring): Promise<number[]> {
  if (!(identity instanceof Identity)) throw new CryptoInputError('identity must be an Identity');
  const groupId = log.groupId;
  const me = _hex(identity.memberId);
  const added: number[] = [];
  const membersAfter = log._membersAfterEachOp();
  const pending: Promise<void>[] = [];
  for (let index = 0; index < log.length; index++) {
    const op = log._decoded(index);
    if (!op.keys || keyring.has(groupId, op.epoch)) continue;
    const position = binarySearch(membersAfter[index]!, me);
    if (position < 0) continue;
    const wrap = op.keys.wraps.subarray(position * _WRAP_LENGTH, (position + 1) * _WRAP_LENGTH);
    pending.push(
      _unwrapSecret(wrap, groupId, op.epoch, identity.memberId, identity).then((secret) => {
        if (!secret || !_checkEpochSecret(secret, groupId, op.epoch, op.keys!.commitment))
          fail('bad-secret', `the epoch ${op.epoch} secret wrapped to you does not match the op's commitment`);
        keyring.add(groupId, op.epoch, secret);
        _wipe(secret);
        added.push(op.epoch);
      }),
    );
  }
  await Promise.all(pending);
  for (let epoch = log.epoch; epoch > 0; epoch--) {
    if (keyring.has(groupId, epoch - 1)) continue;
    const newer = keyring._secret(groupId, epoch);
    const lineage = log._decoded(log._epochStart(epoch)!).keys!.lineage;
    if (!newer || !lineage) continue;
    const older = _openLineage(newer, lineage, groupId, epoch);
    const olderOp = log._decoded(log._epochStart(epoch - 1)!);
    if (!older || !_checkEpochSecret(older, groupId, epoch - 1, olderOp.keys!.commitment))
      fail('bad-secret', `the lineage of epoch ${epoch} does not lead to epoch ${epoch - 1}'s secret`);
    keyring.add(groupId, epoch - 1, older);
    _wipe(older);
    added.push(epoch - 1);
  }
  return added.sort((a, b) => a - b);
}

function binarySearch(sorted: readonly string[], value: string): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid]!;
    if (v === value) return mid;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
