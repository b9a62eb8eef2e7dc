// Helpers of the editor's browser tests: typing into <sealdoc-editor> as a person does, and
// reading a document's rich text as plain text without an editor.
import * as Y from 'yjs';
import { sendKeys } from '@web/test-runner-commands';
import { TextSelection } from 'prosemirror-state';
import type { Node as PmNode } from 'prosemirror-model';
import type { SealdocEditor } from '@sealdoc/ui';

/** The ProseMirror position of character `index` of the editor's plain text (blocks separated by one line break). */
export function posAt(doc: PmNode, index: number): number {
  let remaining = index;
  let found: number | undefined;
  let last = 1;
  let first = true;
  doc.descendants((node, pos) => {
    if (found !== undefined) return false;
    if (!node.isTextblock) return true;
    if (!first) remaining -= 1;
    first = false;
    last = pos + 1 + node.content.size;
    if (remaining <= node.textContent.length) {
      // Walk the block's inline content: text counts its characters, other leaves none.
      let offset = 0;
      let left = remaining;
      node.forEach((child) => {
        if (found !== undefined) return;
        const size = child.isText ? child.text!.length : 0;
        if (left <= size) found = pos + 1 + offset + left;
        else left -= size;
        offset += child.nodeSize;
      });
      found ??= pos + 1 + offset;
      return false;
    }
    remaining -= node.textContent.length;
    return false;
  });
  return found ?? last;
}

/** Puts the editor's caret at character `at` of its plain text, with the focus. */
export function caretAt(editor: SealdocEditor, at: number): void {
  const view = editor.view!;
  // ProseMirror focuses an editable view only; a read-only one is focused as an element (it has a tabindex).
  if (view.editable) view.focus();
  else (view.dom as HTMLElement).focus();
  view.dispatch(view.state.tr.setSelection(TextSelection.create(view.state.doc, posAt(view.state.doc, at))));
}

/** Where the editor's caret is, in characters of its plain text: [from, to]. */
export function caretIndex(editor: SealdocEditor): [number, number] {
  const { doc, selection } = editor.view!.state;
  return [doc.textBetween(0, selection.from, '\n', '\n').length, doc.textBetween(0, selection.to, '\n', '\n').length];
}

/**
 * One text input of `text` at `at`, as the browser gives ProseMirror one (an input method, a
 * paste of plain text): through the editor's own handling of text input (input rules too).
 */
export function inputText(editor: SealdocEditor, at: number, text: string): void {
  caretAt(editor, at);
  const view = editor.view!;
  const { from, to } = view.state.selection;
  if (!view.editable) return;
  if (!view.someProp('handleTextInput', (f) => f(view, from, to, text, () => view.state.tr.insertText(text, from, to)))) view.dispatch(view.state.tr.insertText(text, from, to));
}

/** Types `text` at `at` key by key with the keyboard (the browser's real key events). */
export async function typeKeys(editor: SealdocEditor, at: number, text: string): Promise<void> {
  caretAt(editor, at);
  // A section not drawn yet (content-visibility: auto, just mounted or out of view) is drawn in
  // the next frames once the caret is in it; until then Chromium keeps the DOM caret before it,
  // where a key typed at once lands outside its paragraph. A person's first key comes frames
  // later; so do these, with the caret placed again in the section drawn.
  for (let frame = 0; frame < 2; frame++) await new Promise((resolve) => requestAnimationFrame(resolve));
  caretAt(editor, at);
  await sendKeys({ type: text });
}

/** Presses a key or a chord (`Control+Shift+z`) in the focused element: modifiers held down, the key pressed, modifiers let go. */
export async function press(chord: string): Promise<void> {
  const keys = chord.split('+');
  const key = keys.pop()!;
  for (const modifier of keys) await sendKeys({ down: modifier });
  await sendKeys({ press: key });
  for (const modifier of keys.reverse()) await sendKeys({ up: modifier });
}

/** The text of a document's rich text (its Y.XmlFragment), textblocks separated by a line break, as the editor shows it. */
export function plainText(doc: Y.Doc, field = 'prosemirror'): string {
  const blocks: string[] = [];
  const visit = (type: Y.XmlFragment | Y.XmlElement) => {
    for (const child of type.toArray()) {
      if (!(child instanceof Y.XmlElement)) continue;
      if (child.nodeName === 'paragraph' || child.nodeName === 'heading') {
        blocks.push(
          child
            .toArray()
            .map((t) => (t instanceof Y.XmlText ? (t.toDelta() as { insert: unknown }[]).map((d) => (typeof d.insert === 'string' ? d.insert : '')).join('') : ''))
            .join(''),
        );
      } else visit(child);
    }
  };
  visit(doc.getXmlFragment(field));
  return blocks.join('\n');
}
