/**
 * One transaction for the envelopes of every group's batch that a turn of the event loop
 * flushes. Each group's batch is still checked in order with that group's membership changes
 * (in its own queue, groups.ts `serial`), and still waits for its own write before the group
 * moves on; only the write is shared. The round writes once every batch it expects has put its
 * envelopes (or said it has none), or at the next turn of the event loop, whichever comes first:
 * a batch held up in its group's queue (an ops append under way) writes alone, later, and holds
 * up no other group.
 * @module
 */
import type { NewEnvelope, PutResult, RelayStore } from './store.js';

interface Part {
  envelopes: readonly NewEnvelope[];
  resolve(results: PutResult[]): void;
  reject(error: unknown): void;
}

export class CommitRound {
  readonly #parts: Part[] = [];
  #arrived = 0;
  #closed = false;

  /** A round for `expected` batches; it writes by the next turn of the event loop at the latest. */
  constructor(
    readonly store: RelayStore,
    readonly expected: number,
  ) {
    setImmediate(() => this.#write());
  }

  /** A batch's envelopes: written with the others of the round (alone, when the round has written already); resolves with their results, in order. */
  put(envelopes: readonly NewEnvelope[]): Promise<PutResult[]> {
    if (this.#closed) return this.store.putEnvelopes(envelopes);
    const written = new Promise<PutResult[]>((resolve, reject) => this.#parts.push({ envelopes, resolve, reject }));
    this.#arrive();
    return written;
  }

  /** A batch that writes nothing (every push refused, or a failure before its write). */
  skip(): void {
    if (!this.#closed) this.#arrive();
  }

  #arrive(): void {
    if (++this.#arrived >= this.expected) this.#write();
  }

  #write(): void {
    if (this.#closed) return;
    this.#closed = true;
    const parts = this.#parts;
    if (parts.length === 0) return;
    if (parts.length === 1) {
      this.store.putEnvelopes(parts[0]!.envelopes).then(parts[0]!.resolve, parts[0]!.reject);
      return;
    }
    this.store.putEnvelopes(parts.flatMap((p) => p.envelopes)).then(
      (results) => {
        let at = 0;
        for (const p of parts) {
          p.resolve(results.slice(at, at + p.envelopes.length));
          at += p.envelopes.length;
        }
      },
      (error: unknown) => {
        for (const p of parts) p.reject(error);
      },
    );
  }
}
