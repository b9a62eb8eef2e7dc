// No jargon in the interface: every string a person may read (the sentences for errors, the
// components' text and labels, the demo's screens and messages) is scanned for words of the
// engine's trade. The strings are read from the sources, so a new one that says "epoch" fails
// this test. The few strings that never reach a person (an error's message for developers, a
// console line) are listed by the call they are in; an error's code is a name, not text.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describeError } from '../src/words.js';

/** Words a person should never have to read. */
const JARGON = /\b(epochs?|envelopes?|ciphertexts?|nonces?|hpke|cutoffs?|awareness|yjs|y\.doc|crdts?|payloads?|member ids?|group ids?|hex|wraps?|keyring|head hash|sequence numbers?|clientids?)\b/i;

/** Calls whose string arguments are for developers, not for people. */
const NOT_SHOWN = /(new (?:Error|TypeError|[A-Za-z]*Error)\(|console\.\w+\(|customElements\.define\(|querySelector(?:All)?(?:<[^>]*>)?\(|new CustomEvent(?:<[^>]*>)?\(|dispatchEvent\(|addEventListener\(|removeEventListener\(|getAttribute\(|setAttribute\(|\.on\(|\.off\(|import |from )\s*$/;

interface Literal {
  text: string;
  /** The source just before it (the end of its line), to tell whose argument it is. */
  before: string;
  /** The tag of a tagged template (`html`, `css`), if any. */
  tag: string;
}

/**
 * The string literals and template texts of TypeScript source `text` (outside comments). A
 * scanner, not a parser: it knows strings, templates with `${}` inside, comments and regular
 * expression literals (after a character that cannot end an expression).
 */
export function literals(text: string): Literal[] {
  const found: Literal[] = [];
  let i = 0;
  const lineBefore = (at: number) => text.slice(text.lastIndexOf('\n', at - 1) + 1, at);
  const readString = (quote: string): string => {
    let out = '';
    i++;
    while (i < text.length && text[i] !== quote) {
      if (text[i] === '\\') out += text[++i];
      else out += text[i];
      i++;
    }
    i++;
    return out;
  };
  // A template from its opening backtick; returns its text parts, scanning ${...} as code.
  const readTemplate = (): string => {
    let out = '';
    i++;
    while (i < text.length && text[i] !== '`') {
      if (text[i] === '\\') {
        out += text[i + 1];
        i += 2;
      } else if (text[i] === '$' && text[i + 1] === '{') {
        i += 2;
        out += ' ';
        code('}');
        i++;
      } else out += text[i++];
    }
    i++;
    return out;
  };
  const code = (until: string | undefined): void => {
    let depth = 0;
    while (i < text.length) {
      const c = text[i]!;
      if (until && c === until && depth === 0) return;
      if (c === '{') depth++;
      else if (c === '}') depth--;
      if (c === '/' && text[i + 1] === '/') {
        i = text.indexOf('\n', i);
        if (i < 0) i = text.length;
      } else if (c === '/' && text[i + 1] === '*') {
        i = text.indexOf('*/', i) + 2;
      } else if (c === '/' && /[(,=:[!&|?{};+\-*%<>~^]\s*$|return\s*$|^\s*$/.test(lineBefore(i))) {
        // A regular expression literal: skipped, with its classes.
        i++;
        let inClass = false;
        while (i < text.length && (text[i] !== '/' || inClass)) {
          if (text[i] === '\\') i++;
          else if (text[i] === '[') inClass = true;
          else if (text[i] === ']') inClass = false;
          i++;
        }
        i++;
      } else if (c === "'" || c === '"') {
        const before = lineBefore(i);
        found.push({ text: readString(c), before, tag: '' });
      } else if (c === '`') {
        const before = lineBefore(i);
        const tag = /(\w+)\s*$/.exec(before)?.[1] ?? '';
        const at = found.length;
        const body = readTemplate();
        found.splice(at, 0, { text: body, before, tag });
      } else i++;
    }
  };
  code(undefined);
  return found;
}

/** The source files whose strings reach people: the components and the demo's browser app. */
function sources(): { path: string; text: string }[] {
  const files: { path: string; text: string }[] = [];
  const walk = (dir: URL, path: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(new URL(`${entry.name}/`, dir), `${path}${entry.name}/`);
      else if (entry.name.endsWith('.ts') && entry.name !== 'server.ts') files.push({ path: path + entry.name, text: readFileSync(new URL(entry.name, dir), 'utf8') });
    }
  };
  walk(new URL('../src/', import.meta.url), 'ui/src/');
  walk(new URL('../../demo/src/', import.meta.url), 'demo/src/');
  return files;
}

describe('no jargon in the interface', () => {
  it('the scanner finds strings, template texts and their tags, and skips comments and regular expressions', () => {
    const found = literals("// 'no'\nconst a = 'one' + \"two\"; /* `no` */ const r = /'no'/g; html`<p>three ${x ? 'four' : `five`}</p>`; new Error('six');");
    assert.deepEqual(
      found.map((l) => l.text),
      ['one', 'two', '<p>three  </p>', 'four', 'five', 'six'],
    );
    assert.equal(found[2]!.tag, 'html');
    assert.match(found[5]!.before, /new Error\($/);
  });

  it('no sentence for an error, and no string of a component or of the demo, speaks of epochs, envelopes and the like', () => {
    const shown: string[] = [];
    for (const { path, text } of sources()) {
      for (const l of literals(text)) {
        // One word of lowercase letters and hyphens is a name in code (an error's code, a property), not text.
        if (l.tag === 'css' || NOT_SHOWN.test(l.before) || /^[a-z][a-z0-9-]*$/.test(l.text)) continue;
        // Markup's attribute names and parts are no text: only what is between tags, and the
        // values of the attributes a person reads or hears.
        const words = l.tag === 'html' ? l.text.replace(/\s(?!(?:aria-label|title|placeholder|label|alt)=)[\w.?@-]+=(?:"[^"]*"|'[^']*'|\S*)/g, ' ') : l.text;
        const hit = JARGON.exec(words);
        if (hit) shown.push(`${path}: “${hit[0]}” in ${JSON.stringify(l.text.slice(0, 120))}`);
      }
    }
    assert.deepEqual(shown, []);
  });

  it('the scan reaches the sentences for errors and the components', () => {
    const all = sources();
    assert.ok(all.some((f) => f.path === 'ui/src/words.ts') && all.some((f) => f.path === 'ui/src/members.ts') && all.some((f) => f.path === 'demo/src/app.ts'));
    const words = literals(all.find((f) => f.path === 'ui/src/words.ts')!.text).map((l) => l.text);
    assert.ok(words.includes(describeError({ code: 'fork' })), 'a sentence of words.ts is among the strings scanned');
  });
});
