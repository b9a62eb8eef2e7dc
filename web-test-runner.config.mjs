// Browser tests: the same *.test.ts files Node runs, in real Chromium. `node:test` and
// `node:assert/strict` resolve to small shims over mocha and a browser assert.
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';
import { CHROME_ARGS, findChrome, HOW_TO_GET_CHROME } from './scripts/find-chrome.mjs';
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
