// Chromium entry of bench:ui: the same <sealdoc-editor> twice, side by side, on a ~210 KB
// document (the automerge-paper result twice, a paragraph per line): one on a SealedDoc as
// the demo opens it (encrypted IndexedDB store with its device key, sealed presence, online on
// an in-memory hub), one on a plain Y.Doc with a plain Awareness. bench/ui.ts types into each
// with the keyboard and reads the main thread's time from DevTools.
import * as Y from 'yjs';
import { Awareness } from 'y-protocols/awareness';
import { TextSelection } from 'prosemirror-state';
import { createGroup, generateMnemonic, Keyring, MembershipLog } from '@sealdoc/crypto';
import { DeviceKey, Group, IndexedDBStorage, saveIdentity, SealedDoc } from '@sealdoc/core';
import { MemoryHub } from '@sealdoc/core/testing';
import { convertPlainText, type SealdocEditor } from '@sealdoc/ui';
import '@sealdoc/ui';

export interface UiSetup {
  docChars: number;
  paragraphs: number;
}

/** What the driver calls through `window.bench`. */
export interface UiBench {
  ready: boolean;
  error?: string;
  /** Puts the caret of `side`'s editor in the middle of its document, with the focus. */
  focus(side: 'sealed' | 'plain'): void;
  /** The length of `side`'s text. */
  length(side: 'sealed' | 'plain'): number;
  /** Edits of the sealed side still waiting to be sealed or sent. */
  pending(): number;
}

declare global {
  interface Window {
    bench: UiBench;
  }
}

const DB = 'bench-ui';

async function loadText(): Promise<string> {
  const response = await fetch('/paper.txt.gz');
  const text = await new Response(response.body!.pipeThrough(new DecompressionStream('gzip'))).text();
  return `${text}\n${text}`;
}

function mount(id: string, props: Partial<SealdocEditor>): SealdocEditor {
  const box = document.createElement('div');
  box.style.cssText = 'display:inline-block;vertical-align:top;width:600px;height:640px;overflow:auto;contain:strict;margin:4px';
  const editor = document.createElement('sealdoc-editor');
  editor.id = id;
  Object.assign(editor, props);
  box.append(editor);
  document.body.append(box);
  return editor;
}

// ?css=…: a style sheet added to both editors (experiments: what a CSS rule costs or saves).
const params = new URLSearchParams(location.search);

async function setup(): Promise<UiSetup> {
  // ?chars=N: the first N characters only (how the cost grows with the document).
  const chars = Number(params.get('chars')) || 0;
  const text = chars ? (await loadText()).slice(0, chars) : await loadText();
  await IndexedDBStorage.deleteDatabase(DB);
  const storage = await IndexedDBStorage.open(DB, { persist: false });
  const key = await DeviceKey.inBrowser(storage);
  const identity = await saveIdentity(storage, key, generateMnemonic());
  const group = new Group({ signer: identity, log: await MembershipLog.fromOps([await createGroup(identity)]), keyring: new Keyring(), storage });
  await group.refresh();
  const hub = new MemoryHub();
  const transport = hub.transport('me');
  await transport.connect();
  const sealedDoc = new Y.Doc();
  const sealedAwareness = new Awareness(sealedDoc);
  const sealed = new SealedDoc(sealedDoc, { group, docId: new Uint8Array(16).fill(5), transport, storage, deviceKey: key, awareness: sealedAwareness });
  await sealed.whenSynced;
  sealedDoc.getText('load').insert(0, text);
  convertPlainText(sealedDoc.getText('load'), sealedDoc.getXmlFragment('prosemirror'));
  await sealed.flush();

  const plainDoc = new Y.Doc();
  const plainAwareness = new Awareness(plainDoc);
  plainDoc.getText('load').insert(0, text);
  const paragraphs = convertPlainText(plainDoc.getText('load'), plainDoc.getXmlFragment('prosemirror'));

  const user = { name: 'Bench', color: '#1d4ed8' };
  const editors = {
    sealed: mount('sealed', { doc: sealed, awareness: sealedAwareness, user }),
    plain: mount('plain', { doc: plainDoc, awareness: plainAwareness, user }),
  };
  await Promise.all([editors.sealed.updateComplete, editors.plain.updateComplete]);
  if (params.get('css')) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(params.get('css')!);
    for (const e of Object.values(editors)) e.shadowRoot!.adoptedStyleSheets = [...e.shadowRoot!.adoptedStyleSheets, sheet];
  }
  window.bench = {
    ready: true,
    focus(side) {
      const view = editors[side].view!;
      const middle = Math.floor(view.state.doc.content.size / 2);
      view.focus();
      view.dispatch(view.state.tr.setSelection(TextSelection.near(view.state.doc.resolve(middle))));
    },
    length: (side) => editors[side].text.length,
    pending: () => sealed.pending,
  };
  return { docChars: editors.plain.text.length, paragraphs };
}

window.bench = { ready: false } as UiBench;
(globalThis as unknown as { benchResult: Promise<UiSetup> }).benchResult = setup().catch((error: unknown) => {
  window.bench.error = String(error);
  throw error;
});
