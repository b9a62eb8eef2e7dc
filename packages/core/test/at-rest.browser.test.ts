import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AtRestError, DeviceKey, IndexedDBStorage } from '@sealdoc/core';
import { atRestSuite } from './at-rest-suite.js';

let databases = 0;
const freshName = () => `sealdoc-at-rest-${++databases}-${Math.random().toString(36).slice(2)}`;
const backup = { scrypt: { logN: 15, r: 8, p: 1 } };
const code = (e: unknown) => (e instanceof AtRestError ? e.code : String(e));

/** Every value in both object stores of the database, raw, as IndexedDB returns them. */
async function rawValues(name: string): Promise<unknown[]> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const open = indexedDB.open(name);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const all = async (store: string) =>
    new Promise<unknown[]>((resolve, reject) => {
      const r = db.transaction(store).objectStore(store).getAll();
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  const values = [...(await all('records')), ...(await all('device'))];
  db.close();
  return values;
}

/** The bytes in a stored value: an ArrayBuffer, or the byte fields of a record (CryptoKeys hold none we can read). */
function bytesOf(value: unknown): Uint8Array[] {
  if (value instanceof ArrayBuffer) return [new Uint8Array(value)];
  if (value instanceof Uint8Array) return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(bytesOf);
  return [];
}

for (const passphrase of [undefined, 'correct horse battery staple']) {
  atRestSuite(`IndexedDBStorage and a browser device key${passphrase ? ' wrapped by a passphrase' : ''}`, async () => {
    const name = freshName();
    const options = passphrase ? { passphrase, backup } : {};
    return {
      openStorage: () => IndexedDBStorage.open(name, { persist: false }),
      openKey: () => DeviceKey.inBrowser(name, options),
      replaceKey: async () => {
        await DeviceKey.deleteFromBrowser(name);
        return DeviceKey.inBrowser(name, options);
      },
      rawValues: async () => (await rawValues(name)).flatMap(bytesOf),
      teardown: () => IndexedDBStorage.deleteDatabase(name),
    };
  });
}

describe('the browser device key', () => {
  it('is a non-extractable CryptoKey in IndexedDB, the same on every open', async () => {
    const name = freshName();
    const key = await DeviceKey.inBrowser(name);
    const sealed = await key.seal(new Uint8Array([4, 5, 6]), 'ctx');
    const again = await DeviceKey.inBrowser(name);
    assert.deepEqual(await again.open(sealed, 'ctx'), new Uint8Array([4, 5, 6]));
    const [stored] = (await rawValues(name)) as { key: CryptoKey }[];
    assert.ok(stored!.key instanceof CryptoKey);
    assert.equal(stored!.key.extractable, false);
    await assert.rejects(crypto.subtle.exportKey('raw', stored!.key));
    await IndexedDBStorage.deleteDatabase(name);
  });

  it('wrapped by a passphrase: needs it, refuses a wrong one; deleted: refused or made anew', async () => {
    const name = freshName();
    const key = await DeviceKey.inBrowser(name, { passphrase: 'right', backup });
    const sealed = await key.seal(new Uint8Array([1]), 'ctx');
    await assert.rejects(DeviceKey.inBrowser(name), (e) => code(e) === 'passphrase-required');
    await assert.rejects(DeviceKey.inBrowser(name, { passphrase: 'wrong', backup }), (e) => code(e) === 'wrong-passphrase');
    assert.deepEqual(await (await DeviceKey.inBrowser(name, { passphrase: 'right' })).open(sealed, 'ctx'), new Uint8Array([1]));
    await DeviceKey.deleteFromBrowser(name);
    await assert.rejects(DeviceKey.inBrowser(name, { create: false }), (e) => code(e) === 'no-device-key');
    const fresh = await DeviceKey.inBrowser(name);
    await assert.rejects(fresh.open(sealed, 'ctx'), (e) => code(e) === 'no-device-key');
    await IndexedDBStorage.deleteDatabase(name);
  });
});
