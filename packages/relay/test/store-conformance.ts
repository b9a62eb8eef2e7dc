// The one conformance suite every relay store passes (memory, SQLite, PostgreSQL).
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { NewEnvelope, RelayStore } from '@sealdoc/relay';
import { testWith } from '@sealdoc/core/testing/conformance';

export interface RelayStoreFixture {
  store: RelayStore;
  /** Closes and opens the store again on the same data (persistent stores only). */
  reopen?: () => Promise<RelayStore>;
  teardown?: () => Promise<void>;
}

const id = (n: number) => new Uint8Array(16).fill(n);
const member = (n: number) => new Uint8Array(32).fill(n);
/** The effect of ops all authored by `author`, adding `joined` and removing `left`. */
const effect = (count: number, author = 1, joined = [author], left: number[] = []) => ({ authors: Array.from({ length: count }, () => member(author)), joined: joined.map(member), left: left.map(member) });
const envelope = (doc: number, author: number, seq: number, byte = seq): NewEnvelope => ({
  groupId: id(1),
  docId: id(doc),
  author: member(author),
  seq,
  bytes: new Uint8Array([doc, author, seq, byte]),
});

export function relayStoreConformance(name: string, setup: () => Promise<RelayStoreFixture>, options: { persistent?: boolean } = {}): void {
  const test = testWith(setup);

  describe(`RelayStore conformance: ${name}`, () => {
    test('a log is appended only at its length, atomically', async ({ store }) => {
      assert.deepEqual(await store.loadOps(id(1)), []);
      assert.equal(await store.appendOps(id(1), 0, [Uint8Array.of(1), Uint8Array.of(2)], effect(2)), true);
      assert.equal(await store.appendOps(id(1), 1, [Uint8Array.of(9)], effect(1)), false, 'not at its length');
      assert.equal(await store.appendOps(id(1), 3, [Uint8Array.of(9)], effect(1)), false, 'past its length');
      assert.equal(await store.appendOps(id(1), 2, [Uint8Array.of(3)], effect(1)), true);
      assert.deepEqual(await store.loadOps(id(1)), [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)]);
      await store.appendOps(id(2), 0, [Uint8Array.of(7)], effect(1, 2));
      assert.deepEqual(await store.unindexedGroups(), [], 'every group appended with its members is indexed');
    });

    test('the membership index follows each append: standing, groups of a member', async ({ store }) => {
      assert.equal(await store.membership(id(1), member(1)), 'unknown-group');
      await store.appendOps(id(1), 0, [Uint8Array.of(1)], effect(1, 1, [1, 2]));
      await store.appendOps(id(2), 0, [Uint8Array.of(2)], effect(1, 2, [2]));
      assert.equal(await store.membership(id(1), member(2)), 'member');
      assert.equal(await store.membership(id(1), member(3)), 'not-a-member');
      assert.deepEqual((await store.groupsOf(member(2))).map((g) => g[0]).sort(), [1, 2]);
      // Member 2 removed from group 1.
      await store.appendOps(id(1), 1, [Uint8Array.of(3)], effect(1, 1, [], [2]));
      assert.equal(await store.membership(id(1), member(2)), 'not-a-member');
      assert.equal(await store.membership(id(1), member(1)), 'member', 'a removal changes that member only');
      assert.deepEqual((await store.groupsOf(member(2))).map((g) => g[0]), [2]);
      await store.setMembers(id(2), [member(4)]);
      assert.deepEqual((await store.groupsOf(member(4))).map((g) => g[0]), [2]);
      assert.deepEqual(await store.groupsOf(member(2)), []);
    });

    test('usage per identity: groups created, documents started, bytes held (retention gives bytes back)', async ({ store }) => {
      assert.deepEqual(await store.usage(member(1)), { groups: 0, documents: 0, bytes: 0 });
      await store.appendOps(id(1), 0, [new Uint8Array(10), new Uint8Array(5)], { authors: [member(1), member(2)], joined: [member(1), member(2)], left: [] });
      await store.appendOps(id(1), 2, [new Uint8Array(7)], effect(1, 2, []));
      assert.deepEqual(await store.usage(member(1)), { groups: 1, documents: 0, bytes: 10 });
      assert.deepEqual(await store.usage(member(2)), { groups: 0, documents: 0, bytes: 12 });
      // Two documents started by 1 (one in this batch with another envelope), one by 2; a replay counts nothing.
      const put = await store.putEnvelopes([envelope(1, 1, 0), envelope(1, 2, 0), envelope(2, 2, 1), envelope(3, 1, 2)]);
      await store.putEnvelopes([envelope(1, 1, 0), envelope(3, 2, 3)]);
      assert.deepEqual(await store.usage(member(1)), { groups: 1, documents: 2, bytes: 10 + 8 });
      assert.deepEqual(await store.usage(member(2)), { groups: 0, documents: 1, bytes: 12 + 12 });
      await store.dropEnvelopes([put[0]!.cursor, put[0]!.cursor]);
      assert.deepEqual(await store.usage(member(1)), { groups: 1, documents: 2, bytes: 10 + 4 }, 'dropped once, counted once');
    });

    test('envelopes by sequence range, bounded by a cursor, none dropped', async ({ store }) => {
      const put = await store.putEnvelopes([envelope(1, 1, 5), envelope(1, 1, 2), envelope(1, 2, 3), envelope(1, 1, 9), envelope(2, 1, 4), envelope(1, 1, 7)]);
      const seqs = async (from: number, to: number, maxCursor: number, limit = 10) => (await store.envelopesBySeq(id(1), id(1), member(1), from, to, maxCursor, limit)).map((e) => e.seq);
      assert.deepEqual(await seqs(0, 100, Number.MAX_SAFE_INTEGER), [2, 5, 7, 9]);
      assert.deepEqual(await seqs(3, 8, Number.MAX_SAFE_INTEGER), [5, 7]);
      assert.deepEqual(await seqs(0, 100, put[3]!.cursor), [2, 5, 9], 'not past the cursor');
      assert.deepEqual(await seqs(0, 100, Number.MAX_SAFE_INTEGER, 2), [2, 5]);
      await store.dropEnvelopes([put[1]!.cursor]);
      assert.deepEqual(await seqs(0, 100, Number.MAX_SAFE_INTEGER), [5, 7, 9]);
      const [first] = await store.envelopesBySeq(id(1), id(1), member(1), 5, 5, Number.MAX_SAFE_INTEGER, 1);
      assert.deepEqual(first, { ...envelope(1, 1, 5), cursor: put[0]!.cursor });
    });

    test('envelopes get growing cursors; a replay is a duplicate, other bytes a conflict', async ({ store }) => {
      const [a, b] = await store.putEnvelopes([envelope(1, 1, 0), envelope(1, 2, 0)]);
      assert.equal(a!.outcome, 'stored');
      assert.ok(b!.cursor > a!.cursor);
      const [again, other, c] = await store.putEnvelopes([envelope(1, 1, 0), envelope(1, 2, 0, 99), envelope(2, 1, 1)]);
      assert.deepEqual(again, { outcome: 'duplicate', cursor: a!.cursor });
      assert.deepEqual(other, { outcome: 'conflict', cursor: b!.cursor });
      assert.equal(c!.outcome, 'stored');
      assert.ok(c!.cursor > b!.cursor);
      // The conflicting bytes did not replace the first ones.
      const [kept] = await store.envelopesAt([b!.cursor]);
      assert.deepEqual(kept!.bytes, envelope(1, 2, 0).bytes);
    });

    test('a document reads back after a cursor, in order, paged; by cursors; its index; highest seq per author', async ({ store }) => {
      const put = await store.putEnvelopes([envelope(1, 1, 0), envelope(2, 1, 1), envelope(1, 2, 0), envelope(1, 1, 2), envelope(1, 2, 5)]);
      const cursors = put.map((p) => p.cursor);
      const doc1 = await store.envelopesAfter(id(1), id(1), 0, 100);
      assert.deepEqual(doc1.map((e) => e.cursor), [cursors[0], cursors[2], cursors[3], cursors[4]]);
      assert.deepEqual(doc1[0], { ...envelope(1, 1, 0), cursor: cursors[0] });
      assert.deepEqual((await store.envelopesAfter(id(1), id(1), cursors[2]!, 1)).map((e) => e.cursor), [cursors[3]]);
      assert.deepEqual(await store.envelopesAfter(id(1), id(9), 0, 100), []);
      assert.deepEqual((await store.envelopesAt([cursors[4]!, cursors[1]!, 999_999])).map((e) => e.cursor), [cursors[1], cursors[4]]);
      assert.deepEqual(
        (await store.index(id(1), id(1))).map((e) => [e.author[0], e.seq, e.cursor, e.dropped]),
        [[1, 0, cursors[0], false], [2, 0, cursors[2], false], [1, 2, cursors[3], false], [2, 5, cursors[4], false]],
      );
      assert.equal(await store.highestSeq(id(1), member(1)), 2);
      assert.equal(await store.highestSeq(id(1), member(2)), 5);
      assert.equal(await store.highestSeq(id(1), member(3)), undefined);
    });

    test('dropped envelopes (retention) are served no more, stay in the index, and a replay of one stores nothing', async ({ store }) => {
      const put = await store.putEnvelopes([envelope(1, 1, 0), envelope(1, 1, 1), envelope(1, 2, 0)]);
      const [c0, c1, c2] = put.map((p) => p.cursor) as [number, number, number];
      await store.dropEnvelopes([c0, c2]);
      assert.deepEqual((await store.envelopesAfter(id(1), id(1), 0, 10)).map((e) => e.cursor), [c1]);
      assert.deepEqual((await store.envelopesAt([c0, c1, c2])).map((e) => e.cursor), [c1]);
      assert.deepEqual(
        (await store.index(id(1), id(1))).map((e) => [e.cursor, e.dropped]),
        [[c0, true], [c1, false], [c2, true]],
      );
      assert.equal(await store.highestSeq(id(1), member(2)), 0, 'a cutoff check still sees what was accepted');
      const [again, other] = await store.putEnvelopes([envelope(1, 1, 0), envelope(1, 2, 0, 77)]);
      assert.deepEqual(again, { outcome: 'duplicate', cursor: c0 });
      assert.deepEqual(other, { outcome: 'duplicate', cursor: c2 }, 'other bytes for a dropped envelope: still nothing stored');
      assert.deepEqual((await store.envelopesAt([c0, c2])), []);
    });

    test('the highest sequence number per author and group: across documents and commits, duplicates and conflicts aside, never lowered', async ({ store }) => {
      // Out of order within one commit, and over two documents.
      await store.putEnvelopes([envelope(1, 1, 7), envelope(2, 1, 9), envelope(1, 1, 4), envelope(2, 2, 3)]);
      assert.equal(await store.highestSeq(id(1), member(1)), 9);
      assert.equal(await store.highestSeq(id(1), member(2)), 3);
      // Lower ones later, a duplicate and a conflict: nothing lowers it or raises it.
      const results = await store.putEnvelopes([envelope(1, 1, 5), envelope(2, 1, 9), envelope(1, 2, 3, 99), envelope(2, 2, 3, 1)]);
      assert.deepEqual(results.map((r) => r.outcome), ['stored', 'duplicate', 'stored', 'conflict']);
      assert.equal(await store.highestSeq(id(1), member(1)), 9);
      assert.equal(await store.highestSeq(id(1), member(2)), 3);
      await store.putEnvelopes([envelope(3, 2, 12)]);
      assert.equal(await store.highestSeq(id(1), member(2)), 12);
      assert.equal(await store.highestSeq(id(2), member(2)), undefined, 'per group');
    });

    test('a cursor is never given twice: the last envelope dropped, the next comes after it', async ({ store }) => {
      const [a] = await store.putEnvelopes([envelope(1, 1, 0)]);
      await store.dropEnvelopes([a!.cursor]);
      // A duplicate and a conflict draw no cursor that shows.
      await store.putEnvelopes([envelope(1, 1, 0), envelope(1, 1, 0, 5)]);
      const [b] = await store.putEnvelopes([envelope(1, 1, 1)]);
      assert.ok(b!.cursor > a!.cursor, `${b!.cursor} > ${a!.cursor}`);
    });

    test('covers attestations are kept once per snapshot, per document', async ({ store }) => {
      const covers = (author: number, seq: number, byte: number) => ({ author: member(author), seq, attestation: new Uint8Array([byte, 1, 2]) });
      assert.equal(await store.putCovers(id(1), id(1), covers(1, 4, 10)), true);
      assert.equal(await store.putCovers(id(1), id(1), covers(1, 4, 11)), false, 'the first one stays');
      assert.equal(await store.putCovers(id(1), id(1), covers(2, 9, 12)), true);
      assert.equal(await store.putCovers(id(1), id(2), covers(1, 5, 13)), true);
      const kept = (await store.covers(id(1), id(1))).map((c) => [c.author[0], c.seq, c.attestation[0]]).sort();
      assert.deepEqual(kept, [[1, 4, 10], [2, 9, 12]]);
      assert.deepEqual(await store.covers(id(9), id(1)), []);
    });

    test('invitations: kept once, revoked, with one join request per requester; only open ones list their requests', async ({ store }) => {
      const now = Date.now();
      await store.putInvitation({ inviteId: id(21), groupId: id(1), expiresAt: now + 60_000, revoked: false });
      await store.putInvitation({ inviteId: id(21), groupId: id(9), expiresAt: now, revoked: true });
      await store.putInvitation({ inviteId: id(22), groupId: id(1), expiresAt: now - 1, revoked: false });
      await store.putInvitation({ inviteId: id(23), groupId: id(1), expiresAt: now + 60_000, revoked: false });
      assert.deepEqual(await store.invitation(id(21)), { inviteId: id(21), groupId: id(1), expiresAt: now + 60_000, revoked: false });
      assert.equal(await store.invitation(id(99)), undefined);
      assert.equal(await store.putJoinRequest({ inviteId: id(21), requester: member(5), request: Uint8Array.of(1) }, id(1)), 1);
      assert.equal(await store.putJoinRequest({ inviteId: id(21), requester: member(5), request: Uint8Array.of(2) }, id(1)), 1, 'replaced, not added');
      assert.equal(await store.putJoinRequest({ inviteId: id(21), requester: member(6), request: Uint8Array.of(3) }, id(1)), 2);
      await store.putJoinRequest({ inviteId: id(22), requester: member(7), request: Uint8Array.of(4) }, id(1));
      await store.putJoinRequest({ inviteId: id(23), requester: member(8), request: Uint8Array.of(5) }, id(1));
      const listed = (await store.joinRequests(id(1), now)).map((r) => [r.inviteId[0], r.requester[0], r.request[0]]).sort();
      assert.deepEqual(listed, [[21, 5, 2], [21, 6, 3], [23, 8, 5]], 'the expired invitation is not listed');
      assert.equal(await store.openInvitations(id(1), now), 2);
      await store.revokeInvitation(id(23));
      assert.equal(await store.openInvitations(id(1), now), 1);
      assert.equal((await store.invitation(id(23)))!.revoked, true);
      assert.deepEqual((await store.joinRequests(id(1), now)).map((r) => r.inviteId[0]).sort(), [21, 21]);
      assert.deepEqual((await store.requesters(id(23))).map((r) => r[0]), [8], 'a revoked invitation still names who asked with it');
      assert.deepEqual((await store.requesters(id(21))).map((r) => r[0]).sort(), [5, 6]);
      assert.deepEqual(await store.requesters(id(99)), []);
    });

    test('concurrent writers each get their own cursor; nothing is lost', async ({ store }) => {
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.putEnvelopes([envelope(3, (i % 5) + 1, i)])));
      const cursors = results.map(([r]) => r!.cursor);
      assert.equal(new Set(cursors).size, 50);
      assert.equal((await store.envelopesAfter(id(1), id(3), 0, 1000)).length, 50);
    });

    test('a closed store refuses calls', async ({ store }) => {
      await store.close();
      await assert.rejects(store.loadOps(id(1)), { name: 'RelayStoreError', code: 'closed' });
    });

    if (!options.persistent) return;
    test('what was stored survives closing and reopening', async (f) => {
      assert.ok(f.reopen);
      await f.store.appendOps(id(1), 0, [Uint8Array.of(1)], effect(1, 1, [1, 2]));
      const [put, gone] = await f.store.putEnvelopes([envelope(1, 1, 0), envelope(1, 1, 1)]);
      await f.store.dropEnvelopes([gone!.cursor]);
      await f.store.putCovers(id(1), id(1), { author: member(1), seq: 1, attestation: Uint8Array.of(5) });
      const again = await f.reopen();
      assert.deepEqual((await again.covers(id(1), id(1))).map((c) => c.attestation), [Uint8Array.of(5)]);
      assert.deepEqual((await again.index(id(1), id(1))).map((e) => e.dropped), [false, true]);
      assert.deepEqual(await again.loadOps(id(1)), [Uint8Array.of(1)]);
      assert.equal(await again.membership(id(1), member(2)), 'member');
      assert.deepEqual(await again.usage(member(1)), { groups: 1, documents: 1, bytes: 1 + 4 });
      assert.deepEqual((await again.envelopesAfter(id(1), id(1), 0, 10)).map((e) => e.cursor), [put!.cursor]);
      assert.equal(await again.highestSeq(id(1), member(1)), 1, 'the dropped one counts');
      // Cursors keep growing after a restart, past the last one given (dropped) too.
      const [next] = await again.putEnvelopes([envelope(1, 1, 2)]);
      assert.ok(next!.cursor > gone!.cursor);
      assert.equal(await again.highestSeq(id(1), member(1)), 2);
    });
  });
}
