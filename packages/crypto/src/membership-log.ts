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
import { _equal, _hex, _int, fromHex as _unhex } from './bytes.js';
import type { Keyring } from './keyring.js';
import type { EnvelopeAuthor, EnvelopeHeader, EnvelopeKind, MemberRole, OpenContext, VerifyContext } from './envelope.js';
import type { DeviceCertificate } from './device.js';
import {
  _fail,
  _opHash,
  _publicView,
  type _DecodedOp,
  type DeviceCutoff,
  type HistoryAccess,
  type Member,
  type MemberKeys,
  type MembershipOp,
  type PersonKeys,
} from './membership-op.js';
import { _applyToRecipients, _devicesOf, _verifyOp, type _DeviceState, type _LogState } from './membership-verify.js';

/** What happened to a member at one op: its role after it (null: removed). */
interface MemberEvent {
  index: number;
  role: MemberRole | null;
}

/** What happened to a device at one op: whether it acts for its person after it, and any cutoff. */
interface DeviceEvent {
  index: number;
  present: boolean;
  cutoff?: number | null;
}

/** A device of a member, as {@link MembershipLog.devices} lists it. */
export interface MemberDevice extends MemberKeys {
  /** 32-byte device id ({@link memberIdOf} its signing key). */
  deviceId: Uint8Array;
  /** Member id of its person. */
  personId: Uint8Array;
  /** The person's identity key (from the 24 words), its first device; else a certified device. */
  identity: boolean;
  /** The label its certificate gives ('' for the identity key). */
  label: string;
  /** Its certificate's bytes (undefined for the identity key). */
  certificate: Uint8Array | undefined;
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
  readonly #devices = new Map<string, _DeviceState>();
  readonly #devicesByPerson = new Map<string, Set<string>>();
  readonly #deviceEvents = new Map<string, { person: string; signingPublicKey: Uint8Array; events: DeviceEvent[] }>();
  readonly #revoked = new Set<string>();
  readonly #owners = new Map<string, string>();
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

  /** The current devices of a member, its identity key first, then by device id; empty for a non-member. */
  devices(memberId: Uint8Array): MemberDevice[] {
    const person = _hex(memberId);
    const ids = _devicesOf({ devicesByPerson: this.#devicesByPerson }, person);
    return ids.map((id) => this.#deviceView(id)!).sort((a, b) => Number(b.identity) - Number(a.identity));
  }

  /**
   * A current device of a current member (its identity key counts as its first device) with
   * the member's role; undefined for a key that is none, or no longer.
   */
  device(deviceId: Uint8Array): (MemberDevice & { role: MemberRole }) | undefined {
    const view = this.#deviceView(_hex(deviceId));
    return view && { ...view, role: this.#members.get(_hex(view.personId))!.role };
  }

  /**
   * The role of the member a current device belongs to; undefined for a key that is no current
   * device. What {@link device} tells of it, without copying the device's keys: a relay asks it
   * of every push.
   */
  deviceRole(deviceId: Uint8Array): MemberRole | undefined {
    const d = this.#devices.get(_hex(deviceId));
    return d && this.#members.get(d.person)!.role;
  }

  /** Whether the device was revoked in this log (revoked devices never come back). */
  wasRevoked(deviceId: Uint8Array): boolean {
    return this.#revoked.has(_hex(deviceId));
  }

  #deviceView(id: string): MemberDevice | undefined {
    const d = this.#devices.get(id);
    if (!d) return undefined;
    return {
      deviceId: _unhex(id),
      personId: _unhex(d.person),
      signingPublicKey: d.signingPublicKey.slice(),
      agreementPublicKey: d.agreementPublicKey.slice(),
      identity: !d.certificate,
      label: d.certificate?.label ?? '',
      certificate: d.certificate?.bytes.slice(),
    };
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
    return this.#roleAt(_hex(memberId), start) !== null;
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
    const device = this.#deviceEvents.get(_hex(header.author));
    if (!device) return undefined;
    let state: DeviceEvent | undefined;
    for (const event of device.events) {
      if (event.index <= index) state = event;
      else if (event.cutoff !== undefined && (event.cutoff === null || header.seq > event.cutoff))
        throw new EnvelopeError('past-cutoff', `sequence number ${header.seq} is past the device's cutoff`);
    }
    if (!state?.present) return undefined;
    const role = this.#roleAt(device.person, index);
    if (!role) return undefined;
    return { signingPublicKey: device.signingPublicKey, role };
  }

  #roleAt(person: string, index: number): MemberRole | null {
    let role: MemberRole | null = null;
    for (const event of this.#events.get(person) ?? []) {
      if (event.index > index) break;
      role = event.role;
    }
    return role;
  }

  /** @internal The recipients of each op's wraps (device ids, hex, sorted), replayed from genesis, for recovery. */
  _recipientsAfterEachOp(): string[][] {
    const current = new Map<string, string>();
    return this.#ops.map((op) => {
      _applyToRecipients(current, op.change);
      return sortedIds(current.keys());
    });
  }

  /** @internal The state an op is verified against (read only). */
  _state(): _LogState {
    return { ops: this.#ops, byHash: this.#byHash, members: this.#members, devices: this.#devices, devicesByPerson: this.#devicesByPerson, revoked: this.#revoked, owners: this.#owners, admins: this.#admins, history: this.#history };
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
    const op = await _verifyOp(bytes, this._state(), verified);
    this.#commit(op);
    return _publicView(op);
  }

  #commit(op: _DecodedOp): void {
    const index = this.#ops.length;
    const role = (person: string, role: MemberRole | null) => {
      const list = this.#events.get(person);
      if (list) list.push({ index, role });
      else this.#events.set(person, [{ index, role }]);
    };
    const deviceEvent = (id: string, person: string, keys: MemberKeys, event: DeviceEvent) => {
      const entry = this.#deviceEvents.get(id);
      if (entry) entry.events.push(event);
      else {
        this.#deviceEvents.set(id, { person, signingPublicKey: keys.signingPublicKey, events: [event] });
        this.#owners.set(id, person);
      }
    };
    const addDevice = (id: string, device: _DeviceState) => {
      this.#devices.set(id, device);
      const ids = this.#devicesByPerson.get(device.person);
      if (ids) ids.add(id);
      else this.#devicesByPerson.set(device.person, new Set([id]));
    };
    const join = (p: PersonKeys, r: MemberRole) => {
      const person = _hex(p.memberId);
      this.#members.set(person, { memberId: p.memberId, signingPublicKey: p.signingPublicKey, agreementPublicKey: p.agreementPublicKey, role: r });
      if (r === 'admin') this.#admins++;
      role(person, r);
      addDevice(person, { person, signingPublicKey: p.signingPublicKey, agreementPublicKey: p.agreementPublicKey, certificate: undefined });
      deviceEvent(person, person, p, { index, present: true });
      for (const d of p.devices) certify(d);
    };
    const certify = (d: DeviceCertificate) => {
      const id = _hex(d.deviceId);
      addDevice(id, { person: _hex(d.personId), signingPublicKey: d.signingPublicKey, agreementPublicKey: d.agreementPublicKey, certificate: d });
      deviceEvent(id, _hex(d.personId), d, { index, present: true });
    };
    const cut = (cutoffs: readonly DeviceCutoff[], present: boolean) => {
      for (const { deviceId, cutoff } of cutoffs) {
        const id = _hex(deviceId);
        const device = this.#devices.get(id)!;
        deviceEvent(id, device.person, device, { index, present, cutoff });
        if (!present) {
          this.#devices.delete(id);
          const others = this.#devicesByPerson.get(device.person)!;
          others.delete(id);
          if (others.size === 0) this.#devicesByPerson.delete(device.person);
        }
      }
    };
    const change = op.change;
    switch (change.type) {
      case 'create':
        this.#history = change.history;
        for (const m of change.members) join(m, m.role);
        break;
      case 'add':
        join(change.member, change.role);
        break;
      case 'remove': {
        const person = _hex(change.memberId);
        if (this.#members.get(person)!.role === 'admin') this.#admins--;
        this.#members.delete(person);
        role(person, null);
        cut(change.cutoffs, false);
        break;
      }
      case 'set-role': {
        const person = _hex(change.memberId);
        const m = this.#members.get(person)!;
        if (m.role === 'admin') this.#admins--;
        if (change.role === 'admin') this.#admins++;
        this.#members.set(person, { ...m, role: change.role });
        role(person, change.role);
        if (change.cutoffs) cut(change.cutoffs, true);
        break;
      }
      case 'certify-device':
        certify(change.device);
        break;
      case 'revoke-device':
        this.#revoked.add(_hex(change.deviceId));
        cut([{ deviceId: change.deviceId, cutoff: change.cutoff }], false);
        break;
      case 'rotate':
        break;
    }
    this.#ops.push(op);
    this.#byHash.set(_hex(op.hash), index);
    if (op.keys) this.#epochStart.set(op.epoch, index);
  }
}
