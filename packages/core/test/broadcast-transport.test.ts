import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { BroadcastTransport, SealedDoc } from '@sealdoc/core';
import { transportConformance } from '@sealdoc/core/testing/conformance';
import { World } from './helpers.js';

// Tabs of one browser; in Node, BroadcastChannel works alike within a process.
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 30));
let channels = 0;

transportConformance('BroadcastTransport', async () => {
  const channel = `conformance-${++channels}-${Math.random()}`;
  const transports = [0, 1, 2].map(() => new BroadcastTransport({ channel, maxMessageBytes: 2 * 1024 * 1024 })) as [BroadcastTransport, BroadcastTransport, BroadcastTransport];
  return {
    transports,
    settle,
    teardown: async () => {
      for (const t of transports) await t.disconnect();
    },
  };
});

describe('BroadcastTransport between tabs', () => {
  it('two sealed documents (two tabs of one member) converge, and ignore foreign messages', async () => {
    const world = await World.create(['alice', 'bob']);
    const channel = `tabs-${Math.random()}`;
    const docs = ['alice', 'bob'].map((name) => {
      const peer = world.peer(name);
      peer.sealed.destroy();
      const doc = new Y.Doc();
      const transport = new BroadcastTransport({ channel });
      return { doc, transport, sealed: new SealedDoc(doc, { group: peer.group, docId: world.docId, transport, batch: { windowMs: 1 } }) };
    });
    for (const d of docs) await d.transport.connect();
    // Something else on the same channel name is not a frame and is ignored.
    const stranger = new BroadcastChannel(`sealdoc:${channel}`);
    stranger.postMessage({ hello: 'world' });
    stranger.postMessage('text');
    docs[0]!.doc.getText('t').insert(0, 'from tab one. ');
    docs[1]!.doc.getText('t').insert(0, 'from tab two. ');
    const text = (i: number) => docs[i]!.doc.getText('t').toString();
    for (let i = 0; i < 100 && !(text(0) === text(1) && text(0).length === 28); i++) await settle();
    assert.equal(text(0), text(1));
    assert.equal(text(0).length, 28);
    stranger.close();
    for (const d of docs) {
      d.sealed.destroy();
      await d.transport.disconnect();
    }
  });
});
