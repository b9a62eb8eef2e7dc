// SealdocPersistence in Chromium, as y-indexeddb is used: (name, doc), whenSynced, the
// `synced` event, clearData(); the store holds the document only as ciphertext.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { IndexedDBStorage, LocalDevice, SealdocPersistence } from '@sealdoc/core';

describe('SealdocPersistence (IndexedDB, as y-indexeddb)', () => {
  it('keeps a document sealed in the browser, opens it after a reload, and clearData forgets it', async () => {
    const database = `persistence-${Math.random().toString(36).slice(2)}`;
    const device = await LocalDevice.inBrowser(database);
    assert.equal(device.newWords?.split(' ').length, 24);
    const group = await device.group();
    const first = new SealdocPersistence('diary', new Y.Doc(), { group, device });
    assert.equal(await first.whenSynced, first);
    assert.equal(first.synced, true);
    first.doc.getText('t').insert(0, 'Dear diary, nobody reads this.');
    await first.destroy();

    // Nothing readable at rest: every value of the database, scanned for the text.
    const raw = await IndexedDBStorage.open(database);
    const needle = new TextEncoder().encode('nobody reads');
    const values = await raw.loadRange([]);
    assert.ok(values.length > 3, 'the identity, the log, the envelopes, the local state');
    for (const { data } of values) {
      const text = Array.from(data, (b) => String.fromCharCode(b)).join('');
      assert.ok(!text.includes(String.fromCharCode(...needle)), 'plaintext at rest');
    }
    await raw.close();

    // "Reload": the device, its group and the document come back.
    const again = await LocalDevice.inBrowser(database);
    assert.equal(again.newWords, undefined);
    const reopened = new SealdocPersistence('diary', new Y.Doc(), { group: await again.group(), device: again });
    let synced = 0;
    reopened.on('synced', () => synced++);
    await reopened.whenSynced;
    assert.equal(reopened.doc.getText('t').toString(), 'Dear diary, nobody reads this.');
    assert.equal(synced, 1);
    await reopened.clearData();
    const cleared = new SealdocPersistence('diary', new Y.Doc(), { group: await again.group(), device: again });
    await cleared.whenSynced;
    assert.equal(cleared.doc.getText('t').toString(), '');
    await cleared.destroy();
    await IndexedDBStorage.deleteDatabase(database);
  });
});
