import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryRelayStore, SqliteRelayStore } from '@sealdoc/relay';
import { relayStoreConformance } from './store-conformance.js';

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
