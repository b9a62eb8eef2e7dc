/**
 * Which groups' invitations are watched, across relay nodes on one PostgreSQL database: what
 * `invite-state`'s `adminOnline` reads when no connection to the node asked watches the group
 * (only an admin's may; its app does while it holds an invitation open). Each node keeps a row
 * per group it has watchers for in `sealdoc_presence_watchers`, written when its first watcher
 * of the group comes and deleted when its last leaves, and says it is alive in
 * `sealdoc_presence_nodes` every `heartbeatMs` (default 10 s). Another node's rows count while
 * that node was seen within {@link NODE_LIFETIME} heartbeats: a node that crashed (no clean
 * close, which deletes its rows) stops counting within that, and its rows are deleted by the
 * next heartbeat of any node once it has been silent for {@link NODE_FORGOTTEN} heartbeats.
 *
 * Both tables are unlogged (no WAL): they hold only who is online now, which a database crash
 * may lose; a node whose own row is found gone at its heartbeat (a crash of the database
 * truncates unlogged tables, a restore holds none) writes its groups again. The writes of one
 * node go one batch at a time, each writing the groups' state as it is when the batch runs, so
 * they land in order; one that fails (the database out of reach) is tried again at the next
 * heartbeat. Costs: a node writes once per group when it gets its first watcher and when it loses
 * its last (what arrives meanwhile goes in the next statement), and one row every heartbeat; a
 * question is one indexed lookup, asked only when the node has no watcher of the group itself.
 * @module
 */
import type pg from 'pg';
import { hex, unhex } from './bytes.js';

/** A node counts as alive this many heartbeats after it was last seen. */
export const NODE_LIFETIME = 3;
/** A node silent this many heartbeats is forgotten: its rows are deleted. */
export const NODE_FORGOTTEN = 30;

/** Not versioned with the schema (like presence): nothing in it outlives the nodes that wrote it. */
export const WATCHERS_SCHEMA = `
CREATE UNLOGGED TABLE IF NOT EXISTS sealdoc_presence_nodes (
  node TEXT PRIMARY KEY,
  seen TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNLOGGED TABLE IF NOT EXISTS sealdoc_presence_watchers (
  group_id BYTEA NOT NULL,
  node TEXT NOT NULL,
  PRIMARY KEY (group_id, node)
);
CREATE INDEX IF NOT EXISTS sealdoc_presence_watchers_by_node ON sealdoc_presence_watchers (node);
`;

type Query = <R extends pg.QueryResultRow>(text: string, values: unknown[]) => Promise<R[]>;

export class PostgresWatchers {
  // The groups (hex) this node has watchers for now, and those whose row may not say so yet.
  readonly #watched = new Set<string>();
  readonly #dirty = new Set<string>();
  #writing: Promise<void> | undefined;
  #closing = false;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #lifetimeMs: number;
  readonly #forgottenMs: number;

  constructor(
    readonly query: Query,
    /** This node's id (as in its notifications). */
    readonly node: string,
    readonly closed: () => boolean,
    heartbeatMs = 10_000,
  ) {
    this.#lifetimeMs = NODE_LIFETIME * heartbeatMs;
    this.#forgottenMs = NODE_FORGOTTEN * heartbeatMs;
    this.#timer = setInterval(() => void this.heartbeat(), heartbeatMs);
    this.#timer.unref?.();
  }

  /**
   * Says this node is alive; forgets nodes silent too long (their rows go with them). A node
   * whose own row was gone writes its groups again; groups whose write failed are written again.
   */
  async heartbeat(): Promise<void> {
    if (this.#closing || this.closed()) return;
    // What fails here fails the node's next write too, which reports it; this one is tried again at the next beat.
    try {
      const [row] = await this.query<{ fresh: boolean }>(
        `WITH gone AS (DELETE FROM sealdoc_presence_nodes WHERE seen < now() - make_interval(secs => $2::float8 / 1000) AND node <> $1 RETURNING node),
         rows AS (DELETE FROM sealdoc_presence_watchers WHERE node IN (SELECT node FROM gone))
         INSERT INTO sealdoc_presence_nodes (node) VALUES ($1) ON CONFLICT (node) DO UPDATE SET seen = now() RETURNING (xmax = 0) AS fresh`,
        [this.node, this.#forgottenMs],
      );
      if (row?.fresh) for (const group of this.#watched) this.#dirty.add(group);
    } catch {
      return;
    }
    this.#write();
  }

  /** This node's first watcher of `groupId` came (`watched`), or its last left. */
  set(groupId: Uint8Array, watched: boolean): void {
    const group = hex(groupId);
    if (watched) this.#watched.add(group);
    else this.#watched.delete(group);
    this.#dirty.add(group);
    this.#write();
  }

  /** Writes the groups whose row may be wrong, one batch at a time; a batch that fails leaves them for the next heartbeat. */
  #write(): void {
    if (this.#writing || this.#dirty.size === 0 || this.#closing || this.closed()) return;
    const groups = [...this.#dirty];
    this.#dirty.clear();
    const add = groups.filter((g) => this.#watched.has(g)).map((g) => Buffer.from(unhex(g)));
    const remove = groups.filter((g) => !this.#watched.has(g)).map((g) => Buffer.from(unhex(g)));
    this.#writing = this.query(
      `WITH here AS (INSERT INTO sealdoc_presence_nodes (node) VALUES ($1) ON CONFLICT (node) DO UPDATE SET seen = now()),
       gone AS (DELETE FROM sealdoc_presence_watchers WHERE node = $1 AND group_id = ANY($3::bytea[]))
       INSERT INTO sealdoc_presence_watchers (group_id, node) SELECT g, $1 FROM unnest($2::bytea[]) AS g ON CONFLICT DO NOTHING`,
      [this.node, add, remove],
    ).then(
      () => {
        this.#writing = undefined;
        this.#write();
      },
      () => {
        // The database out of reach: these groups are written again at the next heartbeat.
        this.#writing = undefined;
        for (const g of groups) this.#dirty.add(g);
      },
    );
  }

  /** Whether a node other than this one, alive, has a watcher of `groupId`. */
  async elsewhere(groupId: Uint8Array): Promise<boolean> {
    const [row] = await this.query<{ watched: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM sealdoc_presence_watchers w JOIN sealdoc_presence_nodes n ON n.node = w.node
       WHERE w.group_id = $1 AND w.node <> $2 AND n.seen > now() - make_interval(secs => $3::float8 / 1000)) AS watched`,
      [Buffer.from(groupId), this.node, this.#lifetimeMs],
    );
    return row?.watched === true;
  }

  /** Stops the heartbeat and deletes this node's rows (the store is closing); resolves once done or failed. */
  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#timer);
    await this.#writing;
    // A node that cannot say it leaves stops counting a few heartbeats later, as one that crashed.
    await this.query('WITH rows AS (DELETE FROM sealdoc_presence_watchers WHERE node = $1) DELETE FROM sealdoc_presence_nodes WHERE node = $1', [this.node]).catch(() => undefined);
  }
}
