/**
 * A pool of worker threads that make the epoch wraps of a large membership op: each worker takes
 * a range of recipients and makes their whole HPKE wraps (RFC 9180 SealBase: ephemeral key,
 * agreement, key schedule, seal), so the bytes have the same structure on every path. This
 * thread keeps the rest of the op (commitment, lineage, signature); in Node it also takes ranges
 * of the op beside the workers (`here` of the platform's threads). In a browser the workers are
 * Web Workers running the page's own code (wrap-worker.ts, epochs.ts `_wrapSecretsHere`); in Node
 * they are worker_threads running node:crypto (wrap-worker.node.ts, given by the `#native`
 * backend, wrap-thread.node.ts).
 *
 * Why: in Chromium a wrap is one WebCrypto X25519 key generation and agreement (off the page's
 * thread) plus 50 to 65 µs of HKDF and ChaCha20-Poly1305 in JavaScript on it (hpke.ts,
 * `_hpkeSealToMany`); at 10,000 members that JavaScript alone is over half a second. In Node a
 * wrap is about 135 µs of CPU, of which the calling thread's part (agreement, key schedule,
 * seal; the key pairs come from libuv's pool) bounds an op at about 90 µs a wrap. Spread over
 * workers it runs on every core.
 *
 * - Two workers by default, never more than the platform's cores; started by the first large
 *   op, stopped after a minute without work. In Node a worker keeps the process alive only
 *   while it has a task.
 * - In Node the calling thread starts on an op at once, without waiting for the workers to
 *   start (a first op, or one after a worker was lost); they take ranges as they come up. Each
 *   side takes its next range when it is done with one, so the faster does more: the calling
 *   thread, whose keys are made ahead on libuv's pool, and the workers, which make theirs inline
 *   (native.node.ts `wrapAll` says why).
 * - Smaller ops stay on this thread (a page: under 128 wraps; Node: see wrap-thread.node.ts);
 *   so does every op where no worker starts (no `Worker`, a bundle without the worker file, a
 *   Content-Security-Policy without `worker-src 'self'`): then the platform has no workers.
 * - The epoch secret reaches each worker in a buffer transferred with its task (this thread
 *   keeps no extra copy), which the worker wipes when the task is done. Nothing is logged.
 * - A worker that raises an error or exits fails the op it was working for with
 *   {@link WrapWorkerError} `worker-failed`, one that does not answer within 30 s with
 *   `worker-timeout`; the op is not built, and the worker is replaced on the next op.
 *
 * The browser's worker is loaded as `new URL('./wrap-worker.js', import.meta.url)`, a form Vite,
 * webpack and Parcel bundle by themselves; with esbuild, bundle wrap-worker.js beside the app's
 * script (see the demo's scripts/bundle.mjs).
 * @module
 */
import { _native } from '#native';
import { HpkeError, WrapWorkerError } from './errors.js';
import { _webWrapThreads, type _WrapAnswer, type _WrapThread, type _WrapThreads, type _WrapTask } from './wrap-thread.js';

/** This platform's wrap threads: Node's from its native backend, else Web Workers. */
const threads: _WrapThreads = _native?.wrapThreads ?? _webWrapThreads;

const config = {
  enabled: true,
  /** Workers in the pool, at most the platform's cores. */
  workers: 2,
  /** Fewer wraps than this stay on this thread. */
  minWraps: threads.minWraps,
  /** How long a worker may take to load before the pool gives it up. */
  startMs: 10_000,
  /** How long a task may take before its worker counts as dead. */
  taskMs: 30_000,
  /** Idle time after which the workers are stopped. */
  idleMs: 60_000,
};
/** The settings of the pool, for tests and benchmarks. */
export type _WrapWorkerSettings = typeof config;

// A task is a range of recipients: small enough that the workers share an op evenly (each keeps
// two in hand, so it never waits for a round trip), large enough that messages stay few.
const MIN_TASK = 64;
const MAX_TASK = 1024;
const TASKS_PER_WORKER = 2;

interface Pending {
  resolve(wraps: Uint8Array): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
  length: number;
}

interface Slot {
  thread: _WrapThread;
  tasks: Map<number, Pending>;
  alive: boolean;
}

let slots: Slot[] = [];
let starting: Promise<Slot[]> | undefined;
let unavailable = false;
let nextId = 0;
let active = 0;
let idle: ReturnType<typeof setTimeout> | undefined;
const counts = { ops: 0, failures: 0, wrapsHere: 0 };

function poolSize(): number {
  const cores = threads.cores();
  return Math.max(1, Math.min(config.workers, cores && cores > 0 ? cores : config.workers));
}

/** Whether an op of `count` wraps goes to the workers: a large one, on a platform that has them. */
export function _wrapWorkersServe(count: number): boolean {
  return config.enabled && !unavailable && count >= config.minWraps && threads.available();
}

/** The worker stops and every task in its hands fails with `error`; `lost`: it failed (counted), rather than being reset. */
function retire(slot: Slot, error: WrapWorkerError, lost = true): void {
  if (!slot.alive) return;
  slot.alive = false;
  slot.thread.stop();
  if (lost) counts.failures++;
  for (const pending of slot.tasks.values()) {
    clearTimeout(pending.timer);
    pending.reject(error);
  }
  slot.tasks.clear();
}

function answer(slot: Slot, data: _WrapAnswer): void {
  if (!('id' in data)) return;
  const pending = slot.tasks.get(data.id);
  if (!pending) return;
  slot.tasks.delete(data.id);
  if (slot.tasks.size === 0) slot.thread.hold?.(false);
  clearTimeout(pending.timer);
  if ('wraps' in data && data.wraps instanceof Uint8Array && data.wraps.length === pending.length) pending.resolve(data.wraps);
  else if ('error' in data && data.error.hpke) pending.reject(new HpkeError(data.error.hpke, data.error.message));
  else pending.reject(new WrapWorkerError('worker-failed', `a wrap worker failed: ${'error' in data ? data.error.message : 'its answer has the wrong length'}`));
}

/** One worker, once it has loaded and said so; undefined when it cannot start. */
function startSlot(): Promise<Slot | undefined> {
  return new Promise((resolve) => {
    let slot: Slot | undefined;
    const gaveUp = setTimeout(() => {
      thread?.stop();
      resolve(undefined);
    }, config.startMs);
    const thread = threads.start({
      answer(data) {
        if (slot) answer(slot, data);
        else if ('ready' in data) {
          clearTimeout(gaveUp);
          slot = { thread: thread!, tasks: new Map(), alive: true };
          thread!.hold?.(false);
          resolve(slot);
        }
      },
      failed(reason) {
        if (slot) retire(slot, new WrapWorkerError('worker-failed', reason));
        else {
          clearTimeout(gaveUp);
          thread?.stop();
          resolve(undefined);
        }
      },
    });
    if (!thread) {
      clearTimeout(gaveUp);
      resolve(undefined);
    }
  });
}

/** The live workers, started up to the pool's size. None: the platform has no wrap workers. */
function ready(): Promise<Slot[]> {
  slots = slots.filter((s) => s.alive);
  const want = poolSize();
  if (slots.length >= want) return Promise.resolve(slots);
  starting ??= (async () => {
    const started = await Promise.all(Array.from({ length: want - slots.length }, startSlot));
    for (const slot of started) if (slot) slots.push(slot);
    if (slots.length === 0) unavailable = true;
    return slots;
  })().finally(() => {
    starting = undefined;
  });
  return starting;
}

function send(slot: Slot, secret: Uint8Array, info: Uint8Array, recipients: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    const timer = setTimeout(() => retire(slot, new WrapWorkerError('worker-timeout', 'a wrap worker stopped answering')), config.taskMs);
    slot.tasks.set(id, { resolve, reject, timer, length: (recipients.length / 64) * 80 });
    slot.thread.hold?.(true);
    // Copies of their own, each in a plain ArrayBuffer, moved (not copied again) to the worker.
    const copies = { secret: new Uint8Array(secret), recipients: new Uint8Array(recipients) };
    const task: _WrapTask = { id, info, ...copies };
    try {
      slot.thread.send(task, [copies.secret.buffer, copies.recipients.buffer]);
    } catch {
      task.secret.fill(0);
      retire(slot, new WrapWorkerError('worker-failed', 'a task could not be handed to a wrap worker'));
    }
  });
}

function stopWhenIdle(): void {
  clearTimeout(idle);
  idle = setTimeout(() => {
    if (active > 0) return;
    for (const slot of slots) {
      slot.alive = false;
      slot.thread.stop();
    }
    slots = [];
  }, config.idleMs);
  // In Node a pending timer would keep the process alive for a minute after its last op.
  (idle as { unref?: () => void }).unref?.();
}

/**
 * The wraps of `secret` to `recipients` (packed), with HPKE info `info` || device id, made by
 * the pool's workers: n × 80 bytes in their order, as epochs.ts `_wrapSecretsHere` makes them.
 * Where the calling thread takes part (`here`, Node), it starts on the op at once, takes ranges
 * as the workers do, and the workers join as they come up (the first op does not wait for them
 * to start); otherwise the op waits for the workers and is undefined when the platform has none
 * (the caller makes the wraps on its thread). Throws WrapWorkerError when a worker fails mid-op,
 * HpkeError('bad-key') for a low-order recipient key.
 */
export async function _wrapInWorkers(secret: Uint8Array, info: Uint8Array, recipients: Uint8Array): Promise<Uint8Array | undefined> {
  active++;
  try {
    const here = threads.here;
    const starting = ready();
    const pool = here ? slots.filter((s) => s.alive) : await starting;
    if (!here && pool.length === 0) return undefined;
    const count = recipients.length / 64;
    if (count === 0) return new Uint8Array(0);
    // The workers, and this thread where it takes part.
    const shares = here ? poolSize() + 1 : pool.length;
    const size = Math.min(MAX_TASK, Math.max(MIN_TASK, Math.ceil(count / (shares * 4))));
    const out = new Uint8Array(count * 80);
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      // Ranges handed out and not yet made.
      let open = 0;
      let failed: Error | undefined;
      // While this thread makes a range, a failure waits for it: the op ends with nothing of it still running.
      let mine = here !== undefined;
      const take = (length: number): [number, number] => {
        const from = next;
        next = Math.min(count, from + length);
        open++;
        return [from, next];
      };
      const made = (from: number, wraps: Uint8Array): void => {
        out.set(wraps, from * 80);
        if (--open === 0 && next >= count) resolve();
      };
      const fail = (error: Error): void => {
        failed ??= error;
        if (!mine) reject(failed);
      };
      const feed = (slot: Slot): void => {
        while (!failed && slot.alive && slot.tasks.size < TASKS_PER_WORKER && next < count) {
          const [from, to] = take(size);
          send(slot, secret, info, recipients.subarray(from * 64, to * 64)).then((wraps) => {
            made(from, wraps);
            feed(slot);
          }, fail);
        }
      };
      pool.forEach(feed);
      if (!here) return;
      // Workers that finish starting during the op take part in it.
      void starting.then((started) => started.forEach(feed));
      void (async () => {
        // Ranges of its own size while plenty is left (a worker's when larger); near the end, a
        // worker's, so that no one is left waiting for a long last range.
        const own = Math.max(here.range, size);
        while (!failed && next < count) {
          const [from, to] = take(count - next >= 2 * own ? own : size);
          try {
            const wraps = await here.wrap(secret, info, recipients.subarray(from * 64, to * 64));
            counts.wrapsHere += to - from;
            made(from, wraps);
          } catch (error) {
            fail(error as Error);
          }
        }
        mine = false;
        if (failed) reject(failed);
      })();
    });
    counts.ops++;
    return out;
  } finally {
    active--;
    stopWhenIdle();
  }
}

/** Tests and benchmarks: changes the pool's settings; returns those in force before. */
export function _configureWrapWorkers(settings: Partial<_WrapWorkerSettings>): _WrapWorkerSettings {
  const before = { ...config };
  Object.assign(config, settings);
  return before;
}

/** Tests and benchmarks: the live workers (the platform's objects), whether the platform was found to have none, ops made, workers lost, and wraps the calling thread made in pooled ops. */
export function _wrapWorkers<Handle = Worker>(): { workers: Handle[]; unavailable: boolean; ops: number; failures: number; wrapsHere: number } {
  return { workers: slots.filter((s) => s.alive).map((s) => s.thread.handle as Handle), unavailable, ops: counts.ops, failures: counts.failures, wrapsHere: counts.wrapsHere };
}

/** Tests: stops every worker and forgets that the platform had none. */
export function _resetWrapWorkers(): void {
  for (const slot of slots) retire(slot, new WrapWorkerError('worker-failed', 'the wrap workers were reset'), false);
  slots = [];
  unavailable = false;
}
