// Experiment (docs/ui.md, Typing cost): what a keystroke costs when the 2,346 paragraphs of
// bench:ui's document are grouped in sections under `content-visibility: auto`.
//   Q='wrap=1' node --import tsx bench/ui-sections.ts                     flat: doc > paragraph+
//   Q='wrap=1&per=50&css=<url-encoded section{content-visibility:auto;contain-intrinsic-size:auto 1000px}>' …
//                                                                           doc > section+ > paragraph+
// A bare ProseMirror view with y-prosemirror (no toolbar, carets, undo or input rules), the
// same measure as bench:ui (renderer main-thread TaskDuration over 120 ms after each of 80
// real key presses, the caret in the middle of the document). Not a benchmark of the product:
// its flat case repaints the whole document at each key (trace: Paint ~57 ms), which the real
// editor does not; the sectioned figure is the one to read.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { runInChromium } from './chromium.js';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const xs: number[] = [];
async function drive(page: Page) {
  await page.waitForFunction(() => (window as any).bench?.ready, undefined, { timeout: 120_000 });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable', { timeDomain: 'threadTicks' } as never);
  const task = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration')!.value * 1000;
  await page.evaluate(() => (window as any).bench.focus());
  await sleep(500);
  for (let k = 0; k < 80; k++) { const b = await task(); await page.keyboard.type('abcdefgh '[k % 9]!); await sleep(120); xs.push((await task()) - b); }
}
const paper = readFileSync(fileURLToPath(new URL('../test/fixtures/automerge-paper-final.txt.gz', import.meta.url)));
const r = await runInChromium<{ top: number }>(fileURLToPath(new URL('./ui-sections.browser.ts', import.meta.url)), `?${process.env.Q ?? ''}`, { '/paper.txt.gz': paper }, drive);
xs.sort((a, b) => a - b);
console.log(process.env.Q, 'top-level', r.top, 'median', xs[40]!.toFixed(1), 'p95', xs[76]!.toFixed(1));
