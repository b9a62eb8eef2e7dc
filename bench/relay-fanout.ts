// The fan-out suite of bench:relay (BENCH_RELAY_SUITES=fanout): the relay on loopback, as a
// child process (sealdoc-relay) so that its memory is its own: 100 clients in one group,
// subscribed to one document, each pushing envelopes of 200 bytes of plaintext with a few
// pushes in flight. Envelopes per second accepted (acknowledged after the store committed)
// while each is fanned out to the 99 others, delivery latency (push to delivery at another
// client), the relay's RSS as the run goes, and the CPU the relay processes used per envelope
// (all nodes together, from the first push to the end of the fan-out); SQLite and PostgreSQL
// side by side, PostgreSQL with 1, 2 and 3 relay nodes on one database (each node its own
// process; the clients spread round-robin over the nodes, connected to them directly, so that
// every envelope crosses nodes through LISTEN/NOTIFY to reach most of its readers; `vs_1_node` =
// accepted/s over the one-node figure of the same run). `ratio` = envelopes per second accepted
// / the 5,000 the issue asks for. `verify floor` checks the same number of envelopes with
// nothing else running: what the machine allows at best, whatever the relay does around the checks.
// BENCH_CLIENTS, BENCH_PER_CLIENT, BENCH_STORES=sqlite,postgres, BENCH_NODES=1,2,3 narrow or widen it;
// BENCH_RELAY_NODE_ARGS passes flags to the relay's node (e.g. "--cpu-prof").
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import pg from 'pg';
import { addMember, createGroup, generateMnemonic, identityFromMnemonic, Keyring, MembershipLog, readEnvelopeHeader, sealEnvelope, signMessage, unlockEpochSecrets, verifyEnvelope, verifyOnCallingThread, type Identity } from '@sealdoc/crypto';
import { decodeWire, encodeWire, HELLO_CONTEXT, MESSAGE_TYPES, type WireMessage } from '@sealdoc/protocol';
import type { Row } from './harness.js';
import { startRelayProcess } from '../test/support/relay-process.js';
import { cpuMs } from './relay-process.js';
import { framesOf } from './relay-frames.js';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 100);
const PER_CLIENT = Number(process.env.BENCH_PER_CLIENT ?? 100);
const IN_FLIGHT = 4;
const TARGET = 5000;
const STORES = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');
const NODES = (process.env.BENCH_NODES ?? '1,2,3').split(',').map(Number);
const POSTGRES_URL = process.env.SEALDOC_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DOC = new Uint8Array(16).fill(9);
const FOUNDERS = 64;

class Client {
  readonly socket: WebSocket;
  readonly acks: number[] = [];
  onDeliver: (frame: Uint8Array) => void = () => undefined;
  onAck: () => void = () => undefined;
  #waiters: ((m: WireMessage) => boolean)[] = [];
  constructor(url: string) {
    this.socket = new WebSocket(url, { perMessageDeflate: false });
    // The load generator shares the machine with the relay: it reads only what it needs (the
    // type byte of each frame in a batch), and decodes deliveries only when it times one.
    this.socket.on('message', (data: Buffer) => {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      for (const frame of framesOf(bytes)) {
        if (frame[1] === MESSAGE_TYPES.deliver) this.onDeliver(frame);
        else if (frame[1] === MESSAGE_TYPES.ack) this.onAck();
        else {
          const m = decodeWire(frame);
          this.#waiters = this.#waiters.filter((w) => !w(m));
        }
      }
    });
  }
  wait(type: WireMessage['type']): Promise<WireMessage> {
    return new Promise((resolve) => this.#waiters.push((m) => (m.type === type ? (resolve(m), true) : false)));
  }
  send(m: WireMessage): void {
    this.socket.send(encodeWire(m));
  }
}

async function run(store: string, nodeCount = 1): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'sealdoc-bench-relay-'));
  let schema: string | undefined;
  let args: string[];
  if (store === 'postgres') {
    schema = `sealdoc_bench_${Date.now()}`;
    const c = new pg.Client({ connectionString: POSTGRES_URL });
    await c.connect();
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.end();
    const url = new URL(POSTGRES_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    args = ['--postgres', url.toString()];
  } else args = ['--db', join(dir, 'relay.sqlite')];
  // One node after another: the first creates the schema.
  const relays: Awaited<ReturnType<typeof startRelayProcess>>[] = [];
  for (let n = 0; n < nodeCount; n++) relays.push(await startRelayProcess(['--port', '0', ...args], { nodeArgs: (process.env.BENCH_RELAY_NODE_ARGS ?? '').split(' ').filter(Boolean) }));
  // Client i connects to node i % nodeCount.
  const urlOf = (i: number) => relays[i % relays.length]!.url;
  const rssMb = () => relays.reduce((sum, r) => sum + r.rssMb(), 0);
  try {
    // One group of CLIENTS members: 64 founders (the most a first op may name), the rest added.
    const ids: Identity[] = Array.from({ length: CLIENTS }, () => identityFromMnemonic(generateMnemonic()));
    const log = await MembershipLog.fromOps([await createGroup(ids[0]!, { members: ids.slice(1, FOUNDERS).map((keys) => ({ keys, role: 'writer' as const })) })]);
    const adminKeys = new Keyring();
    await unlockEpochSecrets(log, ids[0]!, adminKeys);
    for (const id of ids.slice(FOUNDERS)) {
      await log.append(await addMember(log, { signer: ids[0]!, keyring: adminKeys }, id, 'writer'));
      await unlockEpochSecrets(log, ids[0]!, adminKeys);
    }
    const ops = log.ops();
    const plaintext = new Uint8Array(200).fill(7);
    // Every envelope sealed before the clock starts: the bench measures the relay.
    const sealed: Uint8Array[][] = [];
    for (const id of ids) {
      const keyring = new Keyring();
      await unlockEpochSecrets(log, id, keyring);
      sealed.push(
        await Promise.all(
          Array.from({ length: PER_CLIENT }, (_, seq) =>
            sealEnvelope({ kind: 'update', groupId: log.groupId, docId: DOC, epoch: log.epoch, seq, head: log.head, author: id, keyring, plaintext }),
          ),
        ),
      );
    }
    const clients: Client[] = [];
    for (const id of ids) {
      const c = new Client(urlOf(clients.length));
      const challenge = (await c.wait('challenge')) as Extract<WireMessage, { type: 'challenge' }>;
      c.send({ type: 'hello', signingPublicKey: id.signingPublicKey, signature: await signMessage(id, HELLO_CONTEXT, challenge.nonce) });
      await c.wait('welcome');
      if (clients.length === 0) c.send({ type: 'ops', groupId: log.groupId, fromIndex: 0, ops });
      clients.push(c);
    }
    // Let the group exist before the others subscribe.
    await new Promise((r) => setTimeout(r, 200));
    await Promise.all(
      clients.map((c) => {
        const caught = c.wait('caught-up');
        c.send({ type: 'subscribe', groupId: log.groupId, docId: DOC, cursor: 0 });
        return caught;
      }),
    );

    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    let delivered = 0;
    for (const c of clients) {
      c.onDeliver = (frame) => {
        delivered++;
        // One in 97 deliveries is timed (reading every header would load the bench, not the relay).
        if (delivered % 97 !== 0) return;
        const h = readEnvelopeHeader((decodeWire(frame) as Extract<WireMessage, { type: 'deliver' }>).envelope);
        const t = sentAt.get(`${h.author[0]}:${h.author[1]}:${h.seq}`);
        if (t !== undefined) latencies.push(performance.now() - t);
      };
    }
    const total = CLIENTS * PER_CLIENT;
    const rss: number[] = [rssMb() * 1024 * 1024];
    const sampler = setInterval(() => rss.push(rssMb() * 1024 * 1024), 100);
    const relaysCpu = () => relays.reduce((sum, r) => sum + cpuMs(r.child.pid), 0);
    const cpuStart = relaysCpu();
    const start = performance.now();
    await Promise.all(
      clients.map(async (c, i) => {
        let next = 0;
        let acked = 0;
        await new Promise<void>((resolve) => {
          const pushOne = () => {
            const seq = next++;
            const envelope = sealed[i]![seq]!;
            sentAt.set(`${ids[i]!.memberId[0]}:${ids[i]!.memberId[1]}:${seq}`, performance.now());
            c.send({ type: 'push', ref: seq + 1, envelope });
          };
          c.onAck = () => {
            acked++;
            if (next < PER_CLIENT) pushOne();
            if (acked === PER_CLIENT) resolve();
          };
          for (let k = 0; k < IN_FLIGHT; k++) pushOne();
        });
      }),
    );
    const acceptMs = performance.now() - start;
    // Fan-out finishes: every envelope reaches the CLIENTS - 1 others.
    const expected = total * (CLIENTS - 1);
    // It stops short of that after 60 s, or once nothing more arrived for 5 s (what is missing
    // then never comes: delivered_share says how much arrived).
    const until = performance.now() + 60_000;
    let last = delivered;
    let lastChange = performance.now();
    let fanOutMs = performance.now() - start;
    while (delivered < expected && performance.now() < until && performance.now() - lastChange < 5000) {
      await new Promise((r) => setTimeout(r, 20));
      if (delivered !== last) {
        last = delivered;
        lastChange = performance.now();
        fanOutMs = lastChange - start;
      }
    }
    clearInterval(sampler);
    const cpuUsed = relaysCpu() - cpuStart;
    rss.push(rssMb() * 1024 * 1024);
    for (const c of clients) c.socket.close();
    latencies.sort((a, b) => a - b);
    const pick = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
    const perSecond = total / (acceptMs / 1000);
    const mb = (b: number) => Math.round(b / 1024 / 1024);
    return {
      name: store === 'postgres' ? `relay postgres, ${nodeCount} node${nodeCount === 1 ? '' : 's'}` : `relay ${store}`,
      ratio: perSecond / TARGET,
      baseline: `target ${TARGET} envelopes/s`,
      accepted_per_s: perSecond,
      delivered_per_s: delivered / (fanOutMs / 1000),
      delivered_share: delivered / expected,
      p50_ms: pick(0.5),
      p99_ms: pick(0.99),
      rss_start_mb: mb(rss[0]!),
      rss_mid_mb: mb(rss[Math.floor(rss.length / 2)]!),
      rss_end_mb: mb(rss.at(-1)!),
      // CPU the relay processes used (all nodes together) from the first push to the end of the fan-out, per envelope accepted.
      relay_cpu_us_per_envelope: (cpuUsed * 1000) / total,
      nodes: nodeCount,
      clients: CLIENTS,
      envelopes: total,
    };
  } finally {
    for (const relay of relays) relay.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    if (schema) {
      const c = new pg.Client({ connectionString: POSTGRES_URL });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    }
  }
}

/**
 * The single-core floor under any relay here: the checks every push needs (header, signature,
 * author against the log) of the same envelopes, on one thread as the relay makes them
 * (`verifyOnCallingThread`: libsodium where sodium-native loads, else node:crypto's one-shot
 * Ed25519), with no network, no store and no
 * fan-out, on this machine, in this run.
 */
export async function verifyFloor(): Promise<Row> {
  const ids: Identity[] = Array.from({ length: 10 }, () => identityFromMnemonic(generateMnemonic()));
  const ops = [await createGroup(ids[0]!, { members: ids.slice(1).map((keys) => ({ keys, role: 'writer' as const })) })];
  const log = await MembershipLog.fromOps(ops);
  const keyring = new Keyring();
  await unlockEpochSecrets(log, ids[0]!, keyring);
  const plaintext = new Uint8Array(200).fill(7);
  const total = CLIENTS * PER_CLIENT;
  const sealed = await Promise.all(
    Array.from({ length: total }, (_, seq) => sealEnvelope({ kind: 'update', groupId: log.groupId, docId: DOC, epoch: log.epoch, seq, head: log.head, author: ids[0]!, keyring, plaintext })),
  );
  const context = log.verifyContext({ kinds: ['update', 'snapshot'] });
  verifyOnCallingThread(true);
  const start = performance.now();
  try {
    for (let i = 0; i < total; i += 64) await Promise.all(sealed.slice(i, i + 64).map((e) => verifyEnvelope(e, context)));
  } finally {
    verifyOnCallingThread(false);
  }
  const perSecond = total / ((performance.now() - start) / 1000);
  return { name: 'verify floor', ratio: perSecond / TARGET, baseline: `target ${TARGET} envelopes/s`, accepted_per_s: perSecond, envelopes: total };
}


/** The fan-out rows: SQLite, then PostgreSQL with each node count of BENCH_NODES. */
export async function fanoutRows(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const store of STORES) {
    if (store !== 'postgres') {
      rows.push(await run(store));
      continue;
    }
    let one: number | undefined;
    for (const n of NODES) {
      const row = await run(store, n);
      if (n === 1) one = row.accepted_per_s as number;
      rows.push(one === undefined ? row : { ...row, vs_1_node: (row.accepted_per_s as number) / one });
    }
  }
  return rows;
}

/** The title of the fan-out table. */
export const FANOUT_TITLE = `Relay on loopback: ${CLIENTS} clients in one group, ${PER_CLIENT} envelopes of 200 B each, ${IN_FLIGHT} in flight per client (ratio = accepted/s / ${TARGET})`;
