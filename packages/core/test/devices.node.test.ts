// Devices in core, in Node: a store and a group written before devices existed open as they
// were (the identity becomes the person's first device) and take devices from then on.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as Y from 'yjs';
import { DeviceKey, Group, LocalDevice, MemoryStorage, saveIdentity, SealdocPersistence } from '@sealdoc/core';
import { openKeyFile, SqliteStorage } from '@sealdoc/core/node';
import { createGroup, exportDeviceKeys, identityFromMnemonic, Keyring, MembershipLog, toHex, type CertifiedDevice } from '@sealdoc/crypto';
import { ALICE_WORDS, BOB_WORDS, FIXTURE_PASSPHRASE, FIXTURE_TEXT } from './fixtures/before-devices-manifest.js';

const FIXTURE = new URL('./fixtures/before-devices', import.meta.url);

describe('a store written before devices', () => {
  it('opens: the identity is the first device, the group and the document are there, and a device joins', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdoc-before-devices-'));
    cpSync(FIXTURE, dir, { recursive: true });
    const storage = SqliteStorage.open(join(dir, 'store.sqlite'));
    try {
      const device = await LocalDevice.open(storage, await openKeyFile(join(dir, 'device.key'), FIXTURE_PASSPHRASE));
      const alice = identityFromMnemonic(ALICE_WORDS);
      assert.equal(device.newWords, undefined, 'the kept identity, no new one');
      assert.equal(toHex(device.personId), toHex(alice.memberId));
      assert.equal(toHex(device.deviceId), toHex(alice.memberId), 'the old key pair is the first device');
      assert.equal(device.certificate, undefined);
      const group = await device.group();
      assert.deepEqual(
        Array.from({ length: group.log.length }, (_, i) => group.log.opAt(i).version),
        [1, 1],
        'the log holds the ops as the code before devices wrote them',
      );
      assert.deepEqual(group.log.members().map((m) => toHex(m.memberId)).sort(), [toHex(alice.memberId), toHex(identityFromMnemonic(BOB_WORDS).memberId)].sort());
      assert.equal(group.role, 'admin');
      const doc = new Y.Doc();
      const persistence = new SealdocPersistence('notes', doc, { group, device });
      await persistence.whenSynced;
      assert.equal(doc.getText('t').toString(), FIXTURE_TEXT);

      // From now on: a device restored from the words joins the group, and reads every epoch.
      const phone = await LocalDevice.open(new MemoryStorage(), await DeviceKey.generate(), { mnemonic: ALICE_WORDS, label: 'Phone' });
      await group.addDevice(phone.certificate!);
      assert.equal(group.log.opAt(group.log.length - 1).version, 2);
      const onPhone = new Group({ signer: phone.signer, log: await MembershipLog.fromOps(group.log.ops()), keyring: new Keyring() });
      await onPhone.refresh();
      assert.deepEqual(onPhone.keyring.epochs(onPhone.groupId), [0, 1]);
      assert.equal(onPhone.role, 'admin');
      // The first device goes on writing; what it wrote before is still there after a reopen.
      doc.getText('t').insert(0, 'and after. ');
      await persistence.destroy();
      const again = new Y.Doc();
      const reopened = new SealdocPersistence('notes', again, { group: (await device.group())!, device });
      await reopened.whenSynced;
      assert.equal(again.getText('t').toString(), `and after. ${FIXTURE_TEXT}`);
      await reopened.destroy();
    } finally {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a certified device at rest', () => {
  it('keeps its key pairs and certificate sealed: no secret key byte in the store, and it opens again as the same device', async () => {
    const storage = new MemoryStorage();
    const deviceKey = await DeviceKey.generate();
    const phone = await LocalDevice.open(storage, deviceKey, { mnemonic: ALICE_WORDS, label: 'Phone' });
    const secrets = exportDeviceKeys((phone.signer as CertifiedDevice).keys);
    const values = (await storage.loadRange([])).map((c) => c.data);
    const contains = (hay: Uint8Array, needle: Uint8Array) => {
      outer: for (let i = 0; i + needle.length <= hay.length; i++) {
        for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
        return true;
      }
      return false;
    };
    for (const part of [secrets.subarray(0, 32), secrets.subarray(32)]) assert.ok(!values.some((v) => contains(v, part)), 'a secret key is kept in the clear');
    assert.ok(!values.some((v) => contains(v, phone.certificate!)), 'the certificate is sealed too');
    const again = await LocalDevice.open(storage, deviceKey);
    assert.equal(toHex(again.deviceId), toHex(phone.deviceId));
    assert.deepEqual(again.certificate, phone.certificate);
    // Another device key opens nothing.
    await assert.rejects(LocalDevice.open(storage, await DeviceKey.generate()), { name: 'AtRestError' });
  });
});


describe('LocalDevice.load', () => {
  it('opens what is kept and never creates an identity: an empty store gives undefined and stays empty', async () => {
    const storage = new MemoryStorage();
    const deviceKey = await DeviceKey.generate();
    assert.equal(await LocalDevice.load(storage, deviceKey), undefined);
    assert.deepEqual(await storage.loadRange([]), [], 'nothing was written');
    const alice = await saveIdentity(storage, deviceKey, ALICE_WORDS);
    const first = await LocalDevice.load(storage, deviceKey);
    assert.equal(toHex(first!.deviceId), toHex(alice.memberId), 'the kept identity is the first device');
    assert.equal(first!.newWords, undefined);
    const phoneStorage = new MemoryStorage();
    const phone = await LocalDevice.open(phoneStorage, deviceKey, { mnemonic: ALICE_WORDS, label: 'Phone' });
    assert.equal(toHex((await LocalDevice.load(phoneStorage, deviceKey))!.deviceId), toHex(phone.deviceId), 'a certified device loads as itself');
    await assert.rejects(LocalDevice.load(storage, await DeviceKey.generate()), { name: 'AtRestError' });
  });
});

describe('a first device\'s own group', () => {
  it('is the oldest group the device founded alone (an app\'s first document), never a group someone else founded, and stays that one', async () => {
    const storage = new MemoryStorage();
    const deviceKey = await DeviceKey.generate();
    const device = await LocalDevice.open(storage, deviceKey);
    const found = async (options: Parameters<typeof createGroup>[1]) => {
      const group = new Group({ signer: device.signer, log: await MembershipLog.fromOps([await createGroup(device.signer, options)]), keyring: new Keyring(), storage });
      await group.refresh();
      return group;
    };
    // A group someone else founded, naming this person alone among its members besides them.
    const bob = identityFromMnemonic(BOB_WORDS);
    const strangers = new Group({ signer: device.signer, log: await MembershipLog.fromOps([await createGroup(bob, { members: [{ keys: device.identity!, role: 'writer' }] })]), keyring: new Keyring(), storage });
    await strangers.refresh();
    const shared = await found({ members: [{ keys: bob, role: 'writer' }], now: 1_000 });
    const second = await found({ now: 3_000 });
    const first = await found({ now: 2_000 });
    const own = await device.group();
    assert.equal(toHex(own.groupId), toHex(first.groupId), 'the oldest group it founded alone');
    assert.equal((await device.groups()).length, 4, 'no new group made');
    assert.equal(toHex((await (await LocalDevice.open(storage, deviceKey)).group()).groupId), toHex(first.groupId), 'kept: the same one again');
    assert.ok(![shared, second, strangers].some((g) => toHex(g.groupId) === toHex(own.groupId)));
  });
});
