// The demo's preferences ("Work offline"): one record sealed under the device key, kept across
// a restart; a record that cannot be opened counts as none.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceKey, MemoryStorage } from '@sealdoc/core';
import { Prefs } from '../src/prefs.js';

describe('the demo keeps its preferences sealed under the device key', () => {
  it('keeps "Work offline" across a restart, sealed', async () => {
    const [storage, deviceKey] = [new MemoryStorage(), await DeviceKey.generate()];
    const prefs = new Prefs();
    await prefs.load(storage, deviceKey);
    assert.equal(prefs.offline, false, 'online by default');
    await prefs.setOffline(true);
    const again = new Prefs();
    await again.load(storage, deviceKey);
    assert.equal(again.offline, true);
    const stored = (await storage.loadRange([])).map(({ data }) => Buffer.from(data).toString('latin1')).join('\n');
    assert.doesNotMatch(stored, /offline|true/, 'nothing readable');
    await again.setOffline(false);
    const third = new Prefs();
    await third.load(storage, deviceKey);
    assert.equal(third.offline, false);
  });

  it('a record sealed under another key, or damaged, counts as none', async () => {
    const storage = new MemoryStorage();
    const prefs = new Prefs();
    await prefs.load(storage, await DeviceKey.generate());
    await prefs.setOffline(true);
    const other = new Prefs();
    await other.load(storage, await DeviceKey.generate());
    assert.equal(other.offline, false);
    await storage.save(['demo', 'prefs'], new Uint8Array([1, 2, 3]));
    const damaged = new Prefs();
    await damaged.load(storage, await DeviceKey.generate());
    assert.equal(damaged.offline, false);
  });

  it('the last of several quick changes is the one kept', async () => {
    const [storage, deviceKey] = [new MemoryStorage(), await DeviceKey.generate()];
    const prefs = new Prefs();
    await prefs.load(storage, deviceKey);
    await Promise.all([prefs.setOffline(true), prefs.setOffline(false), prefs.setOffline(true)]);
    const again = new Prefs();
    await again.load(storage, deviceKey);
    assert.equal(again.offline, true);
  });
});
