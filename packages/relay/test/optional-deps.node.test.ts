// Optional peers are loaded only when used: a relay on SQLite never loads pg, and an app that
// imports @sealdoc/core/node loads better-sqlite3 only once it opens a SqliteStorage. Each
// check runs in a fresh Node process, which reports the CommonJS packages it loaded.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The packages among `names` that running `code` (an ES module) loaded. */
function loaded(code: string, names: string[]): string[] {
  const report = `import Module from 'node:module';
${code}
console.log(JSON.stringify(${JSON.stringify(names)}.filter((n) => Object.keys(Module._cache).some((k) => k.includes('/node_modules/' + n + '/')))));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', report], { cwd: new URL('../../..', import.meta.url) }).toString()) as string[];
}

describe('optional peers load only when used', () => {
  it('the relay on SQLite or in memory never loads pg', () => {
    assert.deepEqual(loaded(`const { MemoryRelayStore, startRelay } = await import('@sealdoc/relay'); const s = await startRelay({ store: new MemoryRelayStore(), port: 0 }); await s.close();`, ['pg']), []);
  });

  it('@sealdoc/core/node loads better-sqlite3 only when a SqliteStorage is opened', () => {
    assert.deepEqual(loaded(`await import('@sealdoc/core/node'); await import('@sealdoc/core');`, ['better-sqlite3']), []);
    const path = join(tmpdir(), `sealdoc-optional-${process.pid}.sqlite`);
    assert.deepEqual(loaded(`const { SqliteStorage } = await import('@sealdoc/core/node'); const s = SqliteStorage.open(${JSON.stringify(path)}); await s.close(); const { rmSync } = await import('node:fs'); for (const end of ['', '-wal', '-shm']) rmSync(${JSON.stringify(path)} + end, { force: true });`, ['better-sqlite3']), ['better-sqlite3']);
  });
});
