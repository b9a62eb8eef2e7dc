/**
 * A relay store in memory: for tests, and for a relay that keeps nothing across restarts.
 * @module
 */
import { equalBytes, hex } from './bytes.js';
import { RelayStoreError, type IndexEntry, type NewEnvelope, type PutResult, type RelayStore, type StoredEnvelope } from './store.js';

const copy = (e: StoredEnvelope): StoredEnvelope => ({ ...e, groupId: e.groupId.slice(), docId: e.docId.slice(), author: e.author.slice(), bytes: e.bytes.slice() });

export class MemoryRelayStore implements RelayStore {
  readonly #logs = new Map<string, { id: Uint8Array; ops: Uint8Array[] }>();
  readonly #byCursor = new Map<number, StoredEnvelope>();
  // group:doc -> envelopes in cursor order; group:doc:author:seq -> cursor; group:author -> highest seq
  readonly #docs = new Map<string, StoredEnvelope[]>();
  readonly #ids = new Map<string, number>();
  readonly #highest = new Map<string, number>();
  #cursor = 0;
  #closed = false;

  #check(): void {
    if (this.#closed) throw new RelayStoreError('closed', 'this store was closed');
  }

  async loadOps(groupId: Uint8Array): Promise<Uint8Array[]> {
    this.#check();
    return (this.#logs.get(hex(groupId))?.ops ?? []).map((op) => op.slice());
  }

  async appendOps(groupId: Uint8Array, fromIndex: number, ops: readonly Uint8Array[]): Promise<boolean> {
    this.#check();
    const log = this.#logs.get(hex(groupId)) ?? { id: groupId.slice(), ops: [] };
    if (log.ops.length !== fromIndex) return false;
    log.ops.push(...ops.map((op) => op.slice()));
    this.#logs.set(hex(groupId), log);
    return true;
  }

  async groups(): Promise<Uint8Array[]> {
    this.#check();
    return [...this.#logs.values()].map((l) => l.id.slice());
  }

  async putEnvelopes(envelopes: readonly NewEnvelope[]): Promise<PutResult[]> {
    this.#check();
    return envelopes.map((e) => {
      const id = `${hex(e.groupId)}:${hex(e.docId)}:${hex(e.author)}:${e.seq}`;
      const existing = this.#ids.get(id);
      if (existing !== undefined) return { outcome: equalBytes(this.#byCursor.get(existing)!.bytes, e.bytes) ? 'duplicate' : 'conflict', cursor: existing };
      const stored = copy({ ...e, cursor: ++this.#cursor });
      this.#byCursor.set(stored.cursor, stored);
      this.#ids.set(id, stored.cursor);
      const doc = `${hex(e.groupId)}:${hex(e.docId)}`;
      this.#docs.set(doc, [...(this.#docs.get(doc) ?? []), stored]);
      const author = `${hex(e.groupId)}:${hex(e.author)}`;
      this.#highest.set(author, Math.max(this.#highest.get(author) ?? -1, e.seq));
      return { outcome: 'stored', cursor: stored.cursor };
    });
  }

  async envelopesAfter(groupId: Uint8Array, docId: Uint8Array, cursor: number, limit: number): Promise<StoredEnvelope[]> {
    this.#check();
    const all = this.#docs.get(`${hex(groupId)}:${hex(docId)}`) ?? [];
    return all.filter((e) => e.cursor > cursor).slice(0, limit).map(copy);
  }

  async envelopesAt(cursors: readonly number[]): Promise<StoredEnvelope[]> {
    this.#check();
    return [...new Set(cursors)].sort((a, b) => a - b).flatMap((c) => {
      const e = this.#byCursor.get(c);
      return e ? [copy(e)] : [];
    });
  }

  async index(groupId: Uint8Array, docId: Uint8Array): Promise<IndexEntry[]> {
    this.#check();
    return (this.#docs.get(`${hex(groupId)}:${hex(docId)}`) ?? []).map((e) => ({ author: e.author.slice(), seq: e.seq, cursor: e.cursor }));
  }

  async highestSeq(groupId: Uint8Array, author: Uint8Array): Promise<number | undefined> {
    this.#check();
    return this.#highest.get(`${hex(groupId)}:${hex(author)}`);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
