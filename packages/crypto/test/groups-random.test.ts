// Randomized membership: random adds, removes, role changes, rotations and concurrent admins
// over a pool of identities. After every step, every current member derives the same epoch
// secret and no one else can. Fixed seeds; SEALDOC_LONG=1 runs many more.
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
  rebaseOp,
  removeMember,
  rotateEpoch,
  sealEnvelope,
  setMemberRole,
  unlockEpochSecrets,
  type MemberRole,
} from '@sealdoc/crypto';
import { envelopeErrorCode, prng, testIdentity, toHex, utf8 } from './helpers.js';

const LONG = typeof process !== 'undefined' && process.env?.SEALDOC_LONG === '1';
const SEEDS = LONG ? Array.from({ length: 20 }, (_, i) => 1000 + i) : [1, 2, 3];
const STEPS = LONG ? 150 : 40;
const POOL = Array.from({ length: 24 }, (_, i) => testIdentity(`member-${i}`));
const ROLES: MemberRole[] = ['admin', 'writer', 'reader'];

async function run(seed: number): Promise<void> {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const keyrings = new Map(POOL.map((id) => [toHex(id.memberId), new Keyring()]));
  const keyringOf = (id: Identity) => keyrings.get(toHex(id.memberId))!;
  const byId = new Map(POOL.map((id) => [toHex(id.memberId), id]));
  const founder = POOL[0]!;
  const log = await MembershipLog.fromOps([await createGroup(founder, { history: random() < 0.5 ? 'all' : 'since-join' })]);
  await unlockEpochSecrets(log, founder, keyringOf(founder));
  const everRemoved = new Set<string>();
  const docId = new Uint8Array(16).fill(seed & 255);
  let seq = 0;

  const members = () => log.members();
  const admins = () => members().filter((m) => m.role === 'admin').map((m) => byId.get(toHex(m.memberId))!);
  const by = (admin: Identity) => ({ signer: admin, keyring: keyringOf(admin), now: 1_000_000 + log.length });

  /** One random op by a random admin, built on the log as it is; undefined if none applies. */
  async function randomOp(admin: Identity): Promise<Uint8Array | undefined> {
    const current = members();
    const outsiders = POOL.filter((id) => !log.member(id.memberId));
    const kind = pick(['add', 'add', 'remove', 'set-role', 'rotate'] as const);
    try {
      if (kind === 'add' && outsiders.length > 0) return await addMember(log, by(admin), pick(outsiders), pick(ROLES));
      if (kind === 'remove' && current.length > 1) {
        const target = pick(current);
        return await removeMember(log, by(admin), target.memberId, random() < 0.3 ? null : Math.floor(random() * 50));
      }
      if (kind === 'set-role') {
        const target = pick(current);
        const role = pick(ROLES);
        const demotion = role === 'reader' && target.role !== 'reader';
        return await setMemberRole(log, by(admin), target.memberId, role, demotion ? Math.floor(random() * 50) : undefined);
      }
      return await rotateEpoch(log, by(admin));
    } catch (error) {
      // The builder refused a change the rules forbid (the last admin): a typed error, fine.
      if (error instanceof MembershipError && error.code === 'last-admin') return undefined;
      throw error;
    }
  }

  for (let step = 0; step < STEPS; step++) {
    const before = new Set(members().map((m) => toHex(m.memberId)));
    const first = await randomOp(pick(admins()));
    if (!first) continue;
    // Sometimes a second admin acts on the same head at the same time.
    const secondAuthor = admins().length > 1 && random() < 0.3 ? pick(admins()) : undefined;
    const second = secondAuthor && (await randomOp(secondAuthor));
    await log.append(first);
    if (second) {
      const error = await log.append(second).catch((e: unknown) => e);
      // The same admin may have built the very same op (a role change carries no randomness).
      const expected = toHex(second) === toHex(first) ? 'duplicate' : 'stale-head';
      assert.ok(error instanceof MembershipError && error.code === expected, `seed ${seed} step ${step}: ${String(error)}`);
      if (expected === 'stale-head' && log.member(secondAuthor!.memberId)?.role === 'admin') {
        const rebased = await rebaseOp(second, log, by(secondAuthor!)).catch((e: unknown) => e);
        if (rebased instanceof Uint8Array) await log.append(rebased);
        else assert.ok(rebased instanceof MembershipError, String(rebased));
      }
    }
    for (const id of before) if (!log.member(byId.get(id)!.memberId)) everRemoved.add(id);
    for (const id of POOL) await unlockEpochSecrets(log, id, keyringOf(id));

    const epoch = log.epoch;
    const inside = members().map((m) => byId.get(toHex(m.memberId))!);
    const secrets = new Set(inside.map((id) => keyringOf(id)._secret(log.groupId, epoch)).map((s) => (s ? toHex(s) : 'missing')));
    assert.equal(secrets.size, 1, `seed ${seed} step ${step}: members disagree on epoch ${epoch}`);
    assert.ok(!secrets.has('missing'), `seed ${seed} step ${step}: a member lacks epoch ${epoch}`);
    for (const id of POOL.filter((p) => !log.member(p.memberId)))
      assert.equal(keyringOf(id).has(log.groupId, epoch), false, `seed ${seed} step ${step}: an outsider holds epoch ${epoch}`);

    // A writer's envelope opens for every member and for no outsider.
    const writers = inside.filter((id) => log.member(id.memberId)!.role !== 'reader');
    if (writers.length > 0 && step % 5 === 0) {
      const author = pick(writers);
      const envelope = await sealEnvelope({ kind: 'update', groupId: log.groupId, docId, epoch, seq: seq++, head: log.head, author, keyring: keyringOf(author), plaintext: utf8(`step ${step}`) });
      for (const id of inside) await openEnvelope(envelope, log.envelopeContext(keyringOf(id)));
      for (const id of everRemoved) {
        if (log.member(byId.get(id)!.memberId)) continue;
        assert.equal(await envelopeErrorCode(openEnvelope(envelope, log.envelopeContext(keyrings.get(id)!))), 'unknown-epoch');
      }
    }
  }
  // A verifier starting from nothing reaches the same state.
  const replay = await MembershipLog.fromOps(log.ops());
  assert.equal(toHex(replay.head), toHex(log.head));
  assert.ok(log.length > STEPS / 2, `seed ${seed}: only ${log.length} ops`);
}

describe('randomized membership (fixed seeds)', () => {
  for (const seed of SEEDS) it(`seed ${seed}: ${STEPS} steps over ${POOL.length} identities`, () => run(seed));
});
