// Retention: what a snapshot covers is dropped only after N later snapshots, by the covers its
// author attested; every client still converges; nothing is dropped without retention.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage } from '@sealdoc/core';
import { readEnvelopeHeader, signMessage } from '@sealdoc/crypto';
import { COVERS_CONTEXT, coversSignedBytes, type WireMessage } from '@sealdoc/protocol';
import { MemoryRelayStore, Relay, startRelay, type RelayOptions, type RelayServer } from '@sealdoc/relay';
import { DOC_ID, eventually, identity, Team, type Client } from './clients.js';
import { RawClient } from './raw-client.js';

async function relayWith(options: Pick<RelayOptions, 'retention'> = {}) {
  const store = new MemoryRelayStore();
  const server = await startRelay({ store, port: 0, ...options });
  const clients: Client[] = [];
  return {
    server,
    store,
    clients,
    done: async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await server.close();
      await store.close();
    },
  };
}

/** An edit per character of `text` by `client`, each sealed as its own envelope. */
async function edits(client: Client, text: string): Promise<void> {
  for (const ch of text) {
    client.doc.getText('t').insert(client.text().length, ch);
    await client.sealed.flush();
  }
}

/**
 * A snapshot by `client`, once the relay has its covers (a `covers` frame follows the push)
 * and has dropped `dropped` envelopes in all.
 */
async function snapshot(relay: { store: MemoryRelayStore; server: RelayServer }, team: Team, client: Client, dropped = 0): Promise<void> {
  const before = (await relay.store.covers(team.groupId, DOC_ID)).length;
  await client.sealed.snapshot();
  await eventually(
    async () => (await relay.store.covers(team.groupId, DOC_ID)).length === before + 1 && relay.server.relay.stats.envelopesDropped === dropped,
    5000,
    'the covers reach the relay',
  );
}

const kinds = async (store: MemoryRelayStore, team: Team) => {
  const index = await store.index(team.groupId, DOC_ID);
  const held = await store.envelopesAt(index.map((e) => e.cursor));
  const kindOf = new Map(held.map((e) => [e.cursor, readEnvelopeHeader(e.bytes).kind[0]]));
  return index.map((e) => (e.dropped ? 'x' : kindOf.get(e.cursor))).join('');
};

describe('relay: retention', () => {
  it('drops what a snapshot covers only after N later snapshots; new, resuming and offline devices converge; a replay of a dropped envelope stores nothing', async () => {
    const relay = await relayWith({ retention: { afterSnapshots: 1 } });
    try {
      const team = await Team.create(['alice', 'bob', 'carol']);
      const alice = await team.connect('alice', relay.server.url);
      relay.clients.push(alice);
      // Bob reads the first edits, then goes offline with his cursor.
      const bobStore = { cursors: new MemoryStorage(), storage: new MemoryStorage() };
      let bob = await team.connect('bob', relay.server.url, bobStore);
      await edits(alice, 'abcde');
      await eventually(() => bob.text() === 'abcde', 5000, 'bob reads the first edits');
      await bob.close();
      const firstFive = await relay.store.envelopesAfter(team.groupId, DOC_ID, 0, 100);
      assert.equal(firstFive.length, 5);

      await snapshot(relay, team, alice);
      assert.equal(await kinds(relay.store, team), 'uuuuus', 'one snapshot, none after it: nothing dropped');
      await edits(alice, 'fgh');
      await snapshot(relay, team, alice, 5);
      // The first snapshot has one later: what it covers (the first five) goes; it stays.
      assert.equal(await kinds(relay.store, team), 'xxxxxsuuus');
      await edits(alice, 'i');
      await snapshot(relay, team, alice, 9);
      // The second has one later now: the three edits and the first snapshot go.
      assert.equal(await kinds(relay.store, team), 'xxxxxxxxxsus');
      assert.equal(relay.server.relay.stats.envelopesDropped, 9);

      // A new device: the snapshot and what followed it.
      const carol = await team.connect('carol', relay.server.url);
      relay.clients.push(carol);
      await eventually(() => carol.text() === 'abcdefghi', 5000, 'a new device reads everything');
      // Bob resumes from his cursor (the fifth edit, since dropped, as what followed it).
      bob = await team.connect('bob', relay.server.url, bobStore);
      relay.clients.push(bob);
      await eventually(() => bob.text() === 'abcdefghi', 5000, 'bob resumes');
      // Live editing goes on as before.
      await edits(bob, '!');
      await eventually(() => alice.text() === 'abcdefghi!' && carol.text() === 'abcdefghi!', 5000, 'live edits');
      for (const c of [alice, bob, carol]) assert.deepEqual(c.errors, [], c.name);

      // Alice's device pushes a dropped envelope again: acknowledged, not stored again.
      const raw = await RawClient.connect(relay.server.url, identity('alice'));
      raw.send({ type: 'push', ref: 7, envelope: firstFive[0]!.bytes });
      assert.deepEqual(await raw.next('ack'), { type: 'ack', ref: 7, cursor: firstFive[0]!.cursor });
      assert.deepEqual(await relay.store.envelopesAt([firstFive[0]!.cursor]), []);
      raw.close();
    } finally {
      await relay.done();
    }
  });

  it('without retention (the default) nothing is dropped, however many snapshots', async () => {
    const relay = await relayWith();
    try {
      const team = await Team.create(['alice']);
      const alice = await team.connect('alice', relay.server.url);
      relay.clients.push(alice);
      for (const text of ['ab', 'c', 'd']) {
        await edits(alice, text);
        await snapshot(relay, team, alice);
      }
      assert.equal(await kinds(relay.store, team), 'uususus');
      assert.equal(relay.server.relay.stats.envelopesDropped, 0);
    } finally {
      await relay.done();
    }
  });

  it('a covers attestation that is forged, for an unknown envelope, for an update, from a non-member or claiming later envelopes is refused and not kept', async () => {
    const relay = await relayWith({ retention: { afterSnapshots: 0 } });
    try {
      const team = await Team.create(['alice', 'bob']);
      const alice = await team.connect('alice', relay.server.url);
      relay.clients.push(alice);
      await edits(alice, 'ab');
      await snapshot(relay, team, alice, 2);
      // afterSnapshots 0: what the newest snapshot covers goes at once.
      assert.equal(await kinds(relay.store, team), 'xxs');
      await edits(alice, 'c');
      await eventually(async () => (await relay.store.index(team.groupId, DOC_ID)).length === 4, 5000, 'the edit is stored');
      const index = await relay.store.index(team.groupId, DOC_ID);
      const [snap, update] = [index[2]!, index[3]!];
      const body = (seq: number, authors: [Uint8Array, [number, number][]][]) => ({ groupId: team.groupId, docId: DOC_ID, author: alice.identity.memberId, seq, authors });
      const signed = async (b: ReturnType<typeof body>, by = alice.identity): Promise<WireMessage> => ({
        type: 'covers',
        ...b,
        signature: await signMessage(by, COVERS_CONTEXT, coversSignedBytes(b)),
      });
      const cases: [string, WireMessage, RawClient][] = [];
      const asBob = await RawClient.connect(relay.server.url, identity('bob'));
      const asAlice = await RawClient.connect(relay.server.url, identity('alice'));
      const stranger = await RawClient.connect(relay.server.url, identity('mallory'));
      const everything: [Uint8Array, [number, number][]][] = [[identity('bob').memberId, [[0, 100]]]];
      cases.push(['bad-signature', await signed(body(snap.seq, everything), identity('bob')), asBob]);
      cases.push(['unknown-snapshot', await signed(body(999, everything)), asAlice]);
      cases.push(['not-a-snapshot', await signed(body(update.seq, everything)), asAlice]);
      cases.push(['not-a-member', await signed(body(snap.seq, everything)), stranger]);
      cases.push(['bad-covers', await signed(body(snap.seq, [[alice.identity.memberId, [[0, snap.seq]]]])), asAlice]);
      const before = await relay.store.covers(team.groupId, DOC_ID);
      for (const [code, message, client] of cases) {
        client.send(message);
        const error = (await client.next('error')) as Extract<WireMessage, { type: 'error' }>;
        assert.equal(error.code, code);
      }
      assert.deepEqual(await relay.store.covers(team.groupId, DOC_ID), before);
      assert.equal(await kinds(relay.store, team), 'xxsu', 'nothing more dropped');
      for (const c of [asBob, asAlice, stranger]) c.close();
    } finally {
      await relay.done();
    }
  });

  it('a bad retention setting is refused', () => {
    for (const afterSnapshots of [-1, 1.5, Number.NaN]) assert.throws(() => new Relay({ store: new MemoryRelayStore(), retention: { afterSnapshots } }), RangeError);
  });
});
