// Sections (packages/ui/src/sections.ts) in <sealdoc-editor>, in Chromium, over sealed documents
// on the in-memory hub: a document's blocks sit in sections that are only ever made new, never
// rebalanced, so that no edit moves a block another member may be typing in. Each test checks
// the text a person sees and that the shared type's existing elements are the same objects
// (not deleted and written again): what another member typed in them at the same moment stays.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { TextSelection } from 'prosemirror-state';
import { SECTION_SIZE, toHtml, toMarkdown, type SealdocEditor } from '@sealdoc/ui';
import '@sealdoc/ui';
import { eventually, World, type Peer } from '../../core/test/helpers.js';
import { prng } from '../../../test/support/prng.js';
import { caretAt, plainText, posAt, press } from './editor-helpers.js';

const mount = (id: string, doc: Peer['sealed'], awareness?: Peer['awareness'], user?: SealdocEditor['user']): SealdocEditor => {
  document.getElementById(id)?.remove();
  const editor = document.createElement('sealdoc-editor');
  editor.id = id;
  Object.assign(editor, { doc, awareness, user });
  editor.style.width = '560px';
  document.body.append(editor);
  return editor;
};

/** Writes `sections` (each a list of paragraph texts) into `doc`'s fragment as another editor would. */
function fill(doc: Y.Doc, sections: string[][], flat = false): void {
  const paragraph = (text: string) => {
    const p = new Y.XmlElement('paragraph');
    if (text) p.insert(0, [new Y.XmlText(text)]);
    return p;
  };
  const fragment = doc.getXmlFragment('prosemirror');
  doc.transact(() => {
    if (flat) return fragment.insert(0, sections.flat().map(paragraph));
    fragment.insert(
      0,
      sections.map((lines) => {
        const section = new Y.XmlElement('section');
        section.insert(0, lines.map(paragraph));
        return section;
      }),
    );
  });
}

/** Paragraph texts `prefix0` … for `count` paragraphs. */
const lines = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i}`);
const top = (doc: Y.Doc) => doc.getXmlFragment('prosemirror').toArray() as Y.XmlElement[];
const alive = (type: Y.XmlElement) => !type._item?.deleted;
/** Character index in the editor's plain text of the start of the paragraph whose text is `text`. */
function indexOf(e: SealdocEditor, text: string): number {
  const shown = e.text.split('\n');
  const i = shown.indexOf(text);
  assert.ok(i >= 0, `no paragraph "${text}"`);
  return shown.slice(0, i).reduce((n, line) => n + line.length + 1, 0);
}

/** Waits until Alice's editor and Bob's copy both show `expected`, then says so or what they show. */
async function converge(a: SealdocEditor, bob: Peer, expected: string): Promise<void> {
  await eventually(() => a.text === expected && plainText(bob.doc) === expected, 3000).catch(() => undefined);
  assert.equal(a.text, expected);
  assert.equal(plainText(bob.doc), expected);
}

async function pair(content: string[][], flat = false) {
  const world = await World.create(['alice', 'bob'], { awareness: true });
  const [alice, bob] = [world.peer('alice'), world.peer('bob')] as [Peer, Peer];
  fill(alice.doc, content, flat);
  await world.settle();
  const a = mount('sections-a', alice.sealed, alice.awareness, { name: 'Alice', color: '#c2410c' });
  await a.updateComplete;
  await eventually(() => a.text.split('\n').length === content.flat().length && plainText(bob.doc) === plainText(alice.doc));
  return { world, alice, bob, a };
}

/**
 * Bob's paragraph `paragraph` of section `section`, straight in the shared type: `type(text)`
 * adds text at its end. Taken before Alice's edit and typed in after it, before either hears
 * of the other: were Alice's edit to move the paragraph, Bob's typing would go with the old copy.
 */
function bobsParagraph(bob: Peer, section: number, paragraph: number): { type(text: string): void } {
  const p = (top(bob.doc)[section]!.get(paragraph) as Y.XmlElement).get(0) as Y.XmlText;
  return { type: (text) => p.insert(p.length, text) };
}

describe('<sealdoc-editor> sections', () => {
  it(`Enter at the end of a full section (${SECTION_SIZE} blocks) opens a new section; the full one is untouched`, async () => {
    const { world, alice, bob, a } = await pair([lines('p', SECTION_SIZE)]);
    const [first] = top(alice.doc);
    caretAt(a, a.text.length);
    await press('Enter');
    await press('n');
    await press('e');
    await press('w');
    await world.settle();
    await eventually(() => top(bob.doc).length === 2 && plainText(bob.doc).endsWith('\nnew'));
    assert.equal(top(alice.doc)[0], first, 'the full section is the same element');
    assert.equal(first!.length, SECTION_SIZE);
    assert.equal(top(alice.doc)[1]!.nodeName, 'section');
    assert.equal(top(alice.doc)[1]!.length, 1);
    // Below the size, Enter at the end splits as usual, in the section.
    await press('Enter');
    await press('x');
    await world.settle();
    await eventually(() => plainText(bob.doc).endsWith('\nnew\nx'));
    assert.equal(top(alice.doc).length, 2);
    assert.equal(top(alice.doc)[1]!.length, 2);
    a.remove();
  });

  it("Backspace at the start of a section joins its first paragraph to the one before, as joining two paragraphs does; the section's other paragraphs are not moved and Bob's typing in them at the same moment stays", async () => {
    const { world, alice, bob, a } = await pair([lines('a', 3), lines('b', 3)]);
    const [, second] = top(alice.doc);
    const kept = second!.get(1) as Y.XmlElement;
    const bobs = bobsParagraph(bob, 1, 2);
    caretAt(a, indexOf(a, 'b0'));
    await press('Backspace');
    bobs.type('+bob');
    await world.settle();
    await converge(a, bob, ['a0', 'a1', 'a2b0', 'b1', 'b2+bob'].join('\n'));
    assert.ok(alive(second!) && alive(kept), 'the section and its other paragraphs are the same elements');
    assert.equal(top(alice.doc).length, 2);
    // The caret is where the two texts met; typing goes there.
    await press('X');
    await eventually(() => a.text.includes('a2Xb0'));
    // The last paragraph of a section moved alone: its section goes with it.
    const world2 = await pair([lines('c', 2), ['d0']]);
    caretAt(world2.a, indexOf(world2.a, 'd0'));
    await press('Backspace');
    await eventually(() => world2.a.text === 'c0\nc1d0');
    assert.equal(top(world2.alice.doc).length, 1);
    // At the start of the document: nothing to join, nothing changes.
    caretAt(world2.a, 0);
    await press('Backspace');
    assert.equal(world2.a.text, 'c0\nc1d0');
    a.remove();
    world2.a.remove();
  });

  it('Delete at the end of a section brings the next section\'s first paragraph\'s text, and nothing else moves', async () => {
    const { world, alice, bob, a } = await pair([lines('a', 2), lines('b', 2)]);
    const [, second] = top(alice.doc);
    const kept = second!.get(1) as Y.XmlElement;
    const bobs = bobsParagraph(bob, 1, 1);
    caretAt(a, indexOf(a, 'a1') + 2);
    await press('Delete');
    bobs.type('+bob');
    await world.settle();
    await converge(a, bob, ['a0', 'a1b0', 'b1+bob'].join('\n'));
    assert.ok(alive(second!) && alive(kept));
    a.remove();
  });

  it("a selection across sections deleted with Backspace leaves what is outside it where it was: the later section's other paragraphs are the same elements and Bob's typing in them at the same moment stays", async () => {
    const { world, alice, bob, a } = await pair([lines('a', 3), lines('b', 3), lines('c', 3), lines('d', 3)]);
    const [first, , , fourth] = top(alice.doc);
    const keptB = fourth!.get(1) as Y.XmlElement;
    const bobs = bobsParagraph(bob, 3, 1);
    const view = a.view!;
    // From the middle of a1 to the middle of d0: sections b and c entirely.
    view.focus();
    view.dispatch(view.state.tr.setSelection(TextSelection.create(view.state.doc, posAt(view.state.doc, indexOf(a, 'a1') + 1), posAt(view.state.doc, indexOf(a, 'd0') + 1))));
    await press('Backspace');
    bobs.type('+bob');
    await world.settle();
    // a1's head "a" joined with d0's tail "0".
    await converge(a, bob, ['a0', 'a0', 'd1+bob', 'd2'].join('\n'));
    assert.ok(alive(first!) && alive(fourth!) && alive(keptB), 'the sections at the ends and what they keep are the same elements');
    assert.deepEqual(top(alice.doc).map((s) => s.nodeName), ['section', 'section']);
    // The caret is where the selection began.
    await press('Z');
    await eventually(() => a.text.startsWith('a0\naZ0'));
    a.remove();
  });

  it('typing over a selection across sections replaces it in the first; the later section keeps its elements', async () => {
    const { world, alice, bob, a } = await pair([lines('a', 2), lines('b', 2)]);
    const [, second] = top(alice.doc);
    const kept = second!.get(1) as Y.XmlElement;
    const view = a.view!;
    view.focus();
    view.dispatch(view.state.tr.setSelection(TextSelection.create(view.state.doc, posAt(view.state.doc, indexOf(a, 'a1') + 1), posAt(view.state.doc, indexOf(a, 'b0') + 1))));
    await press('Q');
    await world.settle();
    await converge(a, bob, ['a0', 'aQ0', 'b1'].join('\n'));
    assert.ok(alive(second!) && alive(kept));
    a.remove();
  });

  it('everything selected and typed over, or deleted, leaves one section holding what was typed', async () => {
    const { world, alice, bob, a } = await pair([lines('a', 2), lines('b', 2)]);
    a.view!.focus();
    await press('Control+a');
    await press('T');
    await converge(a, bob, 'T');
    assert.deepEqual(top(alice.doc).map((s) => s.nodeName), ['section']);
    await press('Control+a');
    await press('Backspace');
    await world.settle();
    await converge(a, bob, '');
    assert.deepEqual(top(alice.doc).map((s) => s.nodeName), ['section']);
    await press('U');
    await converge(a, bob, 'U');
    assert.deepEqual(top(alice.doc).map((s) => s.nodeName), ['section']);
    a.remove();
  });

  it(`a long paste at the end of a section lands in new sections of ${SECTION_SIZE}; pasted in the middle of one it stays in it and nothing moves`, async () => {
    const { world, alice, bob, a } = await pair([lines('a', 3)]);
    const [first] = top(alice.doc);
    caretAt(a, a.text.length);
    const pasted = lines('x', 120).join('\n');
    assert.ok(a.view!.pasteText(pasted));
    await world.settle();
    await converge(a, bob, ['a0', 'a1', `a2${pasted}`].join('\n'));
    assert.equal(top(alice.doc)[0], first);
    const sizes = top(alice.doc).map((s) => s.length);
    assert.deepEqual(sizes, [3 + SECTION_SIZE - 1, SECTION_SIZE, 120 - 2 * SECTION_SIZE]);
    // In the middle of a section: the section grows, no element is replaced.
    const middle = top(alice.doc)[1]!;
    const after = middle.get(10) as Y.XmlElement;
    caretAt(a, indexOf(a, 'x55') + 3);
    assert.ok(a.view!.pasteText(lines('m', SECTION_SIZE + 5).join('\n')));
    await world.settle();
    await eventually(() => plainText(bob.doc) === a.text);
    assert.ok(alive(middle) && alive(after));
    assert.equal(middle.length, SECTION_SIZE + SECTION_SIZE + 4);
    a.remove();
  });

  it('a document from before sections (blocks at the top level) opens, is edited, and Enter at the end of a block starts a section there', async () => {
    const { world, alice, bob, a } = await pair([lines('f', 4)], true);
    const blocks = top(alice.doc);
    assert.deepEqual(blocks.map((b) => b.nodeName), ['paragraph', 'paragraph', 'paragraph', 'paragraph']);
    caretAt(a, indexOf(a, 'f1') + 2);
    await press('Enter');
    await press('n');
    caretAt(a, indexOf(a, 'f3') + 1);
    await press('y');
    await world.settle();
    await converge(a, bob, ['f0', 'f1', 'n', 'f2', 'fy3'].join('\n'));
    assert.deepEqual(top(alice.doc).map((b) => b.nodeName), ['paragraph', 'paragraph', 'section', 'paragraph', 'paragraph']);
    assert.ok(blocks.every((b) => alive(b)));
    // Backspace at the start of the top-level block after the section joins it to the section's end.
    caretAt(a, indexOf(a, 'f2'));
    await press('Backspace');
    await eventually(() => a.text === ['f0', 'f1', 'nf2', 'fy3'].join('\n'));
    assert.equal(toMarkdown(alice.doc.getXmlFragment('prosemirror')), 'f0\n\nf1\n\nnf2\n\nfy3');
    // Exported as HTML: the blocks, never the sections that hold some of them.
    const page = toHtml(alice.doc.getXmlFragment('prosemirror'), 'Notes');
    assert.ok(!page.includes('<section'));
    assert.match(page, /<p>f0<\/p><p>f1<\/p><p>nf2<\/p><p>fy3<\/p>/);
    a.remove();
  });

  it("a remote caret's name on a section's first line is not clipped by the section", async () => {
    const { world, bob, a } = await pair([lines('a', 2), lines('b', 2)]);
    const b = mount('sections-b', bob.sealed, bob.awareness, { name: 'Bob', color: '#2457c5' });
    await b.updateComplete;
    caretAt(b, indexOf(b, 'b0') + 1);
    await world.settle();
    await eventually(() => a.shadowRoot!.querySelector('.caret-name') !== null, 3000);
    const name = a.shadowRoot!.querySelector<HTMLElement>('.caret-name')!;
    assert.equal(name.closest('section'), a.view!.dom.children[1], "the caret is in the second section");
    // Hit testing follows the clip as painting does; the name is not a target by itself (pointer-events: none).
    name.style.pointerEvents = 'auto';
    const box = name.getBoundingClientRect();
    const hit = a.shadowRoot!.elementFromPoint(box.left + box.width / 2, box.top + 2);
    assert.equal(hit, name, 'the top of the name is drawn');
    a.remove();
    b.remove();
  });

  it('a section emptied by two members at once (each deleting one of its two paragraphs) is taken away, and the document stays one to type in', async () => {
    const { world, alice, bob, a } = await pair([lines('a', 2), lines('b', 2), lines('c', 1)]);
    const view = a.view!;
    // Alice deletes b0 whole (from the end of a1 to the end of b0 would join: select b0's line and its break instead).
    const start = posAt(view.state.doc, indexOf(a, 'b0'));
    view.focus();
    view.dispatch(view.state.tr.delete(start - 1, start + 3));
    // Bob deletes b1 at the same moment.
    (top(bob.doc)[1]!).delete(1, 1);
    await world.settle();
    await converge(a, bob, ['a0', 'a1', 'c0'].join('\n'));
    await eventually(() => top(alice.doc).length === 2 && top(bob.doc).length === 2, 3000);
    assert.ok(top(alice.doc).every((s) => s.length > 0));
    view.state.doc.check();
    // Both paragraphs of the only section deleted at once: one empty section is left to type in.
    await press('Control+a');
    await press('Backspace');
    await world.settle();
    await converge(a, bob, '');
    caretAt(a, 0);
    await press('W');
    await world.settle();
    await converge(a, bob, 'W');
    a.remove();
  });

  for (const seed of [1, 2, 3]) {
    it(`two members editing at random at once (typing, Enter, Backspace, Delete, selections across sections, long pastes) converge on a valid document: seed ${seed}`, async () => {
      const random = prng(seed);
      const { world, alice, bob, a } = await pair([lines('a', 4), lines('b', 4), lines('c', 4)]);
      const b = mount('sections-b', bob.sealed, bob.awareness, { name: 'Bob', color: '#2457c5' });
      await b.updateComplete;
      const int = (n: number) => Math.floor(random() * n);
      for (let step = 0; step < 60; step++) {
        const editor = random() < 0.5 ? a : b;
        const length = editor.text.length;
        const view = editor.view!;
        const r = random();
        if (r < 0.25) {
          // A selection from one place to another, anywhere (often across sections), then a key.
          const [x, y] = [int(length + 1), int(length + 1)].sort((m, n) => m - n) as [number, number];
          view.focus();
          view.dispatch(view.state.tr.setSelection(TextSelection.create(view.state.doc, posAt(view.state.doc, x), posAt(view.state.doc, y))));
          await press(['Backspace', 'Delete', 'k'][int(3)]!);
        } else if (r < 0.3) {
          caretAt(editor, int(length + 1));
          view.pasteText(lines(`p${step}.`, 1 + int(SECTION_SIZE + 20)).join('\n'));
        } else {
          caretAt(editor, int(length + 1));
          await press(['Enter', 'Backspace', 'Delete', 'x', 'y'][int(5)]!);
        }
        if (random() < 0.3) await world.settle(1);
      }
      await world.settle();
      await eventually(() => a.text === b.text && plainText(alice.doc) === plainText(bob.doc), 3000).catch(() => undefined);
      assert.equal(a.text, b.text, `seed ${seed}`);
      assert.equal(plainText(alice.doc), plainText(bob.doc));
      assert.equal(plainText(alice.doc), a.text);
      for (const e of [a, b]) e.view!.state.doc.check();
      for (const s of top(alice.doc)) if (s.nodeName === 'section') assert.ok(s.length > 0, 'no empty section');
      a.remove();
      b.remove();
    });
  }
});
