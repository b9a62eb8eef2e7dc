/**
 * Sections: the blocks of a document sit in sections of a few dozen (`<section>` elements
 * under `content-visibility: auto`), so that a keystroke costs about the same in a long
 * document as in a short one: Chromium lays out, paints and hands the input method the text of
 * the sections in view only, and ProseMirror and y-prosemirror compare a few dozen sections at
 * each keystroke, not thousands of blocks (docs/ui.md, Typing cost).
 *
 * Sections are never rebalanced. Yjs has no move: a block moved from one section to another is
 * deleted and written again, and what another member types in it meanwhile is lost. So a
 * section is only ever made new, where nothing has to move: when Enter is pressed at the end of
 * a full section, when a long paste lands at the end of one ({@link pasteInSections}), when a
 * plain-text document is converted. Editing never crosses a section's edge (the schema's `isolating`): Backspace at the
 * start of a section and Delete at its end move one paragraph's text, as joining two paragraphs
 * does anywhere, and a replacement that spans sections is done section by section
 * ({@link keepSections}).
 * @module
 */
import { Fragment, Slice, type Node as PmNode, type ResolvedPos } from 'prosemirror-model';
import { Selection, TextSelection, type Command, type EditorState, type Transaction } from 'prosemirror-state';
import type { EditorView } from 'prosemirror-view';
import { ReplaceStep } from 'prosemirror-transform';
import { richSchema as schema } from './rich-schema.js';

/**
 * The number of blocks after which Enter at the end of a section opens a new one; also the
 * size of the sections a long paste or a conversion makes. A section that grows in its middle
 * keeps growing (it costs typing time in proportion, never correctness).
 */
export const SECTION_SIZE = 50;

const section = schema.nodes['section']!;
const paragraph = schema.nodes['paragraph']!;

/** The document's blocks, those in sections and those at the top level, in order (for exports). */
export function blocksOf(doc: PmNode): PmNode[] {
  const blocks: PmNode[] = [];
  doc.forEach((node) => (node.type === section ? node.forEach((block) => blocks.push(block)) : blocks.push(node)));
  return blocks;
}

/** `nodes` grouped in sections of {@link SECTION_SIZE}. */
function grouped(nodes: readonly PmNode[]): PmNode[] {
  const sections: PmNode[] = [];
  for (let i = 0; i < nodes.length; i += SECTION_SIZE) sections.push(section.create(null, nodes.slice(i, i + SECTION_SIZE)));
  return sections;
}

/** An empty selection's position, else undefined. */
const cursorOf = (state: EditorState): ResolvedPos | undefined => (state.selection as TextSelection).$cursor ?? undefined;

/**
 * Whether `$pos`, in a text block, is in a block the editor treats as a section's edge: a
 * direct child of a section (depth 2) that is its first (`start`) or last (`end`) block, or a
 * top-level block of a document from before sections (depth 1).
 */
function atSectionEdge($pos: ResolvedPos, side: 'start' | 'end'): boolean {
  if ($pos.depth === 1) return true;
  if ($pos.depth !== 2 || $pos.node(1).type !== section) return false;
  return side === 'start' ? $pos.index(1) === 0 : $pos.index(1) === $pos.node(1).childCount - 1;
}

/** The range that removes the block around `$pos` (depth 1 or 2): its section too when it is the section's only block. */
function removalRange($pos: ResolvedPos): [number, number] {
  const whole = $pos.depth === 1 || $pos.node(1).childCount === 1;
  return whole ? [$pos.before(1), $pos.after(1)] : [$pos.before(2), $pos.after(2)];
}

/** The end of the content of the last text block in `node` (which starts at `pos`), or undefined when it has none. */
function lastTextblockEnd(node: PmNode, pos: number): number | undefined {
  let end = pos + node.nodeSize - 1;
  while (!node.isTextblock) {
    if (!node.lastChild) return undefined;
    node = node.lastChild;
    end -= 1;
  }
  return end;
}

/**
 * Enter at the end of the last block of a section that holds {@link SECTION_SIZE} blocks or
 * more, or at the end of a top-level block of a document from before sections: the new
 * paragraph opens a new section after it. Nothing existing moves.
 */
export const newSectionAtEnd: Command = (state, dispatch) => {
  const $cursor = cursorOf(state);
  if (!$cursor || !$cursor.parent.isTextblock || $cursor.parentOffset !== $cursor.parent.content.size || !atSectionEdge($cursor, 'end')) return false;
  if ($cursor.depth === 2 && $cursor.node(1).childCount < SECTION_SIZE) return false;
  if (dispatch) {
    const after = $cursor.after(1);
    const tr = state.tr.insert(after, section.create(null, paragraph.create()));
    dispatch(tr.setSelection(TextSelection.create(tr.doc, after + 2)).scrollIntoView());
  }
  return true;
};

/**
 * Backspace at the start of a section's first block (or of a top-level block that follows a
 * section): the block's text joins the end of the last text block before it, as joining two
 * paragraphs does; the block goes, and its section with it when it was the only one.
 */
export const joinSectionBackward: Command = (state, dispatch) => {
  const $cursor = cursorOf(state);
  if (!$cursor || !$cursor.parent.isTextblock || $cursor.parentOffset > 0 || !atSectionEdge($cursor, 'start')) return false;
  const index = $cursor.index(0);
  if (index === 0) return false;
  const before = state.doc.child(index - 1);
  if ($cursor.depth === 1 && before.type !== section) return false; // two top-level blocks: ProseMirror's own join
  const end = lastTextblockEnd(before, $cursor.before(1) - before.nodeSize);
  if (end === undefined) return false;
  if (dispatch) {
    const [from, to] = removalRange($cursor);
    const tr = state.tr.delete(from, to).insert(end, $cursor.parent.content);
    dispatch(tr.setSelection(TextSelection.create(tr.doc, end)).scrollIntoView());
  }
  return true;
};

/**
 * Delete at the end of a section's last block (or of a top-level block followed by a
 * section): the first block after it, when a text block, brings its text here and goes (its
 * section with it when it was the only one). When that block is a list, nothing happens: its
 * first item would have to move out of it.
 */
export const joinSectionForward: Command = (state, dispatch) => {
  const $cursor = cursorOf(state);
  if (!$cursor || !$cursor.parent.isTextblock || $cursor.parentOffset !== $cursor.parent.content.size || !atSectionEdge($cursor, 'end')) return false;
  const index = $cursor.index(0);
  if (index === state.doc.childCount - 1) return false;
  const next = state.doc.child(index + 1);
  if ($cursor.depth === 1 && next.type !== section) return false; // two top-level blocks: ProseMirror's own join
  const nextPos = $cursor.after(1);
  const $first = state.doc.resolve(next.type === section ? nextPos + 2 : nextPos + 1);
  // Handled, so that the browser does not join across the edge on its own.
  if (!$first.parent.isTextblock) return true;
  if (dispatch) {
    const [from, to] = removalRange($first);
    const tr = state.tr.delete(from, to).insert($cursor.pos, $first.parent.content);
    dispatch(tr.setSelection(TextSelection.create(tr.doc, $cursor.pos)).scrollIntoView());
  }
  return true;
};

/**
 * A long paste (more than {@link SECTION_SIZE} blocks) at the end of a section, where nothing of
 * the section comes after it: its first {@link SECTION_SIZE} blocks go into that section (the
 * first joining the text block at the caret, as any paste), the others into new sections after
 * it; true when it did so. Anywhere else ProseMirror pastes as usual and the section grows:
 * moving the blocks after the caret into new sections would lose what others type in them
 * meanwhile.
 */
export function pasteInSections(view: EditorView, slice: Slice): boolean {
  const { content } = slice;
  if (content.childCount <= SECTION_SIZE) return false;
  let blocks = true;
  content.forEach((node) => (blocks &&= node.type.isInGroup('block')));
  const { $from, $to } = view.state.selection;
  if (!blocks || $to.depth !== 2 || !$to.parent.isTextblock || $to.parentOffset !== $to.parent.content.size || !atSectionEdge($to, 'end')) return false;
  if ($from.depth < 1 || $from.index(0) !== $to.index(0)) return false;
  const nodes: PmNode[] = [];
  content.forEach((node) => nodes.push(node));
  // Open at its end when a text block ends it: it takes the (empty) rest of the text block at the caret.
  const first = nodes.slice(0, SECTION_SIZE);
  const tr = view.state.tr.replaceSelection(new Slice(Fragment.fromArray(first), slice.openStart, first.at(-1)!.isTextblock ? 1 : 0));
  const after = tr.mapping.map($to.after(1));
  const rest = grouped(nodes.slice(SECTION_SIZE));
  tr.insert(after, rest);
  const end = after + rest.reduce((size, node) => size + node.nodeSize, 0);
  view.dispatch(tr.setSelection(Selection.near(tr.doc.resolve(end), -1)).scrollIntoView().setMeta('paste', true).setMeta('uiEvent', 'paste'));
  return true;
}

/**
 * A local transaction of one replacement that spans top-level nodes with at least one end
 * inside a section (deleting a selection across sections, typing or pasting over one) done
 * section by section instead, since ProseMirror would join the sections at its ends and so
 * move the later one's remaining blocks: what is selected goes, each section keeps what it
 * had outside the selection, the text block at the selection's start gets the text of the one
 * at its end (as when the selection lies in one section), and what replaces the selection goes
 * where the selection began. Undefined when `tr` is not such a transaction (transactions of
 * several steps are left as they are).
 */
export function keepSections(state: EditorState, tr: Transaction): Transaction | undefined {
  const step = tr.steps.length === 1 ? tr.steps[0] : undefined;
  if (!(step instanceof ReplaceStep) || tr.docs[0] !== state.doc) return undefined;
  const doc = state.doc;
  const $from = doc.resolve(step.from);
  const $to = doc.resolve(step.to);
  const a = $from.depth > 0 ? $from.node(1) : undefined;
  const b = $to.depth > 0 ? $to.node(1) : undefined;
  if (!a && !b) return replaceWholeNodes(state, tr, step);
  if (a?.type !== section && b?.type !== section) return undefined;
  if (a && b && $from.index(0) === $to.index(0)) return undefined;

  const aKeeps = a !== undefined && step.from > $from.start(1);
  const bKeeps = b !== undefined && step.to < $to.end(1);
  const wholeFrom = !a ? step.from : aKeeps ? $from.after(1) : $from.before(1);
  const wholeTo = !b ? step.to : bKeeps ? $to.before(1) : $to.after(1);
  const out = state.tr;
  // From the end backwards: each deletion leaves the positions before it as they were.
  if (bKeeps) out.delete($to.start(1), step.to);
  if (wholeTo > wholeFrom) out.delete(wholeFrom, wholeTo);
  if (aKeeps) out.delete(step.from, $from.end(1));

  let at: number;
  if (aKeeps) {
    at = step.from;
    const bPos = bKeeps ? out.mapping.map($to.before(1), 1) : undefined;
    if (bPos !== undefined && $from.parent.isTextblock) {
      const $first = out.doc.resolve(out.doc.nodeAt(bPos)!.type === section ? bPos + 2 : bPos + 1);
      if ($first.parent.isTextblock) {
        const [from, to] = removalRange($first);
        out.delete(from, to).insert(at, $first.parent.content);
      }
    }
  } else if (bKeeps) {
    const bPos = out.mapping.map($to.before(1), 1);
    const $first = out.doc.resolve(out.doc.nodeAt(bPos)!.type === section ? bPos + 2 : bPos + 1);
    at = $first.parent.isTextblock ? $first.pos : bPos + 1;
  } else {
    at = out.mapping.map(wholeFrom, -1);
    if (step.slice.size > 0 && out.doc.childCount > 0) {
      out.insert(at, section.create(null, paragraph.create()));
      at += 2;
    }
  }
  let caret = at;
  if (step.slice.size > 0) {
    const before = out.steps.length;
    out.replace(at, at, step.slice);
    caret = out.mapping.slice(before).map(at, 1);
  }
  return finish(out, tr, caret);
}

/**
 * A replacement of whole top-level nodes (all of the document, when everything is selected)
 * by text or blocks, in a document with sections: what replaces them goes in a section, not
 * at the top level (where ProseMirror would put a bare paragraph). Undefined otherwise.
 */
function replaceWholeNodes(state: EditorState, tr: Transaction, step: ReplaceStep): Transaction | undefined {
  let sectioned = false;
  state.doc.forEach((node) => (sectioned ||= node.type === section));
  const { slice } = step;
  if (!sectioned || slice.size === 0 || slice.content.firstChild?.type === section) return undefined;
  // Whole blocks: the section holds them as they are.
  if (slice.openStart === 0 && slice.openEnd === 0 && section.validContent(slice.content)) {
    const out = state.tr.replaceWith(step.from, step.to, section.create(null, slice.content));
    return finish(out, tr, out.mapping.map(step.to, 1) - 2);
  }
  const out = state.tr.replaceWith(step.from, step.to, section.create(null, paragraph.create()));
  const at = out.mapping.map(step.from, -1) + 2;
  const before = out.steps.length;
  out.replace(at, at, slice);
  return finish(out, tr, out.mapping.slice(before).map(at, 1));
}

/** `out` with the caret at `caret` and what `tr` carried besides its steps (stored marks, scrolling, its kind of event). */
function finish(out: Transaction, tr: Transaction, caret: number): Transaction {
  out.setSelection(TextSelection.near(out.doc.resolve(Math.min(caret, out.doc.content.size))));
  if (tr.storedMarksSet) out.setStoredMarks(tr.storedMarks);
  if (tr.scrolledIntoView) out.scrollIntoView();
  for (const key of ['uiEvent', 'paste', 'addToHistory']) if (tr.getMeta(key) !== undefined) out.setMeta(key, tr.getMeta(key));
  return out;
}
