// Browser tests: the same *.test.ts files Node runs, in real Chromium. `node:test` and
// `node:assert/strict` resolve to small shims over mocha and a browser assert.
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';
import { CHROME_ARGS, findChrome, HOW_TO_GET_CHROME } from './scripts/find-chrome.mjs';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryRelayStore, startRelay } from '@sealdoc/relay';

const executablePath = findChrome();
if (!executablePath) {
  console.error(HOW_TO_GET_CHROME);
  process.exit(1);
}

const SHIMS = {
  'node:test': '/test/support/node-test.browser.js',
  'node:assert/strict': '/test/support/assert.browser.js',
  crypto: '/test/support/node-crypto.browser.js',
};

export default {
  files: ['packages/*/test/*.test.ts', '!packages/*/test/*.node.test.ts'],
  nodeResolve: true,
  filterBrowserLogs: ({ args }) => !String(args[0]).includes('Lit is in dev mode'),
  concurrency: 1,
  browserStartTimeout: 60000,
  testsFinishTimeout: 600000,
  testFramework: { config: { timeout: 300000 } },
  plugins: [
    { name: 'node-shims', resolveImport: ({ source }) => SHIMS[source] },
    // A real relay (in memory) for the browser tests of the WebSocket transport:
    // executeServerCommand('relay-url') gives its ws:// URL.
    {
      name: 'relay',
      async serverStart() {
        this.relay = await startRelay({ store: new MemoryRelayStore(), port: 0 });
      },
      async serverStop() {
        await this.relay?.close();
      },
      executeCommand({ command }) {
        return command === 'relay-url' ? this.relay.url : undefined;
      },
    },
    // Screenshots of components for the docs: executeServerCommand('screenshot', { selector, name })
    // takes the element's picture; `npm run screenshots` (SEALDOC_SCREENSHOTS=1) keeps it as
    // docs/screenshots/<name>.png, other runs put it in a temporary folder (the tree stays clean).
    {
      name: 'screenshot',
      async executeCommand({ command, payload, session }) {
        if (command !== 'screenshot') return undefined;
        if (!/^[a-z0-9-]+$/.test(payload?.name ?? '')) throw new Error('a screenshot name is lower-case letters, digits and dashes');
        const page = session.browser.getPage(session.id);
        const element = await page.$(payload.selector);
        if (!element) throw new Error(`nothing matches ${payload.selector}`);
        const dir = process.env.SEALDOC_SCREENSHOTS === '1' ? 'docs/screenshots' : join(tmpdir(), 'sealdoc-screenshots');
        mkdirSync(dir, { recursive: true });
        await element.screenshot({ path: join(dir, `${payload.name}.png`) });
        return true;
      },
    },
    esbuildPlugin({ ts: true, target: 'es2022' }),
  ],
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath,
        headless: true,
        args: CHROME_ARGS,
      },
    }),
  ],
};
