// node --import tsx bench/ui-trace.ts [--side plain|sealed] [--keys N] [--chars N] [--top N]; UI_QUERY=… as bench:ui;
// UI_ENTRY=./ui-sections.browser.ts traces that experiment's page instead.
// Types N keys into one side of bench:ui's page with a Chromium trace on (DevTools Tracing
// domain) and prints, per keystroke, the renderer main thread's time by trace event
// (inclusive: nested events are counted in their parents too), the largest first.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { runInChromium } from './chromium.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const SIDE = arg('--side', 'plain') as 'plain' | 'sealed';
const KEYS = Number(arg('--keys', '40'));
const CHARS = Number(arg('--chars', '0'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface TraceEvent { name: string; ph: string; ts: number; dur?: number; pid: number; tid: number; args?: { name?: string } }

async function drive(page: Page): Promise<void> {
  await page.waitForFunction(() => window.bench?.ready || window.bench?.error, undefined, { timeout: 120_000 });
  const cdp = await page.context().newCDPSession(page);
  await page.evaluate((s) => window.bench.focus(s), SIDE);
  await sleep(500);
  const events: TraceEvent[] = [];
  cdp.on('Tracing.dataCollected', (e) => events.push(...(e.value as unknown as TraceEvent[])));
  const done = new Promise<void>((r) => cdp.once('Tracing.tracingComplete', () => r()));
  await cdp.send('Tracing.start', { traceConfig: { includedCategories: ['devtools.timeline', 'blink', 'v8', 'input', 'ime', 'renderer', 'blink.user_timing', 'disabled-by-default-devtools.timeline', 'cc', 'gpu', 'toplevel', 'accessibility'] }, transferMode: 'ReportEvents' } as never);
  const typed = 'the quick brown fox jumps over a lazy dog ';
  for (let k = 0; k < KEYS; k++) {
    await page.keyboard.type(typed[k % typed.length]!);
    await sleep(120);
  }
  await cdp.send('Tracing.end');
  await done;
  const main = events.find((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
  const byName = new Map<string, number>();
  const self = new Map<string, number>();
  const mine = events.filter((e) => main && e.pid === main.pid && e.tid === main.tid && e.ph === 'X' && e.dur).sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
  // Self time: an event's duration less its direct children's.
  const stack: TraceEvent[] = [];
  for (const e of mine) {
    while (stack.length && stack.at(-1)!.ts + stack.at(-1)!.dur! <= e.ts) stack.pop();
    const parent = stack.at(-1);
    if (parent) self.set(parent.name, (self.get(parent.name) ?? 0) - e.dur!);
    self.set(e.name, (self.get(e.name) ?? 0) + e.dur!);
    byName.set(e.name, (byName.get(e.name) ?? 0) + e.dur!);
    stack.push(e);
  }
  const top = Number(arg('--top', '30'));
  console.log('inclusive:');
  for (const [name, us] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(us / 1000 / KEYS).toFixed(2).padStart(8)} ms/key  ${name}`);
  console.log('self:');
  for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(us / 1000 / KEYS).toFixed(2).padStart(8)} ms/key  ${name}`);
  await cdp.detach();
}

const paper = readFileSync(fileURLToPath(new URL('../test/fixtures/automerge-paper-final.txt.gz', import.meta.url)));
await runInChromium(fileURLToPath(new URL(process.env.UI_ENTRY ?? './ui.browser.ts', import.meta.url)), `?chars=${CHARS}&${process.env.UI_QUERY ?? ''}`, { '/paper.txt.gz': paper }, drive);
