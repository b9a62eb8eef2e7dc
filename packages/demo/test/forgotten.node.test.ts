// The documents a device forgot: one record sealed under the device key, kept across a restart.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceKey, MemoryStorage } from '@sealdoc/core';
import { Forgotten } from '../src/forgotten.js';

describe('the demo keeps the documents it forgot sealed under the device key', () => {
  it('keeps them (and one opened again no longer) across a restart; nothing readable in the store; another key reads an empty list', async () => {
    const [storage, deviceKey] = [new MemoryStorage(), await DeviceKey.generate()];
    const forgotten = new Forgotten();
    await forgotten.load(storage, deviceKey);
    assert.equal(forgotten.has('aa11'), false);
    await Promise.all([forgotten.add('aa11'), forgotten.add('bb22')]);
    const again = new Forgotten();
    await again.load(storage, deviceKey);
    assert.deepEqual([again.has('aa11'), again.has('bb22'), again.has('cc33')], [true, true, false]);
    const stored = (await storage.loadRange([])).map(({ data }) => Buffer.from(data).toString('latin1')).join('\n');
    assert.ok(!stored.includes('aa11') && !stored.includes('bb22'));
    // Opened here again (an invitation accepted, a backup restored): no longer forgotten, across a restart too.
    await again.remove('aa11');
    await again.remove('dd44'); // never forgotten: nothing to do
    const after = new Forgotten();
    await after.load(storage, deviceKey);
    assert.deepEqual([after.has('aa11'), after.has('bb22')], [false, true]);
    const other = new Forgotten();
    await other.load(storage, await DeviceKey.generate());
    assert.equal(other.has('aa11'), false);
  });
});
