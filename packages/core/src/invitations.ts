/**
 * Invitations through a relay. The admin's side, {@link GroupInvitation}: a link whose
 * fragment holds the invitation's secret (the relay learns only an id derived from it), the
 * join requests that arrive sealed under it, admission (a new epoch whose secret the newcomer
 * gets) and revocation. The invitee's side, {@link JoinByInvitation}: the request sent, then
 * pending / admitted / expired / revoked as the relay reports it, and once admitted the
 * group, ready for sealed documents. Before any of it, {@link checkInvitation}: what the relay
 * can say of a link to someone holding only the link (open, expired, cancelled, used, unknown;
 * whether an admin is online to let them in).
 * @module
 */
import {
  createInvitation,
  identityFromSeed,
  decodeInvitation,
  encodeInvitation,
  invitationId,
  InvitationError,
  openJoinRequest,
  safetyCode,
  sealJoinRequest,
  actorKeys,
  type Actor,
  type Identity,
  type Invitation,
  type JoinRequest,
  type MemberRole,
} from '@sealdoc/crypto';
import type { InviteState } from '@sealdoc/protocol';
import { hex } from './bytes.js';
import { Emitter } from './events.js';
import { Group } from './group.js';
import type { Storage } from './storage.js';
import { fetchRelayGroup } from './relay-groups.js';
import { RelayError, type WebSocketTransport } from './websocket-transport.js';

/** The fragment key of an invitation link: `https://app.example/#invite=<code>`. */
export const INVITE_FRAGMENT = 'invite';

/** Where an invitation stands for its admin. */
export type InvitationState = 'open' | 'expired' | 'revoked';

/** A join request as its admin sees it. */
export interface InvitationRequest extends JoinRequest {
  /** Read aloud on both sides to be sure this request is the invitee's. */
  safetyCode: string;
  state: 'pending' | 'admitted' | 'declined';
}

/** What a {@link GroupInvitation} reports. */
export interface GroupInvitationEvents extends Record<string, unknown> {
  request: { request: InvitationRequest };
  state: { state: InvitationState };
  /** A request that did not open or verify (someone holding the link sent garbage). */
  error: { error: Error };
}

/** The admin's side of one invitation. */
export class GroupInvitation {
  readonly events = new Emitter<GroupInvitationEvents>();
  readonly invitation: Invitation;
  readonly #group: Group;
  readonly #transport: WebSocketTransport;
  readonly #requests = new Map<string, InvitationRequest>();
  readonly #base: string;
  // Member ids (hex) whose requests were declined before (kept by the app): listed as declined.
  readonly #declined: Set<string>;
  #revoked = false;
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #off: () => void;

  private constructor(group: Group, transport: WebSocketTransport, invitation: Invitation, base: string, declined: readonly Uint8Array[] = []) {
    this.#group = group;
    this.#transport = transport;
    this.invitation = invitation;
    this.#base = base;
    this.#declined = new Set(declined.map(hex));
    const id = hex(invitationId(invitation));
    this.#off = transport.events.on('invite-requested', (event) => {
      if (hex(event.inviteId) === id) void this.#received(event.requester, event.request);
    });
    this.#armExpiry();
  }

  /**
   * Opens an invitation to `group` for `role` at the relay (this member must be an admin),
   * valid for `validForMs` (default 7 days, at most 30). `baseUrl` is the app's address; the
   * link adds the invitation in its fragment, which browsers do not send to servers.
   */
  static async create(options: { group: Group; transport: WebSocketTransport; role: MemberRole; baseUrl: string; validForMs?: number }): Promise<GroupInvitation> {
    const { group, transport } = options;
    const invitation = createInvitation(group.groupId, options.role, options.validForMs);
    await openAtRelay(transport, group, invitationId(invitation), invitation.expiresAt);
    const created = new GroupInvitation(group, transport, invitation, options.baseUrl.split('#')[0]!);
    transport.watchInvitations(group.groupId);
    return created;
  }

  /**
   * Takes up again an invitation this admin created earlier (its code, kept sealed on this
   * device: the secret opens the requests): listens for its requests (those that arrived
   * meanwhile come first, from the relay) until it ends. `declined`: the member ids whose
   * requests this admin declined before (the app keeps them, as it keeps the code): their
   * requests are listed as declined, never as pending again. Throws InvitationError for a code
   * that is not an invitation to `group`.
   */
  static resume(options: { group: Group; transport: WebSocketTransport; code: string; baseUrl: string; declined?: readonly Uint8Array[] }): GroupInvitation {
    const { group, transport } = options;
    const invitation = decodeInvitation(options.code);
    if (hex(invitation.groupId) !== hex(group.groupId)) throw new InvitationError('malformed', 'this invitation is for another group');
    const resumed = new GroupInvitation(group, transport, invitation, options.baseUrl.split('#')[0]!, options.declined);
    transport.watchInvitations(group.groupId);
    return resumed;
  }

  /**
   * Tells the expiry when it comes. A timer may fire a millisecond before the clock reaches it
   * (it is the expiry all the same); one longer than a timer can wait (about 24.8 days) is armed again.
   */
  #armExpiry(): void {
    const left = this.invitation.expiresAt - Date.now();
    const longest = 2 ** 31 - 1;
    this.#expiryTimer = setTimeout(() => (left > longest ? this.#armExpiry() : this.events.emit('state', { state: this.#revoked ? 'revoked' : 'expired' })), Math.max(0, Math.min(left, longest)));
    // Waiting for an expiry does not keep a Node process alive.
    (this.#expiryTimer as { unref?: () => void }).unref?.();
  }

  /** The link to hand the invitee (over a channel you trust: whoever holds it may ask to join). */
  get link(): string {
    return `${this.#base}#${INVITE_FRAGMENT}=${this.code}`;
  }

  /** The invitation's code (the link's fragment): its secret, to keep sealed if kept at all. */
  get code(): string {
    return encodeInvitation(this.invitation);
  }

  get state(): InvitationState {
    return this.#revoked ? 'revoked' : Date.now() >= this.invitation.expiresAt ? 'expired' : 'open';
  }

  /** The requests received, newest last. */
  get requests(): InvitationRequest[] {
    return [...this.#requests.values()];
  }

  /**
   * Admits a requester: a new epoch starts whose secret it gets. The invitation is then
   * revoked (one link, one person) unless `keepOpen`.
   */
  async admit(memberId: Uint8Array, options: { keepOpen?: boolean } = {}): Promise<void> {
    const request = this.#requests.get(hex(memberId));
    if (!request || request.state !== 'pending') throw new InvitationError('malformed', 'no pending request from that member');
    if (this.state !== 'open') throw new RelayError(this.state === 'expired' ? 'invite-expired' : 'invite-revoked', `this invitation is ${this.state}`);
    const before = this.#group.log.length;
    await this.#group.addMember(request.keys, this.invitation.role, request.devices);
    // The relay hears of it now, whether or not a document of the group is open.
    this.#transport.send({ type: 'ops', groupId: this.#group.groupId, fromIndex: before, ops: this.#group.log.ops().slice(before) });
    request.state = 'admitted';
    this.events.emit('request', { request });
    if (!options.keepOpen) await this.revoke();
  }

  /**
   * Declines a request, on this device: the requester is not told (its request stays pending at
   * the relay until the invitation ends). A `request` event says so; an app that keeps the
   * invitation across restarts keeps the member id too, and passes it to {@link GroupInvitation.resume}.
   */
  decline(memberId: Uint8Array): void {
    const request = this.#requests.get(hex(memberId));
    if (!request || request.state !== 'pending') return;
    request.state = 'declined';
    this.#declined.add(hex(memberId));
    this.events.emit('request', { request });
  }

  /** Revokes the invitation at the relay: no more requests; requesters are told. */
  async revoke(): Promise<void> {
    if (this.#revoked) return;
    await this.#transport.request({ type: 'invite-close', ref: 0, inviteId: invitationId(this.invitation) });
    this.#revoked = true;
    clearTimeout(this.#expiryTimer);
    this.events.emit('state', { state: 'revoked' });
  }

  /** Stops listening (the invitation stays open at the relay until it expires or is revoked). */
  close(): void {
    this.#off();
    clearTimeout(this.#expiryTimer);
  }

  async #received(requester: Uint8Array, bytes: Uint8Array): Promise<void> {
    try {
      const opened = await openJoinRequest(this.invitation, bytes);
      // The relay authenticated the sender: the device that signed inside must be the sender.
      if (hex(opened.deviceId) !== hex(requester)) throw new InvitationError('bad-signature', 'the request carries keys that are not its sender’s');
      const known = this.#requests.get(hex(opened.memberId));
      if (known && known.state !== 'pending') return;
      const state = this.#group.log.member(opened.memberId) ? 'admitted' : this.#declined.has(hex(opened.memberId)) ? 'declined' : 'pending';
      const request: InvitationRequest = { ...opened, safetyCode: safetyCode(opened.deviceId), state };
      this.#requests.set(hex(opened.memberId), request);
      this.events.emit('request', { request });
    } catch (error) {
      this.events.emit('error', { error: error as Error });
    }
  }
}

/**
 * Opens an invitation (or a device link) `inviteId` under `group` at the relay, until
 * `expiresAt`. A group the relay has not heard of yet (just created) goes with its log first.
 */
export async function openAtRelay(transport: WebSocketTransport, group: Group, inviteId: Uint8Array, expiresAt: number): Promise<void> {
  const open = () => transport.request({ type: 'invite-open', ref: 0, groupId: group.groupId, inviteId, expiresAt });
  await open().catch(async (error: unknown) => {
    if ((error as { code?: string }).code !== 'unknown-group') throw error;
    transport.send({ type: 'ops', groupId: group.groupId, fromIndex: 0, ops: group.log.ops() });
    await open();
  });
}

/** Where a join request stands for the invitee. */
export type JoinState = 'sending' | InviteState;

/** What a {@link JoinByInvitation} reports. */
export interface JoinEvents extends Record<string, unknown> {
  state: { state: JoinState };
  /** Whether a device that can let this request in is connected to the relay, as the relay last said. */
  admin: { online: boolean };
  error: { error: Error };
}

/** The states in which an invitation lets nobody in any more. */
const ENDED: readonly string[] = ['expired', 'revoked', 'used', 'unknown'];

/** Options of {@link JoinByInvitation.start}. */
export interface JoinOptions {
  /** Who asks: the person's identity key pair (a first device), or a certified device (LocalDevice.signer). */
  signer: Actor;
  transport: WebSocketTransport;
  /** The name the admin sees with the request. */
  name: string;
  /** Where the group's log is kept once admitted. */
  storage?: Storage;
  /** How often to ask the relay where the request stands (default 2 s). */
  pollMs?: number;
}

/** The invitee's side: its request, where it stands, and the group once admitted. */
export class JoinByInvitation {
  readonly events = new Emitter<JoinEvents>();
  readonly invitation: Invitation;
  /** This device's safety code: the admin should see the same one. */
  readonly safetyCode: string;
  /** Resolves with the group once admitted (rejects if the invitation ends first). */
  readonly whenAdmitted: Promise<Group>;
  #state: JoinState = 'sending';
  #adminOnline: boolean | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #group: Group | undefined;
  readonly #options: JoinOptions & { pollMs: number };
  #admitted!: { resolve(group: Group): void; reject(error: Error): void };

  private constructor(invitation: Invitation, options: JoinOptions & { pollMs: number }) {
    this.invitation = invitation;
    this.#options = options;
    this.safetyCode = safetyCode(actorKeys(options.signer).memberId);
    this.whenAdmitted = new Promise((resolve, reject) => (this.#admitted = { resolve, reject }));
    this.whenAdmitted.catch(() => undefined);
  }

  /**
   * Sends the join request of `link` (a whole link, its fragment, or the code alone) with
   * this member's `name`, then asks the relay every `pollMs` (default 2 s) where it stands.
   * Throws InvitationError for a link that is not an invitation.
   */
  static start(link: string, options: JoinOptions): JoinByInvitation {
    const join = new JoinByInvitation(decodeInvitation(invitationCode(link)), { ...options, pollMs: options.pollMs ?? 2000 });
    void join.#send();
    return join;
  }

  get state(): JoinState {
    return this.#state;
  }

  /** Whether an admin's device is connected to let this request in (undefined until the relay said). */
  get adminOnline(): boolean | undefined {
    return this.#adminOnline;
  }

  /** Stops asking. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  async #send(): Promise<void> {
    const { signer, transport, name } = this.#options;
    if (Date.now() >= this.invitation.expiresAt) return this.#set('expired');
    try {
      if (transport.status !== 'online') await transport.connect();
      await transport.request({ type: 'invite-request', ref: 0, inviteId: invitationId(this.invitation), request: await sealJoinRequest(this.invitation, signer, name) });
      this.#set('pending');
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'invite-expired') return this.#set('expired');
      // Closed: by its admin, or once used; the relay says which.
      if (code === 'invite-revoked') return this.#poll();
      if (code === 'unknown-invite') return this.#set('unknown');
      this.events.emit('error', { error: error as Error });
      // Offline or a relay failure: try again later.
    }
    this.#schedule(this.#state === 'sending' ? () => this.#send() : () => this.#poll());
  }

  #schedule(next: () => Promise<void>): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => void next(), this.#options.pollMs);
  }

  async #poll(): Promise<void> {
    try {
      const answer = await this.#options.transport.request({ type: 'invite-status', ref: 0, inviteId: invitationId(this.invitation) });
      if (answer.type === 'invite-state' && answer.adminOnline !== this.#adminOnline) {
        this.#adminOnline = answer.adminOnline;
        this.events.emit('admin', { online: answer.adminOnline });
      }
      if (answer.type === 'invite-state' && answer.state === 'admitted') return await this.#admit();
      if (answer.type === 'invite-state' && answer.state !== 'pending') return this.#set(answer.state);
    } catch (error) {
      this.events.emit('error', { error: error as Error });
    }
    this.#schedule(() => this.#poll());
  }

  /** Admitted: the group's log comes from the relay, and this member's epoch secrets from it. */
  async #admit(): Promise<void> {
    const { signer, transport, storage } = this.#options;
    const group = await fetchRelayGroup(transport, { signer, groupId: this.invitation.groupId, ...(storage ? { storage } : {}) });
    this.#group = group;
    this.#set('admitted');
    this.#admitted.resolve(group);
  }

  #set(state: JoinState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.events.emit('state', { state });
    if (ENDED.includes(state)) {
      this.close();
      this.#admitted.reject(new RelayError(state === 'unknown' ? 'unknown-invite' : `invite-${state}`, `the invitation is ${state}`));
    }
    if (state === 'admitted') this.close();
  }

  /** The group, once admitted. */
  get group(): Group | undefined {
    return this.#group;
  }
}

/** What {@link checkInvitation} finds of a link. */
export interface InvitationCheck {
  /**
   * `open` (anyone holding the link may ask), `expired`, `revoked` (cancelled by an admin, or
   * closed by the relay after too many requests), `used` (closed once someone was let in with
   * it), `unknown` (the relay never heard of it: a mistyped or truncated link, or another relay's).
   */
  state: 'open' | 'expired' | 'revoked' | 'used' | 'unknown';
  /** Whether a device that can let a requester in is connected to the relay now. */
  adminOnline: boolean;
  /** The invitation as the link says it (its role and its expiry are the link's word, which its admin wrote). */
  invitation: Invitation;
}

/**
 * What the relay can say of `link` (a whole link, its fragment, or the code alone) to someone
 * holding only the link, before they have an identity: `transport` may say hello with a
 * throwaway key pair ({@link throwawayIdentity}) that is never kept. The relay learns the
 * invitation's id and that someone asked, nothing it did not know. Throws InvitationError for
 * a link that is not an invitation; an expired link is told without asking the relay.
 */
export async function checkInvitation(link: string, transport: WebSocketTransport): Promise<InvitationCheck> {
  const invitation = decodeInvitation(invitationCode(link));
  if (Date.now() >= invitation.expiresAt) return { state: 'expired', adminOnline: false, invitation };
  if (transport.status !== 'online') await transport.connect();
  const answer = await transport.request({ type: 'invite-status', ref: 0, inviteId: invitationId(invitation) });
  if (answer.type !== 'invite-state') throw new RelayError('malformed', 'the relay answered something else');
  // Pending: open to this client (it has not asked); admitted cannot be (a throwaway key is nobody's).
  const state = answer.state === 'pending' || answer.state === 'admitted' ? 'open' : answer.state;
  return { state, adminOnline: answer.adminOnline, invitation };
}

/**
 * A key pair to say hello with and nothing else (asking where an invitation stands before the
 * person has an identity): random, in memory only, a member of nothing.
 */
export function throwawayIdentity(): Identity {
  return identityFromSeed(crypto.getRandomValues(new Uint8Array(64)));
}

/** The code of an invitation link (a whole link, its fragment, or the code alone). */
function invitationCode(link: string): string {
  return /(?:^|[#&])invite=([A-Za-z0-9_-]+)/.exec(link)?.[1] ?? link.trim();
}
