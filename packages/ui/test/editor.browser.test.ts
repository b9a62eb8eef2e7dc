// <sealdoc-editor> as a rich-text editor, in Chromium, over sealed documents on the in-memory
// hub: formatting from the toolbar and the keyboard reaches another member; links are http(s)
// or mailto only; undo takes back one's own typing and never another member's; a document from
// before is converted once by a writer; the placeholder is no text; the toolbar works with the
// keyboard; the editor fits a phone.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { executeServerCommand, sendKeys, setViewport } from '@web/test-runner-commands';
import * as Y from 'yjs';
import { TextSelection } from 'prosemirror-state';
import { personColor, CARET_PALETTE, safeHref, type SealdocEditor } from '@sealdoc/ui';
import '@sealdoc/ui';
import { eventually, World, type Peer } from '../../core/test/helpers.js';
import { caretAt, inputText, plainText, press, typeKeys } from './editor-helpers.js';

const mount = (id: string, props: Partial<SealdocEditor>, width = '560px'): SealdocEditor => {
  document.getElementById(id)?.remove();
  const editor = document.createElement('sealdoc-editor');
  editor.id = id;
  Object.assign(editor, props);
  editor.style.width = width;
  editor.style.fontFamily = 'system-ui, sans-serif';
  document.body.append(editor);
  return editor;
};
const shadow = (el: Element) => el.shadowRoot!;
const tool = (e: SealdocEditor, id: string) => shadow(e).querySelector<HTMLButtonElement>(`[role=toolbar] button[data-tool=${id}]`)!;
const dom = (e: SealdocEditor) => e.view!.dom;

async function pair(options: { roles?: Record<string, 'admin' | 'writer' | 'reader'> } = {}) {
  const world = await World.create(['alice', 'bob'], { awareness: true, ...options });
  const [alice, bob] = [world.peer('alice'), world.peer('bob')] as [Peer, Peer];
  return { world, alice, bob };
}

describe('<sealdoc-editor> rich text', () => {
  it('headings, lists, checklists, bold, italic, code and links from the toolbar and the keyboard reach the other member as the same structure', async () => {
    const { world, alice, bob } = await pair();
    const a = mount('rich-a', { doc: alice.sealed, awareness: alice.awareness!, user: { name: 'Alice', color: '#c2410c' } });
    const b = mount('rich-b', { doc: bob.sealed, awareness: bob.awareness!, user: { name: 'Bob', color: '#2457c5' } });
    await Promise.all([a.updateComplete, b.updateComplete]);

    // A heading from the toolbar, then a paragraph with bold, italic and code from the shortcuts.
    caretAt(a, 0);
    tool(a, 'h1').click();
    await typeKeys(a, 0, 'Plans');
    await press('End');
    await press('Enter');
    await sendKeys({ type: 'We ' });
    await press('Control+b');
    await sendKeys({ type: 'must' });
    await press('Control+b');
    await sendKeys({ type: ' ship ' });
    await press('Control+i');
    await sendKeys({ type: 'soon' });
    await press('Control+i');
    await sendKeys({ type: ' with ' });
    await press('Control+e');
    await sendKeys({ type: 'npm test' });
    await press('Control+e');
    // Lists by their Markdown-like starts and by the toolbar.
    await press('Enter');
    await sendKeys({ type: '- milk' });
    await press('Enter');
    await sendKeys({ type: 'eggs' });
    await press('Enter');
    await press('Enter'); // out of the list
    await sendKeys({ type: '1. first' });
    await press('Enter');
    await press('Enter');
    await sendKeys({ type: 'call Bob' });
    tool(a, 'check').click();
    await a.updateComplete;
    assert.equal(tool(a, 'check').getAttribute('aria-pressed'), 'true');
    // A link on a selected word, through the link form (Mod-K).
    await press('Enter');
    await sendKeys({ type: 'see site' });
    const view = a.view!;
    const end = view.state.selection.from;
    view.dispatch(view.state.tr.setSelection(TextSelection.create(view.state.doc, end - 4, end)));
    await press('Control+k');
    await a.updateComplete;
    const input = shadow(a).querySelector<HTMLInputElement>('.link-form input')!;
    assert.equal(shadow(a).activeElement, input, 'the link form takes the focus');
    input.value = 'example.com/notes';
    await press('Enter');
    await a.updateComplete;

    await world.settle();
    await eventually(() => b.text === a.text && dom(b).querySelectorAll('a').length === 1, 5000);
    assert.equal(a.text, 'Plans\nWe must ship soon with npm test\nmilk\neggs\nfirst\ncall Bob\nsee site');
    for (const editor of [a, b]) {
      const d = dom(editor);
      assert.equal(d.querySelector('h1')?.textContent, 'Plans');
      assert.equal(d.querySelector('strong')?.textContent, 'must');
      assert.equal(d.querySelector('em')?.textContent, 'soon');
      assert.equal(d.querySelector('p code')?.textContent, 'npm test');
      assert.deepEqual([...d.querySelectorAll('ul:not(.checklist) > li')].map((li) => li.textContent), ['milk', 'eggs']);
      assert.deepEqual([...d.querySelectorAll('ol > li')].map((li) => li.textContent), ['first']);
      assert.equal(d.querySelectorAll('ul.checklist > li input[type=checkbox]').length, 2);
      const link = d.querySelector('a')!;
      assert.equal(link.getAttribute('href'), 'https://example.com/notes');
      assert.equal(link.textContent, 'site');
      assert.equal(link.getAttribute('rel'), 'noopener noreferrer nofollow');
    }
    // Ticking a checklist item is an edit the other member sees.
    dom(b).querySelector<HTMLInputElement>('ul.checklist input')!.click();
    await world.settle();
    await eventually(() => dom(a).querySelector('ul.checklist > li')?.getAttribute('data-checked') === 'true');
    assert.match(bob.doc.getXmlFragment('prosemirror').toString(), /<check_item checked="true">/);
    await executeServerCommand('screenshot', { selector: '#rich-a', name: 'editor-rich' });
    a.remove();
    b.remove();
  });

  it('links: only http(s) and mailto; a javascript: link is refused in the form and never rendered from another member', async () => {
    assert.equal(safeHref('https://a.example/x'), 'https://a.example/x');
    assert.equal(safeHref('mailto:bob@example.com'), 'mailto:bob@example.com');
    assert.equal(safeHref('example.com'), 'https://example.com/');
    for (const bad of ['javascript:alert(1)', ' JavaScript:alert(1)', 'data:text/html,<b>x</b>', 'vbscript:x', 'file:///etc/passwd', '/relative', '#top', '']) assert.equal(safeHref(bad), undefined, bad);

    const { world, alice, bob } = await pair();
    const a = mount('link-a', { doc: alice.sealed, awareness: alice.awareness! });
    const b = mount('link-b', { doc: bob.sealed, awareness: bob.awareness! });
    await Promise.all([a.updateComplete, b.updateComplete]);
    inputText(a, 0, 'click me');
    const view = a.view!;
    view.dispatch(view.state.tr.setSelection(TextSelection.create(view.state.doc, 1, 9)));
    tool(a, 'link').click();
    await a.updateComplete;
    const input = shadow(a).querySelector<HTMLInputElement>('.link-form input')!;
    input.value = 'javascript:alert(1)';
    shadow(a).querySelector<HTMLFormElement>('.link-form')!.requestSubmit();
    await a.updateComplete;
    assert.match(shadow(a).querySelector('.link-form [role=alert]')!.textContent!, /Only web addresses/);
    assert.equal(dom(a).querySelectorAll('a').length, 0);
    await press('Escape');
    await a.updateComplete;
    assert.equal(shadow(a).querySelector('.link-form'), null);

    // Another member's editor writes a javascript: link straight into the shared type.
    const fragment = alice.doc.getXmlFragment('prosemirror');
    const paragraph = new Y.XmlElement('paragraph');
    paragraph.insert(0, [new Y.XmlText()]);
    fragment.insert(fragment.length, [paragraph]);
    (paragraph.get(0) as Y.XmlText).insert(0, 'evil', { link: { href: 'javascript:alert(document.cookie)' } });
    await world.settle();
    await eventually(() => b.text.includes('evil'));
    assert.equal(dom(b).querySelectorAll('a').length, 0, 'no anchor for an unsafe address');
    assert.ok(!dom(b).innerHTML.includes('javascript:'));
    assert.equal(dom(b).querySelector('.unsafe-link')?.textContent, 'evil');
    a.remove();
    b.remove();
  });

  it("undo takes back this member's own typing, never the other member's; redo brings it back", async () => {
    const { world, alice, bob } = await pair();
    const a = mount('undo-a', { doc: alice.sealed, awareness: alice.awareness! });
    const b = mount('undo-b', { doc: bob.sealed, awareness: bob.awareness! });
    await Promise.all([a.updateComplete, b.updateComplete]);
    await typeKeys(a, 0, 'Alice first.');
    await world.settle();
    await eventually(() => b.text === 'Alice first.');
    await typeKeys(b, 12, ' Bob second.');
    await world.settle();
    await eventually(() => a.text === 'Alice first. Bob second.');
    // Alice undoes (Ctrl+Z) until she has nothing left to undo (typing with a pause of more than
    // half a second is two steps): her typing goes, Bob's stays at every step, on both sides.
    a.view!.focus();
    while (tool(a, 'undo').getAttribute('aria-disabled') === 'false') {
      await press('Control+z');
      await a.updateComplete;
      assert.ok(a.text.endsWith(' Bob second.'), `Bob's typing stays (${a.text})`);
    }
    await world.settle();
    await eventually(() => a.text === ' Bob second.' && b.text === ' Bob second.');
    assert.equal(plainText(bob.doc), ' Bob second.');
    // Nothing of Bob's is on Alice's undo stack: one more undo changes nothing.
    await press('Control+z');
    await world.settle();
    assert.equal(a.text, ' Bob second.');
    // Redo (Ctrl+Shift+Z) brings Alice's back.
    while (tool(a, 'redo').getAttribute('aria-disabled') === 'false') {
      await press('Control+Shift+z');
      await a.updateComplete;
    }
    await world.settle();
    await eventually(() => b.text === 'Alice first. Bob second.');
    // Bob's own undo from the toolbar takes his, never Alice's.
    while (tool(b, 'undo').getAttribute('aria-disabled') === 'false') {
      tool(b, 'undo').click();
      await b.updateComplete;
      assert.ok(b.text.startsWith('Alice first.'), `Alice's typing stays (${b.text})`);
    }
    await world.settle();
    await eventually(() => a.text === 'Alice first.' && b.text === 'Alice first.');
    a.remove();
    b.remove();
  });

  it('a document from before (a Y.Text) is converted once, a paragraph per line, by a writer; a reader sees its text meanwhile; nothing is duplicated when it is opened again', async () => {
    const world = await World.create(['alice', 'bob', 'carol'], { roles: { bob: 'reader', carol: 'writer' } });
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((n) => world.peer(n)) as [Peer, Peer, Peer];
    const notes = 'Groceries\napples, pears\n\nCall the bank';
    alice.doc.getText('text').insert(0, notes);
    await world.settle();
    // Bob (a reader) opens it first: shown as it is, not converted.
    const b = mount('legacy-b', { doc: bob.sealed });
    await b.updateComplete;
    assert.equal(b.text, notes);
    assert.equal(shadow(b).querySelector('.legacy')!.textContent, notes);
    assert.equal(bob.doc.getXmlFragment('prosemirror').length, 0);
    // Carol (a writer) opens it: converted, in one edit everybody receives.
    const c = mount('legacy-c', { doc: carol.sealed });
    await c.updateComplete;
    // One section of four paragraphs (sections.ts).
    const converted = () => carol.doc.getXmlFragment('prosemirror').get(0) as Y.XmlElement | undefined;
    await eventually(() => converted()?.length === 4);
    assert.equal(carol.doc.getXmlFragment('prosemirror').length, 1);
    assert.equal(converted()!.nodeName, 'section');
    assert.equal(carol.doc.getText('text').length, 0, 'the old text moved');
    assert.equal(c.text, notes);
    assert.equal(dom(c).querySelectorAll('p').length, 4);
    await world.settle();
    await eventually(() => b.text === notes && shadow(b).querySelector('.legacy') === null && dom(b).querySelectorAll('p').length === 4);
    // Opened again, by Carol and by Alice: nothing more to convert.
    c.remove();
    const again = mount('legacy-c2', { doc: carol.sealed });
    const a = mount('legacy-a', { doc: alice.sealed });
    await Promise.all([again.updateComplete, a.updateComplete]);
    await world.settle();
    await eventually(() => a.text === notes);
    assert.equal(plainText(alice.doc), notes);
    assert.equal(alice.doc.getXmlFragment('prosemirror').length, 1);
    assert.equal((alice.doc.getXmlFragment('prosemirror').get(0) as Y.XmlElement).length, 4);
    // Undo does not take the conversion back.
    again.view!.focus();
    await press('Control+z');
    assert.equal(again.text, notes);
    for (const e of [b, again, a]) e.remove();
  });

  it('the placeholder is shown by CSS, never written into the document', async () => {
    const { world, alice, bob } = await pair();
    const a = mount('placeholder-a', { doc: alice.sealed, placeholder: 'Untitled document' });
    await a.updateComplete;
    const empty = dom(a).querySelector('.placeholder')!;
    assert.equal(empty.getAttribute('data-placeholder'), 'Untitled document');
    assert.equal(getComputedStyle(empty, '::before').content, '"Untitled document"');
    assert.equal(dom(a).getAttribute('aria-placeholder'), 'Untitled document');
    assert.equal(a.text, '');
    a.view!.focus();
    await world.settle();
    assert.equal(alice.doc.getXmlFragment('prosemirror').length, 0, 'nothing written for the placeholder');
    assert.ok(!alice.doc.getXmlFragment('prosemirror').toString().includes('Untitled'));
    await typeKeys(a, 0, 'Hi');
    assert.equal(dom(a).querySelector('.placeholder'), null);
    await world.settle();
    await eventually(() => plainText(bob.doc) === 'Hi');
    a.remove();
  });

  it('the toolbar is an ARIA toolbar used with the keyboard: Alt+F10 reaches it, arrows move, Enter acts, Escape goes back to the text', async () => {
    const { alice } = await pair();
    const a = mount('keys-a', { doc: alice.sealed, label: 'Meeting notes' });
    await a.updateComplete;
    const bar = shadow(a).querySelector('[role=toolbar]')!;
    assert.equal(bar.getAttribute('aria-label'), 'Formatting');
    assert.equal(dom(a).getAttribute('aria-label'), 'Meeting notes');
    assert.equal(dom(a).getAttribute('role'), 'textbox');
    const buttons = [...bar.querySelectorAll('button')];
    assert.ok(buttons.every((button) => button.getAttribute('aria-label')), 'every button is labelled');
    assert.deepEqual(buttons.map((button) => button.tabIndex).filter((t) => t === 0).length, 1, 'one tab stop');
    assert.equal(tool(a, 'strong').getAttribute('aria-keyshortcuts'), 'Control+B');
    await typeKeys(a, 0, 'word');
    await press('Alt+F10');
    assert.equal(shadow(a).activeElement, tool(a, 'strong'));
    await press('ArrowRight');
    await a.updateComplete;
    assert.equal(shadow(a).activeElement, tool(a, 'em'));
    await press('End');
    await a.updateComplete;
    assert.equal(shadow(a).activeElement, tool(a, 'redo'));
    await press('Home');
    await a.updateComplete;
    await press('ArrowRight');
    await a.updateComplete;
    await press('Enter'); // italic on (for what is typed next)
    await a.updateComplete;
    assert.equal(tool(a, 'em').getAttribute('aria-pressed'), 'true');
    await press('Escape');
    assert.equal(shadow(a).activeElement, dom(a), 'back in the text');
    a.remove();
  });

  it('fits a phone (375 px): no sideways scrolling of the page, the toolbar one row that scrolls, buttons large enough to touch', async () => {
    for (const other of document.querySelectorAll('sealdoc-editor')) other.remove();
    await setViewport({ width: 375, height: 700 });
    try {
      const { alice } = await pair();
      const a = mount('phone-a', { doc: alice.sealed }, '100%');
      document.body.style.margin = '0';
      await a.updateComplete;
      inputText(a, 0, `A long line with a web address https://example.com/${'x'.repeat(120)} in it, and words.`);
      await a.updateComplete;
      assert.ok(document.documentElement.scrollWidth <= 375, `page width ${document.documentElement.scrollWidth}`);
      assert.ok(dom(a).scrollWidth <= dom(a).clientWidth + 1, 'the text wraps');
      const bar = shadow(a).querySelector<HTMLElement>('[role=toolbar]')!;
      assert.ok(bar.getBoundingClientRect().right <= 375 && bar.getBoundingClientRect().height < 60, 'one row within the screen');
      for (const button of bar.querySelectorAll<HTMLElement>('button')) {
        const { width, height } = button.getBoundingClientRect();
        assert.ok(width >= 44 && height >= 44, `a button of ${width}×${height}`);
      }
      await executeServerCommand('screenshot', { selector: '#phone-a', name: 'editor-phone' });
      // The last button is reached by scrolling the toolbar (as the keyboard's focus does).
      tool(a, 'redo').focus();
      assert.ok(tool(a, 'redo').getBoundingClientRect().right <= 375 + 1, 'scrolled into view');
      a.remove();
    } finally {
      document.body.style.margin = '';
      await setViewport({ width: 800, height: 600 });
    }
  });

  it('persons get distinct caret colours from the palette, the same for every viewer', async () => {
    const persons = Array.from({ length: 12 }, (_, i) => (i * 7919 + 17).toString(16).padStart(64, '0'));
    const colours = persons.map((p) => personColor(p, persons));
    assert.equal(new Set(colours).size, 12, 'twelve persons, twelve colours');
    assert.deepEqual(persons.map((p) => personColor(p, [...persons].reverse())), colours, 'in any order');
    assert.ok(colours.every((c) => CARET_PALETTE.includes(c)));
  });
});
