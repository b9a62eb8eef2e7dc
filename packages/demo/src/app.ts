/**
 * The demo web app: a device's identity (shown as 24 words, kept once some are typed back),
 * its documents (one group per document), invitations, offline editing, removal, restore from
 * the words or from an encrypted backup, settings (devices linked and removed, the words
 * again, sign out and wipe). Everything it keeps is in IndexedDB under the device key (names
 * too), and nothing readable anywhere else in the browser: no localStorage, no field the
 * browser remembers, no invitation or device link left in the address bar. Everything it
 * sends goes sealed to the relay that served the page.
 *
 * This module wires the rest together: state.ts holds what is open, session.ts opens it,
 * views/ draw each screen.
 * @module
 */
// First: the invitation link leaves the address bar before any other module runs.
import { openedWith, takeFragment } from './fragment.js';
import { html, nothing, render } from 'lit';
import '@sealdoc/ui';
import { describeDeviceRevoked } from '@sealdoc/ui';
import { REMOVED_FRAGMENT } from './erase.js';
import { startCheck } from './invite-check.js';
import { boot, isInvite } from './session.js';
import { app, dismiss, draw, onDraw, say } from './state.js';
import { guardUnload } from './unload.js';
import { documentListView } from './views/document-list.js';
import { documentPaneView } from './views/document-pane.js';
import { headerView } from './views/header.js';
import { importView, joinView, restoreView, welcomeView, wordsView } from './views/welcome.js';
import { linkCode } from './link-code.js';
import { linkView, settingsView } from './views/settings.js';

const root = document.getElementById('app')!;
app.invite = isInvite(openedWith) ? openedWith : '';
app.link = linkCode(openedWith);
// Erased after its person removed it: the welcome says so.
if (openedWith && new URL(openedWith).hash === REMOVED_FRAGMENT) app.message = describeDeviceRevoked(true);

function view() {
  switch (app.screen) {
    case 'loading':
      return html`<p>Opening this device's store…</p>`;
    case 'welcome':
      return welcomeView();
    case 'words':
      return wordsView();
    case 'restore':
      return restoreView();
    case 'import':
      return importView();
    case 'join':
      return joinView();
    case 'settings':
      return settingsView();
    case 'link':
      return linkView();
    case 'main': {
      const open = app.current ? app.docs.get(app.current) : undefined;
      return html`${headerView(open)}
        <div class="layout">${documentListView()} ${documentPaneView(open)}</div>`;
    }
  }
}

onDraw(() =>
  render(
    html`${view()}${app.message
      ? html`<p class="message" role="status" aria-live="polite">
          <span>${app.message}</span>
          <button class="quiet dismiss" aria-label="Dismiss this message" title="Dismiss (Escape)" @click=${dismiss}>✕</button>
        </p>`
      : nothing}`,
    root,
  ),
);
// Escape dismisses the message, wherever the focus is (a dialog open takes Escape for itself).
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && app.message && !document.querySelector('dialog[open]')) dismiss();
});

// A link pasted into the address bar of the open app: out of it at once, as at the start.
window.addEventListener('hashchange', () => {
  const link = takeFragment();
  if (linkCode(link)) {
    if (app.signer) return say('This browser is already one of your devices: open the link in the browser you want to add.');
    app.link = linkCode(link);
    app.screen = 'link';
    return draw();
  }
  if (!isInvite(link)) return;
  app.invite = link;
  void startCheck(link);
  if (app.signer) {
    app.screen = 'join';
    draw();
  }
});

guardUnload();
draw();
void boot();
