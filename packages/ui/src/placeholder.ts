/**
 * The empty editor's placeholder: a decoration (shown by CSS from `data-placeholder`), never
 * text in the document, so nothing is written, shared or sealed for it.
 * @module
 */
import { Plugin } from 'prosemirror-state';
import { Decoration, DecorationSet } from 'prosemirror-view';

/** Shows `text()` in an empty document's first block (class `placeholder`). */
export function placeholderPlugin(text: () => string): Plugin {
  return new Plugin({
    props: {
      decorations(state) {
        const { doc } = state;
        const first = doc.firstChild;
        if (doc.childCount !== 1 || !first?.isTextblock || first.content.size !== 0) return DecorationSet.empty;
        return DecorationSet.create(doc, [Decoration.node(0, first.nodeSize, { class: 'placeholder', 'data-placeholder': text() })]);
      },
    },
  });
}
