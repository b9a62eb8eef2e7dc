/**
 * The screens before a session: welcome, the recovery phrase, restore from the words, import a
 * backup, join a document.
 * @module
 */
import { html, nothing } from 'lit';
import type { RestoreDetail } from '@sealdoc/ui';
import { importBackup } from '../backup.js';
import { confirmIdentity, createIdentity, joined, restoreFromWords, saveName } from '../session.js';
import { linkCheck } from '../invite-check.js';
import { app, draw, names, onEnter } from '../state.js';

export function welcomeView() {
  return html`<main class="welcome">
    <h1>Sealdoc</h1>
    <p>Documents only you and the people you invite can read. The server in the middle stores and passes on only what it cannot read.</p>
    ${linkCheckView() ?? (app.invite ? html`<p class="note">You were invited to a document. First, an identity for this browser.</p>` : nothing)}
    <label for="my-name">Your name, as others will see it</label>
    <input id="my-name" autocomplete="off" maxlength="60" .value=${names.mine} />
    <div class="actions">
      <button id="create-identity" @click=${() => void createIdentity()}>Create my identity</button>
      <button class="quiet" id="restore-words" @click=${() => saveName() && ((app.screen = 'restore'), draw())}>Restore from my 24 words</button>
      <button class="quiet" id="restore-backup" @click=${() => saveName() && ((app.screen = 'import'), draw())}>Import a backup file</button>
    </div>
  </main>`;
}

export function wordsView() {
  return html`<main class="welcome">
    <h1>Your recovery phrase</h1>
    <sealdoc-recovery mode="show" .words=${app.words} @sealdoc-recovery-confirmed=${() => void confirmIdentity()}></sealdoc-recovery>
  </main>`;
}

export function restoreView() {
  return html`<main class="welcome">
    <h1>Restore your identity</h1>
    <sealdoc-recovery mode="restore" @sealdoc-restore=${(e: CustomEvent<RestoreDetail>) => void restoreFromWords(e.detail)}></sealdoc-recovery>
  </main>`;
}

export function importView() {
  return html`<main class="welcome">
    <h1>Import a backup</h1>
    <div class="fields" @keydown=${onEnter(importBackup)}>
      <label for="file">Backup file</label><input id="file" type="file" accept=".sdbk" autocomplete="off" />
      <label for="pass">Its passphrase</label><input id="pass" type="password" autocomplete="current-password" />
      <div class="actions"><button id="import-backup" @click=${() => void importBackup()}>Restore</button></div>
    </div>
  </main>`;
}

/** What the check of the invitation link found: why it cannot be used, or who must be online; undefined when there is nothing to say. */
function linkCheckView() {
  const check = linkCheck.current;
  if (!check?.words || (check.state === 'open' && !app.invite)) return undefined;
  return check.dead
    ? html`<div id="invite-check" class="note bad" role="alert"><strong>This invitation link cannot be used.</strong> ${check.words}</div>`
    : html`<p id="invite-check" class="note" role="status">${check.words}</p>`;
}

export function joinView() {
  if (linkCheck.current?.dead)
    return html`<main class="welcome">
      <h1>Join a document</h1>
      ${linkCheckView()}
      <p><button class="quiet" @click=${() => ((linkCheck.current = undefined), (app.screen = 'main'), draw())}>Back to my documents</button></p>
    </main>`;
  return html`<main class="welcome">
    <h1>Join a document</h1>
    <sealdoc-invite mode="join" .link=${app.invite} .identity=${app.signer} .transport=${app.transport} @sealdoc-joined=${joined}></sealdoc-invite>
    <p><button class="quiet" @click=${() => ((app.invite = ''), (app.screen = 'main'), draw())}>Not now</button></p>
  </main>`;
}
