import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  addMember,
  createGroup,
  Identity,
  Keyring,
  MembershipError,
  MembershipLog,
  openEnvelope,
  readMembershipOp,
  rebaseOp,
  removeMember,
  isLeave,
  rotateEpoch,
  rotationDue,
  sealEnvelope,
  setMemberRole,
  verifyEnvelope,
  unlockEpochSecrets,
  hpkeSeal,
  type HistoryAccess,
  type MemberRole,
  type DeviceCutoff,
} from '@sealdoc/crypto';
import { errorCode, envelopeErrorCode, flipBit, opHash, rawOp, resign, testIdentity, toHex, utf8 } from './helpers.js';

const membershipErrorCode = (promise: Promise<unknown>) => errorCode(promise, MembershipError);

/** One group seen by several identities, each with its own keyring. */
class Group {
  readonly keyrings = new Map<string, Keyring>();
  private constructor(readonly log: MembershipLog) {}

  static async create(founder: Identity, options: { history?: HistoryAccess; members?: [Identity, MemberRole][] } = {}) {
    const op = await createGroup(founder, {
      ...(options.history ? { history: options.history } : {}),
      members: (options.members ?? []).map(([keys, role]) => ({ keys, role })),
      now: 1_000,
    });
    const group = new Group(await MembershipLog.fromOps([op]));
    await group.unlockAll([founder, ...(options.members ?? []).map(([id]) => id)]);
    return group;
  }

  keyring(id: Identity): Keyring {
    const key = toHex(id.memberId);
    if (!this.keyrings.has(key)) this.keyrings.set(key, new Keyring());
    return this.keyrings.get(key)!;
  }

  by(admin: Identity, now = 2_000) {
    return { signer: admin, keyring: this.keyring(admin), now };
  }

  async unlockAll(ids: Identity[]): Promise<void> {
    for (const id of ids) await unlockEpochSecrets(this.log, id, this.keyring(id));
  }

  /** Appends an op and lets everyone named unlock what they are entitled to. */
  async apply(op: Uint8Array, everyone: Identity[]): Promise<void> {
    await this.log.append(op);
    await this.unlockAll(everyone);
  }

  secret(id: Identity, epoch: number): string | undefined {
    const s = this.keyring(id)._secret(this.log.groupId, epoch);
    return s && toHex(s);
  }

  epochsOf(id: Identity): number[] {
    return this.keyring(id).epochs(this.log.groupId);
  }

  state() {
    return { head: toHex(this.log.head), epoch: this.log.epoch, length: this.log.length, members: this.log.members().map((m) => `${toHex(m.memberId)}:${m.role}`) };
  }
}

const alice = testIdentity('alice');
const bob = testIdentity('bob');
const carol = testIdentity('carol');
const dave = testIdentity('dave');
const erin = testIdentity('erin');
const everyone = [alice, bob, carol, dave, erin];

describe('membership log: the life of a group', () => {
  it('create, add, set-role, rotate, remove: state, epochs and shared secrets', async () => {
    const g = await Group.create(alice);
    assert.equal(g.log.epoch, 0);
    assert.deepEqual(g.log.members().map((m) => m.role), ['admin']);
    await g.apply(await addMember(g.log, g.by(alice), bob, 'writer'), everyone);
    await g.apply(await addMember(g.log, g.by(alice), carol, 'reader'), everyone);
    assert.equal(g.log.epoch, 2);
    assert.equal(g.log.deviceRole(carol.memberId), 'reader');
    await g.apply(await setMemberRole(g.log, g.by(alice), carol.memberId, 'writer'), everyone);
    assert.equal(g.log.epoch, 2, 'set-role keeps the epoch');
    assert.equal(g.log.member(carol.memberId)?.role, 'writer');
    assert.equal(g.log.deviceRole(carol.memberId), 'writer');
    await g.apply(await rotateEpoch(g.log, g.by(alice)), everyone);
    await g.apply(await removeMember(g.log, g.by(alice), bob.memberId, 4), everyone);
    assert.equal(g.log.epoch, 4);
    assert.equal(g.log.length, 6);
    assert.equal(g.log.member(bob.memberId), undefined);
    assert.equal(g.log.deviceRole(bob.memberId), undefined);
    const member = g.log.member(carol.memberId)!;
    assert.deepEqual(member.signingPublicKey, carol.signingPublicKey);
    assert.deepEqual(member.agreementPublicKey, carol.agreementPublicKey);
    // Every member holds the same secret for every epoch it belongs to; all differ.
    const secrets = new Set<string>();
    for (let epoch = 0; epoch <= 4; epoch++) {
      const held = everyone.map((id) => g.secret(id, epoch)).filter((s) => s !== undefined);
      assert.equal(new Set(held).size, 1, `epoch ${epoch}`);
      secrets.add(held[0]!);
    }
    assert.equal(secrets.size, 5, 'every epoch has a fresh secret');
    assert.deepEqual(g.log.opAt(5).change, { type: 'remove', memberId: bob.memberId, cutoffs: [{ deviceId: bob.memberId, cutoff: 4 }] });
    assert.deepEqual(readMembershipOp(g.log.ops()[1]!).change.type, 'add');
  });

  it('fromVerifiedOps (for ops verified before) rebuilds the same state and still checks the chain and the rules, not signatures', async () => {
    const g = await Group.create(alice, { members: [[bob, 'admin']] });
    await g.apply(await addMember(g.log, g.by(bob), carol, 'writer'), everyone);
    await g.apply(await removeMember(g.log, g.by(alice), bob.memberId, null), everyone);
    const ops = g.log.ops();
    const again = await MembershipLog.fromVerifiedOps(ops);
    assert.deepEqual(
      { head: toHex(again.head), epoch: again.epoch, members: again.members().map((m) => `${toHex(m.memberId)}:${m.role}`) },
      { head: toHex(g.log.head), epoch: g.log.epoch, members: g.log.members().map((m) => `${toHex(m.memberId)}:${m.role}`) },
    );
    assert.equal(await membershipErrorCode(MembershipLog.fromVerifiedOps([ops[0]!, ops[2]!, ops[1]!])), 'unknown-predecessor');
    assert.equal(await membershipErrorCode(MembershipLog.fromVerifiedOps(ops.slice(1))), 'not-genesis');
    // A signature is not checked again: that is what the caller vouches for (fromOps does check it).
    const forged = [ops[0]!, flipBit(ops[1]!, ops[1]!.length * 8 - 3)];
    assert.equal(await membershipErrorCode(MembershipLog.fromOps(forged)), 'bad-signature');
    assert.equal((await MembershipLog.fromVerifiedOps(forged)).length, 2);
  });

  it('verifies a whole log from genesis and reproduces the same state', async () => {
    const g = await Group.create(alice, { members: [[bob, 'admin']] });
    await g.apply(await addMember(g.log, g.by(bob), carol, 'writer'), everyone);
    await g.apply(await removeMember(g.log, g.by(alice), bob.memberId, null), everyone);
    const copy = await MembershipLog.fromOps(g.log.ops());
    assert.deepEqual({ ...g.state() }, { head: toHex(copy.head), epoch: copy.epoch, length: copy.length, members: copy.members().map((m) => `${toHex(m.memberId)}:${m.role}`) });
    assert.equal(copy.history, 'since-join');
  });

  it('headAt gives the head at each length, the one indexOf finds; nothing before the first op or past the last', async () => {
    const g = await Group.create(alice, { members: [[bob, 'admin']] });
    await g.apply(await addMember(g.log, g.by(bob), carol, 'writer'), everyone);
    for (let length = 1; length <= g.log.length; length++) assert.equal(g.log.indexOf(g.log.headAt(length)!), length - 1);
    assert.deepEqual(g.log.headAt(g.log.length), g.log.head);
    assert.equal(g.log.headAt(0), undefined);
    assert.equal(g.log.headAt(g.log.length + 1), undefined);
  });
});

describe('removal is real', () => {
  it('a removed member holding every key it had reads nothing new; its late envelopes are refused', async () => {
    const g = await Group.create(alice);
    await g.apply(await addMember(g.log, g.by(alice), dave, 'writer'), everyone);
    await g.apply(await addMember(g.log, g.by(alice), bob, 'writer'), everyone);
    const daveHead = g.log.head;
    const daveEpoch = g.log.epoch;
    const docId = new Uint8Array(16).fill(1);
    const seal = (author: Identity, seq: number, epoch = g.log.epoch, head = g.log.head, text = 'x') =>
      sealEnvelope({ kind: 'update', groupId: g.log.groupId, docId, epoch, seq, head, author, keyring: g.keyring(author), plaintext: utf8(text) });
    const beforeRemoval = await seal(dave, 3, daveEpoch, daveHead, 'accepted before removal');
    const lateButOld = await seal(dave, 4, daveEpoch, daveHead, 'sealed after the cutoff, under the old head');

    // Alice accepted Dave's envelopes up to seq 3, then removes him.
    await g.apply(await removeMember(g.log, g.by(alice), dave.memberId, 3), everyone);
    const daveKeys = g.keyring(dave);
    assert.deepEqual(g.epochsOf(dave), [1, 2], 'Dave unlocked nothing after his removal');
    assert.equal(await unlockEpochSecrets(g.log, dave, daveKeys).then((added) => added.length), 0);

    const afterRemoval = await seal(bob, 0, g.log.epoch, g.log.head, 'secret after removal');
    assert.equal(await envelopeErrorCode(openEnvelope(afterRemoval, g.log.envelopeContext(daveKeys))), 'unknown-epoch');
    // Not even by brute use of every secret he holds as the new epoch's key.
    for (const epoch of daveKeys.epochs(g.log.groupId)) {
      const forged = new Keyring();
      forged.add(g.log.groupId, g.log.epoch, daveKeys._secret(g.log.groupId, epoch)!);
      assert.equal(await envelopeErrorCode(openEnvelope(afterRemoval, g.log.envelopeContext(forged))), 'bad-ciphertext');
    }
    // The others read Bob, and Dave's accepted envelope, but not Dave's late one.
    const ctx = g.log.envelopeContext(g.keyring(alice));
    assert.equal(new TextDecoder().decode((await openEnvelope(afterRemoval, ctx)).plaintext), 'secret after removal');
    assert.equal(new TextDecoder().decode((await openEnvelope(beforeRemoval, ctx)).plaintext), 'accepted before removal');
    assert.equal(await envelopeErrorCode(openEnvelope(lateButOld, ctx)), 'past-cutoff');
    assert.equal(await envelopeErrorCode(verifyEnvelope(lateButOld, g.log.verifyContext())), 'past-cutoff');
  });

  it('a writer whose envelope carries the largest sequence number the format allows can still be removed and demoted', async () => {
    const MAX = Number.MAX_SAFE_INTEGER; // 2^53 - 1: the largest seq an envelope may carry
    for (const change of ['remove', 'demote'] as const) {
      const g = await Group.create(alice, { members: [[dave, 'writer'], [bob, 'writer']] });
      const docId = new Uint8Array(16).fill(2);
      const head = g.log.head;
      const epoch = g.log.epoch;
      const seal = (seq: number) => sealEnvelope({ kind: 'update', groupId: g.log.groupId, docId, epoch, seq, head, author: dave, keyring: g.keyring(dave), plaintext: utf8('x') });
      const atMax = await seal(MAX);
      await openEnvelope(atMax, g.log.envelopeContext(g.keyring(alice)));
      // The admin accepted it; the cutoff names it exactly.
      const op = change === 'remove' ? await removeMember(g.log, g.by(alice), dave.memberId, MAX) : await setMemberRole(g.log, g.by(alice), dave.memberId, 'reader', MAX);
      await g.apply(op, everyone);
      assert.equal((readMembershipOp(op).change as { cutoffs: readonly DeviceCutoff[] }).cutoffs[0]!.cutoff, MAX);
      // Every verifier reads it back: the log replays from its bytes.
      const copy = await MembershipLog.fromOps(g.log.ops());
      assert.equal((copy.opAt(copy.length - 1).change as { cutoffs: readonly DeviceCutoff[] }).cutoffs[0]!.cutoff, MAX);
      assert.equal(copy.member(dave.memberId)?.role, change === 'remove' ? undefined : 'reader');
      // What was accepted still opens; nothing new from Dave does.
      await openEnvelope(atMax, copy.envelopeContext(g.keyring(alice)));
      const later = await sealEnvelope({ kind: 'update', groupId: g.log.groupId, docId, epoch: g.log.epoch, seq: 0, head: g.log.head, author: dave, keyring: g.keyring(alice), plaintext: utf8('y') });
      assert.match(await envelopeErrorCode(verifyEnvelope(later, copy.verifyContext())), change === 'remove' ? /not-a-member/ : /not-a-writer/);
    }
    // Past the format's range, a cutoff is refused when built and when read.
    const g = await Group.create(alice, { members: [[dave, 'writer']] });
    await assert.rejects(removeMember(g.log, g.by(alice), dave.memberId, MAX + 1));
    const tooFar = new Uint8Array(8);
    new DataView(tooFar.buffer).setUint32(0, 0x200000);
    tooFar[7] = 1; // 2^53 + 1: a cutoff of 2^53, which no envelope can carry
    const keys = (await removeMember(g.log, g.by(alice), dave.memberId, null)).subarray(94 + 32 + 8);
    const forged = rawOp({ type: 'remove', groupId: g.log.groupId, prev: g.log.head, epoch: g.log.epoch + 1, signer: alice, body: new Uint8Array([...dave.memberId, ...tooFar]), keys: keys.subarray(0, keys.length - 64) });
    assert.equal(await membershipErrorCode(g.log.append(await forged)), 'malformed');
  });

  it('the removal op itself carries the new epoch (rotate before revoke)', async () => {
    const g = await Group.create(alice, { members: [[bob, 'writer'], [dave, 'writer']] });
    const op = await removeMember(g.log, g.by(alice), dave.memberId, null);
    const decoded = readMembershipOp(op);
    assert.equal(decoded.epoch, g.log.epoch + 1);
    await g.apply(op, everyone);
    assert.ok(g.secret(bob, decoded.epoch));
    assert.equal(g.secret(dave, decoded.epoch), undefined);
  });
});

describe('envelopes are bound to the log', () => {
  it('unknown head, wrong epoch, readers, demotion cutoffs, re-admission', async () => {
    const g = await Group.create(alice, { members: [[bob, 'writer'], [carol, 'reader']] });
    const docId = new Uint8Array(16);
    const seal = (author: Identity, seq: number, head = g.log.head, epoch = g.log.epoch) =>
      sealEnvelope({ kind: 'update', groupId: g.log.groupId, docId, epoch, seq, head, author, keyring: g.keyring(author), plaintext: utf8('x') });
    const ctx = () => g.log.envelopeContext(g.keyring(alice));
    await openEnvelope(await seal(bob, 0), ctx());
    assert.equal(await envelopeErrorCode(openEnvelope(await seal(bob, 1, new Uint8Array(32)), ctx())), 'unknown-head');
    g.keyring(bob).add(g.log.groupId, 9, new Uint8Array(32).fill(9));
    assert.equal(await envelopeErrorCode(openEnvelope(await seal(bob, 2, g.log.head, 9), ctx())), 'wrong-epoch');
    assert.equal(await envelopeErrorCode(openEnvelope(await seal(carol, 0), ctx())), 'not-a-writer');
    // Dave got hold of the epoch secret, but he is no member.
    g.keyring(dave).add(g.log.groupId, g.log.epoch, g.keyring(alice)._secret(g.log.groupId, g.log.epoch)!);
    assert.equal(await envelopeErrorCode(openEnvelope(await seal(dave, 0), ctx())), 'not-a-member');

    // Bob is demoted to reader after his seq 5 was accepted: his seq 6 under the old head is refused.
    const oldHead = g.log.head;
    const late = await seal(bob, 6, oldHead);
    const onTime = await seal(bob, 5, oldHead);
    await g.apply(await setMemberRole(g.log, g.by(alice), bob.memberId, 'reader', 5), everyone);
    await openEnvelope(onTime, ctx());
    assert.equal(await envelopeErrorCode(openEnvelope(late, ctx())), 'past-cutoff');
    assert.equal(await envelopeErrorCode(openEnvelope(await seal(bob, 7), ctx())), 'not-a-writer');
    // Promoted again, new envelopes under the new head pass.
    await g.apply(await setMemberRole(g.log, g.by(alice), bob.memberId, 'writer'), everyone);
    await openEnvelope(await seal(bob, 8), ctx());
  });
});

describe('roles and refusals (each leaves the log unchanged)', () => {
  async function base() {
    const g = await Group.create(alice, { members: [[bob, 'writer']] });
    await g.apply(await addMember(g.log, g.by(alice), carol, 'writer'), everyone);
    return g;
  }

  async function refused(g: Group, op: Uint8Array | Promise<Uint8Array>, code: string) {
    const before = g.state();
    assert.equal(await membershipErrorCode(g.log.append(await op)), code);
    assert.deepEqual(g.state(), before, `${code} changed the log`);
  }

  it('a non-admin\'s op', async () => {
    const g = await base();
    const rotate = await rotateEpoch(g.log, g.by(alice));
    await refused(g, resign(rotate, bob), 'not-admin');
    await assert.rejects(rotateEpoch(g.log, g.by(bob)), { code: 'not-admin' });
  });

  it('a forged signature, a reordered op, a duplicated op', async () => {
    const g = await base();
    const op1 = await rotateEpoch(g.log, g.by(alice));
    await refused(g, flipBit(op1, op1.length * 8 - 3), 'bad-signature');
    await refused(g, resign(op1, bob, alice.memberId), 'bad-signature');
    await g.apply(op1, everyone);
    const op2 = await rotateEpoch(g.log, g.by(alice));
    await refused(g, g.log.ops()[1]!, 'duplicate');
    const ops = [...g.log.ops(), op2];
    assert.equal(await membershipErrorCode(MembershipLog.fromOps([ops[0]!, ops[1]!, ops[3]!, ops[2]!])), 'unknown-predecessor');
    assert.equal(await membershipErrorCode(MembershipLog.fromOps([ops[0]!, ops[1]!, ops[1]!])), 'duplicate');
  });

  it('a truncated log or op', async () => {
    const g = await base();
    const ops = g.log.ops();
    assert.equal(await membershipErrorCode(MembershipLog.fromOps(ops.slice(1))), 'not-genesis');
    assert.equal(await membershipErrorCode(MembershipLog.fromOps([])), 'not-genesis');
    assert.equal(await membershipErrorCode(MembershipLog.fromOps(ops.slice(0, 1), { expectedHead: g.log.head })), 'truncated');
    await refused(g, (await rotateEpoch(g.log, g.by(alice))).subarray(0, 200), 'malformed');
  });

  it('a log with a rewritten past: refused by verification and detected as a fork', async () => {
    const g = await base();
    await g.apply(await rotateEpoch(g.log, g.by(alice)), everyone);
    const ops = g.log.ops();
    // Alice rewrites op 1 (adds Dave instead of Carol) and keeps the rest.
    const genesis = await MembershipLog.fromOps([ops[0]!]);
    await unlockEpochSecrets(genesis, alice, new Keyring());
    const rewritten = await addMember(genesis, { signer: alice, keyring: g.keyring(alice) }, dave, 'writer');
    assert.equal(await membershipErrorCode(MembershipLog.fromOps([ops[0]!, rewritten, ops[2]!])), 'unknown-predecessor');
    // A client that has seen the original refuses the rewrite and names both ops.
    const error = await MembershipLog.fromOps(ops).then((seen) => seen.sync([ops[0]!, rewritten]).catch((e: unknown) => e));
    assert.ok(error instanceof MembershipError && error.code === 'fork');
    assert.deepEqual(error.ops, [toHex(opHash(rewritten)), toHex(opHash(ops[1]!))]);
  });

  it('the last admin cannot be removed or demoted, by the builders or by a crafted op', async () => {
    const g = await base();
    await assert.rejects(removeMember(g.log, g.by(alice), alice.memberId, null), { code: 'last-admin' });
    await assert.rejects(setMemberRole(g.log, g.by(alice), alice.memberId, 'writer'), { code: 'last-admin' });
    const cutoffNone = new Uint8Array(8);
    // commitment, lineage flag and lineage, two wraps (for Bob and Carol): well formed, but junk.
    const keys = new Uint8Array(32 + 1 + 48 + 4 + 2 * 80);
    keys[32] = 1;
    keys[32 + 1 + 48 + 3] = 2;
    await refused(g, rawOp({ type: 'remove', groupId: g.log.groupId, prev: g.log.head, epoch: g.log.epoch + 1, signer: alice, body: new Uint8Array([...alice.memberId, ...cutoffNone]), keys }), 'last-admin');
    await refused(g, rawOp({ type: 'set-role', groupId: g.log.groupId, prev: g.log.head, epoch: g.log.epoch, signer: alice, body: new Uint8Array([...alice.memberId, 2, 0]) }), 'last-admin');
    // With a second admin, the first may step down.
    await g.apply(await setMemberRole(g.log, g.by(alice), bob.memberId, 'admin'), everyone);
    await g.apply(await setMemberRole(g.log, g.by(bob), alice.memberId, 'writer'), everyone);
    assert.equal(g.log.member(alice.memberId)?.role, 'writer');
  });

  it('a member leaves: its own removal, signed by it whatever its role, rotates; it removes no one else; the last admin cannot leave', async () => {
    const g = await base();
    // A writer removing another member is still refused, by the builder and by a verifier.
    await assert.rejects(removeMember(g.log, g.by(bob), carol.memberId, null), { code: 'not-admin' });
    await refused(g, resign(await removeMember(g.log, g.by(alice), carol.memberId, null), bob), 'not-admin');
    const epoch = g.log.epoch;
    const leave = await removeMember(g.log, g.by(bob), bob.memberId, null);
    await g.apply(leave, everyone);
    assert.equal(g.log.member(bob.memberId), undefined);
    assert.equal(g.log.epoch, epoch + 1);
    assert.equal(isLeave(g.log.opAt(g.log.length - 1)), true);
    assert.equal(isLeave(g.log.opAt(1)), false);
    // The leaver made the new secret: its keyring does not keep it, but a leaver that lies could
    // have; an admin's rotation gives the others one it never had.
    assert.equal(g.secret(bob, epoch + 1), undefined);
    assert.equal(g.secret(alice, epoch + 1), g.secret(carol, epoch + 1));
    await g.apply(await rotateEpoch(g.log, g.by(alice)), everyone);
    assert.equal(g.secret(bob, epoch + 2), undefined);
    assert.equal(g.secret(alice, epoch + 2), g.secret(carol, epoch + 2));
    // Another copy of the log verifies the leave as it was signed.
    assert.equal((await MembershipLog.fromOps(g.log.ops())).member(bob.memberId), undefined);
    await assert.rejects(removeMember(g.log, g.by(alice), alice.memberId, null), { code: 'last-admin' });
  });

  it('a genesis under someone else\'s group id is refused', async () => {
    const g = await base();
    const mallory = testIdentity('mallory');
    const genesis = g.log.ops()[0]!;
    // Mallory copies Alice's create op but makes himself the creating admin and signs it.
    const body = genesis.slice(94, genesis.length - 64);
    const forged = await rawOp({ type: 'create', groupId: g.log.groupId, prev: new Uint8Array(32), epoch: 0, signer: mallory, body: body.subarray(0, 1 + 16 + 4), keys: new Uint8Array(0) });
    assert.equal(await membershipErrorCode(MembershipLog.fromOps([forged])), 'malformed', 'a body cut short');
    const members = new Uint8Array([...mallory.signingPublicKey, ...mallory.agreementPublicKey, 1]);
    const oneMember = new Uint8Array([...body.subarray(0, 1 + 16), 0, 0, 0, 1, ...members]);
    const keys = new Uint8Array(32 + 1 + 4 + 80);
    keys[32 + 1 + 3] = 1;
    const op = await rawOp({ type: 'create', groupId: g.log.groupId, prev: new Uint8Array(32), epoch: 0, signer: mallory, body: oneMember, keys });
    assert.equal(await membershipErrorCode(MembershipLog.fromOps([op])), 'wrong-group');
  });

  it('wrong epochs, wrong groups, members twice, strangers, missing wraps, low-order keys', async () => {
    const g = await base();
    const rotate = await rotateEpoch(g.log, g.by(alice));
    const other = await Group.create(alice);
    assert.equal(await membershipErrorCode(other.log.append(rotate)), 'wrong-group');
    await refused(g, rawOp({ type: 'rotate', groupId: g.log.groupId, prev: g.log.head, epoch: g.log.epoch + 2, signer: alice, body: new Uint8Array(0), keys: readKeys(rotate) }), 'bad-epoch');
    await refused(g, rawOp({ type: 'rotate', groupId: g.log.groupId, prev: g.log.head, epoch: g.log.epoch + 1, signer: alice, body: new Uint8Array(0), keys: readKeys(rotate).subarray(0, readKeys(rotate).length - 80) }), 'malformed');
    await assert.rejects(addMember(g.log, g.by(alice), bob, 'writer'), { code: 'already-member' });
    await assert.rejects(removeMember(g.log, g.by(alice), dave.memberId, null), { code: 'not-a-member' });
    await assert.rejects(setMemberRole(g.log, g.by(alice), bob.memberId, 'reader'), { code: 'malformed' }, 'a demotion needs its cutoff');
    await assert.rejects(addMember(g.log, g.by(alice), { signingPublicKey: dave.signingPublicKey, agreementPublicKey: new Uint8Array(32) }, 'writer'), { code: 'bad-key' });
    await assert.rejects(rotateEpoch(g.log, { signer: alice, keyring: new Keyring() }), { code: 'missing-secret' });
  });

  it('a cheating admin who wraps a different secret to one member is caught by that member', async () => {
    const g = await base();
    const honest = await rotateEpoch(g.log, g.by(alice));
    const keys = readKeys(honest);
    // Replace Bob's wrap with a wrap of another secret, keep the commitment, sign again.
    const sorted = g.log.members().map((m) => toHex(m.memberId));
    const position = sorted.indexOf(toHex(bob.memberId));
    const info = new Uint8Array([...utf8('sealdoc/v1/epoch-wrap'), ...g.log.groupId, 0, 0, 0, g.log.epoch + 1, ...bob.memberId]);
    const fake = await hpkeSeal(bob.agreementPublicKey, new Uint8Array(32).fill(1), { info });
    const wrapsStart = keys.length - sorted.length * 80;
    keys.set([...fake.enc, ...fake.ciphertext], wrapsStart + position * 80);
    const cheat = await rawOp({ type: 'rotate', groupId: g.log.groupId, prev: g.log.head, epoch: g.log.epoch + 1, signer: alice, body: new Uint8Array(0), keys });
    await g.log.append(cheat);
    await unlockEpochSecrets(g.log, carol, g.keyring(carol));
    assert.equal(await membershipErrorCode(unlockEpochSecrets(g.log, bob, g.keyring(bob))), 'bad-secret');
    assert.equal(g.keyring(bob).has(g.log.groupId, g.log.epoch), false);
  });

  it('exhaustive bit-flip test on one serialized op', async () => {
    const g = await base();
    const op = await addMember(g.log, g.by(alice), dave, 'writer');
    const before = g.state();
    const codes = new Set<string>();
    for (let bit = 0; bit < op.length * 8; bit++) codes.add(await membershipErrorCode(g.log.append(flipBit(op, bit))));
    assert.deepEqual(g.state(), before);
    for (const code of ['unsupported-version', 'malformed', 'wrong-group', 'unknown-predecessor', 'not-admin', 'bad-signature'])
      assert.ok(codes.has(code), `no flip produced ${code}: ${[...codes]}`);
    await g.log.append(op);
  });
});

/** The keys block of a key-changing op: everything between its body and its signature. */
function readKeys(op: Uint8Array): Uint8Array {
  // rotate ops have an empty body: the header is 94 bytes.
  return op.slice(94, op.length - 64);
}

describe('concurrency', () => {
  it('a stale op is refused naming both, rebased, and then everyone converges', async () => {
    const g = await Group.create(alice, { members: [[bob, 'admin'], [carol, 'writer']] });
    const fromAlice = await addMember(g.log, g.by(alice), dave, 'writer');
    const fromBob = await removeMember(g.log, g.by(bob), carol.memberId, null);
    await g.apply(fromAlice, everyone);
    const error = await g.log.append(fromBob).catch((e: unknown) => e);
    assert.ok(error instanceof MembershipError && error.code === 'stale-head');
    assert.deepEqual(error.ops, [toHex(opHash(fromBob)), toHex(opHash(fromAlice))]);
    const rebased = await rebaseOp(fromBob, g.log, g.by(bob));
    assert.equal(readMembershipOp(rebased).epoch, g.log.epoch + 1);
    await g.apply(rebased, everyone);
    assert.deepEqual(g.log.members().map((m) => toHex(m.memberId)).sort(), [alice, bob, dave].map((m) => toHex(m.memberId)).sort());
    assert.equal(g.secret(alice, g.log.epoch), g.secret(dave, g.log.epoch));
    assert.equal(g.secret(carol, g.log.epoch), undefined);
  });

  it('a rebase whose intent no longer applies is a typed error', async () => {
    const g = await Group.create(alice, { members: [[bob, 'admin'], [carol, 'writer']] });
    const fromAlice = await removeMember(g.log, g.by(alice), carol.memberId, null);
    const fromBob = await removeMember(g.log, g.by(bob), carol.memberId, null);
    await g.apply(fromAlice, everyone);
    assert.equal(await membershipErrorCode(rebaseOp(fromBob, g.log, g.by(bob))), 'not-a-member');
  });

  it('sync extends, ignores what it has, and refuses a gap', async () => {
    const g = await Group.create(alice, { members: [[bob, 'writer']] });
    await g.apply(await rotateEpoch(g.log, g.by(alice)), everyone);
    await g.apply(await rotateEpoch(g.log, g.by(alice)), everyone);
    const ops = g.log.ops();
    const copy = await MembershipLog.fromOps(ops.slice(0, 1));
    assert.equal(await copy.sync(ops.slice(1), 1), 2);
    assert.equal(await copy.sync(ops), 0);
    assert.equal(await membershipErrorCode(copy.sync(ops, 5)), 'unknown-predecessor');
  });
});

describe('history setting and recovery', () => {
  async function story(history: HistoryAccess) {
    const g = await Group.create(alice, { history });
    const by = () => g.by(alice);
    await g.apply(await addMember(g.log, by(), bob, 'writer'), everyone); // e1
    await g.apply(await addMember(g.log, by(), carol, 'writer'), everyone); // e2
    await g.apply(await removeMember(g.log, by(), bob.memberId, null), everyone); // e3
    await g.apply(await rotateEpoch(g.log, by()), everyone); // e4
    await g.apply(await addMember(g.log, by(), bob, 'writer'), everyone); // e5
    await g.apply(await removeMember(g.log, by(), carol.memberId, null), everyone); // e6
    return g;
  }

  for (const [history, bobEpochs, carolEpochs] of [
    ['since-join', [1, 2, 5, 6], [2, 3, 4, 5]],
    ['all', [0, 1, 2, 3, 4, 5, 6], [0, 1, 2, 3, 4, 5]],
  ] as const) {
    it(`${history}: each identity holds exactly the epochs it is entitled to, and a fresh device recovers the same`, async () => {
      const g = await story(history);
      assert.deepEqual(g.epochsOf(alice), [0, 1, 2, 3, 4, 5, 6]);
      assert.deepEqual(g.epochsOf(bob), bobEpochs);
      assert.deepEqual(g.epochsOf(carol), carolEpochs);
      for (const id of [alice, bob, carol]) {
        const fresh = new Keyring();
        const log = await MembershipLog.fromOps(g.log.ops());
        await unlockEpochSecrets(log, id, fresh);
        assert.deepEqual(fresh.epochs(log.groupId), g.epochsOf(id));
        for (const epoch of fresh.epochs(log.groupId)) assert.equal(toHex(fresh._secret(log.groupId, epoch)!), g.secret(alice, epoch));
      }
      const stranger = new Keyring();
      assert.deepEqual(await unlockEpochSecrets(g.log, dave, stranger), []);
    });
  }
});

describe('rotation policy', () => {
  it('is due by age or by envelopes, with configurable thresholds', async () => {
    const g = await Group.create(alice);
    const start = g.log.epochStartedAt;
    assert.equal(start, 1_000);
    assert.deepEqual(rotationDue(g.log, { now: start + 1000, envelopesInEpoch: 10 }), { due: false });
    assert.deepEqual(rotationDue(g.log, { now: start + 8 * 86_400_000, envelopesInEpoch: 10 }), { due: true, reason: 'age' });
    assert.deepEqual(rotationDue(g.log, { now: start, envelopesInEpoch: 100_000 }), { due: true, reason: 'envelopes' });
    assert.deepEqual(rotationDue(g.log, { now: start + 61_000, envelopesInEpoch: 0 }, { maxEpochAgeMs: 60_000 }), { due: true, reason: 'age' });
    assert.deepEqual(rotationDue(g.log, { now: start - 500, envelopesInEpoch: 0 }), { due: false }, 'a clock behind is not an error');
    await g.apply(await rotateEpoch(g.log, g.by(alice, 9_999)), everyone);
    assert.equal(g.log.epochStartedAt, 9_999);
    await g.apply(await addMember(g.log, g.by(alice, 12_000), bob, 'reader'), everyone);
    await g.apply(await setMemberRole(g.log, g.by(alice, 13_000), bob.memberId, 'writer'), everyone);
    assert.equal(g.log.epochStartedAt, 12_000, 'set-role starts no epoch');
  });
});
