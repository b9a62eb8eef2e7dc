/**
 * The invitations this device opened as an admin, kept across reloads. An invitation's code is
 * its secret (it opens the requests sent with it, and whoever holds it may ask to join), so the
 * codes are kept like the names: one record in the store, sealed under the device key, and
 * never anywhere else. When a document opens, its invitations still open are taken up again:
 * the requests that reached the relay meanwhile come in, to admit with their safety codes. One
 * that ends (used, cancelled, expired) is forgotten.
 * @module
 */
import { decodeInvitation, toHex as hex } from '@sealdoc/crypto';
import { GroupInvitation, type DeviceKey, type Group, type Storage, type WebSocketTransport } from '@sealdoc/core';
import { SealedRecord } from './sealed-record.js';

/** The codes of a record, whatever else it holds. */
function codes(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((code): code is string => typeof code === 'string') : [];
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
  #codes: string[] = [];
  readonly #live = new Map<string, GroupInvitation>();
  readonly #record = new SealedRecord('invitations');
  /** Called when an invitation ends or a request arrives (the app draws again). */
  onChange: () => void = () => undefined;

  /**
   * Reads the record kept in `storage` (the expired codes left out) and from then on keeps
   * every change there. A record this key cannot open is lost like everything sealed under it.
   */
  async load(storage: Storage, deviceKey: DeviceKey): Promise<void> {
    const record = await this.#record.load(storage, deviceKey);
    const now = Date.now();
    this.#codes = codes(record).filter((code) => (about(code)?.expiresAt ?? 0) > now);
  }

  /** The codes kept (the invitations not known to have ended). */
  get codes(): readonly string[] {
    return this.#codes;
  }

  /** The invitations of `group` (hex) open on this device now, oldest first. */
  of(group: string): GroupInvitation[] {
    return [...this.#live.values()].filter((i) => hex(i.invitation.groupId) === group && i.state === 'open');
  }

  /** Takes up again the kept invitations of `group` (this member an admin of it): their requests come in. */
  resume(group: Group, transport: WebSocketTransport, baseUrl: string): void {
    if (group.role !== 'admin') return;
    for (const code of this.#codes) {
      if (this.#live.has(code) || about(code)?.group !== hex(group.groupId)) continue;
      this.#track(code, GroupInvitation.resume({ group, transport, code, baseUrl }));
    }
  }

  /** Keeps an invitation just created here; resolves once it is sealed in the store. */
  keep(invitation: GroupInvitation): Promise<void> {
    const code = invitation.code;
    if (this.#live.has(code)) return this.#record.saving;
    this.#track(code, invitation);
    this.#codes = [...this.#codes, code];
    return this.#save();
  }

  #track(code: string, invitation: GroupInvitation): void {
    this.#live.set(code, invitation);
    invitation.events.on('request', () => this.onChange());
    invitation.events.on('state', ({ state }) => {
      if (state !== 'open') void this.#forget(code).catch(() => undefined);
      this.onChange();
    });
  }

  /** An invitation that ended: it stops listening and its code leaves the store. */
  #forget(code: string): Promise<void> {
    this.#live.get(code)?.close();
    this.#live.delete(code);
    this.#codes = this.#codes.filter((c) => c !== code);
    return this.#save();
  }

  #save(): Promise<void> {
    return this.#record.save(() => this.#codes);
  }
}

/** This device's invitations. */
export const invites = new Invites();
