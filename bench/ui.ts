// npm run bench:ui [-- --json] [-- --keys N] [-- --chars N]; UI_QUERY='css=…' (URL-encoded) adds a style sheet to both editors
// Typing into <sealdoc-editor> on a sealed ~210 KB document (the automerge-paper result twice,
// a paragraph per line; encrypted IndexedDB store, sealed presence, online) against the same
// editor, same ProseMirror setup, on a plain Y.Doc, in real Chromium (ui.browser.ts). Each
// keystroke is a real key press (playwright-core); its cost is the renderer main thread's task
// time (DevTools Performance.getMetrics TaskDuration) from just before the press until the
// next one 120 ms later: the handling of the key, ProseMirror, y-prosemirror, rendering, and
// what the document does with the edit in that time (batching, sealing, storing, the caret
// sent to the others). The sides alternate in rounds. Budget: 5 ms per keystroke (issue 18).
//   keystroke-plain            the editor on a plain Y.Doc: median and p95 ms per keystroke
//   keystroke-sealed-vs-plain  the editor on the SealedDoc, ratio of medians to the plain side
//   idle                       the same measurement with no key pressed (what measuring costs)
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CDPSession, Page } from 'playwright-core';
import { runInChromium } from './chromium.js';
import { report, type Row } from './harness.js';
import type { UiSetup } from './ui.browser.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const KEYS = arg('--keys', 120);
/** With --chars N: a document of the first N characters instead (how the cost grows with its size). */
const CHARS = arg('--chars', 0);
const ROUNDS = 4;
const CADENCE_MS = 120;
const BUDGET_MS = 5;
const TYPED = 'the quick brown fox jumps over a lazy dog ';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs: number[], q: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};

async function taskMs(cdp: CDPSession): Promise<number> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  return metrics.find((m) => m.name === 'TaskDuration')!.value * 1000;
}

const costs = { sealed: [] as number[], plain: [] as number[], idle: [] as number[] };
const typed = { sealed: 0, plain: 0 };
const lengths = { sealed: { before: 0, after: 0 }, plain: { before: 0, after: 0 } };
let pendingAfter = 0;

async function drive(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as unknown as { bench?: { ready?: boolean; error?: string } }).bench?.ready || (window as unknown as { bench?: { error?: string } }).bench?.error, undefined, { timeout: 120_000 });
  const error = await page.evaluate(() => window.bench.error);
  if (error) throw new Error(error);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable', { timeDomain: 'threadTicks' } as never);
  for (const side of ['sealed', 'plain'] as const) lengths[side].before = await page.evaluate((s) => window.bench.length(s), side);
  const perRound = Math.ceil(KEYS / ROUNDS);
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of round % 2 ? (['plain', 'sealed'] as const) : (['sealed', 'plain'] as const)) {
      await page.evaluate((s) => window.bench.focus(s), side);
      await sleep(400);
      for (let k = 0; k < perRound && typed[side] < KEYS; k++) {
        const before = await taskMs(cdp);
        await page.keyboard.type(TYPED[typed[side] % TYPED.length]!);
        await sleep(CADENCE_MS);
        costs[side].push((await taskMs(cdp)) - before);
        typed[side]++;
      }
    }
    // What measuring alone costs: the same window with no key.
    for (let k = 0; k < perRound / 4; k++) {
      const before = await taskMs(cdp);
      await sleep(CADENCE_MS);
      costs.idle.push((await taskMs(cdp)) - before);
    }
  }
  await sleep(500);
  for (const side of ['sealed', 'plain'] as const) lengths[side].after = await page.evaluate((s) => window.bench.length(s), side);
  pendingAfter = await page.evaluate(() => window.bench.pending());
  await cdp.detach();
}

const paper = readFileSync(fileURLToPath(new URL('../test/fixtures/automerge-paper-final.txt.gz', import.meta.url)));
const setup = await runInChromium<UiSetup>(fileURLToPath(new URL('./ui.browser.ts', import.meta.url)), `?chars=${CHARS}&${process.env.UI_QUERY ?? ''}`, { '/paper.txt.gz': paper }, drive);
for (const side of ['sealed', 'plain'] as const) {
  if (lengths[side].after - lengths[side].before !== typed[side]) throw new Error(`${side}: ${typed[side]} keys typed, the text grew by ${lengths[side].after - lengths[side].before}`);
}
const figures = (xs: number[]) => ({ medianMs: quantile(xs, 0.5), p95Ms: quantile(xs, 0.95), maxMs: Math.max(...xs) });
const plain = figures(costs.plain);
const sealed = figures(costs.sealed);
const idle = figures(costs.idle);
const common = { keys: KEYS, docChars: setup.docChars, paragraphs: setup.paragraphs, budgetMs: BUDGET_MS };
const rows: Row[] = [
  { name: 'keystroke-plain', ratio: 1, baseline: 'itself', ...plain, ...common },
  { name: 'keystroke-sealed-vs-plain', ratio: sealed.medianMs / plain.medianMs, baseline: 'the same editor on a plain Y.Doc (median)', ...sealed, p95Ratio: sealed.p95Ms / plain.p95Ms, pendingAfter, ...common },
  { name: 'idle', ratio: idle.medianMs / plain.medianMs, baseline: 'keystroke-plain (median)', ...idle, ...common },
];
report(`<sealdoc-editor>: main-thread ms per keystroke on a ${Math.round(setup.docChars / 1000)} K-character document, sealed against plain, ${KEYS} keys a side in Chromium`, rows);
