// A document's text as Markdown: headings, lists, check lists, bold, italic, code, links (the
// unsafe ones as plain text). Runs in Node and in Chromium.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { prosemirrorToYXmlFragment } from 'y-prosemirror';
import { richSchema as s } from '../src/rich-schema.js';
import { toMarkdown } from '../src/export-formats.js';

const p = (...content: Parameters<typeof s.text>[0][]) => s.node('paragraph', null, content.map((t) => s.text(t)));

describe('toMarkdown', () => {
  it('writes headings, lists, check lists, bold, italic, code and safe links', () => {
    const doc = s.node('doc', null, [
      s.node('heading', { level: 2 }, [s.text('Plans')]),
      s.node('paragraph', null, [s.text('bold', [s.mark('strong')]), s.text(' and '), s.text('italic', [s.mark('em')]), s.text(' and '), s.text('x = 1', [s.mark('code')])]),
      s.node('bullet_list', null, [s.node('list_item', null, [p('one')]), s.node('list_item', null, [p('two')])]),
      s.node('ordered_list', null, [s.node('list_item', null, [p('first')])]),
      s.node('check_list', null, [s.node('check_item', { checked: true }, [p('done')]), s.node('check_item', { checked: false }, [p('to do')])]),
      s.node('paragraph', null, [s.text('site', [s.mark('link', { href: 'https://example.com/a(b)' })]), s.text(' '), s.text('evil', [s.mark('link', { href: 'javascript:alert(1)' })])]),
    ]);
    const fragment = new Y.Doc().getXmlFragment('prosemirror');
    prosemirrorToYXmlFragment(doc, fragment);
    assert.equal(
      toMarkdown(fragment),
      ['## Plans', '', '**bold** and *italic* and `x = 1`', '', '* one', '', '* two', '', '1. first', '', '- [x] done', '', '- [ ] to do', '', '[site](https://example.com/a%28b%29) evil'].join('\n'),
    );
  });

  it('writes the blocks of sections as it writes them at the top level (a document from before sections)', () => {
    const blocks = () => [
      s.node('heading', { level: 1 }, [s.text('Notes')]),
      p('one'),
      s.node('bullet_list', null, [s.node('list_item', null, [p('a')]), s.node('list_item', null, [p('b')])]),
      p('two'),
      s.node('check_list', null, [s.node('check_item', { checked: false }, [p('c')])]),
    ];
    const markdown = (doc: ReturnType<typeof s.node>) => {
      const fragment = new Y.Doc().getXmlFragment('prosemirror');
      prosemirrorToYXmlFragment(doc, fragment);
      return toMarkdown(fragment);
    };
    const [h, one, list, two, check] = blocks();
    const sectioned = s.node('doc', null, [s.node('section', null, [h!, one!]), s.node('section', null, [list!]), s.node('section', null, [two!, check!])]);
    const flat = s.node('doc', null, blocks());
    assert.equal(markdown(sectioned), markdown(flat));
    assert.equal(markdown(sectioned), ['# Notes', '', 'one', '', '* a', '', '* b', '', 'two', '', '- [ ] c'].join('\n'));
  });

  it('an empty document is empty', () => {
    assert.equal(toMarkdown(new Y.Doc().getXmlFragment('prosemirror')), '');
  });
});
