// Runs a benchmark module in headless Chromium and returns what it resolves to, so that
// bench scripts print browser figures beside Node's in one run. The module is bundled with
// esbuild, served from 127.0.0.1 on a free port (WebCrypto needs a secure context) and
// driven by playwright-core with the system's Chromium.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Page } from 'playwright-core';
import { CHROME_ARGS, findChrome, HOW_TO_GET_CHROME } from '../scripts/find-chrome.mjs';


/**
 * Bundles `entry` (which must set `globalThis.benchResult` to a promise) and returns the
 * value that promise resolves to in Chromium. `query` reaches the page as location.search;
 * `files` are served at their names (e.g. '/trace.json.gz') for the page to fetch. `drive`,
 * when given, runs once the page has loaded, before its result is awaited: for what only the
 * browser's driver can do (real key presses, DevTools metrics).
 */
export async function runInChromium<T>(entry: string, query = '', files: Record<string, Uint8Array> = {}, drive?: (page: Page) => Promise<void>): Promise<T> {
  const executablePath = findChrome();
  if (!executablePath) throw new Error(HOW_TO_GET_CHROME);
  const bundle = await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false });
  const script = bundle.outputFiles[0]!.text;
  // The wrap workers of @sealdoc/crypto load './wrap-worker.js' beside the page's script (wrap-pool.ts).
  const worker = await build({ entryPoints: [fileURLToPath(new URL('../packages/crypto/dist/wrap-worker.js', import.meta.url))], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false });
  const workerScript = worker.outputFiles[0]!.text;
  const server = createServer((req, res) => {
    const file = req.url ? files[req.url] : undefined;
    if (req.url?.startsWith('/bench.js')) {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(script);
    } else if (req.url === '/wrap-worker.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(workerScript);
    } else if (file) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(file);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><meta charset="utf-8"><script type="module" src="/bench.js"></script>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await chromium.launch({ executablePath, headless: true, args: CHROME_ARGS });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    if (process.env.BENCH_CONSOLE) page.on('console', (m) => console.error(m.text()));
    // A benchmark keeps the page busy for minutes: do not wait for its load event.
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/${query}`, { waitUntil: 'commit' });
    if (drive) await drive(page);
    await page.waitForFunction(() => 'benchResult' in globalThis, undefined, { timeout: 120_000 });
    const result = await page.evaluate(() => (globalThis as unknown as { benchResult: Promise<unknown> }).benchResult, undefined);
    if (errors.length) throw new Error(errors.join('\n'));
    return result as T;
  } finally {
    await browser.close();
    server.close();
  }
}
