// The measurement behind `npm run bench:groups`, identical in Node and in Chromium: remove one
// member from a group of each size, with WebCrypto and with @noble.
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

export interface RemovalFigures {
  members: number;
  impl: 'webcrypto' | 'noble';
  sender_ms: number;
  receiver_ms: number;
  bytes: number;
  bytes_per_member: number;
}

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

export async function measureRemovals(sizes: readonly number[]): Promise<RemovalFigures[]> {
  const admin = identityFromMnemonic(generateMnemonic());
  const receiver = identityFromMnemonic(generateMnemonic());
  const out: RemovalFigures[] = [];
  for (const members of sizes) {
    useCryptoBackend('auto');
    const others = await Promise.all(Array.from({ length: members - 3 }, randomMemberKeys));
    const leaving = await randomMemberKeys();
    const create = await createGroup(admin, {
      members: [{ keys: receiver, role: 'writer' }, { keys: leaving, role: 'writer' }, ...others.map((keys) => ({ keys, role: 'writer' as const }))],
    });
    const leavingId = (await MembershipLog.fromOps([create])).members().find((m) => m.signingPublicKey.every((b, i) => b === leaving.signingPublicKey[i]))!.memberId;
    for (const impl of ['webcrypto', 'noble'] as const) {
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
        op = await removeMember(adminLog, { signer: admin, keyring: adminKeys }, leavingId, null);
        times.push(performance.now() - start);
      }
      const start = performance.now();
      await receiverLog.append(op);
      const added = await unlockEpochSecrets(receiverLog, receiver, receiverKeys);
      const receiverMs = performance.now() - start;
      if (added.join() !== '1') throw new Error(`the receiver unlocked ${added.join()} instead of epoch 1`);
      out.push({
        members,
        impl,
        sender_ms: times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!,
        receiver_ms: receiverMs,
        bytes: op.length,
        bytes_per_member: op.length / (members - 1),
      });
    }
  }
  useCryptoBackend('auto');
  return out;
}
