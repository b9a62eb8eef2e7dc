// Runs the README's quick start, so the README and the code cannot drift apart.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

describe('README quick start', () => {
  it('runs as written', async () => {
    const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
    const match = /<!-- quick-start[^>]*-->\s*```ts\n([\s\S]*?)```/.exec(readme);
    assert.ok(match, 'the README has a quick-start block');
    const file = fileURLToPath(new URL('./.readme-quick-start.tmp.ts', import.meta.url));
    writeFileSync(file, `${match[1]}\nexport {};\n`);
    const log = console.log;
    const lines: unknown[][] = [];
    console.log = (...args: unknown[]) => lines.push(args);
    try {
      await import(`${new URL('./.readme-quick-start.tmp.ts', import.meta.url).href}?${Date.now()}`);
    } finally {
      console.log = log;
      rmSync(file, { force: true });
    }
    assert.deepEqual(lines[0], [0, 'hello, Bob']);
    assert.deepEqual(lines[1], ['unknown-epoch']);
    assert.deepEqual(lines.at(-1), ['deriving key: 100 %']);
  });
});
