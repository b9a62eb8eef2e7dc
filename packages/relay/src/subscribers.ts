/**
 * Who subscribes to each document, by its key ("group:doc"): what fan-out reads, so that an
 * envelope costs the relay its document's subscribers, not every open connection. Kept in step
 * with each connection's own subscriptions (subscriptions.ts adds and removes; a connection
 * forgotten leaves every set it was in), so it holds no more than they do.
 * @module
 */
import type { Client } from './connection.js';

export class DocSubscribers {
  readonly #byDoc = new Map<string, Set<Client>>();

  add(key: string, client: Client): void {
    let set = this.#byDoc.get(key);
    if (!set) this.#byDoc.set(key, (set = new Set()));
    set.add(client);
  }

  remove(key: string, client: Client): void {
    const set = this.#byDoc.get(key);
    if (!set) return;
    set.delete(client);
    if (set.size === 0) this.#byDoc.delete(key);
  }

  /** A connection that is gone: it leaves the sets of every document it subscribed to. */
  forget(client: Client): void {
    for (const key of client.subscriptions.keys()) this.remove(key, client);
  }

  /** The document's subscribers now (a copy is not made: do not subscribe or unsubscribe while iterating). */
  of(key: string): ReadonlySet<Client> {
    return this.#byDoc.get(key) ?? EMPTY;
  }

  /** Documents with at least one subscriber. */
  get size(): number {
    return this.#byDoc.size;
  }
}

const EMPTY: ReadonlySet<Client> = new Set();
