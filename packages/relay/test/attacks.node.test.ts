// Attacks on the relay by a hostile member and by key pairs with no standing: each test is an
// attack that worked against an earlier relay, and the property that now holds. Driven in
// process (fake connections a test can stop reading from) or over real WebSockets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { createGroup, Keyring, MembershipLog, removeMember, rotateEpoch, sealEnvelope, signMessage, unlockEpochSecrets, type Identity } from '@sealdoc/crypto';
import { encodeSnapshot, Group } from '@sealdoc/core';
import { WebSocket, type ClientOptions } from 'ws';
import { BEACON_CONTEXT, beaconSignedBytes, COVERS_CONTEXT, coversSignedBytes, decodeWire, HELLO_CONTEXT, type WireMessage } from '@sealdoc/protocol';
import { MemoryRelayStore, Relay, startRelay, type RelayOptions } from '@sealdoc/relay';
import { DOC_ID, eventually, identity, Team, type Client } from './clients.js';
import { connect, FakeConnection, groupInMemory } from './fake-connection.js';
import { envelopeMaker, RawClient, yjsUpdate } from './raw-client.js';

const MAX = Number.MAX_SAFE_INTEGER;
const randomId = () => crypto.getRandomValues(new Uint8Array(16));

/** A group made by `admin` with `members` as writers, stored in a fresh memory store, and a relay on it. */
async function relayWithGroup(admin: Identity, members: Identity[] = [], options: Omit<RelayOptions, 'store'> = {}) {
  const group = await groupInMemory(admin, members.map((keys) => ({ keys, role: 'writer' as const })));
  return { ...group, relay: new Relay({ store: group.store, ...options }) };
}

/** Connects and resolves with the error codes the relay sent before closing the connection at once. */
function refusal(url: string, options: ClientOptions): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options);
    const codes: string[] = [];
    socket.on('message', (data: Buffer) => {
      const m = decodeWire(new Uint8Array(data));
      for (const one of m.type === 'batch' ? m.messages : [m]) {
        if (one.type === 'error') codes.push(one.code);
        if (one.type === 'challenge') reject(new Error('the relay accepted the connection'));
      }
    });
    socket.on('close', () => resolve(codes));
    socket.on('error', reject);
  });
}

/** Waits until every frame sent before has been handled: a request's answer comes after them. */
async function settled(c: FakeConnection): Promise<void> {
  const ref = 1_000_000 + c.received.length;
  c.push({ type: 'list-groups', ref });
  await eventually(() => c.of('groups').some((g) => g.ref === ref) || c.closedWith !== undefined, 10_000, 'the marker answer');
}

describe('relay attacks: removal', () => {
  it('a writer whose envelope carries the largest sequence number is still removed, and nothing new from it is accepted afterwards (even below its cutoff)', async () => {
    const [alice, mallory] = [identity('alice'), identity('mallory')];
    const { ops, relay, store, groupId, log } = await relayWithGroup(alice, [mallory]);
    const m = await connect(relay, mallory);
    const a = await connect(relay, alice);
    const seal = await envelopeMaker(mallory, ops, DOC_ID);
    m.push({ type: 'push', ref: 1, envelope: await seal(MAX) });
    await eventually(() => m.of('ack').length === 1, 2000, 'the jump is stored');
    // The admin removes Mallory with the cutoff the relay demands: the highest it accepted.
    const keyring = new Keyring();
    await unlockEpochSecrets(log, alice, keyring);
    const removal = await removeMember(log, { signer: alice, keyring }, mallory.memberId, MAX);
    a.push({ type: 'ops', groupId, fromIndex: 1, ops: [removal] });
    await eventually(async () => (await store.loadOps(groupId)).length === 2, 2000, 'the removal is appended');
    assert.deepEqual(a.codes(), []);
    // Mallory fills a sequence number far below its cutoff, under the old head: refused.
    m.push({ type: 'push', ref: 2, envelope: await seal(7) });
    await settled(m);
    assert.ok(m.codes().includes('not-a-member') || m.codes().includes('past-cutoff'), m.codes().join());
    assert.equal((await store.envelopesAfter(groupId, DOC_ID, 0, 10)).length, 1, 'only what was there before the removal');
    // What it had written is still acknowledged as held (a copy is no error).
    relay.close();
  });

  it('an envelope a removed member wrote under the old head is refused even from another member who forwards it', async () => {
    const [alice, mallory, bob] = [identity('alice'), identity('mallory'), identity('bob')];
    const { ops, relay, store, groupId, log } = await relayWithGroup(alice, [mallory, bob]);
    const a = await connect(relay, alice);
    const b = await connect(relay, bob);
    const seal = await envelopeMaker(mallory, ops, DOC_ID);
    const late = await seal(3);
    const keyring = new Keyring();
    await unlockEpochSecrets(log, alice, keyring);
    a.push({ type: 'ops', groupId, fromIndex: 1, ops: [await removeMember(log, { signer: alice, keyring }, mallory.memberId, 5)] });
    await eventually(async () => (await store.loadOps(groupId)).length === 2, 2000, 'the removal');
    b.push({ type: 'push', ref: 1, envelope: late });
    await eventually(() => b.of('error').length === 1, 2000, 'the refusal');
    assert.equal((await store.envelopesAfter(groupId, DOC_ID, 0, 10)).length, 0);
    relay.close();
  });
});

describe('relay attacks: a removal while pushes wait for their write', () => {
  it('wins, wherever it lands among them: once it is appended, nothing the removed member wrote past its cutoff, nor anything it forwards, is stored', async () => {
    // Pushes are checked as they come, then written in batches: here every push is checked
    // against the log before the removal is appended, and reaches its write after it (the
    // commit rounds wait), where it is checked again against the log with the removal in it.
    // Half are Mallory's own envelopes, half Alice's that Mallory forwards. (With the pusher's
    // standing not looked at again whenever the log object is the same, whatever its length,
    // Alice's forwarded ones are stored.)
    const [alice, mallory] = [identity('alice'), identity('mallory')];
    for (let round = 0; round < 6; round++) {
      const { ops, relay, store, groupId, log } = await relayWithGroup(alice, [mallory]);
      const m = await connect(relay, mallory);
      const a = await connect(relay, alice);
      const [own, alices] = [await envelopeMaker(mallory, ops, DOC_ID), await envelopeMaker(alice, ops, DOC_ID)];
      const keyring = new Keyring();
      await unlockEpochSecrets(log, alice, keyring);
      const removal = await removeMember(log, { signer: alice, keyring }, mallory.memberId, 9);
      const late = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? alices(i) : own(10 + i))));
      for (const [i, envelope] of late.entries()) {
        m.push({ type: 'push', ref: i + 1, envelope });
        if (i === round * 7) a.push({ type: 'ops', groupId, fromIndex: 1, ops: [removal] });
      }
      await settled(m);
      await settled(a);
      const stored = await store.envelopesAfter(groupId, DOC_ID, 0, 100);
      if ((await store.loadOps(groupId)).length === 2) {
        assert.deepEqual(stored, [], `round ${round}: stored after the removal`);
        assert.equal(m.of('error').length, late.length, `round ${round}: every push refused`);
      } else assert.deepEqual(a.codes(), ['cutoff-too-low'], `round ${round}`);
      relay.close();
    }
  });
});

describe('relay attacks: a writer that keeps pushing', () => {
  it('cannot stay ahead of its removal: the admin’s device asks the relay what it holds, and the removal goes through on the first try', async () => {
    const store = new MemoryRelayStore();
    const server = await startRelay({ store, port: 0 });
    const team = await Team.create(['alice', 'mallory']);
    const alice = await team.connect('alice', server.url);
    try {
      await alice.sealed.whenSynced;
      // Mallory pushes as fast as it can into a document Alice never opened.
      const mallory = await RawClient.connect(server.url, identity('mallory'));
      const seal = await envelopeMaker(identity('mallory'), team.ops, new Uint8Array(16).fill(8));
      let pushing = true;
      let seq = 0;
      const flood = (async () => {
        while (pushing) {
          mallory.send({ type: 'push', ref: seq + 1, envelope: await seal(seq++) });
          await new Promise((r) => setTimeout(r, 1));
        }
      })();
      await eventually(async () => ((await store.highestSeq(team.groupId, identity('mallory').memberId)) ?? -1) > 50, 5000, 'the flood is stored');
      await alice.group.removeMember(identity('mallory').memberId);
      assert.equal(alice.group.log.member(identity('mallory').memberId), undefined);
      assert.equal((await store.loadOps(team.groupId)).length, 2, 'the relay holds the removal');
      const after = (await store.highestSeq(team.groupId, identity('mallory').memberId)) ?? -1;
      await new Promise((r) => setTimeout(r, 100));
      pushing = false;
      await flood;
      assert.equal((await store.highestSeq(team.groupId, identity('mallory').memberId)) ?? -1, after, 'nothing new from Mallory since');
      assert.deepEqual(alice.errors, []);
      mallory.close();
    } finally {
      await alice.close();
      await server.close();
    }
  });

  it('an admin op the relay refuses leaves the admin’s log as the relay’s (no silent fork)', async () => {
    const store = new MemoryRelayStore();
    const server = await startRelay({ store, port: 0 });
    const team = await Team.create(['alice', 'bob'], { bob: 'admin' });
    const [alice, bob] = [await team.connect('alice', server.url), await team.connect('bob', server.url)];
    try {
      await alice.sealed.whenSynced;
      await bob.sealed.whenSynced;
      // A device of Bob's that has not heard of Alice's change makes its own on the same head.
      await alice.group.addMember(identity('carol'), 'writer');
      const stale = new Group({ signer: identity('bob'), log: await MembershipLog.fromOps(team.ops), keyring: new Keyring() });
      await stale.refresh();
      stale.relay = bob.transport;
      await assert.rejects(stale.addMember(identity('dave'), 'writer'), { code: 'stale-head' });
      assert.equal(stale.log.length, 1, 'nothing appended here: the log is still one the relay holds a prefix of');
      assert.equal((await store.loadOps(team.groupId)).length, 2);
    } finally {
      await alice.close();
      await bob.close();
      await server.close();
    }
  });
});

describe('relay attacks: a client that never reads', () => {
  it('have and fetch-ops requests on a socket that never reads cost a bounded queue: the relay stops reading it, then closes it (too-slow)', async () => {
    const mallory = identity('mallory');
    const { ops, relay, groupId } = await relayWithGroup(mallory, [], { limits: { highWaterBytes: 64 * 1024, stallMs: 300 } });
    const writer = await connect(relay, mallory);
    // A document of 400 envelopes of 2 KiB: about 800 KiB.
    const seal = await envelopeMaker(mallory, ops, DOC_ID);
    for (let seq = 0; seq < 400; seq++) writer.push({ type: 'push', ref: seq + 1, envelope: await seal(seq, yjsUpdate('x'.repeat(2000))) });
    await eventually(() => writer.of('ack').length === 400, 20_000, 'the document is stored');
    const flood = await connect(relay, mallory);
    flood.neverReads = true;
    flood.push({ type: 'subscribe', groupId, docId: DOC_ID, cursor: 0 });
    for (let i = 0; i < 500; i++) {
      flood.push({ type: 'have', reply: false, groupId, docId: DOC_ID, logLength: 0, authors: [] });
      flood.push({ type: 'fetch-ops', groupId, fromIndex: 0 });
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(flood.paused, 'the relay stopped reading from it');
    // What the relay queued for it: about the high-water mark and one envelope, not the document 500 times.
    assert.ok(flood.sentBytes < 64 * 1024 + 16 * 1024, `queued ${flood.sentBytes} bytes`);
    await eventually(() => flood.closedWith !== undefined, 5000, 'closed as too slow');
    assert.ok(relay.stats.closedSlow >= 1);
    // Others are served meanwhile and after.
    await settled(writer);
    relay.close();
  });

  it('pushes in flight per connection are bounded: the relay stops reading until they are stored', async () => {
    const alice = identity('alice');
    const { ops, relay } = await relayWithGroup(alice, [], { limits: { pushesInFlight: 4 } });
    const c = await connect(relay, alice);
    const seal = await envelopeMaker(alice, ops, DOC_ID);
    const envelopes = await Promise.all(Array.from({ length: 100 }, (_, seq) => seal(seq)));
    for (const [i, envelope] of envelopes.entries()) c.push({ type: 'push', ref: i + 1, envelope });
    await eventually(() => c.of('ack').length === 100, 10_000, 'every push acknowledged, in time');
    assert.deepEqual(c.codes(), []);
    relay.close();
  });
});

describe('relay attacks: CPU', () => {
  it('an ops frame costs the ops it adds: duplicates and stale ops on a long log are cheap, never a replay of the log', async () => {
    const alice = identity('alice');
    const { ops, relay, store, groupId } = await relayWithGroup(alice);
    const log = await MembershipLog.fromOps(ops);
    const keyring = new Keyring();
    await unlockEpochSecrets(log, alice, keyring);
    for (let i = 0; i < 300; i++) {
      await log.append(await rotateEpoch(log, { signer: alice, keyring }));
      await unlockEpochSecrets(log, alice, keyring);
    }
    const all = log.ops();
    await store.appendOps(groupId, 1, all.slice(1), { authors: all.slice(1).map(() => alice.memberId), joined: [], left: [] });
    const c = await connect(relay, alice);
    await settled(c); // the log is loaded once (verified), as any client's first request does
    const started = performance.now();
    const replay = await MembershipLog.fromOps(all);
    const fullReplayMs = performance.now() - started;
    assert.equal(replay.length, 301);
    // A stale op (built on the head before the last), a duplicate of the last op, and one from far back.
    const stale = await rotateEpoch(await MembershipLog.fromOps(all.slice(0, 300)), { signer: alice, keyring });
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) {
      c.push({ type: 'ops', groupId, fromIndex: 300, ops: [all[300]!] });
      c.push({ type: 'ops', groupId, fromIndex: 299, ops: [stale] });
      c.push({ type: 'ops', groupId, fromIndex: 5, ops: [all[5]!, all[6]!] });
    }
    await settled(c);
    const perFrameMs = (performance.now() - t0) / 300;
    const used = process.cpuUsage(cpu);
    assert.ok(perFrameMs < fullReplayMs / 20, `an ops frame took ${perFrameMs.toFixed(2)} ms; replaying the log takes ${fullReplayMs.toFixed(1)} ms`);
    assert.ok((used.user + used.system) / 1000 < fullReplayMs * 10, 'three hundred frames cost less than ten replays');
    assert.equal(c.codes().filter((code) => code === 'stale-head').length, 100, 'the stale op is told why, each time');
    assert.equal((await store.loadOps(groupId)).length, 301, 'nothing appended');
    relay.close();
  });

  it('requests about unknown groups leave nothing cached; a non-member never makes the relay read a log', async () => {
    const [alice, stranger] = [identity('alice'), identity('stranger')];
    const { relay, groupId } = await relayWithGroup(alice, [], { limits: { framesPerSecond: 100_000 } });
    const c = await connect(relay, stranger);
    for (let i = 0; i < 2000; i++) {
      const g = randomId();
      c.push({ type: 'have', reply: false, groupId: g, docId: randomId(), logLength: 0, authors: [] });
      c.push({ type: 'fetch-ops', groupId: g, fromIndex: 0 });
      c.push({ type: 'envelope', envelope: new Uint8Array(300) });
    }
    for (let i = 0; i < 64; i++) c.push({ type: 'subscribe', groupId: randomId(), docId: randomId(), cursor: 0 });
    c.push({ type: 'subscribe', groupId: randomId(), docId: randomId(), cursor: 0 });
    c.push({ type: 'subscribe', groupId, docId: DOC_ID, cursor: 0 });
    c.push({ type: 'fetch-ops', groupId, fromIndex: 0 });
    await settled(c);
    assert.equal(relay.stats.cachedLogs, 0, 'no log loaded, none cached');
    assert.equal(relay.stats.cachedIndexes, 0);
    const codes = c.codes();
    assert.ok(codes.includes('quota-exceeded'), `waiting subscriptions are bounded: ${[...new Set(codes)].join()}`);
    assert.equal(codes.filter((code) => code === 'not-a-member').length, 2);
    relay.close();
  });
});

describe('relay attacks: quotas and connections', () => {
  it('groups, documents and bytes per identity are refused past their quota with quota-exceeded', async () => {
    const store = new MemoryRelayStore();
    const relay = new Relay({ store, quotas: { groupsPerIdentity: 2, documentsPerIdentity: 2, bytesPerIdentity: 20_000 } });
    const mallory = identity('mallory');
    const c = await connect(relay, mallory);
    const groups: Uint8Array[][] = [];
    for (let i = 0; i < 3; i++) {
      const ops = [await createGroup(mallory)];
      groups.push(ops);
      c.push({ type: 'ops', groupId: (await MembershipLog.fromOps(ops)).groupId, fromIndex: 0, ops });
    }
    await settled(c);
    assert.deepEqual(c.codes(), ['quota-exceeded'], 'the third group');
    assert.equal((await store.usage(mallory.memberId)).groups, 2);
    // Documents: two, then a third is refused; bytes: past 20,000 refused.
    const seal = await envelopeMaker(mallory, groups[0]!, DOC_ID);
    const log = await MembershipLog.fromOps(groups[0]!);
    const keyring = new Keyring();
    await unlockEpochSecrets(log, mallory, keyring);
    const inDoc = (docId: Uint8Array, seq: number, bytes = 10) =>
      sealEnvelope({ kind: 'update', groupId: log.groupId, docId, epoch: 0, seq, head: log.head, author: mallory, keyring, plaintext: yjsUpdate('x'.repeat(bytes)) });
    c.push({ type: 'push', ref: 1, envelope: await seal(0) });
    c.push({ type: 'push', ref: 2, envelope: await inDoc(randomId(), 1) });
    c.push({ type: 'push', ref: 3, envelope: await inDoc(randomId(), 2) });
    await settled(c);
    await eventually(() => c.of('ack').length + c.of('error').length >= 4, 2000, 'answers');
    assert.deepEqual(c.codes(), ['quota-exceeded', 'quota-exceeded']);
    assert.equal(c.of('ack').length, 2);
    c.push({ type: 'push', ref: 4, envelope: await inDoc(DOC_ID, 3, 30_000) });
    await eventually(() => c.codes().length === 3, 2000, 'the bytes refusal');
    assert.equal(c.codes()[2], 'quota-exceeded');
    assert.equal((await store.usage(mallory.memberId)).documents, 2);
    assert.ok((await store.usage(mallory.memberId)).bytes <= 20_000);
    relay.close();
  });

  it('connections per identity, subscriptions per connection, open invitations per group are bounded', async () => {
    const alice = identity('alice');
    const { relay, groupId } = await relayWithGroup(alice, [], { limits: { connectionsPerIdentity: 2, subscriptionsPerConnection: 3, invitationsPerGroup: 2 } });
    const [c1] = [await connect(relay, alice), await connect(relay, alice)];
    const c3 = await connect(relay, alice);
    assert.deepEqual(c3.codes(), ['quota-exceeded']);
    assert.equal(c3.closedWith, 1008);
    for (let i = 0; i < 4; i++) c1!.push({ type: 'subscribe', groupId, docId: new Uint8Array(16).fill(i), cursor: 0 });
    for (let i = 0; i < 3; i++) c1!.push({ type: 'invite-open', ref: i + 1, groupId, inviteId: randomId(), expiresAt: Date.now() + 60_000 });
    await settled(c1!);
    assert.deepEqual(c1!.codes(), ['quota-exceeded', 'quota-exceeded']);
    assert.equal(c1!.of('ack').length, 2);
    relay.close();
  });

  it('a connection that does not say hello in time is closed; past the pending bound the oldest is; past the connection bound a newcomer is told busy', async () => {
    const alice = identity('alice');
    const { relay } = await relayWithGroup(alice, [], { limits: { helloTimeoutMs: 200, maxPendingConnections: 3, maxConnections: 6 } });
    const silent = await connect(relay);
    await eventually(() => silent.closedWith !== undefined, 2000, 'the silent one is closed');
    assert.deepEqual(silent.codes(), ['not-authenticated']);
    const pending = [await connect(relay), await connect(relay), await connect(relay), await connect(relay)];
    assert.equal(pending[0]!.closedWith, 1008, 'the oldest pending one made room');
    assert.ok(pending.slice(1).every((p) => p.closedWith === undefined));
    const member = await connect(relay, alice);
    assert.deepEqual(member.codes(), [], 'a newcomer that says hello gets in');
    await connect(relay);
    await connect(relay);
    const late = await connect(relay).catch(() => undefined);
    assert.equal(late?.closedWith ?? 1013, 1013);
    relay.close();
  });

  it('a first op naming more founders than allowed is refused before its keys are read', async () => {
    const relay = new Relay({ store: new MemoryRelayStore(), limits: { foundersPerGroup: 4 } });
    const mallory = identity('mallory');
    const c = await connect(relay, mallory);
    const { identityFromSeed } = await import('@sealdoc/crypto');
    const many = Array.from({ length: 5 }, () => ({ keys: identityFromSeed(crypto.getRandomValues(new Uint8Array(64))), role: 'reader' as const }));
    const big = [await createGroup(mallory, { members: many })];
    c.push({ type: 'ops', groupId: (await MembershipLog.fromOps(big)).groupId, fromIndex: 0, ops: big });
    await settled(c);
    assert.deepEqual(c.codes(), ['too-large']);
    relay.close();
  });

  it('fresh key pairs from one address create groups at that address’s rate; another address is not held up by them', async () => {
    const relay = new Relay({ store: new MemoryRelayStore(), limits: { groupsPerAddressPerSecond: 1, groupsPerSecond: 100 } });
    const create = async (c: FakeConnection, who: Identity) => {
      const ops = [await createGroup(who)];
      c.push({ type: 'ops', groupId: (await MembershipLog.fromOps(ops)).groupId, fromIndex: 0, ops });
      await settled(c);
    };
    // Six fresh identities from one address, one group each: a burst of four, then busy.
    const sybils: FakeConnection[] = [];
    for (let i = 0; i < 6; i++) {
      const who = identity(`sybil ${i}`);
      const c = await connect(relay, who, '203.0.113.7');
      sybils.push(c);
      await create(c, who);
    }
    assert.deepEqual(sybils.flatMap((c) => c.codes()), ['busy', 'busy']);
    assert.match(sybils[5]!.of('error')[0]!.message, /address/);
    // Another host creates its group at once.
    const alice = identity('alice');
    const a = await connect(relay, alice, '198.51.100.1');
    await create(a, alice);
    assert.deepEqual(a.codes(), []);
    relay.close();
  });

  it('group creation has a relay-wide rate too, against a flood from many addresses', async () => {
    const relay = new Relay({ store: new MemoryRelayStore(), limits: { groupsPerSecond: 1 } });
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const who = identity(`host ${i}`);
      const c = await connect(relay, who, `192.0.2.${i}`);
      const ops = [await createGroup(who)];
      c.push({ type: 'ops', groupId: (await MembershipLog.fromOps(ops)).groupId, fromIndex: 0, ops });
      await settled(c);
      codes.push(...c.codes());
    }
    assert.deepEqual(codes, ['busy', 'busy'], 'a burst of twice the rate, then busy');
    relay.close();
  });

  it('connections per address are bounded: past it a newcomer from that address is refused, others are not', async () => {
    const relay = new Relay({ store: new MemoryRelayStore(), limits: { connectionsPerAddress: 2 } });
    // One IPv6 /64 counts as one address.
    const held = [await connect(relay, undefined, '2001:db8:1:2::1'), await connect(relay, undefined, '2001:db8:1:2:ffff::9')];
    const refused = new FakeConnection('2001:db8:1:2::3');
    refused.handlers = relay.accept(refused);
    assert.deepEqual(refused.codes(), ['quota-exceeded']);
    assert.ok(refused.closedWith !== undefined);
    const other = await connect(relay, identity('alice'), '2001:db8:1:3::1');
    assert.equal(other.of('welcome').length, 1);
    // Once one leaves, the address may connect again.
    held[0]!.close(1000);
    const again = await connect(relay, identity('bob'), '2001:db8:1:2::3');
    assert.equal(again.of('welcome').length, 1);
    relay.close();
  });

  it('over the network an address is the socket’s, or behind a trusted proxy the last X-Forwarded-For entry (one the client wrote itself counts for nothing)', async () => {
    const limits = { connectionsPerAddress: 1 };
    const direct = await startRelay({ store: new MemoryRelayStore(), port: 0, limits });
    // Two hosts: two loopback addresses. A header is no way around the bound.
    await RawClient.connect(direct.url, undefined, { localAddress: '127.0.0.1', headers: { 'x-forwarded-for': '198.51.100.1' } });
    assert.deepEqual(await refusal(direct.url, { localAddress: '127.0.0.1', headers: { 'x-forwarded-for': '198.51.100.2' } }), ['quota-exceeded']);
    const elsewhere = await RawClient.connect(direct.url, identity('alice'), { localAddress: '127.0.0.2' });
    assert.equal(elsewhere.closedWith, undefined);
    await direct.close();

    const proxied = await startRelay({ store: new MemoryRelayStore(), port: 0, limits, trustProxy: true });
    // The proxy appends the address it saw; what the client wrote before it is not trusted.
    await RawClient.connect(proxied.url, undefined, { headers: { 'x-forwarded-for': '10.0.0.1, 198.51.100.1' } });
    assert.deepEqual(await refusal(proxied.url, { headers: { 'x-forwarded-for': '10.0.0.2, 198.51.100.1' } }), ['quota-exceeded'], 'the same host behind the proxy');
    const otherHost = await RawClient.connect(proxied.url, identity('bob'), { headers: { 'x-forwarded-for': '10.0.0.1, 198.51.100.2' } });
    assert.equal(otherHost.closedWith, undefined);
    await proxied.close();
  });

  it('beacons: relayed only from a current member, signed by the key it said hello with; never stored', async () => {
    const [alice, bob, mallory] = [identity('alice'), identity('bob'), identity('mallory')];
    const { relay, store, groupId } = await relayWithGroup(alice, [bob]);
    const [a, b, m] = [await connect(relay, alice), await connect(relay, bob), await connect(relay, mallory)];
    for (const c of [a, b, m]) c.push({ type: 'subscribe', groupId, docId: DOC_ID, cursor: 0 });
    const beacon = async (who: Identity, signer = who) => {
      const body = { groupId, docId: DOC_ID, signingPublicKey: who.signingPublicKey, counter: Date.now() * 1000, logLength: 1, head: new Uint8Array(32), echoes: [], authors: [] };
      return { type: 'beacon' as const, ...body, signature: await signMessage(signer, BEACON_CONTEXT, beaconSignedBytes(body)) };
    };
    a.push(await beacon(bob)); // another member's beacon
    a.push(await beacon(alice, bob)); // its own key, another's signature
    m.push(await beacon(mallory)); // no member
    await Promise.all([settled(a), settled(m)]);
    assert.deepEqual(a.codes(), ['bad-signature', 'bad-signature']);
    assert.ok(m.codes().includes('not-a-member'));
    assert.equal(b.of('beacon').length, 0, 'none of them reached Bob');
    a.push(await beacon(alice));
    await eventually(() => b.of('beacon').length === 1, 2000, 'Alice’s own beacon reaches Bob');
    assert.equal(a.of('beacon').length + m.of('beacon').length, 0, 'not back to its sender, not to a non-member');
    assert.equal((await store.envelopesAfter(groupId, DOC_ID, 0, 100)).length, 0, 'nothing stored');
    relay.close();
  });

  it('an authenticate hook slower than the hello deadline leaves nothing counted against the identity', async () => {
    let slow = true;
    const relay = new Relay({
      store: new MemoryRelayStore(),
      limits: { helloTimeoutMs: 50, connectionsPerIdentity: 1 },
      authenticate: async () => {
        if (slow) await new Promise((r) => setTimeout(r, 200));
        return true;
      },
    });
    const alice = identity('alice');
    const first = await connect(relay).then(async (c) => {
      const [challenge] = c.of('challenge');
      c.push({ type: 'hello', signingPublicKey: alice.signingPublicKey, signature: await signMessage(alice, HELLO_CONTEXT, challenge!.nonce) });
      return c;
    });
    await eventually(() => first.closedWith !== undefined, 2000, 'closed at its hello deadline');
    await new Promise((r) => setTimeout(r, 250)); // the hook answers afterwards
    slow = false;
    const second = await connect(relay, alice);
    assert.equal(second.of('welcome').length, 1, 'the identity holds no phantom connection');
    relay.close();
  });

  it('a frame before hello is a few hundred bytes at most', async () => {
    const { relay } = await relayWithGroup(identity('alice'));
    const c = await connect(relay);
    c.handlers.receive(new Uint8Array(2048));
    assert.equal(c.closedWith, 1009);
    relay.close();
  });
});

describe('relay attacks: a lying snapshot', () => {
  it('a writer whose snapshot claims to cover others’ envelopes it lacks makes retention drop nothing of theirs; a new device reads everything', async () => {
    const store = new MemoryRelayStore();
    const server = await startRelay({ store, port: 0, retention: { afterSnapshots: 0 } });
    const clients: Client[] = [];
    try {
      const team = await Team.create(['alice', 'mallory', 'carol']);
      const alice = await team.connect('alice', server.url);
      clients.push(alice);
      for (const ch of 'abc') {
        alice.doc.getText('t').insert(alice.text().length, ch);
        await alice.sealed.flush();
      }
      await eventually(async () => (await store.index(team.groupId, DOC_ID)).length === 3, 5000, "alice's edits are stored");
      // Mallory seals an empty snapshot that claims Alice's envelopes and its own, and attests it.
      const mallory = identity('mallory');
      const keyring = new Keyring();
      await unlockEpochSecrets(team.log, mallory, keyring);
      const covers: [Uint8Array, [number, number][]][] = [
        [alice.identity.memberId, [[0, 100]]],
        [mallory.memberId, [[0, 0]]],
      ];
      const snapshot = await sealEnvelope({
        kind: 'snapshot',
        groupId: team.groupId,
        docId: DOC_ID,
        epoch: team.log.epoch,
        seq: 1,
        head: team.log.head,
        author: mallory,
        keyring,
        plaintext: encodeSnapshot({ covers, state: Y.encodeStateAsUpdate(new Y.Doc()) }),
      });
      const raw = await RawClient.connect(server.url, mallory);
      raw.send({ type: 'push', ref: 1, envelope: snapshot });
      await raw.next('ack');
      const body = { groupId: team.groupId, docId: DOC_ID, author: mallory.memberId, seq: 1, authors: covers };
      raw.send({ type: 'covers', ...body, signature: await signMessage(mallory, COVERS_CONTEXT, coversSignedBytes(body)) } as WireMessage);
      await eventually(async () => (await store.covers(team.groupId, DOC_ID)).length === 1, 5000, 'the attestation is kept');
      await new Promise((r) => setTimeout(r, 300)); // retention's turn
      const index = await store.index(team.groupId, DOC_ID);
      assert.equal(index.filter((e) => e.dropped).length, 0, "nothing of Alice's dropped (and Mallory's snapshot covers nothing of its own that exists)");
      // A new device loads Mallory's snapshot first, and still fetches and applies Alice's edits.
      const carol = await team.connect('carol', server.url);
      clients.push(carol);
      await eventually(() => carol.text() === 'abc', 5000, 'the new device reads everything');
      raw.close();
    } finally {
      for (const c of clients) await c.close();
      await server.close();
    }
  });
});
