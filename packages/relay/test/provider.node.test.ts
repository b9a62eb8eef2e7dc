// SealdocProvider against a real relay, in Node: the shape a y-websocket user expects (events,
// awareness, connect/disconnect/destroy, whenSynced), string names, auth-failed, and a destroy
// that releases everything it started.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { WebSocket } from 'ws';
import { Awareness } from 'y-protocols/awareness';
import { Group, LocalDevice, MemoryStorage, SealdocPersistence, SealdocProvider, WebSocketTransport, DeviceKey, type WebSocketLike } from '@sealdoc/core';
import { createGroup, documentIdFromName, Keyring, MembershipLog, toHex } from '@sealdoc/crypto';
import { MemoryRelayStore, startRelay } from '@sealdoc/relay';
import { eventually, identity, Team } from './clients.js';

const Ws = WebSocket as unknown as new (url: string) => WebSocketLike;

async function groupOf(team: Team, name: string): Promise<Group> {
  const group = new Group({ signer: identity(name), log: await MembershipLog.fromOps(team.ops), keyring: new Keyring() });
  await group.refresh();
  return group;
}

async function relay(options: Parameters<typeof startRelay>[0] = { store: new MemoryRelayStore() }) {
  const server = await startRelay({ port: 0, ...options });
  return { server, close: () => server.close().then(() => options.store.close()) };
}

/** Alice's and Bob's providers of one document, synced. */
async function pair(url: string): Promise<[SealdocProvider, SealdocProvider]> {
  const team = await Team.create(['alice', 'bob']);
  const open = async (name: string) => new SealdocProvider(url, 'doc', new Y.Doc(), { group: await groupOf(team, name), WebSocketPolyfill: Ws });
  const both: [SealdocProvider, SealdocProvider] = [await open('alice'), await open('bob')];
  await Promise.all(both.map((p) => p.whenSynced));
  return both;
}

describe('SealdocProvider (Node, against a relay)', () => {
  it('in place of y-websocket: a string name, status and sync events, whenSynced, awareness; texts converge', async () => {
    const { server, close } = await relay();
    const team = await Team.create(['alice', 'bob']);
    const [aliceDoc, bobDoc] = [new Y.Doc(), new Y.Doc()];
    const alice = new SealdocProvider(server.url, 'notes/2026-12-06', aliceDoc, { group: await groupOf(team, 'alice'), WebSocketPolyfill: Ws });
    const statuses: string[] = [];
    const syncs: boolean[] = [];
    alice.on('status', ({ status }) => statuses.push(status));
    alice.on('sync', (synced) => syncs.push(synced));
    const bob = new SealdocProvider(server.url, 'notes/2026-12-06', bobDoc, { group: await groupOf(team, 'bob'), WebSocketPolyfill: Ws });
    try {
      assert.equal(await alice.whenSynced, alice, 'whenSynced resolves with the provider');
      await bob.whenSynced;
      assert.deepEqual(statuses, ['connecting', 'connected']);
      assert.equal(alice.status, 'connected');
      assert.ok(alice.synced && syncs.includes(true));
      assert.equal(toHex(alice.docId), toHex(documentIdFromName(team.groupId, 'notes/2026-12-06')), 'the relay sees the name hashed inside the group');
      assert.ok(alice.awareness instanceof Awareness, 'an awareness is created when none is given');

      aliceDoc.getText('t').insert(0, 'Hello, ');
      bobDoc.getText('t').insert(0, 'world. ');
      await eventually(() => aliceDoc.getText('t').toString() === bobDoc.getText('t').toString() && aliceDoc.getText('t').length === 14, 5000, 'converge');
      alice.awareness.setLocalStateField('user', { name: 'Alice' });
      await eventually(() => bob.awareness.getStates().has(alice.awareness.clientID), 5000, 'Bob sees Alice');

      // once / off, as lib0's Observable (y-websocket's base).
      let once = 0;
      alice.once('status', () => once++);
      const off = () => statuses.push('after off');
      alice.on('status', off);
      alice.off('status', off);
      alice.disconnect();
      await eventually(() => alice.status === 'disconnected', 2000, 'disconnected');
      assert.equal(once, 1);
      assert.ok(!statuses.includes('after off'));
      assert.equal(statuses.at(-1), 'disconnected');
      assert.equal(alice.synced, false);
      assert.ok(!alice.awareness.getStates().has(bob.awareness.clientID), 'others’ presence is dropped once the relay is gone');
      // Offline edits wait, then go when connected again.
      aliceDoc.getText('t').insert(0, 'Offline. ');
      alice.connect();
      await eventually(() => bobDoc.getText('t').toString().startsWith('Offline. '), 5000, 'the offline edit arrives');
    } finally {
      await alice.destroy();
      await bob.destroy();
      await close();
    }
  });

  it('destroy releases everything: the socket it owns closes, its presence is gone at the others within 1 s, its awareness and listeners go', async () => {
    const { server, close } = await relay();
    const [alice, bob] = await pair(server.url);
    try {
      assert.equal(server.relay.stats.connections, 2);
      alice.awareness.setLocalStateField('user', { name: 'Alice' });
      const client = alice.awareness.clientID;
      await eventually(() => bob.awareness.getStates().has(client), 5000, 'Bob sees Alice');
      const closes: number[] = [];
      alice.on('connection-close', ({ code }) => closes.push(code));
      const started = performance.now();
      await alice.destroy();
      await eventually(() => !bob.awareness.getStates().has(client), 1000, 'her caret is gone at Bob within 1 s');
      assert.ok(performance.now() - started < 1000);
      await eventually(() => server.relay.stats.connections === 1, 2000, 'her socket closed at the relay');
      assert.deepEqual(closes, [1000]);
      assert.equal(alice.awareness.getLocalState(), null, 'the awareness it created is destroyed (its timer with it)');
      assert.equal(alice.transport.status, 'offline');
      alice.connect();
      assert.equal(alice.transport.status, 'offline', 'a destroyed provider does not connect again');
    } finally {
      await alice.destroy();
      await bob.destroy();
      await close();
    }
  });

  it('a page leaving: leaveNow sends the presence sealed in advance, with nothing to await', async () => {
    const { server, close } = await relay();
    const [alice, bob] = await pair(server.url);
    try {
      alice.awareness.setLocalStateField('user', { name: 'Alice' });
      alice.awareness.setLocalStateField('cursor', 3);
      const client = alice.awareness.clientID;
      await eventually(() => (bob.awareness.getStates().get(client) as { cursor?: number } | undefined)?.cursor === 3, 5000, 'Bob sees her cursor');
      await new Promise((r) => setTimeout(r, 50)); // its farewell is sealed
      alice.sealed.leaveNow();
      await eventually(() => !bob.awareness.getStates().has(client), 1000, 'gone within 1 s');
    } finally {
      await alice.destroy();
      await bob.destroy();
      await close();
    }
  });

  it('a relay that does not admit the client: auth-failed with the reason, status disconnected, no retry', async () => {
    let attempts = 0;
    const store = new MemoryRelayStore();
    const { server, close } = await relay({
      store,
      authenticate: (_hello, request) => {
        attempts++;
        return new URL((request as { url: string }).url, 'http://relay').searchParams.get('token') === 'good' || 'your session has expired';
      },
    });
    const team = await Team.create(['alice']);
    const refused = new SealdocProvider(server.url, 'doc', new Y.Doc(), { group: await groupOf(team, 'alice'), WebSocketPolyfill: Ws, params: { token: 'bad' } });
    const failures: string[] = [];
    refused.on('auth-failed', ({ reason }) => failures.push(reason));
    try {
      await eventually(() => failures.length > 0, 5000, 'auth-failed');
      assert.match(failures[0]!, /session has expired/);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(attempts, 1, 'no retry');
      assert.equal(refused.status, 'disconnected');
      const admitted = new SealdocProvider(server.url, 'doc', new Y.Doc(), { group: await groupOf(team, 'alice'), WebSocketPolyfill: Ws, params: { token: 'good' } });
      await admitted.whenSynced;
      await admitted.destroy();
    } finally {
      await refused.destroy();
      await close();
    }
  });

  it('several providers on one shared connection: destroying one leaves the connection to the others', async () => {
    const { server, close } = await relay();
    const team = await Team.create(['alice']);
    const group = await groupOf(team, 'alice');
    const transport = new WebSocketTransport({ url: server.url, identity: group.keys, WebSocket: Ws });
    const first = new SealdocProvider(transport, 'one', new Y.Doc(), { group });
    const second = new SealdocProvider(transport, 'two', new Y.Doc(), { group });
    try {
      await Promise.all([first.whenSynced, second.whenSynced]);
      assert.notEqual(toHex(first.docId), toHex(second.docId));
      assert.equal(server.relay.stats.connections, 1);
      await first.destroy();
      assert.equal(transport.status, 'online');
      second.doc.getText('t').insert(0, 'still here');
      await second.sealed.flush();
      await eventually(() => second.sealed.pending === 0, 5000, 'acknowledged by the relay');
    } finally {
      await second.destroy();
      await transport.disconnect();
      await close();
    }
  });

  it('membership changes go through a live provider’s relay: destroying one of two providers of a group hands the group to the other', async () => {
    const { server, close } = await relay();
    const team = await Team.create(['alice']);
    const group = await groupOf(team, 'alice');
    const first = new SealdocProvider(server.url, 'one', new Y.Doc(), { group, WebSocketPolyfill: Ws });
    const second = new SealdocProvider(server.url, 'two', new Y.Doc(), { group, WebSocketPolyfill: Ws });
    try {
      assert.equal(group.relay, first.transport);
      await first.destroy();
      assert.equal(group.relay, second.transport, 'not left without a relay while a provider lives');
      await second.destroy();
      assert.equal(group.relay, undefined);
    } finally {
      await close();
    }
  });

  it('with a device: the document is kept sealed on it, opens offline, and clearData forgets it (as y-indexeddb)', async () => {
    const storage = new MemoryStorage();
    const device = await LocalDevice.open(storage, await DeviceKey.generate());
    assert.equal(device.newWords?.split(' ').length, 24, 'a new identity shows its words once');
    const group = await device.group();
    const first = new SealdocPersistence('diary', new Y.Doc(), { group, device });
    assert.equal(await first.whenSynced, first);
    first.doc.getText('t').insert(0, 'kept, sealed');
    await first.destroy();

    // A stranger's group naming this person, kept here (the relay listed it), whose id sorts
    // first: group() still gives the person's own, never the stranger's.
    let foreign: Group;
    do {
      const mallory = identity(`mallory-${Math.random()}`);
      foreign = new Group({ signer: device.signer, log: await MembershipLog.fromOps([await createGroup(mallory, { members: [{ keys: device.identity!, role: 'writer' }] })]), keyring: new Keyring(), storage });
    } while (toHex(foreign.groupId) > toHex(group.groupId));
    await foreign.refresh();

    const again = await LocalDevice.open(storage, device.deviceKey);
    assert.equal(again.newWords, undefined, 'the kept identity opens; no new words');
    assert.deepEqual((await again.groups()).sort(), [toHex(foreign.groupId), toHex(group.groupId)]);
    assert.equal(toHex((await again.group()).groupId), toHex(group.groupId), 'its own group, not the stranger’s that sorts first');
    const reopened = new SealdocPersistence('diary', new Y.Doc(), { group: (await again.group(group.groupId))!, device: again });
    let synced = 0;
    reopened.on('synced', () => synced++);
    await reopened.whenSynced;
    assert.equal(reopened.doc.getText('t').toString(), 'kept, sealed');
    assert.equal(synced, 1);
    await reopened.clearData();
    const cleared = new SealdocPersistence('diary', new Y.Doc(), { group: (await again.group(group.groupId))!, device: again });
    await cleared.whenSynced;
    assert.equal(cleared.doc.getText('t').toString(), '');
    await cleared.destroy();
  });
});
