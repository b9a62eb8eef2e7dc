/**
 * A document's history: its versions (newest first, with author and time), one shown
 * read-only, and the way back to the document.
 * @module
 */
import { html, nothing } from 'lit';
import { ref } from 'lit/directives/ref.js';
import { authorOf, backToDocument, closeVersion, history, restoreVersion, saveVersion, timeOf, viewVersion } from '../history.js';
import { titleOf } from '../documents.js';
import type { OpenDoc } from '../state.js';

/** Focuses an element once, when it is first drawn: the history opens with the keyboard on its way back. */
const focusWhenShown = (element: Element | undefined) =>
  // Once the render is done: a newly drawn element is in the page only then.
  element && queueMicrotask(() => (element as HTMLElement).focus());

export function historyView(open: OpenDoc) {
  const viewing = history.viewing;
  const writer = open.group.role === 'admin' || open.group.role === 'writer';
  return html`<main class="history" aria-busy=${history.loaded ? 'false' : 'true'}>
    <h2>History of “${titleOf(open)}”</h2>
    <p>
      <button id="history-close" ${ref(focusWhenShown)} @click=${backToDocument}>Back to the document</button>
      ${writer ? html`<button id="save-version" @click=${() => void saveVersion(open)}>Save this version</button>` : nothing}
    </p>
    ${!history.loaded
      ? html`<p>Reading the versions…</p>`
      : history.versions.length === 0
      ? html`<p>No saved version yet. Save one to be able to come back to the document as it is now.</p>`
      : html`<ol class="versions" aria-label="Versions, newest first">
          ${history.versions.map(
            (version) => html`<li class="version ${viewing?.version.id === version.id ? 'current' : ''}">
              <button class="view-version" data-version=${version.id} aria-pressed=${viewing?.version.id === version.id ? 'true' : 'false'} @click=${() => viewVersion(version)}>
                <span class="when">${timeOf(version)}</span> · <span class="who">${authorOf(version)}</span>
              </button>
            </li>`,
          )}
        </ol>`}
    ${viewing
      ? html`<section class="old-version" aria-label="The version of ${timeOf(viewing.version)}">
          <h3>${viewing.doc.getText('title').toString() || 'Untitled document'} <small>as it was on ${timeOf(viewing.version)}, saved by ${authorOf(viewing.version)}</small></h3>
          <sealdoc-editor .doc=${viewing.doc} readonly label="The version of ${timeOf(viewing.version)} (read only)"></sealdoc-editor>
          <p>
            ${writer ? html`<button id="restore-version" @click=${() => void restoreVersion(open, viewing.version)}>Restore this version</button>` : nothing}
            <button
              id="close-version"
              @click=${() => {
                closeVersion();
                document.querySelector<HTMLButtonElement>(`button.view-version[data-version="${viewing.version.id}"]`)?.focus();
              }}
            >
              Close
            </button>
          </p>
        </section>`
      : nothing}
  </main>`;
}
