/**
 * A checklist item of `<sealdoc-editor>` as a ProseMirror node view: a real checkbox (labelled,
 * reachable with the keyboard) before the item's content. Ticking it changes the item's
 * `checked` attribute, an edit like any other (shared, undoable); read-only editors show it
 * disabled.
 * @module
 */
import type { Node as PmNode } from 'prosemirror-model';
import type { EditorView, NodeView } from 'prosemirror-view';

/** The node view of `check_item` (see the module's description). */
export class CheckItemView implements NodeView {
  readonly dom: HTMLLIElement;
  readonly contentDOM: HTMLDivElement;
  readonly #box: HTMLInputElement;
  #node: PmNode;

  constructor(node: PmNode, view: EditorView, getPos: () => number | undefined) {
    this.#node = node;
    this.dom = document.createElement('li');
    this.dom.className = 'check-item';
    const label = document.createElement('span');
    label.className = 'check';
    label.contentEditable = 'false';
    this.#box = document.createElement('input');
    this.#box.type = 'checkbox';
    this.#box.setAttribute('aria-label', 'Done');
    this.#box.autocomplete = 'off'; // the document holds its state: never the browser's form memory
    this.#box.addEventListener('mousedown', (event) => event.preventDefault()); // the editor keeps its selection
    this.#box.addEventListener('change', () => {
      const pos = getPos();
      if (pos === undefined || !view.editable) {
        this.#box.checked = this.#node.attrs['checked'] === true;
        return;
      }
      view.dispatch(view.state.tr.setNodeMarkup(pos, undefined, { ...this.#node.attrs, checked: this.#box.checked }));
    });
    label.append(this.#box);
    this.contentDOM = document.createElement('div');
    this.contentDOM.className = 'check-text';
    this.dom.append(label, this.contentDOM);
    this.#show(view);
  }

  #show(view: EditorView): void {
    const checked = this.#node.attrs['checked'] === true;
    this.#box.checked = checked;
    this.#box.disabled = !view.editable;
    this.dom.dataset['checked'] = String(checked);
  }

  update(node: PmNode): boolean {
    if (node.type !== this.#node.type) return false;
    this.#node = node;
    const checked = node.attrs['checked'] === true;
    this.#box.checked = checked;
    this.dom.dataset['checked'] = String(checked);
    return true;
  }

  /** Read-only changed: the checkbox follows. */
  setEditable(editable: boolean): void {
    this.#box.disabled = !editable;
  }

  stopEvent(event: Event): boolean {
    return event.target === this.#box;
  }

  ignoreMutation(mutation: MutationRecord | { type: 'selection'; target: Node }): boolean {
    return mutation.target === this.#box || (mutation.type === 'attributes' && mutation.target === this.dom);
  }
}
