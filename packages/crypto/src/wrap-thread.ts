/**
 * A wrap thread of the pool (wrap-pool.ts), on every platform: what the pool tells it, what it
 * answers, and how a page starts one (a Web Worker of wrap-worker.ts). Node starts its own
 * (worker_threads, wrap-thread.node.ts) and gives it to the pool through the `#native` backend.
 * @module
 */
import { _wipe } from './bytes.js';
import { HpkeError, type HpkeErrorCode } from './errors.js';

/** A task as a thread takes it. Both buffers are transferred: the sender keeps no copy. */
export interface _WrapTask {
  id: number;
  secret: Uint8Array;
  /** HPKE info before the recipient's device id (epochs.ts `wrapInfo` of the group and epoch). */
  info: Uint8Array;
  /** n × (device id 32 · X25519 public key 32), as epochs.ts `_packRecipients` makes them. */
  recipients: Uint8Array;
}

/** What a thread says: that it is ready, a task's wraps (n × 80 bytes), or why a task failed. */
export type _WrapAnswer = { ready: true } | { id: number; wraps: Uint8Array } | { id: number; error: { hpke?: HpkeErrorCode; message: string } };

/** What the pool hears of a thread: its answers, and that it failed (raised, exited, sent what cannot be read). */
export interface _WrapThreadEvents {
  answer(answer: _WrapAnswer): void;
  failed(reason: string): void;
}

/** A started thread, as the pool drives it. */
export interface _WrapThread<Handle = unknown> {
  /** The platform's worker object (tests reach it to make it fail). */
  readonly handle: Handle;
  send(task: _WrapTask, transfer: ArrayBuffer[]): void;
  stop(): void;
  /** Whether the thread keeps the process alive (Node: only while it has tasks); absent where there is no such notion. */
  hold?(busy: boolean): void;
}

/** How a platform starts wrap threads: the pool's size (at most `cores`) and the smallest op worth a thread's round trip. */
export interface _WrapThreads {
  /** Whether the platform can start one at all (a page without `Worker` cannot). */
  available(): boolean;
  start(events: _WrapThreadEvents): _WrapThread | undefined;
  cores(): number | undefined;
  minWraps: number;
  /**
   * Where the calling thread takes ranges of an op beside the workers: how it makes a range of
   * wraps (the same bytes a worker makes), and the size of range it takes while plenty is left
   * (`range`: Node's ranges make their keys ahead on libuv's pool, and a range waits for its
   * first batch of them, so that longer ranges waste less). Absent where the calling thread only
   * waits (a page: its thread stays free for the interface).
   */
  here?: {
    wrap(secret: Uint8Array, info: Uint8Array, recipients: Uint8Array): Promise<Uint8Array>;
    range: number;
  };
}

/** A page's wrap threads: Web Workers (module type) of wrap-worker.ts. */
export const _webWrapThreads: _WrapThreads = {
  available: () => typeof Worker === 'function',
  start(events) {
    let worker: Worker;
    try {
      worker = new Worker(new URL('./wrap-worker.js', import.meta.url), { type: 'module' });
    } catch {
      return undefined;
    }
    worker.onmessage = (event: MessageEvent<_WrapAnswer>) => events.answer(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      events.failed('a wrap worker raised an error');
    };
    worker.onmessageerror = () => events.failed('a wrap worker sent an answer that could not be read');
    return { handle: worker, send: (task, transfer) => worker.postMessage(task, transfer), stop: () => worker.terminate() };
  },
  cores: () => globalThis.navigator?.hardwareConcurrency,
  minWraps: 128,
};

/**
 * A thread's side of a task: its wraps by `wrap`, or the failure's HPKE code and the error's
 * name, never key bytes; the secret is wiped whatever the outcome. Both workers answer so.
 */
export async function _answerWrapTask(task: _WrapTask, wrap: (secret: Uint8Array, info: Uint8Array, recipients: Uint8Array) => Promise<Uint8Array>): Promise<{ answer: _WrapAnswer; transfer: ArrayBuffer[] }> {
  try {
    const wraps = await wrap(task.secret, task.info, task.recipients);
    return { answer: { id: task.id, wraps }, transfer: [wraps.buffer as ArrayBuffer] };
  } catch (error) {
    return { answer: { id: task.id, error: error instanceof HpkeError ? { hpke: error.code, message: error.message } : { message: error instanceof Error ? error.name : 'unknown error' } }, transfer: [] };
  } finally {
    _wipe(task.secret);
  }
}
