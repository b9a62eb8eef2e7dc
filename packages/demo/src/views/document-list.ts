/**
 * The list of documents beside the open one, a new document, the backup.
 * @module
 */
import { html } from 'lit';
import { exportBackup } from '../backup.js';
import { newDocument } from '../documents.js';
import { app, draw, onEnter } from '../state.js';

export function documentListView() {
  return html`<nav aria-label="Documents">
    <h2>Documents</h2>
    <ul>
      ${[...app.docs].map(
        ([key, d]) => html`<li>
          <button class="doc ${key === app.current ? 'current' : ''}" aria-current=${key === app.current ? 'page' : 'false'} @click=${() => ((app.current = key), draw())}>
            ${d.doc.getText('title').toString() || 'Untitled'}${d.group.role ? '' : ' (access removed)'}
          </button>
        </li>`,
      )}
    </ul>
    <button id="new-doc" @click=${() => void newDocument()}>New document</button>
    <details>
      <summary>Backup</summary>
      <div class="fields" @keydown=${onEnter(exportBackup)}>
        <label for="pass1">Passphrase</label><input id="pass1" type="password" autocomplete="new-password" />
        <label for="pass2">Again</label><input id="pass2" type="password" autocomplete="new-password" />
        <button id="export-backup" @click=${() => void exportBackup()}>Export an encrypted backup</button>
      </div>
    </details>
  </nav>`;
}
