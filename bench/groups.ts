// npm run bench:groups [-- --json]
// Removing one member from groups of 10 to 10,000: the admin's time to build the op (one
// HPKE wrap per remaining member), a receiver's time to verify, apply and unwrap it, and the
// op's size, in Node and in Chromium in one run. The default path is what an app gets: in
// Node native crypto (node:crypto) with the wraps spread over worker threads, in Chromium
// WebCrypto; beside it the portable WebCrypto path in Node (and @noble on request). Sender
// time is the median of BENCH_GROUP_RUNS builds (5). Targets (issue 19): a removal at 1,000
// members <= 100 ms and at 10,000 <= 1 s, both platforms, <= 100 bytes per member.
// Then revoking one device in a group of 1,000 persons with 3 wrap recipients each (the
// identity key and 2 certified devices: 2,999 wraps after the revocation), beside removing
// one member of a 1,000-person single-device group (999 wraps), builds alternating in the
// same run, on WebCrypto: the time ratio should stay within 3.3 for 3 times the wraps.
// BENCH_GROUP_SIZES=1000,10000, BENCH_PLATFORMS=node (or chromium), BENCH_GROUP_OPS=remove (or
// revoke-device), BENCH_GROUP_IMPLS=auto,webcrypto,noble, BENCH_GROUP_RUNS=5 and
// BENCH_REVOKE_PERSONS=100 narrow or widen it.
import { fileURLToPath } from 'node:url';
import { runInChromium } from './chromium.js';
import { loadavg } from 'node:os';
import { measureRemovals, measureRevocation, measureX25519Floor, type FloorFigures, type RemovalFigures, type RemovalImpl, type RevocationFigures } from './groups-core.js';
import { report, type Row } from './harness.js';

const sizes = (process.env.BENCH_GROUP_SIZES ?? '10,100,1000,10000').split(',').filter(Boolean).map(Number);
const platforms = (process.env.BENCH_PLATFORMS ?? 'node,chromium').split(',');
const ops = (process.env.BENCH_GROUP_OPS ?? 'remove,floor,revoke-device').split(',');
const persons = Number(process.env.BENCH_REVOKE_PERSONS ?? 1000);
const impls = (process.env.BENCH_GROUP_IMPLS ?? 'auto,webcrypto').split(',').filter(Boolean) as RemovalImpl[];
const runs = Number(process.env.BENCH_GROUP_RUNS ?? 5);
/** The sender targets, ms, by group size; and bytes per remaining member. */
const SENDER_TARGET: Record<number, number> = { 1000: 100, 10000: 1000 };
const BYTES_TARGET = 100;
/** Floors are measured at the sizes with a target. */
const floorSizes = sizes.filter((n) => SENDER_TARGET[n] !== undefined);
/** The most a revocation's sender time may be over the single-device removal's (3 times the wraps). */
const REVOKE_TARGET = 3.3;

// The native floors in Node: X25519 key generation (with its public key out) and one agreement
// per recipient, node:crypto: all on one thread (the public key as X25519(k, 9): a key made by
// generateKeyPairSync is never exported, see hpke-native.node.ts); and as the calling thread makes
// them, the keys on libuv's thread pool a range of 128 ahead (exported in their callback), the
// agreements on the calling thread.
async function nativeFloor(list: readonly number[]): Promise<FloorFigures[]> {
  const { createPublicKey, diffieHellman, generateKeyPair, generateKeyPairSync, randomBytes } = await import('node:crypto');
  type KeyObject = import('node:crypto').KeyObject;
  const x25519 = (raw: Buffer) => createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' });
  const basePoint = x25519(Buffer.from([9, ...new Uint8Array(31)]));
  const pairAsync = () =>
    new Promise<{ privateKey: KeyObject; enc: string }>((resolve, reject) =>
      generateKeyPair('x25519', {}, (e, publicKey, privateKey) => (e ? reject(e) : resolve({ privateKey, enc: publicKey.export({ format: 'jwk' }).x! }))),
    );
  const out: FloorFigures[] = [];
  for (const members of list) {
    const keys = Array.from({ length: members }, () => x25519(randomBytes(32)));
    const agree = (privateKey: KeyObject, i: number) => diffieHellman({ privateKey, publicKey: keys[i]! });
    const time = async (what: string, fn: () => unknown) => {
      const times: number[] = [];
      for (let run = 0; run < runs; run++) {
        const start = performance.now();
        await fn();
        times.push(performance.now() - start);
      }
      out.push({ members, what, runs, ms: [...times].sort((a, b) => a - b)[Math.floor(runs / 2)]!, min_ms: Math.min(...times) });
    };
    await time('native generateKeyPairSync, X25519(k, 9), diffieHellman, one thread', () => {
      for (let i = 0; i < members; i++) {
        const { privateKey } = generateKeyPairSync('x25519');
        diffieHellman({ privateKey, publicKey: basePoint });
        agree(privateKey, i);
      }
    });
    await time('native, keys on the thread pool 128 ahead, agreements on the calling thread', async () => {
      const batch = (from: number) => Promise.all(Array.from({ length: Math.min(128, members - from) }, pairAsync));
      let ahead = batch(0);
      for (let from = 0; from < members; from += 128) {
        const pairs = await ahead;
        if (from + 128 < members) ahead = batch(from + 128);
        pairs.forEach((pair, j) => agree(pair.privateKey, from + j));
      }
    });
  }
  return out;
}

interface Figures {
  removals: RemovalFigures[];
  revocation: RevocationFigures[];
  floors?: FloorFigures[];
  /** The 1-minute load average before and after the platform's measurements. */
  load?: string;
}
const load = () => loadavg()[0]!.toFixed(2);
const figures: Record<string, Figures> = {};
if (platforms.includes('node')) {
  const before = load();
  figures.node = {
    removals: ops.includes('remove') ? await measureRemovals(sizes, impls, runs) : [],
    revocation: ops.includes('revoke-device') ? await measureRevocation(persons) : [],
    floors: ops.includes('floor') ? [...(await nativeFloor(floorSizes)), ...(await measureX25519Floor(floorSizes, runs))] : [],
  };
  figures.node.load = `${before}-${load()}`;
}
if (platforms.includes('chromium')) {
  const before = load();
  figures.chromium = await runInChromium<Figures>(
    fileURLToPath(new URL('./groups.browser.ts', import.meta.url)),
    `?sizes=${(ops.includes('remove') ? sizes : floorSizes).join(',')}&floorSizes=${floorSizes.join(',')}&ops=${ops.join(',')}&persons=${persons}&impls=${impls.join(',')}&runs=${runs}`,
  );
  figures.chromium.load = `${before}-${load()}`;
}

const rows: Row[] = [];
for (const [platform, { removals: list, load: loadAverage }] of Object.entries(figures)) {
  for (const f of list) {
    const target = SENDER_TARGET[f.members];
    rows.push({
      name: `remove ${f.members} ${f.impl} ${platform}`,
      // Against 0.1 ms per member: the target at 1,000 and at 10,000 members.
      ratio: f.sender_ms / (f.members / 10),
      baseline: '0.1 ms per member',
      op: 'remove',
      platform,
      ...f,
      sender_target: target === undefined ? '' : `<= ${target} ms: ${f.sender_ms <= target ? 'met' : 'missed'}`,
      bytes_target: `<= ${BYTES_TARGET}: ${f.bytes_per_member <= BYTES_TARGET ? 'met' : 'missed'}`,
      load: loadAverage ?? '',
    });
  }
}
if (rows.length) report(`Remove one member (sender ms: median of ${runs} builds; ratio = sender ms / (0.1 ms x members), <= 1 meets the target; load = 1-min load average before-after)`, rows);

const floorRows: Row[] = [];
for (const [platform, { floors = [], load: loadAverage }] of Object.entries(figures))
  for (const f of floors)
    floorRows.push({ name: `floor ${f.members} ${platform}`, ratio: f.ms / (f.members / 10), baseline: '0.1 ms per member', platform, ...f, load: loadAverage ?? '' });
if (floorRows.length) report('Floors: the platform\'s X25519 alone for one wrap per member, no HKDF, no AEAD, no op (ms: median of runs; ratio as above: above 1, the target is out of reach on that path)', floorRows);

const revokeRows: Row[] = [];
for (const [platform, { revocation }] of Object.entries(figures)) {
  const remove = revocation.find((f) => f.op === 'remove');
  const revoke = revocation.find((f) => f.op === 'revoke-device');
  if (!remove || !revoke) continue;
  const shape = (f: RevocationFigures) => `${f.members}x${f.devices_per_member}`;
  const base = `remove ${shape(remove)} ${platform}`;
  revokeRows.push({ name: base, ratio: 1, baseline: 'itself', platform, impl: 'webcrypto', ...remove, wrap_ratio: 1, target: '' });
  revokeRows.push({
    name: `revoke-device ${shape(revoke)} ${platform}`,
    ratio: revoke.sender_ms / remove.sender_ms,
    baseline: `${base}; ${revoke.devices_per_member} recipients a person (identity key + ${revoke.devices_per_member - 1} devices)`,
    platform,
    impl: 'webcrypto',
    ...revoke,
    wrap_ratio: revoke.wraps / remove.wraps,
    target: `<= ${REVOKE_TARGET}: ${revoke.sender_ms / remove.sender_ms <= REVOKE_TARGET ? 'met' : 'missed'}`,
  });
}
if (revokeRows.length)
  report(`Revoke one device, persons with an identity key and 2 certified devices (ratio = this sender time / single-device removal's, same run; target <= ${REVOKE_TARGET})`, revokeRows);
