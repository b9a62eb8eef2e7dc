/**
 * Appending to a group's membership log: a new group's first ops (bounded: founders per group,
 * groups created per network address, for the whole relay and per identity), and ops that
 * extend the log, verified one by one against the live log and stored only if the stored log
 * still has the length they extend. The relay orders a removal against the removed member's
 * envelopes (its cutoff may not be below what was accepted), and counts ops towards their
 * authors' bytes. An ops frame costs the ops it adds. What was appended, here or on another
 * node, goes to the group's subscribers.
 * @module
 */
import { MembershipLog, readMembershipOp, type MembershipOp } from '@sealdoc/crypto';
import { equalBytes, hex } from './bytes.js';
import type { Client } from './connection.js';
import type { Connections } from './connections.js';
import type { GroupLogs } from './groups.js';
import { TokenBucket, type RelayLimits, type RelayQuotas } from './limits.js';
import { Refusal } from './report.js';
import type { OpsEffect, RelayStore, StoreEvent } from './store.js';
import type { Subscriptions } from './subscriptions.js';

export class LogAppend {
  // Groups created, all clients together (limits.groupsPerSecond).
  readonly #creations: TokenBucket;

  constructor(
    readonly store: RelayStore,
    readonly limits: RelayLimits,
    readonly quotas: RelayQuotas,
    readonly connections: Connections,
    readonly groups: GroupLogs,
    readonly subscriptions: Subscriptions,
  ) {
    this.#creations = new TokenBucket(limits.groupsPerSecond, limits.groupsPerSecond * 2);
  }

  /**
   * Ops from a client: the genesis of a new group, or ops that extend the log. Costs the ops
   * it adds: ops the log holds already are compared byte for byte and skipped (a duplicate is a
   * no-op), an op built on an older head is refused before its signature is checked, and the
   * new ones are verified against the live log one by one (a refused op changes nothing), then
   * stored. An op after a refused one is not taken; those before it are. Resolves with the
   * log's length after them.
   */
  async append(client: Client, groupId: Uint8Array, fromIndex: number, ops: Uint8Array[]): Promise<number> {
    if (ops.length === 0) return fromIndex;
    const added = await this.groups.serial(groupId, async (): Promise<{ from: number; count: number; error?: unknown; revoked?: { log: MembershipLog; devices: Uint8Array[] } }> => {
      const standing = await this.groups.standing(client, groupId);
      if (standing === 'unknown-group') return this.#create(client, groupId, fromIndex, ops);
      if (standing === 'not-a-member') throw new Refusal('not-a-member', 'you are not a member of this group');
      const log = await this.groups.member(client, groupId);
      const before = log.length;
      if (fromIndex > before) throw new Refusal('unknown-predecessor', `the ops start at ${fromIndex}, past the ${before} this relay holds`);
      // Ops that differ from what the log holds at their place were built on an older head:
      // the client fetches, rebases and sends again.
      const overlap = ops.slice(0, before - fromIndex);
      const held = log.ops(fromIndex, fromIndex + overlap.length);
      if (overlap.some((op, i) => !equalBytes(op, held[i]!))) throw new Refusal('stale-head', 'the log moved meanwhile: fetch it and rebase');
      const fresh = ops.slice(overlap.length);
      if (fresh.length === 0) return { from: before, count: 0 };
      const applied: Uint8Array[] = [];
      const decoded: MembershipOp[] = [];
      let error: unknown;
      try {
        for (const op of fresh) {
          // A create here is refused (by append) before its keys are read.
          const d = op[1] === 1 ? undefined : readMembershipOp(op);
          // The relay orders a removal against the removed member's envelopes: a cutoff below what it already accepted would make members disagree.
          if (d) await this.#checkCutoff(groupId, d);
          if (d) await this.#checkOpQuota(d.author, op.length);
          await log.append(op);
          applied.push(op);
          decoded.push(d!);
        }
      } catch (e) {
        error = e;
      }
      if (applied.length > 0) {
        let stored = false;
        try {
          stored = await this.store.appendOps(groupId, before, applied, opsEffect(decoded, log));
        } finally {
          // Not stored (another node was first, or the store failed): the live log is read again.
          if (stored) this.groups.keep(groupId, log, applied.reduce((n, op) => n + op.length, 0));
          else this.groups.forget(groupId);
        }
        if (!stored) {
          // Another node appended first: the same ops are the duplicates they are anywhere else.
          if (!error && (await this.#heldAlready(groupId, fromIndex, ops))) return { from: fromIndex + ops.length, count: 0 };
          throw new Refusal('stale-head', 'the log moved meanwhile: fetch it and rebase');
        }
      }
      const devices = decoded.flatMap(({ change }) => (change.type === 'revoke-device' ? [change.deviceId] : []));
      return { from: before, count: applied.length, error, ...(devices.length > 0 ? { revoked: { log, devices } } : {}) };
    });
    if (added.count > 0) this.subscriptions.announceOps(groupId, added.from, client);
    // The revoked devices' connections here get the proof and are closed (a connection gone meanwhile: nothing to tell).
    for (const deviceId of added.revoked?.devices ?? []) void this.connections.revokedDevice(deviceId, groupId, added.revoked!.log).catch(() => undefined);
    if (added.error) throw added.error;
    return added.from + added.count;
  }

  async #create(client: Client, groupId: Uint8Array, fromIndex: number, ops: Uint8Array[]): Promise<{ from: number; count: number }> {
    if (fromIndex !== 0) throw new Refusal('unknown-group', 'this relay serves no such group');
    // Before any key of the first op is read: how many members it names (a create op's u32 at
    // byte 111, after the header, the history byte and the salt: docs/membership.md).
    const first = ops[0]!;
    const founders = first[1] === 1 && first.length >= 115 ? new DataView(first.buffer, first.byteOffset).getUint32(111) : 0;
    if (founders > this.limits.foundersPerGroup) throw new Refusal('too-large', `a group starts with ${this.limits.foundersPerGroup} members at most; add the others afterwards`);
    if (!this.connections.createFromAddress(client)) throw new Refusal('busy', 'this network address has created many groups just now: try again in a moment');
    if (!this.#creations.take(1)) throw new Refusal('busy', 'the relay creates many groups right now: try again in a moment');
    const usage = await this.store.usage(client.memberId!);
    if (usage.groups >= this.quotas.groupsPerIdentity) throw new Refusal('quota-exceeded', `this identity may create ${this.quotas.groupsPerIdentity} groups here`);
    const log = await MembershipLog.fromOps(ops);
    if (hex(log.groupId) !== hex(groupId)) throw new Refusal('malformed', 'the ops belong to another group');
    if (!log.device(client.memberId!)) throw new Refusal('not-a-member', 'only a member creates a group here');
    const decoded = ops.map((_, i) => log.opAt(i));
    for (const [i, d] of decoded.entries()) await this.#checkOpQuota(d.author, ops[i]!.length);
    if (!(await this.store.appendOps(groupId, 0, ops, opsEffect(decoded, log)))) {
      // Created meanwhile (on another node, by another device of its members): with these very ops, a duplicate.
      if (await this.#heldAlready(groupId, 0, ops)) return { from: ops.length, count: 0 };
      throw new Refusal('stale-head', 'the group was created meanwhile');
    }
    this.groups.keep(groupId, log, ops.reduce((n, op) => n + op.length, 0));
    this.connections.log({ event: 'group-created', connection: client.id, member: client.member });
    return { from: 0, count: ops.length };
  }

  /**
   * Whether the stored log holds `ops` from `fromIndex` on, byte for byte: another relay node on
   * the same store appended these very ops first (two devices of a group, or one device
   * reconnected to another node, sent them to both). The log is read again from the store.
   */
  async #heldAlready(groupId: Uint8Array, fromIndex: number, ops: readonly Uint8Array[]): Promise<boolean> {
    this.groups.forget(groupId);
    const log = await this.groups.group(groupId);
    if (!log || log.length < fromIndex + ops.length) return false;
    const held = log.ops(fromIndex, fromIndex + ops.length);
    return ops.every((op, i) => equalBytes(op, held[i]!));
  }

  /** An op counts towards its author's stored bytes. */
  async #checkOpQuota(author: Uint8Array, bytes: number): Promise<void> {
    const usage = await this.store.usage(author);
    if (usage.bytes + bytes > this.quotas.bytesPerIdentity) throw new Refusal('quota-exceeded', `this identity may store ${this.quotas.bytesPerIdentity} bytes here`);
  }

  /** Each cutoff an op records (a removal, a demotion, a revoked device) must reach what this relay accepted from that device. */
  async #checkCutoff(groupId: Uint8Array, op: MembershipOp): Promise<void> {
    const change = op.change;
    const cutoffs =
      change.type === 'remove' || change.type === 'set-role' ? (change.cutoffs ?? []) : change.type === 'revoke-device' ? [{ deviceId: change.deviceId, cutoff: change.cutoff }] : [];
    for (const { deviceId, cutoff } of cutoffs) {
      const highest = await this.store.highestSeq(groupId, deviceId);
      if (highest !== undefined && (cutoff === null || highest > cutoff))
        throw new Refusal('cutoff-too-low', `this relay already accepted sequence number ${highest} from that device: the cutoff must be at least that`);
    }
  }

  /** Another node appended ops: the log is read again, and what is new is announced here. */
  async appendedElsewhere(event: Extract<StoreEvent, { type: 'ops' }>): Promise<void> {
    const cached = this.groups.cached(event.groupId);
    const previous = cached ? ((await cached)?.length ?? 0) : Math.max(0, event.length - 1);
    this.groups.forget(event.groupId);
    this.subscriptions.announceOps(event.groupId, Math.min(previous, event.length));
  }
}

/**
 * What ops (now in `log`) change for the store: their authors, the devices (a person's
 * identity key included) they added or removed, as they stand after them, and the devices
 * they revoke (the index a revoked device's hello is refused by). Costs the ops, not the
 * group's size.
 */
function opsEffect(ops: readonly MembershipOp[], log: MembershipLog): OpsEffect {
  const authors: Uint8Array[] = [];
  const touched = new Map<string, Uint8Array>();
  const revoked = new Map<string, Uint8Array>();
  const touch = (id: Uint8Array) => touched.set(hex(id), id);
  for (const { author, change } of ops) {
    authors.push(author);
    const people = change.type === 'create' ? change.members : change.type === 'add' ? [change.member] : [];
    for (const p of people) [p.memberId, ...p.devices.map((d) => d.deviceId)].forEach(touch);
    if (change.type === 'remove') change.cutoffs.forEach((c) => touch(c.deviceId));
    else if (change.type === 'certify-device') touch(change.device.deviceId);
    else if (change.type === 'revoke-device') {
      touch(change.deviceId);
      revoked.set(hex(change.deviceId), change.deviceId);
    }
  }
  const ids = [...touched.values()];
  return { authors, joined: ids.filter((id) => log.device(id)), left: ids.filter((id) => !log.device(id)), revoked: [...revoked.values()] };
}
