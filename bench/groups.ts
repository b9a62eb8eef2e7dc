// npm run bench:groups [-- --json]
// Removing one member from groups of 10 to 10,000: the admin's time to build the op (one
// HPKE wrap per remaining member), a receiver's time to verify, apply and unwrap it, and the
// op's size; WebCrypto against @noble, in Node and in Chromium, side by side in one run.
// BENCH_GROUP_SIZES=10,100 and BENCH_PLATFORMS=node (or chromium) narrow it.
import { fileURLToPath } from 'node:url';
import { runInChromium } from './chromium.js';
import { measureRemovals, type RemovalFigures } from './groups-core.js';
import { report, type Row } from './harness.js';

const sizes = (process.env.BENCH_GROUP_SIZES ?? '10,100,1000,10000').split(',').map(Number);
const platforms = (process.env.BENCH_PLATFORMS ?? 'node,chromium').split(',');

const figures: Record<string, RemovalFigures[]> = {};
if (platforms.includes('node')) figures.node = await measureRemovals(sizes);
if (platforms.includes('chromium'))
  figures.chromium = await runInChromium<RemovalFigures[]>(fileURLToPath(new URL('./groups.browser.ts', import.meta.url)), `?sizes=${sizes.join(',')}`);

const rows: Row[] = [];
for (const [platform, list] of Object.entries(figures)) {
  for (const f of list) {
    const noble = list.find((g) => g.members === f.members && g.impl === 'noble')!;
    rows.push({ name: `remove ${f.members} ${f.impl} ${platform}`, ratio: noble.sender_ms / f.sender_ms, baseline: `noble ${platform}`, op: 'remove', platform, ...f });
  }
}
report('Remove one member (ratio = noble sender time / this sender time, same platform)', rows);
