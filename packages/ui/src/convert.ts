/**
 * Documents written before the rich-text editor kept their text in a Y.Text. The first writer
 * to open one moves that text into the editor's Y.XmlFragment, a paragraph per line (in
 * sections of {@link SECTION_SIZE}: sections.ts), in one
 * transaction that also empties the Y.Text: done once, since an emptied Y.Text has nothing
 * left to convert, and seen by every member as one edit.
 * @module
 */
import * as Y from 'yjs';
import { SECTION_SIZE } from './sections.js';

/** The origin of the conversion's transaction (not one an undo manager tracks: undo never takes it back). */
export const CONVERSION_ORIGIN = Symbol('sealdoc-convert-plain-text');

/** Whether `legacy` holds text that `fragment` (still empty) should receive. */
export function needsConversion(legacy: Y.Text, fragment: Y.XmlFragment): boolean {
  return legacy.length > 0 && fragment.length === 0;
}

/**
 * Moves the text of `legacy` into `fragment` as paragraphs, one per line, in sections of
 * {@link SECTION_SIZE}, and empties
 * `legacy`, in one transaction; returns the number of paragraphs written (0 when there was
 * nothing to convert).
 */
export function convertPlainText(legacy: Y.Text, fragment: Y.XmlFragment): number {
  if (!needsConversion(legacy, fragment)) return 0;
  const doc = legacy.doc;
  if (!doc || fragment.doc !== doc) throw new Error('the text and the fragment are of one document');
  const lines = legacy.toString().split(/\r\n|\r|\n/);
  doc.transact(() => {
    const sections: Y.XmlElement[] = [];
    for (let i = 0; i < lines.length; i += SECTION_SIZE) {
      const section = new Y.XmlElement('section');
      section.insert(
        0,
        lines.slice(i, i + SECTION_SIZE).map((line) => {
          const paragraph = new Y.XmlElement('paragraph');
          if (line) paragraph.insert(0, [new Y.XmlText(line)]);
          return paragraph;
        }),
      );
      sections.push(section);
    }
    fragment.insert(0, sections);
    legacy.delete(0, legacy.length);
  }, CONVERSION_ORIGIN);
  return lines.length;
}
