/**
 * The bar at the top of a session: this person's name (typed over to rename), the open
 * document's sync status, the "Work offline" switch, the way to the settings.
 * @module
 */
import { html } from 'lit';
import { live } from 'lit/directives/live.js';
import { rename, toggleOffline } from '../session.js';
import { openSettings } from '../settings.js';
import { app, names, type OpenDoc } from '../state.js';

// The link to the server in words, while no document is open to show its own status.
const LINK = { online: 'Connected', connecting: 'Connecting…', offline: 'Offline' } as const;

/** The header: who is here, the open document's sync status (or the link's), the "Work offline" switch. */
export function headerView(open: OpenDoc | undefined) {
  return html`<header>
    <h1>Sealdoc</h1>
    <input class="me" id="rename" aria-label="Your name, as others see it" title="Your name, as others see it: type a new one and press Enter" autocomplete="off" maxlength="64" .value=${live(names.mine)} @change=${(e: Event) => rename((e.target as HTMLInputElement).value)} />
    ${open ? html`<sealdoc-sync-status .doc=${open.sealed} .transport=${app.transport}></sealdoc-sync-status>` : html`<span role="status">${LINK[app.transport?.status ?? 'offline']}</span>`}
    <label class="toggle"><input type="checkbox" id="offline" autocomplete="off" .checked=${app.offline} @change=${(e: Event) => void toggleOffline(e)} /> Work offline</label>
    <button id="settings" class="quiet" @click=${openSettings}>Settings</button>
  </header>`;
}
