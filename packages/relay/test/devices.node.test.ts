// One person, several devices, against a real relay: devices restored from the same words
// write at once (offline spells included) and lose nothing; a revoked device is cut off,
// told, and wipes its store.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { WebSocket } from 'ws';
import { DeviceKey, DeviceLinkOffer, fetchRelayGroup, Group, GroupInvitation, JoinByInvitation, linkDevice, LocalDevice, MemoryStorage, SealdocProvider, WebSocketTransport, type WebSocketLike } from '@sealdoc/core';
import { createGroup, fromHex, Identity, Keyring, MembershipLog, toHex, type CertifiedDevice } from '@sealdoc/crypto';
import { MemoryRelayStore, startRelay } from '@sealdoc/relay';
import { eventually } from './clients.js';

const Ws = WebSocket as unknown as new (url: string) => WebSocketLike;

async function relay() {
  const store = new MemoryRelayStore();
  const server = await startRelay({ port: 0, store });
  return { server, close: () => server.close().then(() => store.close()) };
}

async function newDevice(options: { mnemonic?: string; label?: string } = {}): Promise<LocalDevice> {
  return LocalDevice.open(new MemoryStorage(), await DeviceKey.generate(), options);
}

/** A device restored from `words` enters its person's groups at the relay (through a connection that says hello with the identity). */
async function restore(url: string, words: string, label: string): Promise<LocalDevice> {
  const device = await newDevice({ mnemonic: words, label });
  const transport = new WebSocketTransport({ url, identity: device.identity!, WebSocket: Ws });
  try {
    await transport.connect();
    await device.enterRelayGroups(transport);
  } finally {
    await transport.disconnect();
  }
  return device;
}

/** A member's first device fetches a group it was added to from the relay, and keeps it. */
async function fetchGroup(url: string, device: LocalDevice, groupId: Uint8Array): Promise<Group> {
  const transport = new WebSocketTransport({ url, identity: device.identity!, WebSocket: Ws });
  try {
    await transport.connect();
    return await fetchRelayGroup(transport, { signer: device.signer, groupId, storage: device.storage });
  } finally {
    await transport.disconnect();
  }
}

describe('one person, several devices, against a relay', () => {
  it('devices restored from the same words write at once, offline spells included: every edit reaches everyone, nothing is refused', async () => {
    const { server, close } = await relay();
    const providers: SealdocProvider[] = [];
    try {
      // Alice's first device makes her identity and her own group, and adds Bob.
      const laptop = await newDevice();
      const bob = await newDevice();
      const group = await laptop.group();
      await group.addMember(bob.identity!, 'writer');
      const open = async (device: LocalDevice, g: Group) => {
        const provider = new SealdocProvider(server.url, 'notes', new Y.Doc(), { group: g, device, WebSocketPolyfill: Ws });
        provider.on('error', (error) => errors.push(`${toHex(device.deviceId).slice(0, 8)} ${error.name}: ${(error as { code?: string }).code ?? error.message}`));
        providers.push(provider);
        await provider.whenSynced;
        return provider;
      };
      const errors: string[] = [];
      const alice = await open(laptop, group);
      // Two more devices restored from the same 24 words.
      const phone = await restore(server.url, laptop.newWords!, 'Phone');
      const tablet = await restore(server.url, laptop.newWords!, 'Tablet');
      assert.notEqual(toHex(phone.deviceId), toHex(tablet.deviceId), 'each restore is a device of its own');
      assert.equal(toHex(phone.personId), toHex(laptop.personId));
      const onPhone = await open(phone, (await phone.group(group.groupId))!);
      const onTablet = await open(tablet, (await tablet.group(group.groupId))!);
      const onBob = await open(bob, await fetchGroup(server.url, bob, group.groupId));
      assert.equal(onPhone.sealed.group.log.devices(laptop.personId).length, 3);

      // Everyone types at once; the tablet goes offline for a spell and types there too.
      const writers = [alice, onPhone, onTablet, onBob];
      for (let round = 0; round < 20; round++) {
        for (const [i, p] of writers.entries()) p.doc.getText('t').insert(0, `${i}:${round};`);
        if (round === 5) onTablet.disconnect();
        if (round === 12) onTablet.connect();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const expected = writers.length * 20;
      await eventually(
        () => writers.every((p) => p.doc.getText('t').toString().split(';').filter(Boolean).length === expected && p.doc.getText('t').toString() === alice.doc.getText('t').toString()),
        15000,
        'every edit everywhere',
      );
      await eventually(() => writers.every((p) => p.sealed.pending === 0), 10000, 'nothing pending');
      assert.deepEqual(errors, [], 'no conflict, no refusal');

      // The tablet is lost: the phone revokes it. The group moves to a new epoch the tablet
      // cannot read; the tablet is told, stops, and wipes its store.
      const revoked: { epoch: number; wiped: boolean }[] = [];
      onTablet.on('device-revoked', (event) => revoked.push(event));
      const epoch = onPhone.sealed.group.log.epoch;
      await onPhone.sealed.group.revokeDevice(tablet.deviceId);
      assert.equal(onPhone.sealed.group.log.epoch, epoch + 1);
      await eventually(() => revoked.length === 1, 5000, 'the tablet is told');
      assert.deepEqual(revoked[0], { epoch: epoch + 1, wiped: true });
      assert.deepEqual(await tablet.storage.loadRange([]), [], 'the tablet kept nothing');
      // Edits go on between the others; none is sealed under a key the tablet holds.
      onBob.doc.getText('t').insert(0, 'after;');
      alice.doc.getText('t').insert(0, 'also after;');
      await eventually(() => onPhone.doc.getText('t').toString().startsWith('also after;after;') || onPhone.doc.getText('t').toString().startsWith('after;also after;'), 5000, 'the others go on');
      assert.ok(!onTablet.doc.getText('t').toString().includes('after;'), 'the tablet reads nothing new');
      await eventually(() => alice.sealed.group.log.epoch === epoch + 1 && onBob.sealed.group.log.epoch === epoch + 1, 5000, 'everyone moved on');
      // The tablet was also told by the relay (its connection closed with the proof and device-revoked); nobody else saw an error.
      const tablets = `${toHex(tablet.deviceId).slice(0, 8)} RelayError: device-revoked`;
      assert.deepEqual(
        errors.filter((e) => e !== tablets),
        [],
      );
    } finally {
      for (const p of providers) await p.destroy().catch(() => undefined);
      await close();
    }
  });

  it('a new device is linked from one in use, without the words: one-time link, safety code, every group, and the link cannot be used again', async () => {
    const { server, close } = await relay();
    const providers: SealdocProvider[] = [];
    const connect = (keys: Identity) => new WebSocketTransport({ url: server.url, identity: keys, WebSocket: Ws });
    try {
      const laptop = await newDevice();
      const bob = await newDevice();
      const own = await laptop.group();
      const shared = new Group({ signer: laptop.signer, log: await MembershipLog.fromOps([await createGroup(laptop.signer, { members: [{ keys: bob.identity!, role: 'writer' }] })]), keyring: new Keyring(), storage: laptop.storage });
      await shared.refresh();
      const open = async (device: LocalDevice, g: Group, name = 'notes') => {
        const provider = new SealdocProvider(server.url, name, new Y.Doc(), { group: g, device, WebSocketPolyfill: Ws });
        providers.push(provider);
        await provider.whenSynced;
        return provider;
      };
      const onLaptop = await open(laptop, shared);
      await open(laptop, own, 'mine');
      const onBob = await open(bob, await fetchGroup(server.url, bob, shared.groupId));

      const transport = connect(laptop.identity!);
      await transport.connect();
      const offer = await DeviceLinkOffer.open(laptop, transport);
      const shown: string[] = [];
      const approved = new Promise<unknown>((resolve, reject) =>
        offer.events.on('request', ({ request }) => {
          // The person compares the codes both devices show, then approves.
          if (request.safetyCode !== shown[0] || request.label !== 'Phone') return reject(new Error('codes differ'));
          offer.approve(request).then(resolve, reject);
        }),
      );
      const phone = await linkDevice(offer.code, { storage: new MemoryStorage(), deviceKey: await DeviceKey.generate(), label: 'Phone', connect, onSafetyCode: (code) => shown.push(code) });
      assert.deepEqual(await approved, [], 'brought into every group');
      await transport.disconnect();
      assert.equal(phone.identity, undefined, 'a linked device holds no words');
      assert.equal(toHex(phone.personId), toHex(laptop.personId));
      assert.equal(toHex((await phone.group()).groupId), toHex(own.groupId), 'the person’s own group');
      assert.deepEqual((await phone.groups()).sort(), [toHex(own.groupId), toHex(shared.groupId)].sort());
      assert.equal(shared.log.device(phone.deviceId)?.label, 'Phone');

      // The phone writes in the shared document; everyone reads it, and it reads them.
      const onPhone = await open(phone, (await phone.group(shared.groupId))!);
      onPhone.doc.getText('t').insert(0, 'from the phone; ');
      onBob.doc.getText('t').insert(0, 'from Bob; ');
      const same = () => [onLaptop, onBob, onPhone].every((p) => p.doc.getText('t').toString() === onPhone.doc.getText('t').toString() && p.doc.getText('t').length === 26);
      await eventually(same, 5000, 'the three converge');

      // The phone is offline when the laptop revokes it; when it comes back, the relay shows it
      // the log that revokes it and refuses it: it is told, and wipes its store.
      onPhone.disconnect();
      const told: { epoch: number; wiped: boolean }[] = [];
      onPhone.on('device-revoked', (event) => told.push(event));
      await shared.revokeDevice(phone.deviceId);
      onPhone.connect();
      await eventually(() => told.length === 1, 5000, 'the phone is told when it comes back');
      assert.equal(told[0]!.wiped, true);
      assert.deepEqual(await phone.storage.loadRange([]), []);

      // The link served once: a second device cannot use it.
      await assert.rejects(
        linkDevice(offer.code, { storage: new MemoryStorage(), deviceKey: await DeviceKey.generate(), label: 'Thief', connect, timeoutMs: 2000 }),
        (error: { code?: string }) => error.code === 'invite-revoked',
      );
    } finally {
      for (const p of providers) await p.destroy().catch(() => undefined);
      await close();
    }
  });

  it('invitations take a person with its devices; a person’s devices are brought into a group it joins; a revocation covers every group', async () => {
    const { server, close } = await relay();
    const connect = (keys: Identity) => new WebSocketTransport({ url: server.url, identity: keys, WebSocket: Ws });
    const transports: WebSocketTransport[] = [];
    const online = async (keys: Identity) => {
      const t = connect(keys);
      transports.push(t);
      await t.connect();
      return t;
    };
    try {
      const laptop = await newDevice();
      await laptop.group();
      const fromLaptop = await online(laptop.identity!);
      // The laptop links a phone.
      const offer = await DeviceLinkOffer.open(laptop, fromLaptop);
      offer.events.on('request', ({ request }) => void offer.approve(request));
      const phone = await linkDevice(offer.code, { storage: new MemoryStorage(), deviceKey: await DeviceKey.generate(), label: 'Phone', connect });
      // Carol invites Alice; the phone (no words) accepts: Alice joins with the phone.
      const carol = await newDevice();
      const carols = new Group({ signer: carol.signer, log: await MembershipLog.fromOps([await createGroup(carol.signer)]), keyring: new Keyring(), storage: carol.storage });
      await carols.refresh();
      const fromCarol = await online(carol.identity!);
      carols.relay = fromCarol;
      const invitation = await GroupInvitation.create({ group: carols, transport: fromCarol, role: 'writer', baseUrl: 'https://app.example/' });
      const fromPhone = await online(phone.signer instanceof Identity ? phone.signer : (phone.signer as CertifiedDevice).keys);
      const join = JoinByInvitation.start(invitation.link, { signer: phone.signer, transport: fromPhone, name: 'Alice', storage: phone.storage, pollMs: 30 });
      await eventually(() => invitation.requests.length === 1, 5000, 'the request arrives');
      const [request] = invitation.requests;
      assert.equal(request!.safetyCode, join.safetyCode, 'both sides show the same code');
      assert.equal(toHex(request!.memberId), toHex(laptop.personId), 'the person, not the device');
      await invitation.admit(request!.memberId);
      const joined = await join.whenAdmitted;
      assert.equal(joined.role, 'writer');
      assert.equal(toHex(joined.personId), toHex(laptop.personId));
      // The laptop (the person's identity) is a member already; the phone brings nothing more.
      const laptopsCopy = await fetchRelayGroup(fromLaptop, { signer: laptop.signer, groupId: carols.groupId, storage: laptop.storage });
      laptopsCopy.relay = fromLaptop;
      assert.deepEqual(await laptop.bringDevices(laptopsCopy), [], 'the phone came in with the invitation');
      assert.equal(laptopsCopy.log.devices(laptop.personId).length, 2);

      // A tablet linked later is brought into the groups the person joined before.
      const offer2 = await DeviceLinkOffer.open(laptop, fromLaptop);
      offer2.events.on('request', ({ request: r }) => void offer2.approve(r));
      const tablet = await linkDevice(offer2.code, { storage: new MemoryStorage(), deviceKey: await DeviceKey.generate(), label: 'Tablet', connect });
      assert.ok((await tablet.groups()).includes(toHex(carols.groupId)), 'the laptop brought the tablet into Carol’s group');

      // The phone is lost: the tablet revokes it everywhere (its own group and Carol's).
      const fromTablet = await online((tablet.signer as CertifiedDevice).keys);
      assert.deepEqual(await tablet.revokeDevice(phone.deviceId, fromTablet), []);
      for (const id of [toHex((await laptop.group()).groupId), toHex(carols.groupId)]) {
        const g = await fetchRelayGroup(fromLaptop, { signer: laptop.signer, groupId: fromHex(id) });
        assert.ok(g.log.wasRevoked(phone.deviceId), `revoked in ${id.slice(0, 8)}`);
      }
    } finally {
      for (const t of transports) await t.disconnect();
      await close();
    }
  });
});

