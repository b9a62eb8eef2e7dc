/**
 * Who may speak for a Yjs client in presence (awareness): the member whose envelopes carry
 * that client's edits in the document, or, for a client with no edits yet, the first member
 * whose sealed presence named it. A member's presence for a client bound to someone else is
 * dropped, so no one can move another's caret, rename it, or clear it. A binding from the
 * document overrides one from presence alone (the state that claimed it is removed).
 * @module
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

/** Clients remembered at most: the oldest bindings from presence alone go first. */
const MAX_CLIENTS = 10_000;

export class PresenceOwners {
  // Yjs client id -> author (hex); in insertion order, for eviction.
  readonly #owner = new Map<number, string>();
  readonly #fromDoc = new Set<number>();

  /** The author (device id, hex) a Yjs client id is bound to, if any. */
  ownerOf(client: number): string | undefined {
    return this.#owner.get(client);
  }

  /** Binds `client` to `author` because the author's envelope carries its edits. Returns the author it displaced from a presence-only binding, if any. */
  bindFromDoc(client: number, author: string): string | undefined {
    const before = this.#owner.get(client);
    if (this.#fromDoc.has(client)) return undefined; // the first envelope's author keeps it
    this.#set(client, author);
    this.#fromDoc.add(client);
    return before !== undefined && before !== author ? before : undefined;
  }

  /**
   * Splits a presence update from `author` into what it may say (re-encoded, or undefined when
   * nothing is left) and the clients it may not speak for; unbound clients become its own.
   */
  filter(update: Uint8Array, author: string): { allowed: Uint8Array | undefined; refused: number[] } {
    const decoder = decoding.createDecoder(update);
    const entries: { client: number; clock: number; state: string }[] = [];
    const refused: number[] = [];
    for (let i = decoding.readVarUint(decoder); i > 0; i--) {
      const client = decoding.readVarUint(decoder);
      const clock = decoding.readVarUint(decoder);
      const state = decoding.readVarString(decoder);
      const owner = this.#owner.get(client);
      if (owner !== undefined && owner !== author) refused.push(client);
      else {
        if (owner === undefined) this.#set(client, author);
        entries.push({ client, clock, state });
      }
    }
    if (entries.length === 0) return { allowed: undefined, refused };
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, entries.length);
    for (const e of entries) {
      encoding.writeVarUint(encoder, e.client);
      encoding.writeVarUint(encoder, e.clock);
      encoding.writeVarString(encoder, e.state);
    }
    return { allowed: encoding.toUint8Array(encoder), refused };
  }

  #set(client: number, author: string): void {
    this.#owner.delete(client);
    this.#owner.set(client, author);
    for (const [oldest] of this.#owner) {
      if (this.#owner.size <= MAX_CLIENTS) break;
      if (this.#fromDoc.has(oldest)) continue;
      this.#owner.delete(oldest);
    }
  }

  /** The bindings from the document, to keep with the local state. */
  fromDoc(): [client: number, author: string][] {
    return [...this.#fromDoc].map((c) => [c, this.#owner.get(c)!]);
  }
}
