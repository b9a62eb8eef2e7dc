// Runs the README's quick start, so the README and the code cannot drift apart.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runReadmeBlock } from '../../../test/support/readme.js';

describe('README quick start', () => {
  it('runs as written', async () => {
    const lines = await runReadmeBlock('quick-start');
    assert.deepEqual(lines[0], [0, 'hello, Bob']);
    assert.deepEqual(lines[1], ['unknown-epoch']);
    assert.deepEqual(lines.at(-1), ['deriving key: 100 %']);
  });
});
