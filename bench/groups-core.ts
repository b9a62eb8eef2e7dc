// The measurements behind `npm run bench:groups`, identical in Node and in Chromium: remove one
// member from a group of each size (the default path, WebCrypto, @noble); and revoke one device in a
// group of persons with several devices, beside a removal in a single-device group.
import {
  certifyDevice,
  createGroup,
  generateMnemonic,
  identityFromMnemonic,
  Keyring,
  MembershipLog,
  newDeviceKeys,
  removeMember,
  requestDeviceCertificate,
  revokeDevice,
  unlockEpochSecrets,
  useCryptoBackend,
  type CertifiedDevice,
  type Identity,
  type MemberKeys,
} from '@sealdoc/crypto';
import { _configureWrapWorkers } from '../packages/crypto/dist/wrap-pool.js';

/**
 * How the wraps are built: `auto` is what an app gets (Node: native crypto, the ephemeral keys
 * made ahead on the thread pool, large ops over worker threads; browsers: WebCrypto, large ops
 * over Web Workers); `auto-no-workers` the same without the wrap workers.
 */
export type RemovalImpl = 'auto' | 'auto-no-workers' | 'webcrypto' | 'noble';

export interface RemovalFigures {
  members: number;
  /** native (node:crypto), webcrypto or noble; `no workers`: without the wrap workers. */
  impl: 'native' | 'native, no workers' | 'webcrypto' | 'webcrypto, no workers' | 'noble';
  runs: number;
  /** Median of the runs. */
  sender_ms: number;
  sender_min_ms: number;
  sender_max_ms: number;
  /** The first build of the group (the first, still cold). */
  first_ms: number;
  receiver_ms: number;
  bytes: number;
  bytes_per_member: number;
}

const median = (times: number[]) => [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

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

/**
 * Removing one member from a group of each size: `runs` builds by the admin for each way of
 * building, the ways taking turns build by build (the median is the figure; one run for @noble
 * from 5,000 members, where a build takes tens of seconds), then a receiver verifies, applies and
 * unwraps. In a browser `auto` is WebCrypto, so `webcrypto` is skipped there when `auto` is asked
 * for too.
 */
export async function measureRemovals(sizes: readonly number[], impls: readonly RemovalImpl[] = ['auto', 'webcrypto'], runs = 5): Promise<RemovalFigures[]> {
  const admin = identityFromMnemonic(generateMnemonic());
  const receiver = identityFromMnemonic(generateMnemonic());
  const out: RemovalFigures[] = [];
  const chosen = impls.filter((impl) => isNode || impl !== 'webcrypto' || !impls.includes('auto'));
  const use = (impl: RemovalImpl) => {
    useCryptoBackend(impl === 'auto-no-workers' ? 'auto' : impl);
    _configureWrapWorkers({ enabled: impl !== 'auto-no-workers' });
  };
  for (const members of sizes) {
    use('auto');
    const others = await Promise.all(Array.from({ length: members - 3 }, randomMemberKeys));
    const leaving = await randomMemberKeys();
    const create = await createGroup(admin, {
      members: [{ keys: receiver, role: 'writer' }, { keys: leaving, role: 'writer' }, ...others.map((keys) => ({ keys, role: 'writer' as const }))],
    });
    const leavingId = (await MembershipLog.fromOps([create])).members().find((m) => m.signingPublicKey.every((b, i) => b === leaving.signingPublicKey[i]))!.memberId;
    const sides = await Promise.all(
      chosen.map(async (impl) => {
        const adminLog = await MembershipLog.fromOps([create]);
        const adminKeys = new Keyring();
        await unlockEpochSecrets(adminLog, admin, adminKeys);
        return { impl, adminLog, adminKeys, runs: impl === 'noble' && members >= 5000 ? 1 : runs, times: [] as number[], op: new Uint8Array(0) as Uint8Array };
      }),
    );
    for (let run = 0; run < runs; run++) {
      for (const side of sides) {
        if (run >= side.runs) continue;
        use(side.impl);
        const start = performance.now();
        side.op = await removeMember(side.adminLog, { signer: admin, keyring: side.adminKeys }, leavingId, null);
        side.times.push(performance.now() - start);
      }
    }
    for (const { impl, times, op } of sides) {
      use(impl);
      const receiverLog = await MembershipLog.fromOps([create]);
      const receiverKeys = new Keyring();
      await unlockEpochSecrets(receiverLog, receiver, receiverKeys);
      const start = performance.now();
      await receiverLog.append(op);
      const added = await unlockEpochSecrets(receiverLog, receiver, receiverKeys);
      const receiverMs = performance.now() - start;
      if (added.join() !== '1') throw new Error(`the receiver unlocked ${added.join()} instead of epoch 1`);
      const platformDefault = isNode ? 'native' : 'webcrypto';
      out.push({
        members,
        impl: impl === 'auto' ? platformDefault : impl === 'auto-no-workers' ? `${platformDefault}, no workers` : impl,
        runs: times.length,
        sender_ms: median(times),
        sender_min_ms: Math.min(...times),
        sender_max_ms: Math.max(...times),
        first_ms: times[0]!,
        receiver_ms: receiverMs,
        bytes: op.length,
        bytes_per_member: op.length / (members - 1),
      });
    }
  }
  use('auto');
  return out;
}

/** One side of the device comparison: a removal in a group of single-device persons, or a device revocation in a group of persons with several devices. */
export interface RevocationFigures {
  op: 'remove' | 'revoke-device';
  members: number;
  /** Wrap recipients per person: its identity key plus its certified devices. */
  devices_per_member: number;
  /** Wraps in the op: one per device after it. */
  wraps: number;
  sender_ms: number;
  receiver_ms: number;
  bytes: number;
  bytes_per_device: number;
}

/** A person made of random keys (an Identity, so it can certify devices) with `extra` certified devices. */
async function personWithDevices(extra: number): Promise<{ person: Identity; devices: CertifiedDevice[] }> {
  const person = newDeviceKeys();
  const devices = await Promise.all(
    Array.from({ length: extra }, async (_, i) => {
      const keys = newDeviceKeys();
      const certificate = await certifyDevice(person, await requestDeviceCertificate(keys, person.memberId, `Device ${i + 1}`));
      return { keys, certificate, person };
    }),
  );
  return { person, devices };
}


/**
 * Revoking one device in a group of `members` persons with `devicesPerMember` wrap recipients
 * each (the identity key and devicesPerMember - 1 certified devices), beside removing one
 * member of a group of `members` single-device persons; WebCrypto, builds alternating, the
 * median of `runs` each. Setup (keys, certificates, the groups) is not timed.
 */
export async function measureRevocation(members = 1000, devicesPerMember = 3, runs = 3): Promise<RevocationFigures[]> {
  useCryptoBackend('webcrypto');
  try {
    // The single-device group: as measureRemovals builds it.
    const admin = identityFromMnemonic(generateMnemonic());
    const receiver = identityFromMnemonic(generateMnemonic());
    const others = await Promise.all(Array.from({ length: members - 3 }, randomMemberKeys));
    const leaving = await randomMemberKeys();
    const single = await createGroup(admin, {
      members: [{ keys: receiver, role: 'writer' }, { keys: leaving, role: 'writer' }, ...others.map((keys) => ({ keys, role: 'writer' as const }))],
    });
    const singleLog = await MembershipLog.fromOps([single]);
    const leavingId = singleLog.members().find((m) => m.signingPublicKey.every((b, i) => b === leaving.signingPublicKey[i]))!.memberId;
    const adminKeys = new Keyring();
    await unlockEpochSecrets(singleLog, admin, adminKeys);

    // The group of persons with devices: every person an Identity certifying its devices.
    const people = await Promise.all(Array.from({ length: members }, () => personWithDevices(devicesPerMember - 1)));
    const [creator, revoker, reader] = people as [(typeof people)[0], (typeof people)[0], (typeof people)[0]];
    const multi = await createGroup(creator.person, {
      creatorDevices: creator.devices.map((d) => d.certificate),
      members: people.slice(1).map((p) => ({ keys: p.person, role: 'writer' as const, devices: p.devices.map((d) => d.certificate) })),
    });
    const multiLog = await MembershipLog.fromOps([multi]);
    // A writer revokes its second device (lost) from its first.
    const [laptop, phone] = revoker.devices as [CertifiedDevice, CertifiedDevice];
    const laptopKeys = new Keyring();
    await unlockEpochSecrets(multiLog, laptop.keys, laptopKeys);

    const removeTimes: number[] = [];
    const revokeTimes: number[] = [];
    let removeOp: Uint8Array = new Uint8Array(0);
    let revokeOp: Uint8Array = new Uint8Array(0);
    for (let run = 0; run < runs; run++) {
      let start = performance.now();
      removeOp = await removeMember(singleLog, { signer: admin, keyring: adminKeys }, leavingId, null);
      removeTimes.push(performance.now() - start);
      start = performance.now();
      revokeOp = await revokeDevice(multiLog, { signer: laptop, keyring: laptopKeys }, phone.keys.memberId, null);
      revokeTimes.push(performance.now() - start);
    }

    // Receivers: a single-device member, and another person's certified device.
    const receiverMs = async (create: Uint8Array, op: Uint8Array, keys: Identity) => {
      const log = await MembershipLog.fromOps([create]);
      const keyring = new Keyring();
      await unlockEpochSecrets(log, keys, keyring);
      const start = performance.now();
      await log.append(op);
      const added = await unlockEpochSecrets(log, keys, keyring);
      const ms = performance.now() - start;
      if (added.join() !== '1') throw new Error(`the receiver unlocked ${added.join()} instead of epoch 1`);
      return ms;
    };
    const removeWraps = members - 1;
    const revokeWraps = members * devicesPerMember - 1;
    return [
      {
        op: 'remove',
        members,
        devices_per_member: 1,
        wraps: removeWraps,
        sender_ms: median(removeTimes),
        receiver_ms: await receiverMs(single, removeOp, receiver),
        bytes: removeOp.length,
        bytes_per_device: removeOp.length / removeWraps,
      },
      {
        op: 'revoke-device',
        members,
        devices_per_member: devicesPerMember,
        wraps: revokeWraps,
        sender_ms: median(revokeTimes),
        receiver_ms: await receiverMs(multi, revokeOp, reader.devices[0]!.keys),
        bytes: revokeOp.length,
        bytes_per_device: revokeOp.length / revokeWraps,
      },
    ];
  } finally {
    useCryptoBackend('auto');
  }
}

/** A floor: the platform's X25519 alone for `members` wraps, no HKDF, no AEAD, no op. */
export interface FloorFigures {
  members: number;
  what: string;
  runs: number;
  ms: number;
  min_ms: number;
}

const X25519_FLOOR_WORKER = `
const s = crypto.subtle;
let keys = [];
onmessage = async ({ data }) => {
  if (data.publicKeys) {
    keys = await Promise.all(data.publicKeys.map((p) => s.importKey('raw', p, { name: 'X25519' }, true, [])));
    return postMessage('ready');
  }
  await Promise.all(keys.slice(0, data.count).map(async (pub) => {
    const pair = await s.generateKey({ name: 'X25519' }, false, ['deriveBits']);
    await s.exportKey('raw', pair.publicKey);
    await s.deriveBits({ name: 'X25519', public: pub }, pair.privateKey, 256);
  }));
  postMessage('done');
};`;

/**
 * What RFC 9180's Encap needs per recipient on WebCrypto, and nothing else: generateKey,
 * exportKey (enc) and deriveBits for `members` recipients (their public keys imported
 * beforehand), all in flight on the calling thread; in a browser also split over 2 Web Workers.
 * The median of `runs`.
 */
export async function measureX25519Floor(sizes: readonly number[], runs = 5): Promise<FloorFigures[]> {
  const s = crypto.subtle;
  const out: FloorFigures[] = [];
  for (const members of sizes) {
    const raw = await Promise.all(Array.from({ length: members }, async () => (await randomMemberKeys()).agreementPublicKey));
    const publicKeys = await Promise.all(raw.map((p) => s.importKey('raw', p as Uint8Array<ArrayBuffer>, { name: 'X25519' }, true, [])));
    const time = async (what: string, fn: () => Promise<unknown>) => {
      const times: number[] = [];
      for (let run = 0; run < runs; run++) {
        const start = performance.now();
        await fn();
        times.push(performance.now() - start);
      }
      out.push({ members, what, runs, ms: median(times), min_ms: Math.min(...times) });
    };
    await time('webcrypto generateKey+exportKey+deriveBits, all in flight', () =>
      Promise.all(
        publicKeys.map(async (pub) => {
          const pair = (await s.generateKey({ name: 'X25519' }, false, ['deriveBits'])) as CryptoKeyPair;
          await s.exportKey('raw', pair.publicKey);
          await s.deriveBits({ name: 'X25519', public: pub } as EcdhKeyDeriveParams, pair.privateKey, 256);
        }),
      ),
    );
    if (!isNode && typeof Worker === 'function') {
      const url = URL.createObjectURL(new Blob([X25519_FLOOR_WORKER], { type: 'text/javascript' }));
      const workers = [new Worker(url), new Worker(url)];
      const ask = (w: Worker, message: unknown) => new Promise((resolve) => ((w.onmessage = resolve), w.postMessage(message)));
      await Promise.all(workers.map((w) => ask(w, { publicKeys: raw })));
      await time('the same split over 2 Web Workers', () => Promise.all(workers.map((w) => ask(w, { count: Math.ceil(members / 2) }))));
      for (const w of workers) w.terminate();
      URL.revokeObjectURL(url);
    }
  }
  return out;
}
