// What must hold of a device's store whatever it is (SQLite in Node, IndexedDB in Chromium):
// pending offline edits survive a reload and are sent after it; nothing at rest is document
// plaintext or a raw secret; a damaged local state, or a device key that is gone, loses
// nothing that can still be recovered.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { mnemonicToSeedSync } from '@scure/bip39';
import { Keyring, MembershipLog } from '@sealdoc/crypto';
import { AtRestError, Group, loadIdentity, saveIdentity, SealedDoc, type DeviceKey, type Storage } from '@sealdoc/core';
import { World, eventually, mnemonicOf, toHex } from './helpers.js';
import { contains, utf8 } from '../../../test/support/bytes.js';

/** A persistent store and the device key, as one device sees them. */
export interface DeviceFixture {
  /** Opens the store (again: the same data). */
  openStorage(): Promise<Storage>;
  /** Opens this device's key (again: the same key). */
  openKey(): Promise<DeviceKey>;
  /** Another device key (the original deleted, a new one made). */
  replaceKey(): Promise<DeviceKey>;
  /** Every stored value, raw, including what the store keeps outside the Storage interface. */
  rawValues(): Promise<Uint8Array[]>;
  teardown(): Promise<void>;
}


/** Bob's device on `fixture`'s store, in a group with Alice (online on the world's hub). */
async function bobsDevice(world: World, fixture: DeviceFixture, options: { key?: DeviceKey; fresh?: boolean; windowMs?: number } = {}) {
  const storage = await fixture.openStorage();
  const key = options.key ?? (await fixture.openKey());
  const bob = world.peer('bob');
  let group: Group;
  if (options.fresh) {
    const identity = await saveIdentity(storage, key, mnemonicOf('bob'));
    group = new Group({ signer: identity, log: await MembershipLog.fromOps(bob.group.log.ops()), keyring: new Keyring(), storage });
    await group.refresh();
  } else {
    const kept = await loadIdentity(storage, key);
    assert.ok(kept, 'the identity was kept');
    const opened = await Group.open({ signer: kept.identity, groupId: bob.group.groupId, storage });
    assert.ok(opened, 'the log was kept');
    group = opened;
  }
  const doc = new Y.Doc();
  const errors: Error[] = [];
  const sealed = new SealedDoc(doc, { group, docId: world.docId, transport: bob.transport, storage, deviceKey: key, batch: { windowMs: options.windowMs ?? 5 }, localSaveMs: 5 });
  sealed.events.on('error', ({ error }) => errors.push(error));
  await sealed.whenLoaded;
  return { storage, key, group, doc, sealed, errors, text: () => doc.getText('t').toString() };
}

export function atRestSuite(name: string, setup: () => Promise<DeviceFixture>): void {
  describe(`at rest: ${name}`, () => {
    it('pending offline edits survive a reload and are sent after it; nothing at rest is plaintext or a raw secret', async () => {
      const fixture = await setup();
      try {
        const world = await World.create(['alice', 'bob']);
        world.peer('bob').sealed.destroy();
        const alice = world.peer('alice');
        alice.doc.getText('t').insert(0, 'Shared before. ');
        await world.settle();

        let device = await bobsDevice(world, fixture, { fresh: true });
        await world.settle();
        assert.equal(device.text(), 'Shared before. ');
        await world.peer('bob').transport.disconnect();
        device.doc.getText('t').insert(0, 'Bob wrote this offline. ');
        await device.sealed.destroy(); // the tab closes with the edit not sent
        await device.storage.close();

        device = await bobsDevice(world, fixture);
        assert.equal(device.text(), 'Bob wrote this offline. Shared before. ');
        assert.deepEqual(device.errors, []);
        await world.peer('bob').transport.connect();
        await world.settle();
        await eventually(() => alice.doc.getText('t').toString() === 'Bob wrote this offline. Shared before. ');
        await device.sealed.destroy();

        // Every value at rest: no document text, no words, no seed, no epoch secret.
        const secrets: [string, Uint8Array][] = [
          ['document text', utf8('wrote this offline')],
          ['document text', utf8('Shared before')],
          ['the recovery words', utf8(mnemonicOf('bob').split(' ').slice(0, 3).join(' '))],
          ['the BIP39 seed', mnemonicToSeedSync(mnemonicOf('bob')).slice(0, 16)],
        ];
        for (const epoch of device.group.keyring.epochs(device.group.groupId)) secrets.push([`epoch ${epoch} secret`, device.group.keyring._secret(device.group.groupId, epoch)!.slice(0, 16)]);
        const values = await fixture.rawValues();
        assert.ok(values.length >= 5, `${values.length} values scanned`);
        for (const value of values) for (const [what, bytes] of secrets) assert.ok(!contains(value, bytes), `${what} found at rest`);
        await device.storage.close();
      } finally {
        await fixture.teardown();
      }
    });

    it('forgetting a group deletes all the store keeps of it but its sequence numbers; a forget cut short still lists the group, and another finishes it', async () => {
      const fixture = await setup();
      try {
        const world = await World.create(['alice', 'bob']);
        world.peer('bob').sealed.destroy();
        const device = await bobsDevice(world, fixture, { fresh: true, windowMs: 60_000 });
        device.doc.getText('t').insert(0, 'sealed and sent. ');
        await device.sealed.flush();
        await world.peer('bob').transport.disconnect();
        device.doc.getText('t').insert(0, 'journaled, then sealed unsent. ');
        const group = toHex(device.group.groupId);
        const kinds = async () => [...new Set((await device.storage.loadRange([])).filter(({ key }) => key[1] === group).map(({ key }) => key[0]))].sort();
        await eventually(() => !device.sealed.unsaved);
        for (const kind of ['env', 'journal', 'log', 'seq']) assert.ok((await kinds()).includes(kind), `${kind} kept`);
        await device.sealed.destroy(); // the edit sealed (unsent: offline), the state saved
        for (const kind of ['env', 'unsent', 'local', 'log', 'seq']) assert.ok((await kinds()).includes(kind), `${kind} kept at the end`);

        // The page closes in the middle: the store refuses after the first deletion.
        let removals = 0;
        const closing: Storage = {
          load: (key) => device.storage.load(key),
          save: (key, data) => device.storage.save(key, data),
          remove: (key) => device.storage.remove(key),
          loadRange: (prefix) => device.storage.loadRange(prefix),
          removeRange: (prefix) => (++removals > 1 ? Promise.reject(new Error('the page closed')) : device.storage.removeRange(prefix)),
          write: (writes) => device.storage.write(writes),
          close: () => device.storage.close(),
        };
        await assert.rejects(Group.forget(closing, device.group.groupId), /the page closed/);
        assert.deepEqual(await Group.stored(device.storage), [group], 'still listed: to be finished');

        await Group.forget(device.storage, device.group.groupId);
        assert.deepEqual(await kinds(), ['seq'], 'only its sequence numbers are left');
        assert.deepEqual(await Group.stored(device.storage), []);
        assert.equal(await Group.open({ signer: device.group.signer, groupId: device.group.groupId, storage: device.storage }), undefined);
        await Group.forget(device.storage, device.group.groupId); // again: nothing to do
        await device.storage.close();
      } finally {
        await fixture.teardown();
      }
    });

    it('an edit typed just before the page went (in the store within moments, sealed under the device key; never sealed as an envelope) comes back, is sealed and sent; the journal then empties', async () => {
      const fixture = await setup();
      try {
        const world = await World.create(['alice', 'bob']);
        world.peer('bob').sealed.destroy();
        const alice = world.peer('alice');
        alice.doc.getText('t').insert(0, 'Shared before. ');
        await world.settle();
        // A batching window that never ends here: the edit is journaled, never sealed as an envelope.
        let device = await bobsDevice(world, fixture, { fresh: true, windowMs: 600_000 });
        await world.settle();
        assert.equal(device.sealed.unsaved, false);
        device.doc.getText('t').insert(0, 'Typed as the tab closed. ');
        assert.equal(device.sealed.unsaved, true, 'not in the store at the keystroke');
        await eventually(() => !device.sealed.unsaved); // written to the journal
        assert.equal(device.sealed.pending, 1, 'still batched, not sealed');
        // The page goes: its store takes nothing more (what destroy() tries to seal fails).
        await device.storage.close();
        await device.sealed.destroy();
        for (const value of await fixture.rawValues()) assert.ok(!contains(value, utf8('as the tab closed')), 'the journal holds no plaintext');

        device = await bobsDevice(world, fixture);
        assert.equal(device.text(), 'Typed as the tab closed. Shared before. ');
        await world.settle();
        await eventually(() => alice.doc.getText('t').toString() === 'Typed as the tab closed. Shared before. ', 5000); // sealed and sent after the reload
        // The journal empties once the edit is an envelope in the store.
        for (let tries = 0; (await device.storage.loadRange(['journal'])).length > 0; tries++) {
          assert.ok(tries < 100, 'the journal emptied');
          await new Promise((r) => setTimeout(r, 20));
        }
        assert.deepEqual(device.errors, []);
        await device.sealed.destroy();

        // Opened again: the edit comes from its envelope; the journal adds nothing twice.
        device = await bobsDevice(world, fixture);
        assert.equal(device.text(), 'Typed as the tab closed. Shared before. ');
        assert.equal(device.sealed.pending, 0);
        await device.sealed.destroy();
        await device.storage.close();
      } finally {
        await fixture.teardown();
      }
    });

    it('a damaged local state or envelope is a typed error and nothing is lost: the rest is checked and applied, the peer resends the lost one', async () => {
      const fixture = await setup();
      try {
        const world = await World.create(['alice', 'bob']);
        world.peer('bob').sealed.destroy();
        const alice = world.peer('alice');
        alice.doc.getText('t').insert(0, 'kept safe');
        await world.settle();
        let device = await bobsDevice(world, fixture, { fresh: true });
        await world.settle();
        await eventually(() => device.text() === 'kept safe');
        await world.peer('bob').transport.disconnect();
        alice.doc.getText('t').insert(9, ', and more');
        await world.settle();
        await world.peer('bob').transport.connect();
        await world.settle();
        await eventually(() => device.text() === 'kept safe, and more');
        await device.sealed.destroy();
        const damage = async (key: string[], data: Uint8Array) => {
          const bad = data.slice();
          bad[bad.length - 5]! ^= 1;
          await device.storage.save(key, bad);
        };
        const [local] = await device.storage.loadRange(['local']);
        assert.ok(local, 'a local state was saved');
        await damage(local.key, local.data);
        const envelopes = await device.storage.loadRange(['env']);
        assert.equal(envelopes.length, 2);
        await damage(envelopes[1]!.key, envelopes[1]!.data);
        await device.storage.close();
        await world.peer('bob').transport.disconnect(); // nothing comes from the network

        device = await bobsDevice(world, fixture);
        const codes = () => device.errors.map((e) => `${e.name}:${(e as { code?: string }).code}`);
        assert.equal(device.text().length > 0 && device.text() !== 'kept safe, and more', true, device.text());
        assert.deepEqual(codes().sort(), ['AtRestError:corrupt', 'EnvelopeError:bad-signature']);
        // Back online, the peer sends what the damaged record held.
        await world.peer('bob').transport.connect();
        await world.settle();
        await eventually(() => device.text() === 'kept safe, and more');
        await device.sealed.destroy();
        await device.storage.close();
      } finally {
        await fixture.teardown();
      }
    });

    it('a device key that is gone: typed errors; the words restore the identity and the store the document', async () => {
      const fixture = await setup();
      try {
        const world = await World.create(['alice', 'bob']);
        world.peer('bob').sealed.destroy();
        world.peer('alice').doc.getText('t').insert(0, 'still readable');
        await world.settle();
        const device = await bobsDevice(world, fixture, { fresh: true });
        await world.settle();
        await eventually(() => device.text() === 'still readable');
        await device.sealed.destroy();
        await device.storage.close();
        await world.peer('bob').transport.disconnect();

        const other = await fixture.replaceKey();
        const storage = await fixture.openStorage();
        await assert.rejects(loadIdentity(storage, other), (e: unknown) => e instanceof AtRestError && e.code === 'no-device-key');
        await storage.close();
        // Restored from the words on the same store: the envelopes are still there.
        const restored = await bobsDevice(world, fixture, { key: other, fresh: true });
        assert.equal(restored.text(), 'still readable');
        assert.deepEqual(
          restored.errors.map((e) => (e instanceof AtRestError ? e.code : e.name)),
          ['no-device-key'],
        );
        await restored.sealed.destroy();
        await restored.storage.close();
      } finally {
        await fixture.teardown();
      }
    });
  });
}
