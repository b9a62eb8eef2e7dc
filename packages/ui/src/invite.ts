/**
 * `<sealdoc-invite>`: an admin creates an invitation link and admits whoever asks with it; an
 * invitee opens the link and sees its request pending, admitted, expired or revoked.
 * @module
 */
import { css, html, LitElement, nothing } from 'lit';
import { GroupInvitation, JoinByInvitation, type Group, type InvitationRequest, type JoinState, type WebSocketTransport } from '@sealdoc/core';
import type { Actor, MemberRole } from '@sealdoc/crypto';
import { describeError } from './words.js';

/** Detail of `sealdoc-member-admitted`. */
export interface AdmittedDetail {
  memberId: Uint8Array;
  name: string;
  epoch: number;
}

/** Detail of `sealdoc-join-state`. */
export interface JoinStateDetail {
  state: JoinState;
}

const JOIN_WORDS: Record<JoinState, string> = {
  sending: 'Sending your request…',
  pending: 'Waiting for an admin to let you in.',
  admitted: 'You are in.',
  expired: 'This invitation has expired. Ask for a new link.',
  revoked: 'This invitation was withdrawn. Ask for a new link.',
  unknown: 'This link is not known to the server. Check that you have all of it.',
};

/**
 * `mode="create"` (an admin; set `group` and `transport`): choose a role, create a link (the
 * secret is in its fragment, never sent to the server in clear), copy it, see requests with
 * their safety codes, admit or decline, revoke. Fires `sealdoc-invitation-created` `{ link }`,
 * `sealdoc-member-admitted` ({@link AdmittedDetail}), `sealdoc-invitation-revoked`.
 *
 * `mode="join"` (an invitee; set `link`, `identity`, `transport`): type a name, ask to join,
 * read the safety code to the admin, follow the state. Fires `sealdoc-join-state`
 * ({@link JoinStateDetail}) and, once admitted, `sealdoc-joined` `{ group }`.
 *
 * Parts: `role`, `button`, `link`, `state`, `request`, `code`, `input`, `message`. Custom
 * properties: `--sealdoc-accent`, `--sealdoc-error`.
 */
export class SealdocInvite extends LitElement {
  static override properties = {
    mode: { reflect: true },
    group: { attribute: false },
    transport: { attribute: false },
    baseUrl: { attribute: 'base-url' },
    link: {},
    identity: { attribute: false },
    _invitation: { state: true },
    _join: { state: true },
    _message: { state: true },
    _busy: { state: true },
  };

  static override styles = css`
    :host {
      display: block;
      font: inherit;
    }
    .row {
      display: flex;
      gap: 0.5em;
      align-items: center;
      flex-wrap: wrap;
      margin: 0.4em 0;
    }
    input,
    select,
    button {
      font: inherit;
    }
    input.link {
      flex: 1;
      min-width: 12em;
      font-family: ui-monospace, monospace;
      font-size: 0.85em;
    }
    button {
      padding: 0.3em 0.9em;
      border-radius: 0.3em;
      border: 1px solid var(--sealdoc-accent, #2457c5);
      background: var(--sealdoc-accent, #2457c5);
      color: white;
      cursor: pointer;
    }
    button.quiet {
      background: none;
      color: var(--sealdoc-accent, #2457c5);
    }
    button:disabled {
      opacity: 0.5;
      cursor: default;
    }
    ul {
      list-style: none;
      padding: 0;
      margin: 0.5em 0;
    }
    li {
      display: flex;
      gap: 0.6em;
      align-items: center;
      padding: 0.3em 0;
      border-bottom: 1px solid #0001;
    }
    .code {
      font-family: ui-monospace, monospace;
      font-size: 0.9em;
    }
    .name {
      flex: 1;
    }
    .message {
      min-height: 1.4em;
      margin: 0.4em 0 0;
    }
    .message.bad {
      color: var(--sealdoc-error, #b3261e);
    }
  `;

  /** `create` (an admin) or `join` (an invitee). */
  declare mode: 'create' | 'join';
  /** For `create`: the group to invite to. */
  declare group: Group | undefined;
  /** The connection to the relay (both modes). */
  declare transport: WebSocketTransport | undefined;
  /** For `create`: the app's address the link starts with (default: this page's, without its fragment). */
  declare baseUrl: string | undefined;
  /** For `join`: the invitation link (or its code). */
  declare link: string | undefined;
  /** For `join`: who asks to join: the person's identity, or a device of the person (LocalDevice.signer). */
  declare identity: Actor | undefined;
  declare _invitation: GroupInvitation | undefined;
  declare _join: JoinByInvitation | undefined;
  declare _message: { text: string; bad: boolean };
  declare _busy: boolean;
  #off: (() => void)[] = [];

  constructor() {
    super();
    this.mode = 'create';
    this._message = { text: '', bad: false };
    this._busy = false;
  }

  /** The invitation created here (mode `create`). */
  get invitation(): GroupInvitation | undefined {
    return this._invitation;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    for (const off of this.#off.splice(0)) off();
    this._invitation?.close();
    this._join?.close();
  }

  override render() {
    return this.mode === 'join' ? this.#renderJoin() : this.#renderCreate();
  }

  #say(text: string, bad = false): void {
    this._message = { text, bad };
  }

  async #run(work: () => Promise<void>): Promise<void> {
    this._busy = true;
    try {
      await work();
    } catch (error) {
      this.#say(describeError(error), true);
    } finally {
      this._busy = false;
    }
  }

  #renderCreate() {
    const invitation = this._invitation;
    const canCreate = this.group?.role === 'admin' && !!this.transport;
    // Creating is always offered: a new link replaces the one shown (which stays valid until it ends).
    const create = html`<div class="row">
      <label for="role">Invite as</label>
      <select id="role" part="role">
        <option value="writer" selected>writer</option>
        <option value="reader">reader</option>
        <option value="admin">admin</option>
      </select>
      <button part="button" ?disabled=${!canCreate || this._busy} @click=${this.#create}>${invitation ? 'Create another link' : 'Create invitation link'}</button>
    </div>`;
    return html`${create}${invitation
        ? html`<div class="row">
              <label for="link">Invitation link</label>
              <input id="link" class="link" part="link" readonly autocomplete="off" .value=${invitation.link} @focus=${(e: Event) => (e.target as HTMLInputElement).select()} />
              <button class="quiet" part="button" @click=${this.#copy}>Copy</button>
            </div>
            <div class="row">
              <span part="state" role="status">${invitation.state === 'open' ? `Open until ${new Date(invitation.invitation.expiresAt).toLocaleString()}, for a ${invitation.invitation.role}` : invitation.state === 'expired' ? 'Expired' : 'Revoked'}</span>
              ${invitation.state === 'open' ? html`<button class="quiet" part="button" ?disabled=${this._busy} @click=${this.#revoke}>Revoke</button>` : nothing}
            </div>
            ${invitation.requests.length
              ? html`<ul aria-label="Requests to join">
                  ${invitation.requests.map(
                    (r) => html`<li part="request">
                      <span class="name">${r.name || 'Someone'}</span>
                      <span class="code" part="code" title="Ask them to read you their code: it must match">${r.safetyCode}</span>
                      ${r.state === 'pending' && invitation.state === 'open'
                        ? html`<button part="button" ?disabled=${this._busy} @click=${() => this.#admit(r)}>Admit</button>
                            <button class="quiet" part="button" ?disabled=${this._busy} @click=${() => this.#decline(r)}>Decline</button>`
                        : html`<span>${r.state}</span>`}
                    </li>`,
                  )}
                </ul>`
              : invitation.state === 'open'
                ? html`<p>Nobody has used the link yet.</p>`
                : nothing}`
        : nothing}
      <p class="message ${this._message.bad ? 'bad' : ''}" part="message" role=${this._message.bad ? 'alert' : 'status'}>${this._message.text}</p>`;
  }

  async #create(): Promise<void> {
    const group = this.group;
    const transport = this.transport;
    if (!group || !transport) return;
    const role = (this.renderRoot.querySelector('#role') as HTMLSelectElement).value as MemberRole;
    await this.#run(async () => {
      const invitation = await GroupInvitation.create({ group, transport, role, baseUrl: this.baseUrl ?? location.href });
      this._invitation?.close();
      this._invitation = invitation;
      const refresh = () => this.requestUpdate();
      this.#off.push(
        invitation.events.on('request', refresh),
        invitation.events.on('state', refresh),
        invitation.events.on('error', ({ error }) => this.#say(describeError(error), true)),
      );
      this.#say('Send this link over a channel you trust. Whoever holds it can ask to join; you decide.');
      this.dispatchEvent(new CustomEvent('sealdoc-invitation-created', { detail: { link: invitation.link }, bubbles: true, composed: true }));
    });
  }

  async #copy(): Promise<void> {
    if (!this._invitation) return;
    try {
      await navigator.clipboard.writeText(this._invitation.link);
      this.#say('Link copied.');
    } catch {
      this.#say('Select the link and copy it.');
    }
  }

  async #admit(request: InvitationRequest): Promise<void> {
    const invitation = this._invitation!;
    await this.#run(async () => {
      this.#say(`Admitting ${request.name || 'them'}…`);
      await invitation.admit(request.memberId);
      const epoch = this.group!.log.epoch;
      this.#say(`${request.name || 'They'} can now open the document.`);
      this.dispatchEvent(new CustomEvent<AdmittedDetail>('sealdoc-member-admitted', { detail: { memberId: request.memberId, name: request.name, epoch }, bubbles: true, composed: true }));
    });
  }

  #decline(request: InvitationRequest): void {
    this._invitation?.decline(request.memberId);
  }

  async #revoke(): Promise<void> {
    await this.#run(async () => {
      await this._invitation!.revoke();
      this.#say('The link no longer works.');
      this.dispatchEvent(new CustomEvent('sealdoc-invitation-revoked', { bubbles: true, composed: true }));
    });
  }

  #renderJoin() {
    const join = this._join;
    if (!join)
      return html`<form @submit=${this.#startJoin}>
        <label for="name">Your name, as the admin will see it</label>
        <div class="row">
          <input id="name" part="input" autocomplete="off" required maxlength="60" />
          <button part="button" type="submit" ?disabled=${!this.link || !this.identity || !this.transport}>Ask to join</button>
        </div>
        <p class="message ${this._message.bad ? 'bad' : ''}" part="message" role=${this._message.bad ? 'alert' : 'status'}>${this._message.text}</p>
      </form>`;
    return html`<p part="state" role="status" aria-live="polite">${JOIN_WORDS[join.state]}</p>
      ${join.state === 'pending' || join.state === 'sending'
        ? html`<p>Your safety code: <strong class="code" part="code">${join.safetyCode}</strong><br />Read it to the admin: the code they see must be the same.</p>`
        : nothing}
      <p class="message ${this._message.bad ? 'bad' : ''}" part="message">${this._message.text}</p>`;
  }

  #startJoin(event: SubmitEvent): void {
    event.preventDefault();
    const name = (this.renderRoot.querySelector('#name') as HTMLInputElement).value;
    try {
      const join = JoinByInvitation.start(this.link!, { signer: this.identity!, transport: this.transport!, name });
      this._join = join;
      this.#off.push(
        join.events.on('state', ({ state }) => {
          this.requestUpdate();
          this.dispatchEvent(new CustomEvent<JoinStateDetail>('sealdoc-join-state', { detail: { state }, bubbles: true, composed: true }));
          if (state === 'admitted') this.dispatchEvent(new CustomEvent('sealdoc-joined', { detail: { group: join.group }, bubbles: true, composed: true }));
        }),
        join.events.on('error', ({ error }) => this.#say(describeError(error), true)),
      );
    } catch (error) {
      this.#say(describeError(error), true);
    }
  }
}

customElements.define('sealdoc-invite', SealdocInvite);

declare global {
  interface HTMLElementTagNameMap {
    'sealdoc-invite': SealdocInvite;
  }
}
