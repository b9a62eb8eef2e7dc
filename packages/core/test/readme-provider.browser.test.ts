// The README's replacement for y-indexeddb + y-websocket, run in Chromium against a real relay
// (readme.node.test.ts checks that the README shows examples/sealed-provider.ts as it is).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { executeServerCommand } from '@web/test-runner-commands';
import { randomId } from '@sealdoc/crypto';
import { IndexedDBStorage } from '@sealdoc/core';
import { sealedProvider } from '../../../examples/sealed-provider.js';

describe('README: Sealdoc in place of y-indexeddb and y-websocket', () => {
  it('works: online through the relay, and the document is back after a reload', async () => {
    const url = (await executeServerCommand('relay-url')) as string;
    const database = `readme-${Math.random().toString(36).slice(2)}`;
    const docId = randomId();
    const ydoc = new Y.Doc();
    const provider = await sealedProvider(ydoc, url, docId, database);
    await provider.whenSynced;
    ydoc.getText('t').insert(0, 'sealed, stored, sent');
    await provider.destroy();
    // "Reload": a new Y.Doc, the same browser store.
    const again = new Y.Doc();
    const reopened = await sealedProvider(again, url, docId, database);
    assert.equal(again.getText('t').toString(), 'sealed, stored, sent');
    await reopened.whenSynced;
    await reopened.destroy();
    await IndexedDBStorage.deleteDatabase(database);
  });
});
