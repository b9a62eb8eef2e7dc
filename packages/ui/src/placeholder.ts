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
        // The one block, in its section (a document from before sections: at the top level).
        const first = doc.firstChild;
        const inSection = first?.type.name === 'section';
        const block = inSection && first.childCount === 1 ? first.firstChild : first;
        if (doc.childCount !== 1 || !block?.isTextblock || block.content.size !== 0) return DecorationSet.empty;
        const pos = inSection ? 1 : 0;
        return DecorationSet.create(doc, [Decoration.node(pos, pos + block.nodeSize, { class: 'placeholder', 'data-placeholder': text() })]);
      },
    },
  });
}
