import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { EnvelopeError, Keyring, MembershipLog, readEnvelopeHeader, sealEnvelope } from '@sealdoc/crypto';
import { DeviceKey, encodeSnapshot, Group, MemoryStorage, SealedDoc, StorageError, SyncError, type StorageWrite } from '@sealdoc/core';
import type { WireMessage } from '@sealdoc/protocol';
import { World, eventually, identity, toHex } from './helpers.js';

const type = (world: World, name: string, at: number, text: string) => world.peer(name).doc.getText('t').insert(at, text);

describe('SealedDoc: two peers', () => {
  it('edits travel sealed and apply on the other side', async () => {
    const world = await World.create(['alice', 'bob']);
    type(world, 'alice', 0, 'hello');
    await world.settle();
    assert.equal(world.peer('bob').text(), 'hello');
    type(world, 'bob', 5, ', world');
    await world.settle();
    assert.equal(world.peer('alice').text(), 'hello, world');
    // What went over the wire and into the stores is sealed: no plaintext anywhere.
    for (const p of world.peers.values()) {
      for (const { data } of await p.storage.loadRange([])) assert.ok(!new TextDecoder('latin1').decode(data).includes('hello'));
    }
  });

  it('does not make Yjs encode what it applies from peers; its own edits still go out, and an app listening for updates still hears both', async () => {
    const world = await World.create(['alice', 'bob']);
    const bob = world.peer('bob');
    const heard: unknown[] = [];
    type(world, 'alice', 0, 'hello');
    await world.settle();
    assert.equal(bob.text(), 'hello');
    // Yjs encodes an update only while something listens: after a peer's edit, nothing does.
    const listening = (doc: Y.Doc) => (doc as unknown as { _observers: Map<string, Set<unknown>> })._observers.has('update');
    assert.equal(listening(bob.doc), false);
    type(world, 'bob', 5, '!');
    await world.settle();
    assert.equal(world.peer('alice').text(), 'hello!');
    assert.equal(listening(bob.doc), true);
    // An app's own listener is left alone: it hears remote and local updates as before.
    const onUpdate = (_u: Uint8Array, origin: unknown) => heard.push(origin);
    bob.doc.on('update', onUpdate);
    type(world, 'alice', 0, '> ');
    await world.settle();
    type(world, 'bob', 0, '# ');
    await world.settle();
    assert.equal(world.peer('alice').text(), '# > hello!');
    assert.deepEqual(heard, [bob.sealed, null]);
    bob.doc.off('update', onUpdate);
  });

  it('batches keystrokes: one envelope per window, not per edit', async () => {
    const world = await World.create(['alice', 'bob']);
    const alice = world.peer('alice');
    for (let i = 0; i < 200; i++) alice.doc.getText('t').insert(i, 'x');
    await world.settle();
    assert.equal(world.peer('bob').text(), 'x'.repeat(200));
    assert.ok(alice.sealed.envelopes().length <= 3, `${alice.sealed.envelopes().length} envelopes for 200 keystrokes`);
  });

  it('content already in the Y.Doc when it binds is sent, once; later edits go on', async () => {
    const world = await World.create(['alice', 'bob']);
    const alice = world.peer('alice');
    alice.sealed.destroy();
    const doc = new Y.Doc();
    doc.getText('t').insert(0, 'written before binding. ');
    const storage = new MemoryStorage();
    const sealed = new SealedDoc(doc, { group: alice.group, docId: world.docId, transport: alice.transport, storage, batch: { windowMs: 1 } });
    await world.settle();
    assert.equal(world.peer('bob').text(), 'written before binding. ');
    doc.getText('t').insert(0, 'and after. ');
    await world.settle();
    assert.equal(world.peer('bob').text(), 'and after. written before binding. ');
    await sealed.destroy();
    // Bound again over a doc filled from its own store's content: nothing is sent twice.
    const reloaded = new Y.Doc();
    const first = new SealedDoc(reloaded, { group: alice.group, docId: world.docId, storage });
    await first.whenLoaded;
    await first.destroy();
    const envelopes = (await storage.loadRange(['env'])).length;
    const again = new SealedDoc(reloaded, { group: alice.group, docId: world.docId, storage, batch: { windowMs: 1 } });
    await again.whenLoaded;
    await again.flush();
    assert.equal((await storage.loadRange(['env'])).length + (await storage.loadRange(['unsent'])).length, envelopes, 'no new envelope for what the store held');
    await again.destroy();
  });

  it('survives a reload from its store', async () => {
    const world = await World.create(['alice', 'bob']);
    type(world, 'alice', 0, 'kept');
    await world.settle();
    const bob = world.peer('bob');
    bob.sealed.destroy();
    const doc = new Y.Doc();
    const again = new SealedDoc(doc, { group: bob.group, docId: world.docId, storage: bob.storage });
    await again.whenSynced;
    assert.equal(doc.getText('t').toString(), 'kept');
  });

  it('unsaved: with a device key, until the edits are an envelope or in the journal (written when they are not an envelope 150 ms after, or at once on flush; never while batches are stored in time); without one, until the batch is stored', async () => {
    const world = await World.create(['alice']);
    const alice = world.peer('alice');
    alice.sealed.destroy();
    const journaled: number[] = [];
    const storage = new MemoryStorage();
    const write = storage.write.bind(storage);
    storage.write = (writes: readonly StorageWrite[]) => {
      for (const w of writes) if (w.key[0] === 'journal' && w.op === 'save') journaled.push(w.data.length);
      return write(writes);
    };
    const doc = new Y.Doc();
    const deviceKey = await DeviceKey.generate();
    // Typing as usual (a batching window well under the journal's wait, here long so that a slow machine cannot stall
    // past it): every batch is an envelope in time, nothing is journaled.
    const quickDoc = new Y.Doc();
    const quick = new SealedDoc(quickDoc, { group: alice.group, docId: new Uint8Array(16).fill(9), storage, deviceKey, batch: { windowMs: 5 }, journalAfterMs: 5000 });
    await quick.whenLoaded;
    for (let i = 0; i < 20; i++) {
      quickDoc.getText('t').insert(0, 'q');
      await new Promise((r) => setTimeout(r, 10));
    }
    await eventually(() => !quick.unsaved);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(journaled.length, 0, 'no journal write while batches are stored in time');
    assert.equal((await storage.loadRange(['journal'])).length, 0);
    await quick.destroy();

    const sealed = new SealedDoc(doc, { group: alice.group, docId: world.docId, storage, deviceKey, batch: { windowMs: 2000 } });
    await sealed.whenLoaded;
    assert.equal(sealed.unsaved, false);
    for (let i = 0; i < 20; i++) doc.getText('t').insert(i, 'x');
    assert.equal(sealed.unsaved, true);
    const typed = performance.now();
    await eventually(() => !sealed.unsaved, 1500);
    assert.ok(performance.now() - typed >= 140, 'journaled once the edits waited 150 ms');
    assert.equal(journaled.length, 1, 'one record for the edits waiting');
    assert.equal(sealed.pending, 1, 'the batch is not sealed yet');
    // Flush (a page going away) writes the journal at once, before sealing.
    doc.getText('t').insert(0, 'y');
    assert.equal(sealed.unsaved, true);
    await sealed.flush();
    assert.equal(journaled.length, 2, 'flush wrote the journal');
    for (let tries = 0; (await storage.loadRange(['journal'])).length > 0; tries++) {
      assert.ok(tries < 100, 'the journal emptied once the batch was stored');
      await new Promise((r) => setTimeout(r, 5));
    }
    await sealed.destroy();

    // No device key: nothing is journaled (nothing rests in clear); unsaved until the envelope is stored.
    const bare = new SealedDoc(new Y.Doc(), { group: alice.group, docId: world.docId, storage: new MemoryStorage(), batch: { windowMs: 200 } });
    await bare.whenLoaded;
    bare.doc.getText('t').insert(0, 'y');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(bare.unsaved, true);
    await bare.flush();
    assert.equal(bare.unsaved, false);
    await bare.destroy();
  });

  it('saves its local state when typing pauses, not between keystrokes; at most sixty delays late while typing goes on', async () => {
    const world = await World.create(['alice']);
    const alice = world.peer('alice');
    alice.sealed.destroy();
    const saves: number[] = [];
    const storage = new MemoryStorage();
    const write = storage.write.bind(storage);
    storage.write = (writes: readonly StorageWrite[]) => {
      if (writes.some((w) => w.key[0] === 'local' && w.op === 'save')) saves.push(performance.now());
      return write(writes);
    };
    const doc = new Y.Doc();
    const sealed = new SealedDoc(doc, { group: alice.group, docId: world.docId, storage, deviceKey: await DeviceKey.generate(), batch: { windowMs: 5 }, localSaveMs: 40 });
    await sealed.whenLoaded;
    const start = performance.now();
    // A keystroke every 15 ms for 3 s: never a 40 ms pause, and longer than sixty delays (2.4 s).
    while (performance.now() - start < 3000) {
      doc.getText('t').insert(0, 'x');
      await new Promise((r) => setTimeout(r, 15));
    }
    const typed = performance.now();
    // (A save past sixty delays also waits for every edit to be stored: with sealing this busy, none may come before the pause.)
    assert.ok(saves.length <= 2, `${saves.length} saves while typing`);
    assert.ok(saves.every((t) => t - start >= 2400 - 25), `a save ${Math.round(saves[0]! - start)} ms into typing, before sixty delays`);
    await eventually(() => saves.some((t) => t >= typed));
    sealed.destroy();
  });
});

describe('SealedDoc: faults, offline, membership', () => {
  it('three peers converge through drops, duplicates and reordering, healed by resync', async () => {
    const world = await World.create(['alice', 'bob', 'carol'], { seed: 11, faults: { drop: 0.3, duplicate: 0.2, reorder: 0.3, delay: [0, 3] } });
    const names = ['alice', 'bob', 'carol'];
    for (let i = 0; i < 60; i++) {
      const name = names[i % 3]!;
      const text = world.peer(name).doc.getText('t');
      text.insert(Math.floor((i * 7919) % (text.length + 1)), String.fromCharCode(97 + (i % 26)));
      if (i % 10 === 9) await world.settle(1);
    }
    world.hub.setFaults({});
    await world.settle();
    const texts = names.map((n) => world.peer(n).text());
    assert.equal(new Set(texts).size, 1, texts.join(' | '));
    assert.equal(texts[0]!.length, 60);
  });

  it('edits made offline reach the others on reconnect; pending counts them until then', async () => {
    const world = await World.create(['alice', 'bob']);
    const counts: number[] = [];
    const synced: boolean[] = [];
    world.peer('bob').sealed.events.on('pending', ({ count }) => counts.push(count));
    world.peer('bob').sealed.events.on('synced', ({ synced: s }) => synced.push(s));
    await world.settle();
    assert.equal(world.peer('bob').sealed.synced, true);
    await world.peer('bob').transport.disconnect();
    assert.equal(world.peer('bob').sealed.synced, false);
    assert.equal(world.peer('bob').sealed.status, 'offline');
    type(world, 'alice', 0, 'A');
    type(world, 'bob', 0, 'B');
    await world.settle();
    await world.peer('bob').sealed.flush();
    assert.equal(world.peer('alice').text(), 'A');
    assert.equal(world.peer('bob').sealed.pending, 1);
    await world.peer('bob').transport.connect();
    await world.settle();
    assert.equal(world.peer('alice').text(), world.peer('bob').text());
    assert.equal(world.peer('alice').text().length, 2);
    assert.equal(world.peer('bob').sealed.pending, 0);
    assert.deepEqual(counts, [1, 0]);
    assert.equal(world.peer('bob').sealed.synced, true);
    assert.ok(synced.indexOf(false) >= 0 && synced.lastIndexOf(true) > synced.indexOf(false), synced.join());
  });

  it('edits made offline survive a reload and are sent after it', async () => {
    const world = await World.create(['alice', 'bob']);
    const bob = world.peer('bob');
    await bob.transport.disconnect();
    type(world, 'bob', 0, 'written offline');
    await bob.sealed.flush();
    bob.sealed.destroy();
    // Bob's tab reloads: a new document on the same store, still offline.
    const doc = new Y.Doc();
    const again = new SealedDoc(doc, { group: bob.group, docId: world.docId, transport: bob.transport, storage: bob.storage });
    await bob.transport.connect();
    await again.whenSynced;
    assert.equal(doc.getText('t').toString(), 'written offline');
    await world.settle();
    assert.equal(world.peer('alice').text(), 'written offline');
  });

  it('an envelope under an epoch not yet known waits, then applies', async () => {
    const world = await World.create(['alice', 'bob']);
    await world.change('add', 'carol', ['alice']);
    // Alice seals under the new epoch; Bob has not seen the add yet.
    type(world, 'alice', 0, 'after the add');
    await world.settle();
    assert.equal(world.peer('bob').text(), 'after the add', 'the log reached Bob through the resync');
  });

  it('the offline case: Alice and Bob edit offline, Carol is added and Dave removed meanwhile', async () => {
    // 'all': Carol may read what came before her join through the lineage. (With
    // 'since-join' she needs a snapshot sealed under her epoch; snapshots are not built yet.)
    const world = await World.create(['erin', 'alice', 'bob', 'dave'], { history: 'all' });
    type(world, 'alice', 0, 'base.');
    await world.settle();
    assert.equal(world.peer('dave').text(), 'base.');
    const removed: number[] = [];
    world.peer('dave').sealed.events.on('access-removed', ({ epoch }) => removed.push(epoch));

    await world.peer('alice').transport.disconnect();
    await world.peer('bob').transport.disconnect();
    type(world, 'alice', 5, ' alice offline.');
    type(world, 'bob', 0, 'bob offline. ');
    await world.settle();

    // Meanwhile Erin (an admin) adds Carol and removes Dave; Dave learns it.
    await world.change('add', 'carol', ['erin']);
    await world.change('remove', 'dave', ['erin', 'dave']);
    await world.join('carol');
    assert.deepEqual(removed, [world.peer('erin').group.log.epoch]);
    await world.settle();

    await world.peer('alice').transport.connect();
    await world.peer('bob').transport.connect();
    await world.settle(6);

    const [a, b, c, e] = ['alice', 'bob', 'carol', 'erin'].map((n) => world.peer(n).text());
    assert.equal(a, b);
    assert.equal(a, c, 'Carol, added after the edits, reads them: they were re-sealed under the new epoch');
    assert.equal(a, e);
    assert.ok(a!.includes('alice offline.') && a!.includes('bob offline.') && a!.includes('base.'));
    // The offline edits went out re-sealed under the newest epoch, not under the one they were made in.
    const newest = world.peer('erin').group.log.epoch;
    for (const name of ['alice', 'bob']) {
      const epochs = world.peer(name).sealed.envelopes().map((e) => readEnvelopeHeader(e)).filter((h) => toHex(h.author) === toHex(world.peer(name).identity.memberId)).map((h) => h.epoch);
      assert.ok(epochs.includes(newest), `${name}: ${epochs}`);
      assert.ok(epochs.every((e) => e === newest || e === 0), `${name} sent something under a stale epoch: ${epochs}`);
    }
    const dave = world.peer('dave').text();
    assert.ok(!dave.includes('offline'), `Dave read something sealed after his removal: ${dave}`);
  });

  it('bad envelopes and messages from a peer change nothing and surface as typed errors', async () => {
    const world = await World.create(['alice', 'bob']);
    type(world, 'alice', 0, 'ok');
    await world.settle();
    const bob = world.peer('bob');
    const errors: string[] = [];
    bob.sealed.events.on('error', ({ error }) => errors.push(`${error.name}:${(error as EnvelopeError).code}`));
    // A fresh envelope from Alice (a sequence number Bob has not seen), with one bit flipped.
    const alice = world.peer('alice');
    const envelope = await sealEnvelope({
      kind: 'update', groupId: alice.group.groupId, docId: world.docId, epoch: alice.group.log.epoch, seq: 999, head: alice.group.log.head,
      author: alice.identity, keyring: alice.group.keyring, plaintext: Y.encodeStateAsUpdate(new Y.Doc()),
    });
    const flipped = envelope.slice();
    flipped[flipped.length - 1]! ^= 1;
    // A flipped signature, garbage, and an envelope from a stranger's keyring.
    const mallory = world.hub.transport('mallory');
    await mallory.connect();
    mallory.send({ type: 'envelope', envelope: flipped.slice() });
    mallory.sendBytes(new Uint8Array([1, 99, 0]));
    await world.hub.flush();
    await eventually(() => errors.length >= 2);
    assert.deepEqual(errors.sort(), ['EnvelopeError:bad-signature', 'WireError:malformed']);
    assert.equal(bob.text(), 'ok');
    // The document keeps working.
    type(world, 'alice', 2, '!');
    await world.settle();
    assert.equal(bob.text(), 'ok!');
  });

  it('every refusal a peer can provoke is a typed error event, and changes nothing', async () => {
    const world = await World.create(['alice', 'bob', 'rita'], { roles: { rita: 'reader' } });
    type(world, 'alice', 0, 'ok');
    await world.settle();
    const bob = world.peer('bob');
    const errors: string[] = [];
    bob.sealed.events.on('error', ({ error }) => errors.push((error as EnvelopeError).code));
    const mallory = world.hub.transport('mallory');
    await mallory.connect();
    const alice = world.peer('alice');
    const g = alice.group;
    const seal = (over: Partial<Parameters<typeof sealEnvelope>[0]>) =>
      sealEnvelope({
        kind: 'update', groupId: g.groupId, docId: world.docId, epoch: g.log.epoch, seq: 900 + errors.length + Math.floor(Math.random() * 1e6), head: g.log.head,
        author: alice.identity, keyring: g.keyring, plaintext: Y.encodeStateAsUpdate(new Y.Doc()), ...over,
      });
    const send = (envelope: Uint8Array) => mallory.send({ type: 'envelope', envelope });
    const cases: [string, () => Promise<Uint8Array>][] = [
      ['malformed', async () => (await seal({})).subarray(0, 150)],
      ['unsupported-version', async () => { const e = await seal({}); e[0] = 9; return e; }],
      ['bad-signature', async () => { const e = await seal({}); e[e.length - 1]! ^= 1; return e; }],
      ['not-a-member', async () => seal({ author: identity('mallory') })],
      ['not-a-writer', async () => seal({ author: world.peer('rita').identity, keyring: world.peer('rita').group.keyring })],
      ['wrong-epoch', async () => { const k = new Keyring(); k.add(g.groupId, 5, new Uint8Array(32)); return seal({ epoch: 5, keyring: k }); }],
      ['bad-ciphertext', async () => { const k = new Keyring(); k.add(g.groupId, g.log.epoch, new Uint8Array(32).fill(3)); return seal({ keyring: k }); }],
    ];
    for (const [code, make] of cases) {
      send(await make());
      await world.hub.flush();
      await eventually(() => errors.includes(code));
    }
    // Past its cutoff: Rita is removed; an envelope she seals under the old head is refused.
    const oldHead = g.log.head;
    const ritaKeys = world.peer('rita').group.keyring;
    await world.change('remove', 'rita', ['alice', 'bob', 'rita'], { cutoff: null });
    await world.change('add', 'rita', ['alice', 'bob', 'rita'], { role: 'writer' });
    send(await seal({ author: world.peer('rita').identity, keyring: ritaKeys, epoch: 0, head: oldHead }));
    await world.hub.flush();
    await eventually(() => errors.includes('past-cutoff'));
    assert.equal(bob.text(), 'ok');
    type(world, 'alice', 2, '!');
    await world.settle();
    assert.equal(bob.text(), 'ok!');
  });

  it('a removed member\'s new edits are not sent', async () => {
    const world = await World.create(['alice', 'bob']);
    await world.change('remove', 'bob', ['alice', 'bob']);
    type(world, 'bob', 0, 'after removal');
    await world.settle();
    assert.equal(world.peer('alice').text(), '');
  });
});

describe('parked envelopes cannot censor', () => {
  it('a forgery parked under an unknown head, before or after the real envelope, neither counts as held nor keeps the real one out', async () => {
    for (const forgeryFirst of [true, false]) {
      const world = await World.create(['carol', 'alice', 'bob']);
      // Carol, the admin, starts a new epoch; Alice hears of it, Bob not yet.
      await world.change('rotate', '', ['alice']);
      const alice = world.peer('alice');
      const bob = world.peer('bob');
      const doc = new Y.Doc();
      doc.getText('t').insert(0, 'the real one');
      const log = alice.group.log;
      const real = await sealEnvelope({ kind: 'update', groupId: log.groupId, docId: world.docId, epoch: log.epoch, seq: 40, head: log.head, author: alice.identity, keyring: alice.group.keyring, plaintext: Y.encodeStateAsUpdate(doc) });
      const forged = real.slice();
      forged[forged.length - 1]! ^= 1; // its signature, which no one can check before the log arrives
      const mallory = world.hub.transport('mallory');
      await mallory.connect();
      // Bob hears only Mallory until the log reaches him (below): asking for it gets him nothing.
      world.hub.partition(['bob', 'mallory'], ['alice', 'carol']);
      await world.hub.flush();
      const haves: Uint8Array[][] = [];
      mallory.events.on('message', ({ message: m }) => {
        if (m.type === 'have') haves.push(m.authors.filter(([a]) => toHex(a) === toHex(alice.identity.memberId)).flatMap(([, r]) => r.map(([s, e]) => Uint8Array.of(s, e))));
      });
      const errors: string[] = [];
      bob.sealed.events.on('error', ({ error }) => errors.push((error as { code?: string }).code ?? error.name));
      for (const bytes of forgeryFirst ? [forged, real] : [real, forged]) mallory.send({ type: 'envelope', envelope: bytes }, 'bob');
      await world.hub.flush();
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(bob.text(), '', 'nothing applies before the log');
      assert.ok(haves.length > 0, 'an unknown head makes Bob ask for the log at once');
      // Bob's summary does not claim the parked envelope.
      bob.sealed.resync();
      await world.hub.flush();
      await new Promise((r) => setTimeout(r, 20));
      assert.ok(haves.length > 0 && haves.every((ranges) => !ranges.some((r) => r[0]! <= 40 && 40 <= r[1]!)), 'parked is not held');
      // The log arrives (from Alice's answer to that resync, or here): the real one applies, the forgery is refused.
      await bob.group.receiveOps(alice.group.log.ops(), 0);
      await eventually(() => bob.text() === 'the real one', 2000);
      assert.deepEqual(errors, ['bad-signature'], `forgery first: ${forgeryFirst}`);
    }
  });
});

describe('equivocation', () => {
  it('a member who signs two different edits with one sequence number is named; the first stays, nothing else changes', async () => {
    const world = await World.create(['alice', 'mallory', 'bob']);
    const mallory = world.peer('mallory');
    const bob = world.peer('bob');
    const log = mallory.group.log;
    const seal = (text: string) => {
      const doc = new Y.Doc();
      doc.getText('t').insert(0, text);
      return sealEnvelope({ kind: 'update', groupId: log.groupId, docId: world.docId, epoch: log.epoch, seq: 7, head: log.head, author: mallory.identity, keyring: mallory.group.keyring, plaintext: Y.encodeStateAsUpdate(doc) });
    };
    const [one, two] = [await seal('to Bob'), await seal('to Alice')];
    const errors: Error[] = [];
    bob.sealed.events.on('error', ({ error }) => errors.push(error));
    const sender = world.hub.transport('relay-in-the-middle');
    await sender.connect();
    sender.send({ type: 'envelope', envelope: one }, 'bob');
    await world.hub.flush();
    await eventually(() => bob.text() === 'to Bob', 2000);
    sender.send({ type: 'envelope', envelope: two }, 'bob');
    sender.send({ type: 'envelope', envelope: one }, 'bob'); // a plain copy is no equivocation
    await world.hub.flush();
    await eventually(() => errors.length > 0, 2000);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(errors.map((e) => (e as SyncError).code), ['equivocation']);
    assert.equal((errors[0] as SyncError).member, toHex(mallory.identity.memberId));
    assert.equal(bob.text(), 'to Bob');
  });
});

describe('snapshots', () => {
  it('a member who joins a since-join group reads the document from the snapshot its admin sealed', async () => {
    const world = await World.create(['alice', 'bob'], { history: 'since-join' });
    type(world, 'alice', 0, 'written before Carol joined. ');
    type(world, 'bob', 0, 'Bob too. ');
    await world.settle();
    await world.change('add', 'carol', ['alice', 'bob']);
    await world.join('carol');
    await world.settle();
    const carol = world.peer('carol');
    assert.equal(carol.text(), world.peer('alice').text());
    // Carol holds no key to the epochs before her join, yet reads everything, and keeps up.
    assert.deepEqual(carol.group.keyring.epochs(carol.group.groupId), [1]);
    type(world, 'bob', 0, 'after. ');
    await world.settle();
    assert.equal(carol.text(), world.peer('alice').text());
    assert.ok(carol.text().startsWith('after. '));
  });

  it('is sealed every so many envelopes, and names what it covers', async () => {
    const world = await World.create(['alice', 'bob']);
    const alice = world.peer('alice');
    alice.sealed.destroy();
    const sealed = new SealedDoc(alice.doc, { group: alice.group, docId: world.docId, transport: alice.transport, snapshotEvery: 3, batch: { windowMs: 1 } });
    for (let i = 0; i < 6; i++) {
      alice.doc.getText('t').insert(0, String(i));
      await sealed.flush();
    }
    await world.settle();
    const kinds = sealed.envelopes().map((e) => readEnvelopeHeader(e).kind);
    assert.equal(kinds.filter((k) => k === 'snapshot').length, 2, kinds.join());
    assert.equal(world.peer('bob').text(), '543210');
    sealed.destroy();
  });
});

describe('storage failures', () => {
  it('a full store is a typed error event and loses nothing: the edit goes out once it can be stored', async () => {
    class FullStorage extends MemoryStorage {
      full = false;
      override save(key: readonly string[], data: Uint8Array): Promise<void> {
        return this.full ? Promise.reject(new StorageError('quota', 'full')) : super.save(key, data);
      }
      override write(writes: readonly StorageWrite[]): Promise<void> {
        return this.full ? Promise.reject(new StorageError('quota', 'full')) : super.write(writes);
      }
    }
    const world = await World.create(['alice', 'bob']);
    const alice = world.peer('alice');
    alice.sealed.destroy();
    const storage = new FullStorage();
    const sealed = new SealedDoc(alice.doc, { group: alice.group, docId: world.docId, transport: alice.transport, storage, batch: { windowMs: 1 } });
    const errors: string[] = [];
    sealed.events.on('error', ({ error }) => errors.push(error instanceof StorageError ? error.code : error.name));
    await world.settle();
    storage.full = true;
    alice.doc.getText('t').insert(0, 'typed while the disk was full. ');
    await assert.rejects(sealed.flush(), (e) => e instanceof StorageError && e.code === 'quota');
    await world.settle();
    assert.equal(world.peer('bob').text(), '');
    storage.full = false;
    alice.doc.getText('t').insert(0, 'Later. ');
    await world.settle();
    assert.equal(world.peer('bob').text(), 'Later. typed while the disk was full. ');
    assert.ok(errors.length === 0 || errors.every((c) => c === 'quota'), errors.join());
    await sealed.destroy();
  });
});

describe('a second device of one member', () => {
  it('edits before it synced are sealed again with fresh sequence numbers, not the ones the first device used; every edit reaches everyone', async () => {
    const world = await World.create(['alice', 'bob']);
    const alice = world.peer('alice');
    for (const word of ['one ', 'two ']) {
      alice.doc.getText('t').insert(alice.text().length, word);
      await alice.sealed.flush();
    }
    await world.settle();
    // Alice restores her identity on a laptop and types before it ever connected.
    const group = new Group({ signer: identity('alice'), log: await MembershipLog.fromOps(alice.group.log.ops()), keyring: new Keyring() });
    await group.refresh();
    const transport = world.hub.transport('alice-laptop');
    const doc = new Y.Doc();
    const laptop = new SealedDoc(doc, { group, docId: world.docId, transport, storage: new MemoryStorage(), batch: { windowMs: 1 } });
    doc.getText('t').insert(0, 'laptop ');
    await laptop.flush();
    assert.equal(laptop.pending, 1);
    await transport.connect();
    await world.settle();
    await laptop.flush();
    await world.settle();
    const texts = [alice.text(), world.peer('bob').text(), doc.getText('t').toString()];
    assert.equal(new Set(texts).size, 1, texts.join(' | '));
    assert.ok(texts[0]!.includes('laptop') && texts[0]!.includes('one') && texts[0]!.includes('two'), texts[0]);
    // No sequence number of Alice's carries two different envelopes anywhere.
    const byId = new Map<string, string>();
    for (const envelopes of [alice.sealed.envelopes(), world.peer('bob').sealed.envelopes(), laptop.envelopes()]) {
      for (const e of envelopes) {
        const h = readEnvelopeHeader(e);
        const id = `${toHex(h.author)}:${h.seq}`;
        assert.ok(!byId.has(id) || byId.get(id) === toHex(e), `two envelopes under ${id}`);
        byId.set(id, toHex(e));
      }
    }
    assert.equal(laptop.pending, 0);
    await laptop.destroy();
  });
});

describe('a new device', () => {
  it('a writer’s snapshot that claims others’ envelopes it lacks cannot keep them from a new device', async () => {
    const world = await World.create(['alice', 'mallory', 'bob']);
    const alice = world.peer('alice');
    for (const ch of 'abc') {
      alice.doc.getText('t').insert(alice.text().length, ch);
      await alice.sealed.flush();
    }
    await world.settle();
    // Mallory seals an empty snapshot claiming Alice's envelopes (and every later one) and sends it to Alice.
    const mallory = world.peer('mallory');
    mallory.sealed.destroy();
    const log = mallory.group.log;
    const lie = await sealEnvelope({
      kind: 'snapshot',
      groupId: log.groupId,
      docId: world.docId,
      epoch: log.epoch,
      seq: 0,
      head: log.head,
      author: mallory.identity,
      keyring: mallory.group.keyring,
      plaintext: encodeSnapshot({ covers: [[alice.identity.memberId, [[0, 1_000_000]]]], state: Y.encodeStateAsUpdate(new Y.Doc()) }),
    });
    mallory.transport.send({ type: 'envelope', envelope: lie });
    await world.settle();
    assert.equal(alice.text(), 'abc');
    // Bob's new device (an empty store) learns from Alice alone: it gets Alice's edits too.
    world.peer('bob').sealed.destroy();
    await world.peer('bob').transport.disconnect();
    const group = new Group({ signer: identity('bob'), log: await MembershipLog.fromOps(log.ops()), keyring: new Keyring() });
    await group.refresh();
    const transport = world.hub.transport('bob-laptop');
    const doc = new Y.Doc();
    const laptop = new SealedDoc(doc, { group, docId: world.docId, transport });
    await transport.connect();
    await laptop.whenSynced;
    await world.settle();
    assert.equal(doc.getText('t').toString(), 'abc');
    laptop.destroy();
  });

  it('loads the newest snapshot and the tail after it, not what the snapshot covers', async () => {
    const world = await World.create(['alice', 'bob']);
    const alice = world.peer('alice');
    alice.sealed.destroy();
    const sealed = new SealedDoc(alice.doc, { group: alice.group, docId: world.docId, transport: alice.transport, snapshotEvery: 4, batch: { windowMs: 1 } });
    for (let i = 0; i < 10; i++) {
      alice.doc.getText('t').insert(0, String(i));
      await sealed.flush();
    }
    await world.settle();
    // Bob's second device: same identity, empty store.
    const group = new Group({ signer: identity('bob'), log: await MembershipLog.fromOps(world.peer('bob').group.log.ops()), keyring: new Keyring() });
    await group.refresh();
    const transport = world.hub.transport('bob-laptop');
    const received = new Map<string, string>();
    transport.events.on('message', ({ message: m }) => {
      if (m.type !== 'envelope') return;
      const h = readEnvelopeHeader(m.envelope);
      received.set(`${toHex(h.author)}:${h.seq}`, h.kind);
    });
    const doc = new Y.Doc();
    const laptop = new SealedDoc(doc, { group, docId: world.docId, transport, storage: new MemoryStorage() });
    await transport.connect();
    await laptop.whenSynced;
    await world.settle();
    assert.equal(doc.getText('t').toString(), '9876543210');
    // Ten updates and two snapshots (after the 4th and the 8th) exist; the laptop got the
    // second snapshot and the two updates after it.
    const kinds = [...received.values()];
    assert.equal(sealed.envelopes().length, 12);
    assert.deepEqual(kinds.sort(), ['snapshot', 'update', 'update']);
    laptop.destroy();
    sealed.destroy();
  });
});

describe('sealed awareness', () => {
  it('presence travels sealed; a replayed or stale state is dropped; nothing is stored', async () => {
    const world = await World.create(['alice', 'bob']);
    const [alice, bob] = [world.peer('alice'), world.peer('bob')];
    // Awareness rides on its own providers here, bound to the same documents.
    const aliceAwareness = new Awareness(alice.doc);
    const bobAwareness = new Awareness(bob.doc);
    const extra = [
      new SealedDoc(alice.doc, { group: alice.group, docId: new Uint8Array(16).fill(9), transport: alice.transport, awareness: aliceAwareness }),
      new SealedDoc(bob.doc, { group: bob.group, docId: new Uint8Array(16).fill(9), transport: bob.transport, awareness: bobAwareness, storage: bob.storage }),
    ];
    const captured: WireMessage[] = [];
    const mallory = world.hub.transport('mallory');
    mallory.events.on('message', ({ message }) => captured.push(message));
    await mallory.connect();
    const storedBefore = (await bob.storage.loadRange([])).length;

    aliceAwareness.setLocalStateField('user', { name: 'Alice Secretname' });
    const state = () => (bobAwareness.getStates().get(aliceAwareness.clientID) as { user?: { name: string } } | undefined)?.user?.name;
    await eventually(() => state() === 'Alice Secretname');
    const old = captured.find((w) => w.type === 'envelope' && readEnvelopeHeader(w.envelope).kind === 'awareness')!;
    aliceAwareness.setLocalStateField('user', { name: 'Alice Renamed' });
    await eventually(() => state() === 'Alice Renamed');
    mallory.send(old);
    await world.hub.flush();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(state(), 'Alice Renamed', 'the replayed state was dropped');
    const stored = await bob.storage.loadRange([]);
    assert.equal(stored.length, storedBefore, 'awareness is never stored');
    for (const { data } of stored) assert.ok(!new TextDecoder('latin1').decode(data).includes('Secretname'));
    for (const e of extra) e.destroy();
    aliceAwareness.destroy();
    bobAwareness.destroy();
  });
  it('presence cannot be spoofed: a member’s presence for another member’s Yjs client is dropped and reported, and cannot clear it', async () => {
    const world = await World.create(['alice', 'bob', 'mallory'], { awareness: true });
    const [alice, bob, mallory] = [world.peer('alice'), world.peer('bob'), world.peer('mallory')];
    alice.doc.getText('t').insert(0, 'Alice typed this.');
    alice.awareness!.setLocalStateField('user', { name: 'Alice' });
    await world.settle();
    const name = () => (bob.awareness!.getStates().get(alice.doc.clientID) as { user?: { name: string } } | undefined)?.user?.name;
    await eventually(() => name() === 'Alice');
    const errors: SyncError[] = [];
    bob.sealed.events.on('error', ({ error }) => error instanceof SyncError && errors.push(error));
    // Mallory seals presence for Alice's client: a new name, then a removal.
    const spoof = async (state: Record<string, unknown> | null, seq: number) => {
      const fake = new Y.Doc();
      fake.clientID = alice.doc.clientID;
      const presence = new Awareness(fake);
      presence.setLocalState(state);
      if (state === null) presence.meta.get(fake.clientID)!.clock = 1000;
      else presence.meta.get(fake.clientID)!.clock = 999;
      const log = mallory.group.log;
      const envelope = await sealEnvelope({ kind: 'awareness', groupId: log.groupId, docId: world.docId, epoch: log.epoch, seq, head: log.head, author: mallory.identity, keyring: mallory.group.keyring, plaintext: encodeAwarenessUpdate(presence, [fake.clientID]) });
      presence.destroy();
      mallory.transport.send({ type: 'envelope', envelope });
      await world.hub.flush();
      await new Promise((r) => setTimeout(r, 30));
    };
    await spoof({ user: { name: 'Alice (really Mallory)' } }, Date.now() * 1000 + 1);
    assert.equal(name(), 'Alice');
    await spoof(null, Date.now() * 1000 + 2);
    assert.equal(name(), 'Alice', 'only its owner clears it');
    assert.equal(errors.length, 2);
    assert.ok(errors.every((e) => e.code === 'spoofed-presence' && e.member === toHex(mallory.identity.memberId)));
    // Mallory's own presence still goes through.
    mallory.awareness!.setLocalStateField('user', { name: 'Mallory' });
    await eventually(() => (bob.awareness!.getStates().get(mallory.doc.clientID) as { user?: { name: string } } | undefined)?.user?.name === 'Mallory');
    for (const p of world.peers.values()) {
      await p.sealed.destroy();
      p.awareness?.destroy();
    }
  });
});

describe('Group', () => {
  it('hands out dense sequence numbers that survive a restart and skip what was seen', async () => {
    const alice = identity('alice');
    const { createGroup } = await import('@sealdoc/crypto');
    const log = await MembershipLog.fromOps([await createGroup(alice)]);
    const storage = new MemoryStorage();
    const group = new Group({ signer: alice, log, keyring: new Keyring(), storage });
    assert.deepEqual(await Promise.all([group.nextSeq(), group.nextSeq(), group.nextSeq()]), [0, 1, 2]);
    const again = new Group({ signer: alice, log, keyring: new Keyring(), storage });
    assert.equal(await again.nextSeq(), 3);
    again.observeSeq(again.keys.memberId, 10);
    assert.equal(await again.nextSeq(), 11);
  });

  it("a sealed edit's counter is saved in the envelope's own storage write (one write a batch), and no number is used twice after a restart", async () => {
    const world = await World.create(['alice']);
    const alice = world.peer('alice');
    alice.sealed.destroy();
    const storage = new MemoryStorage();
    const writes: StorageWrite[][] = [];
    const write = storage.write.bind(storage);
    storage.write = (w: readonly StorageWrite[]) => (writes.push([...w]), write(w));
    const group = new Group({ signer: alice.identity, log: alice.group.log, keyring: alice.group.keyring, storage });
    const doc = new Y.Doc();
    const sealed = new SealedDoc(doc, { group, docId: world.docId, storage, batch: { windowMs: 1 } });
    await sealed.whenLoaded;
    for (const text of ['a', 'b', 'c']) {
      doc.getText('t').insert(0, text);
      await sealed.flush();
    }
    const envelopeWrites = writes.filter((w) => w.some((x) => x.key[0] === 'env' || x.key[0] === 'unsent'));
    assert.equal(envelopeWrites.length, 3);
    for (const w of envelopeWrites) assert.ok(w.some((x) => x.key[0] === 'seq'), 'the counter goes with the envelope');
    assert.ok(!writes.some((w) => w.length === 1 && w[0]!.key[0] === 'seq'), 'no write of the counter alone');
    sealed.destroy();
    // A restart on the same storage: the next number follows the three used.
    const again = new Group({ signer: alice.identity, log: alice.group.log, keyring: alice.group.keyring, storage });
    assert.equal(await again.nextSeq(), 3);
  });

  it("two documents of a group sealing at once on one storage: the counter saved with their envelopes never falls behind a number used, so a restart reuses none", async () => {
    const world = await World.create(['alice']);
    const alice = world.peer('alice');
    alice.sealed.destroy();
    const storage = new MemoryStorage();
    const group = new Group({ signer: alice.identity, log: alice.group.log, keyring: alice.group.keyring, storage });
    const docs = [1, 2, 3].map((n) => {
      const doc = new Y.Doc();
      return { doc, sealed: new SealedDoc(doc, { group, docId: new Uint8Array(16).fill(n), storage, batch: { windowMs: 1 } }) };
    });
    await Promise.all(docs.map((d) => d.sealed.whenLoaded));
    for (let round = 0; round < 10; round++) {
      docs.forEach((d, i) => d.doc.getText('t').insert(0, `${round}.${i} `));
      await Promise.all(docs.map((d) => d.sealed.flush()));
    }
    const used = (await storage.loadRange(['env'])).concat(await storage.loadRange(['unsent'])).map(({ data }) => readEnvelopeHeader(data).seq);
    assert.equal(new Set(used).size, used.length, 'no number used twice');
    for (const d of docs) await d.sealed.destroy();
    const again = new Group({ signer: alice.identity, log: alice.group.log, keyring: alice.group.keyring, storage });
    assert.ok((await again.nextSeq()) > Math.max(...used), 'the restarted counter is past every number used');
  });
});

describe('Group: an admin changes membership', () => {
  it('removes (cutoff: the highest seen from the member), demotes, rotates and adds; every member follows; a non-admin is refused', async () => {
    const world = await World.create(['alice', 'bob', 'carol']);
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((n) => world.peer(n));
    type(world, 'bob', 0, 'B1');
    await bob!.sealed.flush();
    type(world, 'bob', 0, 'B2');
    await world.settle();
    const bobSeqs = (await bob!.storage.loadRange(['env'])).map(({ data }) => readEnvelopeHeader(data)).filter((h) => toHex(h.author) === toHex(bob!.identity.memberId)).map((h) => h.seq);
    const removed: number[] = [];
    bob!.group.events.on('removed', ({ epoch }) => removed.push(epoch));
    await alice!.group.removeMember(bob!.identity.memberId);
    await world.settle();
    const op = alice!.group.log.opAt(alice!.group.log.length - 1);
    assert.deepEqual(op.change, { type: 'remove', memberId: bob!.identity.memberId, cutoffs: [{ deviceId: bob!.identity.memberId, cutoff: Math.max(...bobSeqs) }] });
    assert.equal(carol!.group.log.length, alice!.group.log.length);
    assert.equal(carol!.group.log.epoch, 1);
    assert.deepEqual(removed, [1]);

    await alice!.group.setRole(carol!.identity.memberId, 'reader');
    await alice!.group.rotate();
    await world.settle();
    assert.equal(carol!.group.role, 'reader');
    assert.equal(carol!.group.log.epoch, alice!.group.log.epoch);

    await alice!.group.addMember(identity('dave'), 'writer');
    const dave = await world.join('dave');
    await world.settle();
    await eventually(() => dave.text() === alice!.text(), 5000);
    assert.equal(dave.group.role, 'writer');

    await assert.rejects(carol!.group.addMember(identity('erin'), 'writer'), { name: 'MembershipError', code: 'not-admin' });
  });
});
