// A commit round (commit-round.ts) writes the batches of several groups in one transaction,
// gives each its own results, and never waits past a turn of the event loop for a batch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryRelayStore } from '@sealdoc/relay';
import type { NewEnvelope } from '../dist/store.js';
import { CommitRound } from '../dist/commit-round.js';

const envelope = (group: number, seq: number): NewEnvelope => ({ groupId: new Uint8Array(16).fill(group), docId: new Uint8Array(16).fill(1), author: new Uint8Array(32).fill(2), seq, bytes: new Uint8Array([group, seq]) });

/** A store that counts its writes. */
function counted() {
  const store = new MemoryRelayStore();
  const writes: number[] = [];
  const put = store.putEnvelopes.bind(store);
  store.putEnvelopes = async (envelopes) => {
    writes.push(envelopes.length);
    return put(envelopes);
  };
  return { store, writes };
}

test('commit round: the batches it expects are written in one transaction, each given its own results', async () => {
  const { store, writes } = counted();
  const round = new CommitRound(store, 3);
  const a = round.put([envelope(1, 0), envelope(1, 1)]);
  round.skip();
  const b = round.put([envelope(2, 0)]);
  const [ra, rb] = await Promise.all([a, b]);
  assert.deepEqual(writes, [3]);
  assert.deepEqual(
    ra.map((r) => r.outcome),
    ['stored', 'stored'],
  );
  assert.equal(rb.length, 1);
  assert.equal(rb[0]!.outcome, 'stored');
  assert.ok(rb[0]!.cursor > ra[1]!.cursor);
  // The same envelope again: a duplicate, told to its own batch.
  const again = new CommitRound(store, 1);
  assert.equal((await again.put([envelope(2, 0)]))[0]!.outcome, 'duplicate');
});

test('commit round: it writes by the next turn whatever has not come, and a late batch writes alone', async () => {
  const { store, writes } = counted();
  const round = new CommitRound(store, 2);
  const first = await round.put([envelope(1, 0)]);
  assert.equal(first[0]!.outcome, 'stored');
  assert.deepEqual(writes, [1]);
  const late = await round.put([envelope(2, 0)]);
  assert.equal(late[0]!.outcome, 'stored');
  assert.deepEqual(writes, [1, 1]);
  round.skip(); // nothing happens
  // A round nobody puts in writes nothing.
  const empty = new CommitRound(store, 2);
  empty.skip();
  empty.skip();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(writes, [1, 1]);
});

test('commit round: a failed write fails every batch in it', async () => {
  const store = new MemoryRelayStore();
  store.putEnvelopes = async () => {
    throw new Error('disk full');
  };
  const round = new CommitRound(store, 2);
  const results = await Promise.allSettled([round.put([envelope(1, 0)]), round.put([envelope(2, 0)])]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
});
