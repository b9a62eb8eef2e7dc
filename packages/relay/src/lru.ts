/**
 * A least-recently-used map bounded by a total weight (bytes, ranges): what the relay keeps in
 * memory about groups and documents, so that no client can make it keep more.
 * @module
 */
export class WeightedLru<K, V> {
  readonly #entries = new Map<K, { value: V; weight: number }>();
  #total = 0;

  constructor(readonly capacity: number) {}

  /** The value, now the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Keeps `value` with its weight, dropping the least recently used past the capacity (never the one just set). */
  set(key: K, value: V, weight: number): void {
    this.delete(key);
    this.#entries.set(key, { value, weight });
    this.#total += weight;
    for (const [k, e] of this.#entries) {
      if (this.#total <= this.capacity || k === key) break;
      this.#entries.delete(k);
      this.#total -= e.weight;
    }
  }

  /** Changes the weight of an entry that grew (or shrank), evicting others as needed. */
  reweigh(key: K, weight: number): void {
    const entry = this.#entries.get(key);
    if (entry) this.set(key, entry.value, weight);
  }

  delete(key: K): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#total -= entry.weight;
  }

  /** Drops every entry. */
  clear(): void {
    this.#entries.clear();
    this.#total = 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The total weight held. */
  get weight(): number {
    return this.#total;
  }
}
