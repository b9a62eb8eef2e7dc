// The rotation after a member leaves, through a real relay: the engine's own (no call from the
// app, SealdocProvider included), made once however many admin devices are online, and by an
// admin device that was offline at the leave once it is back. The schedule's failures (busy,
// offline, refusals, a lying relay): core/test/leave.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { WebSocket } from 'ws';
import { Group, SealdocProvider, type GroupRelay, type WebSocketLike } from '@sealdoc/core';
import { isLeave, Keyring, MembershipLog, toHex, type MembershipOp } from '@sealdoc/crypto';
import { MemoryRelayStore, startRelay } from '@sealdoc/relay';
import { eventually, identity, Team } from './clients.js';

const Ws = WebSocket as unknown as new (url: string) => WebSocketLike;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The log's ops, decoded. */
const opsOf = (group: Group): MembershipOp[] => Array.from({ length: group.log.length }, (_, i) => group.log.opAt(i));

/** `group`'s relay, with each commit's outcome recorded in `outcomes`. */
function recorded(group: Group, outcomes: string[]): GroupRelay {
  const relay = group.relay!;
  return {
    commitOps: (groupId, fromIndex, ops) =>
      relay.commitOps(groupId, fromIndex, ops).then(
        () => void outcomes.push('stored'),
        (error: { code?: string }) => {
          outcomes.push(String(error.code));
          throw error;
        },
      ),
    highestSeq: (groupId, deviceId) => relay.highestSeq(groupId, deviceId),
  };
}

describe('the rotation after a leave, through a relay', () => {
  it('two admin devices online: exactly one rotation lands; the other is refused (stale-head) or finds none owed, and stops', async () => {
    const store = new MemoryRelayStore();
    const server = await startRelay({ store, port: 0 });
    const team = await Team.create(['alice', 'bob', 'carol', 'dave'], { dave: 'admin' });
    const clients = await Promise.all(['alice', 'bob', 'carol', 'dave'].map((n) => team.connect(n, server.url)));
    const [alice, bob, carol, dave] = clients as [(typeof clients)[0], (typeof clients)[0], (typeof clients)[0], (typeof clients)[0]];
    try {
      await Promise.all(clients.map((c) => c.sealed.whenSynced));
      const outcomes: string[] = [];
      for (const admin of [alice, dave]) admin.group.relay = recorded(admin.group, outcomes);
      alice.doc.getText('t').insert(0, 'before');
      await eventually(() => carol.text() === 'before' && bob.text() === 'before');
      const start = alice.group.log.length;
      await bob.group.leave();
      await eventually(() => [alice, carol, dave].every((c) => c.group.log.length === start + 2), 5000, 'the leave and one rotation everywhere');
      await sleep(1500); // past the loser's retries
      assert.equal(outcomes.filter((o) => o === 'stored').length, 1, `one rotation stored: ${outcomes}`);
      assert.ok(outcomes.every((o) => o === 'stored' || o === 'stale-head'), `the other refused as stale-head: ${outcomes}`);
      assert.ok(outcomes.length <= 2, `no storm: ${outcomes}`);
      for (const c of [alice, carol, dave]) {
        const ops = opsOf(c.group);
        assert.equal(ops.length, start + 2, `${c.name}: still the leave and one rotation`);
        assert.ok(isLeave(ops[start]!));
        assert.equal(ops[start + 1]!.change.type, 'rotate');
        assert.ok([alice, dave].some((a) => toHex(a.identity.memberId) === toHex(ops[start + 1]!.author)), 'an admin’s');
      }
      alice.doc.getText('t').insert(6, ' after');
      await eventually(() => carol.text() === 'before after');
      await sleep(300);
      assert.equal(bob.text(), 'before', 'the leaver reads nothing new');
      assert.deepEqual([alice, carol, dave].flatMap((c) => c.errors), []);
    } finally {
      for (const c of clients) await c.close();
      await server.close();
      await store.close();
    }
  });

  it('an app on SealdocProvider calls nothing: an admin device offline at the leave rotates once it is back', async () => {
    const store = new MemoryRelayStore();
    const server = await startRelay({ store, port: 0 });
    const team = await Team.create(['alice', 'bob', 'carol']);
    const open = async (name: string) => {
      const group = new Group({ signer: identity(name), log: await MembershipLog.fromOps(team.ops), keyring: new Keyring() });
      await group.refresh();
      const doc = new Y.Doc();
      return { name, group, doc, provider: new SealdocProvider(server.url, 'notes', doc, { group, WebSocketPolyfill: Ws }) };
    };
    const [alice, bob, carol] = [await open('alice'), await open('bob'), await open('carol')];
    const errors: string[] = [];
    alice.provider.on('error', (error) => errors.push(`${error.name}:${(error as { code?: string }).code}`));
    try {
      await Promise.all([alice, bob, carol].map((p) => p.provider.whenSynced));
      alice.doc.getText('t').insert(0, 'before');
      await eventually(() => carol.doc.getText('t').toString() === 'before' && bob.doc.getText('t').toString() === 'before');
      alice.provider.disconnect();
      await eventually(() => alice.provider.status === 'disconnected');
      const start = carol.group.log.length;
      await bob.group.leave();
      await eventually(() => carol.group.log.length === start + 1);
      await sleep(500);
      assert.equal(carol.group.log.length, start + 1, 'no one rotates while the only admin is away');
      assert.ok(isLeave(carol.group.log.opAt(start)));
      alice.provider.connect();
      await eventually(() => carol.group.log.length === start + 2, 5000, 'the admin’s rotation');
      const rotation = carol.group.log.opAt(start + 1);
      assert.equal(rotation.change.type, 'rotate');
      assert.equal(toHex(rotation.author), toHex(alice.group.deviceId));
      alice.doc.getText('t').insert(6, ' after');
      await eventually(() => carol.doc.getText('t').toString() === 'before after');
      await sleep(300);
      assert.equal(bob.doc.getText('t').toString(), 'before', 'the leaver reads nothing new');
      assert.deepEqual(errors, []);
    } finally {
      for (const p of [alice, bob, carol]) await p.provider.destroy();
      await server.close();
      await store.close();
    }
  });
});
