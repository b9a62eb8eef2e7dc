// The README's replacement for y-indexeddb + y-websocket, run in Chromium against a real relay
// (readme.node.test.ts checks that the README shows examples/sealed-provider.ts as it is).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { executeServerCommand } from '@web/test-runner-commands';
import { IndexedDBStorage } from '@sealdoc/core';
import { openSealed } from '../../../examples/sealed-provider.js';

describe('README: Sealdoc in place of y-indexeddb and y-websocket', () => {
  it('works: online through the relay, and the document is back after a reload', async () => {
    const url = (await executeServerCommand('relay-url')) as string;
    const database = `readme-${Math.random().toString(36).slice(2)}`;
    const ydoc = new Y.Doc();
    const provider = await openSealed(url, 'my-document', ydoc, database);
    const statuses: string[] = [];
    provider.on('status', ({ status }) => statuses.push(status));
    await provider.whenSynced;
    assert.equal(provider.status, 'connected');
    ydoc.getText('t').insert(0, 'sealed, stored, sent');
    await provider.destroy();
    assert.equal(statuses.at(-1), 'disconnected');
    // "Reload": a new Y.Doc, the same browser store.
    const again = new Y.Doc();
    const reopened = await openSealed(url, 'my-document', again, database);
    assert.equal(again.getText('t').toString(), 'sealed, stored, sent');
    await reopened.whenSynced;
    await reopened.destroy();
    await IndexedDBStorage.deleteDatabase(database);
  });
});
