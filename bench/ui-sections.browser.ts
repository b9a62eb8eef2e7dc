// Chromium entry of bench/ui-sections.ts: ?per=N groups the paragraphs in sections of N
// (a schema doc > section+ > paragraph+), ?css=… adds a style sheet, ?wrap=1 puts the view in a
// scrolling box like bench:ui's, ?chars=N keeps the first N characters.
import * as Y from 'yjs';
import { Schema } from 'prosemirror-model';
import { EditorState, TextSelection } from 'prosemirror-state';
import { EditorView } from 'prosemirror-view';
import { initProseMirrorDoc, prosemirrorToYXmlFragment, ySyncPlugin } from 'y-prosemirror';

const params = new URLSearchParams(location.search);
const per = Number(params.get('per')) || 0;
const sectioned = per > 0;
const schema = new Schema({
  nodes: {
    doc: { content: sectioned ? 'section+' : 'paragraph+' },
    section: { content: 'paragraph+', toDOM: () => ['section', 0], parseDOM: [{ tag: 'section' }] },
    paragraph: { content: 'text*', toDOM: () => ['p', 0], parseDOM: [{ tag: 'p' }] },
    text: {},
  },
});
async function setup() {
  const response = await fetch('/paper.txt.gz');
  const t = await new Response(response.body!.pipeThrough(new DecompressionStream('gzip'))).text();
  // ?chars=N: the first N characters only (the floor on a short document).
  const chars = Number(params.get('chars')) || 0;
  const lines = (chars ? `${t}\n${t}`.slice(0, chars) : `${t}\n${t}`).split('\n');
  const p = (l: string) => schema.nodes.paragraph!.create(null, l ? schema.text(l) : null);
  let top;
  if (sectioned) {
    top = [];
    for (let i = 0; i < lines.length; i += per) top.push(schema.nodes.section!.create(null, lines.slice(i, i + per).map(p)));
  } else top = lines.map(p);
  const ydoc = new Y.Doc();
  const fragment = ydoc.getXmlFragment('prosemirror');
  prosemirrorToYXmlFragment(schema.nodes.doc!.create(null, top), fragment);
  const { doc, mapping } = initProseMirrorDoc(fragment, schema);
  const style = document.createElement('style');
  style.textContent = `#e{width:600px;height:640px;overflow:auto;white-space:pre-wrap;font:16px/1.6 sans-serif;padding:.75em 1em} p{margin:0 0 .6em} ${params.get('css') ?? ''}`;
  document.head.append(style);
  const mount = document.createElement('div');
  mount.id = 'e';
  if (params.get('wrap')) {
    const box = document.createElement('div');
    box.style.cssText = 'display:inline-block;vertical-align:top;width:600px;height:640px;overflow:auto;contain:strict;margin:4px;background:#fff';
    mount.style.cssText = 'width:auto;height:auto;overflow:visible;contain:none';
    box.append(mount);
    document.body.append(box);
  } else document.body.append(mount);
  const view = new EditorView(mount, { state: EditorState.create({ schema, doc, plugins: [ySyncPlugin(fragment, { mapping })] }) });
  (window as any).bench = {
    ready: true,
    focus() {
      view.focus();
      view.dispatch(view.state.tr.setSelection(TextSelection.near(view.state.doc.resolve(Math.floor(view.state.doc.content.size / 2))))[params.get("noscroll") ? "setMeta" : "scrollIntoView"]("x", 1));
    },
    length: () => fragment.toString().length,
  };
  return { top: top.length };
}
(window as any).bench = { ready: false };
(globalThis as any).benchResult = setup();
