// The page editors.node.test.ts opens in Chromium (bundled at test time with esbuild): one
// sealed Y.Doc through SealdocProvider, a ProseMirror editor bound with y-prosemirror to its
// XmlFragment 'prosemirror' and a CodeMirror 6 editor bound with y-codemirror.next to its Text
// 'codemirror'. The test passes the relay's URL, the group's ops and this member's 24 words in
// `window.editorConfig` (an init script), and reads the page through `window.editors`.
import * as Y from 'yjs';
import { EditorState } from 'prosemirror-state';
import { EditorView } from 'prosemirror-view';
import { schema } from 'prosemirror-schema-basic';
import { keymap } from 'prosemirror-keymap';
import { redo, undo, yCursorPlugin, ySyncPlugin, yUndoPlugin, yUndoPluginKey } from 'y-prosemirror';
import { EditorState as CmState } from '@codemirror/state';
import { EditorView as CmView, keymap as cmKeymap } from '@codemirror/view';
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next';
import { identityFromMnemonic, Keyring, MembershipLog } from '@sealdoc/crypto';
import { Group, SealdocProvider } from '@sealdoc/core';

export interface EditorConfig {
  relayUrl: string;
  docName: string;
  /** The group's membership ops, base64. */
  ops: string[];
  mnemonic: string;
  name: string;
  color: string;
}

/** What the test reads and does through `window.editors`. */
export interface EditorHooks {
  ready: boolean;
  error?: string;
  clientID: number;
  /** What each editor shows. */
  pmText(): string;
  cmText(): string;
  /** The shared types' own contents (what the other page converges to). */
  yPmText(): string;
  yCmText(): string;
  canUndo(): { pm: boolean; cm: boolean };
  /** Where an editor's caret is, if it has the focus: at its text's start, its end, or elsewhere. */
  caret(editor: 'pm' | 'cm'): 'start' | 'end' | 'middle' | 'unfocused';
  /** The other clients' awareness states: client id and user name. */
  remote(): { clientID: number; name: string | undefined; cursor: boolean }[];
  /** When (Date.now()) each remote client's awareness state was removed here. */
  removedAt: Record<number, number>;
  status(): string;
}

declare global {
  interface Window {
    editorConfig: EditorConfig;
    editors: EditorHooks;
  }
}

const fromBase64 = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

async function main(config: EditorConfig): Promise<void> {
  const identity = identityFromMnemonic(config.mnemonic);
  const group = new Group({ signer: identity, log: await MembershipLog.fromOps(config.ops.map(fromBase64)), keyring: new Keyring() });
  await group.refresh();
  const ydoc = new Y.Doc();
  const provider = new SealdocProvider(config.relayUrl, config.docName, ydoc, { group });
  const awareness = provider.awareness;
  awareness.setLocalStateField('user', { name: config.name, color: config.color, colorLight: `${config.color}33` });
  const removedAt: Record<number, number> = {};
  awareness.on('change', ({ removed }: { removed: number[] }) => {
    for (const client of removed) removedAt[client] = Date.now();
  });
  // The editors bind to what the relay holds (an empty fragment would make each page write its own first paragraph).
  await provider.whenSynced;

  const fragment = ydoc.getXmlFragment('prosemirror');
  const pm = new EditorView(document.querySelector('#pm')!, {
    state: EditorState.create({
      schema,
      plugins: [ySyncPlugin(fragment), yCursorPlugin(awareness), yUndoPlugin(), keymap({ 'Mod-z': undo, 'Mod-y': redo, 'Mod-Shift-z': redo })],
    }),
  });

  const ytext = ydoc.getText('codemirror');
  const cmUndo = new Y.UndoManager(ytext);
  const cm = new CmView({
    parent: document.querySelector('#cm')!,
    state: CmState.create({ doc: ytext.toString(), extensions: [cmKeymap.of(yUndoManagerKeymap), yCollab(ytext, awareness, { undoManager: cmUndo })] }),
  });

  window.editors = {
    ready: true,
    clientID: ydoc.clientID,
    pmText: () => pm.state.doc.textContent,
    cmText: () => cm.state.doc.toString(),
    yPmText: () =>
      fragment
        .toArray()
        .map((node) => (node instanceof Y.XmlElement ? node.toArray().map((child) => (child instanceof Y.XmlText ? child.toString() : '')).join('') : ''))
        .join(''),
    yCmText: () => ytext.toString(),
    canUndo: () => ({ pm: (yUndoPluginKey.getState(pm.state)?.undoManager as Y.UndoManager | undefined)?.canUndo() ?? false, cm: cmUndo.canUndo() }),
    caret: (editor) => {
      if (editor === 'pm') {
        const { empty, head } = pm.state.selection;
        if (!pm.hasFocus() || !empty) return 'unfocused';
        return head === 1 ? 'start' : head === pm.state.doc.content.size - 1 ? 'end' : 'middle';
      }
      const { empty, head } = cm.state.selection.main;
      if (!cm.hasFocus || !empty) return 'unfocused';
      return head === 0 ? 'start' : head === cm.state.doc.length ? 'end' : 'middle';
    },
    remote: () =>
      [...awareness.getStates()]
        .filter(([client]) => client !== ydoc.clientID)
        .map(([clientID, state]) => ({ clientID, name: (state['user'] as { name?: string } | undefined)?.name, cursor: state['cursor'] != null })),
    removedAt,
    status: () => provider.status,
  };
}

window.editors = { ready: false } as EditorHooks;
main(window.editorConfig).catch((error: unknown) => {
  window.editors.error = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error);
});
