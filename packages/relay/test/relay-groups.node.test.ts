// Groups from the relay (core's listRelayGroups and fetchRelayGroup): a device that does not
// keep a group yet gets it from the relay's copy of the log, verified here.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { Emitter, fetchRelayGroup, listRelayGroups, MemoryStorage, TransportError, WebSocketTransport, Group, type TransportEvents, type WebSocketLike } from '@sealdoc/core';
import { addMember, createGroup, Keyring, MembershipError, MembershipLog, removeMember, toHex, unlockEpochSecrets } from '@sealdoc/crypto';
import { MemoryRelayStore, startRelay } from '@sealdoc/relay';
import { identity, Team } from './clients.js';

const Ws = WebSocket as unknown as new (url: string) => WebSocketLike;

describe('groups from the relay', () => {
  it('a member’s new device lists its groups and gets each one verified, with its epoch secrets, kept in its store', async () => {
    const store = new MemoryRelayStore();
    const server = await startRelay({ store, port: 0 });
    const team = await Team.create(['alice', 'bob']);
    const alice = await team.connect('alice', server.url); // announces the group's log to the relay
    const transport = new WebSocketTransport({ url: server.url, identity: identity('bob'), WebSocket: Ws });
    try {
      await alice.sealed.whenSynced;
      await transport.connect();
      const ids = await listRelayGroups(transport);
      assert.deepEqual(ids.map(toHex), [toHex(team.groupId)]);
      const storage = new MemoryStorage();
      const group = await fetchRelayGroup(transport, { signer: identity('bob'), groupId: ids[0]!, storage });
      assert.equal(group.role, 'writer');
      assert.ok(group.keyring.has(team.groupId, group.log.epoch), 'its epoch secret is unwrapped');
      assert.deepEqual(await Group.stored(storage), [toHex(team.groupId)], 'kept in the store');

      // Someone who is no member gets nothing: the relay refuses, and the wait ends typed.
      const stranger = new WebSocketTransport({ url: server.url, identity: identity('mallory'), WebSocket: Ws });
      await stranger.connect();
      stranger.events.on('error', () => undefined);
      assert.deepEqual(await listRelayGroups(stranger), []);
      await assert.rejects(fetchRelayGroup(stranger, { signer: identity('mallory'), groupId: team.groupId, timeoutMs: 300 }), (e: Error) => e instanceof TransportError && e.code === 'offline');
      await stranger.disconnect();
      // Offline: rejected at once.
      await transport.disconnect();
      await assert.rejects(fetchRelayGroup(transport, { signer: identity('bob'), groupId: team.groupId }), (e: Error) => e instanceof TransportError && e.code === 'offline');
    } finally {
      await alice.close();
      await transport.disconnect();
      await server.close();
      await store.close();
    }
  });
});

/** A stand-in for the relay's connection that sends the pages a test gives it. */
function fakeRelay() {
  const events = new Emitter<TransportEvents>();
  const transport = { relayPeer: 'relay', events, send: () => undefined } as unknown as WebSocketTransport;
  const page = (groupId: Uint8Array, fromIndex: number, ops: Uint8Array[]) => events.emit('message', { from: 'relay', message: { type: 'ops', groupId, fromIndex, ops } });
  return { transport, page };
}

describe('groups from the relay: a relay that plays with the pages', () => {
  it('two pages back to back: both verified, in order', async () => {
    const { ops, bob } = await history();
    const { transport, page } = fakeRelay();
    const fetching = fetchRelayGroup(transport, { signer: bob, groupId: ops.groupId, timeoutMs: 2000 });
    page(ops.groupId, 0, [ops.create]);
    page(ops.groupId, 1, [ops.add]);
    assert.equal((await fetching).log.length, 2);
  });

  it('the page that names the member, then its removal: not a member', async () => {
    const { ops, bob } = await history();
    const { transport, page } = fakeRelay();
    const fetching = fetchRelayGroup(transport, { signer: bob, groupId: ops.groupId, timeoutMs: 2000 });
    page(ops.groupId, 0, [ops.create, ops.add]);
    setTimeout(() => page(ops.groupId, 2, [ops.remove]), 50);
    await assert.rejects(fetching, (e: Error) => e instanceof MembershipError && e.code === 'not-a-member');
  });

  it('the same page again and again cannot hold the caller: the clock runs on', async () => {
    const { ops, bob } = await history();
    const { transport, page } = fakeRelay();
    const fetching = fetchRelayGroup(transport, { signer: bob, groupId: ops.groupId, timeoutMs: 300 });
    const again = setInterval(() => page(ops.groupId, 0, [ops.create]), 50);
    try {
      await assert.rejects(fetching, (e: Error) => e instanceof MembershipError && e.code === 'not-a-member');
    } finally {
      clearInterval(again);
    }
  });
});

/** A group's first three ops: alice creates it, adds bob, removes him. */
async function history() {
  const [alice, bob] = [identity('alice'), identity('bob')];
  const keyring = new Keyring();
  const log = await MembershipLog.fromOps([await createGroup(alice)]);
  await unlockEpochSecrets(log, alice, keyring);
  const create = log.ops()[0]!;
  const add = await addMember(log, { signer: alice, keyring }, bob, 'writer');
  await log.append(add);
  await unlockEpochSecrets(log, alice, keyring);
  const remove = await removeMember(log, { signer: alice, keyring }, bob.memberId, null);
  return { ops: { groupId: log.groupId, create, add, remove }, bob };
}
