/**
 * `<sealdoc-members>`: a group's members (persons) with their roles and, under each, its
 * devices; an admin changes roles and removes members, and anyone removes its own other
 * devices (after a confirmation), and sees the key rotation happen and the new epoch.
 * @module
 */
import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import type { Group } from '@sealdoc/core';
import { toHex, type MemberDevice, type MemberRole } from '@sealdoc/crypto';
import { deviceName } from './people.js';
import { describeError } from './words.js';

/** Detail of `sealdoc-member-removed` and `sealdoc-role-changed`. */
export interface MemberChangeDetail {
  memberId: Uint8Array;
  /** The new role; null for a removal. */
  role: MemberRole | null;
  /** The epoch the change started. */
  epoch: number;
}

/** Detail of `sealdoc-device-revoked`: one of the viewer's own devices was removed. */
export interface DeviceRevokedDetail {
  deviceId: Uint8Array;
  personId: Uint8Array;
  /** The epoch the revocation started. */
  epoch: number;
}

const ROLES: MemberRole[] = ['admin', 'writer', 'reader'];

/** What the confirmation dialog asks about. */
type Confirming = { kind: 'member'; memberId: Uint8Array } | { kind: 'device'; device: MemberDevice };

/**
 * Lists the members of `group`: persons, each with its devices (their labels; the key from
 * the recovery words as "First device"; the viewer's as "this device"). `names` maps member
 * ids (hex) to display names; others show the start of their id. The viewer may remove its
 * own person's other certified devices (never the first device, never this one, never
 * another person's). Fires `sealdoc-role-changed` and `sealdoc-member-removed` (detail
 * {@link MemberChangeDetail}), and `sealdoc-device-revoked` (detail
 * {@link DeviceRevokedDetail}) once the change is made. Parts: `list`, `member`, `name`,
 * `you`, `role`, `remove`, `devices`, `device`, `device-name`, `this-device`, `revoke`,
 * `dialog`, `status`. Custom properties: `--sealdoc-accent`, `--sealdoc-error`.
 */
export class SealdocMembers extends LitElement {
  static override properties = {
    group: { attribute: false },
    names: { attribute: false },
    _busy: { state: true },
    _status: { state: true },
    _error: { state: true },
    _confirming: { state: true },
  };

  static override styles = css`
    :host {
      display: block;
      font: inherit;
    }
    ul {
      list-style: none;
      padding: 0;
      margin: 0;
    }
    li {
      padding: 0.35em 0;
      border-bottom: 1px solid #0001;
    }
    .person,
    .device {
      display: flex;
      align-items: center;
      gap: 0.6em;
    }
    .devices {
      margin: 0.2em 0 0 1.2em;
      font-size: 0.9em;
    }
    .device {
      padding: 0.1em 0;
    }
    .device-name {
      flex: 1;
      opacity: 0.85;
    }
    .this-device {
      font-size: 0.8em;
      padding: 0 0.4em;
      border-radius: 0.6em;
      border: 1px solid var(--sealdoc-accent, #2457c5);
      color: var(--sealdoc-accent, #2457c5);
    }
    .name {
      flex: 1;
      overflow: hidden;
      text-overflow: ellipsis;
    }
    .you {
      font-size: 0.8em;
      padding: 0 0.4em;
      border-radius: 0.6em;
      background: var(--sealdoc-accent, #2457c5);
      color: white;
    }
    .role {
      font-size: 0.85em;
      opacity: 0.8;
    }
    select,
    button {
      font: inherit;
    }
    button.remove,
    button.revoke {
      border: 1px solid var(--sealdoc-error, #b3261e);
      color: var(--sealdoc-error, #b3261e);
      background: none;
      border-radius: 0.3em;
      cursor: pointer;
    }
    button.remove:disabled,
    button.revoke:disabled {
      opacity: 0.5;
    }
    .status {
      min-height: 1.4em;
      margin: 0.5em 0 0;
      font-size: 0.9em;
    }
    .status.bad {
      color: var(--sealdoc-error, #b3261e);
    }
    dialog {
      border: 1px solid #0003;
      border-radius: 0.4em;
    }
    dialog button {
      margin: 0.75em 0.5em 0 0;
    }
  `;

  /** The group whose members are listed. */
  declare group: Group | undefined;
  /** Display names by member id (hex). */
  declare names: Map<string, string> | undefined;
  declare _busy: boolean;
  declare _status: string;
  declare _error: boolean;
  declare _confirming: Confirming | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor() {
    super();
    this._busy = false;
    this._status = '';
    this._error = false;
  }

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('group')) this.#follow();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.group && !this.#unsubscribe) this.#follow();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  #follow(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = this.group?.events.on('membership', () => this.requestUpdate());
  }

  /** The name shown for a member. */
  nameOf(memberId: Uint8Array): string {
    const id = toHex(memberId);
    return this.names?.get(id) ?? `Member ${id.slice(0, 8)}`;
  }

  override render() {
    const group = this.group;
    if (!group) return nothing;
    const me = toHex(group.personId);
    const thisDevice = toHex(group.deviceId);
    const admin = group.role === 'admin';
    // A revoked device (or a removed person) changes nothing more.
    const acting = group.role !== undefined;
    // You first, then by name.
    const members = group.log
      .members()
      .map((m) => ({ ...m, mine: toHex(m.memberId) === me, name: this.nameOf(m.memberId) }))
      .sort((a, b) => Number(b.mine) - Number(a.mine) || a.name.localeCompare(b.name));
    return html`<ul part="list" aria-label="Members">
        ${members.map((m) => {
          const { name, mine } = m;
          const devices = group.log.devices(m.memberId);
          return html`<li part="member">
            <div class="person">
              <span class="name" part="name">${name}</span>
              ${mine ? html`<span class="you" part="you">you</span>` : nothing}
              ${admin && !mine
                ? html`<select part="role" aria-label="Role of ${name}" ?disabled=${this._busy} @change=${(e: Event) => this.#setRole(m.memberId, (e.target as HTMLSelectElement).value as MemberRole, e)}>
                      ${ROLES.map((r) => html`<option value=${r} ?selected=${r === m.role}>${r}</option>`)}
                    </select>
                    <button class="remove" part="remove" ?disabled=${this._busy} @click=${() => this.#ask({ kind: 'member', memberId: m.memberId })}>Remove</button>`
                : html`<span class="role" part="role">${m.role}</span>`}
            </div>
            <div class="devices" part="devices" role="list" aria-label="Devices of ${name}">
              ${devices.map((d) => {
                const label = deviceName(d);
                const here = toHex(d.deviceId) === thisDevice;
                // Only one's own other devices, never the key from the recovery words.
                const revocable = mine && acting && !here && !d.identity;
                return html`<div class="device" part="device" role="listitem" data-device=${toHex(d.deviceId)}>
                  <span class="device-name" part="device-name" title=${d.identity ? 'The key from the recovery words' : nothing}>${label}</span>
                  ${here ? html`<span class="this-device" part="this-device">this device</span>` : nothing}
                  ${revocable
                    ? html`<button class="revoke" part="revoke" aria-label="Remove the device ${label}" ?disabled=${this._busy} @click=${() => this.#ask({ kind: 'device', device: d })}>Remove device</button>`
                    : nothing}
                </div>`;
              })}
            </div>
          </li>`;
        })}
      </ul>
      <p class="status ${this._error ? 'bad' : ''}" part="status" role="status" aria-live="polite">${this._status || `Epoch ${group.log.epoch} · ${members.length} ${members.length === 1 ? 'member' : 'members'}`}</p>
      <dialog part="dialog" aria-labelledby="confirm-title" @close=${this.#closed}>
        ${this._confirming?.kind === 'member'
          ? html`<p id="confirm-title">Remove ${this.nameOf(this._confirming.memberId)}?</p>
              <p>They will keep what they already read, and read nothing new: the document's keys are rotated.</p>
              <button class="remove" part="remove" @click=${this.#remove}>Remove</button>
              <button @click=${() => this.renderRoot.querySelector('dialog')!.close()}>Cancel</button>`
          : this._confirming?.kind === 'device'
            ? html`<p id="confirm-title">Remove your device “${deviceName(this._confirming.device)}”?</p>
                <p>It will read nothing new and send nothing more, and it erases the copy it keeps once it learns of it. The document's keys are rotated. To use it again, restore it from your recovery words.</p>
                <button class="remove" part="remove" @click=${this.#revoke}>Remove device</button>
                <button @click=${() => this.renderRoot.querySelector('dialog')!.close()}>Cancel</button>`
            : nothing}
      </dialog>`;
  }

  /** The dialog closed (Escape, Cancel, or a choice): it asks nothing more, unless it was opened again meanwhile (its close event comes a task later). */
  #closed(event: Event): void {
    if (!(event.target as HTMLDialogElement).open) this._confirming = undefined;
  }

  #ask(what: Confirming): void {
    this._confirming = what;
    void this.updateComplete.then(() => this.renderRoot.querySelector('dialog')!.showModal());
  }

  async #remove(): Promise<void> {
    const what = this._confirming;
    this.renderRoot.querySelector('dialog')!.close();
    if (what?.kind !== 'member') return;
    const { memberId } = what;
    await this.#change(memberId, null, `Removing ${this.nameOf(memberId)} and rotating the keys…`, () => this.group!.removeMember(memberId));
  }

  async #revoke(): Promise<void> {
    const what = this._confirming;
    this.renderRoot.querySelector('dialog')!.close();
    if (what?.kind !== 'device') return;
    const { deviceId, personId } = what.device;
    const label = deviceName(what.device);
    this._busy = true;
    this._error = false;
    this._status = `Removing your device “${label}” and rotating the keys…`;
    try {
      await this.group!.revokeDevice(deviceId);
      const epoch = this.group!.log.epoch;
      this._status = `Your device “${label}” was removed. New keys: epoch ${epoch}.`;
      this.dispatchEvent(new CustomEvent<DeviceRevokedDetail>('sealdoc-device-revoked', { detail: { deviceId, personId, epoch }, bubbles: true, composed: true }));
    } catch (error) {
      this._error = true;
      this._status = describeError(error);
    } finally {
      this._busy = false;
    }
  }

  async #setRole(memberId: Uint8Array, role: MemberRole, event: Event): Promise<void> {
    const ok = await this.#change(memberId, role, `Making ${this.nameOf(memberId)} ${role === 'admin' ? 'an admin' : `a ${role}`}…`, () => this.group!.setRole(memberId, role));
    if (!ok) (event.target as HTMLSelectElement).value = this.group!.log.member(memberId)?.role ?? role;
  }

  async #change(memberId: Uint8Array, role: MemberRole | null, doing: string, work: () => Promise<void>): Promise<boolean> {
    this._busy = true;
    this._error = false;
    this._status = doing;
    try {
      await work();
      const epoch = this.group!.log.epoch;
      this._status = role === null ? `${this.nameOf(memberId)} was removed. New keys: epoch ${epoch}.` : `${this.nameOf(memberId)} is now ${role === 'admin' ? 'an admin' : `a ${role}`}. Epoch ${epoch}.`;
      this.dispatchEvent(
        new CustomEvent<MemberChangeDetail>(role === null ? 'sealdoc-member-removed' : 'sealdoc-role-changed', { detail: { memberId, role, epoch }, bubbles: true, composed: true }),
      );
      return true;
    } catch (error) {
      this._error = true;
      this._status = describeError(error);
      return false;
    } finally {
      this._busy = false;
    }
  }
}

customElements.define('sealdoc-members', SealdocMembers);

declare global {
  interface HTMLElementTagNameMap {
    'sealdoc-members': SealdocMembers;
  }
}
