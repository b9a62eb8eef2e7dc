import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { decodeSnapshot, encodeSnapshot } from '@sealdoc/core';
import { World, toHex } from './helpers.js';

const text = (state: Uint8Array) => {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, state);
  return doc.getText('t').toString();
};

describe('SealedDoc.versions', () => {
  it('lists the snapshots held, oldest first, with their verified author and sealed time, on every member', async () => {
    const world = await World.create(['alice', 'bob']);
    const [alice, bob] = [world.peer('alice'), world.peer('bob')];
    alice.doc.getText('t').insert(0, 'first');
    await world.settle();
    const before = Date.now();
    await alice.sealed.snapshot();
    bob.doc.getText('t').insert(5, ' second');
    await world.settle();
    await bob.sealed.snapshot();
    await world.settle();
    for (const peer of [alice, bob]) {
      const versions = await peer.sealed.versions();
      assert.deepEqual(
        versions.map((v) => [text(v.state), toHex(v.person!), toHex(v.author)]),
        [
          ['first', toHex(alice.identity.memberId), toHex(alice.identity.memberId)],
          ['first second', toHex(bob.identity.memberId), toHex(bob.identity.memberId)],
        ],
        peer.name,
      );
      for (const v of versions) assert.ok(v.time! >= before && v.time! <= Date.now());
    }
  });

  it('a version stays listed, with its author, once its author is removed', async () => {
    const world = await World.create(['alice', 'bob']);
    const [alice, bob] = [world.peer('alice'), world.peer('bob')];
    bob.doc.getText('t').insert(0, 'by bob');
    await world.settle();
    await bob.sealed.snapshot();
    await world.settle();
    const before = await alice.sealed.versions();
    assert.deepEqual(before.map((v) => toHex(v.person!)), [toHex(bob.identity.memberId)]);
    await world.change('remove', 'bob', ['alice'], { cutoff: world.highestSeqOf('bob') });
    await world.settle();
    // Alice, who started the new epoch, sealed a snapshot under it: a version of hers after Bob's.
    const after = await alice.sealed.versions();
    assert.deepEqual(
      after.map((v) => [v.id, toHex(v.person!), text(v.state)]),
      [
        [before[0]!.id, toHex(bob.identity.memberId), 'by bob'],
        [after[1]!.id, toHex(alice.identity.memberId), 'by bob'],
      ],
    );
  });

  it('a snapshot of version 1 (no time) still reads; a version past 2 is refused', () => {
    const covers: [Uint8Array, [number, number][]][] = [[new Uint8Array(32).fill(1), [[0, 3]]]];
    const state = new Uint8Array([9, 9]);
    const v2 = encodeSnapshot({ covers, time: 1_700_000_000_000, state });
    assert.equal(v2[0], 2);
    assert.deepEqual(decodeSnapshot(v2), { covers, time: 1_700_000_000_000, state });
    const v1 = new Uint8Array([1, ...v2.subarray(1, v2.length - 8 - 2), ...state]);
    assert.deepEqual(decodeSnapshot(v1), { covers, state });
    assert.throws(() => decodeSnapshot(new Uint8Array([3, ...v2.subarray(1)])), { code: 'unsupported-version' });
  });
});
