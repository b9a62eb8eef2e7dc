// The short run of `npm run hostile`: every flood for a few seconds against a real relay
// process, with an honest pair of members at work; the bounds are the full run's.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { floodFailures, FLOODS, runFlood } from '../../../test/hostile/floods.js';

describe('hostile clients against a relay process (short run of npm run hostile)', () => {
  for (const flood of FLOODS) {
    it(`${flood}: bounded memory, the honest member served, SIGTERM in time`, async () => {
      const result = await runFlood(flood, { seconds: 2, scale: 0.3 });
      assert.deepEqual(floodFailures(result), [], JSON.stringify(result));
      assert.ok(result.honest_delivered > 0);
    });
  }
});
