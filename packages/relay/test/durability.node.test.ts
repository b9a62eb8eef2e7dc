// The relay as a child process, killed with SIGKILL in the middle of a stream of pushes and
// started again on the same database: no acknowledged envelope is lost and clients resume.
// SQLite always; PostgreSQL when it answers (always under CI=true). Then two relay nodes on
// one PostgreSQL database, with clients on different nodes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyring, MembershipLog, sealEnvelope, signMessage, unlockEpochSecrets, type Identity } from '@sealdoc/crypto';
import { BEACON_CONTEXT, beaconSignedBytes, encodeWire, type WireMessage } from '@sealdoc/protocol';
import { PostgresRelayStore, startRelay } from '@sealdoc/relay';
import { DOC_ID, eventually, identity, Team } from './clients.js';
import { freshSchema, postgresAvailable } from './postgres.js';
import { envelopeMaker, RawClient } from './raw-client.js';
import { startRelayProcess } from '../../../test/support/relay-process.js';

/** Starts `sealdoc-relay` with `args`; resolves with the process and the port it listens on. */
async function startCli(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const { child, port } = await startRelayProcess(args);
  return { child, port };
}

const killed = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

async function killMidStream(storageArgs: string[]): Promise<void> {
  const team = await Team.create(['alice', 'bob']);
  let { child, port } = await startCli(['--port', '0', ...storageArgs]);
  const url = `ws://127.0.0.1:${port}`;
  try {
    // Bob's device stays connected through the crash, and must resume by itself.
    const bob = await team.connect('bob', url);
    const alice = await RawClient.connect(url, identity('alice'));
    alice.send({ type: 'ops', groupId: team.groupId, fromIndex: 0, ops: team.ops });
    const seal = await envelopeMaker(identity('alice'), team.ops, DOC_ID);
    const envelopes = await Promise.all(Array.from({ length: 1000 }, (_, seq) => seal(seq)));
    // Pushes stream out; the relay is killed once some have been acknowledged.
    for (const [seq, envelope] of envelopes.entries()) alice.send({ type: 'push', ref: seq + 1, envelope });
    await eventually(() => alice.received.filter((m) => m.type === 'ack').length >= 40, 10_000, 'some acks');
    child.kill('SIGKILL');
    await killed(child);
    const acked = new Map<number, number>();
    for (const m of alice.received) if (m.type === 'ack') acked.set(m.ref - 1, m.cursor);
    assert.ok(acked.size >= 40 && acked.size < envelopes.length, `killed mid-stream: ${acked.size} of ${envelopes.length} acknowledged`);

    ({ child } = await startCli(['--port', String(port), ...storageArgs]));
    // Every acknowledged envelope is there, at the cursor it was acknowledged with.
    const reader = await RawClient.connect(url, identity('alice'));
    reader.send({ type: 'subscribe', groupId: team.groupId, docId: DOC_ID, cursor: 0 });
    await reader.next('caught-up', 10_000);
    const stored = new Map<number, Uint8Array>();
    for (const m of reader.received) if (m.type === 'deliver') stored.set(m.cursor, m.envelope);
    for (const [seq, cursor] of acked) assert.deepEqual(stored.get(cursor), envelopes[seq], `acknowledged envelope ${seq} (cursor ${cursor}) survived`);
    reader.close();
    alice.close();

    // Bob reconnected by himself and holds what was stored.
    await eventually(() => bob.transport.status === 'online', 10_000, 'bob reconnects');
    await eventually(() => bob.text().length >= stored.size * 3, 10_000, 'bob catches up');
    await bob.close();
  } finally {
    child.kill('SIGKILL');
    await killed(child);
  }
}

describe('durability: SIGKILL mid-stream', () => {
  it('SQLite: no acknowledged envelope is lost; clients resume', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdoc-kill-'));
    try {
      await killMidStream(['--db', join(dir, 'relay.sqlite')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('PostgreSQL: no acknowledged envelope is lost; clients resume', async (t) => {
    if (!(await postgresAvailable())) return t.skip('PostgreSQL did not answer (it runs under CI=true)');
    const { url, drop } = await freshSchema();
    try {
      await killMidStream(['--postgres', url]);
    } finally {
      await drop();
    }
  });
});

describe('two relay nodes on one PostgreSQL database', () => {
  it('clients connected to different nodes converge', async (t) => {
    if (!(await postgresAvailable())) return t.skip('PostgreSQL did not answer (it runs under CI=true)');
    const { url, drop } = await freshSchema();
    const stores = [await PostgresRelayStore.connect(url), await PostgresRelayStore.connect(url)];
    const nodes = await Promise.all(stores.map((store) => startRelay({ store, port: 0 })));
    try {
      const team = await Team.create(['alice', 'bob', 'carol']);
      const alice = await team.connect('alice', nodes[0]!.url);
      const bob = await team.connect('bob', nodes[1]!.url);
      const carol = await team.connect('carol', nodes[1]!.url);
      alice.doc.getText('t').insert(0, 'from node A. ');
      await eventually(() => bob.text() === 'from node A. ' && carol.text() === 'from node A. ', 10_000, 'A reaches B');
      bob.doc.getText('t').insert(0, 'from node B. ');
      await eventually(() => alice.text() === 'from node B. from node A. ', 10_000, 'B reaches A');
      // A membership change made through node A reaches the members on node B.
      await team.change('remove', 'carol', alice, { cutoff: null });
      await eventually(() => bob.group.log.length === 2 && carol.group.role === undefined, 10_000, 'the removal crosses nodes');
      for (const c of [alice, bob, carol]) await c.close();
    } finally {
      for (const n of nodes) await n.close();
      for (const s of stores) await s.close();
      await drop();
    }
  });

  it('awareness and head beacons reach the members on the other node within 1 s, as sent; never stored, never echoed', async (t) => {
    if (!(await postgresAvailable())) return t.skip('PostgreSQL did not answer (it runs under CI=true)');
    const { url, drop } = await freshSchema();
    const stores = [await PostgresRelayStore.connect(url), await PostgresRelayStore.connect(url)];
    const nodes = await Promise.all(stores.map((store) => startRelay({ store, port: 0 })));
    const clients: RawClient[] = [];
    try {
      const team = await Team.create(['alice', 'bob', 'carol']);
      const { groupId } = team;
      // Alice and Carol on node A, Bob on node B; Mallory, no member, on node A.
      const alice = await RawClient.connect(nodes[0]!.url, identity('alice'));
      const carol = await RawClient.connect(nodes[0]!.url, identity('carol'));
      const bob = await RawClient.connect(nodes[1]!.url, identity('bob'));
      const mallory = await RawClient.connect(nodes[0]!.url, identity('mallory'));
      clients.push(alice, carol, bob, mallory);
      alice.send({ type: 'commit-ops', ref: 1, groupId, fromIndex: 0, ops: team.ops });
      await alice.next('ack');
      for (const c of [alice, carol, bob]) {
        c.send({ type: 'subscribe', groupId, docId: DOC_ID, cursor: 0 });
        await c.next('caught-up');
      }

      const awareness = await sealAwareness(identity('alice'), team.ops);
      alice.send({ type: 'envelope', envelope: awareness });
      const presence = (await bob.next('envelope', 1000)) as Extract<WireMessage, { type: 'envelope' }>;
      assert.deepEqual(presence.envelope, awareness, 'Alice’s presence reaches Bob on the other node, as sealed');
      // A small beacon fits in a notification; one with 5,000 ranges (80 kB) does not.
      for (const ranges of [1, 5000]) {
        const beacon = await signedBeacon(identity('alice'), groupId, ranges);
        alice.send(beacon);
        const seen = (await bob.next('beacon', 1000)) as Extract<WireMessage, { type: 'beacon' }>;
        assert.deepEqual(encodeWire(seen), encodeWire(beacon), `a beacon of ${ranges} ranges reaches Bob, as signed`);
      }
      // The same check holds across nodes: a non-member's copy of Alice's presence goes nowhere.
      mallory.send({ type: 'envelope', envelope: awareness });
      assert.equal(((await mallory.next('error')) as Extract<WireMessage, { type: 'error' }>).code, 'not-a-member');

      await new Promise((resolve) => setTimeout(resolve, 300));
      const count = (c: RawClient, type: WireMessage['type']) => c.received.filter((m) => m.type === type).length;
      assert.equal(count(bob, 'envelope') + count(bob, 'beacon'), 0, 'nothing more reached Bob');
      assert.deepEqual([count(carol, 'envelope'), count(carol, 'beacon')], [1, 2], 'Carol, on the sender’s node, got each once: no echo from the database');
      assert.equal(count(alice, 'envelope') + count(alice, 'beacon'), 0, 'not back to its sender');
      for (const store of stores) assert.equal((await store.envelopesAfter(groupId, DOC_ID, 0, 10)).length, 0, 'nothing stored');
    } finally {
      for (const c of clients) c.close();
      for (const n of nodes) await n.close();
      for (const s of stores) await s.close();
      await drop();
    }
  });
});

/** A sealed awareness envelope of `who` under the log's current epoch (its content is no concern of the relay). */
async function sealAwareness(who: Identity, ops: readonly Uint8Array[]): Promise<Uint8Array> {
  const log = await MembershipLog.fromOps(ops);
  const keyring = new Keyring();
  await unlockEpochSecrets(log, who, keyring);
  return sealEnvelope({ kind: 'awareness', groupId: log.groupId, docId: DOC_ID, epoch: log.epoch, seq: 1, head: log.head, author: who, keyring, plaintext: new Uint8Array(64) });
}

/** `who`'s signed head beacon for DOC_ID, saying it holds `ranges` ranges of its own envelopes. */
async function signedBeacon(who: Identity, groupId: Uint8Array, ranges: number): Promise<Extract<WireMessage, { type: 'beacon' }>> {
  const held: [number, number][] = Array.from({ length: ranges }, (_, i) => [2 * i, 2 * i]);
  const body = { groupId, docId: DOC_ID, signingPublicKey: who.signingPublicKey, counter: Date.now() * 1000, logLength: 1, head: new Uint8Array(32), echoes: [], authors: [[who.memberId, held]] as [Uint8Array, [number, number][]][] };
  return { type: 'beacon', ...body, signature: await signMessage(who, BEACON_CONTEXT, beaconSignedBytes(body)) };
}
