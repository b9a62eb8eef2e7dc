// The WebSocket transport in Chromium, with the browser's own WebSocket, against a real relay
// (started by web-test-runner's config).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { executeServerCommand } from '@web/test-runner-commands';
import { createGroup, generateMnemonic, identityFromMnemonic, Keyring, MembershipLog, randomId } from '@sealdoc/crypto';
import { Group, MemoryStorage, SealedDoc, WebSocketTransport } from '@sealdoc/core';

const until = async (condition: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('WebSocketTransport in the browser', () => {
  it('two members converge through the relay; one goes offline, edits, comes back and resumes', async () => {
    const url = (await executeServerCommand('relay-url')) as string;
    const [alice, bob] = [identityFromMnemonic(generateMnemonic()), identityFromMnemonic(generateMnemonic())];
    const ops = [await createGroup(alice, { members: [{ keys: bob, role: 'writer' }] })];
    const docId = randomId();
    const open = async (identity: typeof alice) => {
      const group = new Group({ signer: identity, log: await MembershipLog.fromOps(ops), keyring: new Keyring() });
      await group.refresh();
      const doc = new Y.Doc();
      const transport = new WebSocketTransport({ url, identity, cursors: new MemoryStorage(), backoff: { minMs: 20, maxMs: 100 } });
      const sealed = new SealedDoc(doc, { group, docId, transport, batch: { windowMs: 5 } });
      await transport.connect();
      return { doc, transport, sealed, text: () => doc.getText('t').toString() };
    };
    const a = await open(alice);
    const b = await open(bob);
    a.doc.getText('t').insert(0, 'hello from Chromium. ');
    await until(() => b.text() === 'hello from Chromium. ');
    await b.transport.disconnect();
    assert.equal(b.transport.status, 'offline');
    b.doc.getText('t').insert(0, 'offline edit. ');
    a.doc.getText('t').insert(0, 'meanwhile. ');
    await new Promise((r) => setTimeout(r, 100));
    await b.transport.connect();
    await until(() => a.text() === b.text() && a.text().length === 46);
    for (const x of [a, b]) {
      await x.sealed.destroy();
      await x.transport.disconnect();
    }
  });
});
