// The relay's limits, driven in process through fake connections (so that a connection's send
// queue can be held full): rate limits, backpressure that keeps a slow reader's cost bounded
// and lets it catch up in order, and a membership op built on an old head refused so the
// client rebases.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addMember, Keyring, MembershipLog, rebaseOp, unlockEpochSecrets } from '@sealdoc/crypto';
import { Relay, type RelayOptions } from '@sealdoc/relay';
import { connect, groupInMemory } from './fake-connection.js';
import { DOC_ID, eventually, identity } from './clients.js';
import { envelopeMaker } from './raw-client.js';

async function setup(options: Omit<RelayOptions, 'store'> = {}) {
  const [alice, bob] = [identity('alice'), identity('bob')];
  const { ops, store, groupId } = await groupInMemory(alice, [{ keys: bob, role: 'admin' }]);
  const relay = new Relay({ store, ...options });
  return { alice, bob, ops, store, relay, groupId };
}

describe('relay: limits', () => {
  it('a connection over its frame rate is told rate-limited, and closed (1008) when it keeps on; others are unaffected', async () => {
    const { alice, bob, relay } = await setup({ limits: { framesPerSecond: 5 } });
    const flood = await connect(relay, alice);
    const calm = await connect(relay, bob);
    for (let i = 0; i < 200; i++) flood.push({ type: 'list-groups', ref: i + 1 });
    await eventually(() => flood.closedWith !== undefined, 2000, 'the flood is closed');
    assert.equal(flood.closedWith, 1008);
    assert.ok(flood.of('error').some((e) => e.code === 'rate-limited'));
    assert.ok(flood.of('groups').length <= 10, `at most the burst was served, not ${flood.of('groups').length}`);
    calm.push({ type: 'list-groups', ref: 1 });
    await eventually(() => calm.of('groups').length === 1, 2000, 'the calm one is served');
    relay.close();
  });

  it('a slow reader gets nothing live while its queue is full (the relay holds no more for it), then catches up from the store, in order, without gaps', async () => {
    const { alice, bob, ops, store, relay, groupId } = await setup({ limits: { highWaterBytes: 8 * 1024 } });
    const writer = await connect(relay, alice);
    const slow = await connect(relay, bob);
    slow.push({ type: 'subscribe', groupId, docId: DOC_ID, cursor: 0 });
    await eventually(() => slow.of('caught-up').length === 1, 2000, 'subscribed');
    slow.bufferedAmount = 10 * 1024 * 1024; // its socket is not draining
    const seal = await envelopeMaker(alice, ops, DOC_ID);
    const total = 300;
    for (let seq = 0; seq < total; seq++) writer.push({ type: 'push', ref: seq + 1, envelope: await seal(seq) });
    await eventually(() => writer.of('ack').length === total, 10_000, 'every push acknowledged');
    const whileFull = slow.sentBytes;
    assert.equal(slow.of('deliver').length, 0, 'nothing sent live into a full queue');
    // Nor is anything queued for it inside the relay: the envelopes wait in the store.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(slow.sentBytes, whileFull);
    slow.bufferedAmount = 0; // it drains
    await eventually(() => slow.of('deliver').length === total, 10_000, 'the slow reader catches up');
    const cursors = slow.of('deliver').map((d) => d.cursor);
    const stored = (await store.envelopesAfter(groupId, DOC_ID, 0, 1000)).map((e) => e.cursor);
    assert.deepEqual(cursors, stored, 'in cursor order, each once');
    relay.close();
  });

  it('an op built on an old head is refused as stale-head and nothing is appended; rebased, it is accepted', async () => {
    const { alice, bob, ops, store, relay, groupId } = await setup();
    const a = await connect(relay, alice);
    const b = await connect(relay, bob);
    // Both admins build on the same head; Alice's lands first.
    const logA = await MembershipLog.fromOps(ops);
    const logB = await MembershipLog.fromOps(ops);
    const [keysA, keysB] = [new Keyring(), new Keyring()];
    await unlockEpochSecrets(logA, alice, keysA);
    await unlockEpochSecrets(logB, bob, keysB);
    const opA = await addMember(logA, { signer: alice, keyring: keysA }, identity('carol'), 'writer');
    const opB = await addMember(logB, { signer: bob, keyring: keysB }, identity('dave'), 'writer');
    a.push({ type: 'ops', groupId, fromIndex: 1, ops: [opA] });
    await eventually(async () => (await store.loadOps(groupId)).length === 2, 2000, "Alice's op");
    b.push({ type: 'ops', groupId, fromIndex: 1, ops: [opB] });
    await eventually(() => b.of('error').length === 1, 2000, 'the refusal');
    assert.equal(b.of('error')[0]!.code, 'stale-head');
    assert.equal((await store.loadOps(groupId)).length, 2, 'nothing appended');
    // Bob fetches the log, rebases and sends again.
    await logB.sync(await store.loadOps(groupId), 0);
    await unlockEpochSecrets(logB, bob, keysB);
    const rebased = await rebaseOp(opB, logB, { signer: bob, keyring: keysB });
    b.push({ type: 'ops', groupId, fromIndex: 2, ops: [rebased] });
    await eventually(async () => (await store.loadOps(groupId)).length === 3, 2000, 'the rebased op');
    relay.close();
  });
});
