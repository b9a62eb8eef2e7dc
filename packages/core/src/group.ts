/**
 * A member's live view of one group: its identity, the verified membership log, the epoch
 * secrets it holds, and its sequence counter, shared by every sealed document of the group.
 * @module
 */
import {
  addMember,
  Keyring,
  MembershipError,
  MembershipLog,
  removeMember,
  rotateEpoch,
  setMemberRole,
  unlockEpochSecrets,
  type Identity,
  type MemberKeys,
  type MemberRole,
} from '@sealdoc/crypto';
import { hex } from './bytes.js';
import { Emitter } from './events.js';
import type { Storage } from './storage.js';

/**
 * The relay a group's membership changes go through (a {@link WebSocketTransport} is one):
 * an op is appended here only once the relay stored it, so that a refused op (another admin
 * was first, a cutoff below what the relay accepted) leaves this log as the relay's.
 */
export interface GroupRelay {
  commitOps(groupId: Uint8Array, fromIndex: number, ops: readonly Uint8Array[]): Promise<void>;
  /** The highest sequence number the relay holds of a member (null: none). */
  highestSeq(groupId: Uint8Array, memberId: Uint8Array): Promise<number | null>;
}

// A removal through a relay records a cutoff this far past the highest sequence number the
// relay held a moment before: the member may push meanwhile (a minute at the rate one identity
// may send), and the relay accepts nothing new from it once it is removed, whatever the cutoff.
const CUTOFF_MARGIN = 65_536;

/** What a {@link Group} reports. */
export interface GroupEvents extends Record<string, unknown> {
  /** The log grew: new members, roles or epochs. */
  membership: { epoch: number; length: number };
  /** This member was removed from the group: it can read nothing new and send nothing. */
  removed: { epoch: number };
}


export class Group {
  readonly events = new Emitter<GroupEvents>();
  readonly identity: Identity;
  readonly log: MembershipLog;
  readonly keyring: Keyring;
  readonly #storage: Storage | undefined;
  #nextSeq: number | undefined;
  #seqLoaded = false;
  #seqQueue: Promise<unknown> = Promise.resolve();
  #wasMember: boolean;
  // How many ops of the log the store holds.
  #savedOps = 0;
  // Whether this device handed out a sequence number of this group in this session.
  #handedOut = false;
  // The highest sequence number of this member known to be used on another device (or before a restore).
  #usedElsewhere = -1;
  // The highest sequence number seen from each author (hex), for removal cutoffs.
  readonly #highestSeen = new Map<string, number>();
  /** The relay membership changes go through, when there is one (see {@link GroupRelay}). */
  relay: GroupRelay | undefined;

  constructor(options: { identity: Identity; log: MembershipLog; keyring: Keyring; storage?: Storage }) {
    this.identity = options.identity;
    this.log = options.log;
    this.keyring = options.keyring;
    this.#storage = options.storage;
    this.#wasMember = this.role !== undefined;
    this._key = hex(this.log.groupId);
    this._me = hex(this.identity.memberId);
  }

  /**
   * Opens a group from the log that `storage` holds for it (kept there by an earlier Group on
   * the same store), verifying every op again; undefined when the store holds none. Epoch
   * secrets are not stored: they are unwrapped again from the log.
   */
  static async open(options: { identity: Identity; groupId: Uint8Array; storage: Storage; keyring?: Keyring }): Promise<Group | undefined> {
    const stored = await options.storage.loadRange(['log', hex(options.groupId)]);
    if (stored.length === 0) return undefined;
    const log = await MembershipLog.fromOps(stored.map(({ data }) => data));
    if (hex(log.groupId) !== hex(options.groupId)) throw new MembershipError('malformed', 'the stored log belongs to another group');
    const group = new Group({ identity: options.identity, log, keyring: options.keyring ?? new Keyring(), storage: options.storage });
    group.#savedOps = log.length;
    await group.refresh();
    return group;
  }

  /** The ids (hex) of the groups whose log `storage` holds. */
  static async stored(storage: Storage): Promise<string[]> {
    const ids = new Set<string>();
    for (const { key } of await storage.loadRange(['log'])) if (key[1]) ids.add(key[1]);
    return [...ids];
  }

  /** The group's id. */
  get groupId(): Uint8Array {
    return this.log.groupId;
  }

  /** This member's role now, or undefined when it is not (or no longer) a member. */
  get role(): MemberRole | undefined {
    return this.log.member(this.identity.memberId)?.role;
  }

  /** @internal Hex of the group id (it never changes), for map and storage keys. */
  readonly _key: string;
  /** @internal Hex of this member's id. */
  readonly _me: string;

  /**
   * Unlocks what the log now entitles this member to and tells the documents. Call after
   * appending ops to the log; {@link Group.receiveOps} calls it itself.
   */
  async refresh(): Promise<void> {
    await this.#saveLog();
    await unlockEpochSecrets(this.log, this.identity, this.keyring);
    const member = this.role !== undefined;
    if (this.#wasMember && !member) this.events.emit('removed', { epoch: this.log.epoch });
    this.#wasMember = member;
    this.events.emit('membership', { epoch: this.log.epoch, length: this.log.length });
  }

  /** Keeps the ops the store does not hold yet (they are signed and public: stored as they are). */
  async #saveLog(): Promise<void> {
    const storage = this.#storage;
    const from = this.#savedOps;
    const to = this.log.length;
    if (!storage || to <= from) return;
    const ops = this.log.ops().slice(from, to);
    await storage.write(ops.map((data, i) => ({ op: 'save' as const, key: ['log', this._key, String(from + i).padStart(10, '0')], data })));
    this.#savedOps = Math.max(this.#savedOps, to);
  }

  /** Appends ops received from a peer (a copy of the log from `fromIndex`); returns how many were new. */
  async receiveOps(ops: readonly Uint8Array[], fromIndex: number): Promise<number> {
    const added = await this.log.sync(ops, fromIndex);
    if (added > 0) await this.refresh();
    return added;
  }

  /**
   * The next sequence number of this member in the group: dense and never reused, persisted
   * before it is handed out. Sequence numbers are per group, not per document, because a
   * removal's cutoff is one number per member and group.
   */
  nextSeq(): Promise<number> {
    const run = this.#seqQueue.then(async () => {
      if (!this.#seqLoaded) {
        const stored = await this.#storage?.load(['seq', this._key]);
        this.#nextSeq = Math.max(this.#nextSeq ?? 0, stored ? new DataView(stored.buffer, stored.byteOffset).getFloat64(0) : 0);
        this.#seqLoaded = true;
      }
      const seq = this.#nextSeq!;
      this.#nextSeq = seq + 1;
      this.#handedOut = true;
      if (this.#storage) {
        const out = new Uint8Array(8);
        new DataView(out.buffer).setFloat64(0, this.#nextSeq);
        await this.#storage.save(['seq', this._key], out);
      }
      return seq;
    });
    this.#seqQueue = run.catch(() => undefined);
    return run;
  }

  /**
   * @internal Whether this device has sealed in this group in this session: if not, it may be
   * a new device of an identity used elsewhere, whose used sequence numbers it has yet to learn.
   */
  get _sealedHere(): boolean {
    return this.#handedOut;
  }

  /**
   * @internal Notes that this member's sequence number `seq` was used on another device (its
   * envelope came from a peer, or the relay holds it): never handed out again here, and what
   * this device sealed with it, unsent, is sealed again with a new one.
   */
  _noteUsedElsewhere(seq: number): void {
    this.#usedElsewhere = Math.max(this.#usedElsewhere, seq);
    this.observeSeq(this.identity.memberId, seq);
  }

  /** @internal The next sequence number as far as this device knows now (0 before any). */
  get _nextSeqHint(): number {
    return this.#nextSeq ?? 0;
  }

  /** @internal The highest of this member's sequence numbers used on another device, or -1. */
  get _usedElsewhere(): number {
    return this.#usedElsewhere;
  }

  /**
   * Notes a sequence number seen in an envelope of `author`: this member's own (from another
   * device, or from before a restore) is never handed out again; anyone's highest becomes the
   * cutoff if the member is removed or made a reader.
   */
  observeSeq(author: Uint8Array, seq: number): void {
    const key = hex(author);
    this.#highestSeen.set(key, Math.max(this.#highestSeen.get(key) ?? -1, seq));
    if (key === this._me) this.#nextSeq = Math.max(this.#nextSeq ?? 0, seq + 1);
  }

  /**
   * Admin: adds a member (its public keys, as an invitation brings them) with a role. The new
   * epoch's secret is wrapped to every member, the newcomer included; the documents of the
   * group send the op to their peers (the relay) at once.
   */
  async addMember(keys: MemberKeys, role: MemberRole): Promise<void> {
    await this.#append(await addMember(this.log, this.#by(), keys, role));
  }

  /**
   * Admin: removes a member. A new epoch starts whose secret the removed member does not get;
   * its envelopes up to the highest sequence number seen from it here still count (the
   * cutoff), later ones are refused everywhere. A relay that accepted later ones refuses the
   * removal (`cutoff-too-low`): sync, then try again.
   */
  async removeMember(memberId: Uint8Array): Promise<void> {
    await this.#append(await removeMember(this.log, this.#by(), memberId, await this.#cutoff(memberId)));
  }

  /** Admin: changes a member's role; a demotion to reader records a cutoff as a removal does. */
  async setRole(memberId: Uint8Array, role: MemberRole): Promise<void> {
    const cutoff = role === 'reader' ? await this.#cutoff(memberId) : undefined;
    await this.#append(await setMemberRole(this.log, this.#by(), memberId, role, cutoff));
  }

  /**
   * A removal's cutoff: the highest sequence number of the member seen here, or, through a
   * relay, past what the relay holds of it (in documents not open here too), with a margin for
   * what it pushes meanwhile, so that a writer that keeps pushing cannot stay ahead of it.
   */
  async #cutoff(memberId: Uint8Array): Promise<number | null> {
    const seen = this.#highestSeen.get(hex(memberId)) ?? null;
    if (!this.relay) return seen;
    const held = await this.relay.highestSeq(this.groupId, memberId);
    const highest = Math.max(seen ?? -1, held ?? -1);
    return highest < 0 ? null : Math.min(Number.MAX_SAFE_INTEGER, highest + CUTOFF_MARGIN);
  }

  /** Admin: starts a new epoch with a fresh secret for the same members (a scheduled rotation). */
  async rotate(): Promise<void> {
    await this.#append(await rotateEpoch(this.log, this.#by()));
  }

  #by() {
    return { admin: this.identity, keyring: this.keyring };
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
