/**
 * A document's text (the editor's Y.XmlFragment) as Markdown and as HTML, for export: read
 * through y-prosemirror into a ProseMirror document of {@link richSchema}, then written by
 * prosemirror-markdown (CommonMark, with GitHub's task lists for check lists) or by
 * ProseMirror's DOMSerializer (the schema's own `toDOM`, which keeps only safe link
 * addresses). Links that are not http(s) or mailto are written as plain text in both.
 * @module
 */
import type * as Y from 'yjs';
import { DOMSerializer, Fragment, type Node as PmNode } from 'prosemirror-model';
import { defaultMarkdownSerializer, MarkdownSerializer, type MarkdownSerializerState } from 'prosemirror-markdown';
import { yXmlFragmentToProseMirrorRootNode } from 'y-prosemirror';
import { richSchema, safeHref } from './rich-schema.js';
import { blocksOf } from './sections.js';

const nodes = defaultMarkdownSerializer.nodes;

const markdown = new MarkdownSerializer(
  {
    doc: (state, node) => state.renderContent(node),
    section: (state, node) => state.renderContent(node),
    paragraph: nodes['paragraph']!,
    heading: (state, node) => {
      state.write(`${'#'.repeat(Math.min(3, Math.max(1, Number(node.attrs['level']) || 1)))} `);
      state.renderInline(node);
      state.closeBlock(node);
    },
    bullet_list: nodes['bullet_list']!,
    ordered_list: nodes['ordered_list']!,
    list_item: nodes['list_item']!,
    check_list: (state, node) => state.renderList(node, '  ', () => '- '),
    check_item: (state, node) => {
      state.write(node.attrs['checked'] === true ? '[x] ' : '[ ] ');
      state.renderContent(node);
    },
    hard_break: nodes['hard_break']!,
    text: nodes['text']!,
  },
  {
    strong: defaultMarkdownSerializer.marks['strong']!,
    em: defaultMarkdownSerializer.marks['em']!,
    code: defaultMarkdownSerializer.marks['code']!,
    link: {
      open: (_state: MarkdownSerializerState, mark) => (safeHref(mark.attrs['href']) ? '[' : ''),
      close: (_state: MarkdownSerializerState, mark) => {
        const href = safeHref(mark.attrs['href']);
        return href ? `](${href.replace(/[()<>\s]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)})` : '';
      },
      mixable: true,
    },
  },
);

/** The ProseMirror document that `fragment` holds (what `<sealdoc-editor>` shows). */
export function fragmentToNode(fragment: Y.XmlFragment): PmNode {
  return yXmlFragmentToProseMirrorRootNode(fragment, richSchema);
}

/** `fragment` as Markdown (CommonMark; check lists as `- [ ]` / `- [x]` items). */
export function toMarkdown(fragment: Y.XmlFragment): string {
  return markdown.serialize(fragmentToNode(fragment));
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * `fragment` as a whole HTML page titled `title` (escaped), its body written by the schema's
 * DOMSerializer in `doc` (the page's document by default): its blocks, without the sections
 * that hold them in the editor.
 */
export function toHtml(fragment: Y.XmlFragment, title: string, doc: Document = document): string {
  const body = doc.createElement('div');
  body.append(DOMSerializer.fromSchema(richSchema).serializeFragment(Fragment.fromArray(blocksOf(fragmentToNode(fragment))), { document: doc }));
  const heading = title ? `<h1>${escapeHtml(title)}</h1>\n` : '';
  return `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>${escapeHtml(title || 'Untitled document')}</title>
<style>ul[data-type=check] { list-style: none; } ul[data-type=check] > li[data-checked=true]::before { content: "☑ "; } ul[data-type=check] > li[data-checked=false]::before { content: "☐ "; } ul[data-type=check] > li > p { display: inline; }</style>
</head>
<body>
${heading}${body.innerHTML}
</body>
</html>
`;
}
