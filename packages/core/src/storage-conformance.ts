/**
 * The one conformance suite every Storage implementation runs (memory, IndexedDB in Chromium,
 * SQLite in Node), in the manner of automerge-repo's storage-adapter-tests. Usable from Node
 * and from web-test-runner alike.
 * @module
 */
import { describe } from 'node:test';
import { testWith } from './conformance-fixture.js';
import assert from 'node:assert/strict';
import { StorageError, type Storage } from './storage.js';

/** What a store's test provides: a fresh, empty store per test. */
export interface StorageFixture {
  storage: Storage;
  /** Closes the store and opens it again on the same data (persistent stores only). */
  reopen?: () => Promise<Storage>;
  teardown?: () => Promise<void>;
}

const A = () => new Uint8Array([0, 1, 127, 99, 154, 235]);
const B = () => new Uint8Array([1, 76, 160, 53, 57, 10, 230]);
const C = () => new Uint8Array([2, 111, 74, 131, 236, 96, 142, 193]);

async function storageErrorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof StorageError) return error.code;
    throw new Error(`expected a StorageError, got ${String(error)}`);
  }
  throw new Error('expected a StorageError, but the call succeeded');
}

/**
 * Registers the suite. `persistent` stores (IndexedDB, SQLite) must also provide `reopen`,
 * and are checked to keep what they saved across a close.
 */
export function storageConformance(name: string, setup: () => Promise<StorageFixture>, options: { persistent?: boolean } = {}): void {
  const test = testWith(setup);

  describe(`Storage conformance: ${name}`, () => {
    test('load of a missing key is undefined', async ({ storage }) => {
      assert.equal(await storage.load(['nothing', 'here']), undefined);
    });

    test('save then load returns the bytes, for simple, composite, empty and large values', async ({ storage }) => {
      const large = new Uint8Array(1024 * 1024).map((_, i) => (i * 31) & 255);
      await storage.save(['one'], A());
      await storage.save(['a', 'b', 'c'], B());
      await storage.save(['empty'], new Uint8Array(0));
      await storage.save(['large'], large);
      assert.deepEqual(await storage.load(['one']), A());
      assert.deepEqual(await storage.load(['a', 'b', 'c']), B());
      assert.deepEqual(await storage.load(['empty']), new Uint8Array(0));
      assert.deepEqual(await storage.load(['large']), large);
    });

    test('save overwrites; remove removes; removing a missing key is fine', async ({ storage }) => {
      await storage.save(['k'], A());
      await storage.save(['k'], B());
      assert.deepEqual(await storage.load(['k']), B());
      await storage.remove(['k']);
      await storage.remove(['k']);
      assert.equal(await storage.load(['k']), undefined);
    });

    test('data is copied in and out', async ({ storage }) => {
      const data = A();
      await storage.save(['k'], data);
      data.fill(9);
      const loaded = (await storage.load(['k']))!;
      assert.deepEqual(loaded, A());
      loaded.fill(7);
      assert.deepEqual(await storage.load(['k']), A());
      const [chunk] = await storage.loadRange(['k']);
      chunk!.data.fill(5);
      chunk!.key[0] = 'changed';
      assert.deepEqual(await storage.loadRange(['k']), [{ key: ['k'], data: A() }]);
    });

    test('loadRange returns matching records in key order, matching whole parts only', async ({ storage }) => {
      await storage.save(['doc', 'seq', '10'], C());
      await storage.save(['doc', 'seq', '09'], B());
      await storage.save(['doc', 'meta'], A());
      await storage.save(['doc'], A());
      await storage.save(['docs', 'other'], A());
      await storage.save(['do'], A());
      assert.deepEqual(await storage.loadRange(['nothing']), []);
      assert.deepEqual(await storage.loadRange(['doc', 'seq']), [
        { key: ['doc', 'seq', '09'], data: B() },
        { key: ['doc', 'seq', '10'], data: C() },
      ]);
      assert.deepEqual((await storage.loadRange(['doc'])).map((c) => c.key), [['doc'], ['doc', 'meta'], ['doc', 'seq', '09'], ['doc', 'seq', '10']]);
      assert.equal((await storage.loadRange([])).length, 6);
    });

    test('removeRange removes matching records only', async ({ storage }) => {
      await storage.save(['doc', 'seq', '1'], A());
      await storage.save(['doc', 'seq', '2'], B());
      await storage.save(['doc', 'snapshot'], C());
      await storage.save(['docs', 'seq', '1'], A());
      await storage.removeRange(['doc', 'seq']);
      assert.deepEqual((await storage.loadRange([])).map((c) => c.key), [['doc', 'snapshot'], ['docs', 'seq', '1']]);
      await storage.removeRange([]);
      assert.deepEqual(await storage.loadRange([]), []);
    });

    test('write applies every write, in order', async ({ storage }) => {
      await storage.save(['gone'], A());
      await storage.write([
        { op: 'save', key: ['x', '1'], data: A() },
        { op: 'save', key: ['x', '2'], data: B() },
        { op: 'remove', key: ['gone'] },
        { op: 'save', key: ['x', '1'], data: C() },
      ]);
      assert.deepEqual(await storage.loadRange([]), [
        { key: ['x', '1'], data: C() },
        { key: ['x', '2'], data: B() },
      ]);
    });

    test('write is atomic: one bad write and nothing is written', async ({ storage }) => {
      await storage.save(['kept'], A());
      const code = await storageErrorCode(
        storage.write([
          { op: 'save', key: ['x', '1'], data: A() },
          { op: 'remove', key: ['kept'] },
          { op: 'save', key: ['bad key'], data: B() },
        ]),
      );
      assert.equal(code, 'bad-key');
      assert.deepEqual(await storage.loadRange([]), [{ key: ['kept'], data: A() }]);
    });

    test('bad keys and values are typed errors', async ({ storage }) => {
      const badKeys: unknown[] = [[], [''], ['a b'], ['tab\there'], ['é'], 'string', [1], ['x'.repeat(257)], Array.from({ length: 17 }, () => 'p')];
      for (const key of badKeys) {
        assert.equal(await storageErrorCode(storage.save(key as string[], A())), 'bad-key', JSON.stringify(key));
        assert.equal(await storageErrorCode(storage.load(key as string[])), 'bad-key', JSON.stringify(key));
        assert.equal(await storageErrorCode(storage.remove(key as string[])), 'bad-key', JSON.stringify(key));
      }
      assert.equal(await storageErrorCode(storage.loadRange(['a b'])), 'bad-key');
      assert.equal(await storageErrorCode(storage.save(['k'], 'text' as unknown as Uint8Array)), 'bad-value');
      assert.deepEqual(await storage.loadRange([]), []);
    });

    test('many concurrent saves all land', async ({ storage }) => {
      await Promise.all(Array.from({ length: 200 }, (_, i) => storage.save(['n', String(i).padStart(3, '0')], new Uint8Array([i & 255]))));
      const all = await storage.loadRange(['n']);
      assert.equal(all.length, 200);
      assert.deepEqual(all[123], { key: ['n', '123'], data: new Uint8Array([123]) });
    });

    test('a closed store refuses calls with a typed error', async ({ storage }) => {
      await storage.close();
      assert.equal(await storageErrorCode(storage.load(['k'])), 'closed');
      assert.equal(await storageErrorCode(storage.save(['k'], A())), 'closed');
    });

    if (!options.persistent) return;
    test('what was saved survives closing and reopening', async (fixture) => {
      assert.ok(fixture.reopen, 'a persistent store provides reopen()');
      await fixture.storage.write([
        { op: 'save', key: ['p', '1'], data: A() },
        { op: 'save', key: ['p', '2'], data: B() },
      ]);
      const again = await fixture.reopen();
      assert.deepEqual(await again.loadRange(['p']), [
        { key: ['p', '1'], data: A() },
        { key: ['p', '2'], data: B() },
      ]);
    });
  });
}
