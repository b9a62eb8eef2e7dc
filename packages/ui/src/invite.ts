/**
 * `<sealdoc-invite>`: an admin creates invitation links, sees the pending ones (cancels one),
 * and admits whoever asks with them; an invitee opens a link and sees its request pending
 * (and whether an admin is online to let it in), admitted, expired, cancelled or used.
 * {@link describeInvitationCheck} says in words what a link's check found, before the invitee
 * has an identity.
 * @module
 */
import { css, html, LitElement, nothing } from 'lit';
import { GroupInvitation, JoinByInvitation, type Group, type InvitationCheck, type InvitationRequest, type JoinState, type WebSocketTransport } from '@sealdoc/core';
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

/** Detail of `sealdoc-invitation-created` and `sealdoc-invitation-revoked`. */
export interface InvitationDetail {
  link: string;
  invitation: GroupInvitation;
}

const ASK_AGAIN = 'Ask the person who sent it for a new link.';
const JOIN_WORDS: Record<JoinState, string> = {
  sending: 'Sending your request…',
  pending: 'Waiting for an admin to let you in.',
  admitted: 'You are in.',
  expired: `This invitation has expired. ${ASK_AGAIN}`,
  revoked: `This invitation was cancelled. ${ASK_AGAIN}`,
  used: `This invitation was already used: a link lets one person in. ${ASK_AGAIN}`,
  unknown: 'This link is not known to the server. Check that you have all of it, or ask the person who sent it for a new link.',
};

const day = (ms: number) => new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** While an admin is away: their device must be online to open the request, which waits for them until the link expires. */
const adminAway = (expiresAt: number) =>
  `The person who invited you is not online right now, and they need to be to let you in. Your request waits for them until ${day(expiresAt)}: keep this page open, or open the link again later.`;

/**
 * What a link's check found, in words for the person holding it: why it cannot be used and
 * what to do, or that it is open (and whether someone is online to let them in).
 */
export function describeInvitationCheck(check: InvitationCheck): string {
  switch (check.state) {
    case 'open':
      return check.adminOnline ? 'This invitation is open. Create your identity, then ask to join: the person who invited you lets you in.' : adminAway(check.invitation.expiresAt);
    case 'expired':
      return `This invitation expired on ${day(check.invitation.expiresAt)}. ${ASK_AGAIN}`;
    default:
      return JOIN_WORDS[check.state];
  }
}

/**
 * `mode="create"` (an admin; set `group` and `transport`): choose a role, create a link (the
 * secret is in its fragment, never sent to the server in clear), copy it, see the pending
 * links (those created here and those in `invitations`: the app's, kept across reloads) with
 * their requests and safety codes, admit or decline, cancel a link. Fires
 * `sealdoc-invitation-created` and `sealdoc-invitation-revoked` ({@link InvitationDetail}),
 * `sealdoc-member-admitted` ({@link AdmittedDetail}). Invitations in `invitations` belong to
 * the caller; one created here is closed when the element leaves the page unless the caller
 * took it into `invitations` by then.
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
    invitations: { attribute: false },
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
    h3 {
      font-size: 1em;
      margin: 0.8em 0 0.2em;
    }
    .invitation {
      border-top: 1px solid #0002;
      padding-top: 0.2em;
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
  /** For `create`: invitations of `group` the caller keeps (resumed after a reload), listed with those created here. */
  declare invitations: GroupInvitation[];
  declare _invitation: GroupInvitation | undefined;
  declare _join: JoinByInvitation | undefined;
  declare _message: { text: string; bad: boolean };
  declare _busy: boolean;
  #off: (() => void)[] = [];
  /** Created here, newest last. */
  readonly #created: GroupInvitation[] = [];
  readonly #watched = new Set<GroupInvitation>();

  constructor() {
    super();
    this.mode = 'create';
    this.invitations = [];
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
    this.#watched.clear();
    for (const invitation of this.#created) if (!this.invitations.includes(invitation)) invitation.close();
    this._join?.close();
  }

  override willUpdate(): void {
    for (const invitation of this.invitations) this.#watch(invitation);
  }

  /** The invitations listed, newest first (those handed in are in the order they were created): open ones, and those created here whatever their state. */
  #listed(): GroupInvitation[] {
    return [...new Set([...this.invitations, ...this.#created])].filter((i) => i.state === 'open' || this.#created.includes(i)).reverse();
  }

  /** Draws again when `invitation` changes (once per invitation). */
  #watch(invitation: GroupInvitation): void {
    if (this.#watched.has(invitation)) return;
    this.#watched.add(invitation);
    const refresh = () => this.requestUpdate();
    this.#off.push(
      invitation.events.on('request', refresh),
      invitation.events.on('state', refresh),
      invitation.events.on('error', ({ error }) => this.#say(describeError(error), true)),
    );
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
    const newest = this._invitation;
    const canCreate = this.group?.role === 'admin' && !!this.transport;
    const listed = this.#listed();
    // Creating is always offered: a new link is added to the pending ones (each stays valid until it ends).
    const create = html`<div class="row">
      <label for="role">Invite as</label>
      <select id="role" part="role">
        <option value="writer" selected>writer</option>
        <option value="reader">reader</option>
        <option value="admin">admin</option>
      </select>
      <button part="button" ?disabled=${!canCreate || this._busy} @click=${this.#create}>${newest ? 'Create another link' : 'Create invitation link'}</button>
    </div>`;
    return html`${create}${newest
        ? html`<div class="row">
            <label for="link">Invitation link</label>
            <input id="link" class="link" part="link" readonly autocomplete="off" .value=${newest.link} @focus=${(e: Event) => (e.target as HTMLInputElement).select()} />
            <button class="quiet" part="button" @click=${() => this.#copy(newest)}>Copy</button>
          </div>`
        : nothing}
      ${listed.length ? html`<h3>${listed.length === 1 ? 'Pending link' : `Pending links (${listed.length})`}</h3>` : nothing}
      ${listed.map((invitation) => this.#renderInvitation(invitation, invitation === newest))}
      <p class="message ${this._message.bad ? 'bad' : ''}" part="message" role=${this._message.bad ? 'alert' : 'status'}>${this._message.text}</p>`;
  }

  #renderInvitation(invitation: GroupInvitation, shownAbove: boolean) {
    const open = invitation.state === 'open';
    const used = invitation.requests.some((r) => r.state === 'admitted');
    const state = open
      ? `Open until ${day(invitation.invitation.expiresAt)}, for a ${invitation.invitation.role}`
      : invitation.state === 'expired'
        ? 'Expired'
        : used
          ? 'Used'
          : 'Cancelled';
    return html`<section class="invitation" part="invitation">
      <div class="row">
        <span part="state" role="status">${state}</span>
        ${open && !shownAbove ? html`<button class="quiet" part="button" @click=${() => this.#copy(invitation)}>Copy link</button>` : nothing}
        ${open
          ? html`<button class="quiet cancel" part="button" aria-label=${`Cancel link for a ${invitation.invitation.role}, open until ${day(invitation.invitation.expiresAt)}`} ?disabled=${this._busy} @click=${() => this.#revoke(invitation)}>
              Cancel link
            </button>`
          : nothing}
      </div>
      ${invitation.requests.length
        ? html`<ul aria-label="Requests to join">
            ${invitation.requests.map(
              (r) => html`<li part="request">
                <span class="name">${r.name || 'Someone'}</span>
                <span class="code" part="code" title="Ask them to read you their code: it must match">${r.safetyCode}</span>
                ${r.state === 'pending' && open
                  ? html`<button part="button" ?disabled=${this._busy} @click=${() => this.#admit(invitation, r)}>Admit</button>
                      <button class="quiet" part="button" ?disabled=${this._busy} @click=${() => this.#decline(invitation, r)}>Decline</button>`
                  : html`<span>${r.state}</span>`}
              </li>`,
            )}
          </ul>`
        : open
          ? html`<p>Nobody has used this link yet.</p>`
          : nothing}
    </section>`;
  }

  async #create(): Promise<void> {
    const group = this.group;
    const transport = this.transport;
    if (!group || !transport) return;
    const role = (this.renderRoot.querySelector('#role') as HTMLSelectElement).value as MemberRole;
    await this.#run(async () => {
      const invitation = await GroupInvitation.create({ group, transport, role, baseUrl: this.baseUrl ?? location.href });
      this.#created.push(invitation);
      this.#watch(invitation);
      this._invitation = invitation;
      this.#say('Send this link over a channel you trust. Whoever holds it can ask to join; you decide.');
      this.dispatchEvent(new CustomEvent<InvitationDetail>('sealdoc-invitation-created', { detail: { link: invitation.link, invitation }, bubbles: true, composed: true }));
    });
  }

  async #copy(invitation: GroupInvitation): Promise<void> {
    try {
      await navigator.clipboard.writeText(invitation.link);
      this.#say('Link copied.');
    } catch {
      this.#say('Select the link and copy it.');
    }
  }

  async #admit(invitation: GroupInvitation, request: InvitationRequest): Promise<void> {
    await this.#run(async () => {
      this.#say(`Admitting ${request.name || 'them'}…`);
      await invitation.admit(request.memberId);
      const epoch = this.group!.log.epoch;
      this.#say(`${request.name || 'They'} can now open the document.`);
      this.dispatchEvent(new CustomEvent<AdmittedDetail>('sealdoc-member-admitted', { detail: { memberId: request.memberId, name: request.name, epoch }, bubbles: true, composed: true }));
    });
  }

  #decline(invitation: GroupInvitation, request: InvitationRequest): void {
    invitation.decline(request.memberId);
  }

  async #revoke(invitation: GroupInvitation): Promise<void> {
    await this.#run(async () => {
      await invitation.revoke();
      this.#say('That link was cancelled: whoever opens it is told so.');
      this.dispatchEvent(new CustomEvent<InvitationDetail>('sealdoc-invitation-revoked', { detail: { link: invitation.link, invitation }, bubbles: true, composed: true }));
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
    const away = join.state === 'pending' && join.adminOnline === false;
    return html`<p part="state" role="status" aria-live="polite">${JOIN_WORDS[join.state]}${away ? html` <span class="away" part="away">${adminAway(join.invitation.expiresAt)}</span>` : nothing}</p>
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
        join.events.on('admin', () => this.requestUpdate()),
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
