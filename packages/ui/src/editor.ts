/**
 * `<sealdoc-editor>`: a plain-text editor bound to a Y.Text of a sealed document, with the
 * other members' carets and names from the sealed awareness. A caret is named by the person
 * whose device proves it speaks for it (people.ts): "Alice", or "Alice (Phone)" when Alice
 * has several devices, and "You (Phone)" for the viewer's own other devices.
 * @module
 */
import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import type { SealedDoc } from '@sealdoc/core';
import { toHex } from '@sealdoc/crypto';
import { presenceName } from './people.js';

/** Who this member is to the others: shown at its caret. */
export interface EditorUser {
  name: string;
  /** A CSS colour. */
  color: string;
}

/** Detail of `sealdoc-edit`: one local change, in characters. */
export interface EditDetail {
  index: number;
  deleted: number;
  inserted: string;
}

// Another member's colour goes into a style: only a hex colour, never arbitrary CSS.
const safeColor = (color: unknown) => (typeof color === 'string' && /^#[0-9a-f]{3,8}$/i.test(color) ? color : '#6b5bd6');

interface RemoteCaret {
  index: number;
  name: string;
  color: string;
  /** The device (hex) proven to speak for this caret, when one is. */
  device?: string;
}

/** What this editor publishes in the awareness state. */
interface CaretState {
  anchor: unknown;
  head: unknown;
}

/**
 * Edits the Y.Text `field` of `doc` (a SealedDoc). Remote edits keep the local caret and
 * selection where they were in the text (Yjs relative positions); with `awareness`, the
 * others' carets and names are drawn and this member's caret is published (as `user`). A caret
 * whose device the sealed presence proves (SealedDoc.presenceAuthor) is named by its person:
 * from `names` (member id hex → name), else the name its state declares, with the device's
 * label when the person has several devices; others show the name they declare.
 * Read-only when `readonly` is set, when the member is a reader, or once it was removed.
 *
 * Fires `sealdoc-edit` (detail {@link EditDetail}) for each local change. Parts: `textarea`,
 * `caret`, `caret-name`, `notice`. Custom properties: `--sealdoc-editor-font`,
 * `--sealdoc-editor-min-height`, `--sealdoc-editor-border`, `--sealdoc-editor-background`.
 */
export class SealdocEditor extends LitElement {
  static override properties = {
    doc: { attribute: false },
    awareness: { attribute: false },
    user: { attribute: false },
    names: { attribute: false },
    field: {},
    label: {},
    readonly: { type: Boolean, reflect: true },
    _carets: { state: true },
    _locked: { state: true },
  };

  static override styles = css`
    :host {
      display: block;
      position: relative;
    }
    .wrap {
      position: relative;
    }
    textarea,
    .mirror {
      font: var(--sealdoc-editor-font, 1rem/1.5 ui-monospace, monospace);
      padding: 0.75em;
      border: var(--sealdoc-editor-border, 1px solid #bbb);
      border-radius: 0.3em;
      box-sizing: border-box;
      width: 100%;
      white-space: pre-wrap;
      overflow-wrap: break-word;
      letter-spacing: normal;
      tab-size: 4;
    }
    textarea {
      display: block;
      min-height: var(--sealdoc-editor-min-height, 12em);
      resize: vertical;
      background: var(--sealdoc-editor-background, white);
      color: inherit;
      position: relative;
    }
    textarea[readonly] {
      background: var(--sealdoc-editor-readonly-background, #f4f4f4);
    }
    .mirror {
      position: absolute;
      inset: 0;
      overflow: hidden;
      color: transparent;
      border-color: transparent;
      pointer-events: none;
      z-index: 1;
    }
    .caret {
      position: relative;
      border-left: 2px solid var(--caret-color);
      margin-left: -1px;
      margin-right: -1px;
    }
    .caret-name {
      position: absolute;
      bottom: 1.2em;
      left: -2px;
      font: 0.7rem/1.2 system-ui, sans-serif;
      color: white;
      background: var(--caret-color);
      padding: 0 0.3em;
      border-radius: 0.2em 0.2em 0.2em 0;
      white-space: nowrap;
    }
    .notice {
      font-size: 0.85em;
      opacity: 0.8;
      margin: 0.25em 0 0;
    }
  `;

  /** The sealed document whose text this edits. */
  declare doc: SealedDoc | undefined;
  /** The y-protocols Awareness given to the SealedDoc: carets of the others, and ours. */
  declare awareness: Awareness | undefined;
  /** This member's name and colour, as the others see them. */
  declare user: EditorUser | undefined;
  /** Display names of persons by member id (hex), for the others' carets. */
  declare names: Map<string, string> | undefined;
  /** Name of the Y.Text in the document (default `text`). */
  declare field: string;
  /** Accessible label of the text field (default "Document"). */
  declare label: string;
  /** Forces read-only. */
  declare readonly: boolean;
  declare _carets: RemoteCaret[];
  declare _locked: '' | 'reader' | 'removed';
  #text: Y.Text | undefined;
  // The text as the textarea shows it: what a local input is compared with.
  #value = '';
  #selection: { anchor: Y.RelativePosition; head: Y.RelativePosition; backward: boolean } | undefined;
  #unsubscribe: (() => void)[] = [];

  constructor() {
    super();
    this.field = 'text';
    this.label = 'Document';
    this.readonly = false;
    this._carets = [];
    this._locked = '';
  }

  /** The textarea (for tests and for focusing). */
  get textarea(): HTMLTextAreaElement | null {
    return this.renderRoot.querySelector('textarea');
  }

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('doc') || changed.has('field') || changed.has('awareness')) this.#bind();
    if (changed.has('user') && this.user) this.awareness?.setLocalStateField('user', this.user);
    if (changed.has('names')) this.#drawCarets();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.doc && this.#unsubscribe.length === 0) this.#bind();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#unbind();
  }

  override updated(): void {
    const area = this.textarea;
    if (area && area.value !== this.#value) area.value = this.#value;
    this.#syncScroll();
  }

  #unbind(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
  }

  #bind(): void {
    this.#unbind();
    const doc = this.doc;
    if (!doc) return;
    const text = doc.doc.getText(this.field);
    this.#text = text;
    this.#value = text.toString();
    const onText = (_event: Y.YTextEvent, transaction: Y.Transaction) => {
      if (transaction.origin !== this) this.#remoteChanged();
    };
    text.observe(onText);
    this.#unsubscribe.push(() => text.unobserve(onText));
    const lock = () => {
      const role = doc.group.role;
      this._locked = role === undefined ? 'removed' : role === 'reader' ? 'reader' : '';
    };
    this.#unsubscribe.push(
      doc.group.events.on('membership', () => {
        lock();
        this.#drawCarets();
      }),
      doc.events.on('access-removed', () => (this._locked = 'removed')),
    );
    lock();
    const awareness = this.awareness;
    if (awareness) {
      if (this.user) awareness.setLocalStateField('user', this.user);
      const onAwareness = () => this.#drawCarets();
      awareness.on('change', onAwareness);
      this.#unsubscribe.push(() => awareness.off('change', onAwareness));
    }
    this.#drawCarets();
    this.requestUpdate();
  }

  /** A local edit: the difference from what was shown becomes one Yjs transaction. */
  #input(): void {
    const area = this.textarea!;
    const text = this.#text;
    const next = area.value;
    if (!text || this.#isReadonly()) {
      area.value = this.#value;
      return;
    }
    const before = this.#value;
    // The change sits around the caret: common prefix and suffix around it.
    let start = 0;
    const max = Math.min(before.length, next.length);
    while (start < max && before.charCodeAt(start) === next.charCodeAt(start)) start++;
    let end = 0;
    while (end < max - start && before.charCodeAt(before.length - 1 - end) === next.charCodeAt(next.length - 1 - end)) end++;
    const deleted = before.length - start - end;
    const inserted = next.slice(start, next.length - end);
    this.#value = next;
    text.doc!.transact(() => {
      if (deleted > 0) text.delete(start, deleted);
      if (inserted) text.insert(start, inserted);
    }, this);
    this.#noteSelection();
    this.dispatchEvent(new CustomEvent<EditDetail>('sealdoc-edit', { detail: { index: start, deleted, inserted }, bubbles: true, composed: true }));
  }

  /** Remote edits: the text is shown again and the selection put back where it was in it. */
  #remoteChanged(): void {
    const area = this.textarea;
    const text = this.#text!;
    this.#value = text.toString();
    if (!area) return this.requestUpdate();
    const focused = this.shadowRoot?.activeElement === area;
    const scroll = area.scrollTop;
    area.value = this.#value;
    if (this.#selection) {
      const anchor = Y.createAbsolutePositionFromRelativePosition(this.#selection.anchor, text.doc!)?.index ?? 0;
      const head = Y.createAbsolutePositionFromRelativePosition(this.#selection.head, text.doc!)?.index ?? 0;
      area.setSelectionRange(Math.min(anchor, head), Math.max(anchor, head), this.#selection.backward ? 'backward' : 'forward');
    }
    area.scrollTop = scroll;
    if (!focused && this.shadowRoot?.activeElement === area) area.blur();
    this.#drawCarets();
  }

  /** Keeps the selection as Yjs relative positions, and tells the others where our caret is. */
  #noteSelection(): void {
    const area = this.textarea;
    const text = this.#text;
    if (!area || !text) return;
    const backward = area.selectionDirection === 'backward';
    const anchorIndex = backward ? area.selectionEnd : area.selectionStart;
    const headIndex = backward ? area.selectionStart : area.selectionEnd;
    const anchor = Y.createRelativePositionFromTypeIndex(text, anchorIndex);
    const head = Y.createRelativePositionFromTypeIndex(text, headIndex);
    this.#selection = { anchor, head, backward };
    if (this.awareness && !this.#isReadonly()) {
      const caret: CaretState = { anchor: Y.relativePositionToJSON(anchor), head: Y.relativePositionToJSON(head) };
      this.awareness.setLocalStateField('cursor', caret);
    }
  }

  /** The others' carets, from their awareness states. */
  #drawCarets(): void {
    const awareness = this.awareness;
    const text = this.#text;
    if (!awareness || !text) {
      this._carets = [];
      return;
    }
    const carets: RemoteCaret[] = [];
    for (const [clientId, state] of awareness.getStates()) {
      if (clientId === awareness.clientID) continue;
      const cursor = (state as { cursor?: CaretState }).cursor;
      const user = (state as { user?: Partial<EditorUser> }).user;
      if (!cursor) continue;
      try {
        const head = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(cursor.head), text.doc!);
        if (!head || head.type !== text) continue;
        const declared = String(user?.name ?? 'Someone').slice(0, 40);
        const author = this.doc!.presenceAuthor(clientId);
        const device = author && this.doc!.group.log.device(author);
        const name = device ? presenceName(this.doc!.group, device, this.names, typeof user?.name === 'string' ? declared : undefined).slice(0, 80) : declared;
        carets.push({ index: head.index, name, color: safeColor(user?.color), ...(device ? { device: toHex(device.deviceId) } : {}) });
      } catch {
        // A state that is not a caret of this text: not drawn.
      }
    }
    carets.sort((a, b) => a.index - b.index);
    this._carets = carets;
  }

  #isReadonly(): boolean {
    return this.readonly || this._locked !== '';
  }

  #syncScroll(): void {
    const area = this.textarea;
    const mirror = this.renderRoot.querySelector<HTMLElement>('.mirror');
    if (area && mirror) mirror.scrollTop = area.scrollTop;
  }

  override render() {
    const readonly = this.#isReadonly();
    const notice =
      this._locked === 'removed' ? 'Your access was removed: you can read what you had, nothing new arrives.' : this._locked === 'reader' ? 'You can read this document but not edit it.' : '';
    return html`<div class="wrap">
        <textarea
          part="textarea"
          aria-label=${this.label}
          ?readonly=${readonly}
          aria-readonly=${readonly ? 'true' : 'false'}
          autocomplete="off"
          spellcheck="false"
          @input=${this.#input}
          @keyup=${this.#noteSelection}
          @mouseup=${this.#noteSelection}
          @select=${this.#noteSelection}
          @focus=${this.#noteSelection}
          @selectionchange=${this.#noteSelection}
          @scroll=${this.#syncScroll}
        ></textarea>
        ${this._carets.length ? this.#renderMirror() : nothing}
      </div>
      ${notice ? html`<p class="notice" part="notice" role="status">${notice}</p>` : nothing}`;
  }

  /** A copy of the text, laid out as the textarea lays it out, with the others' carets in it. */
  #renderMirror() {
    const parts: unknown[] = [];
    let at = 0;
    for (const caret of this._carets) {
      const index = Math.min(caret.index, this.#value.length);
      parts.push(this.#value.slice(at, index));
      parts.push(
        html`<span class="caret" part="caret" style="--caret-color: ${caret.color}" data-device=${caret.device ?? nothing}><span class="caret-name" part="caret-name">${caret.name}</span></span>`,
      );
      at = index;
    }
    parts.push(this.#value.slice(at), '\n');
    return html`<div class="mirror" aria-hidden="true">${parts}</div>`;
  }
}

customElements.define('sealdoc-editor', SealdocEditor);

declare global {
  interface HTMLElementTagNameMap {
    'sealdoc-editor': SealdocEditor;
  }
}
