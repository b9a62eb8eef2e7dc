// When a push is committed and when its answers leave: the commit starts once the task that
// checked it is done, and the ack to the pusher and the deliveries to the document's other
// subscribers go out right after the commit; neither waits a turn of the event loop (for the next
// poll phase, where the next burst of frames would be read and checked first).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { verifyOnCallingThread } from '@sealdoc/crypto';
import { Relay } from '@sealdoc/relay';
import { DOC_ID, eventually, identity } from './clients.js';
import { connect, groupInMemory } from './fake-connection.js';
import { envelopeMaker } from './raw-client.js';

/** A group of Alice (admin) and Bob (writer) in a fresh memory store. */
async function aliceAndBob() {
  const [alice, bob] = [identity('alice'), identity('bob')];
  return { alice, bob, ...(await groupInMemory(alice, [{ keys: bob, role: 'writer' }])) };
}

it('a push checked in a task is committed before an immediate queued in that task runs', async () => {
  const { alice, ops, store } = await aliceAndBob();
  let writes = 0;
  const put = store.putEnvelopes.bind(store);
  store.putEnvelopes = (envelopes) => {
    writes++;
    return put(envelopes);
  };
  // Checks on this thread, in the task that handles the frame (no verify pool's turn, and
  // node:crypto's synchronous check, as sealdoc-relay chooses: cli.ts).
  verifyOnCallingThread(true);
  try {
    const relay = new Relay({ store, verifyThreads: 0 });
    const a = await connect(relay, alice);
    const seal = await envelopeMaker(alice, ops, DOC_ID);
    for (let seq = 0; seq < 3; seq++) {
      const envelope = await seal(seq);
      // Past the spacing of commit rounds: this round starts as soon as it may.
      await new Promise((resolve) => setTimeout(resolve, 5));
      const seen = new Promise<number>((resolve) => {
        a.push({ type: 'push', ref: seq + 1, envelope });
        setImmediate(() => resolve(writes));
      });
      assert.equal(await seen, seq + 1, `push ${seq + 1} was written before the immediate`);
      await eventually(() => a.of('ack').length === seq + 1, 2000, `the ack of push ${seq + 1}`);
    }
    assert.deepEqual(a.codes(), []);
    relay.close();
  } finally {
    verifyOnCallingThread(false);
  }
});

it("a commit's ack and deliveries leave before an immediate queued as the commit resolves runs", async () => {
  const { alice, bob, ops, log, store } = await aliceAndBob();
  // What had left when an immediate queued by the write itself ran.
  const seen: { acks: number; deliveries: number }[] = [];
  const put = store.putEnvelopes.bind(store);
  const relay = new Relay({ store, verifyThreads: 0 });
  const [a, b] = [await connect(relay, alice), await connect(relay, bob)];
  store.putEnvelopes = async (envelopes) => {
    const results = await put(envelopes);
    setImmediate(() => seen.push({ acks: a.of('ack').length, deliveries: b.of('deliver').length }));
    return results;
  };
  b.push({ type: 'subscribe', groupId: log.groupId, docId: DOC_ID, cursor: 0 });
  await eventually(() => b.of('caught-up').length === 1, 2000, 'the subscription');
  const seal = await envelopeMaker(alice, ops, DOC_ID);
  for (let seq = 0; seq < 3; seq++) {
    a.push({ type: 'push', ref: seq + 1, envelope: await seal(seq) });
    await eventually(() => seen.length === seq + 1, 2000, `the commit of push ${seq + 1}`);
    assert.deepEqual(seen[seq], { acks: seq + 1, deliveries: seq + 1 }, `push ${seq + 1}: its ack and delivery had left`);
  }
  assert.deepEqual(a.codes(), []);
  relay.close();
});
