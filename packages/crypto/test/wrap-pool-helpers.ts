// Shared by the wrap pool's tests in Chromium (Web Workers) and in Node (worker_threads): a
// group, its admin's side, a removal, and the check that every backend unwraps what it wraps.
import assert from 'node:assert/strict';
import { createGroup, Keyring, MembershipLog, newDeviceKeys, removeMember, unlockEpochSecrets, useCryptoBackend, type Identity } from '@sealdoc/crypto';

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

