// Shared by the wrap pool's tests in Chromium (Web Workers) and in Node (worker_threads): a
// group, its admin's side, a removal, and the check that every backend unwraps what it wraps.
import assert from 'node:assert/strict';
import { createGroup, Keyring, MembershipLog, newDeviceKeys, removeMember, unlockEpochSecrets, useCryptoBackend, WrapWorkerError, type Identity } from '@sealdoc/crypto';
import { _wrapWorkers } from '../dist/wrap-pool.js';

export interface Group {
  admin: Identity;
  members: Identity[];
  create: Uint8Array;
}

export async function makeGroup(size: number): Promise<Group> {
  const admin = newDeviceKeys();
  const members = Array.from({ length: size - 1 }, newDeviceKeys);
  const create = await createGroup(admin, { members: members.map((keys) => ({ keys, role: 'writer' as const })) });
  return { admin, members, create };
}

/** The admin's log and keyring after the create op. */
export async function adminSide(g: Group): Promise<{ log: MembershipLog; keyring: Keyring }> {
  const log = await MembershipLog.fromOps([g.create]);
  const keyring = new Keyring();
  await unlockEpochSecrets(log, g.admin, keyring);
  return { log, keyring };
}

/** Removes the first member; returns the op. */
export async function removeFirst(g: Group): Promise<Uint8Array> {
  const { log, keyring } = await adminSide(g);
  return removeMember(log, { signer: g.admin, keyring }, g.members[0]!.memberId, null);
}

/** Verifies `op` after the create op and unwraps epoch 1 for a sample of members under `backend`: all get the same secret; the removed one none. */
export async function checkUnwraps(g: Group, op: Uint8Array, backend: 'auto' | 'webcrypto' | 'noble'): Promise<void> {
  useCryptoBackend(backend);
  try {
    const log = await MembershipLog.fromOps([g.create, op]);
    const secrets = new Set<string>();
    for (const member of [g.members[1]!, g.members[Math.floor(g.members.length / 2)]!, g.members.at(-1)!, g.admin]) {
      const keyring = new Keyring();
      assert.deepEqual(await unlockEpochSecrets(log, member, keyring), [0, 1]);
      secrets.add(keyring._secret(log.groupId, 1)!.join());
    }
    assert.equal(secrets.size, 1);
    const removed = new Keyring();
    assert.deepEqual(await unlockEpochSecrets(log, g.members[0]!, removed), [0]);
  } finally {
    useCryptoBackend('auto');
  }
}

/**
 * A worker lost mid-op, on either platform: once the pool is up, an op is started and `kill`
 * ends one of its workers; the op fails with WrapWorkerError `code`, one failure is counted,
 * nothing is built (the log's head and epoch unchanged), the next op is made and unwraps, and
 * the pool is back to `poolSize` workers.
 */
export async function workerLostMidOp(g: Group, kill: () => unknown, code: 'worker-failed' | 'worker-timeout', poolSize: number): Promise<void> {
  await removeFirst(g); // the pool is up
  const { log, keyring } = await adminSide(g);
  const head = log.head;
  const failures = _wrapWorkers().failures;
  const building = removeMember(log, { signer: g.admin, keyring }, g.members[0]!.memberId, null);
  await new Promise((resolve) => setTimeout(resolve, 0));
  await kill();
  await assert.rejects(building, (error: unknown) => error instanceof WrapWorkerError && error.code === code);
  assert.equal(_wrapWorkers().failures, failures + 1);
  assert.deepEqual(log.head, head);
  assert.equal(log.epoch, 0);

  const ops = _wrapWorkers().ops;
  const op = await removeMember(log, { signer: g.admin, keyring }, g.members[0]!.memberId, null);
  assert.equal(_wrapWorkers().ops, ops + 1);
  // A page's op waits for its workers; in Node the calling thread starts without them and the
  // replacement joins once it is up (perhaps after this op): either way the pool is full again.
  for (const until = Date.now() + 10_000; _wrapWorkers().workers.length < poolSize && Date.now() < until; ) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(_wrapWorkers().workers.length, poolSize);
  await checkUnwraps(g, op, 'auto');
}
