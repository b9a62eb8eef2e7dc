// npm run bench:groups [-- --json]
// Removing one member from groups of 10 to 10,000: the admin's time to build the op (one
// HPKE wrap per remaining member), a receiver's time to verify, apply and unwrap it, and the
// op's size, with WebCrypto X25519/Ed25519 against @noble. See docs/performance.md.
import {
  createGroup,
  generateMnemonic,
  identityFromMnemonic,
  Keyring,
  MembershipLog,
  removeMember,
  unlockEpochSecrets,
  useCryptoBackend,
  type MemberKeys,
} from '@sealdoc/crypto';
import { report, type Row } from './harness.js';

const SIZES = (process.env.BENCH_GROUP_SIZES ?? '10,100,1000,10000').split(',').map(Number);
const IMPLS = ['webcrypto', 'noble'] as const;

/** Public keys for members whose secrets the benchmark never needs, made fast with WebCrypto. */
async function randomMemberKeys(): Promise<MemberKeys> {
  const s = crypto.subtle;
  const ed = (await s.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const x = (await s.generateKey({ name: 'X25519' }, true, ['deriveBits'])) as CryptoKeyPair;
  return {
    signingPublicKey: new Uint8Array(await s.exportKey('raw', ed.publicKey)),
    agreementPublicKey: new Uint8Array(await s.exportKey('raw', x.publicKey)),
  };
}

const admin = identityFromMnemonic(generateMnemonic());
const receiver = identityFromMnemonic(generateMnemonic());
const rows: Row[] = [];
for (const members of SIZES) {
  useCryptoBackend('auto');
  const others = await Promise.all(Array.from({ length: members - 3 }, randomMemberKeys));
  const leaving = await randomMemberKeys();
  const create = await createGroup(admin, {
    members: [{ keys: receiver, role: 'writer' }, { keys: leaving, role: 'writer' }, ...others.map((keys) => ({ keys, role: 'writer' as const }))],
  });
  const leavingId = (await MembershipLog.fromOps([create])).members().find((m) => m.signingPublicKey.every((b, i) => b === leaving.signingPublicKey[i]))!.memberId;
  const byImpl: Record<string, Row> = {};
  for (const impl of IMPLS) {
    useCryptoBackend(impl);
    const adminLog = await MembershipLog.fromOps([create]);
    const adminKeys = new Keyring();
    await unlockEpochSecrets(adminLog, admin, adminKeys);
    const receiverLog = await MembershipLog.fromOps([create]);
    const receiverKeys = new Keyring();
    await unlockEpochSecrets(receiverLog, receiver, receiverKeys);

    // The median of three builds (one where a build takes tens of seconds).
    const times: number[] = [];
    let op: Uint8Array = new Uint8Array(0);
    for (let run = 0; run < (impl === 'noble' && members >= 5000 ? 1 : 3); run++) {
      const start = performance.now();
      op = await removeMember(adminLog, { admin, keyring: adminKeys }, leavingId, null);
      times.push(performance.now() - start);
    }
    const senderMs = times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    const t = performance.now();
    await receiverLog.append(op);
    const added = await unlockEpochSecrets(receiverLog, receiver, receiverKeys);
    const receiverMs = performance.now() - t;
    if (added.join() !== '1') throw new Error(`the receiver unlocked ${added.join()} instead of epoch 1`);
    const remaining = members - 1;
    byImpl[impl] = {
      name: `remove ${members} ${impl}`,
      ratio: 1,
      baseline: 'noble',
      op: 'remove',
      members,
      impl,
      sender_ms: senderMs,
      receiver_ms: receiverMs,
      bytes: op.length,
      bytes_per_member: op.length / remaining,
    };
  }
  useCryptoBackend('auto');
  // ratio: how many times faster the WebCrypto path builds the op than noble.
  byImpl.webcrypto!.ratio = (byImpl.noble!.sender_ms as number) / (byImpl.webcrypto!.sender_ms as number);
  rows.push(byImpl.webcrypto!, byImpl.noble!);
}
report('Remove one member (ratio = noble sender time / this sender time)', rows);
