/**
 * Envelopes that wait for the membership log to catch up (their head or epoch is not known
 * yet), within a bound on their number and bytes: the oldest are forgotten past it (the peers
 * send them again, since a parked envelope is never counted as held). Several candidates may
 * wait under one (author, seq): a forgery parked first cannot keep the real one out, since
 * nothing under an unknown head can be checked until the log arrives.
 * @module
 */
import { equalBytes } from '@sealdoc/crypto';

/** Candidates under one id, at most. */
const CANDIDATES = 4;

export class Parking {
  readonly #byId = new Map<string, Uint8Array[]>();
  #count = 0;
  #bytes = 0;

  constructor(
    readonly maxEnvelopes: number,
    readonly maxBytes: number,
  ) {}

  /** Parks `bytes` under `id` (unless the same bytes wait already); forgets the oldest past the bounds. */
  park(id: string, bytes: Uint8Array): void {
    const list = this.#byId.get(id) ?? [];
    if (list.some((b) => equalBytes(b, bytes))) return;
    if (list.length >= CANDIDATES) this.#remove(id, list[0]!);
    (this.#byId.get(id) ?? this.#byId.set(id, []).get(id)!).push(bytes);
    this.#count++;
    this.#bytes += bytes.length;
    for (const [oldest, candidates] of this.#byId) {
      if (this.#count <= this.maxEnvelopes && this.#bytes <= this.maxBytes) break;
      if (oldest === id && this.#byId.size === 1) break;
      for (const b of [...candidates]) this.#remove(oldest, b);
    }
  }

  /** Forgets one candidate (`bytes`), or every candidate under `id`. */
  drop(id: string, bytes?: Uint8Array): void {
    for (const b of [...(this.#byId.get(id) ?? [])]) if (!bytes || equalBytes(b, bytes)) this.#remove(id, b);
  }

  #remove(id: string, bytes: Uint8Array): void {
    const list = this.#byId.get(id);
    const i = list?.indexOf(bytes) ?? -1;
    if (!list || i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.#byId.delete(id);
    this.#count--;
    this.#bytes -= bytes.length;
  }

  /** The ids ("author:seq") that candidates wait under. */
  ids(): IterableIterator<string> {
    return this.#byId.keys();
  }

  /** Every candidate waiting, oldest first. */
  all(): Uint8Array[] {
    return [...this.#byId.values()].flat();
  }

  /** Envelopes waiting, and their bytes. */
  get size(): number {
    return this.#count;
  }
  get bytes(): number {
    return this.#bytes;
  }
}
