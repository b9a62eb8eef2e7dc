/**
 * The invitations this device opened as an admin, kept across reloads. An invitation's code is
 * its secret (it opens the requests sent with it, and whoever holds it may ask to join), so the
 * codes are kept like the names: one record in the store, sealed under the device key, and
 * never anywhere else. When a document opens, its invitations still open are taken up again:
 * the requests that reached the relay meanwhile come in, to admit with their safety codes. The
 * requests declined here are kept with their invitation's code (who asked: member ids, at most
 * {@link MAX_DECLINED} an invitation, as many as the relay lets ask with one), so that a reload
 * does not list them as pending again. One that ends (used, cancelled, expired) is forgotten,
 * with its declines.
 * @module
 */
import { decodeInvitation, fromHex, toHex as hex } from '@sealdoc/crypto';
import { GroupInvitation, type DeviceKey, type Group, type Storage, type WebSocketTransport } from '@sealdoc/core';
import { SealedRecord } from './sealed-record.js';

/** The declines kept for one invitation, at most: the relay closes an invitation past this many requesters. */
export const MAX_DECLINED = 50;

/** An invitation kept: its code, and the member ids (hex) whose requests were declined here. */
interface Kept {
  code: string;
  declined: string[];
}

// A member id, in hex.
const MEMBER_ID = /^[0-9a-f]{64}$/;

/**
 * The invitations of a record, whatever else it holds: each a code (as earlier versions kept
 * them) or a code with its declines.
 */
function entries(value: unknown): Kept[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry: unknown): Kept[] => {
    if (typeof entry === 'string') return [{ code: entry, declined: [] }];
    const { code, declined } = (entry ?? {}) as Partial<Record<keyof Kept, unknown>>;
    if (typeof code !== 'string') return [];
    const ids = Array.isArray(declined) ? declined.filter((id): id is string => typeof id === 'string' && MEMBER_ID.test(id)) : [];
    return [{ code, declined: ids.slice(-MAX_DECLINED) }];
  });
}

/** The group (hex) and expiry of `code`, or undefined for one that does not decode. */
function about(code: string): { group: string; expiresAt: number } | undefined {
  try {
    const invitation = decodeInvitation(code);
    return { group: hex(invitation.groupId), expiresAt: invitation.expiresAt };
  } catch {
    return undefined;
  }
}

/** The invitations an admin created on this device: their codes sealed in the store, the open ones listening for requests. */
export class Invites {
  #kept: Kept[] = [];
  readonly #live = new Map<string, GroupInvitation>();
  readonly #record = new SealedRecord('invitations');
  /** Called when an invitation ends or a request arrives (the app draws again). */
  onChange: () => void = () => undefined;
  /** Called when a change could not be kept in the store (the app says so). */
  onError: (error: unknown) => void = () => undefined;

  /**
   * Reads the record kept in `storage` (the expired codes left out) and from then on keeps
   * every change there. A record this key cannot open is lost like everything sealed under it.
   */
  async load(storage: Storage, deviceKey: DeviceKey): Promise<void> {
    const record = await this.#record.load(storage, deviceKey);
    const now = Date.now();
    this.#kept = entries(record).filter(({ code }) => (about(code)?.expiresAt ?? 0) > now);
  }

  /** The codes kept (the invitations not known to have ended). */
  get codes(): readonly string[] {
    return this.#kept.map(({ code }) => code);
  }

  /** The member ids (hex) whose requests were declined here with the invitation of `code`, oldest first. */
  declined(code: string): readonly string[] {
    return this.#kept.find((k) => k.code === code)?.declined ?? [];
  }

  /** The invitations of `group` (hex) open on this device now, oldest first. */
  of(group: string): GroupInvitation[] {
    return [...this.#live.values()].filter((i) => hex(i.invitation.groupId) === group && i.state === 'open');
  }

  /** Takes up again the kept invitations of `group` (this member an admin of it): their requests come in. */
  resume(group: Group, transport: WebSocketTransport, baseUrl: string): void {
    if (group.role !== 'admin') return;
    for (const { code, declined } of this.#kept) {
      if (this.#live.has(code) || about(code)?.group !== hex(group.groupId)) continue;
      this.#track(code, GroupInvitation.resume({ group, transport, code, baseUrl, declined: declined.map(fromHex) }));
    }
  }

  /** Keeps an invitation just created here; resolves once it is sealed in the store. */
  keep(invitation: GroupInvitation): Promise<void> {
    const code = invitation.code;
    if (this.#live.has(code)) return this.#record.saving;
    this.#track(code, invitation);
    this.#kept = [...this.#kept, { code, declined: [] }];
    return this.#save();
  }

  #track(code: string, invitation: GroupInvitation): void {
    this.#live.set(code, invitation);
    invitation.events.on('request', ({ request }) => {
      if (request.state === 'declined') this.#declined(code, hex(request.memberId)).catch(this.onError);
      this.onChange();
    });
    invitation.events.on('state', ({ state }) => {
      if (state !== 'open') this.#forget(code).catch(this.onError);
      this.onChange();
    });
  }

  /** A request declined with the invitation of `code`: kept (the newest {@link MAX_DECLINED}), so that it is not listed as pending after a reload. */
  #declined(code: string, memberId: string): Promise<void> {
    const kept = this.#kept.find((k) => k.code === code);
    if (!kept || kept.declined.includes(memberId)) return this.#record.saving;
    kept.declined = [...kept.declined, memberId].slice(-MAX_DECLINED);
    return this.#save();
  }

  /** An invitation that ended: it stops listening and its code (with its declines) leaves the store. */
  #forget(code: string): Promise<void> {
    this.#live.get(code)?.close();
    this.#live.delete(code);
    this.#kept = this.#kept.filter((k) => k.code !== code);
    return this.#save();
  }

  #save(): Promise<void> {
    return this.#record.save(() => this.#kept.map(({ code, declined }) => (declined.length > 0 ? { code, declined } : code)));
  }
}

/** This device's invitations. */
export const invites = new Invites();
