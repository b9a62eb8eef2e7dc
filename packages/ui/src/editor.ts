/**
 * `<sealdoc-editor>`: a rich-text editor (ProseMirror through y-prosemirror) bound to a
 * Y.XmlFragment of a sealed document, with a toolbar, the usual shortcuts, undo of one's own
 * edits only, and the other members' carets and names from the sealed awareness. A caret is
 * named by the person whose device proves it speaks for it (people.ts): "Alice", or "Alice
 * (Phone)" when Alice has several devices, and "You (Phone)" for the viewer's own other
 * devices, drawn outlined; each person has a colour of their own (colors.ts).
 * @module
 */
import { html, LitElement, nothing, type PropertyValues } from 'lit';
import * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import { EditorState, type Command, type Transaction } from 'prosemirror-state';
import { EditorView } from 'prosemirror-view';
import { initProseMirrorDoc, ySyncPlugin, ySyncPluginKey, yUndoPlugin, yUndoPluginKey } from 'y-prosemirror';
import type { SealedDoc } from '@sealdoc/core';
import { toHex } from '@sealdoc/crypto';
import { presenceName } from './people.js';
import { personColor, safeColor } from './colors.js';
import { caretKey, caretPlugin, type CaretLook } from './carets.js';
import { CheckItemView } from './check-item.js';
import { convertPlainText, needsConversion } from './convert.js';
import { editorStyles } from './editor-styles.js';
import { placeholderPlugin } from './placeholder.js';
import { activeState, editorInputRules, editorKeymaps, historyInputPlugin, redo, setBlock, setLink, toggle, toggleList, undo, type ActiveState } from './rich-commands.js';
import { richSchema, safeHref } from './rich-schema.js';
import { keepSections, pasteInSections } from './sections.js';

/**
 * {@link keepSections}, or undefined (ProseMirror's own transaction) should it fail on a
 * document shaped as none of its cases: typing never stops for it, and the failure is reported
 * as an uncaught error (the page's error handlers, the console), not swallowed.
 */
function keepSectionsOrNot(state: EditorState, tr: Transaction): Transaction | undefined {
  try {
    return keepSections(state, tr);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
    return undefined;
  }
}

/** Who this member is to the others: shown at its caret. */
export interface EditorUser {
  name: string;
  /** A hex colour, for editors that colour a caret by what its state declares (this one colours persons by their id). */
  color: string;
}

/**
 * Detail of `sealdoc-edit`: one local change, in the characters of the editor's plain text
 * ({@link SealdocEditor.text}: blocks separated by a line break). `index` is computed when read.
 */
export interface EditDetail {
  index: number;
  deleted: number;
  inserted: string;
}

interface Tool {
  id: string;
  label: string;
  text: string;
  /** The shortcut, as ProseMirror names it ("Mod-b"). */
  keys?: string;
  pressed?: (a: ActiveState) => boolean;
  disabled?: (a: ActiveState) => boolean;
  run: (a: ActiveState) => Command | 'link';
}

// Each label holds the button's visible text (WCAG 2.5.3, label in name): a person using voice
// control says what they see ("click H1").
const TOOLS: (Tool | 'sep')[] = [
  { id: 'strong', label: 'Bold', text: 'B', keys: 'Mod-b', pressed: (a) => a.strong, run: () => toggle('strong') },
  { id: 'em', label: 'Italic', text: 'I', keys: 'Mod-i', pressed: (a) => a.em, run: () => toggle('em') },
  { id: 'code', label: 'Code', text: '</>', keys: 'Mod-e', pressed: (a) => a.code, run: () => toggle('code') },
  { id: 'link', label: 'Link', text: 'Link', keys: 'Mod-k', pressed: (a) => a.link !== undefined, run: () => 'link' },
  'sep',
  ...([1, 2, 3] as const).map(
    (n): Tool => ({ id: `h${n}`, label: `H${n} heading`, text: `H${n}`, keys: `Mod-Alt-${n}`, pressed: (a) => a.block === `h${n}`, run: (a) => setBlock(a.block === `h${n}` ? 'paragraph' : `h${n}`) }),
  ),
  'sep',
  { id: 'bullet', label: 'Bulleted list', text: '• List', keys: 'Mod-Shift-8', pressed: (a) => a.list === 'bullet', run: () => toggleList('bullet') },
  { id: 'ordered', label: '1. List, numbered', text: '1. List', keys: 'Mod-Shift-7', pressed: (a) => a.list === 'ordered', run: () => toggleList('ordered') },
  { id: 'check', label: 'Check list', text: '☑ List', keys: 'Mod-Shift-9', pressed: (a) => a.list === 'check', run: () => toggleList('check') },
  'sep',
  { id: 'undo', label: 'Undo', text: '↶', keys: 'Mod-z', disabled: (a) => !a.undo, run: () => undo },
  { id: 'redo', label: 'Redo', text: '↷', keys: 'Mod-Shift-z', disabled: (a) => !a.redo, run: () => redo },
];
const BUTTONS = TOOLS.filter((t): t is Tool => t !== 'sep');

const isMac = () => typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
/** "Mod-Shift-z" as a person reads it here ("Ctrl+Shift+Z", "⌘⇧Z"), and as aria-keyshortcuts wants it. */
function shortcut(keys: string): { shown: string; aria: string } {
  const parts = keys.split('-');
  const key = parts.pop()!.toUpperCase();
  const mac = isMac();
  const names: Record<string, [string, string]> = { Mod: mac ? ['⌘', 'Meta'] : ['Ctrl', 'Control'], Shift: [mac ? '⇧' : 'Shift', 'Shift'], Alt: [mac ? '⌥' : 'Alt', 'Alt'] };
  const shown = [...parts.map((p) => names[p]![0]), key].join(mac ? '' : '+');
  return { shown, aria: [...parts.map((p) => names[p]![1]), key].join('+') };
}

/**
 * Edits the Y.XmlFragment `field` (default `prosemirror`, y-prosemirror's usual name) of `doc`
 * (a SealedDoc) as rich text: headings, bulleted, numbered and check lists, bold, italic,
 * inline code, links (http, https and mailto only). A toolbar (an ARIA toolbar: arrow keys
 * move in it, Alt+F10 reaches it from the text, Escape goes back) and shortcuts (Mod is Ctrl,
 * or ⌘ on a Mac): Mod-B, Mod-I, Mod-E (code), Mod-K (link), Mod-Alt-1..3 (headings),
 * Mod-Alt-0 (paragraph), Mod-Shift-7/8/9 (numbered, bulleted, check list), Tab and Shift-Tab
 * in a list (elsewhere they move the focus out of the text, as do Escape then Tab or Shift-Tab
 * anywhere, and the first Tab after the keyboard brought the focus in), Shift-Enter (line break), Mod-Z (undo), Mod-Shift-Z or Mod-Y (redo); "# ", "- ",
 * "1. " and "[ ] " at the start of a line. Undo takes back this member's own edits, never
 * another member's (Y.UndoManager over this editor's transactions).
 *
 * Remote edits keep the local caret and selection. With `awareness`, the others' carets and
 * names are drawn and this member's caret is published (as `user`), at most five times a
 * second. A caret whose device the sealed presence proves (SealedDoc.presenceAuthor) is named
 * by its person: from `names` (member id hex → name), else the name its state declares, with
 * the device's label when the person has several devices; its colour is its person's (one of
 * twelve, distinct within a group); others show the name and hex colour they declare.
 *
 * A document from before (text in the Y.Text `legacyField`, default `text`) is converted once,
 * a paragraph per line, when a writer opens it (see convert.ts); until then it is shown as it
 * is. Read-only when `readonly` is set, when the member is a reader, or once it was removed.
 *
 * Fires `sealdoc-edit` (detail {@link EditDetail}) for each local change. Parts: `toolbar`,
 * `button`, `editor`, `caret`, `caret-mine`, `caret-name`, `link-form`, `link-input`,
 * `legacy`, `notice`. Custom properties: `--sealdoc-editor-font`,
 * `--sealdoc-editor-min-height`, `--sealdoc-editor-border`, `--sealdoc-editor-background`,
 * `--sealdoc-editor-readonly-background`, `--sealdoc-editor-toolbar-background`,
 * `--sealdoc-accent`.
 */
export class SealdocEditor extends LitElement {
  static override properties = {
    doc: { attribute: false },
    awareness: { attribute: false },
    user: { attribute: false },
    names: { attribute: false },
    field: {},
    legacyField: { attribute: 'legacy-field' },
    label: {},
    placeholder: {},
    readonly: { type: Boolean, reflect: true },
    _locked: { state: true },
    _active: { state: true },
    _legacy: { state: true },
    _link: { state: true },
    _focusIndex: { state: true },
  };

  static override styles = editorStyles;

  /**
   * The sealed document whose text this edits; or a plain Y.Doc (nothing sealed, no roles,
   * carets named as they declare themselves: for a document kept elsewhere, and comparisons).
   */
  declare doc: SealedDoc | Y.Doc | undefined;
  /** The y-protocols Awareness given to the SealedDoc: carets of the others, and ours. */
  declare awareness: Awareness | undefined;
  /** This member's name and colour, as the others' states see them. */
  declare user: EditorUser | undefined;
  /** Display names of persons by member id (hex), for the others' carets. */
  declare names: Map<string, string> | undefined;
  /** Name of the Y.XmlFragment in the document (default `prosemirror`). */
  declare field: string;
  /** Name of the Y.Text that documents from before the rich-text editor hold (default `text`): converted once. */
  declare legacyField: string;
  /** Accessible label of the text (default "Document"). */
  declare label: string;
  /** Shown in an empty document, never written into it (default "Start writing…"). */
  declare placeholder: string;
  /** Forces read-only. */
  declare readonly: boolean;
  declare _locked: '' | 'reader' | 'removed';
  declare _active: ActiveState | undefined;
  declare _legacy: string | undefined;
  declare _link: { href: string; error: string } | undefined;
  declare _focusIndex: number;
  #view: EditorView | undefined;
  // ProseMirror's element: made once, placed by the template, its content ProseMirror's own.
  readonly #surface: HTMLDivElement = Object.assign(document.createElement('div'), { className: 'surface', id: 'text' });
  #bound: { doc: SealedDoc | Y.Doc; field: string; legacyField: string; awareness: Awareness | undefined } | undefined;
  #unsubscribe: (() => void)[] = [];
  #activeKey = '';
  // The group's persons (hex), in which each person's caret colour is chosen; undefined: to compute again.
  #persons: string[] | undefined;
  // The next Tab (or Shift+Tab) leaves the text, even in a list: Escape was the last key, or the
  // focus has just come in with the keyboard and nothing was pressed since.
  #leaving = false;
  // A pointer pressed in the text: the focus it brings is to work there (Tab indents at once).
  #pointer = false;

  constructor() {
    super();
    this.field = 'prosemirror';
    this.legacyField = 'text';
    this.label = 'Document';
    this.placeholder = 'Start writing…';
    this.readonly = false;
    this._locked = '';
    this._legacy = undefined;
    this._link = undefined;
    this._focusIndex = 0;
    // Before ProseMirror's own listener (capture listeners run first at the target): a Tab after
    // Escape never reaches its keymap, so the browser moves the focus on (docs/ui.md, Accessibility).
    this.#surface.addEventListener('keydown', this.#leaveKey, true);
    this.#surface.addEventListener('pointerdown', () => (this.#pointer = true));
    this.#surface.addEventListener('focus', () => ((this.#leaving = !this.#pointer), (this.#pointer = false)));
    this.#surface.addEventListener('blur', () => (this.#pointer = false));
  }

  /**
   * Tab in a list indents; Escape then Tab (or Shift+Tab) leaves the text wherever the caret is,
   * and so does the first Tab after the keyboard brought the focus in: Tabbing through the page
   * never changes a list on the way.
   */
  readonly #leaveKey = (event: KeyboardEvent): void => {
    if (['Shift', 'Control', 'Alt', 'Meta'].includes(event.key)) return;
    if (event.key === 'Tab' && this.#leaving) event.stopImmediatePropagation();
    this.#leaving = event.key === 'Escape';
  };

  /**
   * The shadow root, with the one Document method y-prosemirror calls on ProseMirror's root
   * that a ShadowRoot lacks: `createRange` (it checks whether the local caret is in view when a
   * remote edit arrives, and would throw in a shadow root, leaving the edit unshown).
   */
  protected override createRenderRoot(): HTMLElement | DocumentFragment {
    const root = super.createRenderRoot();
    if (root instanceof ShadowRoot && !('createRange' in root)) Object.defineProperty(root, 'createRange', { value: () => document.createRange() });
    return root;
  }

  /** The ProseMirror view (for tests, and for what a page adds to it); undefined until bound. */
  get view(): EditorView | undefined {
    return this.#view;
  }

  /** The text as plain text, blocks separated by a line break (a document not yet converted: its text). */
  get text(): string {
    const view = this.#view;
    if (this._legacy !== undefined || !view) return this._legacy ?? '';
    return view.state.doc.textBetween(0, view.state.doc.content.size, '\n', '\n');
  }

  /** Puts the focus in the text. */
  override focus(): void {
    this.#view?.focus();
  }

  override willUpdate(changed: PropertyValues<this>): void {
    const b = this.#bound;
    if (this.isConnected && (b?.doc !== this.doc || b?.field !== this.field || b?.legacyField !== this.legacyField || b?.awareness !== this.awareness)) this.#bind();
    else if (changed.has('user') && this.user) this.awareness?.setLocalStateField('user', this.user);
    this.#surface.hidden = this._legacy !== undefined;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.hasUpdated) this.requestUpdate();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#unbind();
  }

  override updated(changed: PropertyValues<this>): void {
    if (changed.has('readonly') || changed.has('_locked') || changed.has('placeholder') || changed.has('label')) {
      this.#view?.setProps({});
      // Checklist boxes follow (ProseMirror does not tell node views that editability changed).
      for (const box of this.#surface.querySelectorAll<HTMLInputElement>('.check input')) box.disabled = this.#isReadonly();
    }
    if (changed.has('names')) this.#redrawCarets();
    if (changed.has('_link') && this._link && !changed.get('_link')) this.renderRoot.querySelector<HTMLInputElement>('.link-form input')?.focus();
  }

  #unbind(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#view?.destroy();
    this.#view = undefined;
    this.#bound = undefined;
    this.#activeKey = '';
  }

  #bind(): void {
    this.#unbind();
    const given = this.doc;
    if (!given) return;
    const awareness = this.awareness;
    this.#bound = { doc: given, field: this.field, legacyField: this.legacyField, awareness };
    const sealed = given instanceof Y.Doc ? undefined : given;
    const ydoc = sealed ? sealed.doc : (given as Y.Doc);
    const fragment = ydoc.getXmlFragment(this.field);
    let legacy: Y.Text | undefined;
    try {
      legacy = this.legacyField && this.legacyField !== this.field ? ydoc.getText(this.legacyField) : undefined;
    } catch {
      legacy = undefined; // a root of that name that is no text: nothing to convert
    }

    if (sealed) {
      const lock = () => {
        const role = sealed.group.role;
        this._locked = role === undefined ? 'removed' : role === 'reader' ? 'reader' : '';
      };
      this.#unsubscribe.push(
        sealed.group.events.on('membership', () => {
          lock();
          this.#persons = undefined;
          this.#redrawCarets();
          this.#convert(legacy, fragment);
        }),
        sealed.events.on('access-removed', () => (this._locked = 'removed')),
      );
      lock();
    } else this._locked = '';
    if (legacy) {
      const text = legacy;
      const onLegacy = () => this.#convert(text, fragment);
      text.observe(onLegacy);
      this.#unsubscribe.push(() => text.unobserve(onLegacy));
      if (sealed) this.#unsubscribe.push(sealed.events.on('synced', onLegacy), sealed.events.on('status', onLegacy));
    }
    this.#convert(legacy, fragment);
    if (awareness && this.user) awareness.setLocalStateField('user', this.user);

    const surface = this.#surface;
    const init = initProseMirrorDoc(fragment, richSchema);
    const { mapping } = init;
    // An empty fragment: one empty paragraph (in its section) to type in, written to the document only once typed in.
    const doc = init.doc.content.size > 0 ? init.doc : richSchema.topNodeType.createAndFill()!;
    const state = EditorState.create({
      schema: richSchema,
      doc,
      plugins: [
        ySyncPlugin(fragment, { mapping }),
        ...(awareness ? [caretPlugin({ awareness, describe: (client, s) => this.#describe(client, s), publish: () => !this.#isReadonly() })] : []),
        // Undo never deletes a paragraph or a section that holds something: another member may have typed in it.
        yUndoPlugin({ protectedNodes: new Set(['paragraph', 'section']) }),
        historyInputPlugin(),
        editorInputRules(),
        ...editorKeymaps({
          'Mod-k': () => (this.#openLink(), true),
          'Alt-F10': () => (this.#focusToolbar(), true),
        }),
        placeholderPlugin(() => this.placeholder),
      ],
    });
    this.#view = new EditorView(
      { mount: surface },
      {
        state,
        editable: () => !this.#isReadonly(),
        attributes: () => ({
          role: 'textbox',
          'aria-multiline': 'true',
          'aria-label': this.label,
          'aria-placeholder': this.placeholder,
          'aria-readonly': this.#isReadonly() ? 'true' : 'false',
          // Read-only, the text is still reached with the keyboard, to read and select (as a read-only textarea).
          ...(this.#isReadonly() ? { tabindex: '0' } : {}),
          part: 'editor',
          spellcheck: 'true',
          class: 'surface',
        }),
        nodeViews: { check_item: (node, view, getPos) => new CheckItemView(node, view, getPos) },
        handlePaste: (view, _event, slice) => pasteInSections(view, slice),
        dispatchTransaction: (tr) => this.#dispatch(tr),
      },
    );
    // The undo manager's stacks change after the transactions that the toolbar sees: it follows them.
    const undoManager = (yUndoPluginKey.getState(this.#view.state) as { undoManager?: Y.UndoManager } | undefined)?.undoManager;
    if (undoManager) {
      const onStack = () => queueMicrotask(() => this.#refreshToolbar());
      undoManager.on('stack-item-added', onStack);
      undoManager.on('stack-item-popped', onStack);
      undoManager.on('stack-cleared', onStack);
      this.#unsubscribe.push(() => {
        undoManager.off('stack-item-added', onStack);
        undoManager.off('stack-item-popped', onStack);
        undoManager.off('stack-cleared', onStack);
      });
    }
    this.#unsubscribe.push(() => {
      // ProseMirror leaves its content on the mounted element: start clean.
      surface.replaceChildren();
      for (const name of surface.getAttributeNames()) if (name !== 'class' && name !== 'id' && name !== 'hidden') surface.removeAttribute(name);
      surface.className = 'surface';
    });
    this.#refreshToolbar();
  }

  /** Converts a document from before, when this member may write and the document is up to date (see convert.ts). */
  #convert(legacy: Y.Text | undefined, fragment: Y.XmlFragment): void {
    if (!legacy || this.#bound?.doc !== this.doc) return;
    const sealed = this.doc instanceof Y.Doc ? undefined : this.doc;
    // Up to date, or with no way to be: converting before the others' edits are in could convert twice.
    const settled = !sealed || sealed.synced || sealed.status === 'offline';
    if (needsConversion(legacy, fragment) && settled && !this.#isReadonly()) convertPlainText(legacy, fragment);
    this._legacy = needsConversion(legacy, fragment) ? legacy.toString() : undefined;
  }

  #dispatch(given: Transaction): void {
    const view = this.#view;
    if (!view) return;
    const before = view.state;
    const remote = (given.getMeta(ySyncPluginKey) as { isChangeOrigin?: boolean } | undefined)?.isChangeOrigin;
    // A local replacement across sections is done section by section (sections.ts).
    const tr = remote ? given : (keepSectionsOrNot(before, given) ?? given);
    view.updateState(before.apply(tr));
    if (tr.docChanged && !remote) this.#announce(tr);
    if (tr.docChanged || tr.selectionSet || tr.storedMarksSet) this.#refreshToolbar();
  }

  /** `sealdoc-edit` for each replacement of a local transaction; where it is in the plain text is computed when read. */
  #announce(tr: Transaction): void {
    tr.steps.forEach((step, i) => {
      // Replacements only (typing, deleting, pasting), not the wrapping of blocks; prosemirror-transform's ReplaceStep.
      if (step.constructor.name !== 'ReplaceStep' && (step.toJSON() as { stepType?: string }).stepType !== 'replace') return;
      const doc = tr.docs[i]!;
      const { from, to, slice } = step as unknown as { from: number; to: number; slice: { content: { size: number; textBetween(a: number, b: number, s: string, l: string): string } } };
      let index: number | undefined;
      const detail: EditDetail = {
        get index() {
          return (index ??= doc.textBetween(0, from, '\n', '\n').length);
        },
        deleted: doc.textBetween(from, to, '\n', '\n').length,
        inserted: slice.content.textBetween(0, slice.content.size, '\n', '\n'),
      };
      this.dispatchEvent(new CustomEvent<EditDetail>('sealdoc-edit', { detail, bubbles: true, composed: true }));
    });
  }

  #refreshToolbar(): void {
    const view = this.#view;
    if (!view) return;
    const active = activeState(view.state);
    const key = JSON.stringify(active);
    if (key === this.#activeKey) return;
    this.#activeKey = key;
    this._active = active;
  }

  #redrawCarets(): void {
    const view = this.#view;
    if (view && this.awareness) view.dispatch(view.state.tr.setMeta(caretKey, true).setMeta('addToHistory', false));
  }

  /** How the caret of Yjs client `clientId` is shown (see the class's description). */
  #describe(clientId: number, state: Record<string, unknown>): CaretLook | undefined {
    const sealed = this.doc instanceof Y.Doc ? undefined : this.doc;
    const user = state['user'] as Partial<EditorUser> | undefined;
    const declared = typeof user?.name === 'string' ? user.name.slice(0, 40) : undefined;
    const author = sealed?.presenceAuthor(clientId);
    const device = sealed && author && sealed.group.log.device(author);
    if (device) {
      const person = toHex(device.personId);
      this.#persons ??= sealed.group.log.members().map((m) => toHex(m.memberId));
      return {
        name: presenceName(sealed.group, device, this.names, declared).slice(0, 80),
        color: personColor(person, this.#persons),
        device: toHex(device.deviceId),
        mine: person === toHex(sealed.group.personId),
      };
    }
    return { name: declared ?? 'Someone', color: safeColor(user?.color, personColor(`client-${clientId}`)), mine: false };
  }

  #isReadonly(): boolean {
    return this.readonly || this._locked !== '';
  }

  // ---- toolbar ----

  #run(tool: Tool): void {
    const view = this.#view;
    const active = this._active;
    if (!view || !active || this.#isReadonly() || tool.disabled?.(active)) return;
    const command = tool.run(active);
    if (command === 'link') return this.#openLink();
    command(view.state, view.dispatch, view);
    view.focus();
  }

  #openLink(): void {
    if (this.#isReadonly()) return;
    this._link = { href: this._active?.link ?? '', error: '' };
  }

  #closeLink(): void {
    this._link = undefined;
    this.#view?.focus();
  }

  #applyLink(event: Event): void {
    event.preventDefault();
    const view = this.#view;
    const input = this.renderRoot.querySelector<HTMLInputElement>('.link-form input');
    if (!view || !input) return;
    const href = input.value.trim();
    if (!href) return this.#removeLink();
    if (!safeHref(href) || !setLink(href)(view.state, view.dispatch, view)) {
      this._link = { href, error: 'Only web addresses (http, https) and e-mail links (mailto) can be linked.' };
      return;
    }
    this.#closeLink();
  }

  #removeLink(): void {
    const view = this.#view;
    if (view) setLink(undefined)(view.state, view.dispatch, view);
    this.#closeLink();
  }

  #focusToolbar(): void {
    this.renderRoot.querySelectorAll<HTMLButtonElement>('[role=toolbar] button')[this._focusIndex]?.focus();
  }

  /** The ARIA toolbar's keys: arrows, Home and End move between its buttons; Escape goes back to the text. */
  #toolbarKey(event: KeyboardEvent): void {
    const count = BUTTONS.length;
    const moves: Record<string, number> = { ArrowRight: this._focusIndex + 1, ArrowLeft: this._focusIndex - 1 + count, Home: 0, End: count - 1 };
    if (event.key === 'Escape') {
      event.preventDefault();
      this.#view?.focus();
      return;
    }
    if (!(event.key in moves)) return;
    event.preventDefault();
    this._focusIndex = moves[event.key]! % count;
    void this.updateComplete.then(() => this.#focusToolbar());
  }

  override render() {
    const readonly = this.#isReadonly();
    const notice =
      this._locked === 'removed'
        ? 'Your access was removed: you can read what you had, nothing new arrives.'
        : this._locked === 'reader'
          ? 'You can read this document but not edit it.'
          : this._legacy !== undefined && !readonly
            ? 'This document was written before rich text: it becomes editable as soon as it is up to date.'
            : '';
    const active = this._active;
    return html`<div class="frame ${readonly ? 'locked' : ''}">
        ${readonly || this._legacy !== undefined ? nothing : this.#renderToolbar(active)} ${this._link && !readonly ? this.#renderLinkForm() : nothing}
        ${this.#surface}
        ${this._legacy !== undefined ? html`<div class="legacy" part="legacy" role="document" aria-label=${this.label}>${this._legacy}</div>` : nothing}
      </div>
      ${notice ? html`<p class="notice" part="notice" role="status">${notice}</p>` : nothing}`;
  }

  #renderToolbar(active: ActiveState | undefined) {
    let index = -1;
    return html`<div role="toolbar" part="toolbar" aria-label="Formatting" aria-controls="text" @keydown=${this.#toolbarKey}>
      ${TOOLS.map((tool) => {
        if (tool === 'sep') return html`<span class="sep" aria-hidden="true"></span>`;
        const i = ++index;
        const keys = tool.keys ? shortcut(tool.keys) : undefined;
        const pressed = tool.pressed && active ? tool.pressed(active) : undefined;
        const disabled = !active || (tool.disabled?.(active) ?? false);
        return html`<button
          type="button"
          part="button"
          class="tool-${tool.id}"
          data-tool=${tool.id}
          tabindex=${i === this._focusIndex ? 0 : -1}
          aria-label=${tool.label}
          title=${keys ? `${tool.label} (${keys.shown})` : tool.label}
          aria-keyshortcuts=${keys?.aria ?? nothing}
          aria-pressed=${pressed === undefined ? nothing : pressed ? 'true' : 'false'}
          aria-disabled=${disabled ? 'true' : 'false'}
          @mousedown=${(e: Event) => e.preventDefault()}
          @focus=${() => (this._focusIndex = i)}
          @click=${() => this.#run(tool)}
        >
          ${tool.text}
        </button>`;
      })}
    </div>`;
  }

  #renderLinkForm() {
    const link = this._link!;
    return html`<form class="link-form" part="link-form" @submit=${this.#applyLink} @keydown=${(e: KeyboardEvent) => e.key === 'Escape' && (e.preventDefault(), this.#closeLink())}>
      <label for="link-href">Link address</label>
      <input id="link-href" part="link-input" type="text" inputmode="url" autocomplete="off" spellcheck="false" placeholder="https://…" .value=${link.href} aria-invalid=${link.error ? 'true' : 'false'} aria-describedby=${link.error ? 'link-error' : nothing} />
      <button type="submit">Apply</button>
      ${this._active?.link !== undefined ? html`<button type="button" @click=${this.#removeLink}>Remove link</button>` : nothing}
      <button type="button" @click=${this.#closeLink}>Cancel</button>
      ${link.error ? html`<p class="error" id="link-error" role="alert">${link.error}</p>` : nothing}
    </form>`;
  }
}

customElements.define('sealdoc-editor', SealdocEditor);

declare global {
  interface HTMLElementTagNameMap {
    'sealdoc-editor': SealdocEditor;
  }
}
