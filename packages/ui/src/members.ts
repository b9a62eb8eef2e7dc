/**
 * `<sealdoc-members>`: a group's members with their roles; an admin changes roles and removes
 * members (after a confirmation), and sees the key rotation happen and the new epoch.
 * @module
 */
import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import type { Group } from '@sealdoc/core';
import { toHex, type MemberRole } from '@sealdoc/crypto';
import { describeError } from './words.js';

/** Detail of `sealdoc-member-removed` and `sealdoc-role-changed`. */
export interface MemberChangeDetail {
  memberId: Uint8Array;
  /** The new role; null for a removal. */
  role: MemberRole | null;
  /** The epoch the change started. */
  epoch: number;
}

const ROLES: MemberRole[] = ['admin', 'writer', 'reader'];

/**
 * Lists the members of `group`. `names` maps member ids (hex) to display names; others show
 * the start of their id. Fires `sealdoc-role-changed` and `sealdoc-member-removed` (detail
 * {@link MemberChangeDetail}) once the change is made. Parts: `list`, `member`, `name`,
 * `you`, `role`, `remove`, `dialog`, `status`. Custom properties: `--sealdoc-accent`,
 * `--sealdoc-error`.
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
      display: flex;
      align-items: center;
      gap: 0.6em;
      padding: 0.35em 0;
      border-bottom: 1px solid #0001;
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
    button.remove {
      border: 1px solid var(--sealdoc-error, #b3261e);
      color: var(--sealdoc-error, #b3261e);
      background: none;
      border-radius: 0.3em;
      cursor: pointer;
    }
    button.remove:disabled {
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
  declare _confirming: Uint8Array | undefined;
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
    const admin = group.role === 'admin';
    // You first, then by name.
    const members = group.log
      .members()
      .map((m) => ({ ...m, mine: toHex(m.memberId) === me, name: this.nameOf(m.memberId) }))
      .sort((a, b) => Number(b.mine) - Number(a.mine) || a.name.localeCompare(b.name));
    return html`<ul part="list" aria-label="Members">
        ${members.map((m) => {
          const { name, mine } = m;
          return html`<li part="member">
            <span class="name" part="name">${name}</span>
            ${mine ? html`<span class="you" part="you">you</span>` : nothing}
            ${admin && !mine
              ? html`<select part="role" aria-label="Role of ${name}" ?disabled=${this._busy} @change=${(e: Event) => this.#setRole(m.memberId, (e.target as HTMLSelectElement).value as MemberRole, e)}>
                    ${ROLES.map((r) => html`<option value=${r} ?selected=${r === m.role}>${r}</option>`)}
                  </select>
                  <button class="remove" part="remove" ?disabled=${this._busy} @click=${() => this.#ask(m.memberId)}>Remove</button>`
              : html`<span class="role" part="role">${m.role}</span>`}
          </li>`;
        })}
      </ul>
      <p class="status ${this._error ? 'bad' : ''}" part="status" role="status" aria-live="polite">${this._status || `Epoch ${group.log.epoch} · ${members.length} ${members.length === 1 ? 'member' : 'members'}`}</p>
      <dialog part="dialog" aria-labelledby="confirm-title" @close=${() => (this._confirming = undefined)}>
        ${this._confirming
          ? html`<p id="confirm-title">Remove ${this.nameOf(this._confirming)}?</p>
              <p>They will keep what they already read, and read nothing new: the document's keys are rotated.</p>
              <button class="remove" part="remove" @click=${this.#remove}>Remove</button>
              <button @click=${() => this.renderRoot.querySelector('dialog')!.close()}>Cancel</button>`
          : nothing}
      </dialog>`;
  }

  #ask(memberId: Uint8Array): void {
    this._confirming = memberId;
    void this.updateComplete.then(() => this.renderRoot.querySelector('dialog')!.showModal());
  }

  async #remove(): Promise<void> {
    const memberId = this._confirming;
    this.renderRoot.querySelector('dialog')!.close();
    if (!memberId) return;
    await this.#change(memberId, null, `Removing ${this.nameOf(memberId)} and rotating the keys…`, () => this.group!.removeMember(memberId));
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
