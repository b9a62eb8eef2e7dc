/**
 * The relay store for several relay nodes behind a load balancer: PostgreSQL (pg). Every
 * write is one transaction; what one node stores is announced to the others with
 * LISTEN/NOTIFY (delivered on commit), so that clients connected to different nodes see each
 * other's edits at once. Presence (sealed awareness, beacons), which is never stored, crosses
 * nodes the same way (postgres-presence.ts); which groups have an admin online, in two small
 * unlogged tables (postgres-watchers.ts).
 *
 * Cursors come from a sequence: a transaction may commit after another that took a larger
 * cursor, so a node delivers what it hears of from the others whatever the cursor, and the
 * `have` exchange fills any gap a resumed subscription could leave.
 * @module
 */
import { createHash, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type pg from 'pg';
import { equalBytes, hex, unhex } from './bytes.js';
import { SchemaVersionError } from './migrations.js';
import { migratePostgres } from './migrations-postgres.js';
import { PostgresPresence, PRESENCE_CHANNEL, PRESENCE_SCHEMA } from './postgres-presence.js';
import { PostgresWatchers, WATCHERS_SCHEMA } from './postgres-watchers.js';

/** pg, loaded when a PostgreSQL store connects: an optional peer that a relay on SQLite need not install. */
function loadPg(): typeof pg {
  try {
    return createRequire(import.meta.url)('pg') as typeof pg;
  } catch (error) {
    throw new Error(`PostgreSQL needs the pg package (npm install pg): ${error instanceof Error ? error.message : String(error)}`);
  }
}
import {
  RelayStoreError,
  type IndexEntry,
  type NewEnvelope,
  type OpsEffect,
  type PutResult,
  type RelayStore,
  type Standing,
  type StoredCovers,
  type StoredEnvelope,
  type StoredInvitation,
  type StoredJoinRequest,
  type StoreEvent,
  type Usage,
} from './store.js';

/**
 * The channels of one deployment. NOTIFY channels span the whole database, not a schema: two
 * deployments in two schemas of one database (tests do this) would hear each other. The
 * channels of schema `public` keep their first names, so nodes of older releases still hear
 * newer ones; another schema's carry a hash of its name.
 */
// A document's advisory lock: a 64-bit hash of it (a stranger's document cannot be made to
// share a victim's lock, nor the schema's migration lock, but by chance).
const docLockKey = (groupId: Uint8Array, docId: Uint8Array): bigint => createHash('sha256').update('sealdoc/doc-lock\0').update(groupId).update(docId).digest().readBigInt64BE(0);

function channelsOf(schema: string): { store: string; presence: string } {
  if (schema === 'public') return { store: 'sealdoc_relay', presence: PRESENCE_CHANNEL };
  const tag = createHash('sha256').update(schema).digest('hex').slice(0, 16);
  return { store: `sealdoc_relay_${tag}`, presence: `${PRESENCE_CHANNEL}_${tag}` };
}

const ADD_USAGE =
  'INSERT INTO sealdoc_usage (member_id, groups, documents, bytes) VALUES ($1, $2, $3, $4) ON CONFLICT (member_id) DO UPDATE SET groups = sealdoc_usage.groups + excluded.groups, documents = sealdoc_usage.documents + excluded.documents, bytes = sealdoc_usage.bytes + excluded.bytes';

// A revocation is kept for good: a revoked device never comes back into that group.
const ADD_REVOKED = 'INSERT INTO sealdoc_revoked_devices (device_id, group_id) SELECT d, $1 FROM unnest($2::bytea[]) AS d ON CONFLICT DO NOTHING';

interface Row {
  cursor: string;
  group_id: Buffer;
  doc_id: Buffer;
  author: Buffer;
  seq: string;
  bytes: Buffer;
}

const toEnvelope = (r: Row): StoredEnvelope => ({
  cursor: Number(r.cursor),
  groupId: new Uint8Array(r.group_id),
  docId: new Uint8Array(r.doc_id),
  author: new Uint8Array(r.author),
  seq: Number(r.seq),
  bytes: new Uint8Array(r.bytes),
});
// The LISTEN connection, as pg_stat_activity names it for an operator.
const LISTENER_NAME = 'sealdoc-relay-listen';
// Between attempts to listen again: the first, and the longest.
const RELISTEN_FIRST_MS = 250;
const RELISTEN_MAX_MS = 10_000;

const buf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export class PostgresRelayStore implements RelayStore {
  readonly #pool: pg.Pool;
  readonly #node = randomUUID();
  #listener: pg.Client | undefined;
  // Why this node cannot hear the others now (its LISTEN connection is lost), if it cannot.
  #deaf: string | undefined;
  #relistenTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #listeners: ((event: StoreEvent) => void)[] = [];
  #closed = false;
  #closing = false;
  readonly #presence: PostgresPresence;
  readonly #watchers: PostgresWatchers;

  readonly #channels: { store: string; presence: string };

  private constructor(pool: pg.Pool, channels: { store: string; presence: string }, heartbeatMs: number | undefined) {
    this.#pool = pool;
    this.#channels = channels;
    this.#presence = new PostgresPresence(
      channels.presence,
      (text, values) => this.#query(text, values),
      this.#node,
      (event) => this.#emit(event),
      () => this.#closed,
    );
    this.#watchers = new PostgresWatchers((text, values) => this.#query(text, values), this.#node, () => this.#closed, heartbeatMs);
  }

  /**
   * Connects to `url` and brings the schema to this release's (creating the tables if they are
   * missing; migrations-postgres.ts: once, whichever nodes start together). Throws
   * {@link SchemaVersionError} for a schema a newer release wrote. `max`: the pool's size (default
   * 10); `heartbeatMs`: how often this node tells the others it is alive (default 10 s; its
   * admins online count for three of these after the last: postgres-watchers.ts).
   */
  static async connect(url: string, options: { max?: number; heartbeatMs?: number } = {}): Promise<PostgresRelayStore> {
    const pool = new (loadPg().Pool)({ connectionString: url, max: options.max ?? 10 });
    pool.on('error', () => undefined); // an idle client lost: the pool replaces it
    let store: PostgresRelayStore | undefined;
    try {
      const { rows } = await pool.query<{ schema: string | null }>('SELECT current_schema() AS schema');
      store = new PostgresRelayStore(pool, channelsOf(rows[0]?.schema ?? 'public'), options.heartbeatMs);
      await store.#transaction(async (c) => {
        await migratePostgres(c, 'the PostgreSQL database');
        await c.query(PRESENCE_SCHEMA);
        await c.query(WATCHERS_SCHEMA);
      });
      await store.#listen(url);
      await store.#watchers.heartbeat();
    } catch (error) {
      if (store) await store.close();
      else await pool.end();
      throw error instanceof RelayStoreError && error.cause instanceof SchemaVersionError ? error.cause : error;
    }
    return store;
  }

  /**
   * One connection LISTENs for what the other nodes store. Lost (the database restarted, a proxy
   * or an operator cut it), it is made again, after 250 ms doubling to 10 s between attempts:
   * meanwhile the node hears nothing, so it says so (`events-lost`, and its probe fails), and
   * once it listens again it says that what it missed must be read again (`events-resumed`).
   */
  async #listen(url: string): Promise<void> {
    const client = new (loadPg().Client)({ connectionString: url, application_name: LISTENER_NAME });
    this.#listener = client;
    const lost = (error?: Error) => {
      if (this.#listener !== client) return;
      this.#listener = undefined;
      void client.end().catch(() => undefined);
      this.#relisten(url, error);
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', ({ channel, payload }) => {
      if (channel === this.#channels.presence) return this.#presence.arrived(payload);
      let event: { t: string; g: string; d?: string; c?: number; a?: string; s?: number; l?: number; i?: string; r?: string; n: string; m?: number };
      try {
        event = JSON.parse(payload ?? '');
      } catch {
        return;
      }
      if (event.n === this.#node) return;
      const out: StoreEvent =
        event.t === 'e'
          ? { type: 'envelope', groupId: unhex(event.g), docId: unhex(event.d ?? ''), cursor: event.c ?? 0, author: unhex(event.a ?? ''), seq: event.s ?? 0 }
          : event.t === 'j'
            ? { type: 'join-request', groupId: unhex(event.g), inviteId: unhex(event.i ?? ''), requester: unhex(event.r ?? '') }
            : { type: 'ops', groupId: unhex(event.g), length: event.l ?? 0 };
      // When the other node sent it (its clock): how late this node hears, for the relay's metrics.
      this.#emit(typeof event.m === 'number' ? { ...out, sentAt: event.m } : out);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.#channels.store}; LISTEN ${this.#channels.presence}`);
    } catch (error) {
      if (this.#listener === client) this.#listener = undefined;
      await client.end().catch(() => undefined);
      throw error;
    }
    this.#deaf = undefined;
  }

  /** The LISTEN connection was lost (`error`, when it says why): tells the relay, then tries again until it listens or the store closes. */
  #relisten(url: string, error: Error | undefined): void {
    if (this.#closing || this.#closed || this.#deaf) return;
    const detail = `this node cannot hear the other relay nodes: its LISTEN connection to PostgreSQL was lost${error ? ` (${error.message})` : ''}; connecting again`;
    this.#deaf = detail;
    this.#emit({ type: 'events-lost', detail });
    let delay = RELISTEN_FIRST_MS;
    const attempt = () => {
      this.#relistenTimer = undefined;
      if (this.#closing || this.#closed) return;
      this.#listen(url).then(
        () => {
          if (this.#closing || this.#closed) return;
          this.#emit({ type: 'events-resumed' });
        },
        () => {
          delay = Math.min(delay * 2, RELISTEN_MAX_MS);
          this.#relistenTimer = setTimeout(attempt, delay);
          this.#relistenTimer.unref?.();
        },
      );
    };
    this.#relistenTimer = setTimeout(attempt, delay);
    this.#relistenTimer.unref?.();
  }

  #emit(event: StoreEvent): void {
    for (const l of this.#listeners) l(event);
  }

  async #transaction<T>(body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.#closed) throw new RelayStoreError('closed', 'this store was closed');
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw new RelayStoreError('io', `PostgreSQL: ${(error as Error).message}`, { cause: error });
    }
    try {
      await client.query('BEGIN');
      const result = await body(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (error instanceof RelayStoreError) throw error;
      throw new RelayStoreError('io', `PostgreSQL: ${(error as Error).message}`, { cause: error });
    } finally {
      client.release();
    }
  }

  async #query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<R[]> {
    if (this.#closed) throw new RelayStoreError('closed', 'this store was closed');
    try {
      return (await this.#pool.query<R>(text, values)).rows;
    } catch (error) {
      throw new RelayStoreError('io', `PostgreSQL: ${(error as Error).message}`, { cause: error });
    }
  }

  #notify(client: pg.PoolClient, payload: Record<string, unknown>): Promise<unknown> {
    return client.query('SELECT pg_notify($1, $2)', [this.#channels.store, JSON.stringify({ ...payload, n: this.#node, m: Date.now() })]);
  }

  async loadOps(groupId: Uint8Array): Promise<Uint8Array[]> {
    const rows = await this.#query<{ op: Buffer }>('SELECT op FROM sealdoc_ops WHERE group_id = $1 ORDER BY idx', [buf(groupId)]);
    return rows.map((r) => new Uint8Array(r.op));
  }

  async appendOps(groupId: Uint8Array, fromIndex: number, ops: readonly Uint8Array[], effect: OpsEffect): Promise<boolean> {
    try {
      return await this.#transaction(async (c) => {
        // The log's length: its last index + 1, found by the primary key (no scan of the log).
        const { rows } = await c.query<{ n: string }>('SELECT coalesce(max(idx) + 1, 0) AS n FROM sealdoc_ops WHERE group_id = $1', [buf(groupId)]);
        if (Number(rows[0]!.n) !== fromIndex) return false;
        for (const [i, op] of ops.entries()) {
          await c.query('INSERT INTO sealdoc_ops (group_id, idx, op) VALUES ($1, $2, $3)', [buf(groupId), fromIndex + i, buf(op)]);
          await c.query(ADD_USAGE, [buf(effect.authors[i]!), fromIndex + i === 0 ? 1 : 0, 0, op.length]);
        }
        await c.query('DELETE FROM sealdoc_members WHERE group_id = $1 AND member_id = ANY($2::bytea[])', [buf(groupId), effect.left.map(buf)]);
        await c.query('INSERT INTO sealdoc_members (group_id, member_id) SELECT $1, m FROM unnest($2::bytea[]) AS m ON CONFLICT DO NOTHING', [buf(groupId), effect.joined.map(buf)]);
        if (effect.revoked?.length) await c.query(ADD_REVOKED, [buf(groupId), effect.revoked.map(buf)]);
        await this.#notify(c, { t: 'o', g: hex(groupId), l: fromIndex + ops.length });
        return true;
      });
    } catch (error) {
      // Another node appended at the same index first: a unique violation, so not at its length.
      if ((error as { cause?: { code?: string } }).cause?.code === '23505') return false;
      throw error;
    }
  }

  async membership(groupId: Uint8Array, memberId: Uint8Array): Promise<Standing> {
    const [row] = await this.#query<{ member: boolean; known: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM sealdoc_members WHERE group_id = $1 AND member_id = $2) AS member, EXISTS (SELECT 1 FROM sealdoc_ops WHERE group_id = $1) AS known',
      [buf(groupId), buf(memberId)],
    );
    return row!.member ? 'member' : row!.known ? 'not-a-member' : 'unknown-group';
  }

  async groupsOf(memberId: Uint8Array): Promise<Uint8Array[]> {
    const rows = await this.#query<{ group_id: Buffer }>('SELECT group_id FROM sealdoc_members WHERE member_id = $1', [buf(memberId)]);
    return rows.map((r) => new Uint8Array(r.group_id));
  }

  async unindexedGroups(): Promise<Uint8Array[]> {
    const rows = await this.#query<{ group_id: Buffer }>('SELECT DISTINCT group_id FROM sealdoc_ops o WHERE NOT EXISTS (SELECT 1 FROM sealdoc_members m WHERE m.group_id = o.group_id)', []);
    return rows.map((r) => new Uint8Array(r.group_id));
  }

  async setMembers(groupId: Uint8Array, members: readonly Uint8Array[], revoked: readonly Uint8Array[] = []): Promise<void> {
    await this.#transaction(async (c) => {
      await c.query('DELETE FROM sealdoc_members WHERE group_id = $1', [buf(groupId)]);
      await c.query('INSERT INTO sealdoc_members (group_id, member_id) SELECT $1, m FROM unnest($2::bytea[]) AS m ON CONFLICT DO NOTHING', [buf(groupId), members.map(buf)]);
      if (revoked.length) await c.query(ADD_REVOKED, [buf(groupId), revoked.map(buf)]);
    });
  }

  async revokedIn(deviceId: Uint8Array, limit: number): Promise<Uint8Array[]> {
    const rows = await this.#query<{ group_id: Buffer }>('SELECT group_id FROM sealdoc_revoked_devices WHERE device_id = $1 LIMIT $2', [buf(deviceId), Math.min(limit, 2 ** 31 - 1)]);
    return rows.map((r) => new Uint8Array(r.group_id));
  }

  async usage(memberId: Uint8Array): Promise<Usage> {
    const [r] = await this.#query<{ groups: string; documents: string; bytes: string }>('SELECT groups, documents, bytes FROM sealdoc_usage WHERE member_id = $1', [buf(memberId)]);
    return r ? { groups: Number(r.groups), documents: Number(r.documents), bytes: Number(r.bytes) } : { groups: 0, documents: 0, bytes: 0 };
  }

  async putEnvelopes(envelopes: readonly NewEnvelope[]): Promise<PutResult[]> {
    if (envelopes.length === 0) return [];
    return this.#transaction(async (c) => {
      // Cursors come from a sequence, which orders them by insert, not by commit: two nodes'
      // transactions on one document could commit out of cursor order, and a subscriber that
      // went past the larger would never be sent the smaller from its cursor. A lock per
      // document, held until commit and taken before the cursors are drawn, makes a document's
      // cursors commit in order (documents apart still write in parallel; taken in one order,
      // no deadlock).
      const docs = [...new Set(envelopes.map((e) => docLockKey(e.groupId, e.docId)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (const k of docs) await c.query('SELECT pg_advisory_xact_lock($1::bigint)', [k.toString()]);
      // One statement for the batch; rows already there come back from a second look.
      const columns = [envelopes.map((e) => buf(e.groupId)), envelopes.map((e) => buf(e.docId)), envelopes.map((e) => buf(e.author)), envelopes.map((e) => e.seq), envelopes.map((e) => buf(e.bytes))];
      const inserted = await c.query<{ cursor: string; i: number }>(
        `INSERT INTO sealdoc_envelopes (group_id, doc_id, author, seq, bytes)
         SELECT g, d, a, s, b FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::bigint[], $5::bytea[]) WITH ORDINALITY AS t(g, d, a, s, b, i) ORDER BY i
         ON CONFLICT (group_id, doc_id, author, seq) DO NOTHING
         RETURNING cursor, group_id, doc_id, author, seq`,
        columns,
      );
      const key = (g: Uint8Array, d: Uint8Array, a: Uint8Array, seq: number) => `${hex(g)}:${hex(d)}:${hex(a)}:${seq}`;
      const stored = new Map<string, number>();
      for (const row of inserted.rows as unknown as Row[]) stored.set(key(row.group_id, row.doc_id, row.author, Number(row.seq)), Number(row.cursor));
      const results: PutResult[] = [];
      const seen = new Set<string>();
      for (const e of envelopes) {
        const k = key(e.groupId, e.docId, e.author, e.seq);
        const cursor = stored.get(k);
        if (cursor !== undefined && !seen.has(k)) {
          seen.add(k);
          results.push({ outcome: 'stored', cursor });
          continue;
        }
        const { rows } = await c.query<{ cursor: string; bytes: Buffer }>(
          'SELECT cursor, bytes FROM sealdoc_envelopes WHERE group_id = $1 AND doc_id = $2 AND author = $3 AND seq = $4',
          [buf(e.groupId), buf(e.docId), buf(e.author), e.seq],
        );
        const found = rows[0]!;
        results.push({ outcome: found.bytes.length === 0 || equalBytes(new Uint8Array(found.bytes), e.bytes) ? 'duplicate' : 'conflict', cursor: Number(found.cursor) });
      }
      // Usage: the bytes of what was stored, and a document for each that had no envelope before this batch.
      const storedCursors = results.filter((r) => r.outcome === 'stored').map((r) => r.cursor);
      const firsts = await c.query<{ author: Buffer }>(
        `SELECT DISTINCT ON (group_id, doc_id) author FROM sealdoc_envelopes n
         WHERE cursor = ANY($1::bigint[]) AND NOT EXISTS (SELECT 1 FROM sealdoc_envelopes o WHERE o.group_id = n.group_id AND o.doc_id = n.doc_id AND NOT (o.cursor = ANY($1::bigint[])))
         ORDER BY group_id, doc_id, cursor`,
        [storedCursors],
      );
      const added = new Map<string, { author: Uint8Array; documents: number; bytes: number }>();
      const tally = (author: Uint8Array, documents: number, bytes: number) => {
        const t = added.get(hex(author)) ?? { author, documents: 0, bytes: 0 };
        added.set(hex(author), { author, documents: t.documents + documents, bytes: t.bytes + bytes });
      };
      envelopes.forEach((e, i) => {
        if (results[i]!.outcome === 'stored') tally(e.author, 0, e.bytes.length);
      });
      for (const f of firsts.rows) tally(new Uint8Array(f.author), 1, 0);
      // In one order (by member id), as the document locks above: a transaction holds several
      // groups' batches, and two nodes updating the same members' rows in two orders would deadlock.
      for (const [, t] of [...added].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) await c.query(ADD_USAGE, [buf(t.author), 0, t.documents, t.bytes]);
      const notes = envelopes.flatMap((e, i) => (results[i]!.outcome === 'stored' ? [JSON.stringify({ t: 'e', g: hex(e.groupId), d: hex(e.docId), c: results[i]!.cursor, a: hex(e.author), s: e.seq, n: this.#node, m: Date.now() })] : []));
      if (notes.length) await c.query('SELECT pg_notify($1, x) FROM unnest($2::text[]) AS x', [this.#channels.store, notes]);
      return results;
    });
  }

  async envelopesAfter(groupId: Uint8Array, docId: Uint8Array, cursor: number, limit: number): Promise<StoredEnvelope[]> {
    const rows = await this.#query<Row>(
      'SELECT * FROM sealdoc_envelopes WHERE group_id = $1 AND doc_id = $2 AND cursor > $3 AND length(bytes) > 0 ORDER BY cursor LIMIT $4',
      [buf(groupId), buf(docId), cursor, Math.min(limit, 2 ** 31 - 1)],
    );
    return rows.map(toEnvelope);
  }

  async envelopesBySeq(groupId: Uint8Array, docId: Uint8Array, author: Uint8Array, fromSeq: number, toSeq: number, maxCursor: number, limit: number): Promise<StoredEnvelope[]> {
    const rows = await this.#query<Row>(
      'SELECT * FROM sealdoc_envelopes WHERE group_id = $1 AND doc_id = $2 AND author = $3 AND seq >= $4 AND seq <= $5 AND cursor <= $6 AND length(bytes) > 0 ORDER BY seq LIMIT $7',
      [buf(groupId), buf(docId), buf(author), fromSeq, toSeq, maxCursor, Math.min(limit, 2 ** 31 - 1)],
    );
    return rows.map(toEnvelope);
  }

  async envelopesAt(cursors: readonly number[]): Promise<StoredEnvelope[]> {
    if (cursors.length === 0) return [];
    const rows = await this.#query<Row>('SELECT * FROM sealdoc_envelopes WHERE cursor = ANY($1::bigint[]) AND length(bytes) > 0 ORDER BY cursor', [[...new Set(cursors)]]);
    return rows.map(toEnvelope);
  }

  async index(groupId: Uint8Array, docId: Uint8Array): Promise<IndexEntry[]> {
    const rows = await this.#query<{ author: Buffer; seq: string; cursor: string; dropped: boolean }>(
      'SELECT author, seq, cursor, length(bytes) = 0 AS dropped FROM sealdoc_envelopes WHERE group_id = $1 AND doc_id = $2 ORDER BY cursor',
      [buf(groupId), buf(docId)],
    );
    return rows.map((r) => ({ author: new Uint8Array(r.author), seq: Number(r.seq), cursor: Number(r.cursor), dropped: r.dropped }));
  }

  async dropEnvelopes(cursors: readonly number[]): Promise<void> {
    if (cursors.length === 0) return;
    await this.#transaction(async (c) => {
      const { rows } = await c.query<{ author: Buffer; n: string }>(
        "WITH dropped AS (SELECT cursor, author, length(bytes) AS n FROM sealdoc_envelopes WHERE cursor = ANY($1::bigint[]) AND length(bytes) > 0 FOR UPDATE) UPDATE sealdoc_envelopes e SET bytes = ''::bytea FROM dropped d WHERE e.cursor = d.cursor RETURNING d.author, d.n",
        [[...cursors]],
      );
      for (const r of rows) await c.query(ADD_USAGE, [r.author, 0, 0, -Number(r.n)]);
    });
  }

  async putCovers(groupId: Uint8Array, docId: Uint8Array, covers: StoredCovers): Promise<boolean> {
    const rows = await this.#query('INSERT INTO sealdoc_covers (group_id, doc_id, author, seq, attestation) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING seq', [
      buf(groupId),
      buf(docId),
      buf(covers.author),
      covers.seq,
      buf(covers.attestation),
    ]);
    return rows.length === 1;
  }

  async covers(groupId: Uint8Array, docId: Uint8Array): Promise<StoredCovers[]> {
    const rows = await this.#query<{ author: Buffer; seq: string; attestation: Buffer }>('SELECT author, seq, attestation FROM sealdoc_covers WHERE group_id = $1 AND doc_id = $2', [
      buf(groupId),
      buf(docId),
    ]);
    return rows.map((r) => ({ author: new Uint8Array(r.author), seq: Number(r.seq), attestation: new Uint8Array(r.attestation) }));
  }

  async highestSeq(groupId: Uint8Array, author: Uint8Array): Promise<number | undefined> {
    const rows = await this.#query<{ seq: string | null }>('SELECT max(seq) AS seq FROM sealdoc_envelopes WHERE group_id = $1 AND author = $2', [buf(groupId), buf(author)]);
    return rows[0]?.seq === null || rows[0]?.seq === undefined ? undefined : Number(rows[0].seq);
  }

  async putInvitation(invitation: StoredInvitation): Promise<void> {
    await this.#query('INSERT INTO sealdoc_invitations (invite_id, group_id, expires_at, revoked) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
      buf(invitation.inviteId),
      buf(invitation.groupId),
      invitation.expiresAt,
      invitation.revoked,
    ]);
  }

  async revokeInvitation(inviteId: Uint8Array): Promise<void> {
    await this.#query('UPDATE sealdoc_invitations SET revoked = true WHERE invite_id = $1', [buf(inviteId)]);
  }

  async invitation(inviteId: Uint8Array): Promise<StoredInvitation | undefined> {
    const [r] = await this.#query<{ invite_id: Buffer; group_id: Buffer; expires_at: string; revoked: boolean }>('SELECT * FROM sealdoc_invitations WHERE invite_id = $1', [buf(inviteId)]);
    return r && { inviteId: new Uint8Array(r.invite_id), groupId: new Uint8Array(r.group_id), expiresAt: Number(r.expires_at), revoked: r.revoked };
  }

  async openInvitations(groupId: Uint8Array, now: number): Promise<number> {
    const [r] = await this.#query<{ n: string }>('SELECT count(*) AS n FROM sealdoc_invitations WHERE group_id = $1 AND NOT revoked AND expires_at > $2', [buf(groupId), now]);
    return Number(r!.n);
  }

  async putJoinRequest(request: StoredJoinRequest, groupId: Uint8Array): Promise<number> {
    return this.#transaction(async (c) => {
      await c.query(
        'INSERT INTO sealdoc_join_requests (invite_id, requester, request) VALUES ($1, $2, $3) ON CONFLICT (invite_id, requester) DO UPDATE SET request = excluded.request',
        [buf(request.inviteId), buf(request.requester), buf(request.request)],
      );
      const { rows } = await c.query<{ n: string }>('SELECT count(*) AS n FROM sealdoc_join_requests WHERE invite_id = $1', [buf(request.inviteId)]);
      await this.#notify(c, { t: 'j', g: hex(groupId), i: hex(request.inviteId), r: hex(request.requester) });
      return Number(rows[0]!.n);
    });
  }

  async joinRequests(groupId: Uint8Array, now: number): Promise<StoredJoinRequest[]> {
    const rows = await this.#query<{ invite_id: Buffer; requester: Buffer; request: Buffer }>(
      'SELECT r.invite_id, r.requester, r.request FROM sealdoc_join_requests r JOIN sealdoc_invitations i ON i.invite_id = r.invite_id WHERE i.group_id = $1 AND NOT i.revoked AND i.expires_at > $2',
      [buf(groupId), now],
    );
    return rows.map((r) => ({ inviteId: new Uint8Array(r.invite_id), requester: new Uint8Array(r.requester), request: new Uint8Array(r.request) }));
  }

  async requesters(inviteId: Uint8Array): Promise<Uint8Array[]> {
    const rows = await this.#query<{ requester: Buffer }>('SELECT requester FROM sealdoc_join_requests WHERE invite_id = $1', [buf(inviteId)]);
    return rows.map((r) => new Uint8Array(r.requester));
  }

  /** What other nodes store, and the presence they share, heard through LISTEN (this node's own is not repeated). */
  onEvent(listener: (event: StoreEvent) => void): void {
    this.#listeners.push(listener);
  }

  /** Passes a frame that is never stored on to the other nodes (postgres-presence.ts: inline, or in a row that lives a few seconds; bounded). */
  sharePresence(groupId: Uint8Array, docId: Uint8Array, frame: Uint8Array): Promise<boolean> {
    return this.#presence.share(groupId, docId, frame);
  }

  /** Tells the other nodes that this one has a connection watching the group's invitations, or no longer (postgres-watchers.ts). */
  shareInvitationWatch(groupId: Uint8Array, watched: boolean): void {
    this.#watchers.set(groupId, watched);
  }

  /** Whether another node, alive, has a connection watching the group's invitations (postgres-watchers.ts). */
  invitationsWatchedElsewhere(groupId: Uint8Array): Promise<boolean> {
    return this.#watchers.elsewhere(groupId);
  }

  /**
   * Reachable and writable: a read of the envelopes' table, and a server that takes writes
   * (not a standby, not read-only), without drawing a transaction id (anyone may ask /readyz).
   */
  async probe(): Promise<void> {
    const [row] = await this.#query<{ writable: boolean }>(
      "SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off' AS writable, EXISTS (SELECT 1 FROM sealdoc_envelopes LIMIT 1)",
      [],
    );
    if (!row?.writable) throw new RelayStoreError('io', 'the database takes no writes (a standby, or read-only)');
    if (this.#deaf) throw new RelayStoreError('io', this.#deaf);
  }

  async close(): Promise<void> {
    if (this.#closed || this.#closing) return;
    this.#closing = true;
    // The other nodes stop counting this one's admins at once, not a few heartbeats later.
    await this.#watchers.close();
    this.#closed = true;
    this.#presence.close();
    clearTimeout(this.#relistenTimer);
    await this.#listener?.end().catch(() => undefined);
    await this.#pool.end();
  }
}
