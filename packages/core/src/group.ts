/**
 * A member's live view of one group from one of its devices: who acts, the verified
 * membership log, the epoch secrets it holds, and its sequence numbers (sequence.ts), shared
 * by every sealed document of the group.
 * @module
 */
import {
  addDevice,
  addMember,
  Identity,
  Keyring,
  actorKeys,
  actorPersonId,
  MembershipError,
  MembershipLog,
  removeMember,
  revokeDevice,
  rotateEpoch,
  setMemberRole,
  unlockEpochSecrets,
  type Actor,
  type OpAuthor,
  type MemberKeys,
  type MemberRole,
} from '@sealdoc/crypto';
import { hex } from './bytes.js';
import { Emitter } from './events.js';
import { LeaveRotation, owesRekey, type RekeyError } from './leave-rotation.js';
import type { BackoffOptions } from './reconnect.js';
import { Sequences } from './sequence.js';
import type { Storage } from './storage.js';
import { groupOfKey, groupPrefixes, logKey } from './storage-keys.js';

/**
 * The relay a group's membership changes go through (a {@link WebSocketTransport} is one):
 * an op is appended here only once the relay stored it, so that a refused op (another admin
 * was first, a cutoff below what the relay accepted) leaves this log as the relay's.
 */
export interface GroupRelay {
  commitOps(groupId: Uint8Array, fromIndex: number, ops: readonly Uint8Array[]): Promise<void>;
  /** The highest sequence number the relay holds of a device (null: none). */
  highestSeq(groupId: Uint8Array, deviceId: Uint8Array): Promise<number | null>;
}

// A removal or revocation through a relay records first the exact highest sequence number the
// relay holds of each device, tried again this many times when the device pushed meanwhile;
// then a cutoff this far past it (a minute at the rate one identity may send): the relay
// accepts nothing new from a device once it is out, whatever the cutoff, but members would
// take what a relay forwarded up to it.
const EXACT_CUTOFF_TRIES = 3;
const CUTOFF_MARGIN = 65_536;

/** What a {@link Group} reports. */
export interface GroupEvents extends Record<string, unknown> {
  /** The log grew: new members, roles or epochs. */
  membership: { epoch: number; length: number };
  /**
   * This device no longer acts in the group: its person was removed, or (`revoked`) this
   * device was revoked. It can read nothing new and send nothing.
   */
  removed: { epoch: number; revoked: boolean };
  /**
   * What this device does for the group by itself failed: the rotation an admin device makes
   * after a member left (see {@link RekeyError}). The group's documents report it as theirs too.
   */
  error: { error: RekeyError };
}


/**
 * A member's live view of one group, from one of its devices: the signer (the person's
 * identity key pair, its first device, or a certified device), the verified log, the epoch
 * secrets this device unlocked, and its sequence numbers (per device: two devices of one
 * person never collide).
 */
export class Group {
  readonly events = new Emitter<GroupEvents>();
  /** Who acts here: the person's identity key pair, or a certified device of the person. */
  readonly signer: Actor;
  /** The key pairs this device signs, seals and unwraps with (the identity's, or the device's own). */
  readonly keys: Identity;
  /** The member id of the person this device acts for. */
  readonly personId: Uint8Array;
  readonly log: MembershipLog;
  readonly keyring: Keyring;
  readonly #storage: Storage | undefined;
  #wasMember: boolean;
  // The refreshes in turn, and the log's length when the last one began.
  #refreshing: Promise<unknown> = Promise.resolve();
  #refreshedLength = 0;
  // How many ops of the log the store holds.
  #savedOps = 0;
  // The rotations this device owes after members left (an admin's), one at a time.
  readonly #leaveRotation: LeaveRotation;
  /** The relay membership changes go through, when there is one (see {@link GroupRelay}). */
  relay: GroupRelay | undefined;

  /**
   * `rekeyBackoff`: how long an admin device waits before it tries again to replace a leaver's
   * secret when the relay could not take the rotation (default: from 0.5 s, doubling, at most
   * 15 s, six times; see {@link BackoffOptions}).
   */
  constructor(options: { signer: Actor; log: MembershipLog; keyring: Keyring; storage?: Storage; rekeyBackoff?: BackoffOptions }) {
    this.signer = options.signer;
    this.keys = actorKeys(options.signer);
    this.personId = actorPersonId(options.signer);
    this.log = options.log;
    this.keyring = options.keyring;
    this.#storage = options.storage;
    this.#wasMember = this.role !== undefined;
    this._key = hex(this.log.groupId);
    this._me = hex(this.keys.memberId);
    this._sequences = new Sequences(this.#storage, this._key, this._me, hex(this.personId));
    this.#leaveRotation = new LeaveRotation(this, () => this.#rekeyAfterLeave(), (error) => this.events.emit('error', { error }), options.rekeyBackoff);
  }

  /**
   * Opens a group from the log that `storage` holds for it (kept there by an earlier Group on
   * the same store), verifying every op again; undefined when the store holds none. Epoch
   * secrets are not stored: they are unwrapped again from the log.
   */
  static async open(options: { signer: Actor; groupId: Uint8Array; storage: Storage; keyring?: Keyring }): Promise<Group | undefined> {
    const stored = await options.storage.loadRange(logKey(hex(options.groupId)));
    if (stored.length === 0) return undefined;
    const log = await MembershipLog.fromOps(stored.map(({ data }) => data));
    if (hex(log.groupId) !== hex(options.groupId)) throw new MembershipError('malformed', 'the stored log belongs to another group');
    const group = new Group({ signer: options.signer, log, keyring: options.keyring ?? new Keyring(), storage: options.storage });
    group.#savedOps = log.length;
    await group.refresh();
    return group;
  }

  /** The ids (hex) of the groups whose log `storage` holds. */
  static async stored(storage: Storage): Promise<string[]> {
    const ids = new Set<string>();
    for (const { key } of await storage.loadRange(logKey())) {
      const group = groupOfKey(key);
      if (group) ids.add(group);
    }
    return [...ids];
  }

  /**
   * Deletes what `storage` keeps of the group: its documents' envelopes, states and journals,
   * their relay cursors, and its log, last: it opens no more from this store, and a deletion
   * cut short (a page closed meanwhile) still lists it in {@link Group.stored}, to be finished by
   * calling this again. Destroy the group's documents first (their last writes would come after).
   * Its sequence numbers stay, so that this device never reuses one if the group comes back to
   * it. Nothing changes at the relay or for the others.
   */
  static async forget(storage: Storage, groupId: Uint8Array): Promise<void> {
    for (const prefix of groupPrefixes(hex(groupId))) await storage.removeRange(prefix);
  }

  /** The group's id. */
  get groupId(): Uint8Array {
    return this.log.groupId;
  }

  /** This person's role now, or undefined when this device does not (or no longer) act here: its person is no member, or it was revoked. */
  get role(): MemberRole | undefined {
    return this.log.deviceRole(this.keys.memberId);
  }

  /** The id of this device (for the identity key pair, the member id). */
  get deviceId(): Uint8Array {
    return this.keys.memberId;
  }

  /** @internal Hex of the group id (it never changes), for map and storage keys. */
  readonly _key: string;
  /** @internal Hex of this device's id: the author of what it seals. */
  readonly _me: string;
  /** @internal This device's sequence numbers in the group, and the highest seen of each author. */
  readonly _sequences: Sequences;

  /**
   * Unlocks what the log now entitles this member to and tells the documents. Call after
   * appending ops to the log; {@link Group.receiveOps} calls it itself.
   */
  refresh(): Promise<void> {
    // In turn: an action waits for the last one (see #by).
    const run = this.#refreshing.then(() => this.#refresh());
    this.#refreshing = run.catch(() => undefined);
    return run;
  }

  async #refresh(): Promise<void> {
    const length = this.log.length;
    await this.#saveLog();
    // A member's noise in one epoch (bad-secret) does not keep the others from being unlocked,
    // nor the membership from being told; the error is thrown after.
    let error: unknown;
    await unlockEpochSecrets(this.log, this.keys, this.keyring).catch((e: unknown) => (error = e));
    this.#refreshedLength = length;
    const member = this.role !== undefined;
    if (this.#wasMember && !member) this.events.emit('removed', { epoch: this.log.epoch, revoked: this.log.wasRevoked(this.keys.memberId) });
    this.#wasMember = member;
    this.events.emit('membership', { epoch: this.log.epoch, length: this.log.length });
    if (error) throw error;
  }

  /** Keeps the ops the store does not hold yet (they are signed and public: stored as they are). */
  async #saveLog(): Promise<void> {
    const storage = this.#storage;
    const from = this.#savedOps;
    const to = this.log.length;
    if (!storage || to <= from) return;
    const ops = this.log.ops().slice(from, to);
    await storage.write(ops.map((data, i) => ({ op: 'save' as const, key: logKey(this._key, from + i), data })));
    this.#savedOps = Math.max(this.#savedOps, to);
  }

  /**
   * Appends ops received from a peer (a copy of the log from `fromIndex`); returns how many were
   * new. On an admin device, a log that now ends in a member's leave is rotated at once (the
   * leaver made the secret the others were given), without any call from the app; retried
   * when the relay could not take it, reported on `error` when it refused it (see leave-rotation.ts).
   */
  async receiveOps(ops: readonly Uint8Array[], fromIndex: number): Promise<number> {
    const added = await this.log.sync(ops, fromIndex);
    if (added === 0) return 0;
    // Even when an epoch's secret does not open (bad-secret: the leaver's, say), the rotation is owed.
    try {
      await this.refresh();
    } finally {
      this.#leaveRotation.check();
    }
    return added;
  }

  /**
   * @internal A document of the group caught up with its relay (or peers) after connecting: a
   * rotation still owed after a leave (one that failed while the relay was out of reach, or
   * one in a log opened from a store or a relay's copy, before the group's relay was set) is
   * tried now.
   */
  _caughtUp(): void {
    this.#leaveRotation.check();
  }

  /**
   * The next sequence number of this device in the group: dense and never reused, persisted
   * before it is handed out. Sequence numbers are per device and group, not per document,
   * because a removal's cutoff is one number per device and group.
   */
  nextSeq(): Promise<number> {
    return this._sequences.next();
  }

  /**
   * Notes a sequence number seen in an envelope of `author` (a device): this device's own
   * (from before a restore of its store) is never handed out again; anyone's highest becomes
   * its cutoff if its person is removed or made a reader, or it is revoked.
   */
  observeSeq(author: Uint8Array, seq: number): void {
    this._sequences.observe(hex(author), seq);
  }

  /**
   * Admin: adds a member (its public keys, as an invitation brings them) with a role. The new
   * epoch's secret is wrapped to every member, the newcomer included; the documents of the
   * group send the op to their peers (the relay) at once.
   */
  async addMember(keys: MemberKeys, role: MemberRole, devices: readonly Uint8Array[] = []): Promise<void> {
    const by = await this.#by();
    await this.#append(await addMember(this.log, by, keys, role, devices));
  }

  /**
   * Brings a device of this person into the group (its certificate, see certifyDevice): it is
   * wrapped the current epoch's secret and reads what its person may read. Any member may.
   */
  async addDevice(certificate: Uint8Array): Promise<void> {
    const by = await this.#by();
    await this.#append(await addDevice(this.log, by, certificate));
  }

  /**
   * Revokes a device of this person (lost, stolen, replaced; or this one): the group moves to
   * a new epoch whose secret the device does not get, and its envelopes past the cutoff (the
   * highest sequence number seen of it, here and at the relay) are refused everywhere.
   */
  async revokeDevice(deviceId: Uint8Array): Promise<void> {
    await this.#withCutoffs([deviceId], async (by, cutoffs) => revokeDevice(this.log, by, deviceId, cutoffs.get(hex(deviceId))!));
  }

  /**
   * Admin: removes a member. A new epoch starts whose secret the removed member does not get;
   * its envelopes up to the highest sequence number seen from it here still count (the
   * cutoff), later ones are refused everywhere. A relay that accepted later ones refuses the
   * removal (`cutoff-too-low`): sync, then try again.
   */
  async removeMember(memberId: Uint8Array): Promise<void> {
    await this.#withCutoffs(this.#devicesOf(memberId), (by, cutoffs) => removeMember(this.log, by, memberId, cutoffs));
  }

  /**
   * Leaves the group: this person's own removal, signed from this device whatever its role,
   * with cutoffs for each of its devices as an admin's removal records them. The new epoch's
   * secret, wrapped to the others, is one this device made (and did not keep): the first admin
   * device to receive the leave replaces it by itself (see {@link Group.receiveOps}). The last
   * admin cannot leave (`last-admin`).
   */
  async leave(): Promise<void> {
    await this.#withCutoffs(this.#devicesOf(this.personId), (by, cutoffs) => removeMember(this.log, by, this.personId, cutoffs));
  }

  /**
   * Admin: when the log still ends in a leave once what it holds is unlocked, starts a new
   * epoch with a fresh secret; resolves whether it did. Without lineage when this device could
   * not open the leave's secret (`bad-secret`: a hostile leaver's). Another admin may be
   * first: the relay then refuses this one (`stale-head`), and once its op is here nothing is
   * owed. Run by {@link LeaveRotation}, one at a time.
   */
  async #rekeyAfterLeave(): Promise<boolean> {
    const by = await this.#by();
    if (!owesRekey(this)) return false;
    await this.#append(await rotateEpoch(this.log, by, { reset: !this.keyring.has(this.groupId, this.log.epoch) })).catch((error: { code?: string }) => {
      // Appended, but the leave's secret still does not open: told where it came in, and now replaced.
      if (error.code !== 'bad-secret' || owesRekey(this)) throw error;
    });
    return true;
  }

  /** Admin: changes a member's role; a demotion to reader records cutoffs as a removal does. */
  async setRole(memberId: Uint8Array, role: MemberRole): Promise<void> {
    if (role !== 'reader') return this.#append(await setMemberRole(this.log, await this.#by(), memberId, role));
    await this.#withCutoffs(this.#devicesOf(memberId), (by, cutoffs) => setMemberRole(this.log, by, memberId, role, cutoffs));
  }

  #devicesOf(memberId: Uint8Array): Uint8Array[] {
    return this.log.devices(memberId).map((d) => d.deviceId);
  }

  /**
   * Builds and appends an op that records cutoffs for `devices`. Through a relay, each cutoff
   * is first the exact highest sequence number the relay holds of the device (none past it: a
   * device that kept its keys forges nothing a member would take); if the device pushed
   * meanwhile, the relay refuses the op (`cutoff-too-low`) and it is built again, and after a
   * few tries with a margin past what the relay holds, so that a device that keeps pushing
   * cannot stay ahead of its removal. Without a relay: the highest seen here.
   */
  async #withCutoffs(devices: readonly Uint8Array[], build: (by: OpAuthor, cutoffs: Map<string, number | null>) => Promise<Uint8Array>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const by = await this.#by();
      const margin = attempt < EXACT_CUTOFF_TRIES ? 0 : CUTOFF_MARGIN;
      try {
        return await this.#append(await build(by, await this.#cutoffs(devices, margin)));
      } catch (error) {
        if ((error as { code?: string }).code !== 'cutoff-too-low' || margin > 0) throw error;
      }
    }
  }

  /** Cutoffs for devices (by hex id): the highest sequence number seen here and, through a relay, held there, plus `margin`. */
  async #cutoffs(devices: readonly Uint8Array[], margin: number): Promise<Map<string, number | null>> {
    const cutoffs = new Map<string, number | null>();
    for (const deviceId of devices) {
      const seen = this._sequences.highestSeen(deviceId) ?? -1;
      const held = this.relay ? ((await this.relay.highestSeq(this.groupId, deviceId)) ?? -1) : -1;
      const highest = Math.min(Number.MAX_SAFE_INTEGER, Math.max(seen, held) + margin);
      cutoffs.set(hex(deviceId), highest < 0 ? null : highest);
    }
    return cutoffs;
  }

  /**
   * Admin: starts a new epoch with a fresh secret for the same members (a scheduled rotation).
   * With `reset`, the new secret does not seal the current one: when a member started the
   * current epoch with keys that do not open (`bad-secret`), this is how the group goes on.
   */
  async rotate(options: { reset?: boolean } = {}): Promise<void> {
    const by = await this.#by();
    await this.#append(await rotateEpoch(this.log, by, options));
  }

  /** Who signs, once what the log holds is unlocked (ops may have come while a refresh ran, or before it began). */
  async #by(): Promise<OpAuthor> {
    await this.#refreshing;
    // A member's noise in an epoch (bad-secret, told where the ops came in) does not stop an
    // admin from acting: a reset rotation is how it ends.
    if (this.#refreshedLength !== this.log.length) await this.refresh().catch((error: { code?: string }) => {
      if (error.code !== 'bad-secret') throw error;
    });
    return { signer: this.signer, keyring: this.keyring };
  }

  async #append(op: Uint8Array): Promise<void> {
    // Through a relay, stored there first: a refused op leaves this log as the relay's. A
    // group the relay has not heard of yet goes with its whole log.
    if (this.relay)
      await this.relay.commitOps(this.groupId, this.log.length, [op]).catch((error: unknown) => {
        if ((error as { code?: string }).code !== 'unknown-group') throw error;
        return this.relay!.commitOps(this.groupId, 0, [...this.log.ops(), op]);
      });
    await this.log.append(op);
    await this.refresh();
  }
}
