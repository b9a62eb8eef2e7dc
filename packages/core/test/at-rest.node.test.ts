import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AtRestError } from '@sealdoc/core';
import { openKeyFile, SqliteStorage } from '@sealdoc/core/node';
import { atRestSuite } from './at-rest-suite.js';

// The floor of the backup container's scrypt cost, so that the tests stay quick.
const backup = { scrypt: { logN: 15, r: 8, p: 1 } };
const PASSPHRASE = 'correct horse battery staple';

atRestSuite('SqliteStorage and a passphrase key file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealdoc-at-rest-'));
  const db = join(dir, 'device.sqlite');
  const keyFile = join(dir, 'device.key');
  return {
    openStorage: async () => SqliteStorage.open(db),
    openKey: () => openKeyFile(keyFile, PASSPHRASE, { backup }),
    replaceKey: async () => {
      rmSync(keyFile);
      return openKeyFile(keyFile, PASSPHRASE, { backup });
    },
    rawValues: async () => {
      const storage = SqliteStorage.open(db);
      const rows = (await storage.loadRange([])).map((c) => c.data);
      await storage.close();
      // The files themselves too (the database, its WAL, the key file): not only what the API returns.
      return [...rows, ...readdirSync(dir).map((f) => new Uint8Array(readFileSync(join(dir, f))))];
    },
    teardown: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('the device key file', () => {
  const code = (e: unknown) => (e instanceof AtRestError ? e.code : String(e));

  it('is created once, opens with the passphrase, and refuses a wrong one, a damaged file, a missing one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdoc-key-'));
    const path = join(dir, 'nested', 'device.key');
    try {
      await assert.rejects(openKeyFile(path, PASSPHRASE, { backup, create: false }), (e) => code(e) === 'no-device-key');
      const key = await openKeyFile(path, PASSPHRASE, { backup });
      const sealed = await key.seal(new Uint8Array([1, 2, 3]), 'ctx');
      const again = await openKeyFile(path, PASSPHRASE, { backup });
      assert.deepEqual(again.id, key.id);
      assert.deepEqual(await again.open(sealed, 'ctx'), new Uint8Array([1, 2, 3]));
      await assert.rejects(openKeyFile(path, 'wrong passphrase', { backup }), (e) => code(e) === 'wrong-passphrase');
      const bytes = readFileSync(path);
      bytes[bytes.length - 40]! ^= 1;
      writeFileSync(path, bytes);
      await assert.rejects(openKeyFile(path, PASSPHRASE, { backup }), (e) => code(e) === 'corrupt');
      writeFileSync(path, bytes.subarray(0, 10));
      await assert.rejects(openKeyFile(path, PASSPHRASE, { backup }), (e) => code(e) === 'corrupt');
      // Only its owner may read it.
      const { statSync } = await import('node:fs');
      rmSync(path);
      await openKeyFile(path, PASSPHRASE, { backup });
      assert.equal(statSync(path).mode & 0o777, 0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
