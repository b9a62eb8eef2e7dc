import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStorage } from '@sealdoc/core/node';
import { StorageError } from '@sealdoc/core';
import { storageConformance } from '@sealdoc/core/testing/conformance';

const fresh = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealdoc-sqlite-'));
  return { dir, path: join(dir, 'store.sqlite') };
};

storageConformance(
  'SqliteStorage',
  async () => {
    const { dir, path } = fresh();
    let storage = SqliteStorage.open(path);
    return {
      storage,
      reopen: async () => {
        await storage.close();
        storage = SqliteStorage.open(path);
        return storage;
      },
      teardown: async () => {
        await storage.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { persistent: true },
);

describe('SqliteStorage', () => {
  it('a file that is not a database is a typed error', async () => {
    const { dir, path } = fresh();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, 'this is not a database, just some text that is long enough to have a header page');
    assert.throws(() => SqliteStorage.open(path), (e: unknown) => e instanceof StorageError && e.code === 'io');
    rmSync(dir, { recursive: true, force: true });
  });
});
