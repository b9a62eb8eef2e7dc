// node --import tsx bench/ui-trace.ts [--side plain|sealed] [--keys N] [--chars N] [--top N] [--profile]; UI_QUERY=… as bench:ui;
// UI_ENTRY=./ui-sections.browser.ts traces that experiment's page instead.
// Types N keys into one side of bench:ui's page with a Chromium trace on (DevTools Tracing
// domain) and prints, per keystroke, the renderer main thread's time by trace event
// (inclusive: nested events are counted in their parents too), the largest first. With
// --profile: the script's time instead, by function (V8's sampling profiler, self time).
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

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }

const typeKeys = async (page: Page) => {
  const typed = 'the quick brown fox jumps over a lazy dog ';
  for (let k = 0; k < KEYS; k++) {
    await page.keyboard.type(typed[k % typed.length]!);
    await sleep(120);
  }
};

async function profile(page: Page, cdp: Awaited<ReturnType<ReturnType<Page['context']>['newCDPSession']>>): Promise<void> {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  await typeKeys(page);
  const { profile } = (await cdp.send('Profiler.stop')) as unknown as { profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] } };
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') return;
    const key = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  console.log(`script, self time by function: ${(total / 1000 / KEYS).toFixed(2)} ms/key in all`);
  for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(arg('--top', '30')))) console.log(`${(us / 1000 / KEYS).toFixed(3).padStart(8)} ms/key  ${name}`);
}

async function drive(page: Page): Promise<void> {
  await page.waitForFunction(() => window.bench?.ready || window.bench?.error, undefined, { timeout: 120_000 });
  const cdp = await page.context().newCDPSession(page);
  await page.evaluate((s) => window.bench.focus(s), SIDE);
  await sleep(500);
  if (process.argv.includes('--profile')) return profile(page, cdp);
  const events: TraceEvent[] = [];
  cdp.on('Tracing.dataCollected', (e) => events.push(...(e.value as unknown as TraceEvent[])));
  const done = new Promise<void>((r) => cdp.once('Tracing.tracingComplete', () => r()));
  await cdp.send('Tracing.start', { traceConfig: { includedCategories: ['devtools.timeline', 'blink', 'v8', 'input', 'ime', 'renderer', 'blink.user_timing', 'disabled-by-default-devtools.timeline', 'cc', 'gpu', 'toplevel', 'accessibility'] }, transferMode: 'ReportEvents' } as never);
  await typeKeys(page);
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
