import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { relayStoreConformance } from './store-conformance.js';
import { MemoryRelayStore, PostgresRelayStore, SqliteRelayStore } from '@sealdoc/relay';
import { freshSchema, postgresAvailable } from './postgres.js';

relayStoreConformance('MemoryRelayStore', async () => ({ store: new MemoryRelayStore() }));

relayStoreConformance(
  'SqliteRelayStore',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdoc-relay-store-'));
    const path = join(dir, 'relay.sqlite');
    let store = SqliteRelayStore.open(path);
    return {
      store,
      reopen: async () => {
        await store.close();
        store = SqliteRelayStore.open(path);
        return store;
      },
      teardown: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { persistent: true },
);

// PostgreSQL: for real when it answers (always under CI=true).

if (await postgresAvailable()) {
  relayStoreConformance(
    'PostgresRelayStore',
    async () => {
      const { url, drop } = await freshSchema();
      let store = await PostgresRelayStore.connect(url);
      return {
        store,
        reopen: async () => {
          await store.close();
          store = await PostgresRelayStore.connect(url);
          return store;
        },
        teardown: async () => {
          await store.close();
          await drop();
        },
      };
    },
    { persistent: true },
  );
} else {
  console.log('# PostgreSQL did not answer: its relay store tests are skipped (they run under CI=true)');
}
