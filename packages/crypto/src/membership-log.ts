/**
 * The membership log of a group: a hash-chained list of signed ops (docs/membership.md),
 * replayed in log order into the state it produces: members, roles and keys, the current
 * epoch and the head, and what each member was at every op.
 *
 * - Ops are applied in log order only (never by their timestamps), each once it passes
 *   _verifyOp; a chain that differs from one already seen is a `fork`.
 * - A removal (and a demotion to reader) records a cutoff: the highest sequence number of
 *   the member's envelopes the admin accepted. Envelopes past it are refused, whatever
 *   epoch they claim ({@link MembershipLog.envelopeContext}).
 * @module
 */
import { CryptoInputError, EnvelopeError } from './errors.js';
import { _equal, _hex, _int } from './bytes.js';
import type { Keyring } from './keyring.js';
import type { EnvelopeAuthor, EnvelopeHeader, EnvelopeKind, MemberRole, OpenContext, VerifyContext } from './envelope.js';
import { _fail, _opHash, _publicView, type _DecodedOp, type HistoryAccess, type Member, type MemberKeys, type MembershipOp } from './membership-op.js';
import { _applyToIds, _verifyOp } from './membership-verify.js';

/** What happened to a member at one op: its role after it (null: removed), and any cutoff. */
interface MemberEvent {
  index: number;
  role: MemberRole | null;
  keys: MemberKeys;
  cutoff?: number | null;
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
  readonly #ops: _DecodedOp[] = [];
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
    if (log.#ops.length === 0) _fail('not-genesis', 'a log starts with a create op');
    if (expectedHead && !log.#byHash.has(_hex(expectedHead)))
      _fail('truncated', 'the log does not reach the head expected of it (withheld or rolled back)');
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
    return structuredClone(_publicView(op));
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
    if (fromIndex > this.#ops.length) _fail('unknown-predecessor', `the remote ops start at ${fromIndex}, past the ${this.#ops.length} held`);
    let added = 0;
    for (let i = 0; i < remote.length; i++) {
      const index = fromIndex + i;
      const ours = this.#ops[index];
      if (ours) {
        const theirs = remote[i]!;
        if (!_equal(theirs, ours.bytes)) {
          const theirHash = theirs instanceof Uint8Array ? _hex(_opHash(theirs)) : 'not-bytes';
          _fail('fork', `the remote log differs at op ${index}: a fork`, [theirHash, _hex(ours.hash)]);
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
      _applyToIds(current, op.change);
      return sortedIds(current);
    });
  }

  /** @internal */
  _decoded(index: number): _DecodedOp {
    return this.#ops[index]!;
  }

  /** @internal The index of the op that started `epoch`. */
  _epochStart(epoch: number): number | undefined {
    return this.#epochStart.get(epoch);
  }

  #genesis(): _DecodedOp {
    const op = this.#ops[0];
    if (!op) throw new CryptoInputError('the log is empty');
    return op;
  }

  #last(): _DecodedOp {
    return this.#ops[this.#ops.length - 1] ?? this.#genesis();
  }

  async #apply(bytes: Uint8Array, verified = false): Promise<MembershipOp> {
    const state = { ops: this.#ops, byHash: this.#byHash, members: this.#members, admins: this.#admins, history: this.#history };
    const op = await _verifyOp(bytes, state, verified);
    this.#commit(op);
    return _publicView(op);
  }

  #commit(op: _DecodedOp): void {
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
