// The reconnection schedule: quick while an outage is young, patient as it grows old, jittered.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BACKOFF_DEFAULTS, reconnectCap, reconnectDelay } from '@sealdoc/core';

describe('reconnectDelay', () => {
  it('doubles from minMs, capped at quickMaxMs while the outage is young', () => {
    const nominal = [0, 1, 2, 3, 4, 5, 6, 20].map((attempt) => reconnectDelay(attempt, 5_000, {}, 1));
    assert.deepEqual(nominal, [250, 500, 1000, 1000, 1000, 1000, 1000, 1000]);
  });

  it('jitters each wait within [half, all] of its nominal value', () => {
    for (const attempt of [0, 1, 2, 10]) {
      const nominal = reconnectDelay(attempt, 0, {}, 1);
      assert.equal(reconnectDelay(attempt, 0, {}, 0), nominal / 2);
      for (let i = 0; i < 200; i++) {
        const wait = reconnectDelay(attempt, 0);
        assert.ok(wait >= nominal / 2 && wait <= nominal, `${wait} within [${nominal / 2}, ${nominal}]`);
      }
    }
  });

  it('a relay back within the first minute is tried again within a second: never more than quickMaxMs apart', () => {
    let t = 0;
    for (let attempt = 0; t < BACKOFF_DEFAULTS.quickForMs; attempt++) {
      const wait = reconnectDelay(attempt, t);
      assert.ok(wait <= 1000, `attempt ${attempt} at ${t} ms waits ${wait} ms`);
      t += wait;
    }
  });

  it('an outage that lasts backs off: the cap doubles every quickForMs up to maxMs, and the attempts of a long one are few', () => {
    assert.equal(reconnectCap(0), 1000);
    assert.equal(reconnectCap(59_999), 1000);
    assert.equal(reconnectCap(60_000), 1000);
    assert.equal(reconnectCap(120_000), 2000);
    assert.equal(reconnectCap(180_000), 4000);
    assert.equal(reconnectCap(60 * 60_000), 30_000);
    assert.equal(reconnectCap(Infinity), 30_000);
    // An hour of outage, attempt by attempt: at the shortest waits the jitter allows (the most
    // attempts), the first minute has about one a second, and from the tenth minute on there
    // are at most four a minute; at the longest waits, still two a minute.
    const attempts = (random: number) => {
      const at: number[] = [];
      for (let t = 0, n = 0; t < 60 * 60_000; n++) at.push((t += reconnectDelay(n, t, {}, random)));
      return (from: number, to: number) => at.filter((t) => t >= from && t < to).length;
    };
    const most = attempts(0);
    assert.ok(most(0, 60_000) <= 121, `${most(0, 60_000)} in the first minute`);
    assert.ok(most(10 * 60_000, 60 * 60_000) <= 50 * 4, `${most(10 * 60_000, 60 * 60_000)} in the last 50 minutes`);
    const fewest = attempts(0.999999);
    assert.ok(fewest(10 * 60_000, 60 * 60_000) >= 50 * 2 - 1, `${fewest(10 * 60_000, 60 * 60_000)}: still trying`);
  });

  it('follows the options: a cap below the quick one holds from the start; a refused client waits the longest', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((n) => reconnectDelay(n, 0, { minMs: 40, maxMs: 320 }, 1)),
      [40, 80, 160, 320, 320],
    );
    assert.equal(reconnectDelay(Infinity, Infinity, {}, 1), 30_000);
    assert.equal(reconnectDelay(Infinity, Infinity, {}, 0), 15_000);
    assert.equal(reconnectDelay(3, 0, { quickMaxMs: 5000 }, 1), 2000);
  });
});
