/// <reference types="node" />
/**
 * Node's wrap threads for the pool (wrap-pool.ts): worker_threads running wrap-worker.node.ts,
 * which makes its wraps with node:crypto as this thread would (native.node.ts `wrapAll`: the
 * ephemeral key pairs on libuv's pool a range ahead, agreement, key schedule and seal on the
 * worker). Given to the pool through the `#native` backend; never in a browser bundle.
 *
 * A worker keeps the process alive only while it has a task: a script whose last act is a
 * removal waits for its wraps, and a process with idle workers exits as if it had none.
 *
 * Before 2026-12-07 a pool of worker threads here deadlocked within tens of ops; the cause was
 * the JWK export of keys made by generateKeyPairSync (hpke-native.node.ts `ephemeral`), which
 * stopped the main thread as well. No path exports such a key any more, and the stress test of
 * `wrap-threads.node.test.ts` runs hundreds of ops through the workers beside seals on the main
 * thread, under a 1 MB young generation.
 * @module
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { _WrapThreads } from './wrap-thread.js';

/**
 * Smaller ops stay on the calling thread, where a wrap's CPU is split with libuv's pool already
 * (the keys made ahead). From 512 wraps the workers share an op with the calling thread, which
 * does not wait for them to start (wrap-pool.ts); below it they did not pay for their start and
 * their messages (docs/performance.md, "Node's removal: the calling thread shares the op").
 */
const MIN_WRAPS = 512;

/** worker_threads for the wrap pool. */
export const _nodeWrapThreads: _WrapThreads = {
  available: () => true,
  start(events) {
    let worker: Worker;
    try {
      // No --import hooks (tsx in tests and benches) in the worker: it runs the built JavaScript.
      worker = new Worker(new URL('./wrap-worker.node.js', import.meta.url), { execArgv: [] });
    } catch {
      return undefined;
    }
    worker.on('message', events.answer);
    worker.on('error', () => events.failed('a wrap worker raised an error'));
    worker.on('messageerror', () => events.failed('a wrap worker sent an answer that could not be read'));
    worker.on('exit', (code) => events.failed(`a wrap worker exited (code ${code})`));
    return {
      handle: worker,
      send: (task, transfer) => worker.postMessage(task, transfer),
      stop: () => void worker.terminate(),
      hold: (busy) => (busy ? worker.ref() : worker.unref()),
    };
  },
  cores: availableParallelism,
  minWraps: MIN_WRAPS,
};
