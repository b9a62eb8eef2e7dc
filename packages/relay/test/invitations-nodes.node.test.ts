// Whether an admin is online to let an invitee in, asked of any relay node on one PostgreSQL
// database: the admin's device watches the group's invitations on one node, the invitee (or a
// stranger holding the link) asks another. Gone when the admin's device goes, when its node
// closes, and when its node stops saying it is alive (a crash); back when the node's rows were
// lost (a crash of the database empties unlogged tables). Runs when PostgreSQL answers; under
// CI=true a missing server fails it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { WebSocket } from 'ws';
import { checkInvitation, GroupInvitation, JoinByInvitation, throwawayIdentity, WebSocketTransport, type WebSocketLike } from '@sealdoc/core';
import { PostgresRelayStore, startRelay, type RelayServer } from '@sealdoc/relay';
import { eventually, identity, Team, type Client } from './clients.js';
import { freshSchema, postgresAvailable, POSTGRES_URL } from './postgres.js';

const Ws = WebSocket as unknown as new (url: string) => WebSocketLike;
// Short, so that a node's silence shows within the test (three heartbeats).
const HEARTBEAT_MS = 200;
const withPostgres = await postgresAvailable();

describe('admin online, seen from every relay node on one PostgreSQL database', { skip: withPostgres ? false : `PostgreSQL does not answer at ${POSTGRES_URL}` }, () => {
  let drop: () => Promise<void>;
  let url: string;
  let db: pg.Client;
  const stores: PostgresRelayStore[] = [];
  const relays: RelayServer[] = [];
  const transports: WebSocketTransport[] = [];
  let team: Team;
  let alice: Client;

  /** A relay node on the shared database. */
  async function node(): Promise<RelayServer> {
    const store = await PostgresRelayStore.connect(url, { heartbeatMs: HEARTBEAT_MS });
    stores.push(store);
    const relay = await startRelay({ store, port: 0 });
    relays.push(relay);
    return relay;
  }

  const device = async (relay: RelayServer, name?: string) => {
    const t = new WebSocketTransport({ url: relay.url, identity: name ? identity(name) : throwawayIdentity(), WebSocket: Ws, backoff: { minMs: 20, maxMs: 100 } });
    transports.push(t);
    await t.connect();
    return t;
  };

  before(async () => {
    ({ url, drop } = await freshSchema());
    db = new pg.Client({ connectionString: url });
    await db.connect();
    team = await Team.create(['alice', 'bob']);
  });

  after(async () => {
    for (const t of transports) await t.disconnect().catch(() => undefined);
    await alice?.close().catch(() => undefined);
    for (const r of relays) await r.close().catch(() => undefined);
    for (const s of stores) await s.close().catch(() => undefined);
    await db?.end();
    await drop?.();
  });

  it('an admin watching on one node is online for an invitee asking another; away once its device goes, its node closes, or its node is silent; back once its node writes its rows again', async () => {
    const [a, b] = [await node(), await node()];
    alice = await team.connect('alice', a.url);
    const adminDevice = await device(a, 'alice');
    const invitation = await GroupInvitation.create({ group: alice.group, transport: adminDevice, role: 'writer', baseUrl: 'https://app.example/' });
    const stranger = await device(b);
    const online = async () => (await checkInvitation(invitation.link, stranger)).adminOnline;
    const rows = async (table: string) => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);

    // Watched on node A, asked of node B.
    await eventually(online, 5000, 'the admin on node A seen from node B');
    const carol = await device(b, 'carol');
    const join = JoinByInvitation.start(invitation.link, { signer: identity('carol'), transport: carol, name: 'Carol', pollMs: 30 });
    await eventually(() => join.state === 'pending' && join.adminOnline === true, 5000, 'Carol, on node B, told the admin is online');

    // The admin's device goes: away, from node B too.
    invitation.close();
    await adminDevice.disconnect();
    await eventually(async () => !(await online()), 5000, 'the admin seen away from node B');
    await eventually(() => join.adminOnline === false, 5000, 'Carol told the admin is away');
    assert.equal(await rows('sealdoc_presence_watchers'), 0, 'node A’s row deleted with its last watcher');

    // A node that crashed while its admin watched (its rows stay, its heartbeat stopped): away
    // once it was silent for three heartbeats, and its rows deleted once silent for thirty.
    const group = Buffer.from(team.groupId);
    await db.query("INSERT INTO sealdoc_presence_nodes (node, seen) VALUES ('crashed', now())");
    await db.query("INSERT INTO sealdoc_presence_watchers (group_id, node) VALUES ($1, 'crashed')", [group]);
    assert.equal(await online(), true, 'a node seen within three heartbeats counts');
    await db.query(`UPDATE sealdoc_presence_nodes SET seen = now() - make_interval(secs => ${(4 * HEARTBEAT_MS) / 1000}) WHERE node = 'crashed'`);
    assert.equal(await online(), false, 'a node silent for more than three heartbeats does not');
    await db.query(`UPDATE sealdoc_presence_nodes SET seen = now() - make_interval(secs => ${(31 * HEARTBEAT_MS) / 1000}) WHERE node = 'crashed'`);
    await eventually(async () => (await rows('sealdoc_presence_watchers')) === 0 && (await rows("sealdoc_presence_nodes WHERE node = 'crashed'")) === 0, 5000, 'a node silent for thirty heartbeats forgotten by the others');

    // Back on node A (taken up again, as after a reload): online from node B, and the request Carol sent through node B is there.
    const back = await device(a, 'alice');
    const resumed = GroupInvitation.resume({ group: alice.group, transport: back, code: invitation.code, baseUrl: 'https://app.example/' });
    await eventually(online, 5000, 'back');
    await eventually(() => join.adminOnline === true, 5000, 'Carol told the admin is back');
    await eventually(() => resumed.requests.length === 1, 5000, 'the request Carol sent through node B');

    // A crash of the database empties unlogged tables: node A writes its rows again at its next heartbeat.
    await db.query('TRUNCATE sealdoc_presence_watchers, sealdoc_presence_nodes');
    await eventually(async () => (await rows('sealdoc_presence_watchers')) === 1, 5000, 'node A wrote its row again');
    assert.equal(await online(), true);

    // Node A closes (its admin's connection with it): its rows go at once, not three heartbeats later.
    resumed.close();
    await a.close();
    await stores[0]!.close();
    assert.equal(await rows('sealdoc_presence_watchers'), 0, 'node A’s rows deleted as it closed');
    assert.equal(await online(), false);
    await eventually(() => join.adminOnline === false, 5000, 'Carol told the admin is away');
    join.close();
  });
});
