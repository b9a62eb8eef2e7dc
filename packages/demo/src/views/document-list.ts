/**
 * The list of documents beside the open one: each with its title, renamed in place, exported
 * (Markdown, HTML, an encrypted backup of it), deleted for everyone or left, forgotten on this
 * device; a new document; the backup of everything.
 * @module
 */
import { html, nothing } from 'lit';
import { ref } from 'lit/directives/ref.js';
import { toHex as hex } from '@sealdoc/crypto';
import { exportBackup } from '../backup.js';
import { deleteDocument, forgetDocument, leaveDocument, listState, newDocument, rename, titleOf } from '../documents.js';
import { exportDocumentBackup, exportHtml, exportMarkdown } from '../export.js';
import { app, draw, names, onEnter, type OpenDoc } from '../state.js';

/** The other members of `open`, by name, for the confirmations. */
function others(open: OpenDoc): string {
  const me = hex(open.group.personId);
  const list = open.group.log
    .members()
    .map((m) => hex(m.memberId))
    .filter((id) => id !== me)
    .map((id) => names.others.get(id) ?? `Member ${id.slice(0, 8)}`);
  return list.length === 0 ? 'No one else is a member' : list.length === 1 ? `${list[0]} loses access` : `${list.slice(0, -1).join(', ')} and ${list.at(-1)} lose access`;
}

function confirmation(open: OpenDoc, action: 'delete' | 'leave' | 'forget') {
  const title = titleOf(open);
  const [question, detail, button, run] =
    action === 'delete'
      ? [
          `Delete “${title}” for everyone?`,
          `${others(open)}: their devices receive nothing new and are told the document was deleted or their access removed; what they already have stays on their devices. This device forgets it. The server keeps only the encrypted copy, which it cannot read.`,
          'Delete for everyone',
          deleteDocument,
        ]
      : action === 'leave'
        ? [`Leave “${title}”?`, 'You lose access: nothing new reaches you, the others see you gone, and this device forgets the document. An admin can invite you again.', 'Leave', leaveDocument]
        : [
            `Forget “${title}” on this device?`,
            'It is deleted from this device only and will not be fetched here again. You stay a member: the others and your other devices keep it.',
            'Forget on this device',
            forgetDocument,
          ];
  const key = hex(open.group.groupId);
  const cancel = () => ((listState.confirming = undefined), backTo(key));
  return html`<div class="confirm" role="alertdialog" aria-labelledby="confirm-question" aria-describedby="confirm-detail" @keydown=${(event: KeyboardEvent) => event.key === 'Escape' && cancel()}>
    <p id="confirm-question"><strong>${question}</strong></p>
    <p id="confirm-detail">${detail}</p>
    <button id="confirm-${action}" class="danger" @click=${() => ((listState.confirming = undefined), void run(open))}>${button}</button>
    <button ${ref(focusWhenShown)} @click=${cancel}>Cancel</button>
  </div>`;
}

/** Focuses an element once, when it is first drawn (one function, so that drawing again does not move the focus back to it). */
const focusWhenShown = (element: Element | undefined) =>
  // Once the render is done: a newly drawn element is in the page only then.
  element && queueMicrotask(() => (element as HTMLElement).focus());

/** Draws the list again and puts the focus on the actions button of document `key`: where the keyboard was before a menu, a field or a confirmation went away. */
function backTo(key: string): void {
  draw();
  document.querySelector<HTMLButtonElement>(`nav button.doc-menu[data-doc="${key}"]`)?.focus();
}

function renameField(key: string, open: OpenDoc) {
  const done = (event: Event) => {
    rename(open, (event.target as HTMLInputElement).value);
    listState.renaming = undefined;
    draw();
  };
  return html`<input
    ${ref(focusWhenShown)}
    class="rename"
    aria-label="New title of “${titleOf(open)}”"
    autocomplete="off"
    placeholder="Untitled document"
    .value=${open.doc.getText('title').toString()}
    @keydown=${(event: KeyboardEvent) => {
      if (event.key !== 'Enter' && event.key !== 'Escape') return;
      // The key stops here: the actions button, focused next, must not take it as a press.
      event.preventDefault();
      if (event.key === 'Enter') done(event);
      else listState.renaming = undefined;
      backTo(key);
    }}
    @blur=${(event: Event) => listState.renaming === key && done(event)}
  />`;
}

function actions(key: string, open: OpenDoc) {
  const role = open.group.role;
  const writer = role === 'admin' || role === 'writer';
  const set = (action: 'delete' | 'leave' | 'forget') => () => ((listState.confirming = { key, action }), (listState.menu = undefined), draw());
  const backupFields = `backup-${key.slice(0, 8)}`;
  const shown = listState.menu === key;
  const toggle = () => ((listState.menu = shown ? undefined : key), draw());
  const close = () => ((listState.menu = undefined), backTo(key));
  return html`<button class="doc-menu quiet" data-doc=${key} aria-expanded=${shown ? 'true' : 'false'} aria-controls=${shown ? `menu-${key.slice(0, 8)}` : nothing} aria-label="Actions for “${titleOf(open)}”" @click=${toggle}>⋯</button>
    ${shown
      ? html`<div class="menu" id="menu-${key.slice(0, 8)}" role="group" aria-label="Actions for “${titleOf(open)}”" @keydown=${(event: KeyboardEvent) => event.key === 'Escape' && close()}>
          ${writer ? html`<button class="rename-doc" @click=${() => ((listState.renaming = key), (listState.menu = undefined), draw())}>Rename</button>` : nothing}
          <button class="export-markdown" @click=${() => (exportMarkdown(open), close())}>Export as Markdown</button>
          <button class="export-html" @click=${() => (exportHtml(open), close())}>Export as HTML</button>
          <details class="doc-backup">
            <summary>Encrypted backup of this document</summary>
            <div class="fields" @keydown=${onEnter(() => exportDocumentBackup(open, ...backupInputs(backupFields)))}>
              <label for="${backupFields}-1">Passphrase</label><input id="${backupFields}-1" type="password" autocomplete="new-password" />
              <label for="${backupFields}-2">Again</label><input id="${backupFields}-2" type="password" autocomplete="new-password" />
              <button class="export-doc-backup" @click=${() => void exportDocumentBackup(open, ...backupInputs(backupFields))}>Save encrypted backup</button>
            </div>
          </details>
          ${role === 'admin' ? html`<button class="delete-doc danger" @click=${set('delete')}>Delete for everyone…</button>` : nothing}
          ${role && role !== 'admin' ? html`<button class="leave-doc danger" @click=${set('leave')}>Leave…</button>` : nothing}
          <button class="forget-doc" @click=${set('forget')}>Forget on this device…</button>
        </div>`
      : nothing}`;
}

const backupInputs = (id: string): [HTMLInputElement, HTMLInputElement] => [document.getElementById(`${id}-1`) as HTMLInputElement, document.getElementById(`${id}-2`) as HTMLInputElement];

export function documentListView() {
  return html`<nav aria-label="Documents">
    <h2>Documents</h2>
    <ul class="documents">
      ${[...app.docs].map(
        ([key, d]) => html`<li class="doc-entry">
          ${listState.renaming === key
            ? renameField(key, d)
            : html`<button class="doc ${key === app.current ? 'current' : ''}" aria-current=${key === app.current ? 'page' : 'false'} @click=${() => ((app.current = key), draw())}>
                ${d.doc.getText('title').toString() || 'Untitled'}${d.group.role ? '' : ' (access removed)'}
              </button>`}
          ${actions(key, d)} ${listState.confirming?.key === key ? confirmation(d, listState.confirming.action) : nothing}
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
