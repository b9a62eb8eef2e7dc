/**
 * `<sealdoc-members>`: a group's members (persons) with their roles and, under each, its
 * devices; who is here now; an admin changes roles and removes members, and anyone removes
 * its own other devices (after a confirmation).
 * @module
 */
import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import type { Awareness } from 'y-protocols/awareness';
import type { Group, SealedDoc } from '@sealdoc/core';
import { toHex, type MemberDevice, type MemberRole } from '@sealdoc/crypto';
import { personColor } from './colors.js';
import { deviceName, personName, presentDevices, safetyCode } from './people.js';
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
 * ids (hex) to display names; others show the start of their id. Each person has its caret's
 * colour and, on hover (and beside the name when two members share it), its safety code. With
 * `sealed` and `awareness` (the document's), the persons and devices here now are marked, as
 * the sealed presence proves them. The viewer may remove its
 * own person's other certified devices (never the first device, never this one, never
 * another person's). Fires `sealdoc-role-changed` and `sealdoc-member-removed` (detail
 * {@link MemberChangeDetail}), and `sealdoc-device-revoked` (detail
 * {@link DeviceRevokedDetail}) once the change is made. What it says of a change can be
 * dismissed (its close button, or Escape). Parts: `list`, `member`, `color`, `name`, `code`,
 * `you`, `here`, `role`, `remove`, `devices`, `device`, `device-name`, `this-device`,
 * `device-here`, `revoke`, `dialog`, `status`, `dismiss`. Custom properties: `--sealdoc-accent`, `--sealdoc-error`.
 */
export class SealdocMembers extends LitElement {
  static override properties = {
    group: { attribute: false },
    names: { attribute: false },
    sealed: { attribute: false },
    awareness: { attribute: false },
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
    .color {
      width: 0.7em;
      height: 0.7em;
      border-radius: 50%;
      flex: none;
    }
    .here,
    .device-here {
      font-size: 0.8em;
      color: #166534;
    }
    .here::before,
    .device-here::before {
      content: '● ';
    }
    /* On the person's line, a dot only (its words for screen readers and on hover): the devices say it in full. */
    .here {
      flex: none;
    }
    .sr {
      position: absolute;
      width: 1px;
      height: 1px;
      overflow: hidden;
      clip-path: inset(50%);
      white-space: nowrap;
    }
    .code {
      font-size: 0.8em;
      opacity: 0.75;
      font-variant-numeric: tabular-nums;
    }
    .status-line {
      display: flex;
      align-items: baseline;
      gap: 0.5em;
    }
    .status-line button {
      border: none;
      background: none;
      cursor: pointer;
      padding: 0 0.3em;
    }
    .name {
      flex: 1;
      min-width: 4em;
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
  /** The group's document: with `awareness`, who is here now. */
  declare sealed: SealedDoc | undefined;
  /** The document's presence (the one given to `sealed`). */
  declare awareness: Awareness | undefined;
  declare _busy: boolean;
  declare _status: string;
  declare _error: boolean;
  declare _confirming: Confirming | undefined;
  #unsubscribe: (() => void) | undefined;
  #unwatch: (() => void) | undefined;
  /** Who was here when last drawn, to draw again only when that changes (not at every caret move). */
  #hereKey = '';

  constructor() {
    super();
    this._busy = false;
    this._status = '';
    this._error = false;
  }

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('group')) this.#follow();
    if (changed.has('awareness')) this.#watch();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.group && !this.#unsubscribe) this.#follow();
    if (this.awareness && !this.#unwatch) this.#watch();
    this.addEventListener('keydown', this.#onKey);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.removeEventListener('keydown', this.#onKey);
  }

  /** Escape dismisses what the list says of a change (the dialog handles its own). */
  readonly #onKey = (event: KeyboardEvent): void => {
    if (event.key === 'Escape' && this._status && !this._confirming) this.#dismiss();
  };

  #dismiss(): void {
    this._status = '';
    this._error = false;
  }

  #watch(): void {
    this.#unwatch?.();
    const awareness = this.awareness;
    if (!awareness) return (this.#unwatch = undefined);
    const onChange = () => {
      if (this.#presence().key !== this.#hereKey) this.requestUpdate();
    };
    awareness.on('change', onChange);
    this.#unwatch = () => awareness.off('change', onChange);
  }

  /** Who is here now: device ids (hex) by person, and a key of it. */
  #presence(): { here: Map<string, Set<string>>; key: string } {
    const here = this.sealed && this.awareness ? presentDevices(this.sealed, this.awareness) : new Map<string, Set<string>>();
    return { here, key: JSON.stringify([...here].map(([p, d]) => [p, [...d].sort()]).sort()) };
  }

  #follow(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = this.group?.events.on('membership', () => this.requestUpdate());
  }

  /** The name shown for a member. */
  nameOf(memberId: Uint8Array): string {
    return personName(memberId, this.names);
  }

  override render() {
    const group = this.group;
    if (!group) return nothing;
    const me = toHex(group.personId);
    const thisDevice = toHex(group.deviceId);
    const admin = group.role === 'admin';
    // A revoked device (or a removed person) changes nothing more.
    const acting = group.role !== undefined;
    const { here, key } = this.#presence();
    this.#hereKey = key;
    const persons = group.log.members().map((m) => toHex(m.memberId));
    // You first, then by name.
    const members = group.log
      .members()
      .map((m) => ({ ...m, id: toHex(m.memberId), mine: toHex(m.memberId) === me, name: this.nameOf(m.memberId) }))
      .sort((a, b) => Number(b.mine) - Number(a.mine) || a.name.localeCompare(b.name));
    // Two members of one name: their safety codes show beside it, not only on hover.
    const shared = new Set(members.filter((m, i) => members.findIndex((o) => o.name === m.name) !== i).map((m) => m.name));
    const present = members.filter((m) => !m.mine && here.has(m.id)).length;
    return html`<ul part="list" aria-label="Members">
        ${members.map((m) => {
          const { name, mine } = m;
          const devices = group.log.devices(m.memberId);
          const code = safetyCode(m.id);
          const otherDeviceHere = mine && here.has(m.id);
          return html`<li part="member" data-person=${m.id} data-here=${here.has(m.id) ? 'yes' : 'no'}>
            <div class="person">
              <span class="color" part="color" style="background: ${personColor(m.id, persons)}" aria-hidden="true"></span>
              <span class="name" part="name" title="Safety code ${code}: compare it with theirs to be sure who this is">${name}${shared.has(name) ? html` <span class="code" part="code">${code}</span>` : nothing}</span>
              ${mine ? html`<span class="you" part="you">you</span>` : nothing}
              ${otherDeviceHere || here.has(m.id)
                ? html`<span class="here" part="here" title=${otherDeviceHere ? 'You are here on another device too' : 'Here now'}><span class="sr">${otherDeviceHere ? 'you, other device' : 'here now'}</span></span>`
                : nothing}
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
                const thisOne = toHex(d.deviceId) === thisDevice;
                // Only one's own other devices, never the key from the recovery words.
                const revocable = mine && acting && !thisOne && !d.identity;
                return html`<div class="device" part="device" role="listitem" data-device=${toHex(d.deviceId)}>
                  <span class="device-name" part="device-name" title=${d.identity ? 'The key from the recovery words' : nothing}>${label}</span>
                  ${thisOne ? html`<span class="this-device" part="this-device">this device</span>` : nothing}
                  ${here.get(m.id)?.has(toHex(d.deviceId)) ? html`<span class="device-here" part="device-here">here now</span>` : nothing}
                  ${revocable
                    ? html`<button class="revoke" part="revoke" aria-label="Remove the device ${label}" ?disabled=${this._busy} @click=${() => this.#ask({ kind: 'device', device: d })}>Remove device</button>`
                    : nothing}
                </div>`;
              })}
            </div>
          </li>`;
        })}
      </ul>
      <div class="status-line">
        <p class="status ${this._error ? 'bad' : ''}" part="status" role="status" aria-live="polite">${this._status || `${members.length} ${members.length === 1 ? 'member' : 'members'}${present ? ` · ${present} here now` : ''}`}</p>
        ${this._status && !this._busy ? html`<button part="dismiss" aria-label="Dismiss this message" title="Dismiss (Escape)" @click=${() => this.#dismiss()}>✕</button>` : nothing}
      </div>
      <dialog part="dialog" aria-labelledby="confirm-title" @close=${this.#closed}>
        ${this._confirming?.kind === 'member'
          ? html`<p id="confirm-title">Remove ${this.nameOf(this._confirming.memberId)}?</p>
              <p>They will keep what they already read, and read nothing new: the document's keys are changed.</p>
              <button class="remove" part="remove" @click=${this.#remove}>Remove</button>
              <button @click=${() => this.renderRoot.querySelector('dialog')!.close()}>Cancel</button>`
          : this._confirming?.kind === 'device'
            ? html`<p id="confirm-title">Remove your device “${deviceName(this._confirming.device)}”?</p>
                <p>It will read nothing new and send nothing more, and it erases the copy it keeps once it learns of it. The document's keys are changed. To use it again, restore it from your recovery words.</p>
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
    await this.#change(memberId, null, `Removing ${this.nameOf(memberId)}…`, () => this.group!.removeMember(memberId));
  }

  async #revoke(): Promise<void> {
    const what = this._confirming;
    this.renderRoot.querySelector('dialog')!.close();
    if (what?.kind !== 'device') return;
    const { deviceId, personId } = what.device;
    const label = deviceName(what.device);
    this._busy = true;
    this._error = false;
    this._status = `Removing your device “${label}”…`;
    try {
      await this.group!.revokeDevice(deviceId);
      const epoch = this.group!.log.epoch;
      this._status = `Your device “${label}” was removed. The document's keys were changed, so it reads nothing new.`;
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
      this._status =
        role === null ? `${this.nameOf(memberId)} was removed. The document's keys were changed, so they read nothing new.` : `${this.nameOf(memberId)} is now ${role === 'admin' ? 'an admin' : `a ${role}`}.`;
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
