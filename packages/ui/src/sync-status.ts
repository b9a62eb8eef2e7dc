/**
 * `<sealdoc-sync-status>`: online / offline / syncing, how many edits wait to be sent, the
 * current epoch, and the last error in words a person understands. "Up to date" only when the
 * relay has acknowledged every edit of this device and a resync has settled; "Offline — N
 * changes saved on this device" as soon as the link is lost (the transport noticed a silent
 * link, or keeps trying to reach a relay it lost), or when the relay could not be reached for
 * a few seconds after the start. While the document has an
 * alarm (a fork, withholding, a partition: SealedDoc.alarms), it says so instead of "up to date".
 * When this device was revoked by its person, it says so, and (given the provider) whether its
 * copy was erased.
 * @module
 */
import { css, html, LitElement, type PropertyValues } from 'lit';
import type { SealdocProvider, SealedDoc, WebSocketTransport } from '@sealdoc/core';
import { describeDeviceRevoked, describeError } from './words.js';

/** What the status shows, in one word. */
export type SyncState = 'offline' | 'connecting' | 'syncing' | 'online' | 'warning' | 'removed';

/** Detail of the `sealdoc-sync-state` event. */
export interface SyncStateDetail {
  state: SyncState;
  pending: number;
  epoch: number;
}

const LABELS: Record<SyncState, string> = {
  offline: 'Offline',
  connecting: 'Connecting…',
  syncing: 'Syncing…',
  online: 'Up to date',
  warning: 'Not safe to trust as up to date',
  removed: 'Access removed',
};

/** How long a first attempt to reach the relay shows as "Connecting…" before it shows as offline. */
export const CONNECTING_GRACE_MS = 3000;

// Transport errors that say no more than the status does (the link was lost, the device is offline).
const SHOWN_AS_STATUS = new Set(['closed', 'offline']);

/** "1 change", "2 changes". */
function changes(n: number): string {
  return n === 1 ? '1 change' : `${n} changes`;
}

/** What a person can expect while offline: `trying` (the transport keeps trying to reach the relay), with `pending` edits kept here. */
function offlineHint(trying: boolean, pending: number): string {
  if (trying) return pending ? 'they are sent as soon as the server can be reached' : 'the server can’t be reached; your edits are kept on this device';
  return pending ? 'they are sent once you are back online' : 'your edits are kept on this device';
}

/**
 * Shows a sealed document's sync state. Set `doc` (a SealedDoc), or `provider` (a
 * SealdocProvider: its sealed document, and its `device-revoked` event); the element follows
 * their events.
 *
 * Fires `sealdoc-sync-state` (detail {@link SyncStateDetail}) when the state, the pending
 * count or the epoch changes. The error's close button (or Escape) takes it away; the state
 * stays (an alarm still says "Not safe to trust as up to date"), and a new error shows again.
 * Parts: `status`, `dot`, `label`, `hint`, `pending`, `error`, `dismiss`.
 * Custom properties: `--sealdoc-online`, `--sealdoc-syncing`, `--sealdoc-offline`,
 * `--sealdoc-error` (colours).
 */
export class SealdocSyncStatus extends LitElement {
  static override properties = {
    doc: { attribute: false },
    provider: { attribute: false },
    transport: { attribute: false },
    _state: { state: true },
    _pending: { state: true },
    _epoch: { state: true },
    _error: { state: true },
    _trying: { state: true },
  };

  static override styles = css`
    :host {
      display: inline-block;
      font: inherit;
      color: inherit;
    }
    .bar {
      display: flex;
      align-items: center;
      gap: 0.5em;
    }
    .dot {
      width: 0.6em;
      height: 0.6em;
      border-radius: 50%;
      background: var(--sealdoc-offline, #9a9a9a);
      flex: none;
    }
    .dot[data-state='online'] {
      background: var(--sealdoc-online, #1f8a4c);
    }
    .dot[data-state='syncing'],
    .dot[data-state='connecting'] {
      background: var(--sealdoc-syncing, #c98a00);
    }
    .dot[data-state='removed'],
    .dot[data-state='warning'] {
      background: var(--sealdoc-error, #b3261e);
    }
    .detail {
      opacity: 0.75;
    }
    .error {
      color: var(--sealdoc-error, #b3261e);
      margin: 0;
    }
    .error-line {
      display: flex;
      align-items: baseline;
      gap: 0.4em;
      color: var(--sealdoc-error, #b3261e);
    }
    .error-line button {
      font: inherit;
      border: none;
      background: none;
      color: inherit;
      cursor: pointer;
    }
  `;

  /** The sealed document to follow. */
  declare doc: SealedDoc | undefined;
  /** A provider to follow instead of (or with) `doc`: its sealed document, and its `device-revoked` event. */
  declare provider: SealdocProvider | undefined;
  /** The document's relay transport, optionally: while its link is quiet (a ping unanswered), the status is not "Up to date". */
  declare transport: Pick<WebSocketTransport, 'quiet' | 'events'> | undefined;
  declare _state: SyncState;
  declare _pending: number;
  declare _epoch: number;
  declare _error: string;
  /** The transport keeps trying to reach the relay (status `connecting`), though it may show as offline. */
  declare _trying: boolean;
  #unsubscribe: (() => void)[] = [];
  #removed = false;
  // This device was revoked by its person (not its person removed); the provider said whether its copy was erased.
  #revoked = false;
  #erasureTold = false;
  // The alarm whose words were dismissed: not shown again until another comes.
  #dismissed: unknown;
  // The link was up since this element followed the document: a later attempt is a reconnection, shown as offline.
  #wasOnline = false;
  // When the transport began its first attempt (a start shown as "Connecting…" for a moment), and the timer that ends that moment.
  #connectingSince: number | undefined;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    super();
    this._state = 'offline';
    this._pending = 0;
    this._epoch = 0;
    this._error = '';
    this._trying = false;
  }

  /** The state shown now. */
  get state(): SyncState {
    return this._state;
  }

  /** The last error shown, in words ('' when none). */
  get errorText(): string {
    return this._error;
  }

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('doc') || changed.has('provider') || changed.has('transport')) this.#follow();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if ((this.doc || this.provider) && this.#unsubscribe.length === 0) this.#follow();
    this.addEventListener('keydown', this.#onKey);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#stop();
    this.removeEventListener('keydown', this.#onKey);
  }

  readonly #onKey = (event: KeyboardEvent): void => {
    if (event.key === 'Escape' && this._error) this.#dismiss();
  };

  /** The error's words go away (the state shown stays). */
  #dismiss(): void {
    this.#dismissed = this.#doc?.alarms.at(-1);
    this._error = '';
  }

  #stop(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
    clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
  }

  /** The sealed document followed: `doc`, else the provider's. */
  get #doc(): SealedDoc | undefined {
    return this.doc ?? this.provider?.sealed;
  }

  #follow(): void {
    this.#stop();
    this.#removed = false;
    this.#revoked = false;
    this.#erasureTold = false;
    this.#wasOnline = false;
    this.#connectingSince = undefined;
    this._error = '';
    const provider = this.provider;
    if (provider) {
      const onRevoked = ({ wiped }: { epoch: number; wiped: boolean }) => {
        this.#removed = this.#revoked = this.#erasureTold = true;
        this._error = describeDeviceRevoked(wiped);
        this.#refresh();
      };
      provider.on('device-revoked', onRevoked);
      this.#unsubscribe.push(() => provider.off('device-revoked', onRevoked));
    }
    const doc = this.#doc;
    if (!doc) return;
    const refresh = () => this.#refresh();
    if (this.transport) this.#unsubscribe.push(this.transport.events.on('link', refresh));
    this.#unsubscribe.push(
      doc.events.on('status', refresh),
      doc.events.on('synced', refresh),
      doc.events.on('pending', refresh),
      doc.events.on('alarms', refresh),
      doc.group.events.on('membership', refresh),
      doc.events.on('error', ({ error }) => {
        if (!SHOWN_AS_STATUS.has(String((error as { code?: unknown }).code))) this._error = describeError(error);
      }),
      doc.events.on('access-removed', ({ revoked }) => {
        this.#removed = true;
        if (revoked) this.#revoked = true;
        // The provider's device-revoked (the copy erased or not) says more; it comes after.
        if (!this.#erasureTold) this._error = revoked ? describeDeviceRevoked(false) : describeError({ code: 'access-removed' });
        this.#refresh();
      }),
    );
    this.#refresh();
  }

  #refresh(): void {
    const doc = this.#doc;
    if (!doc) return;
    const status = doc.status;
    const alarm = doc.alarms.at(-1);
    if (doc.group.log.wasRevoked(doc.group.deviceId)) this.#revoked = true;
    const state: SyncState = this.#removed || doc.group.role === undefined ? 'removed' : alarm ? 'warning' : this.#linkState(status, doc.synced, doc.pending);
    // An alarm holds until resolved; back online and synced, an error about being offline no longer does.
    if (alarm && !this.#removed && alarm !== this.#dismissed) this._error = describeError(alarm);
    else if (state === 'online' && this._state !== 'online' && !this.#removed) this._error = '';
    const changed = state !== this._state || doc.pending !== this._pending || doc.group.log.epoch !== this._epoch;
    this._state = state;
    this._pending = doc.pending;
    this._epoch = doc.group.log.epoch;
    if (changed) this.dispatchEvent(new CustomEvent<SyncStateDetail>('sealdoc-sync-state', { detail: { state, pending: this._pending, epoch: this._epoch }, bubbles: true, composed: true }));
  }

  /**
   * The state the link shows: up to date only once a resync settled and every edit was
   * acknowledged; offline as soon as a link that was up is lost (while the transport tries
   * again), or once a first attempt has taken longer than {@link CONNECTING_GRACE_MS}.
   */
  #linkState(status: SealedDoc['status'], synced: boolean, pending: number): SyncState {
    this._trying = status === 'connecting';
    if (status !== 'connecting') this.#connectingSince = undefined;
    if (status === 'online') {
      this.#wasOnline = true;
      return synced && pending === 0 && !this.transport?.quiet ? 'online' : 'syncing';
    }
    if (status === 'offline' || this.#wasOnline) return 'offline';
    const now = Date.now();
    this.#connectingSince ??= now;
    const left = this.#connectingSince + CONNECTING_GRACE_MS - now;
    if (left <= 0) return 'offline';
    clearTimeout(this.#graceTimer);
    this.#graceTimer = setTimeout(() => this.#refresh(), left + 10);
    return 'connecting';
  }

  override render() {
    const offline = this._state === 'offline';
    const pending = this._pending === 0 ? '' : offline ? `${changes(this._pending)} saved on this device` : this._pending === 1 ? '1 edit waiting to be sent' : `${this._pending} edits waiting to be sent`;
    const hint = offline
      ? offlineHint(this._trying, this._pending)
      : this._state === 'connecting'
        ? 'your edits are kept on this device'
        : this._state === 'syncing' && this.transport?.quiet
          ? 'checking the connection'
          : '';
    return html`<div class="bar">
        <span class="dot" part="dot" data-state=${this._state} aria-hidden="true"></span>
        <span part="status" role="status" aria-live="polite">
          <span part="label">${this._state === 'removed' && this.#revoked ? 'This device was removed' : LABELS[this._state]}</span>${pending ? html`${offline ? ' — ' : ' · '}<span class="detail" part="pending">${pending}</span>` : ''}${hint ? html` · <span class="detail" part="hint">${hint}</span>` : ''}
        </span>
      </div>
      ${this._error
        ? html`<div class="error-line"><p class="error" part="error" role="alert">${this._error}</p><button part="dismiss" aria-label="Dismiss this message" title="Dismiss (Escape)" @click=${() => this.#dismiss()}>✕</button></div>`
        : ''}`;
  }
}

customElements.define('sealdoc-sync-status', SealdocSyncStatus);

declare global {
  interface HTMLElementTagNameMap {
    'sealdoc-sync-status': SealdocSyncStatus;
  }
}
