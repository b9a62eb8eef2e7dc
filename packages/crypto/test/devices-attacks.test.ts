// Attacks on devices (certificates, certify-device and revoke-device ops, per-device cutoffs
// and wraps), as a hostile member (writer or admin), a removed member or revoked device that
// kept its keys, a key pair with no standing, or a hostile relay. Each test documents a
// defence that holds; attacks that succeeded are reported separately (not committed here).
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
  rebaseOp,
  removeMember,
  requestDeviceCertificate,
  revokeDevice,
  rotateEpoch,
  sealEnvelope,
  setMemberRole,
  signMessage,
  unlockEpochSecrets,
  verifyEnvelope,
  type CertifiedDevice,
  type Identity,
  type OpAuthor,
  rotationDue,
  activeCryptoBackends,
} from '@sealdoc/crypto';
import { envelopeErrorCode, errorCode, flipBit, prng, testIdentity, toHex, utf8 } from './helpers.js';

const alice = testIdentity('alice');
const bob = testIdentity('bob');
const rita = testIdentity('rita');
const mallory = testIdentity('mallory');
const carol = testIdentity('carol');
const docId = new Uint8Array(16).fill(9);
const membershipErrorCode = (p: Promise<unknown>) => errorCode(p, MembershipError);
const syncCode = (f: () => unknown) => membershipErrorCode(Promise.resolve().then(f));

type Actor = Identity | CertifiedDevice;
const keysOf = (a: Actor): Identity => ('keys' in a ? a.keys : a);

async function device(person: Identity, label = 'Laptop', keys = newDeviceKeys()): Promise<CertifiedDevice> {
  const certificate = await certifyDevice(person, await requestDeviceCertificate(keys, person.memberId, label, 1_000));
  return { keys, certificate, person };
}

const u32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const u64 = (n: number) => [...u32(Math.floor(n / 2 ** 32)), ...u32(n >>> 0)];
const HEADER = 1 + 1 + 16 + 32 + 4 + 32 + 8;

/** A version 2 op written byte by byte and signed by `signer` (what a hostile device can send). */
async function rawOp2(f: { code: number; groupId: Uint8Array; prev: Uint8Array; epoch: number; signer: Identity; author?: Uint8Array; body: Uint8Array | number[]; tail?: Uint8Array | number[]; version?: number }) {
  const signed = new Uint8Array([f.version ?? 2, f.code, ...f.groupId, ...f.prev, ...u32(f.epoch), ...(f.author ?? f.signer.memberId), ...u64(1_700_000_000_000), ...f.body, ...(f.tail ?? [])]);
  return new Uint8Array([...signed, ...(await signMessage(f.signer, 'membership-op', signed))]);
}

/** Epoch keys with no secret behind them: commitment, lineage flag (+ lineage), count, wraps. */
function bogusKeys(count: number, lineage: boolean): Uint8Array {
  const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
  return new Uint8Array([...random(32), lineage ? 1 : 0, ...(lineage ? random(48) : []), ...u32(count), ...new Uint8Array(80 * count).map((_, i) => (i * 7) & 255)]);
}

/** Re-signs an op whose signed part was changed. */
async function resignOp(op: Uint8Array, signer: Identity): Promise<Uint8Array> {
  const signed = op.slice(0, op.length - 64);
  return new Uint8Array([...signed, ...(await signMessage(signer, 'membership-op', signed))]);
}

/** Alice admin, Bob writer, Rita reader; keyrings per key pair; helpers. */
async function fixture(history: 'all' | 'since-join' = 'since-join') {
  const log = await MembershipLog.fromOps([
    await createGroup(alice, { members: [{ keys: bob, role: 'writer' }, { keys: rita, role: 'reader' }], history, now: 1 }),
  ]);
  const keyrings = new Map<string, Keyring>();
  const keyring = (a: Actor) => {
    const id = toHex(keysOf(a).memberId);
    if (!keyrings.has(id)) keyrings.set(id, new Keyring());
    return keyrings.get(id)!;
  };
  const by = (a: Actor): OpAuthor => ({ signer: a, keyring: keyring(a), now: 2 });
  const unlock = (a: Actor) => unlockEpochSecrets(log, keysOf(a), keyring(a));
  const seal = (a: Actor, seq: number, head = log.head, epoch = log.epoch, ring = keyring(a)) =>
    sealEnvelope({ kind: 'update', groupId: log.groupId, docId, epoch, seq, head, author: keysOf(a), keyring: ring, plaintext: utf8(`seq ${seq}`) });
  const open = (envelope: Uint8Array) => openEnvelope(envelope, log.envelopeContext(keyring(alice)));
  const verify = (envelope: Uint8Array) => verifyEnvelope(envelope, log.verifyContext());
  const apply = async (op: Promise<Uint8Array> | Uint8Array) => log.append(await op);
  for (const p of [alice, bob, rita]) await unlock(p);
  return { log, keyring, by, unlock, seal, open, verify, apply };
}

/** The devices of every current member (what an epoch is wrapped to). */
const deviceCount = (log: MembershipLog) => log.members().flatMap((m) => log.devices(m.memberId)).length;

/** A raw add op (version 2) of `person` with `certificates`, keys of the right shape. */
async function rawAdd(log: MembershipLog, signer: Identity, person: { signingPublicKey: Uint8Array; agreementPublicKey: Uint8Array }, certificates: Uint8Array[], role = 2, extraDevices = certificates.length) {
  const body = [...person.signingPublicKey, ...person.agreementPublicKey, certificates.length, ...certificates.flatMap((c) => [...c]), role];
  return rawOp2({ code: 2, groupId: log.groupId, prev: log.head, epoch: log.epoch + 1, signer, body, tail: bogusKeys(deviceCount(log) + 1 + extraDevices, log.history === 'all') });
}

/** A raw certify-device op carrying `certificate`, with one wrap (of the current epoch) of noise. */
function rawCertify(log: MembershipLog, signer: Identity, certificate: Uint8Array, author?: Uint8Array) {
  return rawOp2({ code: 6, groupId: log.groupId, prev: log.head, epoch: log.epoch, signer, author, body: certificate, tail: [0, 1, ...u32(log.epoch), ...new Uint8Array(80).fill(1)] });
}

/** A raw revoke-device op, keys of the right shape. */
function rawRevoke(log: MembershipLog, signer: Identity, deviceId: Uint8Array, cutoffField = 0, author?: Uint8Array) {
  return rawOp2({ code: 7, groupId: log.groupId, prev: log.head, epoch: log.epoch + 1, signer, author, body: [...deviceId, ...u64(cutoffField)], tail: bogusKeys(deviceCount(log) - 1, true) });
}

/** A raw remove op with the cutoffs given (device id, cutoff field). */
function rawRemove(log: MembershipLog, signer: Identity, memberId: Uint8Array, cutoffs: [Uint8Array, number][], removed: number) {
  const body = [...memberId, cutoffs.length, ...cutoffs.flatMap(([id, c]) => [...id, ...u64(c)])];
  return rawOp2({ code: 3, groupId: log.groupId, prev: log.head, epoch: log.epoch + 1, signer, body, tail: bogusKeys(deviceCount(log) - removed, true) });
}

describe('devices under attack: defences that hold', () => {
  it('no device acts for a person who never certified it: a certificate re-pointed, re-signed or borrowed is refused', async () => {
    const g = await fixture();
    const laptop = await device(alice, 'Laptop');
    // Mallory re-points Alice's certificate at herself: both signatures cover the person id.
    const repointed = laptop.certificate.slice();
    repointed.set(mallory.memberId, 1);
    await g.apply(addMember(g.log, g.by(alice), mallory, 'writer'));
    assert.equal(await membershipErrorCode(g.log.append(await rawCertify(g.log, mallory, repointed))), 'bad-signature');
    // Mallory's identity signs a request body that Alice's device signed for Alice, re-pointed: the device signature fails.
    const body = repointed.subarray(0, repointed.length - 128);
    const forged = new Uint8Array([...body, ...repointed.subarray(body.length, body.length + 64), ...(await signMessage(mallory, 'device-certificate', body))]);
    assert.equal(await membershipErrorCode(g.log.append(await rawCertify(g.log, mallory, forged))), 'bad-signature');
    // Alice's genuine certificate, brought by Mallory as if hers: wrong person.
    assert.equal(await membershipErrorCode(g.log.append(await rawCertify(g.log, mallory, laptop.certificate))), 'wrong-person');
    // An admin adding Carol with a device certified by Mallory's identity (person id Carol): refused.
    const fake = await certifyDevice(mallory, await requestDeviceCertificate(newDeviceKeys(), mallory.memberId, 'x'));
    const fakeForCarol = fake.slice();
    fakeForCarol.set(carol.memberId, 1);
    assert.equal(await membershipErrorCode(g.log.append(await rawAdd(g.log, alice, carol, [fakeForCarol]))), 'bad-signature');
    // A certificate naming Alice carried inside Carol's person: wrong-person at decoding.
    assert.equal(await membershipErrorCode(g.log.append(await rawAdd(g.log, alice, carol, [laptop.certificate]))), 'wrong-person');
    assert.equal(g.log.device(laptop.keys.memberId), undefined);
  });

  it('a key pair with no standing creates no group for a person, with a self-made device certificate', async () => {
    const intruder = newDeviceKeys();
    // The intruder makes a certificate naming Alice, signed by itself twice.
    const request = await requestDeviceCertificate(intruder, alice.memberId, 'Mine');
    const body = request.subarray(0, request.length - 64);
    const certificate = new Uint8Array([...request, ...(await signMessage(intruder, 'device-certificate', body))]);
    const honest = await createGroup({ keys: intruder, certificate: (await device(alice, 'Mine', intruder)).certificate, person: alice });
    // Same create op, the genuine certificate replaced by the self-made one (same length), re-signed by the intruder.
    const at = [...Array(honest.length - certificate.length).keys()].find((i) => honest.subarray(i, i + 64).every((b, j) => b === certificate[j]));
    assert.ok(at !== undefined);
    const swapped = honest.slice();
    swapped.set(certificate, at);
    assert.equal(await membershipErrorCode(MembershipLog.fromOps([await resignOp(swapped, intruder)])), 'bad-signature');
  });

  it('no one revokes another person\'s device, nor an identity key, even with a crafted op', async () => {
    const g = await fixture();
    const phone = await device(bob, 'Phone');
    await g.apply(addDevice(g.log, g.by(bob), phone.certificate));
    // An admin, another writer, a reader: none revokes Bob's phone or identity.
    for (const who of [alice, rita]) {
      assert.equal(await membershipErrorCode(g.log.append(await rawRevoke(g.log, who, phone.keys.memberId))), 'not-a-device');
      assert.equal(await membershipErrorCode(g.log.append(await rawRevoke(g.log, who, bob.memberId))), 'not-a-device');
    }
    // Bob himself cannot revoke his identity key.
    assert.equal(await membershipErrorCode(g.log.append(await rawRevoke(g.log, bob, bob.memberId))), 'not-a-device');
    // A key pair with no standing, claiming to be Bob: the signature fails.
    assert.equal(await membershipErrorCode(g.log.append(await rawRevoke(g.log, mallory, phone.keys.memberId, 0, bob.memberId))), 'bad-signature');
    // Nor does the phone revoke itself (it would choose its own cutoff, out of Bob's reach).
    assert.equal(await membershipErrorCode(g.log.append(await rawRevoke(g.log, phone.keys, phone.keys.memberId, 0))), 'not-a-device');
    assert.ok(g.log.device(phone.keys.memberId));
  });

  it('a revoked device never comes back: certify again, rebase, re-add its person with it, or as a person', async () => {
    const g = await fixture();
    const laptop = await device(bob, 'Laptop');
    const certify = await addDevice(g.log, g.by(bob), laptop.certificate);
    await g.apply(certify);
    await g.apply(revokeDevice(g.log, g.by(bob), laptop.keys.memberId, null));
    for (const p of [alice, bob]) await g.unlock(p);
    assert.equal(await membershipErrorCode(addDevice(g.log, g.by(bob), laptop.certificate)), 'device-revoked');
    assert.equal(await membershipErrorCode(g.log.append(await rawCertify(g.log, bob, laptop.certificate))), 'device-revoked');
    assert.equal(await membershipErrorCode(g.log.append(certify)), 'duplicate');
    assert.equal(await membershipErrorCode(rebaseOp(certify, g.log, g.by(bob))), 'device-revoked');
    // Bob removed, then re-added with the laptop in his list.
    await g.apply(removeMember(g.log, g.by(alice), bob.memberId, null));
    await g.unlock(alice);
    assert.equal(await membershipErrorCode(addMember(g.log, g.by(alice), bob, 'writer', [laptop.certificate])), 'device-revoked');
    assert.equal(await membershipErrorCode(g.log.append(await rawAdd(g.log, alice, bob, [laptop.certificate]))), 'device-revoked');
    // The laptop's key as a person's identity key.
    assert.equal(await membershipErrorCode(addMember(g.log, g.by(alice), laptop.keys, 'writer')), 'device-revoked');
    // It signs nothing either.
    assert.equal(await membershipErrorCode(g.log.append(await rawCertify(g.log, laptop.keys, (await device(bob, 'x')).certificate))), 'not-a-member');
    assert.equal(await membershipErrorCode(g.log.append(await rawRevoke(g.log, laptop.keys, laptop.keys.memberId))), 'not-a-member');
    assert.ok(g.log.wasRevoked(laptop.keys.memberId));
  });

  it('a removed member who kept every key, and a revoked device, sign nothing and unlock nothing new', async () => {
    const g = await fixture();
    const phone = await device(bob, 'Phone');
    const tablet = await device(alice, 'Tablet');
    await g.apply(addDevice(g.log, g.by(bob), phone.certificate));
    await g.apply(addDevice(g.log, g.by(alice), tablet.certificate));
    await g.unlock(phone);
    await g.unlock(tablet);
    await g.apply(revokeDevice(g.log, g.by(alice), tablet.keys.memberId, null));
    for (const a of [alice, bob, phone]) await g.unlock(a);
    await g.apply(removeMember(g.log, g.by(alice), bob.memberId, null));
    await g.unlock(alice);
    await g.apply(rotateEpoch(g.log, g.by(alice)));
    await g.unlock(alice);
    for (const kept of [bob, phone, tablet]) assert.deepEqual(await g.unlock(kept), [], 'no wrap of a later epoch');
    for (const epoch of [g.log.epoch, g.log.epoch - 1]) {
      assert.equal(g.keyring(phone).has(g.log.groupId, epoch), false);
      assert.equal(g.keyring(tablet).has(g.log.groupId, epoch), false);
    }
    assert.equal(await membershipErrorCode(g.log.append(await rawCertify(g.log, bob, (await device(bob, 'New')).certificate))), 'not-a-member');
    assert.equal(await membershipErrorCode(addDevice(g.log, g.by(phone), (await device(bob, 'New')).certificate)), 'not-a-member');
    assert.equal(await membershipErrorCode(rotateEpoch(g.log, g.by(phone))), 'not-admin');
    assert.equal(await membershipErrorCode(g.log.append(await resignOp(await rotateEpoch(g.log, g.by(alice)), tablet.keys))), 'bad-signature');
  });

  it('cutoffs hold per device: identity key on removal, each device on demotion, a revoked device, under old heads', async () => {
    const g = await fixture();
    const phone = await device(bob, 'Phone');
    await g.apply(addDevice(g.log, g.by(bob), phone.certificate));
    await g.unlock(phone);
    const head = g.log.head;
    const epoch = g.log.epoch;
    const bobLate = await g.seal(bob, 4, head, epoch);
    const phoneLate = await g.seal(phone, 8, head, epoch);
    const bobOk = await g.seal(bob, 3, head, epoch);
    // Demotion: Bob's identity to 3, the phone to 7.
    await g.apply(setMemberRole(g.log, g.by(alice), bob.memberId, 'reader', new Map([[toHex(bob.memberId), 3], [toHex(phone.keys.memberId), 7]])));
    assert.equal(await envelopeErrorCode(g.open(bobLate)), 'past-cutoff');
    assert.equal(await envelopeErrorCode(g.open(phoneLate)), 'past-cutoff');
    assert.equal(await envelopeErrorCode(g.verify(phoneLate)), 'past-cutoff');
    await g.open(bobOk);
    // Promoted back, then removed with null cutoffs: every earlier envelope of his refused, even below the demotion's.
    await g.apply(setMemberRole(g.log, g.by(alice), bob.memberId, 'writer'));
    await g.apply(removeMember(g.log, g.by(alice), bob.memberId, null));
    assert.equal(await envelopeErrorCode(g.open(bobOk)), 'past-cutoff');
    // A revoked device of Alice: its cutoff under an old head, and nothing at a head after the revocation.
    await g.unlock(alice);
    const tablet = await device(alice, 'Tablet');
    await g.apply(addDevice(g.log, g.by(alice), tablet.certificate));
    await g.unlock(tablet);
    const before = { head: g.log.head, epoch: g.log.epoch };
    const inTime = await g.seal(tablet, 2, before.head, before.epoch);
    const late = await g.seal(tablet, 3, before.head, before.epoch);
    await g.apply(revokeDevice(g.log, g.by(alice), tablet.keys.memberId, 2));
    await g.unlock(alice);
    await g.open(inTime);
    assert.equal(await envelopeErrorCode(g.open(late)), 'past-cutoff');
    const after = await g.seal(tablet, 0, g.log.head, g.log.epoch, g.keyring(alice));
    assert.equal(await envelopeErrorCode(g.open(after)), 'not-a-member');
  });

  it('a device envelope claims no more than its person: a reader\'s device does not write; a device before its certification is no one', async () => {
    const g = await fixture();
    const tablet = await device(rita, 'Tablet');
    const before = g.log.head;
    await g.apply(addDevice(g.log, g.by(rita), tablet.certificate));
    await g.unlock(tablet);
    assert.equal(await envelopeErrorCode(g.open(await g.seal(tablet, 0))), 'not-a-writer');
    const phone = await device(bob, 'Phone');
    await g.apply(addDevice(g.log, g.by(bob), phone.certificate));
    await g.unlock(phone);
    assert.equal(await envelopeErrorCode(g.open(await g.seal(phone, 0, before, 0))), 'not-a-member');
    await g.open(await g.seal(phone, 0));
  });

  it('state inputs two verifiers could read differently are refused: duplicate ids, a device id equal to a member id, one device under two persons, cutoffs out of order or foreign', async () => {
    const g = await fixture();
    const carolPhone = await device(carol, 'Phone');
    // The same device twice in one person.
    assert.equal(await membershipErrorCode(g.log.append(await rawAdd(g.log, alice, carol, [carolPhone.certificate, carolPhone.certificate]))), 'already-member');
    // A device whose key is the person's own identity key.
    const self = await device(carol, 'Self', carol);
    assert.equal(await membershipErrorCode(g.log.append(await rawAdd(g.log, alice, carol, [self.certificate]))), 'already-member');
    // A device whose key is another member's identity key (Bob lends his key to Carol).
    const bobAsCarols = await device(carol, 'Bob', bob);
    assert.equal(await membershipErrorCode(g.log.append(await rawAdd(g.log, alice, carol, [bobAsCarols.certificate]))), 'already-member');
    // One device under two persons at creation.
    const shared = newDeviceKeys();
    const forAlice = await device(alice, 'Shared', shared);
    const forBob = await device(bob, 'Shared', shared);
    assert.equal(
      await membershipErrorCode(createGroup(alice, { creatorDevices: [forAlice.certificate], members: [{ keys: bob, role: 'writer', devices: [forBob.certificate] }] })),
      'already-member',
    );
    // ... and at certification: Bob cannot certify into the group a device that is Alice's.
    await g.apply(addDevice(g.log, g.by(alice), forAlice.certificate));
    assert.equal(await membershipErrorCode(g.log.append(await rawCertify(g.log, bob, forBob.certificate))), 'already-member');
    // Cutoffs out of order, duplicated, or naming another person's device.
    await g.apply(addDevice(g.log, g.by(bob), (await device(bob, 'Phone')).certificate));
    const ids = g.log.devices(bob.memberId).map((d) => d.deviceId).sort((a, b) => (toHex(a) < toHex(b) ? -1 : 1));
    for (const list of [[ids[1]!, ids[0]!], [ids[0]!, ids[0]!], [ids[0]!, shared.memberId], [ids[0]!, ids[1]!, shared.memberId]])
      assert.equal(await membershipErrorCode(g.log.append(await rawRemove(g.log, alice, bob.memberId, list.map((id) => [id, 0]), 2))), 'bad-cutoffs');
    // Every verifier, whichever way it reads the log, holds the same devices.
    const full = await MembershipLog.fromOps(g.log.ops());
    const trusted = await MembershipLog.fromVerifiedOps(g.log.ops());
    const synced = await MembershipLog.fromOps(g.log.ops(0, 1));
    await synced.sync(g.log.ops(1), 1);
    const view = (l: MembershipLog) => l.members().map((m) => [toHex(m.memberId), m.role, l.devices(m.memberId).map((d) => toHex(d.deviceId))]);
    for (const copy of [full, trusted, synced]) assert.deepEqual(view(copy), view(g.log));
  });

  it('version 1 ops after version 2: no device types, one cutoff only where the person has no device', async () => {
    const g = await fixture();
    const phone = await device(bob, 'Phone');
    await g.apply(addDevice(g.log, g.by(bob), phone.certificate));
    const v1Certify = await rawOp2({ version: 1, code: 6, groupId: g.log.groupId, prev: g.log.head, epoch: g.log.epoch, signer: bob, body: (await device(bob, 'x')).certificate, tail: [0, 1, ...u32(g.log.epoch), ...new Uint8Array(80)] });
    assert.equal(await membershipErrorCode(g.log.append(v1Certify)), 'malformed');
    const v1Revoke = await rawOp2({ version: 1, code: 7, groupId: g.log.groupId, prev: g.log.head, epoch: g.log.epoch + 1, signer: bob, body: [...phone.keys.memberId, ...u64(0)], tail: bogusKeys(4, true) });
    assert.equal(await membershipErrorCode(g.log.append(v1Revoke)), 'malformed');
    // A version-1 demotion of Bob carries one cutoff: his phone would escape it.
    const v1Demote = await rawOp2({ version: 1, code: 4, groupId: g.log.groupId, prev: g.log.head, epoch: g.log.epoch, signer: alice, body: [...bob.memberId, 3, 1, ...u64(0)] });
    assert.equal(await membershipErrorCode(g.log.append(v1Demote)), 'bad-cutoffs');
    // A version-1 op signed by a certified device is read as any other.
    const laptop = await device(alice, 'Laptop');
    await g.apply(addDevice(g.log, g.by(alice), laptop.certificate));
    const v1Promote = await rawOp2({ version: 1, code: 4, groupId: g.log.groupId, prev: g.log.head, epoch: g.log.epoch, signer: laptop.keys, body: [...rita.memberId, 2, 0] });
    await g.log.append(v1Promote);
    assert.equal(g.log.member(rita.memberId)?.role, 'writer');
  });

  it(`MAX_DEVICES boundaries: ${MAX_DEVICES + 1} devices in an add are refused before any signature; a person at the limit is still removable`, async () => {
    const g = await fixture();
    const certificates = [];
    for (let i = 0; i <= MAX_DEVICES; i++) certificates.push((await device(carol, `d${i}`)).certificate);
    assert.equal(await membershipErrorCode(addMember(g.log, g.by(alice), carol, 'writer', certificates)), 'too-many-devices');
    assert.equal(await membershipErrorCode(g.log.append(await rawAdd(g.log, alice, carol, certificates))), 'too-many-devices');
    await g.apply(addMember(g.log, g.by(alice), carol, 'writer', certificates.slice(0, MAX_DEVICES)));
    await g.unlock(carol);
    assert.equal(await membershipErrorCode(addDevice(g.log, g.by(carol), certificates[MAX_DEVICES]!)), 'too-many-devices');
    assert.equal(await membershipErrorCode(g.log.append(await rawCertify(g.log, carol, certificates[MAX_DEVICES]!))), 'too-many-devices');
    await g.unlock(alice);
    const removal = await removeMember(g.log, g.by(alice), carol.memberId, null);
    assert.equal(readMembershipOp(removal).change.type, 'remove');
    await g.log.append(removal);
    assert.equal(g.log.devices(carol.memberId).length, 0);
  });

  it('a hostile relay: a replayed, reordered or transplanted device op is refused', async () => {
    const g = await fixture();
    const other = await fixture();
    const phone = await device(bob, 'Phone');
    const certify = await addDevice(g.log, g.by(bob), phone.certificate);
    assert.equal(await membershipErrorCode(other.log.append(certify)), 'wrong-group');
    const rotate = await rotateEpoch(g.log, g.by(alice));
    await g.log.append(certify);
    assert.equal(await membershipErrorCode(g.log.append(certify)), 'duplicate');
    assert.equal(await membershipErrorCode(g.log.append(rotate)), 'stale-head');
    // A copy that differs at an op already seen is a fork.
    const copy = await MembershipLog.fromOps(g.log.ops(0, 1));
    await copy.append(rotate);
    assert.equal(await membershipErrorCode(copy.sync(g.log.ops(1), 1)), 'fork');
  });

  it('decoding: truncations, flips, huge counts and bad labels give typed errors, never a crash or a hang', async () => {
    const g = await fixture('all');
    const phone = await device(bob, 'Phone');
    const ops = [
      await addMember(g.log, g.by(alice), carol, 'writer', [(await device(carol, 'Tablet')).certificate]),
      await addDevice(g.log, g.by(bob), phone.certificate),
      await removeMember(g.log, g.by(alice), bob.memberId, 0),
      await setMemberRole(g.log, g.by(alice), bob.memberId, 'reader', 5),
    ];
    await g.apply(addDevice(g.log, g.by(bob), phone.certificate));
    ops.push(await revokeDevice(g.log, g.by(bob), phone.keys.memberId, 7));
    const random = prng(77);
    const started = Date.now();
    for (const op of ops) {
      for (let n = 0; n < op.length; n++) assert.ok((await syncCode(() => readMembershipOp(op.subarray(0, n)))).length > 0);
      for (let i = 0; i < 300; i++) {
        try {
          readMembershipOp(flipBit(op, Math.floor(random() * op.length * 8)));
        } catch (error) {
          assert.ok(error instanceof MembershipError, String(error));
        }
      }
    }
    // Counts: 255 devices, a cutoff list of 0 or 18, 2^32 - 1 wraps.
    const add = ops[0]!;
    const withCount = (op: Uint8Array, at: number, value: number[]) => {
      const out = op.slice();
      out.set(value, at);
      return out;
    };
    assert.equal(await syncCode(() => readMembershipOp(withCount(add, HEADER + 64, [255]))), 'too-many-devices');
    assert.equal(await syncCode(() => readMembershipOp(withCount(ops[2]!, HEADER + 32, [0]))), 'malformed');
    assert.equal(await syncCode(() => readMembershipOp(withCount(ops[2]!, HEADER + 32, [MAX_DEVICES + 2]))), 'malformed');
    const revoke = ops[4]!;
    assert.equal(await syncCode(() => readMembershipOp(withCount(revoke, HEADER + 40 + 33 + 48, [255, 255, 255, 255]))), 'malformed');
    // Labels: too long, not UTF-8, a control character, a version not read.
    const cert = phone.certificate;
    const labelAt = 1 + 32 + 32 + 32 + 8;
    const relabel = (bytes: number[]) => new Uint8Array([...cert.subarray(0, labelAt), bytes.length, ...bytes, ...cert.subarray(labelAt + 1 + cert[labelAt]!)]);
    assert.equal(await syncCode(() => readDeviceCertificate(relabel(new Array(65).fill(0x61)))), 'malformed');
    assert.equal(await syncCode(() => readDeviceCertificate(relabel([0xc3, 0x28]))), 'malformed');
    assert.equal(await syncCode(() => readDeviceCertificate(relabel([0x61, 0x07]))), 'malformed');
    assert.equal(await syncCode(() => readDeviceCertificate(relabel([0xc2, 0x85]))), 'malformed');
    // 21 × U+0958 is 63 bytes, but 126 in NFC: refused like the builder refuses it.
    assert.equal(await syncCode(() => readDeviceCertificate(relabel([...utf8('\u0958'.repeat(21))]))), 'malformed');
    await assert.rejects(requestDeviceCertificate(newDeviceKeys(), alice.memberId, '\u0958'.repeat(21)), { code: 'bad-input' });
    assert.equal(await syncCode(() => readDeviceCertificate(withCount(cert, 0, [2]))), 'unsupported-version');
    assert.equal(await syncCode(() => readDeviceCertificate(new Uint8Array([...cert, 0]))), 'malformed');
    assert.ok(Date.now() - started < 20_000);
  });
});

describe('devices under attack: found by review, defended since', () => {
  it('a writer cannot break the walk back of devices certified later: bogus lineage in its revoke-device op', async () => {
    const g = await fixture('all');
    const phone = await device(bob, 'Phone');
    await g.apply(addDevice(g.log, g.by(bob), phone.certificate));
    const honest = await revokeDevice(g.log, g.by(bob), phone.keys.memberId, null);
    // Lineage at bytes HEADER + 40 + 33 .. + 48 (after commitment and flag): replaced with noise.
    const lineageAt = HEADER + 40 + 33;
    const tampered = honest.slice();
    tampered.set(crypto.getRandomValues(new Uint8Array(48)), lineageAt);
    await g.apply(resignOp(tampered, bob));
    await g.unlock(alice);
    await g.unlock(bob);
    // Alice certifies a new laptop: it gets the current epoch and walks back from it (history 'all').
    const laptop = await device(alice, 'New laptop');
    await g.apply(addDevice(g.log, g.by(alice), laptop.certificate));
    const result = await g.unlock(laptop).then((e) => e, (e: MembershipError) => e.code);
    assert.deepEqual(result, [0, 1, 2].slice(0, g.log.epoch + 1));
  });

  it('a removal survives rebase when the member certifies a device concurrently (removal stays appliable)', async () => {
    const g = await fixture();
    const removal = await removeMember(g.log, g.by(alice), bob.memberId, null);
    // Bob sees it coming (or the relay orders his op first): he certifies a new device.
    await g.apply(addDevice(g.log, g.by(bob), (await device(bob, 'Spare')).certificate));
    assert.equal(await membershipErrorCode(g.log.append(removal)), 'stale-head');
    const rebased = await rebaseOp(removal, g.log, g.by(alice)).then((op) => g.log.append(op).then(() => 'ok'), (e: MembershipError) => e.code);
    assert.equal(rebased, 'ok', 'the admin\'s removal could not be rebased');
    assert.equal(g.log.member(bob.memberId), undefined);
  });

  it('a demotion survives rebase when the member certifies a device concurrently', async () => {
    const g = await fixture();
    const demotion = await setMemberRole(g.log, g.by(alice), bob.memberId, 'reader', 5);
    await g.apply(addDevice(g.log, g.by(bob), (await device(bob, 'Spare')).certificate));
    const rebased = await rebaseOp(demotion, g.log, g.by(alice)).then((op) => g.log.append(op).then(() => 'ok'), (e: MembershipError) => e.code);
    assert.equal(rebased, 'ok', 'the admin\'s demotion could not be rebased');
  });

  it('an op with a bad signature is refused after one signature check, not after its certificates\' 2 × 16', async () => {
    const g = await fixture();
    const victim = testIdentity('victim');
    const certificates = [];
    for (let i = 0; i < MAX_DEVICES; i++) certificates.push((await device(victim, `d${i}`)).certificate);
    const honest = await addMember(g.log, g.by(alice), victim, 'writer', certificates);
    // A key pair with no standing: the same bytes, author Alice, signature by Mallory.
    const forged = await resignOp(honest, mallory);
    assert.equal((await activeCryptoBackends()).ed25519, 'webcrypto');
    const subtle = globalThis.crypto.subtle;
    const original = subtle.verify;
    let count = 0;
    subtle.verify = function (this: SubtleCrypto, ...args: Parameters<SubtleCrypto['verify']>) {
      count++;
      return original.apply(this, args);
    } as SubtleCrypto['verify'];
    try {
      assert.equal(await membershipErrorCode(g.log.append(forged)), 'bad-signature');
    } finally {
      subtle.verify = original;
    }
    assert.ok(count <= 1, `${count} signature checks before refusing a forged op`);
  });

  it('a non-admin\'s op timestamp cannot postpone the age-based rotation of the epoch it starts', async () => {
    const g = await fixture();
    const tablet = await device(rita, 'Tablet');
    await g.apply(addDevice(g.log, g.by(rita), tablet.certificate));
    const revoke = await revokeDevice(g.log, { ...g.by(rita), now: Number.MAX_SAFE_INTEGER }, tablet.keys.memberId, null);
    await g.log.append(revoke);
    const now = Date.now() + 30 * 24 * 3600 * 1000;
    assert.deepEqual(rotationDue(g.log, { now, envelopesInEpoch: 0 }), { due: true, reason: 'age' }, 'a reader set the epoch start to year 285,000');
  });
});
