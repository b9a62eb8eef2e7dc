// Several relay nodes on one store. They commit cursors out of order: another node's envelope may
// reach this node's subscriber after one with a larger cursor. A subscriber that falls behind at
// that moment catches up from the store later; it must still get the envelope with the smaller
// cursor (it used to catch up from the largest cursor it had been sent, and never got it: bob's
// edit lost for alice until she reconnected). And they race to append the same ops (a group
// created by two of its devices at once, an op sent again through another node): the second is
// a duplicate, as on one node, not `stale-head` (which clients showed as an error).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { addMember, createGroup, Keyring, MembershipLog, unlockEpochSecrets } from '@sealdoc/crypto';
import { MemoryRelayStore, Relay, type RelayStore, type StoreEvent } from '@sealdoc/relay';
import { DOC_ID, eventually, identity } from './clients.js';
import { connect, groupInMemory } from './fake-connection.js';
import { envelopeMaker } from './raw-client.js';

/**
 * Alice, subscribed and caught up, on a relay whose store other nodes write to: `stored` puts
 * bob's envelopes of these sequence numbers in the store (their cursors), `tell` tells this node of
 * one as the store's events do, `behind` fills alice's queue (or drains it), and `holdRead` makes
 * the relay's next read of the store wait for `release`, its rows read before the wait or after.
 */
async function aliceSubscribed() {
  const [alice, bob] = [identity('alice'), identity('bob')];
  const { ops, store, groupId } = await groupInMemory(alice, [{ keys: bob, role: 'writer' }]);
  let listener!: (event: StoreEvent) => void;
  (store as RelayStore).onEvent = (l) => (listener = l);
  const relay = new Relay({ store, verifyThreads: 0 });
  const a = await connect(relay, alice);
  a.push({ type: 'subscribe', groupId, docId: DOC_ID, cursor: 0 });
  await eventually(() => a.of('caught-up').length === 1, 2000, 'alice is caught up');
  const seal = await envelopeMaker(bob, ops, DOC_ID);
  return {
    relay,
    a,
    stored: async (...seqs: number[]) => (await store.putEnvelopes(await Promise.all(seqs.map(async (seq) => ({ groupId, docId: DOC_ID, author: bob.memberId, seq, bytes: await seal(seq) }))))).map((r) => r.cursor),
    tell: (seq: number, cursor: number) => listener({ type: 'envelope', groupId, docId: DOC_ID, cursor, author: bob.memberId, seq }),
    delivered: (cursor: number) => a.of('deliver').some((d) => d.cursor === cursor),
    behind: (on: boolean) => (a.bufferedAmount = on ? relay.limits.highWaterBytes + 1 : 0),
    holdRead(rowsFirst: boolean) {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const hold = { reads: 0, release };
      const after = store.envelopesAfter.bind(store);
      store.envelopesAfter = async (...args) => {
        if (hold.reads++ > 0) return after(...args);
        if (!rowsFirst) await held;
        const rows = await after(...args);
        if (rowsFirst) await held;
        return rows;
      };
      return hold;
    },
  };
}

/** A pause in which what the relay does at once is done. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

it('an envelope another node stored with a smaller cursor reaches a subscriber that fell behind when it was told of it', async () => {
  const { relay, a, stored, tell, delivered, behind } = await aliceSubscribed();
  // Another node stores two of bob's envelopes; their commits are told to this node out of order.
  const [first, second] = await stored(0, 1);
  tell(1, second!);
  await eventually(() => delivered(second!), 2000, 'the larger cursor is delivered');
  // Alice's queue is full when the smaller cursor is told: she falls behind, then drains.
  behind(true);
  tell(0, first!);
  await settle();
  assert.ok(!delivered(first!), 'alice is behind: the first waits');
  behind(false);
  await eventually(() => delivered(first!), 3000, 'the smaller cursor, told while alice was behind, is delivered once she drains');
  assert.deepEqual(a.codes(), []);
  relay.close();
});

it('an envelope with a smaller cursor told while a lagging subscriber catches up is delivered too', async () => {
  const { relay, a, stored, tell, delivered, behind, holdRead } = await aliceSubscribed();
  const [first, second, third] = await stored(0, 1, 2);
  tell(1, second!);
  await eventually(() => delivered(second!), 2000, 'the second cursor is delivered');
  // Alice falls behind at the third; as she catches up, the store's read is held while the first is told.
  behind(true);
  tell(2, third!);
  await settle();
  assert.ok(!delivered(third!), 'alice is behind: the third waits');
  const read = holdRead(false);
  behind(false);
  await eventually(() => read.reads > 0, 3000, 'alice catches up from the store');
  tell(0, first!);
  read.release();
  await eventually(() => delivered(third!), 3000, 'the third cursor is delivered');
  await eventually(() => delivered(first!), 3000, 'the first cursor, told during the catch-up, is delivered');
  assert.deepEqual(a.codes(), []);
  relay.close();
});

it('an envelope stored while a lagging subscriber reads the store (its read taken before that commit) is delivered too', async () => {
  const { relay, a, stored, tell, delivered, behind, holdRead } = await aliceSubscribed();
  // Alice is behind when the first is told.
  behind(true);
  const [first] = await stored(0);
  tell(0, first!);
  await settle();
  assert.equal(a.of('deliver').length, 0, 'alice is behind');
  // Her catch-up reads the store (the first only), and its answer comes after the second is stored and told.
  const read = holdRead(true);
  behind(false);
  await eventually(() => read.reads > 0, 3000, 'alice catches up from the store');
  const [second] = await stored(1);
  tell(1, second!);
  read.release();
  await eventually(() => delivered(first!), 3000, 'the first is delivered');
  await eventually(() => delivered(second!), 3000, 'the second, stored during the catch-up, is delivered');
  assert.deepEqual(a.codes(), []);
  relay.close();
});

it('a group created through two nodes at once with the same op: the second is a duplicate, not stale-head', async () => {
  const [alice, bob] = [identity('alice'), identity('bob')];
  const ops = [await createGroup(alice, { members: [{ keys: bob, role: 'writer' }], history: 'all' })];
  const { groupId } = await MembershipLog.fromOps(ops);
  const store = new MemoryRelayStore();
  const [one, two] = [new Relay({ store, verifyThreads: 0 }), new Relay({ store, verifyThreads: 0 })];
  const [a, b] = [await connect(one, alice), await connect(two, bob)];
  a.push({ type: 'commit-ops', ref: 1, groupId, fromIndex: 0, ops });
  await eventually(() => a.of('ack').length === 1, 2000, 'node one stores the group');
  // Node two looked the group up before node one's commit showed.
  const membership = store.membership.bind(store);
  store.membership = async () => ((store.membership = membership), 'unknown-group');
  b.push({ type: 'commit-ops', ref: 1, groupId, fromIndex: 0, ops });
  await eventually(() => b.of('ack').length === 1 || b.codes().length > 0, 2000, 'node two answers');
  assert.deepEqual(b.codes(), []);
  assert.equal(b.of('ack')[0]!.cursor, 1);
  assert.equal((await store.loadOps(groupId)).length, 1);
  one.close();
  two.close();
});

it('an op sent again through a node whose log is behind: a duplicate, not stale-head; a different op there is still stale-head', async () => {
  const [alice, bob, carol, dave] = [identity('alice'), identity('bob'), identity('carol'), identity('dave')];
  const { ops, store, groupId, log } = await groupInMemory(alice, [{ keys: bob, role: 'writer' }]);
  const [one, two] = [new Relay({ store, verifyThreads: 0 }), new Relay({ store, verifyThreads: 0 })];
  // Node two holds the log as it is now (one op).
  const b = await connect(two, bob);
  b.push({ type: 'fetch-ops', groupId, fromIndex: 0 });
  await eventually(() => b.of('ops').length === 1, 2000, 'node two reads the log');
  const keyring = new Keyring();
  await unlockEpochSecrets(log, alice, keyring);
  const addCarol = await addMember(log, { signer: alice, keyring }, carol, 'writer');
  const addDave = await addMember(log, { signer: alice, keyring }, dave, 'writer');
  // Alice appends through node one; her other connection sends the same op through node two,
  // whose log is behind (no event reaches it: nodes on a memory store hear nothing of each other).
  const a1 = await connect(one, alice);
  a1.push({ type: 'commit-ops', ref: 1, groupId, fromIndex: 1, ops: [addCarol] });
  await eventually(() => a1.of('ack').length === 1, 2000, 'node one stores the op');
  const a2 = await connect(two, alice);
  a2.push({ type: 'commit-ops', ref: 1, groupId, fromIndex: 1, ops: [addCarol] });
  await eventually(() => a2.of('ack').length === 1 || a2.codes().length > 0, 2000, 'node two answers');
  assert.deepEqual(a2.codes(), []);
  assert.equal(a2.of('ack')[0]!.cursor, 2);
  // Another op at the same place is a fork: refused.
  a2.push({ type: 'commit-ops', ref: 2, groupId, fromIndex: 1, ops: [addDave] });
  await eventually(() => a2.codes().length > 0, 2000, 'node two refuses the fork');
  assert.deepEqual(a2.codes(), ['stale-head']);
  assert.equal((await store.loadOps(groupId)).length, 2);
  assert.equal(ops.length, 1);
  one.close();
  two.close();
});
