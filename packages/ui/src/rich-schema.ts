/**
 * The ProseMirror schema of `<sealdoc-editor>`: paragraphs, headings (levels 1 to 3), bullet,
 * numbered and check lists, hard breaks; bold, italic, inline code and links. The blocks sit
 * in sections, a few dozen each (sections.ts: what keeps typing fast in a long document);
 * documents from before sections hold their blocks at the top level, which stays valid.
 * What another member writes reaches this schema through y-prosemirror without passing any
 * HTML parser, so every `toDOM` checks its attributes again: a link's address is kept only when it is
 * http(s) or mailto, a heading's level is clamped, a check item's state is a boolean.
 * @module
 */
import { Schema, type DOMOutputSpec, type Mark, type Node as PmNode } from 'prosemirror-model';

/**
 * `href` when it is a link a person may follow safely (http:, https: or mailto:), else
 * undefined: never javascript:, data: or any other scheme. Addresses without a scheme
 * ("example.com") are read as https.
 */
export function safeHref(href: unknown): string | undefined {
  if (typeof href !== 'string') return undefined;
  const trimmed = href.trim();
  if (!trimmed || trimmed.length > 2048) return undefined;
  // A bare address: no scheme, not a path or fragment of this page.
  const withScheme = /^[a-z][a-z0-9+.-]*:/i.test(trimmed) ? trimmed : /^[\w-]+(\.[\w-]+)+([/?#:].*)?$/.test(trimmed) ? `https://${trimmed}` : undefined;
  if (!withScheme) return undefined;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return undefined;
  }
  return ['http:', 'https:', 'mailto:'].includes(url.protocol) ? url.href : undefined;
}

const level = (value: unknown) => Math.min(3, Math.max(1, Math.trunc(Number(value)) || 1));

/** The editor's schema (see the module's description). */
export const richSchema = new Schema({
  nodes: {
    // Sections first: an empty document is filled with a section holding an empty paragraph.
    doc: { content: '(section | block)+' },
    section: {
      content: 'block+',
      // Editing commands never cross a section's edge (a join would move its blocks: see sections.ts).
      isolating: true,
      selectable: false,
      // No parse rule: pasted HTML gives blocks, which sections.ts groups.
      toDOM: (): DOMOutputSpec => ['section', 0],
    },
    paragraph: {
      content: 'inline*',
      group: 'block',
      parseDOM: [{ tag: 'p' }],
      toDOM: (): DOMOutputSpec => ['p', 0],
    },
    heading: {
      attrs: { level: { default: 1, validate: 'number' } },
      content: 'inline*',
      group: 'block',
      defining: true,
      parseDOM: [1, 2, 3, 4, 5, 6].map((n) => ({ tag: `h${n}`, attrs: { level: Math.min(n, 3) } })),
      toDOM: (node: PmNode): DOMOutputSpec => [`h${level(node.attrs['level'])}`, 0],
    },
    bullet_list: {
      content: 'list_item+',
      group: 'block',
      parseDOM: [{ tag: 'ul:not([data-type=check])' }],
      toDOM: (): DOMOutputSpec => ['ul', 0],
    },
    ordered_list: {
      attrs: { order: { default: 1, validate: 'number' } },
      content: 'list_item+',
      group: 'block',
      parseDOM: [{ tag: 'ol', getAttrs: (dom: HTMLElement) => ({ order: dom.hasAttribute('start') ? Number(dom.getAttribute('start')) || 1 : 1 }) }],
      toDOM: (node: PmNode): DOMOutputSpec => {
        const order = Math.max(1, Math.trunc(Number(node.attrs['order'])) || 1);
        return order === 1 ? ['ol', 0] : ['ol', { start: String(order) }, 0];
      },
    },
    list_item: {
      content: 'paragraph block*',
      defining: true,
      parseDOM: [{ tag: 'ul:not([data-type=check]) > li' }, { tag: 'ol > li' }],
      toDOM: (): DOMOutputSpec => ['li', 0],
    },
    check_list: {
      content: 'check_item+',
      group: 'block',
      parseDOM: [{ tag: 'ul[data-type=check]', priority: 60 }],
      toDOM: (): DOMOutputSpec => ['ul', { 'data-type': 'check', class: 'checklist' }, 0],
    },
    check_item: {
      attrs: { checked: { default: false } },
      content: 'paragraph block*',
      defining: true,
      parseDOM: [{ tag: 'ul[data-type=check] > li', priority: 60, getAttrs: (dom: HTMLElement) => ({ checked: dom.getAttribute('data-checked') === 'true' }) }],
      toDOM: (node: PmNode): DOMOutputSpec => ['li', { 'data-checked': node.attrs['checked'] === true ? 'true' : 'false' }, 0],
    },
    text: { group: 'inline' },
    hard_break: {
      inline: true,
      group: 'inline',
      selectable: false,
      parseDOM: [{ tag: 'br' }],
      toDOM: (): DOMOutputSpec => ['br'],
    },
  },
  marks: {
    link: {
      attrs: { href: { validate: 'string' } },
      inclusive: false,
      parseDOM: [
        {
          tag: 'a[href]',
          getAttrs: (dom: HTMLElement) => {
            const href = safeHref(dom.getAttribute('href'));
            return href ? { href } : false;
          },
        },
      ],
      toDOM: (mark: Mark): DOMOutputSpec => {
        const href = safeHref(mark.attrs['href']);
        // An address that is not safe (sent by another member's editor) is shown as text, never followed.
        return href ? ['a', { href, rel: 'noopener noreferrer nofollow', target: '_blank', title: href }, 0] : ['span', { class: 'unsafe-link' }, 0];
      },
    },
    strong: {
      parseDOM: [{ tag: 'strong' }, { tag: 'b', getAttrs: (dom: HTMLElement) => dom.style.fontWeight !== 'normal' && null }, { style: 'font-weight=bold' }],
      toDOM: (): DOMOutputSpec => ['strong', 0],
    },
    em: {
      parseDOM: [{ tag: 'i' }, { tag: 'em' }, { style: 'font-style=italic' }],
      toDOM: (): DOMOutputSpec => ['em', 0],
    },
    code: {
      parseDOM: [{ tag: 'code' }],
      toDOM: (): DOMOutputSpec => ['code', 0],
    },
  },
});
