/**
 * The bar at the top of a session: this person's name, the open document's sync status, the
 * "Work offline" switch, the way to the settings.
 * @module
 */
import { html } from 'lit';
import { toggleOffline } from '../session.js';
import { openSettings } from '../settings.js';
import { app, names, type OpenDoc } from '../state.js';

export function headerView(open: OpenDoc | undefined) {
  return html`<header>
    <strong>Sealdoc</strong>
    <span class="me">${names.mine}</span>
    ${open ? html`<sealdoc-sync-status .doc=${open.sealed}></sealdoc-sync-status>` : html`<span>${app.transport?.status ?? 'offline'}</span>`}
    <label class="toggle"><input type="checkbox" id="offline" autocomplete="off" .checked=${app.offline} @change=${(e: Event) => void toggleOffline(e)} /> Work offline</label>
    <button id="settings" class="quiet" @click=${openSettings}>Settings</button>
  </header>`;
}
