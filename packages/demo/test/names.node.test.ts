// The demo's names: one record sealed under the device key, nothing readable beside it;
// what earlier versions left in localStorage is moved in, then deleted there.
import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceKey, MemoryStorage } from '@sealdoc/core';
import { Names } from '../src/names.js';

/** The localStorage of a browser, in memory (Node has none). */
class FakeLocalStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

let local: FakeLocalStorage;
beforeEach(() => {
  local = new FakeLocalStorage();
  Object.assign(globalThis, { localStorage: local });
});

/** Every stored record's bytes, as one string: a name in clear would show in it. */
async function storedText(storage: MemoryStorage): Promise<string> {
  return (await storage.loadRange([])).map(({ data }) => Buffer.from(data).toString('latin1')).join('\n');
}

describe('the demo keeps names sealed under the device key', () => {
  it('keeps changes across a restart, sealed', async () => {
    const [storage, deviceKey] = [new MemoryStorage(), await DeviceKey.generate()];
    const names = new Names();
    await names.load(storage, deviceKey);
    await Promise.all([names.setMine('Dora Quill'), names.learn('00aa', 'Erin Vale'), names.learn('00bb', 'Frank Mole'), names.learn('00aa', 'Erin Vale-Smith')]);
    const again = new Names();
    await again.load(storage, deviceKey);
    assert.equal(again.mine, 'Dora Quill');
    assert.deepEqual([...again.others], [
      ['00aa', 'Erin Vale-Smith'],
      ['00bb', 'Frank Mole'],
    ]);
    const text = await storedText(storage);
    for (const name of ['Dora Quill', 'Erin Vale', 'Frank Mole']) assert.ok(!text.includes(name), `${name} stored in clear`);
    assert.equal(local.items.size, 0, 'nothing in localStorage');
  });

  it("moves earlier versions' localStorage in, the sealed record winning, and deletes it there", async () => {
    const [storage, deviceKey] = [new MemoryStorage(), await DeviceKey.generate()];
    const first = new Names();
    await first.load(storage, deviceKey);
    await first.learn('00aa', 'Erin Vale');
    local.setItem('sealdoc-my-name', 'Dora Quill');
    local.setItem('sealdoc-names', JSON.stringify([['00aa', 'Erin Old'], ['00cc', 'Gail Ross'], ['broken']]));
    const names = new Names();
    await names.load(storage, deviceKey);
    assert.equal(names.mine, 'Dora Quill');
    assert.deepEqual([...names.others], [
      ['00aa', 'Erin Vale'],
      ['00cc', 'Gail Ross'],
    ]);
    assert.equal(local.items.size, 0, 'the old keys are gone');
    const again = new Names();
    await again.load(storage, deviceKey);
    assert.equal(again.mine, 'Dora Quill', 'moved into the sealed record');
    assert.ok(!(await storedText(storage)).includes('Gail Ross'));
  });

  it('drops a damaged localStorage entry with the rest', async () => {
    local.setItem('sealdoc-names', '{not json');
    const names = new Names();
    await names.load(new MemoryStorage(), await DeviceKey.generate());
    assert.equal(names.others.size, 0);
    assert.equal(local.items.size, 0);
  });

  it('starts afresh when the record was sealed under a device key that is gone, and overwrites it', async () => {
    const storage = new MemoryStorage();
    const old = new Names();
    await old.load(storage, await DeviceKey.generate());
    await old.setMine('Dora Quill');
    const deviceKey = await DeviceKey.generate();
    const names = new Names();
    await names.load(storage, deviceKey);
    assert.equal(names.mine, '');
    await names.setMine('Dora New');
    const again = new Names();
    await again.load(storage, deviceKey);
    assert.equal(again.mine, 'Dora New');
  });

  it('keeps changes in memory only until it is loaded', async () => {
    const storage = new MemoryStorage();
    const names = new Names();
    await names.setMine('Dora Quill');
    assert.equal(names.mine, 'Dora Quill');
    assert.deepEqual(await storage.loadRange([]), []);
  });
});
