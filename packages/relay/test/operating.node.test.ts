// What an operator relies on, through startRelay: /readyz (the store can be read and written),
// /metrics (Prometheus text, one registry per relay), a graceful shutdown that sends clients
// elsewhere (close code 1012) and core's WebSocketTransport coming back at once after it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect as connectTcp, type AddressInfo, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { WebSocket } from 'ws';
import { WebSocketTransport, type WebSocketLike } from '@sealdoc/core';
import { MemoryRelayStore, PostgresRelayStore, SqliteRelayStore, startRelay, type RelayServer } from '@sealdoc/relay';
import { DOC_ID, eventually, identity, Team } from './clients.js';
import { freshSchema, postgresAvailable } from './postgres.js';
import { envelopeMaker, RawClient } from './raw-client.js';

const Ws = WebSocket as unknown as new (url: string) => WebSocketLike;

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { headers });
  return { status: response.status, body: await response.text() };
}

const http = (server: RelayServer, path: string) => `http://127.0.0.1:${server.port}${path}`;

/** A TCP forwarder (a load balancer, or a network between the relay and its database) that can be pointed elsewhere or cut. */
async function forwarder(target: () => number): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: Server;
  let port = 0;
  const listen = async () => {
    server = createServer((client) => {
      const upstream = connectTcp(target(), '127.0.0.1');
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  };
  await listen();
  return {
    port,
    cut: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
    restore: listen,
  };
}

/** The value of a metric line (`name{labels} value`) in a scrape, or undefined. */
function metric(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('/readyz', () => {
  it('answers 200 while the store can be read and written, 503 with a short reason once it cannot (memory, SQLite)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdoc-ready-'));
    try {
      for (const store of [new MemoryRelayStore(), SqliteRelayStore.open(join(dir, 'relay.sqlite'))]) {
        const server = await startRelay({ store, port: 0 });
        try {
          assert.deepEqual(await get(http(server, '/readyz')), { status: 200, body: 'ready\n' });
          assert.equal((await get(http(server, '/healthz'))).status, 200);
          await store.close();
          assert.deepEqual(await get(http(server, '/readyz')), { status: 503, body: 'database closed\n' });
          assert.equal((await get(http(server, '/healthz'))).status, 200, 'alive all the same');
        } finally {
          await server.close();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SQLite: 503 while another process holds the write lock (the probe takes it), 200 once it lets go', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdoc-ready-'));
    const store = SqliteRelayStore.open(join(dir, 'relay.sqlite'));
    const server = await startRelay({ store, port: 0 });
    const other = new Database(join(dir, 'relay.sqlite'));
    try {
      assert.equal((await get(http(server, '/readyz'))).status, 200);
      other.exec('BEGIN EXCLUSIVE');
      assert.equal((await get(http(server, '/readyz'))).status, 503);
      other.exec('COMMIT');
      assert.equal((await get(http(server, '/readyz'))).status, 200);
    } finally {
      other.close();
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('503 when the store does not answer within 2 s', async () => {
    class Hanging extends MemoryRelayStore {
      override probe(): Promise<void> {
        return new Promise(() => undefined);
      }
    }
    const server = await startRelay({ store: new Hanging(), port: 0 });
    try {
      const started = Date.now();
      assert.deepEqual(await get(http(server, '/readyz')), { status: 503, body: 'database did not answer within 2000 ms\n' });
      assert.ok(Date.now() - started < 3000);
    } finally {
      await server.close();
    }
  });

  it('on PostgreSQL: 503 while the database cannot be reached, 200 again once it can, without the URL in the answer', async (t) => {
    if (!(await postgresAvailable())) return t.skip('PostgreSQL did not answer (it runs under CI=true)');
    const schema = await freshSchema();
    {
      const url = new URL(schema.url);
      const postgresPort = Number(url.port || 5432);
      const network = await forwarder(() => postgresPort);
      url.port = String(network.port);
      url.password = 'pw-not-shown';
      const store = await PostgresRelayStore.connect(url.toString(), { max: 2 });
      const server = await startRelay({ store, port: 0 });
      try {
        assert.equal((await get(http(server, '/readyz'))).status, 200);
        await network.cut();
        const down = await get(http(server, '/readyz'));
        assert.deepEqual(down, { status: 503, body: 'database not reachable or not writable\n' });
        await network.restore();
        await eventually(async () => (await get(http(server, '/readyz'))).status === 200, 5000, 'ready again');
      } finally {
        await server.close();
        await store.close();
        await network.cut();
        await schema.drop();
      }
    }
  });
});

describe('/metrics', () => {
  it('counts connections, envelopes and bytes in and out, refusals by code, quota refusals, store latency and outbox bytes; one registry per relay', async () => {
    const team = await Team.create(['alice', 'bob']);
    const store = new MemoryRelayStore();
    const other = await startRelay({ store: new MemoryRelayStore(), port: 0 });
    const server = await startRelay({ store, port: 0, quotas: { documentsPerIdentity: 1 } });
    try {
      const alice = await RawClient.connect(server.url, identity('alice'));
      const bob = await RawClient.connect(server.url, identity('bob'));
      alice.send({ type: 'commit-ops', ref: 1, groupId: team.groupId, fromIndex: 0, ops: team.ops });
      await alice.next('ack');
      bob.send({ type: 'subscribe', groupId: team.groupId, docId: DOC_ID, cursor: 0 });
      await bob.next('caught-up');
      const seal = await envelopeMaker(identity('alice'), team.ops, DOC_ID);
      for (let seq = 0; seq < 3; seq++) {
        alice.send({ type: 'push', ref: 10 + seq, envelope: await seal(seq) });
        await alice.next('ack');
      }
      await eventually(() => bob.received.filter((m) => m.type === 'deliver').length === 3, 5000, 'deliveries');
      // A forged signature, and a second document over Alice's quota of one.
      const forged = await seal(3);
      forged[forged.length - 1]! ^= 1;
      alice.send({ type: 'push', ref: 20, envelope: forged });
      assert.equal(((await alice.next('error')) as { code?: string }).code, 'bad-signature');
      const elsewhere = await envelopeMaker(identity('alice'), team.ops, new Uint8Array(16).fill(6));
      alice.send({ type: 'push', ref: 21, envelope: await elsewhere(0) });
      assert.equal(((await alice.next('error')) as { code?: string }).code, 'quota-exceeded');

      const { status, body } = await get(http(server, '/metrics'));
      assert.equal(status, 200);
      assert.equal(metric(body, 'sealdoc_relay_connections'), 2);
      assert.equal(metric(body, 'sealdoc_relay_connections_opened_total'), 2);
      assert.equal(metric(body, 'sealdoc_relay_envelopes_accepted_total'), 3);
      assert.equal(metric(body, 'sealdoc_relay_envelopes_delivered_total'), 3);
      assert.equal(metric(body, 'sealdoc_relay_refusals_total', 'code="bad-signature"'), 1, body);
      assert.equal(metric(body, 'sealdoc_relay_refusals_total', 'code="quota-exceeded"'), 1);
      assert.equal(metric(body, 'sealdoc_relay_quota_refusals_total'), 1);
      assert.ok(metric(body, 'sealdoc_relay_received_bytes_total')! > 3 * 100, 'bytes in');
      assert.ok(metric(body, 'sealdoc_relay_sent_bytes_total')! > 3 * 100, 'bytes out');
      assert.ok(metric(body, 'sealdoc_relay_frames_received_total')! >= 8);
      assert.ok(metric(body, 'sealdoc_relay_frames_sent_total')! >= 8);
      assert.equal(metric(body, 'sealdoc_relay_outbox_bytes'), 0);
      assert.ok(metric(body, 'sealdoc_relay_store_duration_seconds_count', 'operation="putEnvelopes",outcome="ok"')! >= 3, 'store latency histogram');
      assert.match(body, /# TYPE sealdoc_relay_store_duration_seconds histogram/);
      for (const labels of body.matchAll(/\{([^}]*)\}/g)) for (const [, name] of labels[1]!.matchAll(/(\w+)="/g)) assert.ok(['code', 'operation', 'outcome', 'le', 'version', 'type', 'space', 'kind', 'major', 'minor', 'patch'].includes(name!), `label ${name}`);

      // The other relay in this process counts its own.
      const theirs = (await get(http(other, '/metrics'))).body;
      assert.equal(metric(theirs, 'sealdoc_relay_envelopes_accepted_total'), 0);
      assert.equal(metric(theirs, 'sealdoc_relay_connections_opened_total'), 0);
      alice.close();
      bob.close();
    } finally {
      await server.close();
      await other.close();
    }
  });

  it('on PostgreSQL: how late this node hears what another node stored', async (t) => {
    if (!(await postgresAvailable())) return t.skip('PostgreSQL did not answer (it runs under CI=true)');
    const schema = await freshSchema();
    const elsewhere = await PostgresRelayStore.connect(schema.url, { max: 2 });
    const store = await PostgresRelayStore.connect(schema.url, { max: 2 });
    const server = await startRelay({ store, port: 0 });
    try {
      const count = async () => metric((await get(http(server, '/metrics'))).body, 'sealdoc_relay_postgres_notification_lag_seconds_count') ?? 0;
      assert.equal(await count(), 0);
      const id = (n: number) => new Uint8Array(16).fill(n);
      await elsewhere.putEnvelopes([1, 2, 3].map((seq) => ({ groupId: id(1), docId: id(2), author: new Uint8Array(32).fill(3), seq, bytes: new Uint8Array(200).fill(seq) })));
      await eventually(async () => (await count()) === 3, 5000, 'three notifications heard');
      const body = (await get(http(server, '/metrics'))).body;
      assert.ok(metric(body, 'sealdoc_relay_postgres_notification_lag_seconds_sum')! < 5, 'seconds, not milliseconds');
    } finally {
      await server.close();
      await store.close();
      await elsewhere.close();
      await schema.drop();
    }
  });

  it('behind a bearer token, or on a port of its own', async () => {
    const store = new MemoryRelayStore();
    const guarded = await startRelay({ store, port: 0, metrics: { token: 'tok-1' } });
    const separate = await startRelay({ store, port: 0, metrics: { port: 0 } });
    const none = await startRelay({ store, port: 0, metrics: false });
    try {
      assert.equal((await get(http(guarded, '/metrics'))).status, 401);
      assert.equal((await get(http(guarded, '/metrics'), { authorization: 'Bearer tok-2' })).status, 401);
      const ok = await get(http(guarded, '/metrics'), { authorization: 'Bearer tok-1' });
      assert.equal(ok.status, 200);
      assert.match(ok.body, /sealdoc_relay_connections /);
      assert.equal((await get(http(separate, '/metrics'))).status, 404, 'not on the relay port');
      assert.ok(separate.metricsPort! > 0 && separate.metricsPort !== separate.port);
      assert.equal((await get(`http://127.0.0.1:${separate.metricsPort}/metrics`)).status, 200);
      assert.equal((await get(http(none, '/metrics'))).status, 404);
    } finally {
      await Promise.all([guarded.close(), separate.close(), none.close()]);
    }
  });
});

describe('graceful shutdown', () => {
  it('stops accepting and tells every client to reconnect elsewhere with close code 1012', async () => {
    const store = new MemoryRelayStore();
    const server = await startRelay({ store, port: 0 });
    const client = await RawClient.connect(server.url, identity('alice'));
    const started = Date.now();
    await server.shutdown();
    assert.equal(await client.closed(), 1012);
    assert.ok(Date.now() - started < 2500, 'within its grace');
    await assert.rejects(RawClient.connect(server.url, identity('alice')), 'no new connection');
  });

  it('WebSocketTransport reconnects at once after a 1012 (through a balancer, to the other node), not after its backoff', async () => {
    const store = new MemoryRelayStore();
    const a = await startRelay({ store, port: 0 });
    const b = await startRelay({ store, port: 0 });
    let backend = a.port;
    const balancer = await forwarder(() => backend);
    // A backoff that would wait 2.5 s to 5 s before its first retry.
    const transport = new WebSocketTransport({ url: `ws://127.0.0.1:${balancer.port}`, identity: identity('alice'), WebSocket: Ws, backoff: { minMs: 5000, maxMs: 30_000 } });
    try {
      await transport.connect();
      const closes: number[] = [];
      transport.events.on('connection-close', ({ code }) => closes.push(code));
      backend = b.port;
      const started = Date.now();
      await a.shutdown();
      await eventually(() => transport.status === 'online', 1500, 'back online through the other node');
      assert.deepEqual(closes, [1012]);
      assert.ok(Date.now() - started < 1500);
      assert.equal(b.relay.stats.connections, 1);
    } finally {
      await transport.disconnect();
      await b.close();
      await balancer.cut();
    }
  });
});

describe('the relay over HTTP, to anyone', () => {
  // Anyone on the network may ask: /readyz runs one probe at a time, shared by the requests that
  // come while it runs (on PostgreSQL without drawing a transaction id); /healthz says alive and
  // nothing more (the counters are /metrics's, which an operator may protect).
  it('a flood of /readyz costs the database one probe at a time; /healthz shows no counters', async () => {
    const store = new MemoryRelayStore();
    let probes = 0;
    store.probe = async () => {
      probes++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    };
    const server = await startRelay({ store, port: 0, metrics: { token: 'a-long-secret' } });
    try {
      const answers = await Promise.all(Array.from({ length: 200 }, () => get(http(server, '/readyz'))));
      assert.ok(answers.every((a) => a.status === 200 && a.body.trim() === 'ready'));
      assert.ok(probes < 20, `${probes} probes for 200 requests at once`);
      assert.deepEqual(JSON.parse((await get(http(server, '/healthz'))).body), { ok: true });
      assert.equal((await get(http(server, '/metrics'))).status, 401);
    } finally {
      await server.close();
      await store.close();
    }
  });
});
