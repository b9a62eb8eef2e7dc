/**
 * A document out of the app: its text as Markdown or as an HTML page (from the editor's
 * content: headings, lists, check lists, bold, italic, code, links), or sealed under a
 * passphrase as a backup of that document alone. The file is made here and downloaded;
 * nothing leaves the browser otherwise.
 * @module
 */
import { describeError, toHtml, toMarkdown } from '@sealdoc/ui';
import { sealDocuments } from './backup.js';
import { say, type OpenDoc } from './state.js';

/** Downloads `content` as a file named `name`. */
export function download(content: string | Uint8Array, name: string, type: string): void {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([typeof content === 'string' ? content : new Uint8Array(content)], { type }));
  link.download = name;
  link.click();
  URL.revokeObjectURL(link.href);
}

/** A file name from the document's title: letters, digits and dashes ("document" when none is left). */
export function fileName(title: string, extension: string): string {
  const base = title.normalize('NFKD').replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-+|-+$/g, '').slice(0, 60).toLowerCase();
  return `${base || 'document'}.${extension}`;
}

const title = (open: OpenDoc) => open.doc.getText('title').toString();

/** Downloads the document as Markdown: its title as the first heading, then its text. */
export function exportMarkdown(open: OpenDoc): void {
  const text = toMarkdown(open.doc.getXmlFragment('prosemirror'));
  const heading = title(open) ? `# ${title(open).replace(/\s+/g, ' ')}\n\n` : '';
  download(`${heading}${text}\n`, fileName(title(open), 'md'), 'text/markdown;charset=utf-8');
  say('Markdown file saved. It is not encrypted: keep it where you keep your other files.');
}

/** Downloads the document as an HTML page. */
export function exportHtml(open: OpenDoc): void {
  download(toHtml(open.doc.getXmlFragment('prosemirror'), title(open)), fileName(title(open), 'html'), 'text/html;charset=utf-8');
  say('HTML file saved. It is not encrypted: keep it where you keep your other files.');
}

/**
 * Seals the document alone (its members, its text, and the recovery words, like the full
 * backup) under the passphrase typed twice in `first` and `second`, and downloads it.
 */
export async function exportDocumentBackup(open: OpenDoc, first: HTMLInputElement, second: HTMLInputElement): Promise<void> {
  if (first.value.length < 8) return say('Choose a passphrase of 8 characters or more.');
  if (first.value !== second.value) return say('The two passphrases differ.');
  try {
    const sealed = await sealDocuments([open], first.value);
    if (!sealed) return;
    download(sealed, fileName(title(open), 'sdbk'), 'application/octet-stream');
    first.value = second.value = '';
    say('Encrypted backup of this document saved. It holds your recovery words too: keep it and its passphrase apart.');
  } catch (error) {
    say(describeError(error));
  }
}
