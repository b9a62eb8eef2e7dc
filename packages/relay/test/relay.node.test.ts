import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStorage } from '@sealdoc/core';
import { readEnvelopeHeader } from '@sealdoc/crypto';
import { encodeWire } from '@sealdoc/protocol';
import { SqliteRelayStore, startRelay, type RelayServer } from '@sealdoc/relay';
import { DOC_ID, eventually, identity, Team, type Client } from './clients.js';
import { envelopeMaker, RawClient } from './raw-client.js';
import { contains, utf8 } from '../../../test/support/bytes.js';


/** A relay on a free port over a fresh SQLite file; `done` closes it all and removes the file. */
async function sqliteRelay(options: { limits?: { maxFrameBytes?: number } } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sealdoc-relay-'));
  const path = join(dir, 'relay.sqlite');
  const store = SqliteRelayStore.open(path);
  const server = await startRelay({ store, port: 0, ...options });
  const clients: Client[] = [];
  return {
    server,
    store,
    dir,
    clients,
    /** Every byte of the database's files (the database and its WAL). */
    files: () => readdirSync(dir).map((f) => new Uint8Array(readFileSync(join(dir, f)))),
    done: async () => {
      for (const c of clients) await c.close();
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const connectAll = async (team: Team, server: RelayServer, names: string[], clients: Client[]) => {
  for (const name of names) clients.push(await team.connect(name, server.url));
  return clients;
};

describe('relay: clients over real WebSockets', () => {
  it('edits converge; awareness reaches the others; nothing in the database is plaintext or awareness', async () => {
    const relay = await sqliteRelay();
    try {
      const team = await Team.create(['alice', 'bob', 'carol']);
      const [alice, bob, carol] = await connectAll(team, relay.server, ['alice', 'bob', 'carol'], relay.clients);
      alice!.doc.getText('t').insert(0, 'Alice was here. ');
      await eventually(() => bob!.text() === 'Alice was here. ', 5000, 'bob sees alice');
      bob!.doc.getText('t').insert(0, 'Bob too. ');
      carol!.doc.getText('t').insert(0, 'And Carol. ');
      await eventually(() => [alice, bob, carol].every((c) => c!.text().length === 36 && c!.text() === alice!.text()), 5000, 'all three converge');
      for (const c of [alice, bob, carol]) assert.deepEqual(c!.errors, []);

      alice!.awareness.setLocalStateField('user', { name: 'Alice Secretname' });
      await eventually(() => [...bob!.awareness.getStates().values()].some((s) => (s as { user?: { name?: string } }).user?.name === 'Alice Secretname'), 5000, 'awareness');

      // The database: envelopes and ops only, no plaintext, no awareness.
      const rows = await relay.store.envelopesAfter(team.groupId, DOC_ID, 0, 10_000);
      assert.ok(rows.length >= 3);
      assert.ok(rows.every((r) => readEnvelopeHeader(r.bytes).kind !== 'awareness'));
      for (const bytes of relay.files()) {
        for (const secret of ['Alice was here', 'Bob too', 'And Carol', 'Secretname']) assert.ok(!contains(bytes, utf8(secret)), `${secret} at rest on the relay`);
      }
    } finally {
      await relay.done();
    }
  });

  it('a provider destroyed takes its presence with it: its caret is gone at the others within 1 s', async () => {
    const relay = await sqliteRelay();
    try {
      const team = await Team.create(['alice', 'bob']);
      const [alice, bob] = await connectAll(team, relay.server, ['alice', 'bob'], relay.clients);
      alice!.awareness.setLocalStateField('user', { name: 'Alice' });
      const aliceClient = alice!.awareness.clientID;
      await eventually(() => bob!.awareness.getStates().has(aliceClient), 5000, 'Bob sees Alice');
      const destroyed = performance.now();
      await alice!.sealed.destroy();
      await eventually(() => !bob!.awareness.getStates().has(aliceClient), 1000, 'her presence is gone at Bob within 1 s');
      assert.ok(performance.now() - destroyed < 1000);
    } finally {
      await relay.done();
    }
  });

  it('a client offline for a while catches up from its cursor, even after a restart of the client', async () => {
    const relay = await sqliteRelay();
    try {
      const team = await Team.create(['alice', 'bob']);
      // Bob's device keeps its store and its cursors across a restart.
      const cursors = new MemoryStorage();
      const storage = new MemoryStorage();
      const [alice] = await connectAll(team, relay.server, ['alice'], relay.clients);
      let bob = await team.connect('bob', relay.server.url, { cursors, storage });
      alice!.doc.getText('t').insert(0, 'before. ');
      await eventually(() => bob.text() === 'before. ');
      await bob.close();
      for (let i = 0; i < 5; i++) {
        alice!.doc.getText('t').insert(0, `${i}`);
        await alice!.sealed.flush();
      }
      await eventually(async () => (await relay.store.envelopesAfter(team.groupId, DOC_ID, 0, 100)).length === 6);
      bob = await team.connect('bob', relay.server.url, { cursors, storage });
      relay.clients.push(bob);
      await eventually(() => bob.text() === alice!.text(), 5000, 'bob catches up');
      assert.equal(bob.text(), '43210before. ');
    } finally {
      await relay.done();
    }
  });

  it('subscribe from a cursor: exactly what came after it, then caught-up; then live', async () => {
    const relay = await sqliteRelay();
    try {
      const team = await Team.create(['alice', 'bob']);
      const [alice] = await connectAll(team, relay.server, ['alice'], relay.clients);
      for (let i = 0; i < 6; i++) {
        alice!.doc.getText('t').insert(0, `${i}`);
        await alice!.sealed.flush();
      }
      await eventually(async () => (await relay.store.envelopesAfter(team.groupId, DOC_ID, 0, 100)).length === 6);
      const all = await relay.store.envelopesAfter(team.groupId, DOC_ID, 0, 100);
      const bob = await RawClient.connect(relay.server.url, identity('bob'));
      bob.send({ type: 'subscribe', groupId: team.groupId, docId: DOC_ID, cursor: all[3]!.cursor });
      const caughtUp = (await bob.next('caught-up')) as { cursor: number };
      const delivered = bob.received.filter((m) => m.type === 'deliver').map((m) => (m as { cursor: number }).cursor);
      assert.deepEqual(delivered, [all[4]!.cursor, all[5]!.cursor]);
      assert.equal(caughtUp.cursor, all[5]!.cursor);
      bob.received.splice(0);
      alice!.doc.getText('t').insert(0, 'live');
      const live = (await bob.next('deliver')) as { cursor: number };
      assert.ok(live.cursor > all[5]!.cursor);
      bob.close();
    } finally {
      await relay.done();
    }
  });

  it('removal through the relay: the removed member is told, its later pushes are refused, it receives nothing new', async () => {
    const relay = await sqliteRelay();
    try {
      const team = await Team.create(['alice', 'bob', 'carol']);
      const [alice, bob, carol] = await connectAll(team, relay.server, ['alice', 'bob', 'carol'], relay.clients);
      carol!.doc.getText('t').insert(0, 'carol before. ');
      await eventually(() => alice!.text() === 'carol before. ' && bob!.text() === 'carol before. ');
      let removed = false;
      carol!.sealed.events.on('access-removed', () => (removed = true));
      const cutoff = (await relay.store.highestSeq(team.groupId, identity('carol').memberId)) ?? null;
      await team.change('remove', 'carol', alice!, { cutoff });
      await eventually(() => removed, 5000, 'carol is told');
      await eventually(() => bob!.group.log.length === 2, 5000, 'bob learns of the removal');
      alice!.doc.getText('t').insert(0, 'after. ');
      await eventually(() => bob!.text() === 'after. carol before. ');
      carol!.doc.getText('t').insert(0, 'carol after. ');
      await carol!.sealed.flush();
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(carol!.text(), 'carol after. carol before. ', 'carol got nothing new');
      assert.equal(bob!.text(), 'after. carol before. ', "carol's later edit reached no one");
      const stored = await relay.store.envelopesAfter(team.groupId, DOC_ID, 0, 100);
      assert.ok(stored.every((e) => !(readEnvelopeHeader(e.bytes).seq > (cutoff ?? -1) && e.author.every((b, i) => b === identity('carol').memberId[i]))));
    } finally {
      await relay.done();
    }
  });
});

describe('relay: routine actions raise no alarm', () => {
  it('an admin removing a member from its own device: no error event anywhere, the snapshot it seals is stored', async () => {
    const relay = await sqliteRelay();
    try {
      const team = await Team.create(['alice', 'bob', 'carol']);
      const [alice, bob, carol] = await connectAll(team, relay.server, ['alice', 'bob', 'carol'], relay.clients);
      alice!.doc.getText('t').insert(0, 'before. ');
      await eventually(() => bob!.text() === 'before. ' && carol!.text() === 'before. ');
      for (let round = 0; round < 3; round++) {
        await alice!.group.removeMember(identity('carol').memberId);
        await eventually(() => bob!.group.log.length === alice!.group.log.length, 5000, 'bob learns of the removal');
        await alice!.group.addMember(identity('carol'), 'writer');
        await eventually(() => bob!.group.log.length === alice!.group.log.length, 5000, 'and of the re-admission');
      }
      // The admin's automatic snapshots after each epoch change were accepted.
      await eventually(async () => (await relay.store.envelopesAfter(team.groupId, DOC_ID, 0, 100)).filter((e) => readEnvelopeHeader(e.bytes).kind === 'snapshot').length >= 6, 5000, 'the snapshots are stored');
      assert.deepEqual(alice!.errors, []);
      assert.deepEqual(bob!.errors, []);
    } finally {
      await relay.done();
    }
  });
});

describe('relay: hostile input', () => {
  it('is refused with an error frame or a closed connection; nothing is stored; other clients are unaffected', async () => {
    const relay = await sqliteRelay({ limits: { maxFrameBytes: 64 * 1024 } });
    try {
      const team = await Team.create(['alice', 'bob', 'dave', 'mallory'], { dave: 'reader' });
      const [alice, bob] = await connectAll(team, relay.server, ['alice', 'bob'], relay.clients);
      alice!.doc.getText('t').insert(0, 'steady. ');
      await eventually(() => bob!.text() === 'steady. ');
      // Envelopes stored from the hostile clients (the others' go on as usual).
      const hostile = ['mallory', 'dave', 'eve'].map((n) => identity(n).memberId);
      const count = async () =>
        (await relay.store.envelopesAfter(team.groupId, DOC_ID, 0, 10_000)).filter((e) => hostile.some((h) => h.every((b, i) => b === e.author[i]))).length;
      const code = async (client: RawClient) => ((await client.next('error')) as { code: string }).code;

      // Before hello: nothing but hello is heard.
      const stranger = await RawClient.connect(relay.server.url);
      const malloryEnvelope = await envelopeMaker(identity('mallory'), team.ops, DOC_ID);
      stranger.send({ type: 'push', ref: 1, envelope: await malloryEnvelope(0) });
      assert.equal(await code(stranger), 'not-authenticated');
      // A hello that does not verify closes the connection.
      const liar = await RawClient.connect(relay.server.url, identity('mallory'), { badSignature: true });
      assert.equal(await code(liar), 'bad-hello');
      assert.equal(await liar.closed(), 1008);

      const mallory = await RawClient.connect(relay.server.url, identity('mallory'));
      // Random and truncated frames.
      let seed = 7;
      for (let i = 0; i < 50; i++) mallory.sendRaw(new Uint8Array((i % 40) + 1).map(() => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255));
      const valid = encodeWire({ type: 'subscribe', groupId: team.groupId, docId: DOC_ID, cursor: 0 });
      for (let n = 1; n < valid.length; n++) mallory.sendRaw(valid.subarray(0, n));
      await eventually(() => mallory.received.filter((m) => m.type === 'error').length >= 50 + valid.length - 1, 5000, 'an error for every bad frame');
      mallory.received.splice(0);
      // A replayed push: acknowledged again with the same cursor, nothing new stored.
      const first = await malloryEnvelope(100);
      mallory.send({ type: 'push', ref: 2, envelope: first });
      const ack = (await mallory.next('ack')) as { cursor: number };
      mallory.send({ type: 'push', ref: 3, envelope: first });
      assert.equal(((await mallory.next('ack')) as { cursor: number }).cursor, ack.cursor);
      // A forged signature.
      const forged = (await malloryEnvelope(101)).slice();
      forged[forged.length - 1]! ^= 1;
      mallory.send({ type: 'push', ref: 4, envelope: forged });
      assert.equal(await code(mallory), 'bad-signature');
      // Another author's sequence number reused with other bytes: a conflict.
      mallory.send({ type: 'push', ref: 5, envelope: await malloryEnvelope(100) });
      assert.equal(await code(mallory), 'conflict');
      // A reader pushing.
      const dave = await RawClient.connect(relay.server.url, identity('dave'));
      dave.send({ type: 'push', ref: 1, envelope: await (await envelopeMaker(identity('dave'), team.ops, DOC_ID))(0) });
      assert.equal(await code(dave), 'not-a-writer');
      // A non-member subscribing or pushing.
      const eve = await RawClient.connect(relay.server.url, identity('eve'));
      eve.send({ type: 'subscribe', groupId: team.groupId, docId: DOC_ID, cursor: 0 });
      assert.equal(await code(eve), 'not-a-member');
      eve.send({ type: 'push', ref: 1, envelope: await malloryEnvelope(102) });
      assert.equal(await code(eve), 'not-a-member');
      // A removed member pushing past its cutoff.
      const cutoff = (await relay.store.highestSeq(team.groupId, identity('mallory').memberId)) ?? null;
      await team.change('remove', 'mallory', alice!, { cutoff });
      await eventually(() => bob!.group.log.length === 2);
      mallory.send({ type: 'push', ref: 6, envelope: await malloryEnvelope(103) });
      assert.ok(['not-a-member', 'past-cutoff', 'unknown-head'].includes(await code(mallory)));
      // A frame over the limit closes the connection.
      mallory.sendRaw(new Uint8Array(65 * 1024));
      assert.equal(await mallory.closed(), 1009);

      assert.equal(await count(), 1, 'only the one valid envelope was stored');
      // The others never noticed.
      alice!.doc.getText('t').insert(0, 'still. ');
      await eventually(() => bob!.text() === 'still. steady. [100]' || bob!.text() === 'still. [100]steady. ' || bob!.text().startsWith('still. '), 5000, 'bob still syncs');
      assert.equal(bob!.text(), alice!.text());
      for (const c of [stranger, dave, eve]) c.close();
    } finally {
      await relay.done();
    }
  });
});
