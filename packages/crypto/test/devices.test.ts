import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  addDevice,
  addMember,
  certifyDevice,
  createGroup,
  Keyring,
  MAX_DEVICES,
  MembershipError,
  MembershipLog,
  newDeviceKeys,
  openEnvelope,
  readDeviceCertificate,
  readMembershipOp,
  removeMember,
  requestDeviceCertificate,
  revokeDevice,
  rotateEpoch,
  sealEnvelope,
  setMemberRole,
  signMessage,
  unlockEpochSecrets,
  createDeviceLink,
  decodeDeviceLink,
  deviceLinkId,
  encodeDeviceLink,
  openLinkRequest,
  sealLinkRequest,
  createInvitation,
  openJoinRequest,
  sealJoinRequest,
  type CertifiedDevice,
  type Identity,
  type OpAuthor,
} from '@sealdoc/crypto';
import { envelopeErrorCode, errorCode, flipBit, prng, rawOp, testIdentity, toHex, utf8 } from './helpers.js';

const alice = testIdentity('alice');
const bob = testIdentity('bob');
const mallory = testIdentity('mallory');
const docId = new Uint8Array(16).fill(7);
const membershipErrorCode = (p: Promise<unknown>) => errorCode(p, MembershipError);

async function device(person: Identity, label = 'Laptop'): Promise<CertifiedDevice> {
  const keys = newDeviceKeys();
  const certificate = await certifyDevice(person, await requestDeviceCertificate(keys, person.memberId, label, 1_000));
  return { keys, certificate, person };
}

/** A group of Alice (admin) and Bob (writer), everyone's keyrings, and helpers. */
async function fixture() {
  const log = await MembershipLog.fromOps([await createGroup(alice, { members: [{ keys: bob, role: 'writer' }], now: 1 })]);
  const keyrings = new Map<string, Keyring>();
  const keyring = (keys: Identity) => {
    const id = toHex(keys.memberId);
    if (!keyrings.has(id)) keyrings.set(id, new Keyring());
    return keyrings.get(id)!;
  };
  const actorKeys = (a: Identity | CertifiedDevice) => ('keys' in a ? a.keys : a);
  const by = (a: Identity | CertifiedDevice): OpAuthor => ({ signer: a, keyring: keyring(actorKeys(a)), now: 2 });
  const unlock = (a: Identity | CertifiedDevice) => unlockEpochSecrets(log, actorKeys(a), keyring(actorKeys(a)));
  const seal = (a: Identity | CertifiedDevice, seq: number, head = log.head, epoch = log.epoch) =>
    sealEnvelope({ kind: 'update', groupId: log.groupId, docId, epoch, seq, head, author: actorKeys(a), keyring: keyring(actorKeys(a)), plaintext: utf8(`seq ${seq}`) });
  const open = (envelope: Uint8Array) => openEnvelope(envelope, log.envelopeContext(keyring(alice)));
  await unlock(alice);
  await unlock(bob);
  /** Appends an op; Alice (the admin) unlocks what it gives her. */
  const apply = async (op: Uint8Array) => {
    await log.append(op);
    await unlock(alice);
  };
  return { log, keyring, by, unlock, seal, open, apply };
}

describe('device certificates', () => {
  it('bind a device key to its person, signed by both', async () => {
    const laptop = await device(alice, 'Alice’s laptop');
    const cert = readDeviceCertificate(laptop.certificate);
    assert.deepEqual(cert.personId, alice.memberId);
    assert.deepEqual(cert.signingPublicKey, laptop.keys.signingPublicKey);
    assert.deepEqual(cert.deviceId, laptop.keys.memberId);
    assert.equal(cert.label, 'Alice’s laptop');
    assert.equal(cert.time, 1_000);
  });

  it('refuse a request for another person, a forged request, a bad label', async () => {
    const keys = newDeviceKeys();
    const request = await requestDeviceCertificate(keys, alice.memberId, 'Phone');
    assert.equal(await membershipErrorCode(certifyDevice(mallory, request)), 'wrong-person');
    assert.equal(await membershipErrorCode(certifyDevice(alice, flipBit(request, request.length * 8 - 5))), 'bad-signature');
    await assert.rejects(requestDeviceCertificate(keys, alice.memberId, 'x'.repeat(65)), { code: 'bad-input' });
    await assert.rejects(requestDeviceCertificate(keys, alice.memberId, 'a\u0007b'), { code: 'bad-input' });
  });

  it('decoding: every truncation and random flips give a typed error or the same certificate, never a crash', async () => {
    const { certificate } = await device(alice);
    for (let n = 0; n < certificate.length; n++) assert.ok((await membershipErrorCode(Promise.resolve().then(() => readDeviceCertificate(certificate.subarray(0, n))))).length > 0);
    const random = prng(16);
    for (let i = 0; i < 500; i++) {
      const bytes = flipBit(certificate, Math.floor(random() * certificate.length * 8));
      try {
        readDeviceCertificate(bytes);
      } catch (error) {
        assert.ok(error instanceof MembershipError, String(error));
      }
    }
  });
});

describe('a person with several devices in a group', () => {
  it('a certified device unlocks what its person may read and writes under its own sequence numbers', async () => {
    const g = await fixture();
    const laptop = await device(alice);
    const early = await g.seal(alice, 0);
    await g.log.append(await addDevice(g.log, g.by(alice), laptop.certificate));
    assert.deepEqual(await g.unlock(laptop), [0]);
    // The identity and the laptop both use sequence number 0: two authors, no collision.
    const fromLaptop = await g.seal(laptop, 0);
    const fromAlice = await g.seal(alice, 0);
    assert.equal(toHex((await g.open(fromLaptop)).header.author), toHex(laptop.keys.memberId));
    await g.open(fromAlice);
    await g.open(early);
    assert.equal(g.log.devices(alice.memberId).length, 2);
    assert.equal(g.log.device(laptop.keys.memberId)?.role, 'admin');
    assert.equal(g.log.deviceRole(laptop.keys.memberId), 'admin');
    assert.equal(g.log.deviceRole(alice.memberId), 'admin');
    assert.deepEqual(g.log.device(laptop.keys.memberId)?.personId, alice.memberId);
    // The device acts for its person: as an admin here.
    await g.log.append(await rotateEpoch(g.log, g.by(laptop)));
    await g.unlock(alice);
    await g.unlock(bob);
    await g.open(await g.seal(bob, 1));
  });

  it('a device created group commits to its person, and the person (identity) can still act', async () => {
    const laptop = await device(alice);
    const log = await MembershipLog.fromOps([await createGroup(laptop)]);
    assert.equal(log.opAt(0).change.type, 'create');
    assert.deepEqual(log.opAt(0).author, laptop.keys.memberId);
    assert.deepEqual(log.members().map((m) => toHex(m.memberId)), [toHex(alice.memberId)]);
    assert.equal(log.devices(alice.memberId).length, 2);
    const keys = new Keyring();
    assert.deepEqual(await unlockEpochSecrets(log, laptop.keys, keys), [0]);
    assert.deepEqual(await unlockEpochSecrets(log, alice, new Keyring()), [0], 'the 24 words recover it too');
    await log.append(await addMember(log, { signer: laptop, keyring: keys }, bob, 'writer'));
  });

  it('a member added with its devices: every device gets the epoch', async () => {
    const g = await fixture();
    const carol = testIdentity('carol');
    const phone = await device(carol, 'Phone');
    await g.log.append(await addMember(g.log, g.by(alice), carol, 'writer', [phone.certificate]));
    assert.deepEqual(await g.unlock(phone), [g.log.epoch]);
    assert.equal(g.log.devices(carol.memberId).length, 2);
  });

  it('revoking a device rotates the group: nothing new reaches it, its late envelopes are refused everywhere', async () => {
    const g = await fixture();
    const laptop = await device(alice);
    const phone = await device(alice, 'Phone');
    await g.log.append(await addDevice(g.log, g.by(alice), laptop.certificate));
    await g.unlock(laptop);
    await g.log.append(await addDevice(g.log, g.by(laptop), phone.certificate));
    await g.unlock(phone);
    const inTime = await g.seal(laptop, 3);
    const late = await g.seal(laptop, 4);
    const epoch = g.log.epoch;
    // The phone revokes the lost laptop (cutoff 3): the group moves to a new epoch in the same op.
    const op = await revokeDevice(g.log, g.by(phone), laptop.keys.memberId, 3);
    await g.log.append(op);
    assert.equal(g.log.epoch, epoch + 1);
    assert.equal(readMembershipOp(op).change.type, 'revoke-device');
    assert.deepEqual(await g.unlock(laptop), [], 'the laptop holds no wrap of the new epoch');
    assert.ok(g.log.wasRevoked(laptop.keys.memberId));
    assert.equal(g.log.device(laptop.keys.memberId), undefined);
    assert.equal(g.log.deviceRole(laptop.keys.memberId), undefined);
    // The log's own index of devices by person follows the revocation (not only a replay).
    assert.deepEqual(
      g.log.devices(alice.memberId).map((d) => toHex(d.deviceId)).sort(),
      [alice.memberId, phone.keys.memberId].map(toHex).sort(),
    );
    await g.unlock(alice);
    await g.unlock(bob);
    await g.unlock(phone);
    await g.open(inTime);
    assert.equal(await envelopeErrorCode(g.open(late)), 'past-cutoff');
    // It holds no key of the new epoch, and cannot act in the group either.
    await assert.rejects(g.seal(laptop, 5));
    await assert.rejects(rotateEpoch(g.log, g.by(laptop)), { code: 'not-admin' });
    await assert.rejects(revokeDevice(g.log, g.by(laptop), phone.keys.memberId, null), { code: 'not-a-member' });
    // A revoked device never comes back into this group.
    await assert.rejects(addDevice(g.log, g.by(alice), laptop.certificate), { code: 'device-revoked' });
    // Every verifier replays the same.
    const copy = await MembershipLog.fromOps(g.log.ops());
    assert.equal(copy.devices(alice.memberId).length, 2);
  });

  it('no one revokes or certifies a device of another person, nor revokes the identity key', async () => {
    const g = await fixture();
    const laptop = await device(alice);
    await g.log.append(await addDevice(g.log, g.by(alice), laptop.certificate));
    await g.unlock(laptop);
    await assert.rejects(revokeDevice(g.log, g.by(bob), laptop.keys.memberId, null), { code: 'not-a-device' });
    await assert.rejects(revokeDevice(g.log, g.by(laptop), alice.memberId, null), { code: 'not-a-device' });
    await assert.rejects(addDevice(g.log, g.by(bob), (await device(alice, 'Tablet')).certificate), { code: 'wrong-person' });
    // Mallory's identity certifying a key that is Alice's tablet's: the tablet never signed such a request.
    const tablet = await device(alice, 'Tablet');
    const forged = await certifyDevice(mallory, await requestDeviceCertificate(newDeviceKeys(), mallory.memberId, 'x'));
    const swapped = forged.slice();
    swapped.set(tablet.keys.signingPublicKey, 1 + 32);
    await assert.rejects(addMember(g.log, g.by(alice), mallory, 'writer', [swapped]).then((op) => g.log.append(op)), { code: 'bad-signature' });
  });

  it('a removal records a cutoff per device; a crafted removal missing one is refused', async () => {
    const g = await fixture();
    const phone = await device(bob, 'Phone');
    await g.log.append(await addDevice(g.log, g.by(bob), phone.certificate));
    await g.unlock(phone);
    const fromPhone = await g.seal(phone, 9);
    const cutoffs = new Map([
      [toHex(bob.memberId), null],
      [toHex(phone.keys.memberId), 8],
    ]);
    await assert.rejects(removeMember(g.log, g.by(alice), bob.memberId, new Map([[toHex(bob.memberId), null]])), { code: 'bad-cutoffs' });
    const v1Style = await rawOp({ type: 'remove', groupId: g.log.groupId, prev: g.log.head, epoch: g.log.epoch + 1, signer: alice, body: new Uint8Array([...bob.memberId, ...new Uint8Array(8)]), keys: Uint8Array.from({ length: 32 + 1 + 48 + 4 }, (_, i) => (i === 32 ? 1 : 0)) });
    assert.equal(await membershipErrorCode(g.log.append(v1Style)), 'bad-cutoffs');
    await g.log.append(await removeMember(g.log, g.by(alice), bob.memberId, cutoffs));
    assert.equal(g.log.devices(bob.memberId).length, 0);
    assert.equal(await envelopeErrorCode(g.open(fromPhone)), 'past-cutoff');
    // A demotion records per-device cutoffs the same way.
    const carol = testIdentity('carol');
    await g.log.append(await addMember(g.log, g.by(alice), carol, 'writer'));
    await g.log.append(await setMemberRole(g.log, g.by(alice), carol.memberId, 'reader', 0));
    assert.equal(g.log.member(carol.memberId)?.role, 'reader');
  });

  it(`a person has at most ${MAX_DEVICES} devices besides its identity key`, async () => {
    const g = await fixture();
    for (let i = 0; i < MAX_DEVICES; i++) await g.log.append(await addDevice(g.log, g.by(bob), (await device(bob, `d${i}`)).certificate));
    await assert.rejects(addDevice(g.log, g.by(bob), (await device(bob, 'one more')).certificate), { code: 'too-many-devices' });
    // Every recipient holds a wrap: 1 + 1 + 16 devices.
    const op = await rotateEpoch(g.log, g.by(alice));
    await g.log.append(op);
    assert.equal(g.log.members().flatMap((m) => g.log.devices(m.memberId)).length, 2 + MAX_DEVICES);
  });

  it('a device certified later reads what its person reads, across the adds of a since-join group', async () => {
    const g = await fixture();
    // Epochs 1 and 2 start with adds (no lineage leads back across them in a since-join group).
    await g.apply(await addMember(g.log, g.by(alice), testIdentity('carol'), 'writer'));
    await g.unlock(bob);
    await g.apply(await addMember(g.log, g.by(alice), testIdentity('dave'), 'writer'));
    await g.unlock(bob);
    await g.apply(await rotateEpoch(g.log, g.by(alice)));
    assert.deepEqual(await g.unlock(bob), [3]);
    const phone = await device(bob, 'Phone');
    await g.apply(await addDevice(g.log, g.by(bob), phone.certificate));
    assert.deepEqual(await g.unlock(phone), [0, 1, 2, 3], 'every epoch Bob reads');
  });

  it('a member who starts an epoch with noise is named; the others keep what opens, and an admin resets the epoch', async () => {
    const g = await fixture();
    const rita = testIdentity('rita');
    await g.apply(await addMember(g.log, g.by(alice), rita, 'reader'));
    for (const who of [alice, bob, rita]) await g.unlock(who);
    const tablet = await device(rita, 'Tablet');
    await g.apply(await addDevice(g.log, g.by(rita), tablet.certificate));
    // Rita's honest revoke-device op, its epoch keys replaced with noise and signed again.
    const honest = await revokeDevice(g.log, g.by(rita), tablet.keys.memberId, null);
    const keysAt = honest.length - 64 - (32 + 1 + 4 + 3 * 80) - 48;
    const noisy = honest.slice(0, honest.length - 64);
    noisy.set(crypto.getRandomValues(new Uint8Array(noisy.length - keysAt)), keysAt);
    noisy.set(honest.subarray(keysAt + 32, keysAt + 33), keysAt + 32);
    noisy.set(honest.subarray(keysAt + 33 + 48, keysAt + 33 + 48 + 4), keysAt + 33 + 48);
    const poisoned = new Uint8Array([...noisy, ...(await signMessage(rita, 'membership-op', noisy))]);
    await g.log.append(poisoned);
    const error = await g.unlock(alice).catch((e: unknown) => e);
    assert.ok(error instanceof MembershipError && error.code === 'bad-secret');
    assert.deepEqual(error.ops, [toHex(readMembershipOp(poisoned).hash)], 'the op is named');
    assert.ok(g.keyring(alice).has(g.log.groupId, g.log.epoch - 1), 'what opened is kept');
    // Without the current secret, nothing that seals the previous one can be built; a reset can.
    await assert.rejects(rotateEpoch(g.log, g.by(alice)), { code: 'missing-secret' });
    await g.log.append(await rotateEpoch(g.log, g.by(alice), { reset: true }));
    await g.unlock(alice).catch(() => undefined);
    assert.deepEqual(await g.unlock(bob).catch(() => 'bad'), 'bad', 'the poisoned epoch stays reported');
    assert.ok(g.keyring(bob).has(g.log.groupId, g.log.epoch));
    await g.log.append(await removeMember(g.log, g.by(alice), rita.memberId, null));
    // Only an admin resets.
    await assert.rejects(rotateEpoch(g.log, g.by(bob), { reset: true }), { code: 'not-admin' });
    const replay = await MembershipLog.fromOps(g.log.ops());
    assert.equal(replay.epoch, g.log.epoch);
  });

  it('a key acts for one person only: a device of a removed person does not come back under another', async () => {
    const g = await fixture();
    const mallory = testIdentity('mallory');
    const carol = testIdentity('carol');
    await g.apply(await addMember(g.log, g.by(alice), mallory, 'writer'));
    await g.apply(await addMember(g.log, g.by(alice), carol, 'reader'));
    for (const who of [mallory, carol]) await g.unlock(who);
    const shared = newDeviceKeys();
    const asMallory = await certifyDevice(mallory, await requestDeviceCertificate(shared, mallory.memberId, 'D'));
    await g.apply(await addDevice(g.log, g.by(mallory), asMallory));
    await g.apply(await removeMember(g.log, g.by(alice), mallory.memberId, null));
    await g.unlock(carol);
    const asCarol = await certifyDevice(carol, await requestDeviceCertificate(shared, carol.memberId, 'D'));
    await assert.rejects(addDevice(g.log, g.by(carol), asCarol), { code: 'already-member' });
  });

  it('labels: no direction overrides, canonical (NFC) only', async () => {
    const keys = newDeviceKeys();
    await assert.rejects(requestDeviceCertificate(keys, alice.memberId, 'Laptop\u202egnp.exe'), { code: 'bad-input' });
    const nfd = 'Cafe\u0301';
    const cert = await certifyDevice(alice, await requestDeviceCertificate(keys, alice.memberId, nfd));
    assert.equal(readDeviceCertificate(cert).label, nfd.normalize('NFC'), 'written in NFC');
  });
});

describe('device links', () => {
  it('carry a request sealed under the link only; codes decode or fail typed', async () => {
    const groupId = new Uint8Array(16).fill(3);
    const link = createDeviceLink(alice.memberId, groupId);
    const decoded = decodeDeviceLink(encodeDeviceLink(link));
    assert.deepEqual(decoded, link);
    const keys = newDeviceKeys();
    const request = await requestDeviceCertificate(keys, alice.memberId, 'Phone');
    const sealed = sealLinkRequest(link, request);
    assert.deepEqual(await openLinkRequest(link, sealed), request);
    // Another link's key, a flipped bit, another person's request: refused.
    await assert.rejects(openLinkRequest(createDeviceLink(alice.memberId, groupId), sealed), { code: 'bad-ciphertext' });
    await assert.rejects(openLinkRequest(link, flipBit(sealed, 30 * 8)), { code: 'bad-ciphertext' });
    const forMallory = await requestDeviceCertificate(newDeviceKeys(), mallory.memberId, 'x');
    assert.throws(() => sealLinkRequest(link, forMallory), { code: 'malformed' });
    assert.notEqual(toHex(deviceLinkId(link)), toHex(deviceLinkId(createDeviceLink(alice.memberId, groupId))));
    const code = encodeDeviceLink(link);
    for (let n = 0; n < code.length; n++) assert.throws(() => decodeDeviceLink(code.slice(0, n)), (e: { code?: string }) => e.code === 'malformed');
    assert.throws(() => decodeDeviceLink('A'.repeat(119) + '!'), { code: 'malformed' });
  });
});

describe('join requests from a certified device', () => {
  it('carry the person and the device certificate, signed by the device; a certificate of another person is refused', async () => {
    const invitation = createInvitation(new Uint8Array(16).fill(9), 'writer');
    const phone = await device(alice, 'Phone');
    const opened = await openJoinRequest(invitation, await sealJoinRequest(invitation, phone, 'Alice'));
    assert.equal(toHex(opened.memberId), toHex(alice.memberId));
    assert.equal(toHex(opened.deviceId), toHex(phone.keys.memberId));
    assert.deepEqual(opened.devices, [phone.certificate]);
    // Mallory presents Alice's person keys with a device of his own: the certificate is not Alice's.
    const malloryDevice = await device(mallory, 'x');
    const forged = { ...malloryDevice, person: alice };
    await assert.rejects(sealJoinRequest(invitation, forged, 'Alice'), { code: 'bad-input' });
    // The first device (the identity) asks as before: no certificate.
    const first = await openJoinRequest(invitation, await sealJoinRequest(invitation, alice, 'Alice'));
    assert.deepEqual(first.devices, []);
    assert.equal(toHex(first.deviceId), toHex(alice.memberId));
  });
});

