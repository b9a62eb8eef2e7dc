/**
 * The relay's default store: one SQLite file (better-sqlite3, WAL), created on first use, no
 * set-up. Every call that writes is one transaction: an acknowledged envelope is in the WAL
 * when the call returns, so it survives the process being killed (`synchronous = NORMAL`;
 * `FULL` also survives the machine losing power).
 * @module
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { equalBytes, hex } from './bytes.js';
import { SchemaVersionError } from './migrations.js';
import { migrateSqlite } from './migrations-sqlite.js';
import { SqliteCheckpointer } from './sqlite-checkpoint.js';
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
  type Usage,
} from './store.js';

/** Options of {@link SqliteRelayStore.open}. */
export interface SqliteRelayStoreOptions {
  /** SQLite's `synchronous`: 'normal' (default) survives a killed process, 'full' a power loss too. */
  synchronous?: 'normal' | 'full';
}

interface Row {
  cursor: number;
  group_id: Buffer;
  doc_id: Buffer;
  author: Buffer;
  seq: number;
  bytes: Buffer;
}

const toEnvelope = (r: Row): StoredEnvelope => ({
  cursor: r.cursor,
  groupId: new Uint8Array(r.group_id),
  docId: new Uint8Array(r.doc_id),
  author: new Uint8Array(r.author),
  seq: r.seq,
  bytes: new Uint8Array(r.bytes),
});

/** Usage rows kept in memory at most (SqliteRelayStore.#usage). */
const USAGE_CACHE = 100_000;
const usageKey = (memberId: Uint8Array) => hex(memberId);

const ADD_USAGE = 'INSERT INTO usage (member_id, groups, documents, bytes) VALUES (?, ?, ?, ?) ON CONFLICT (member_id) DO UPDATE SET groups = groups + excluded.groups, documents = documents + excluded.documents, bytes = bytes + excluded.bytes';

export class SqliteRelayStore implements RelayStore {
  readonly #db: Database.Database;
  readonly #s;
  /** Checkpoints the WAL on a thread of its own (a file database only). */
  readonly #checkpointer: SqliteCheckpointer | undefined;
  /**
   * Usage rows read, kept up to date by this store's own writes (one relay process writes a
   * SQLite file: nothing else changes them), so that a quota check costs no query; bounded,
   * least recently read dropped first.
   */
  readonly #usage = new Map<string, Usage>();
  /** Usage changes made in the transaction under way, applied to the cache once it commits. */
  #usageDeltas: { key: string; groups: number; documents: number; bytes: number }[] = [];
  /** One transaction function for every write (better-sqlite3 makes its wrappers once). */
  readonly #transaction: Database.Transaction<(body: () => unknown) => unknown>;

  private constructor(db: Database.Database, path: string) {
    this.#db = db;
    this.#transaction = db.transaction((body: () => unknown) => body());
    if (path !== ':memory:' && path !== '') this.#checkpointer = new SqliteCheckpointer(db, path);
    this.#s = {
      ops: db.prepare<[Uint8Array], { op: Buffer }>('SELECT op FROM ops WHERE group_id = ? ORDER BY idx'),
      // The log's length: its last index + 1, found by the primary key (no scan of the log).
      opCount: db.prepare<[Uint8Array], { n: number }>('SELECT coalesce(max(idx) + 1, 0) AS n FROM ops WHERE group_id = ?'),
      insertOp: db.prepare<[Uint8Array, number, Uint8Array]>('INSERT INTO ops (group_id, idx, op) VALUES (?, ?, ?)'),
      isMember: db.prepare<[Uint8Array, Uint8Array], { n: number }>('SELECT count(*) AS n FROM members WHERE group_id = ? AND member_id = ?'),
      hasOps: db.prepare<[Uint8Array], { n: number }>('SELECT count(*) AS n FROM (SELECT 1 FROM ops WHERE group_id = ? LIMIT 1)'),
      groupsOf: db.prepare<[Uint8Array], { group_id: Buffer }>('SELECT group_id FROM members WHERE member_id = ?'),
      unindexed: db.prepare<[], { group_id: Buffer }>('SELECT DISTINCT group_id FROM ops WHERE group_id NOT IN (SELECT group_id FROM members)'),
      clearMembers: db.prepare<[Uint8Array]>('DELETE FROM members WHERE group_id = ?'),
      removeMember: db.prepare<[Uint8Array, Uint8Array]>('DELETE FROM members WHERE group_id = ? AND member_id = ?'),
      addMember: db.prepare<[Uint8Array, Uint8Array]>('INSERT INTO members (group_id, member_id) VALUES (?, ?) ON CONFLICT DO NOTHING'),
      addRevoked: db.prepare<[Uint8Array, Uint8Array]>('INSERT INTO revoked_devices (device_id, group_id) VALUES (?, ?) ON CONFLICT DO NOTHING'),
      revokedIn: db.prepare<[Uint8Array, number], { group_id: Buffer }>('SELECT group_id FROM revoked_devices WHERE device_id = ? LIMIT ?'),
      usage: db.prepare<[Uint8Array], Usage>('SELECT groups, documents, bytes FROM usage WHERE member_id = ?'),
      addUsage: db.prepare<[Uint8Array, number, number, number]>(ADD_USAGE),
      docExists: db.prepare<[Uint8Array, Uint8Array], { n: number }>('SELECT count(*) AS n FROM (SELECT 1 FROM envelopes WHERE group_id = ? AND doc_id = ? LIMIT 1)'),
      bySeq: db.prepare<[Uint8Array, Uint8Array, Uint8Array, number, number, number, number], Row>(
        'SELECT * FROM envelopes WHERE group_id = ? AND doc_id = ? AND author = ? AND seq >= ? AND seq <= ? AND cursor <= ? AND length(bytes) > 0 ORDER BY seq LIMIT ?',
      ),
      sizeAt: db.prepare<[number], { author: Buffer; n: number }>('SELECT author, length(bytes) AS n FROM envelopes WHERE cursor = ?'),
      openInvitations: db.prepare<[Uint8Array, number], { n: number }>('SELECT count(*) AS n FROM invitations WHERE group_id = ? AND revoked = 0 AND expires_at > ?'),
      find: db.prepare<[Uint8Array, Uint8Array, Uint8Array, number], { cursor: number; bytes: Buffer }>(
        'SELECT cursor, bytes FROM envelopes WHERE group_id = ? AND doc_id = ? AND author = ? AND seq = ?',
      ),
      insert: db.prepare<[Uint8Array, Uint8Array, Uint8Array, number, Uint8Array]>(
        'INSERT INTO envelopes (group_id, doc_id, author, seq, bytes) VALUES (?, ?, ?, ?, ?) ON CONFLICT (group_id, doc_id, author, seq) DO NOTHING',
      ),
      after: db.prepare<[Uint8Array, Uint8Array, number, number], Row>(
        'SELECT * FROM envelopes WHERE group_id = ? AND doc_id = ? AND cursor > ? AND length(bytes) > 0 ORDER BY cursor LIMIT ?',
      ),
      at: db.prepare<[number], Row>('SELECT * FROM envelopes WHERE cursor = ? AND length(bytes) > 0'),
      index: db.prepare<[Uint8Array, Uint8Array], { author: Buffer; seq: number; cursor: number; dropped: number }>(
        'SELECT author, seq, cursor, length(bytes) = 0 AS dropped FROM envelopes WHERE group_id = ? AND doc_id = ? ORDER BY cursor',
      ),
      drop: db.prepare<[number]>("UPDATE envelopes SET bytes = x'' WHERE cursor = ?"),
      putCovers: db.prepare<[Uint8Array, Uint8Array, Uint8Array, number, Uint8Array]>(
        'INSERT INTO covers (group_id, doc_id, author, seq, attestation) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      covers: db.prepare<[Uint8Array, Uint8Array], { author: Buffer; seq: number; attestation: Buffer }>('SELECT author, seq, attestation FROM covers WHERE group_id = ? AND doc_id = ?'),
      putInvitation: db.prepare<[Uint8Array, Uint8Array, number, number]>(
        'INSERT INTO invitations (invite_id, group_id, expires_at, revoked) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      revoke: db.prepare<[Uint8Array]>('UPDATE invitations SET revoked = 1 WHERE invite_id = ?'),
      invitation: db.prepare<[Uint8Array], { invite_id: Buffer; group_id: Buffer; expires_at: number; revoked: number }>('SELECT * FROM invitations WHERE invite_id = ?'),
      putRequest: db.prepare<[Uint8Array, Uint8Array, Uint8Array]>(
        'INSERT INTO join_requests (invite_id, requester, request) VALUES (?, ?, ?) ON CONFLICT (invite_id, requester) DO UPDATE SET request = excluded.request',
      ),
      requestCount: db.prepare<[Uint8Array], { n: number }>('SELECT count(*) AS n FROM join_requests WHERE invite_id = ?'),
      requests: db.prepare<[Uint8Array, number], { invite_id: Buffer; requester: Buffer; request: Buffer }>(
        'SELECT r.invite_id, r.requester, r.request FROM join_requests r JOIN invitations i ON i.invite_id = r.invite_id WHERE i.group_id = ? AND i.revoked = 0 AND i.expires_at > ?',
      ),
      requesters: db.prepare<[Uint8Array], { requester: Buffer }>('SELECT requester FROM join_requests WHERE invite_id = ?'),
      highest: db.prepare<[Uint8Array, Uint8Array], { seq: number }>('SELECT seq FROM author_heads WHERE group_id = ? AND author = ?'),
      raiseHead: db.prepare<[Uint8Array, Uint8Array, number]>(
        'INSERT INTO author_heads (group_id, author, seq) VALUES (?, ?, ?) ON CONFLICT (group_id, author) DO UPDATE SET seq = max(seq, excluded.seq)',
      ),
    };
  }

  /**
   * Opens (creating it and its folder if needed) the database file at `path`, bringing a
   * database an earlier release wrote to this schema (migrations-sqlite.ts). Throws
   * {@link SchemaVersionError} for one a newer release wrote, and RelayStoreError otherwise.
   */
  static open(path: string, options: SqliteRelayStoreOptions = {}): SqliteRelayStore {
    let db: Database.Database | undefined;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      migrateSqlite(db, `the relay database at ${path}`);
      return new SqliteRelayStore(db, path);
    } catch (error) {
      db?.close();
      if (error instanceof SchemaVersionError) throw error;
      throw new RelayStoreError('io', `cannot open the relay database at ${path}: ${(error as Error).message}`, { cause: error });
    }
  }

  #do<T>(body: () => T): T {
    if (!this.#db.open) throw new RelayStoreError('closed', 'this store was closed');
    try {
      return body();
    } catch (error) {
      throw new RelayStoreError('io', `SQLite: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Adds to a member's usage in the transaction under way (and to the cache, once it commits: see #commit). */
  #addUsage(memberId: Uint8Array, groups: number, documents: number, bytes: number): void {
    this.#s.addUsage.run(memberId, groups, documents, bytes);
    this.#usageDeltas.push({ key: usageKey(memberId), groups, documents, bytes });
  }

  /** Runs `body` as one immediate transaction; the usage it changed reaches the cache only if it commits. */
  #commit<T>(body: () => T): T {
    this.#usageDeltas = [];
    let result: T;
    try {
      result = this.#transaction.immediate(body) as T;
    } catch (error) {
      this.#usageDeltas = [];
      throw error;
    }
    for (const d of this.#usageDeltas) {
      const cached = this.#usage.get(d.key);
      if (cached) this.#usage.set(d.key, { groups: cached.groups + d.groups, documents: cached.documents + d.documents, bytes: cached.bytes + d.bytes });
    }
    this.#usageDeltas = [];
    return result;
  }

  async loadOps(groupId: Uint8Array): Promise<Uint8Array[]> {
    return this.#do(() => this.#s.ops.all(groupId).map((r) => new Uint8Array(r.op)));
  }

  async appendOps(groupId: Uint8Array, fromIndex: number, ops: readonly Uint8Array[], effect: OpsEffect): Promise<boolean> {
    return this.#do(() =>
      this.#commit(() => {
        if (this.#s.opCount.get(groupId)!.n !== fromIndex) return false;
        ops.forEach((op, i) => {
          this.#s.insertOp.run(groupId, fromIndex + i, op);
          this.#addUsage(effect.authors[i]!, fromIndex + i === 0 ? 1 : 0, 0, op.length);
        });
        for (const m of effect.left) this.#s.removeMember.run(groupId, m);
        for (const m of effect.joined) this.#s.addMember.run(groupId, m);
        for (const d of effect.revoked ?? []) this.#s.addRevoked.run(d, groupId);
        return true;
      }),
    );
  }

  async membership(groupId: Uint8Array, memberId: Uint8Array): Promise<Standing> {
    return this.#do(() => {
      if (this.#s.isMember.get(groupId, memberId)!.n > 0) return 'member';
      return this.#s.hasOps.get(groupId)!.n > 0 ? 'not-a-member' : 'unknown-group';
    });
  }

  async groupsOf(memberId: Uint8Array): Promise<Uint8Array[]> {
    return this.#do(() => this.#s.groupsOf.all(memberId).map((r) => new Uint8Array(r.group_id)));
  }

  async unindexedGroups(): Promise<Uint8Array[]> {
    return this.#do(() => this.#s.unindexed.all().map((r) => new Uint8Array(r.group_id)));
  }

  async setMembers(groupId: Uint8Array, members: readonly Uint8Array[], revoked: readonly Uint8Array[] = []): Promise<void> {
    this.#do(() =>
      this.#db
        .transaction(() => {
          this.#s.clearMembers.run(groupId);
          for (const m of members) this.#s.addMember.run(groupId, m);
          for (const d of revoked) this.#s.addRevoked.run(d, groupId);
        })
        .immediate(),
    );
  }

  async revokedIn(deviceId: Uint8Array, limit: number): Promise<Uint8Array[]> {
    return this.#do(() => this.#s.revokedIn.all(deviceId, Math.min(limit, 2 ** 31)).map((r) => new Uint8Array(r.group_id)));
  }

  async usage(memberId: Uint8Array): Promise<Usage> {
    return this.#do(() => {
      const key = usageKey(memberId);
      const cached = this.#usage.get(key);
      if (cached) {
        // Most recently read last: the first is the one dropped.
        this.#usage.delete(key);
        this.#usage.set(key, cached);
        return { ...cached };
      }
      const r = this.#s.usage.get(memberId);
      const usage = r ? { groups: r.groups, documents: r.documents, bytes: r.bytes } : { groups: 0, documents: 0, bytes: 0 };
      this.#usage.set(key, usage);
      if (this.#usage.size > USAGE_CACHE) this.#usage.delete(this.#usage.keys().next().value!);
      return { ...usage };
    });
  }

  async putEnvelopes(envelopes: readonly NewEnvelope[]): Promise<PutResult[]> {
    return this.#do(() =>
      this.#commit(() => {
        // What each author adds, summed: one usage row written per author, not per envelope;
        // and each author's highest sequence number per group, one row written per pair.
        const added = new Map<string, { author: Uint8Array; documents: number; bytes: number }>();
        const heads = new Map<string, { groupId: Uint8Array; author: Uint8Array; seq: number }>();
        const results = envelopes.map((e): PutResult => {
          const { groupId, docId, author } = e;
          const firstOfDoc = this.#s.docExists.get(groupId, docId)!.n === 0;
          const { changes, lastInsertRowid } = this.#s.insert.run(groupId, docId, author, e.seq, e.bytes);
          if (changes === 1) {
            const key = usageKey(author);
            const headKey = `${hex(groupId)}:${key}`;
            const head = heads.get(headKey);
            if (!head) heads.set(headKey, { groupId, author, seq: e.seq });
            else if (e.seq > head.seq) head.seq = e.seq;
            let sum = added.get(key);
            if (!sum) added.set(key, (sum = { author: e.author, documents: 0, bytes: 0 }));
            sum.documents += firstOfDoc ? 1 : 0;
            sum.bytes += e.bytes.length;
            return { outcome: 'stored', cursor: Number(lastInsertRowid) };
          }
          const found = this.#s.find.get(groupId, docId, author, e.seq)!;
          return { outcome: found.bytes.length === 0 || equalBytes(new Uint8Array(found.bytes), e.bytes) ? 'duplicate' : 'conflict', cursor: found.cursor };
        });
        for (const sum of added.values()) this.#addUsage(sum.author, 0, sum.documents, sum.bytes);
        for (const head of heads.values()) this.#s.raiseHead.run(head.groupId, head.author, head.seq);
        return results;
      }),
    );
  }

  async envelopesAfter(groupId: Uint8Array, docId: Uint8Array, cursor: number, limit: number): Promise<StoredEnvelope[]> {
    return this.#do(() => this.#s.after.all(groupId, docId, cursor, Math.min(limit, 2 ** 31)).map(toEnvelope));
  }

  async envelopesBySeq(groupId: Uint8Array, docId: Uint8Array, author: Uint8Array, fromSeq: number, toSeq: number, maxCursor: number, limit: number): Promise<StoredEnvelope[]> {
    return this.#do(() => this.#s.bySeq.all(groupId, docId, author, fromSeq, toSeq, maxCursor, Math.min(limit, 2 ** 31)).map(toEnvelope));
  }

  async envelopesAt(cursors: readonly number[]): Promise<StoredEnvelope[]> {
    return this.#do(() =>
      [...new Set(cursors)]
        .sort((a, b) => a - b)
        .flatMap((c) => {
          const row = this.#s.at.get(c);
          return row ? [toEnvelope(row)] : [];
        }),
    );
  }

  async index(groupId: Uint8Array, docId: Uint8Array): Promise<IndexEntry[]> {
    return this.#do(() => this.#s.index.all(groupId, docId).map((r) => ({ author: new Uint8Array(r.author), seq: r.seq, cursor: r.cursor, dropped: r.dropped === 1 })));
  }

  async dropEnvelopes(cursors: readonly number[]): Promise<void> {
    this.#do(() =>
      this.#commit(() =>
        cursors.forEach((c) => {
          const found = this.#s.sizeAt.get(c);
          if (!found || found.n === 0) return;
          this.#addUsage(new Uint8Array(found.author), 0, 0, -found.n);
          this.#s.drop.run(c);
        }),
      ),
    );
  }

  async putCovers(groupId: Uint8Array, docId: Uint8Array, covers: StoredCovers): Promise<boolean> {
    return this.#do(() => this.#s.putCovers.run(groupId, docId, covers.author, covers.seq, covers.attestation).changes === 1);
  }

  async covers(groupId: Uint8Array, docId: Uint8Array): Promise<StoredCovers[]> {
    return this.#do(() => this.#s.covers.all(groupId, docId).map((r) => ({ author: new Uint8Array(r.author), seq: r.seq, attestation: new Uint8Array(r.attestation) })));
  }

  async highestSeq(groupId: Uint8Array, author: Uint8Array): Promise<number | undefined> {
    return this.#do(() => this.#s.highest.get(groupId, author)?.seq);
  }

  async putInvitation(invitation: StoredInvitation): Promise<void> {
    this.#do(() => this.#s.putInvitation.run(invitation.inviteId, invitation.groupId, invitation.expiresAt, invitation.revoked ? 1 : 0));
  }

  async revokeInvitation(inviteId: Uint8Array): Promise<void> {
    this.#do(() => this.#s.revoke.run(inviteId));
  }

  async invitation(inviteId: Uint8Array): Promise<StoredInvitation | undefined> {
    return this.#do(() => {
      const r = this.#s.invitation.get(inviteId);
      return r && { inviteId: new Uint8Array(r.invite_id), groupId: new Uint8Array(r.group_id), expiresAt: r.expires_at, revoked: r.revoked === 1 };
    });
  }

  async openInvitations(groupId: Uint8Array, now: number): Promise<number> {
    return this.#do(() => this.#s.openInvitations.get(groupId, now)!.n);
  }

  async putJoinRequest(request: StoredJoinRequest): Promise<number> {
    return this.#do(() =>
      this.#db.transaction(() => {
        this.#s.putRequest.run(request.inviteId, request.requester, request.request);
        return this.#s.requestCount.get(request.inviteId)!.n;
      }).immediate(),
    );
  }

  async joinRequests(groupId: Uint8Array, now: number): Promise<StoredJoinRequest[]> {
    return this.#do(() =>
      this.#s.requests.all(groupId, now).map((r) => ({ inviteId: new Uint8Array(r.invite_id), requester: new Uint8Array(r.requester), request: new Uint8Array(r.request) })),
    );
  }

  async requesters(inviteId: Uint8Array): Promise<Uint8Array[]> {
    return this.#do(() => this.#s.requesters.all(inviteId).map((r) => new Uint8Array(r.requester)));
  }

  /** Takes the write lock (refused on a read-only or locked file) and reads, then lets go: nothing written. */
  async probe(): Promise<void> {
    this.#do(() => this.#db.transaction(() => this.#db.prepare('SELECT 1 FROM envelopes LIMIT 1').get()).immediate());
  }

  async close(): Promise<void> {
    await this.#checkpointer?.stop();
    if (this.#db.open) this.#db.close();
  }
}
