/**
 * Invitations, known to the relay by id only: an admin opens and revokes them and watches for
 * join requests; an invitee (any authenticated client) sends its sealed request and asks where
 * it stands. The relay cannot read a request; it checks that the invitation is open, and bounds
 * how long one stays open, how many a group has open, a request's size and an invitation's
 * requesters (past which the link leaked: it is closed). Requests made on another node reach
 * the admins watching here. Asked where an invitation stands, it says so to anyone holding its
 * id (only the link gives it): open, expired, revoked, used (a requester is a member now) or
 * unknown, and while it is open whether an admin's device watches the group, here or on another
 * node of a shared store (postgres-watchers.ts).
 * @module
 */
import type { WireMessage } from '@sealdoc/protocol';
import { hex, unhex } from './bytes.js';
import type { Client } from './connection.js';
import type { Connections } from './connections.js';
import type { GroupLogs } from './groups.js';
import { Refusal } from './report.js';
import type { RelayStore, StoredJoinRequest, StoreEvent } from './store.js';

const MAX_INVITATION_MS = 30 * 24 * 3600 * 1000;
const MAX_JOIN_REQUEST_BYTES = 1024;
// More requesters than this for one invitation: the link leaked; it is closed.
const MAX_JOIN_REQUESTS = 50;

export class Invitations {
  /** The connections watching each group's invitations (by group, hex): what fan-out and `adminOnline` read, not every connection. */
  readonly #watchers = new Map<string, Set<Client>>();

  constructor(
    readonly store: RelayStore,
    readonly connections: Connections,
    readonly groups: GroupLogs,
  ) {}

  async handle(client: Client, message: Extract<WireMessage, { type: 'invite-open' | 'invite-close' | 'invite-request' | 'invite-watch' | 'invite-status' }>): Promise<void> {
    const now = Date.now();
    const { limits } = this.connections;
    const admin = async (groupId: Uint8Array) => {
      const log = await this.groups.member(client, groupId);
      if (log.device(client.memberId!)?.role !== 'admin') throw new Refusal('not-admin', 'only an admin of the group manages its invitations');
    };
    switch (message.type) {
      case 'invite-open': {
        await admin(message.groupId);
        if (message.expiresAt <= now || message.expiresAt > now + MAX_INVITATION_MS) throw new Refusal('malformed', 'an invitation expires within 30 days from now');
        if ((await this.store.openInvitations(message.groupId, now)) >= limits.invitationsPerGroup)
          throw new Refusal('quota-exceeded', `a group has ${limits.invitationsPerGroup} open invitations at most: revoke one first`);
        await this.store.putInvitation({ inviteId: message.inviteId, groupId: message.groupId, expiresAt: message.expiresAt, revoked: false });
        this.connections.send(client, { type: 'ack', ref: message.ref, cursor: 0 });
        return;
      }
      case 'invite-close': {
        const invitation = await this.store.invitation(message.inviteId);
        if (!invitation) throw new Refusal('unknown-invite', 'no such invitation');
        await admin(invitation.groupId);
        await this.store.revokeInvitation(message.inviteId);
        this.connections.send(client, { type: 'ack', ref: message.ref, cursor: 0 });
        return;
      }
      case 'invite-watch': {
        await admin(message.groupId);
        const key = hex(message.groupId);
        client.watches.add(key);
        let watchers = this.#watchers.get(key);
        if (!watchers) {
          this.#watchers.set(key, (watchers = new Set()));
          // The first here: the other nodes on a shared store count an admin online too.
          this.store.shareInvitationWatch?.(message.groupId, true);
        }
        watchers.add(client);
        for (const r of await this.store.joinRequests(message.groupId, now)) this.connections.send(client, { type: 'invite-requested', ...r });
        return;
      }
      case 'invite-request': {
        const invitation = await this.store.invitation(message.inviteId);
        if (!invitation) throw new Refusal('unknown-invite', 'no such invitation: check the link');
        if (invitation.revoked) throw new Refusal('invite-revoked', 'this invitation was revoked');
        if (invitation.expiresAt <= now) throw new Refusal('invite-expired', 'this invitation has expired');
        if (message.request.length > MAX_JOIN_REQUEST_BYTES) throw new Refusal('too-large', `a join request is at most ${MAX_JOIN_REQUEST_BYTES} bytes`);
        const stored = { inviteId: message.inviteId, requester: client.memberId!, request: message.request };
        const count = await this.store.putJoinRequest(stored, invitation.groupId);
        if (count > MAX_JOIN_REQUESTS) {
          await this.store.revokeInvitation(message.inviteId);
          throw new Refusal('invite-revoked', 'too many requests for this invitation: it was closed');
        }
        this.connections.send(client, { type: 'ack', ref: message.ref, cursor: 0 });
        this.#toWatchers(invitation.groupId, stored);
        return;
      }
      case 'invite-status': {
        const invitation = await this.store.invitation(message.inviteId);
        if (!invitation) return this.connections.send(client, { type: 'invite-state', ref: message.ref, inviteId: message.inviteId, state: 'unknown', adminOnline: false });
        const state = (await this.store.membership(invitation.groupId, client.memberId!)) === 'member' ? 'admitted' : invitation.revoked ? ((await this.#used(client, invitation.groupId, message.inviteId)) ? 'used' : 'revoked') : invitation.expiresAt <= now ? 'expired' : 'pending';
        // Whether an admin is here is told while the invitation is open only: a link kept after it ended shows nothing of them.
        this.connections.send(client, { type: 'invite-state', ref: message.ref, inviteId: message.inviteId, state, adminOnline: state === 'pending' && (await this.#watched(invitation.groupId)) });
        return;
      }
    }
  }

  /** A join request another node stored: sent to the admins watching its group here. */
  async requestedElsewhere(event: Extract<StoreEvent, { type: 'join-request' }>): Promise<void> {
    const [request] = (await this.store.joinRequests(event.groupId, Date.now())).filter((r) => hex(r.inviteId) === hex(event.inviteId) && hex(r.requester) === hex(event.requester));
    if (request) this.#toWatchers(event.groupId, request);
  }

  /**
   * Whether a revoked invitation was closed because someone who asked with it was let in: one
   * of its requesters (at most {@link MAX_JOIN_REQUESTS}) is a member of its group now. The
   * rows read are charged to the client that asked.
   */
  async #used(client: Client, groupId: Uint8Array, inviteId: Uint8Array): Promise<boolean> {
    const requesters = await this.store.requesters(inviteId);
    await this.connections.charge(client, requesters.length);
    for (const requester of requesters) if ((await this.store.membership(groupId, requester)) === 'member') return true;
    return false;
  }

  /**
   * Whether a device that can let a requester in is connected: one that watches the group's
   * invitations (only an admin may, and its app does while it holds one open), on this node
   * or, on a store shared by several nodes, on another one that is alive (the store is asked
   * only when none is here).
   */
  async #watched(groupId: Uint8Array): Promise<boolean> {
    if ((this.#watchers.get(hex(groupId))?.size ?? 0) > 0) return true;
    return (await this.store.invitationsWatchedElsewhere?.(groupId)) === true;
  }

  /** A connection that is gone: it watches nothing any more. */
  forget(client: Client): void {
    for (const key of client.watches) {
      const watchers = this.#watchers.get(key);
      watchers?.delete(client);
      if (watchers?.size === 0) {
        this.#watchers.delete(key);
        this.store.shareInvitationWatch?.(unhex(key), false);
      }
    }
  }

  /** Sends a join request to the connections of admins watching its group. */
  #toWatchers(groupId: Uint8Array, request: StoredJoinRequest): void {
    for (const client of this.#watchers.get(hex(groupId)) ?? []) this.connections.send(client, { type: 'invite-requested', ...request });
  }
}
