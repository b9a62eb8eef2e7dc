/**
 * The others' carets in `<sealdoc-editor>`, and this member's own caret published to them,
 * through a y-protocols Awareness (sealed by core). A ProseMirror plugin in place of
 * y-prosemirror's cursor plugin, for two reasons: each caret is named and coloured by the
 * person whose device proves it (the editor's `describe`), and typing stays cheap: this
 * member's caret goes out at most once per `publishMs` (each state sent is sealed and signed)
 * and the carets are drawn again only when another member's state changed, not on this
 * member's own updates.
 * @module
 */
import * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import { Plugin, PluginKey, type EditorState } from 'prosemirror-state';
import { Decoration, DecorationSet, type EditorView } from 'prosemirror-view';
import { absolutePositionToRelativePosition, relativePositionToAbsolutePosition, ySyncPluginKey } from 'y-prosemirror';

/** How a remote caret is shown: its name, its colour (a hex colour), whose device it is. */
export interface CaretLook {
  name: string;
  color: string;
  /** The device (hex) proven to speak for this caret, when one is. */
  device?: string;
  /** A device of the viewer's own person ("You (Phone)"): drawn outlined, never as a stranger's. */
  mine: boolean;
}

/** Options of {@link caretPlugin}. */
export interface CaretOptions {
  awareness: Awareness;
  /** How the caret of `clientId` is shown, from its awareness `state`; undefined: not drawn. */
  describe(clientId: number, state: Record<string, unknown>): CaretLook | undefined;
  /** Whether this member's caret is published (not when it may not write). */
  publish(): boolean;
  /** This member's caret goes to the others at most once per this many ms (default 200). */
  publishMs?: number;
}

/** The plugin's key: `caretKey.getState(state)` is the DecorationSet of the others' carets. */
export const caretKey = new PluginKey<DecorationSet>('sealdoc-carets');

interface CursorState {
  anchor: unknown;
  head: unknown;
}

function build(state: EditorState, options: CaretOptions): DecorationSet {
  const ystate = ySyncPluginKey.getState(state) as { doc: Y.Doc; type: Y.XmlFragment; binding: { mapping: Map<unknown, unknown> } } | undefined;
  if (!ystate?.binding) return DecorationSet.empty;
  const { awareness } = options;
  const decorations: Decoration[] = [];
  const max = Math.max(state.doc.content.size - 1, 0);
  // Sections holding a caret are drawn whole (class has-caret: no paint containment), so that a
  // name above the section's first line is not clipped (sections.ts).
  const withCaret = new Set<number>();
  for (const [clientId, raw] of awareness.getStates()) {
    if (clientId === awareness.clientID || clientId === ystate.doc.clientID) continue;
    const cursor = (raw as { cursor?: CursorState | null }).cursor;
    if (!cursor || typeof cursor !== 'object') continue;
    const look = options.describe(clientId, raw);
    if (!look) continue;
    let anchor: number | null;
    let head: number | null;
    try {
      anchor = relativePositionToAbsolutePosition(ystate.doc, ystate.type, Y.createRelativePositionFromJSON(cursor.anchor), ystate.binding.mapping as never);
      head = relativePositionToAbsolutePosition(ystate.doc, ystate.type, Y.createRelativePositionFromJSON(cursor.head), ystate.binding.mapping as never);
    } catch {
      continue; // a state that is no caret of this document
    }
    if (anchor === null || head === null) continue;
    anchor = Math.min(anchor, max);
    head = Math.min(head, max);
    const key = `${clientId}|${look.name}|${look.color}|${look.mine}`;
    decorations.push(Decoration.widget(head, () => caretElement(look), { key, side: 10 }));
    const $head = state.doc.resolve(head);
    if ($head.depth > 0 && $head.node(1).type.name === 'section') withCaret.add($head.before(1));
    if (anchor !== head) {
      decorations.push(
        Decoration.inline(Math.min(anchor, head), Math.max(anchor, head), { class: 'remote-selection', style: `--caret-color: ${look.color}` }, { inclusiveStart: false, inclusiveEnd: true }),
      );
    }
  }
  for (const pos of withCaret) decorations.push(Decoration.node(pos, pos + state.doc.nodeAt(pos)!.nodeSize, { class: 'has-caret' }));
  return DecorationSet.create(state.doc, decorations);
}

/** A caret and its name: text only (the name is never markup), its colour a checked hex colour. */
function caretElement(look: CaretLook): HTMLElement {
  const caret = document.createElement('span');
  caret.className = look.mine ? 'caret mine' : 'caret';
  caret.setAttribute('part', look.mine ? 'caret caret-mine' : 'caret');
  caret.setAttribute('contenteditable', 'false');
  caret.style.setProperty('--caret-color', look.color);
  if (look.device) caret.dataset['device'] = look.device;
  const name = document.createElement('span');
  name.className = 'caret-name';
  name.setAttribute('part', 'caret-name');
  name.textContent = look.name;
  caret.append(name);
  return caret;
}

/** The carets plugin (see the module's description). */
export function caretPlugin(options: CaretOptions): Plugin<DecorationSet> {
  const publishMs = options.publishMs ?? 200;
  return new Plugin<DecorationSet>({
    key: caretKey,
    state: {
      init: (_config, state) => build(state, options),
      apply(tr, previous, _old, state) {
        const remote = (tr.getMeta(ySyncPluginKey) as { isChangeOrigin?: boolean } | undefined)?.isChangeOrigin;
        if (tr.getMeta(caretKey) || remote) return build(state, options);
        return previous.map(tr.mapping, tr.doc);
      },
    },
    props: {
      decorations: (state) => caretKey.getState(state),
    },
    view(view: EditorView) {
      const { awareness } = options;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let lastSent = 0;
      let destroyed = false;
      // Drawn again when another member's state changed; at most once per frame.
      let drawQueued = false;
      const redraw = () => {
        drawQueued = false;
        if (!destroyed) view.dispatch(view.state.tr.setMeta(caretKey, true).setMeta('addToHistory', false));
      };
      const onChange = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
        const others = [...added, ...updated, ...removed].some((client) => client !== awareness.clientID);
        if (!others || drawQueued) return;
        drawQueued = true;
        queueMicrotask(redraw);
      };
      awareness.on('change', onChange);

      const send = () => {
        timer = undefined;
        if (destroyed || !options.publish()) return;
        const ystate = ySyncPluginKey.getState(view.state) as { type: Y.XmlFragment; binding: { mapping: Map<unknown, unknown> } } | undefined;
        if (!ystate?.binding) return;
        const { anchor, head } = view.state.selection;
        const next = {
          anchor: absolutePositionToRelativePosition(anchor, ystate.type, ystate.binding.mapping as never),
          head: absolutePositionToRelativePosition(head, ystate.type, ystate.binding.mapping as never),
        };
        const current = (awareness.getLocalState() as { cursor?: CursorState | null } | null)?.cursor;
        lastSent = performance.now();
        if (
          current &&
          Y.compareRelativePositions(Y.createRelativePositionFromJSON(current.anchor), next.anchor) &&
          Y.compareRelativePositions(Y.createRelativePositionFromJSON(current.head), next.head)
        )
          return;
        awareness.setLocalStateField('cursor', next);
      };
      /** This member's caret moved: sent now if none went for publishMs, else once that time is up. */
      const schedule = () => {
        if (timer !== undefined) return;
        const wait = Math.max(0, lastSent + publishMs - performance.now());
        timer = setTimeout(send, wait);
      };
      const onFocus = () => schedule();
      view.dom.addEventListener('focusin', onFocus);
      return {
        update(view, previous) {
          if (!view.hasFocus()) return;
          if (previous.doc !== view.state.doc || !previous.selection.eq(view.state.selection)) schedule();
        },
        destroy() {
          destroyed = true;
          clearTimeout(timer);
          view.dom.removeEventListener('focusin', onFocus);
          awareness.off('change', onChange);
          if ((awareness.getLocalState() as { cursor?: unknown } | null)?.cursor) awareness.setLocalStateField('cursor', null);
        },
      };
    },
  });
}
