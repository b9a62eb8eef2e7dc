/// <reference types="node" />
/**
 * A wrap worker (worker_threads) of native.node.ts: it seals one range of an epoch's wraps at a
 * time with Node's native crypto and sends the wraps back. The epoch secret comes in a buffer
 * of its own, transferred, and is wiped here once the range is sealed.
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { _LowOrderKey, _wrapRange } from './hpke-native.node.js';

interface Job {
  secret: Uint8Array;
  infoPrefix: Uint8Array;
  recipients: Uint8Array;
  /** Tests only: fail the way a crashing worker does (an uncaught exception). */
  crash?: boolean;
  /** Tests only: stop answering for this many ms (busy), as a stuck or starved worker would. */
  stall?: number;
}

parentPort!.on('message', (job: Job) => {
  if (job.crash) throw new Error('wrap worker: crash asked for by a test');
  if (job.stall) {
    for (const until = Date.now() + job.stall; Date.now() < until; );
    return;
  }
  const out = new Uint8Array((job.recipients.length / 64) * 80);
  try {
    _wrapRange(job.secret, job.infoPrefix, job.recipients, out);
    parentPort!.postMessage({ out }, [out.buffer]);
  } catch (error) {
    parentPort!.postMessage({ error: error instanceof _LowOrderKey ? 'low-order' : String((error as Error)?.message ?? error) });
  } finally {
    job.secret.fill(0);
  }
});
