/// <reference types="node" />
/**
 * Node's variant of the package's `#native` import: HPKE seals and ChaCha20-Poly1305 on
 * node:crypto (OpenSSL; hpke-native.node.ts), for the epoch wraps of a membership op.
 *
 * Why: an epoch's wraps are one X25519 key generation and one agreement per device. Through
 * WebCrypto each costs several promises and key objects (about 200 µs a wrap here); natively
 * a whole wrap is about 110 µs on one thread. By default the ephemeral key pairs are made on
 * libuv's thread pool, a range ahead (the other core), while the calling thread does the
 * agreements, key schedules and seals (hpke-native.node.ts, _wrapRangeAhead).
 *
 * Worker threads (`_configureWrapPool({ workers })`) are off by default: on Node 20.20
 * (OpenSSL 3.0) here, wraps sealed with node:crypto in worker threads deadlocked within tens
 * of ops, with or without the main thread sealing too (the worker stops answering, at no
 * CPU; cf. nodejs/node#52698). With workers on, ranges of CHUNK wraps are handed to them as
 * each becomes free, and a worker that fails (an uncaught error, an exit, no answer within a
 * minute) rejects the op with WrapWorkerError('worker-failed'), never leaves it pending; it
 * is dropped and the next op starts a new one.
 * @module
 */
import { Worker } from 'node:worker_threads';
import { HpkeError, SealdocCryptoError } from './errors.js';
import { _chachaOpen, _chachaSeal, _LowOrderKey, _sealNative, _wrapRange, _wrapRangeAhead } from './hpke-native.node.js';
import type { _NativeBackend } from './native.js';

/** A wrap worker failed (it threw or exited) while it held part of an op's wraps. */
export class WrapWorkerError extends SealdocCryptoError<'worker-failed'> {}

const LOW_ORDER = 'all-zero X25519 output: the peer key is of low order';
/** Wraps per range handed out: small enough to balance two noisy cores, large enough that messages cost little. */
const CHUNK = 128;
/** Below this many wraps an op is sealed on the main thread alone: a worker's round trip is not worth it. */
const INLINE_BELOW = 2 * CHUNK;

interface PoolWorker {
  worker: Worker;
  /** Jobs sent and not answered yet, oldest first (a worker answers in order; ops may share it). */
  jobs: { resolve(out: Uint8Array): void; reject(error: Error): void; timer: ReturnType<typeof setTimeout> }[];
  failed: Error | undefined;
}

const config = { workers: 0, ahead: true, jobTimeoutMs: 60_000 };
let pool: PoolWorker[] = [];

function failure(w: PoolWorker, error: Error): void {
  w.failed ??= new WrapWorkerError('worker-failed', `a wrap worker failed: ${error.message}`);
  pool = pool.filter((p) => p !== w);
  for (const job of w.jobs.splice(0)) {
    clearTimeout(job.timer);
    job.reject(w.failed);
  }
  // A worker that stopped answering is ended; one that exited is gone already.
  void w.worker.terminate();
}

function spawn(): PoolWorker {
  // No --import hooks (tsx in tests and benches) in the worker: it runs the built JavaScript.
  const worker = new Worker(new URL('./wrap-worker.node.js', import.meta.url), { execArgv: [] });
  const w: PoolWorker = { worker, jobs: [], failed: undefined };
  worker.unref();
  worker.on('message', (m: { out?: Uint8Array; error?: string }) => {
    const job = w.jobs.shift();
    if (w.jobs.length === 0) worker.unref();
    if (!job) return;
    clearTimeout(job.timer);
    if (m.out) job.resolve(m.out);
    else job.reject(m.error === 'low-order' ? new HpkeError('bad-key', LOW_ORDER) : new WrapWorkerError('worker-failed', `a wrap worker failed: ${m.error}`));
  });
  worker.on('error', (error) => failure(w, error));
  worker.on('messageerror', (error) => failure(w, error));
  worker.on('exit', (code) => failure(w, new Error(`it exited with code ${code}`)));
  return w;
}

function run(w: PoolWorker, secret: Uint8Array, infoPrefix: Uint8Array, recipients: Uint8Array): Promise<Uint8Array> {
  if (w.failed) return Promise.reject(w.failed);
  return new Promise((resolve, reject) => {
    // The secret travels in a buffer of its own, moved (not copied) to the worker, which wipes it.
    // (new Uint8Array(view) copies: a Buffer's slice() would be a view of a shared pool.)
    const copy = new Uint8Array(secret);
    const range = new Uint8Array(recipients);
    // A worker that does not answer in time (stuck, starved) fails like one that crashed: the
    // op is rejected, never left pending.
    const timer = setTimeout(() => failure(w, new Error(`no answer in ${config.jobTimeoutMs} ms`)), config.jobTimeoutMs * (w.jobs.length + 1));
    timer.unref();
    w.jobs.push({ resolve, reject, timer });
    // While it holds a job the worker keeps the process alive, or an op could be left unfinished.
    w.worker.ref();
    try {
      w.worker.postMessage({ secret: copy, infoPrefix, recipients: range }, [copy.buffer, range.buffer]);
    } catch (error) {
      copy.fill(0);
      failure(w, error as Error);
    }
  });
}

function lowOrder(error: unknown): never {
  if (error instanceof _LowOrderKey) throw new HpkeError('bad-key', LOW_ORDER);
  throw error;
}

async function wrapAll(secret: Uint8Array, infoPrefix: Uint8Array, recipients: Uint8Array): Promise<Uint8Array> {
  const count = recipients.length / 64;
  const out = new Uint8Array(count * 80);
  if (config.workers === 0 || (count < INLINE_BELOW && pool.every((w) => w.jobs.length === 0))) {
    try {
      if (config.ahead && count >= INLINE_BELOW) await _wrapRangeAhead(secret, infoPrefix, recipients, out);
      else _wrapRange(secret, infoPrefix, recipients, out);
    } catch (error) {
      lowOrder(error);
    }
    return out;
  }
  while (pool.length < config.workers) pool.push(spawn());
  let next = 0;
  let stopped = false;
  const take = (): [number, number] | undefined => {
    if (stopped || next >= count) return undefined;
    const from = next;
    next = Math.min(count, next + CHUNK);
    return [from, next];
  };
  const worker = async (w: PoolWorker) => {
    for (let r = take(); r; r = take()) out.set(await run(w, secret, infoPrefix, recipients.subarray(r[0] * 64, r[1] * 64)), r[0] * 80);
  };
  try {
    await Promise.all(pool.slice(0, config.workers).map(worker));
  } catch (error) {
    stopped = true;
    throw error;
  }
  return out;
}

export const _native: _NativeBackend = {
  name: 'node',
  wrapAll,
  seal(recipientPublicKey, plaintext, info, aad, ephemeralSecret) {
    try {
      return _sealNative(recipientPublicKey, plaintext, info, aad, ephemeralSecret);
    } catch (error) {
      return lowOrder(error);
    }
  },
  aeadSeal: _chachaSeal,
  aeadOpen: _chachaOpen,
};

/**
 * Tests and benchmarks: how many workers an op's wraps use (0: the main thread alone), how
 * long a worker may take to answer. Returns the settings in force before.
 */
export function _configureWrapPool(settings: { workers?: number; ahead?: boolean; jobTimeoutMs?: number }): { workers: number; ahead: boolean; jobTimeoutMs: number } {
  const before = { ...config };
  if (settings.workers !== undefined) config.workers = settings.workers;
  if (settings.ahead !== undefined) config.ahead = settings.ahead;
  if (settings.jobTimeoutMs !== undefined) config.jobTimeoutMs = settings.jobTimeoutMs;
  return before;
}

/** Tests: the live workers (to make one fail). */
export function _wrapWorkers(): Worker[] {
  return pool.map((w) => w.worker);
}

/** Tests: stops every worker now (pending ops fail with WrapWorkerError). */
export async function _stopWrapWorkers(): Promise<void> {
  const all = pool;
  pool = [];
  await Promise.all(all.map((w) => w.worker.terminate()));
}
