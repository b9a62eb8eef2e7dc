/**
 * What the editor's toolbar and keyboard do: marks, block types, lists, links, undo and redo
 * (y-prosemirror's Y.UndoManager: this member's own edits only), and the Markdown-like input
 * rules ("# " a heading, "- " a list, "[ ] " a checklist...). Also the active state the
 * toolbar shows.
 * @module
 */
import { baseKeymap, chainCommands, exitCode, setBlockType, toggleMark } from 'prosemirror-commands';
import { inputRules, textblockTypeInputRule, wrappingInputRule, undoInputRule } from 'prosemirror-inputrules';
import { keymap } from 'prosemirror-keymap';
import type { MarkType, NodeType, Node as PmNode } from 'prosemirror-model';
import { liftListItem, sinkListItem, splitListItem, wrapInList } from 'prosemirror-schema-list';
import { Plugin as PmPlugin, type Command, type EditorState, type Plugin } from 'prosemirror-state';
import { redoCommand, undoCommand, yUndoPluginKey } from 'y-prosemirror';
import { richSchema as schema, safeHref } from './rich-schema.js';
import { joinSectionBackward, joinSectionForward, newSectionAtEnd } from './sections.js';

/** A block style of the toolbar: a paragraph or a heading level. */
export type BlockStyle = 'paragraph' | 'h1' | 'h2' | 'h3';
/** A list kind of the toolbar. */
export type ListKind = 'bullet' | 'ordered' | 'check';

const LISTS: Record<ListKind, { list: NodeType; item: NodeType }> = {
  bullet: { list: schema.nodes['bullet_list']!, item: schema.nodes['list_item']! },
  ordered: { list: schema.nodes['ordered_list']!, item: schema.nodes['list_item']! },
  check: { list: schema.nodes['check_list']!, item: schema.nodes['check_item']! },
};
const ITEMS = [schema.nodes['list_item']!, schema.nodes['check_item']!];

/** What the toolbar shows as pressed or possible at the selection. */
export interface ActiveState {
  strong: boolean;
  em: boolean;
  code: boolean;
  link: string | undefined;
  block: BlockStyle | undefined;
  list: ListKind | undefined;
  undo: boolean;
  redo: boolean;
}

function markActive(state: EditorState, type: MarkType): boolean {
  const { from, $from, to, empty } = state.selection;
  if (empty) return !!type.isInSet(state.storedMarks ?? $from.marks());
  return state.doc.rangeHasMark(from, to, type);
}

/** The innermost list around the selection, with its position. */
function listAround(state: EditorState): { kind: ListKind; node: PmNode; pos: number } | undefined {
  const { $from } = state.selection;
  for (let depth = $from.depth; depth > 0; depth--) {
    const node = $from.node(depth);
    const kind = (Object.keys(LISTS) as ListKind[]).find((k) => LISTS[k].list === node.type);
    if (kind) return { kind, node, pos: $from.before(depth) };
  }
  return undefined;
}

/** The toolbar's state at the selection. */
export function activeState(state: EditorState): ActiveState {
  const parent = state.selection.$from.parent;
  const block: BlockStyle | undefined =
    parent.type === schema.nodes['paragraph'] ? 'paragraph' : parent.type === schema.nodes['heading'] ? (`h${Math.min(3, Math.max(1, Number(parent.attrs['level']) || 1))}` as BlockStyle) : undefined;
  const { $from } = state.selection;
  const link = schema.marks['link']!.isInSet(state.storedMarks ?? $from.marks())?.attrs['href'] as string | undefined;
  const undo = yUndoPluginKey.getState(state) as { undoManager?: { canUndo(): boolean; canRedo(): boolean } } | undefined;
  return {
    strong: markActive(state, schema.marks['strong']!),
    em: markActive(state, schema.marks['em']!),
    code: markActive(state, schema.marks['code']!),
    link,
    block,
    list: listAround(state)?.kind,
    undo: undo?.undoManager?.canUndo() ?? false,
    redo: undo?.undoManager?.canRedo() ?? false,
  };
}

/** Bold, italic or inline code on the selection (or for what is typed next). */
export const toggle = (mark: 'strong' | 'em' | 'code'): Command => toggleMark(schema.marks[mark]!);

/** The block at the selection as a paragraph or a heading. */
export function setBlock(style: BlockStyle): Command {
  return style === 'paragraph' ? setBlockType(schema.nodes['paragraph']!) : setBlockType(schema.nodes['heading']!, { level: Number(style.slice(1)) });
}

/**
 * The selection in a list of `kind`: out of it when it already is one (lifted), the list
 * changed to `kind` when it is another kind, else wrapped in a new one.
 */
export function toggleList(kind: ListKind): Command {
  const target = LISTS[kind];
  return (state, dispatch) => {
    const around = listAround(state);
    if (around?.kind === kind) return liftListItem(target.item)(state, dispatch);
    if (around) {
      if (dispatch) {
        const items: PmNode[] = [];
        around.node.forEach((item) => items.push(target.item.create(target.item === schema.nodes['check_item'] ? { checked: item.attrs['checked'] === true } : null, item.content)));
        const list = target.list.create(null, items);
        dispatch(state.tr.replaceWith(around.pos, around.pos + around.node.nodeSize, list).scrollIntoView());
      }
      return true;
    }
    return wrapInList(target.list)(state, dispatch);
  };
}

/**
 * A link on the selection to `href` (kept only when it is http(s) or mailto: false
 * otherwise); with an empty selection, the address inserted as linked text. `undefined`
 * removes the link around the selection.
 */
export function setLink(href: string | undefined): Command {
  const type = schema.marks['link']!;
  return (state, dispatch) => {
    const { from, to, empty, $from } = state.selection;
    if (href === undefined) {
      if (!dispatch) return true;
      let [start, end] = [from, to];
      if (empty) {
        // The whole link around the caret.
        const parent = $from.parent;
        const offset = $from.parentOffset;
        let pos = $from.start();
        parent.forEach((child, childOffset) => {
          if (childOffset <= offset && offset <= childOffset + child.nodeSize && type.isInSet(child.marks)) {
            start = pos + childOffset;
            end = pos + childOffset + child.nodeSize;
          }
        });
      }
      dispatch(state.tr.removeMark(start, end, type).removeStoredMark(type));
      return true;
    }
    const safe = safeHref(href);
    if (!safe) return false;
    if (!dispatch) return true;
    const mark = type.create({ href: safe });
    const tr = empty ? state.tr.insert(from, schema.text(safe, [mark])) : state.tr.removeMark(from, to, type).addMark(from, to, mark);
    dispatch(tr.scrollIntoView());
    return true;
  };
}

/**
 * Undo this member's last edit (never another member's): y-prosemirror's Y.UndoManager. It
 * always takes the key, even with nothing to undo: the browser's own undo of the editable
 * element must never run (it would replay its typing history into the document).
 */
export const undo: Command = (state, dispatch) => {
  if (dispatch) undoCommand(state, dispatch);
  return true;
};
/** Redo what this member undid (taking the key, as {@link undo}). */
export const redo: Command = (state, dispatch) => {
  if (dispatch) redoCommand(state, dispatch);
  return true;
};

/**
 * The browser's own undo and redo (its Edit menu, a phone's shake or gesture) arrive as
 * `beforeinput` events: they run this member's undo and redo instead.
 */
export function historyInputPlugin(): Plugin {
  return new PmPlugin({
    props: {
      handleDOMEvents: {
        beforeinput(view, event) {
          const type = (event as InputEvent).inputType;
          if (type !== 'historyUndo' && type !== 'historyRedo') return false;
          event.preventDefault();
          (type === 'historyUndo' ? undoCommand : redoCommand)(view.state, view.dispatch);
          return true;
        },
      },
    },
  });
}

/** The editor's shortcuts (`Mod` is Cmd on a Mac, Ctrl elsewhere); `extra` come first. */
export function editorKeymaps(extra: Record<string, Command> = {}): Plugin[] {
  const hardBreak: Command = chainCommands(exitCode, (state, dispatch) => {
    dispatch?.(state.tr.replaceSelectionWith(schema.nodes['hard_break']!.create()).scrollIntoView());
    return true;
  });
  return [
    keymap({
      ...extra,
      'Mod-z': undo,
      'Mod-y': redo,
      'Mod-Shift-z': redo,
      'Mod-b': toggle('strong'),
      'Mod-i': toggle('em'),
      'Mod-e': toggle('code'),
      'Mod-`': toggle('code'),
      'Mod-Alt-0': setBlock('paragraph'),
      'Mod-Alt-1': setBlock('h1'),
      'Mod-Alt-2': setBlock('h2'),
      'Mod-Alt-3': setBlock('h3'),
      'Mod-Shift-7': toggleList('ordered'),
      'Mod-Shift-8': toggleList('bullet'),
      'Mod-Shift-9': toggleList('check'),
      'Shift-Enter': hardBreak,
      Enter: chainCommands(newSectionAtEnd, splitListItem(ITEMS)),
      // Tab indents inside a list only: elsewhere it leaves the editor, as keyboard users expect.
      Tab: sinkListItem(ITEMS),
      'Shift-Tab': liftListItem(ITEMS),
      // At a section's edge (sections.ts): ProseMirror's own joins stop there.
      Backspace: chainCommands(undoInputRule, joinSectionBackward),
      'Mod-Backspace': joinSectionBackward,
      'Shift-Backspace': joinSectionBackward,
      Delete: joinSectionForward,
      'Mod-Delete': joinSectionForward,
    }),
    keymap(baseKeymap),
  ];
}

/** Markdown-like shortcuts as one types: "# " to "### " headings, "- " or "* " bullets, "1. " numbers, "[ ] " checklists. */
export function editorInputRules(): Plugin {
  return inputRules({
    rules: [
      textblockTypeInputRule(/^(#{1,3})\s$/, schema.nodes['heading']!, (match) => ({ level: match[1]!.length })),
      wrappingInputRule(/^\s*([-*])\s$/, schema.nodes['bullet_list']!),
      wrappingInputRule(/^(\d+)\.\s$/, schema.nodes['ordered_list']!, (match) => ({ order: Number(match[1]) }), (match, node) => node.childCount + Number(node.attrs['order']) === Number(match[1])),
      wrappingInputRule(/^\[ ?\]\s$/, schema.nodes['check_list']!),
    ],
  });
}
