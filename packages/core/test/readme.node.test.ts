// Runs the README's @sealdoc/core quick start in a scratch folder.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runReadmeBlock } from '../../../test/support/readme.js';

describe('README quick start: @sealdoc/core', () => {
  it('runs as written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdoc-readme-'));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const lines = await runReadmeBlock('quick-start-core');
      assert.deepEqual(lines.at(-2), ['the other tab reads: Hello from the first tab.']);
      assert.deepEqual(lines.at(-1), ['after a restart: Hello from the first tab.']);
    } finally {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('README: Sealdoc in place of y-indexeddb and y-websocket', () => {
  it('shows examples/sealed-provider.ts as it is (the file a Chromium test runs)', () => {
    const read = (f: string) => readFileSync(new URL(`../../../${f}`, import.meta.url), 'utf8');
    assert.ok(read('README.md').includes(read('examples/sealed-provider.ts').trim()));
  });
});
