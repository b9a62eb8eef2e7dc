// A relay node hears what the other nodes store through one LISTEN connection to PostgreSQL.
// When that connection is lost (the database restarted, a proxy or an operator cut it), the node
// used to go on serving without hearing anything: its subscribers missed every envelope written
// through other nodes, and its cached logs kept members the others had removed, until each client
// happened to reconnect. Now the node says it is not ready while it cannot hear (readyz), logs
// it, listens again, and then forgets what it cached and tells its clients to connect again, so
// that each catches up on what was written meanwhile. Runs when PostgreSQL answers; under
// CI=true a missing server fails it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { PostgresRelayStore, startRelay, type RelayLogEvent, type RelayServer } from '@sealdoc/relay';
import { eventually, Team, type Client } from './clients.js';
import { freshSchema, postgresAvailable, POSTGRES_URL } from './postgres.js';

const withPostgres = await postgresAvailable();
const WAIT = 20_000;

describe('a relay node that loses its LISTEN connection to PostgreSQL', { skip: withPostgres ? false : `PostgreSQL does not answer at ${POSTGRES_URL}` }, () => {
  let drop: () => Promise<void>;
  let url: string;
  let tag: string;
  let db: pg.Client;
  const stores: PostgresRelayStore[] = [];
  const relays: RelayServer[] = [];
  const clients: Client[] = [];
  const logged: RelayLogEvent[] = [];
  let team: Team;

  /** A relay node on the shared database; `log` collects its events. */
  async function node(log?: (event: RelayLogEvent) => void): Promise<{ relay: RelayServer; store: PostgresRelayStore }> {
    const store = await PostgresRelayStore.connect(url);
    stores.push(store);
    const relay = await startRelay({ store, port: 0, ...(log ? { log } : {}) });
    relays.push(relay);
    return { relay, store };
  }

  /** Cuts the node's LISTEN connection from the database's side, as a restart or an operator would (the oldest of this schema's listeners, by the name operators see: the first node's). */
  async function cutListener(): Promise<void> {
    const { rows } = await db.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = 'sealdoc-relay-listen' AND query LIKE $1 ORDER BY backend_start LIMIT 1",
      [`%${tag}%`],
    );
    assert.equal(rows.length, 1, 'the first node listens');
    await db.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
  }

  before(async () => {
    if (!withPostgres) return;
    ({ url, drop } = await freshSchema());
    const schema = new URL(url).searchParams.get('options')!.replace('-c search_path=', '');
    tag = createHash('sha256').update(schema).digest('hex').slice(0, 16);
    db = new pg.Client({ connectionString: POSTGRES_URL });
    await db.connect();
    team = await Team.create(['alice', 'bob', 'carol']);
  });

  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    for (const r of relays) await r.close().catch(() => undefined);
    for (const s of stores) await s.close().catch(() => undefined);
    await db?.end();
    await drop?.();
  });

  it('is not ready while it cannot hear, and its subscribers then get what was written through another node meanwhile; a member removed meanwhile is refused', async () => {
    const first = await node((event) => logged.push(event));
    const second = await node();
    // Alice (the admin) writes through the second node; bob and carol read through the first.
    const alice = await team.connect('alice', second.relay.url);
    const bob = await team.connect('bob', first.relay.url);
    const carol = await team.connect('carol', first.relay.url);
    clients.push(alice, bob, carol);
    alice.doc.getText('t').insert(0, 'before ');
    await eventually(() => bob.text() === 'before ' && carol.text() === 'before ', WAIT, 'bob and carol read alice through the other node');

    await cutListener();
    // The first node says it cannot serve, until it hears again.
    await eventually(() => first.store.probe().then(() => false, () => true), WAIT, 'the first node is not ready while it cannot hear the others');
    // Meanwhile alice removes carol and writes.
    await team.change('remove', 'carol', alice);
    alice.doc.getText('t').insert(7, 'during');
    await eventually(() => bob.text() === 'before during', WAIT, 'bob gets what alice wrote while his node could not hear');
    await first.store.probe();
    // Carol's node knows she was removed: she is refused, not served.
    await eventually(() => carol.errors.some((e) => e.endsWith(':not-a-member')), WAIT, 'carol is refused by the first node');
    assert.ok(!carol.text().includes('during'), 'carol reads nothing written after her removal');
    // The operator reads what happened, in plain words, without anything of the documents.
    const lines = logged.filter((e) => e.event === 'error').map((e) => e.detail ?? '');
    assert.ok(lines.some((d) => /cannot hear the other relay nodes/.test(d)), `the loss is logged: ${JSON.stringify(lines)}`);
    assert.ok(logged.some((e) => e.event === 'resynced'), 'the return is logged');
  });
});
