/**
 * The membership logs the relay holds in memory, and how it serves them: each group's log is
 * loaded from the store when needed and kept in a cache bounded by the bytes of its ops (an
 * unknown group leaves nothing behind); where a client stands in a group is looked up in the
 * store's membership index, so that a non-member never makes the relay read a log (but a
 * device its person revoked, to be shown the logs that revoke it, at most 16); a log goes out
 * in pages with fixed bounds, each encoded once and shared by the clients that ask. Each
 * group's writes (ops, envelopes, retention) run one after another (`serial`), so that a
 * removal and the removed member's last envelopes are ordered the same way for everyone.
 * @module
 */
import { MembershipLog } from '@sealdoc/crypto';
import { encodeWire, MAX_FRAME_BYTES } from '@sealdoc/protocol';
import { hex } from './bytes.js';
import type { Client } from './connection.js';
import type { RelayLimits } from './limits.js';
import { WeightedLru } from './lru.js';
import { Refusal } from './report.js';
import type { RelayStore } from './store.js';

// An ops message holds what fits in a frame a client accepts (4 MiB, less room for the
// header); a longer log goes in several.
export const OPS_FRAME_BYTES = MAX_FRAME_BYTES - 64 * 1024;

/** A revoked device's hello is sent the logs of this many of the groups that revoke it, at most. */
export const MAX_REVOCATIONS_SHOWN = 16;

export class GroupLogs {
  // Group logs by group (hex), weighed by the bytes of their ops; unknown groups are not kept.
  readonly #logs: WeightedLru<string, Promise<MembershipLog | undefined>>;
  readonly #logBytes = new Map<string, number>();
  // Per group, where the pages of its log start; the encoded pages, shared by the clients that ask.
  readonly #pageBounds: WeightedLru<string, { log: MembershipLog; length: number; starts: number[]; lastBytes: number }>;
  readonly #pages: WeightedLru<string, Uint8Array>;
  // Per group: appends and stores run one after another.
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(
    readonly store: RelayStore,
    limits: RelayLimits,
  ) {
    this.#logs = new WeightedLru(limits.logCacheBytes);
    this.#pageBounds = new WeightedLru(10_000);
    this.#pages = new WeightedLru(limits.logCacheBytes);
  }

  /** Group logs held in memory now. */
  get size(): number {
    return this.#logs.size;
  }

  /** Groups stored by a relay that kept no membership index get one, from their logs, and so do the devices their logs revoke. */
  async indexMembership(): Promise<void> {
    for (const groupId of await this.store.unindexedGroups()) {
      const log = await MembershipLog.fromOps(await this.store.loadOps(groupId));
      const revoked = new Map<string, Uint8Array>();
      for (let i = 0; i < log.length; i++) {
        const { change } = log.opAt(i);
        if (change.type === 'revoke-device') revoked.set(hex(change.deviceId), change.deviceId);
      }
      await this.store.setMembers(groupId, log.members().flatMap((m) => log.devices(m.memberId).map((d) => d.deviceId)), [...revoked.values()]);
    }
  }

  /**
   * The groups whose logs revoke a device (at most {@link MAX_REVOCATIONS_SHOWN}), with their
   * logs: what a revoked device's hello is sent before it is refused, so that it verifies the
   * revocation itself. One indexed lookup; a key that no log revokes makes the relay read no
   * log. A cached log that does not show the revocation yet (another relay node appended it
   * and this one has not heard) is read again; one that still does not is left out: the relay
   * refuses a device only with the evidence in hand.
   */
  async revocations(deviceId: Uint8Array): Promise<{ groupId: Uint8Array; log: MembershipLog }[]> {
    const found: { groupId: Uint8Array; log: MembershipLog }[] = [];
    for (const groupId of await this.store.revokedIn(deviceId, MAX_REVOCATIONS_SHOWN)) {
      let log = await this.group(groupId);
      if (log && !log.wasRevoked(deviceId)) {
        this.forget(groupId);
        log = await this.group(groupId);
      }
      if (log?.wasRevoked(deviceId)) found.push({ groupId, log });
    }
    return found;
  }

  /**
   * The group's log (loaded from the store, kept within the cache's bound); undefined for an
   * unknown group, which is not kept. `key`: the group id in hex, when the caller has it.
   */
  group(groupId: Uint8Array, key = hex(groupId)): Promise<MembershipLog | undefined> {
    const cached = this.#logs.get(key);
    if (cached) return cached;
    const load = this.store.loadOps(groupId).then(async (ops) => {
      if (ops.length === 0) return undefined;
      // Verified when they were stored: read back without checking signatures and keys again.
      const log = await MembershipLog.fromVerifiedOps(ops);
      this.#logBytes.set(key, ops.reduce((n, op) => n + op.length, 0));
      return log;
    });
    this.#logs.set(key, load, 1);
    load.then(
      (log) => (log ? this.#logs.reweigh(key, this.#logBytes.get(key) ?? 1) : this.#logs.get(key) === load && this.#logs.delete(key)),
      () => this.#logs.get(key) === load && this.#logs.delete(key),
    );
    return load;
  }

  /** The group's log if it is in memory now (nothing is loaded). */
  cached(groupId: Uint8Array): Promise<MembershipLog | undefined> | undefined {
    return this.#logs.get(hex(groupId));
  }

  /** Keeps the live log in the cache, with its weight, after ops were appended to it. */
  keep(groupId: Uint8Array, log: MembershipLog, addedBytes: number): void {
    const key = hex(groupId);
    const bytes = (this.#logBytes.get(key) ?? 0) + addedBytes;
    this.#logBytes.set(key, bytes);
    this.#logs.set(key, Promise.resolve(log), bytes);
  }

  /** Drops the group's log from memory: it is read again from the store when next needed. */
  forget(groupId: Uint8Array): void {
    this.#logs.delete(hex(groupId));
  }

  /** Drops every group's log from memory (the store may hold ops this node was not told of). */
  forgetAll(): void {
    this.#logs.clear();
  }

  /** Where a client stands in a group: from the cached log when there is one, else from the store's index (no log replayed). */
  async standing(client: Client, groupId: Uint8Array): Promise<'member' | 'not-a-member' | 'unknown-group'> {
    const cached = this.#logs.get(hex(groupId));
    const log = cached && (await cached);
    if (log) return log.deviceRole(client.memberId!) ? 'member' : 'not-a-member';
    return this.store.membership(groupId, client.memberId!);
  }

  /**
   * The group's log, if the client is a current member of it; otherwise a refusal. Non-members
   * never make the relay read a log. `key`: the group id in hex, when the caller has it.
   */
  async member(client: Client, groupId: Uint8Array, key = hex(groupId)): Promise<MembershipLog> {
    // The log in memory answers at once (one lookup of the client's device in it).
    const cached = this.#logs.get(key);
    const held = cached && (await cached);
    if (held) {
      if (!held.deviceRole(client.memberId!)) throw new Refusal('not-a-member', 'you are not a member of this group');
      return held;
    }
    const standing = await this.standing(client, groupId);
    if (standing === 'unknown-group') throw new Refusal('unknown-group', 'this relay serves no such group');
    if (standing === 'not-a-member') throw new Refusal('not-a-member', 'you are not a member of this group');
    const log = await this.group(groupId, key);
    if (!log) throw new Refusal('unknown-group', 'this relay serves no such group');
    if (!log.deviceRole(client.memberId!)) throw new Refusal('not-a-member', 'you are not a member of this group');
    return log;
  }

  /** Runs `work` after what is queued for the group. `key`: the group id in hex, when the caller has it. */
  serial<T>(groupId: Uint8Array, work: () => Promise<T>, key = hex(groupId)): Promise<T> {
    const run = (this.#queues.get(key) ?? Promise.resolve()).then(work);
    const tail = run.catch(() => undefined);
    this.#queues.set(key, tail);
    void tail.then(() => this.#queues.get(key) === tail && this.#queues.delete(key));
    return run;
  }

  /** Sends the log's ops from `fromIndex` (the page that holds it on), each frame once the client has room. */
  async sendOps(client: Client, groupId: Uint8Array, log: MembershipLog, fromIndex: number): Promise<void> {
    for (const frame of this.opsPages(groupId, log, fromIndex)) {
      await client.room(true);
      if (client.closed) return;
      client.queueBulk(frame);
    }
  }

  /**
   * The log as `ops` frames, from the page that holds `fromIndex` on. Pages have fixed bounds
   * (each as many ops as fit in a client's frame, from the first op), and each is encoded once
   * and shared by every client that asks for it (a bounded cache): what many clients asking for
   * a long log cost is one copy of it, not one each. A client that holds the first ops of a
   * page already checks them against its own and takes the rest.
   */
  opsPages(groupId: Uint8Array, log: MembershipLog, fromIndex: number): Uint8Array[] {
    const key = hex(groupId);
    let bounds = this.#pageBounds.get(key);
    if (!bounds || bounds.log !== log || bounds.length > log.length) bounds = { log, length: 0, starts: [], lastBytes: 0 };
    // Extend the bounds with the ops appended since they were last computed.
    for (let i = bounds.length; i < log.length; i++) {
      const size = log.opByteLength(i);
      if (bounds.starts.length === 0 || bounds.lastBytes + size > OPS_FRAME_BYTES) {
        bounds.starts.push(i);
        bounds.lastBytes = 0;
      }
      bounds.lastBytes += size;
    }
    bounds.length = log.length;
    this.#pageBounds.set(key, bounds, 1);
    const frames: Uint8Array[] = [];
    for (let p = 0; p < bounds.starts.length; p++) {
      const start = bounds.starts[p]!;
      const end = bounds.starts[p + 1] ?? log.length;
      if (end <= fromIndex) continue;
      const pageKey = `${key}:${start}:${end}`;
      let frame = this.#pages.get(pageKey);
      if (!frame) {
        frame = encodeWire({ type: 'ops', groupId, fromIndex: start, ops: log.ops(start, end) });
        this.#pages.set(pageKey, frame, frame.length);
      }
      frames.push(frame);
    }
    return frames;
  }
}
