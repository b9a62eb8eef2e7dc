// The wrap workers of a large membership op, in real Chromium: an op whose wraps the workers made
// verifies and unwraps for its members on every backend; small ops, a browser without Worker and
// a worker that cannot start take the page's own thread; a worker that dies mid-op fails the op
// with a typed error, builds nothing, and the pool recovers for the next op.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { useCryptoBackend, WrapWorkerError } from '@sealdoc/crypto';
import { _configureWrapWorkers, _resetWrapWorkers, _wrapWorkers } from '../dist/wrap-pool.js';
import { checkUnwraps, makeGroup, removeFirst, workerLostMidOp, type Group } from './wrap-pool-helpers.js';

const MEMBERS = 300;
const poolSize = Math.min(2, navigator.hardwareConcurrency || 2);

describe('wrap workers (Chromium)', () => {
  let group: Group;
  const settings = _configureWrapWorkers({});

  before(async () => {
    _resetWrapWorkers();
    group = await makeGroup(MEMBERS);
  });
  afterEach(() => {
    _configureWrapWorkers(settings);
  });
  after(() => {
    _resetWrapWorkers();
    useCryptoBackend('auto');
  });

  it(`a removal among ${MEMBERS} members is wrapped by ${poolSize} workers; it verifies and every member unwraps the same secret on every backend`, async () => {
    const before = _wrapWorkers().ops;
    const op = await removeFirst(group);
    assert.equal(_wrapWorkers().ops, before + 1);
    assert.equal(_wrapWorkers().workers.length, poolSize);
    for (const backend of ['auto', 'webcrypto', 'noble'] as const) await checkUnwraps(group, op, backend);
  });

  it('a small op stays on the page\'s thread', async () => {
    const small = await makeGroup(20);
    const before = _wrapWorkers().ops;
    const op = await removeFirst(small);
    assert.equal(_wrapWorkers().ops, before);
    await checkUnwraps(small, op, 'auto');
  });

  it('where Worker is missing, the op is wrapped on the page\'s thread', async () => {
    _resetWrapWorkers();
    const saved = globalThis.Worker;
    (globalThis as { Worker?: unknown }).Worker = undefined;
    try {
      const before = _wrapWorkers().ops;
      const op = await removeFirst(group);
      assert.equal(_wrapWorkers().ops, before);
      await checkUnwraps(group, op, 'auto');
    } finally {
      globalThis.Worker = saved;
    }
  });

  it('where no worker starts (a bundle without the worker\'s file), the op is wrapped on the page\'s thread, and later ops do not try again', async () => {
    _resetWrapWorkers();
    const saved = globalThis.Worker;
    let started = 0;
    // A worker whose script fails to load: an error event, no message.
    class Unloadable extends EventTarget {
      onerror: ((event: Event) => void) | null = null;
      onmessage: ((event: MessageEvent) => void) | null = null;
      constructor() {
        super();
        started++;
        setTimeout(() => this.onerror?.(new Event('error')));
      }
      postMessage(): void {}
      terminate(): void {}
    }
    globalThis.Worker = Unloadable as unknown as typeof Worker;
    try {
      const before = _wrapWorkers().ops;
      const op = await removeFirst(group);
      assert.equal(_wrapWorkers().ops, before);
      assert.equal(_wrapWorkers().unavailable, true);
      assert.equal(started, poolSize);
      await checkUnwraps(group, op, 'auto');
      await removeFirst(group);
      assert.equal(started, poolSize);
    } finally {
      globalThis.Worker = saved;
      _resetWrapWorkers();
    }
  });

  it('a worker killed mid-op fails the op with WrapWorkerError worker-timeout, nothing is built, and the next op has a full pool again', async () => {
    _configureWrapWorkers({ taskMs: 1500 });
    // Silently, as a crashed worker: only the deadline tells.
    await workerLostMidOp(group, () => _wrapWorkers().workers[0]!.terminate(), 'worker-timeout', poolSize);
  });

  it('a worker that raises an error mid-op fails the op with WrapWorkerError worker-failed; the pool recovers', async () => {
    await removeFirst(group);
    const building = removeFirst(group);
    await new Promise((resolve) => setTimeout(resolve, 0));
    _wrapWorkers().workers[0]!.dispatchEvent(new ErrorEvent('error', { message: 'out of memory' }));
    await assert.rejects(building, (error: unknown) => error instanceof WrapWorkerError && error.code === 'worker-failed');
    const ops = _wrapWorkers().ops;
    await checkUnwraps(group, await removeFirst(group), 'auto');
    assert.equal(_wrapWorkers().ops, ops + 1);
  });
});
