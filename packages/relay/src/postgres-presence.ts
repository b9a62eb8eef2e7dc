/**
 * Presence across relay nodes on one PostgreSQL database: the frames a relay forwards and never
 * stores (sealed awareness, head beacons) reach the subscribers connected to the other nodes, as
 * envelopes do, through LISTEN/NOTIFY, on a channel of their own (a node that does not share
 * presence does not listen to it).
 *
 * A notification's payload is under 8,000 bytes. A frame that fits (about 5.8 kB once in
 * base64: a caret, a small beacon) rides in the notification itself and touches no table; a
 * larger one (a beacon naming many ranges) is put in a row of `sealdoc_presence`, an unlogged
 * table (no WAL; a crash loses nothing that matters), and the notification carries the row's
 * id; the other nodes read the row. Rows live a few seconds: those older than
 * PRESENCE_LIFETIME_S (by the database's clock, the same for every node) are deleted by the next
 * insert, by a sweep a second after that age on the node that wrote last, and when a node connects.
 *
 * Bounds: a node passes on at most PRESENCE_BYTES_PER_SECOND of presence (bursts of twice that);
 * past it frames are dropped, as presence may be (the next one supersedes it). The table thus
 * holds at most about a burst plus a lifetime of that rate per node. What a turn of the event
 * loop shares goes in one statement, and what a node hears of in one read. A node ignores its
 * own notifications: its own subscribers had the frame from it already.
 * @module
 */
import type pg from 'pg';
import { hex, unhex } from './bytes.js';
import { TokenBucket } from './limits.js';
import type { StoreEvent } from './store.js';

// A row lives this long: ample for every node to read it (each does as the notification comes).
const PRESENCE_LIFETIME_S = 5;
const DELETE_EXPIRED = `DELETE FROM sealdoc_presence WHERE at < now() - interval '${PRESENCE_LIFETIME_S} seconds'`;

/** The channel presence crosses nodes on (in schema `public`; see postgres-store.ts's channelsOf). */
export const PRESENCE_CHANNEL = 'sealdoc_presence';

/** Not versioned with the schema: it holds nothing a restart needs, and a node that does not share presence ignores it. */
export const PRESENCE_SCHEMA = `
CREATE UNLOGGED TABLE IF NOT EXISTS sealdoc_presence (
  id BIGSERIAL PRIMARY KEY,
  at TIMESTAMPTZ NOT NULL DEFAULT now(),
  group_id BYTEA NOT NULL,
  doc_id BYTEA NOT NULL,
  frame BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS sealdoc_presence_by_time ON sealdoc_presence (at);
${DELETE_EXPIRED};
`;

// PostgreSQL refuses a payload of 8,000 bytes or more.
const NOTIFY_BYTES = 7999;
// What one node passes on, sustained (bursts of twice that): far above what its members' carets
// and beacons need, far below what would load the database.
const PRESENCE_BYTES_PER_SECOND = 8 * 1024 * 1024;

type Query = <R extends pg.QueryResultRow>(text: string, values: unknown[]) => Promise<R[]>;

/** What one turn of the event loop shares: the notifications that carry their frame, and the frames that go in rows. */
interface Batch {
  notes: string[];
  rows: { groupId: Buffer; docId: Buffer; frame: Buffer }[];
  sent: Promise<boolean>;
}

/** A notification of a frame: inline (`f`, base64) or in a row (`i`); `n`, the node that sent it. */
interface Note {
  n?: string;
  g?: string;
  d?: string;
  f?: string;
  i?: string;
}

// A group or document id, in hex.
const ID = /^[0-9a-f]{32}$/;

const buffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export class PostgresPresence {
  readonly #budget = new TokenBucket(PRESENCE_BYTES_PER_SECOND, PRESENCE_BYTES_PER_SECOND * 2);
  #batch: Batch | undefined;
  // Ids of rows other nodes announced, read together once per turn of the event loop.
  #wanted: string[] | undefined;
  // Deletes expired rows once this node has written none for a lifetime (no later insert may come to do it).
  #sweep: ReturnType<typeof setTimeout> | undefined;

  constructor(
    /** The NOTIFY channel of this deployment's presence. */
    readonly channel: string,
    readonly query: Query,
    /** This node's id in notifications. */
    readonly node: string,
    readonly emit: (event: StoreEvent) => void,
    readonly closed: () => boolean,
  ) {}

  /** Passes `frame` on to the other nodes; false when over the budget (or closed), and then nothing is sent. */
  share(groupId: Uint8Array, docId: Uint8Array, frame: Uint8Array): Promise<boolean> {
    if (this.closed() || !this.#budget.take(frame.length)) return Promise.resolve(false);
    let batch = this.#batch;
    if (!batch) {
      const fresh: Batch = { notes: [], rows: [], sent: Promise.resolve(false) };
      fresh.sent = new Promise((resolve) => setImmediate(resolve)).then(() => {
        if (this.#batch === fresh) this.#batch = undefined;
        return this.#send(fresh);
      });
      batch = this.#batch = fresh;
    }
    const note = JSON.stringify({ n: this.node, g: hex(groupId), d: hex(docId), f: buffer(frame).toString('base64') } satisfies Note);
    if (note.length <= NOTIFY_BYTES) batch.notes.push(note);
    else batch.rows.push({ groupId: buffer(groupId), docId: buffer(docId), frame: buffer(frame) });
    return batch.sent;
  }

  async #send(batch: Batch): Promise<boolean> {
    if (this.closed()) return false;
    const sends: Promise<unknown>[] = [];
    if (batch.notes.length > 0) sends.push(this.query('SELECT pg_notify($1, x) FROM unnest($2::text[]) AS x', [this.channel, batch.notes]));
    if (batch.rows.length > 0)
      sends.push(
        this.query(
          `WITH gone AS (${DELETE_EXPIRED}),
           kept AS (INSERT INTO sealdoc_presence (group_id, doc_id, frame) SELECT g, d, f FROM unnest($1::bytea[], $2::bytea[], $3::bytea[]) WITH ORDINALITY AS t(g, d, f, i) ORDER BY i RETURNING id)
           SELECT pg_notify($4, json_build_object('n', $5::text, 'i', id::text)::text) FROM kept`,
          [batch.rows.map((r) => r.groupId), batch.rows.map((r) => r.docId), batch.rows.map((r) => r.frame), this.channel, this.node],
        ),
      );
    await Promise.all(sends);
    if (batch.rows.length > 0) {
      clearTimeout(this.#sweep);
      this.#sweep = setTimeout(() => void this.#deleteExpired(), (PRESENCE_LIFETIME_S + 1) * 1000);
      this.#sweep.unref?.();
    }
    return true;
  }

  async #deleteExpired(): Promise<void> {
    this.#sweep = undefined;
    if (this.closed()) return;
    // A sweep that fails (the database out of reach) leaves the rows to the next insert or the
    // next node that connects; what they hold (sealed awareness, signed beacons) the relay sees
    // anyway, and the node's next write reports the database's failure.
    await this.query(DELETE_EXPIRED, []).catch(() => undefined);
  }

  /** Stops the sweep (the store is closing). */
  close(): void {
    clearTimeout(this.#sweep);
    this.#sweep = undefined;
  }

  /** A notification on this deployment's presence channel: another node's frame, emitted as a `presence` event (its row read first, when it has one). */
  arrived(payload: string | undefined): void {
    let note: Note;
    try {
      note = JSON.parse(payload ?? '') as Note;
    } catch {
      return;
    }
    if (note.n === this.node) return;
    if (typeof note.f === 'string' && ID.test(note.g ?? '') && ID.test(note.d ?? '')) {
      this.emit({ type: 'presence', groupId: unhex(note.g!), docId: unhex(note.d!), frame: new Uint8Array(Buffer.from(note.f, 'base64')) });
      return;
    }
    if (typeof note.i !== 'string' || !/^[0-9]{1,19}$/.test(note.i)) return;
    if (!this.#wanted) {
      this.#wanted = [];
      setImmediate(() => void this.#read());
    }
    this.#wanted.push(note.i);
  }

  async #read(): Promise<void> {
    const ids = this.#wanted ?? [];
    this.#wanted = undefined;
    if (this.closed()) return;
    let rows: { group_id: Buffer; doc_id: Buffer; frame: Buffer }[];
    try {
      rows = await this.query('SELECT group_id, doc_id, frame FROM sealdoc_presence WHERE id = ANY($1::bigint[]) ORDER BY id', [ids]);
    } catch {
      // Presence is lossy by nature: a frame not read now is superseded by its author's next
      // one, and a database that fails here fails the node's next write too, which reports it.
      return;
    }
    for (const r of rows) this.emit({ type: 'presence', groupId: new Uint8Array(r.group_id), docId: new Uint8Array(r.doc_id), frame: new Uint8Array(r.frame) });
  }
}
