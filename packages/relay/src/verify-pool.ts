/**
 * Envelope signatures checked off the relay's main thread. In Node, WebCrypto's Ed25519 verify
 * costs the calling thread about as much as the check itself (~0.1-0.15 ms), so on the main
 * thread it holds up every other connection's frames: a pool of worker threads runs
 * `verifyEnvelope` instead (verify-worker.ts), each request carrying the envelope's bytes and
 * the author the main thread resolved from the group's log (the checks that need the log —
 * head, epoch, cutoff, membership — stay where the log is). The same function makes the same
 * checks in the same order; only the thread differs. Requests in flight are bounded (each
 * connection has at most its pushes in flight, `limits.pushesInFlight`, and the pool refuses
 * past `maxQueued`), and a pool
 * of size 0, or one whose threads could not start, verifies inline; so does a turn of the event
 * loop that asks a single check (INLINE_MAX below: the hop would cost more than the check), and
 * one that asks a few while the main thread is mostly idle (INLINE_MAX_IDLE: the threads pay
 * off only when it has no time to spare).
 * @module
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { EnvelopeError, verifyEnvelope, type EnvelopeAuthor, type ReadEnvelope, type VerifyContext } from '@sealdoc/crypto';
import { packVerifyRequest, type VerifyAnswer, type VerifyRequest } from './verify-request.js';

/**
 * Why the pool could not verify an envelope (not a refusal of the envelope): too many wait
 * (`busy`: the relay answers the push `busy`, and the client offers it again), or a thread
 * stopped (the relay answers `internal`).
 */
export class VerifyPoolError extends Error {
  constructor(
    message: string,
    readonly busy = false,
  ) {
    super(message);
    this.name = 'VerifyPoolError';
  }
}

/** Worker threads a relay starts by default: one per core but the main thread's, 1 to 4. */
export function defaultVerifyThreads(): number {
  return Math.min(4, Math.max(1, availableParallelism() - 1));
}

interface Pending {
  resolve(): void;
  reject(error: unknown): void;
}

/** A request not posted yet: what the thread is sent, or what is verified here (the envelope as parsed already, not parsed again). */
interface Outgoing {
  request: VerifyRequest;
  envelope: ReadEnvelope;
  pending: Pending;
}

/** A worker thread and the requests it holds. */
interface Thread {
  worker: Worker;
  /** Resolves once the thread is ready to verify (or is gone). */
  ready: Promise<void>;
  pending: Map<number, Pending>;
  /** When it last answered, or was given work while it held none (performance.now()). */
  heard: number;
}

/**
 * A turn that asks this many checks or fewer has them made here, on the main thread, not on a
 * worker thread. With Ed25519 on node:crypto (one-shot, synchronous: the relay's process and
 * threads choose it, `verifyOnCallingThread` of @sealdoc/crypto) a check costs the calling
 * thread about what the check costs; handing it over costs two messages, a wake-up of each
 * thread and two turns, more CPU than the check itself when a message carries one request
 * (bench:relay at the fixed load, 1,000 pushes/s: about 10 % less relay CPU per update
 * inline).
 */
const INLINE_MAX = 1;

/**
 * While the main thread is mostly idle (its event loop busy less than `inlineBelow` of the last
 * UTILIZATION_WINDOW_MS, VerifyPoolOptions), a turn that asks up to this many checks has them
 * made here too: a hand-over costs more CPU than the check at any batch size (a message each
 * way, a wake-up of each thread, the copy into the request and the thread's own collector), so
 * the threads are worth it only when the main thread has no time to spare. A turn of 32 holds
 * up the others' frames for about 3 ms at most (clients whose timers fire together send a few
 * dozen pushes in one turn at times: bench:relay's 100 clients, about 20). Busier turns, and
 * every turn of a busy main thread but a lone check, go to the threads, in one message, and
 * use the other cores.
 */
const INLINE_MAX_IDLE = 32;

/** The window over which the main thread's utilization is measured (performance.eventLoopUtilization). */
const UTILIZATION_WINDOW_MS = 100;

/** Options of a {@link VerifyPool} beyond its size. */
export interface VerifyPoolOptions {
  /**
   * A thread that holds requests and answers none for this long (ms) is given up: its requests
   * fail (VerifyPoolError: the client pushes again), it is stopped, and the others, or this
   * thread's own checks inline, serve on. A verify takes well under a millisecond; a thread
   * silent for seconds is stuck (a native call that never returns), and without this its
   * requests, and with them its pushers' connections, would wait forever. 10 s by default.
   */
  stallMs?: number;
  /** The module each thread runs (tests give one that never answers); verify-worker.js by default. */
  workerUrl?: URL;
  /**
   * Below this share of its time busy (0 to 1; 0.9 by default), the main thread makes the
   * checks of a turn that asks up to INLINE_MAX_IDLE itself; 0: only a turn's lone check.
   */
  inlineBelow?: number;
}

export class VerifyPool {
  readonly #threads: Thread[] = [];
  // What this turn of the event loop asked: posted together at its end (verify-pool's #post).
  #outbox: Outgoing[] = [];
  #queued = 0;
  #nextId = 0;
  #closed = false;

  #started = false;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  readonly #stallMs: number;
  readonly #workerUrl: URL;
  readonly #inlineBelow: number;
  // The main thread's utilization over the last window: whether it has time to spare for checks.
  #utilization = performance.eventLoopUtilization();
  #windowStart = performance.now();
  // Until a window has passed: idle, unless nothing but a lone check is ever made here (inlineBelow 0).
  #idle: boolean;

  /**
   * `threads` worker threads (0: inline), started at the first envelope to verify; at most
   * `maxQueued` requests in flight (past it, `verify` rejects).
   */
  constructor(
    readonly size: number,
    readonly maxQueued = 100_000,
    options: VerifyPoolOptions = {},
  ) {
    this.#stallMs = options.stallMs ?? 10_000;
    this.#workerUrl = options.workerUrl ?? new URL('./verify-worker.js', import.meta.url);
    this.#inlineBelow = options.inlineBelow ?? 0.9;
    if (!(this.#inlineBelow >= 0 && this.#inlineBelow <= 1)) throw new RangeError('inlineBelow is a share, from 0 to 1');
    this.#idle = this.#inlineBelow > 0;
  }

  /**
   * Starts the threads now (rather than at the first envelope) and resolves once each has
   * loaded what it runs and chosen its Ed25519 implementation, so that no envelope waits for a
   * thread to boot (startRelay calls it before it listens). A thread that fails to start is
   * left out.
   */
  async prepare(): Promise<void> {
    if (!this.#started && !this.#closed) this.#start();
    await Promise.all(this.#threads.map((t) => t.ready));
  }

  #start(): void {
    this.#started = true;
    for (let i = 0; i < this.size; i++) {
      let worker: Worker;
      try {
        worker = new Worker(this.#workerUrl);
      } catch {
        break; // no worker threads here: what started serves, or the checks run inline
      }
      // It keeps the process up while it boots or holds requests (a caller waits for it, perhaps
      // with nothing else to keep the process up), and only then.
      let ready!: () => void;
      const thread: Thread = { worker, pending: new Map(), heard: 0, ready: new Promise<void>((resolve) => (ready = resolve)) };
      worker.on('message', (answers: VerifyAnswer[] | 'ready') => {
        if (answers === 'ready') {
          if (thread.pending.size === 0) worker.unref();
          return ready();
        }
        thread.heard = performance.now();
        for (const answer of answers) {
          const id = typeof answer === 'number' ? answer : answer.id;
          const pending = thread.pending.get(id);
          if (!pending) continue;
          thread.pending.delete(id);
          this.#queued--;
          if (thread.pending.size === 0) worker.unref();
          if (typeof answer === 'number') pending.resolve();
          else if (answer.code !== undefined) pending.reject(new EnvelopeError(answer.code as EnvelopeError['code'], answer.message ?? ''));
          else pending.reject(new VerifyPoolError(`the verify thread failed: ${answer.failure ?? 'unknown'}`));
        }
      });
      worker.on('error', () => this.#lost(thread));
      worker.on('exit', () => this.#lost(thread));
      worker.once('exit', () => ready());
      this.#threads.push(thread);
    }
    if (this.#threads.length > 0) {
      this.#watchdog = setInterval(() => this.#giveUpStalled(), Math.min(1000, this.#stallMs));
      this.#watchdog.unref();
    }
  }

  /** Gives up the threads that hold requests and have answered none for stallMs (VerifyPoolOptions). */
  #giveUpStalled(): void {
    const now = performance.now();
    for (const thread of [...this.#threads]) {
      if (thread.pending.size === 0 || now - thread.heard < this.#stallMs) continue;
      this.#lost(thread, 'a verify thread stopped answering');
      void thread.worker.terminate().catch(() => undefined);
    }
  }

  /** Worker threads serving now. */
  get threads(): number {
    return this.#threads.length;
  }

  /**
   * Verifies an envelope (as readEnvelope parsed it) as `verifyEnvelope(envelope, context)` would:
   * the author is resolved here, from the context (its errors thrown here, as verifyEnvelope
   * throws them, and only for a kind it accepts, so that a wrong kind is told first, as there),
   * and the rest of the checks run on a worker thread, or here on the parse. Rejects with the
   * EnvelopeError verifyEnvelope throws.
   */
  async verify(envelope: ReadEnvelope, context: VerifyContext): Promise<void> {
    if (!this.#started && !this.#closed) this.#start();
    if (this.#threads.length === 0) {
      await verifyEnvelope(envelope, context);
      return;
    }
    const { header, bytes } = envelope;
    if (this.#queued >= this.maxQueued) throw new VerifyPoolError('too many envelopes waiting to be verified', true);
    let author: EnvelopeAuthor | undefined;
    const kinds = context.kinds;
    if (!kinds || kinds.includes(header.kind)) {
      const found = context.author(header);
      author = found && { signingPublicKey: found.signingPublicKey, role: found.role };
    }
    // Ids wrap at 2^32 (a u32 on the wire); none is pending that long.
    const id = (this.#nextId = (this.#nextId + 1) >>> 0);
    this.#queued++;
    return new Promise<void>((resolve, reject) => {
      if (this.#outbox.length === 0) setImmediate(() => this.#post());
      this.#outbox.push({ request: { id, bytes, groupId: context.groupId, docId: context.docId, kinds, author }, envelope, pending: { resolve, reject } });
    });
  }

  /**
   * The requests of this turn of the event loop: verified here when there are few (INLINE_MAX,
   * or INLINE_MAX_IDLE while the main thread is mostly idle), else shared among the threads,
   * each its part in one message (each request its own buffer, transferred), more to the
   * threads holding fewer.
   */
  #post(): void {
    const batch = this.#outbox;
    this.#outbox = [];
    if (batch.length === 0) return;
    if (batch.length <= INLINE_MAX || this.#threads.length === 0 || (batch.length <= INLINE_MAX_IDLE && this.#mostlyIdle())) {
      for (const { request, envelope, pending } of batch) this.#verifyHere(request, envelope, pending);
      return;
    }
    const parts = new Map<Thread, Uint8Array<ArrayBuffer>[]>();
    for (const { request, pending } of batch) {
      let thread = this.#threads[0]!;
      for (const t of this.#threads) if (t.pending.size < thread.pending.size) thread = t;
      if (thread.pending.size === 0) {
        thread.worker.ref();
        thread.heard = performance.now();
      }
      thread.pending.set(request.id, pending);
      let part = parts.get(thread);
      if (!part) parts.set(thread, (part = []));
      part.push(packVerifyRequest(request));
    }
    for (const [thread, part] of parts)
      thread.worker.postMessage(
        part,
        part.map((b) => b.buffer),
      );
  }

  /** Whether the main thread's event loop was busy less than `inlineBelow` of the last window (measured again once a window has passed). */
  #mostlyIdle(): boolean {
    const now = performance.now();
    if (now - this.#windowStart >= UTILIZATION_WINDOW_MS) {
      const current = performance.eventLoopUtilization();
      this.#idle = performance.eventLoopUtilization(current, this.#utilization).utilization < this.#inlineBelow;
      this.#utilization = current;
      this.#windowStart = now;
    }
    return this.#idle;
  }

  /** The check a thread makes (verify-worker.ts), made on this thread. */
  #verifyHere({ groupId, docId, kinds, author }: VerifyRequest, envelope: ReadEnvelope, pending: Pending): void {
    verifyEnvelope(envelope, { groupId, ...(docId ? { docId } : {}), ...(kinds ? { kinds } : {}), author: () => author })
      .finally(() => this.#queued--)
      .then(pending.resolve, pending.reject);
  }

  /** A thread that stopped: the requests it held fail (the relay answers `internal`; the client pushes again); the others serve on. */
  #lost(thread: Thread, why = 'a verify thread stopped'): void {
    const index = this.#threads.indexOf(thread);
    if (index !== -1) this.#threads.splice(index, 1);
    for (const [id, pending] of thread.pending) {
      thread.pending.delete(id);
      this.#queued--;
      pending.reject(new VerifyPoolError(this.#closed ? 'the relay is closing' : why));
    }
  }

  /** Stops the threads; what is pending fails. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#watchdog);
    const outbox = this.#outbox;
    this.#outbox = [];
    for (const { pending } of outbox) {
      this.#queued--;
      pending.reject(new VerifyPoolError('the relay is closing'));
    }
    const threads = this.#threads.splice(0);
    for (const thread of threads) this.#lost(thread);
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }
}
