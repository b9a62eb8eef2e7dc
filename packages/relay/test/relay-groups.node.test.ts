// Groups from the relay (core's listRelayGroups and fetchRelayGroup): a device that does not
// keep a group yet gets it from the relay's copy of the log, verified here.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { fetchRelayGroup, listRelayGroups, MemoryStorage, TransportError, WebSocketTransport, Group, type WebSocketLike } from '@sealdoc/core';
import { toHex } from '@sealdoc/crypto';
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
      const group = await fetchRelayGroup(transport, { identity: identity('bob'), groupId: ids[0]!, storage });
      assert.equal(group.role, 'writer');
      assert.ok(group.keyring.has(team.groupId, group.log.epoch), 'its epoch secret is unwrapped');
      assert.deepEqual(await Group.stored(storage), [toHex(team.groupId)], 'kept in the store');

      // Someone who is no member gets nothing: the relay refuses, and the wait ends typed.
      const stranger = new WebSocketTransport({ url: server.url, identity: identity('mallory'), WebSocket: Ws });
      await stranger.connect();
      stranger.events.on('error', () => undefined);
      assert.deepEqual(await listRelayGroups(stranger), []);
      await assert.rejects(fetchRelayGroup(stranger, { identity: identity('mallory'), groupId: team.groupId, timeoutMs: 300 }), (e: Error) => e instanceof TransportError && e.code === 'offline');
      await stranger.disconnect();
      // Offline: rejected at once.
      await transport.disconnect();
      await assert.rejects(fetchRelayGroup(transport, { identity: identity('bob'), groupId: team.groupId }), (e: Error) => e instanceof TransportError && e.code === 'offline');
    } finally {
      await alice.close();
      await transport.disconnect();
      await server.close();
      await store.close();
    }
  });
});
