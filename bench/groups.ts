// npm run bench:groups [-- --json]
// Removing one member from groups of 10 to 10,000: the admin's time to build the op (one
// HPKE wrap per remaining member), a receiver's time to verify, apply and unwrap it, and the
// op's size; WebCrypto against @noble, in Node and in Chromium, side by side in one run.
// Then revoking one device in a group of 1,000 persons with 3 wrap recipients each (the
// identity key and 2 certified devices: 2,999 wraps after the revocation), beside removing
// one member of a 1,000-person single-device group (999 wraps), builds alternating in the
// same run: the time ratio should stay within 3.3 for 3 times the wraps.
// BENCH_GROUP_SIZES=10,100, BENCH_PLATFORMS=node (or chromium), BENCH_GROUP_OPS=remove (or
// revoke-device) and BENCH_REVOKE_PERSONS=100 narrow it.
import { fileURLToPath } from 'node:url';
import { runInChromium } from './chromium.js';
import { measureRemovals, measureRevocation, type RemovalFigures, type RevocationFigures } from './groups-core.js';
import { report, type Row } from './harness.js';

const sizes = (process.env.BENCH_GROUP_SIZES ?? '10,100,1000,10000').split(',').filter(Boolean).map(Number);
const platforms = (process.env.BENCH_PLATFORMS ?? 'node,chromium').split(',');
const ops = (process.env.BENCH_GROUP_OPS ?? 'remove,revoke-device').split(',');
const persons = Number(process.env.BENCH_REVOKE_PERSONS ?? 1000);
/** The most a revocation's sender time may be over the single-device removal's (3 times the wraps). */
const REVOKE_TARGET = 3.3;

interface Figures {
  removals: RemovalFigures[];
  revocation: RevocationFigures[];
}
const figures: Record<string, Figures> = {};
if (platforms.includes('node'))
  figures.node = {
    removals: ops.includes('remove') ? await measureRemovals(sizes) : [],
    revocation: ops.includes('revoke-device') ? await measureRevocation(persons) : [],
  };
if (platforms.includes('chromium'))
  figures.chromium = await runInChromium<Figures>(
    fileURLToPath(new URL('./groups.browser.ts', import.meta.url)),
    `?sizes=${sizes.join(',')}&ops=${ops.join(',')}&persons=${persons}`,
  );

const rows: Row[] = [];
for (const [platform, { removals: list }] of Object.entries(figures)) {
  for (const f of list) {
    const noble = list.find((g) => g.members === f.members && g.impl === 'noble')!;
    rows.push({ name: `remove ${f.members} ${f.impl} ${platform}`, ratio: noble.sender_ms / f.sender_ms, baseline: `noble ${platform}`, op: 'remove', platform, ...f });
  }
}
if (rows.length) report('Remove one member (ratio = noble sender time / this sender time, same platform)', rows);

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
