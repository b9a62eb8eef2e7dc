// Leaving a group, and the rotation after it: an admin device replaces the secret the leaver
// made by itself (no call from the app), once, through a stand-in relay that fails as a real
// one may (busy, offline, another admin first, a refusal) or lies (says another admin was first
// and never shows it); writers and readers never try; a hostile leaver cannot keep the others
// on a secret that does not open. With a real relay: relay/test/leave-rekey.node.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isLeave, readEnvelopeHeader, removeMember, signMessage, type MembershipOp } from '@sealdoc/crypto';
import { RekeyError, REKEY_RETRIES, RelayError, TransportError, type Group, type GroupRelay } from '@sealdoc/core';
import { World, eventually, toHex, type Peer } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The ops of `group`'s log after its last leave (all of them when there is none). */
function afterLastLeave(group: Group): MembershipOp[] {
  const ops = Array.from({ length: group.log.length }, (_, i) => group.log.opAt(i));
  return ops.slice(ops.findLastIndex((op) => isLeave(op)) + 1);
}

/** Whether `op` is a rotation signed by `peer`'s device. */
const rotationBy = (op: MembershipOp | undefined, peer: Peer) => op?.change.type === 'rotate' && toHex(op.author) === toHex(peer.identity.memberId);

/** The `error` events of a peer's group and of its document. */
function errorsOf(peer: Peer): { group: Error[]; doc: Error[] } {
  const seen = { group: [] as Error[], doc: [] as Error[] };
  peer.group.events.on('error', ({ error }) => seen.group.push(error));
  peer.sealed.events.on('error', ({ error }) => seen.doc.push(error));
  return seen;
}

/**
 * A stand-in relay for a world's groups: it takes ops only on top of the log it holds (else
 * `stale-head`, as a relay does), and records each commit (who, and what came of it). `fail`
 * may answer a commit with an error first; `holdFor` keeps the answers to those devices back
 * until each has committed once (so that two admins' rotations are both on their way).
 */
class StandInRelay {
  length: number;
  readonly commits: { by: string; outcome: string }[] = [];
  fail: ((by: string) => Error | undefined) | undefined;
  #held = new Set<string>();
  #release: (() => void) | undefined;
  #gate: Promise<void> = Promise.resolve();

  constructor(world: World) {
    this.length = world.peer([...world.peers.keys()][0]!).group.log.length;
    for (const peer of world.peers.values()) peer.group.relay = this.for(peer.name);
  }

  holdFor(names: string[]): void {
    this.#held = new Set(names);
    this.#gate = new Promise((resolve) => (this.#release = resolve));
  }

  outcomes(by: string): string[] {
    return this.commits.filter((c) => c.by === by).map((c) => c.outcome);
  }

  for(by: string): GroupRelay {
    return {
      commitOps: async (_groupId, fromIndex, ops) => {
        let error = this.fail?.(by);
        if (!error && fromIndex !== this.length) error = new RelayError('stale-head', 'the log moved meanwhile: fetch it and rebase');
        if (!error) this.length += ops.length;
        this.commits.push({ by, outcome: error ? String((error as { code?: string }).code) : 'stored' });
        if (this.#held.delete(by)) {
          if (this.#held.size === 0) this.#release?.();
          await Promise.race([this.#gate, sleep(2000)]);
        }
        if (error) throw error;
      },
      highestSeq: async () => null,
    };
  }
}

describe('Group.leave', () => {
  it('a writer leaves by itself; the others see it gone; the admin device rotates by itself, once, and the leaver reads nothing new', async () => {
    const world = await World.create(['alice', 'bob', 'carol']);
    const [alice, bob, carol] = [world.peer('alice'), world.peer('bob'), world.peer('carol')];
    alice.doc.getText('t').insert(0, 'before');
    await world.settle();
    const start = alice.group.log.length;
    assert.equal(carol.group.log.length, start, 'no one left: no rotation');
    const removed: boolean[] = [];
    bob.sealed.events.on('access-removed', ({ revoked }) => removed.push(revoked));
    await bob.group.leave();
    assert.equal(bob.group.role, undefined);
    assert.deepEqual(removed, [false]);
    const leaveEpoch = bob.group.log.epoch;
    await world.settle();
    await eventually(() => alice.group.log.member(bob.identity.memberId) === undefined && carol.group.log.member(bob.identity.memberId) === undefined);
    // No call from the app: the admin's device replaced the leaver's secret, right after the leave.
    await eventually(() => carol.group.log.epoch === leaveEpoch + 1);
    await world.settle();
    await sleep(100);
    for (const p of [alice, carol]) {
      assert.equal(p.group.log.length, start + 2, `${p.name}: the leave, then one rotation`);
      assert.ok(isLeave(p.group.log.opAt(start)));
      assert.ok(rotationBy(p.group.log.opAt(start + 1), alice), `${p.name}: the rotation is the admin's (not the writer's)`);
    }
    assert.equal(alice.group.log.epoch, leaveEpoch + 1, 'once');
    alice.doc.getText('t').insert(6, ' after');
    await world.settle();
    assert.equal(carol.text(), 'before after');
    assert.equal(bob.text(), 'before');
    // What came after is sealed under the new secret, which the leaver's device never got.
    const newest = alice.sealed.envelopes().map((e) => readEnvelopeHeader(e)).filter((h) => toHex(h.author) === toHex(alice.identity.memberId));
    assert.equal(Math.max(...newest.map((h) => h.epoch)), leaveEpoch + 1);
    assert.equal(bob.group.keyring.has(bob.group.groupId, leaveEpoch + 1), false);
  });

  it('the last admin cannot leave', async () => {
    const world = await World.create(['alice', 'bob']);
    await assert.rejects(world.peer('alice').group.leave(), { code: 'last-admin' });
    assert.equal(world.peer('alice').group.role, 'admin');
  });
});

describe('the rotation after a leave', () => {
  it('an admin device offline when a member leaves rotates once it is back; a writer and a reader never try, they wait', async () => {
    const world = await World.create(['alice', 'bob', 'carol', 'rita'], { roles: { rita: 'reader' } });
    const [alice, bob, carol, rita] = ['alice', 'bob', 'carol', 'rita'].map((n) => world.peer(n)) as [Peer, Peer, Peer, Peer];
    const relay = new StandInRelay(world);
    const errors = [errorsOf(carol), errorsOf(rita)];
    await world.settle();
    await alice.transport.disconnect();
    await bob.group.leave();
    const leaveEpoch = bob.group.log.epoch;
    await world.settle();
    await eventually(() => carol.group.log.epoch === leaveEpoch && rita.group.log.epoch === leaveEpoch);
    await sleep(1500); // past the first retries a writer or a reader would make
    for (const p of [carol, rita]) {
      assert.ok(isLeave(p.group.log.opAt(p.group.log.length - 1)), `${p.name} waits: the leave is still last`);
      assert.deepEqual(relay.outcomes(p.name), [], `${p.name} never tried`);
    }
    assert.deepEqual(errors, [{ group: [], doc: [] }, { group: [], doc: [] }]);
    assert.deepEqual(relay.outcomes('alice'), []);
    // The admin's device comes back: it learns of the leave and replaces the secret by itself.
    await alice.transport.connect();
    await eventually(() => carol.group.log.epoch === leaveEpoch + 1 && rita.group.log.epoch === leaveEpoch + 1);
    assert.ok(rotationBy(carol.group.log.opAt(carol.group.log.length - 1), alice));
    assert.deepEqual(relay.outcomes('alice'), ['stored']);
    assert.deepEqual(relay.outcomes('carol'), []);
    assert.deepEqual(relay.outcomes('rita'), []);
  });

  it('two admins online: exactly one rotation lands, the other is refused as stale-head and stops', async () => {
    const world = await World.create(['alice', 'bob', 'carol', 'dave'], { roles: { dave: 'admin' } });
    const [alice, bob, carol, dave] = ['alice', 'bob', 'carol', 'dave'].map((n) => world.peer(n)) as [Peer, Peer, Peer, Peer];
    const relay = new StandInRelay(world);
    const errors = [errorsOf(alice), errorsOf(dave)];
    await world.settle();
    const start = carol.group.log.length;
    relay.holdFor(['alice', 'dave']); // both rotations on their way before either is answered
    await bob.group.leave();
    await world.settle();
    await eventually(() => [alice, carol, dave].every((p) => p.group.log.length === start + 2));
    const outcomes = [...relay.outcomes('alice'), ...relay.outcomes('dave')].sort();
    assert.deepEqual(outcomes, ['stale-head', 'stored']);
    // No storm: the loser's retry finds the winner's rotation last, and nothing more is sent.
    await sleep(1500);
    await world.settle();
    assert.deepEqual([...relay.outcomes('alice'), ...relay.outcomes('dave')].sort(), ['stale-head', 'stored']);
    const winner = relay.outcomes('alice')[0] === 'stored' ? alice : dave;
    for (const p of [alice, carol, dave]) {
      assert.equal(p.group.log.length, start + 2, `${p.name}: the leave, then one rotation`);
      assert.ok(rotationBy(p.group.log.opAt(start + 1), winner));
    }
    assert.deepEqual(errors, [{ group: [], doc: [] }, { group: [], doc: [] }], 'stale-head is no error');
  });

  it('a failure the relay gets over (busy, a timeout) is tried again after a wait', async () => {
    const world = await World.create(['alice', 'bob', 'carol'], { rekeyBackoff: { minMs: 20, maxMs: 100, quickMaxMs: 100 } });
    const [alice, bob, carol] = [world.peer('alice'), world.peer('bob'), world.peer('carol')];
    const relay = new StandInRelay(world);
    const failures = [new RelayError('busy', 'the relay serves as many as it can'), new TransportError('timeout', 'no answer')];
    relay.fail = (by) => (by === 'alice' ? failures.shift() : undefined);
    const errors = errorsOf(alice);
    await bob.group.leave();
    const leaveEpoch = bob.group.log.epoch;
    await world.settle();
    await eventually(() => carol.group.log.epoch === leaveEpoch + 1);
    assert.deepEqual(relay.outcomes('alice'), ['busy', 'timeout', 'stored']);
    assert.ok(rotationBy(carol.group.log.opAt(carol.group.log.length - 1), alice));
    assert.deepEqual(errors, { group: [], doc: [] });
  });

  it('a rotation that failed while the relay was out of reach is tried again when the connection comes back', async () => {
    // Waits far longer than the test: only the reconnection can be what tries again.
    const world = await World.create(['alice', 'bob', 'carol'], { rekeyBackoff: { minMs: 60_000, maxMs: 60_000, quickMaxMs: 60_000 } });
    const [alice, bob, carol] = [world.peer('alice'), world.peer('bob'), world.peer('carol')];
    const relay = new StandInRelay(world);
    let relayDown = true;
    relay.fail = (by) => (by === 'alice' && relayDown ? new TransportError('offline', 'not connected to the relay') : undefined);
    const errors = errorsOf(alice);
    await world.settle();
    await bob.group.leave();
    const leaveEpoch = bob.group.log.epoch;
    await world.settle();
    await eventually(() => relay.outcomes('alice').length === 1);
    assert.deepEqual(relay.outcomes('alice'), ['offline']);
    relayDown = false;
    await alice.transport.disconnect();
    await alice.transport.connect();
    await eventually(() => carol.group.log.epoch === leaveEpoch + 1);
    assert.deepEqual(relay.outcomes('alice'), ['offline', 'stored']);
    assert.deepEqual(errors, { group: [], doc: [] }, 'being offline is told by the status, not as an error');
  });

  it('a refusal waiting does not mend reaches the group’s and the document’s events as a typed error, and is not tried again on its own', async () => {
    const world = await World.create(['alice', 'bob', 'carol'], { rekeyBackoff: { minMs: 20, maxMs: 100, quickMaxMs: 100 } });
    const [alice, bob, carol] = [world.peer('alice'), world.peer('bob'), world.peer('carol')];
    const relay = new StandInRelay(world);
    let refusing = true;
    relay.fail = (by) => (by === 'alice' && refusing ? new RelayError('quota-exceeded', 'this identity may store no more here') : undefined);
    const errors = errorsOf(alice);
    await world.settle();
    await bob.group.leave();
    const leaveEpoch = bob.group.log.epoch;
    await world.settle();
    await eventually(() => errors.group.length === 1);
    const [error] = errors.group;
    assert.ok(error instanceof RekeyError);
    assert.equal(error.code, 'rekey-refused');
    assert.ok(error.cause instanceof RelayError && error.cause.code === 'quota-exceeded');
    assert.deepEqual(errors.doc, [error], 'the document reports it too (its status shows it)');
    await sleep(300);
    assert.deepEqual(relay.outcomes('alice'), ['quota-exceeded'], 'not tried again on its own');
    assert.equal(carol.group.log.epoch, leaveEpoch);
    // Tried again when the device reconnects.
    refusing = false;
    await alice.transport.disconnect();
    await alice.transport.connect();
    await eventually(() => carol.group.log.epoch === leaveEpoch + 1);
    assert.deepEqual(relay.outcomes('alice'), ['quota-exceeded', 'stored']);
    assert.equal(errors.group.length, 1);
  });

  it('a relay that keeps saying another admin was first, and never shows that op, is reported after a bounded number of tries', async () => {
    const world = await World.create(['alice', 'bob', 'carol'], { rekeyBackoff: { minMs: 5, maxMs: 20, quickMaxMs: 20 } });
    const [alice, bob] = [world.peer('alice'), world.peer('bob')];
    const relay = new StandInRelay(world);
    relay.fail = (by) => (by === 'alice' ? new RelayError('stale-head', 'the log moved meanwhile: fetch it and rebase') : undefined);
    const errors = errorsOf(alice);
    await bob.group.leave();
    await world.settle();
    await eventually(() => errors.group.length === 1);
    assert.ok(errors.group[0] instanceof RekeyError && errors.group[0].code === 'rekey-stalled');
    assert.equal(relay.outcomes('alice').length, 1 + REKEY_RETRIES);
    await sleep(300);
    assert.equal(relay.outcomes('alice').length, 1 + REKEY_RETRIES, 'then no more on its own');
    assert.deepEqual(errors.doc, errors.group);
  });

  it('a relay replaying the leave after the rotation changes nothing', async () => {
    const world = await World.create(['alice', 'bob', 'carol']);
    const [alice, bob, carol] = [world.peer('alice'), world.peer('bob'), world.peer('carol')];
    await bob.group.leave();
    const leaveAt = bob.group.log.length - 1;
    await world.settle();
    await eventually(() => carol.group.log.length === leaveAt + 2);
    const ops = alice.group.log.ops();
    assert.equal(await alice.group.receiveOps(ops.slice(0, leaveAt + 1), 0), 0);
    assert.equal(await alice.group.receiveOps([ops[leaveAt]!], leaveAt), 0);
    await world.settle();
    await sleep(100);
    for (const p of [alice, carol]) assert.equal(p.group.log.length, leaveAt + 2, `${p.name}: still one rotation`);
    assert.deepEqual(afterLastLeave(alice.group).map((op) => op.change.type), ['rotate']);
  });

  it('a leaver who gives the others a secret that does not open: the admin device rotates without it, and the others read on', async () => {
    const world = await World.create(['alice', 'bob', 'carol']);
    const [alice, bob, carol] = [world.peer('alice'), world.peer('bob'), world.peer('carol')];
    alice.doc.getText('t').insert(0, 'before');
    await world.settle();
    // Bob's leave, built as Group.leave builds it, then each wrap spoiled and signed again by
    // Bob: the log takes it (its wraps cannot be checked without the keys), no one can open it.
    const leave = await removeMember(bob.group.log, { signer: bob.identity, keyring: bob.group.keyring }, bob.identity.memberId, null);
    const signed = leave.slice(0, -64);
    for (const k of [1, 2]) signed[signed.length - 80 * k + 40]! ^= 1;
    const hostile = new Uint8Array([...signed, ...(await signMessage(bob.identity, 'membership-op', signed))]);
    const ops = [...carol.group.log.ops(), hostile];
    const leaveEpoch = carol.group.log.epoch + 1;
    const errors = errorsOf(alice);
    await assert.rejects(carol.group.receiveOps(ops, 0), { code: 'bad-secret' });
    await assert.rejects(alice.group.receiveOps(ops, 0), { code: 'bad-secret' });
    await eventually(() => carol.group.keyring.has(carol.group.groupId, leaveEpoch + 1));
    assert.equal(carol.group.log.epoch, leaveEpoch + 1);
    assert.ok(rotationBy(carol.group.log.opAt(carol.group.log.length - 1), alice));
    assert.equal(carol.group.keyring.has(carol.group.groupId, leaveEpoch), false, 'the leaver’s secret was never taken');
    alice.doc.getText('t').insert(6, ' after');
    await world.settle();
    assert.equal(carol.text(), 'before after');
    assert.equal(bob.text(), 'before');
    assert.deepEqual(errors.group, []);
  });
});
