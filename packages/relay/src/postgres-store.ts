/**
 * The relay store for several relay nodes behind a load balancer: PostgreSQL (pg). Every
 * write is one transaction; what one node stores is announced to the others with
 * LISTEN/NOTIFY (delivered on commit), so that clients connected to different nodes see each
 * other's edits at once.
 *
 * Cursors come from a sequence: a transaction may commit after another that took a larger
 * cursor, so a node delivers what it hears of from the others whatever the cursor, and the
 * `have` exchange fills any gap a resumed subscription could leave.
 * @module
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { equalBytes, hex, unhex } from './bytes.js';
import { RelayStoreError, type IndexEntry, type NewEnvelope, type PutResult, type RelayStore, type StoredCovers, type StoredEnvelope, type StoredInvitation, type StoredJoinRequest, type StoreEvent } from './store.js';

const CHANNEL = 'sealdoc_relay';

// Retention drops an envelope's bytes by emptying them: no envelope is empty.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS sealdoc_ops (
  group_id BYTEA NOT NULL,
  idx INTEGER NOT NULL,
  op BYTEA NOT NULL,
  PRIMARY KEY (group_id, idx)
);
CREATE TABLE IF NOT EXISTS sealdoc_envelopes (
  cursor BIGSERIAL PRIMARY KEY,
  group_id BYTEA NOT NULL,
  doc_id BYTEA NOT NULL,
  author BYTEA NOT NULL,
  seq BIGINT NOT NULL,
  bytes BYTEA NOT NULL,
  UNIQUE (group_id, doc_id, author, seq)
);
CREATE INDEX IF NOT EXISTS sealdoc_envelopes_by_doc ON sealdoc_envelopes (group_id, doc_id, cursor);
CREATE INDEX IF NOT EXISTS sealdoc_envelopes_by_author ON sealdoc_envelopes (group_id, author, seq);
CREATE TABLE IF NOT EXISTS sealdoc_covers (
  group_id BYTEA NOT NULL,
  doc_id BYTEA NOT NULL,
  author BYTEA NOT NULL,
  seq BIGINT NOT NULL,
  attestation BYTEA NOT NULL,
  PRIMARY KEY (group_id, doc_id, author, seq)
);
CREATE TABLE IF NOT EXISTS sealdoc_invitations (
  invite_id BYTEA PRIMARY KEY,
  group_id BYTEA NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS sealdoc_invitations_by_group ON sealdoc_invitations (group_id);
CREATE TABLE IF NOT EXISTS sealdoc_join_requests (
  invite_id BYTEA NOT NULL,
  requester BYTEA NOT NULL,
  request BYTEA NOT NULL,
  PRIMARY KEY (invite_id, requester)
);
`;

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
const buf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export class PostgresRelayStore implements RelayStore {
  readonly #pool: pg.Pool;
  readonly #node = randomUUID();
  #listener: pg.Client | undefined;
  readonly #listeners: ((event: StoreEvent) => void)[] = [];
  #closed = false;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Connects to `url` and creates the tables if they are missing. */
  static async connect(url: string, options: { max?: number } = {}): Promise<PostgresRelayStore> {
    const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
    pool.on('error', () => undefined); // an idle client lost: the pool replaces it
    const store = new PostgresRelayStore(pool);
    try {
      await store.#transaction(async (c) => {
        // Nodes starting together must not race to create the same tables.
        await c.query('SELECT pg_advisory_xact_lock(7206131)');
        await c.query(SCHEMA);
      });
      await store.#listen(url);
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  /** One connection LISTENs for what the other nodes store. */
  async #listen(url: string): Promise<void> {
    const client = new pg.Client({ connectionString: url });
    this.#listener = client;
    client.on('error', () => undefined);
    client.on('notification', ({ payload }) => {
      let event: { t: string; g: string; d?: string; c?: number; l?: number; i?: string; r?: string; n: string };
      try {
        event = JSON.parse(payload ?? '');
      } catch {
        return;
      }
      if (event.n === this.#node) return;
      const out: StoreEvent =
        event.t === 'e'
          ? { type: 'envelope', groupId: unhex(event.g), docId: unhex(event.d ?? ''), cursor: event.c ?? 0 }
          : event.t === 'j'
            ? { type: 'join-request', groupId: unhex(event.g), inviteId: unhex(event.i ?? ''), requester: unhex(event.r ?? '') }
            : { type: 'ops', groupId: unhex(event.g), length: event.l ?? 0 };
      for (const l of this.#listeners) l(out);
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
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
    return client.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify({ ...payload, n: this.#node })]);
  }

  async loadOps(groupId: Uint8Array): Promise<Uint8Array[]> {
    const rows = await this.#query<{ op: Buffer }>('SELECT op FROM sealdoc_ops WHERE group_id = $1 ORDER BY idx', [buf(groupId)]);
    return rows.map((r) => new Uint8Array(r.op));
  }

  async appendOps(groupId: Uint8Array, fromIndex: number, ops: readonly Uint8Array[]): Promise<boolean> {
    try {
      return await this.#transaction(async (c) => {
        const { rows } = await c.query<{ n: string }>('SELECT count(*) AS n FROM sealdoc_ops WHERE group_id = $1', [buf(groupId)]);
        if (Number(rows[0]!.n) !== fromIndex) return false;
        for (const [i, op] of ops.entries()) await c.query('INSERT INTO sealdoc_ops (group_id, idx, op) VALUES ($1, $2, $3)', [buf(groupId), fromIndex + i, buf(op)]);
        await this.#notify(c, { t: 'o', g: hex(groupId), l: fromIndex + ops.length });
        return true;
      });
    } catch (error) {
      // Another node appended at the same index first: a unique violation, so not at its length.
      if ((error as { cause?: { code?: string } }).cause?.code === '23505') return false;
      throw error;
    }
  }

  async groups(): Promise<Uint8Array[]> {
    const rows = await this.#query<{ group_id: Buffer }>('SELECT DISTINCT group_id FROM sealdoc_ops', []);
    return rows.map((r) => new Uint8Array(r.group_id));
  }

  async putEnvelopes(envelopes: readonly NewEnvelope[]): Promise<PutResult[]> {
    if (envelopes.length === 0) return [];
    return this.#transaction(async (c) => {
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
      const notes = envelopes.flatMap((e, i) => (results[i]!.outcome === 'stored' ? [JSON.stringify({ t: 'e', g: hex(e.groupId), d: hex(e.docId), c: results[i]!.cursor, n: this.#node })] : []));
      if (notes.length) await c.query('SELECT pg_notify($1, x) FROM unnest($2::text[]) AS x', [CHANNEL, notes]);
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
    await this.#query("UPDATE sealdoc_envelopes SET bytes = ''::bytea WHERE cursor = ANY($1::bigint[])", [[...cursors]]);
  }

  async putCovers(groupId: Uint8Array, docId: Uint8Array, covers: StoredCovers): Promise<void> {
    await this.#query('INSERT INTO sealdoc_covers (group_id, doc_id, author, seq, attestation) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [
      buf(groupId),
      buf(docId),
      buf(covers.author),
      covers.seq,
      buf(covers.attestation),
    ]);
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

  /** What other nodes store, heard through LISTEN (this node's own writes are not repeated). */
  onEvent(listener: (event: StoreEvent) => void): void {
    this.#listeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#listener?.end().catch(() => undefined);
    await this.#pool.end();
  }
}
