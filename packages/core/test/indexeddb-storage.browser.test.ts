import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IndexedDBStorage, StorageError } from '@sealdoc/core';
import { storageConformance } from '@sealdoc/core/testing/conformance';

let databases = 0;
const freshName = () => `sealdoc-test-${++databases}-${Math.random().toString(36).slice(2)}`;

storageConformance(
  'IndexedDBStorage',
  async () => {
    const name = freshName();
    let storage = await IndexedDBStorage.open(name, { persist: false });
    return {
      storage,
      reopen: async () => {
        await storage.close();
        storage = await IndexedDBStorage.open(name, { persist: false });
        return storage;
      },
      teardown: async () => {
        await storage.close();
        await IndexedDBStorage.deleteDatabase(name);
      },
    };
  },
  { persistent: true },
);

describe('IndexedDBStorage', () => {
  it('a write interrupted by a closed page leaves all of it or none', async () => {
    const name = freshName();
    // A same-origin frame opens the store, starts one large write and is removed mid-way,
    // as a tab that is closed: its transaction must not leave half of the write behind.
    const frame = document.createElement('iframe');
    document.body.append(frame);
    const win = frame.contentWindow as Window & typeof globalThis;
    const started = new Promise<void>((resolve, reject) => {
      const open = win.indexedDB.open(name, 1);
      open.onupgradeneeded = () => {
        open.result.createObjectStore('records');
        open.result.createObjectStore('device');
      };
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const tx = open.result.transaction('records', 'readwrite');
        const store = tx.objectStore('records');
        for (let i = 0; i < 2000; i++) store.put(new Uint8Array(4096).fill(i & 255).buffer, ['bulk', String(i).padStart(5, '0')]);
        resolve();
      };
    });
    await started;
    frame.remove();
    const storage = await IndexedDBStorage.open(name, { persist: false });
    const count = (await storage.loadRange(['bulk'])).length;
    assert.ok(count === 0 || count === 2000, `${count} of 2000 records survived a closed page`);
    await storage.close();
    await IndexedDBStorage.deleteDatabase(name);
  });

  it('a full quota is StorageError quota, and what was stored before stays', async () => {
    // Chromium's own quota cannot be lowered from a headless test here (the DevTools call
    // Storage.overrideQuotaForOrigin is accepted and has no effect), so the browser's
    // QuotaExceededError is raised where IndexedDB raises it, on put.
    const name = freshName();
    const storage = await IndexedDBStorage.open(name, { persist: false });
    await storage.save(['kept'], new Uint8Array([1, 2, 3]));
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function () {
      throw new DOMException('the quota has been exceeded', 'QuotaExceededError');
    };
    try {
      await assert.rejects(
        storage.write([
          { op: 'remove', key: ['kept'] },
          { op: 'save', key: ['big'], data: new Uint8Array(1024) },
        ]),
        (e: unknown) => e instanceof StorageError && e.code === 'quota',
      );
    } finally {
      IDBObjectStore.prototype.put = put;
    }
    assert.deepEqual(await storage.loadRange([]), [{ key: ['kept'], data: new Uint8Array([1, 2, 3]) }]);
    await storage.close();
    await IndexedDBStorage.deleteDatabase(name);
  });

  it('asks for persistent storage and reports what the browser said', async () => {
    const name = freshName();
    const storage = await IndexedDBStorage.open(name);
    assert.equal(typeof storage.persisted, 'boolean');
    await storage.close();
    await IndexedDBStorage.deleteDatabase(name);
  });
});
