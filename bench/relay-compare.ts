// The comparison suite of bench:relay (the default): one workload driven through Sealdoc's relay
// (sealdoc-relay, SQLite), Hocuspocus (in memory, and with its SQLite extension) and the
// y-websocket server, each in a child process of its own, one after another in one run.
// DOCS documents × PER_DOC clients; at a fixed load each client writes a small Yjs update every
// INTERVAL ms for FIXED_S seconds (delivery latency: write at one client → arrival at another
// client of the same document; server CPU per 1,000 updates from /proc; RSS), then a saturated
// phase of SATURATED_S seconds in which each client keeps IN_FLIGHT writes unacknowledged
// (acknowledged updates per second). Sealdoc twice: relay-only (envelopes sealed before the clock
// starts, arrivals not opened) and the full client path (each write sealed as it is made, each
// arrival verified and opened before it counts).
// BENCH_RELAY_DOCS, BENCH_RELAY_PER_DOC, BENCH_RELAY_INTERVAL_MS, BENCH_RELAY_FIXED_S,
// BENCH_RELAY_SATURATED_S, BENCH_RELAY_IN_FLIGHT, BENCH_RELAY_ROUNDS (medians over rounds),
// BENCH_RELAY_SERVERS=sealdoc,sealdoc-full,relay-floor,hocuspocus,hocuspocus-sqlite,y-websocket (relay-floor:
// servers/relay-floor.mjs, the least a relay with these guarantees does per update; and sealdoc-inline:
// the relay with --verify-threads 0, and sealdoc-memory: the relay with --memory);
// BENCH_RELAY_NODE_ARGS passes flags to every server's node (e.g. "--cpu-prof").
// BENCH_RELAY_BEFORE_CLI=path/to/an/other/build/dist/cli.js adds that build of the relay
// (relay-only, as `sealdoc-before`) to the same run: before and after a change, side by side.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Row } from './harness.js';
import { hocuspocusDriver, Recorder, sealdocDriver, yWebsocketDriver, type Driver, type LoadClient } from './relay-clients.js';
import { cpuMs, machineTicks, threadCpuMs, startHocuspocus, startRelayFloor, startSealdocRelay, startYWebsocket, statusMb, type ServerProcess } from './relay-process.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const DOCS = env('BENCH_RELAY_DOCS', 20);
const PER_DOC = env('BENCH_RELAY_PER_DOC', 5);
const INTERVAL_MS = env('BENCH_RELAY_INTERVAL_MS', 100);
const FIXED_S = env('BENCH_RELAY_FIXED_S', 15);
const SATURATED_S = env('BENCH_RELAY_SATURATED_S', 5);
const IN_FLIGHT = env('BENCH_RELAY_IN_FLIGHT', 4);
const ROUNDS = env('BENCH_RELAY_ROUNDS', 1);
/** Envelopes sealed in advance per client for the relay-only run (fixed load, then saturated until they run out). */
const PRESEALED = env('BENCH_RELAY_PRESEALED', Math.ceil((FIXED_S * 1000) / INTERVAL_MS) + 600);
const SERVERS = [...(process.env.BENCH_RELAY_SERVERS ?? 'sealdoc,sealdoc-full,relay-floor,hocuspocus,hocuspocus-sqlite,y-websocket').split(','), ...(process.env.BENCH_RELAY_BEFORE_CLI ? ['sealdoc-before'] : [])];
const NODE_ARGS = (process.env.BENCH_RELAY_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** The title of the comparison table. */
export const COMPARE_TITLE = `Relay beside Hocuspocus and y-websocket: ${DOCS} documents × ${PER_DOC} clients, an update every ${INTERVAL_MS} ms for ${FIXED_S} s (latency, CPU), then ${SATURATED_S} s saturated with ${IN_FLIGHT} in flight per client`;

/** What one server did in one run. */
interface Measure {
  name: string;
  saturated_per_s: number;
  /** Server CPU per 1,000 updates acknowledged in the saturated phase. */
  saturated_cpu_ms_per_1000: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  cpu_ms_per_1000: number;
  /** Of which on the server's main thread (the event loop every connection waits on). */
  main_thread_ms_per_1000: number;
  rss_mb: number;
  peak_rss_mb: number;
  /** Arrivals at the fixed load over what was expected (each write at the other PER_DOC - 1 clients). */
  delivered_share: number;
  updates: number;
  /** At the fixed load, the server's main thread's event-loop delay: 99th percentile and longest (ms). */
  server_loop_p99_ms: number;
  server_loop_max_ms: number;
  /** The same for the bench's own process, where the clients run and latencies are timed. */
  load_loop_p99_ms: number;
  load_loop_max_ms: number;
  /** Share of the machine's CPU time the hypervisor gave elsewhere during the fixed load (steal), %. */
  steal_pct: number;
}

interface Subject {
  key: string;
  name: string;
  start(dir: string): Promise<ServerProcess>;
  driver: Driver;
}

const SUBJECTS: Subject[] = [
  {
    key: 'sealdoc',
    name: 'sealdoc relay (sqlite), relay only',
    start: (dir) => relay(dir),
    driver: sealdocDriver({ preSealed: true, sealedPerClient: PRESEALED }),
  },
  {
    key: 'sealdoc-full',
    name: 'sealdoc relay (sqlite), full client path',
    start: (dir) => relay(dir),
    driver: sealdocDriver({ preSealed: false, sealedPerClient: 0 }),
  },
  {
    // Not in the default list: signatures checked on the relay's main thread, to compare.
    key: 'sealdoc-inline',
    name: 'sealdoc relay (sqlite), relay only, --verify-threads 0',
    start: (dir) => relay(dir, undefined, ['--verify-threads', '0']),
    driver: sealdocDriver({ preSealed: true, sealedPerClient: PRESEALED }),
  },
  {
    // Not in the default list: the relay in memory (no SQLite, no WAL), to tell the store's share of its latency and CPU.
    key: 'sealdoc-memory',
    name: 'sealdoc relay (memory), relay only',
    start: (dir) => relay(dir, undefined, ['--memory']),
    driver: sealdocDriver({ preSealed: true, sealedPerClient: PRESEALED }),
  },
  {
    // What any relay with these guarantees pays per update (servers/relay-floor.mjs): the check, the write, the ack, the fan-out.
    key: 'relay-floor',
    name: 'relay floor: check, sqlite, ack, fan-out only',
    start: async (dir) => stopsOnSigterm(await startRelayFloor(NODE_ARGS, join(dir, 'floor.sqlite'))),
    driver: sealdocDriver({ preSealed: true, sealedPerClient: PRESEALED }),
  },
  { key: 'hocuspocus', name: 'hocuspocus (memory)', start: () => startHocuspocus(NODE_ARGS), driver: hocuspocusDriver },
  { key: 'hocuspocus-sqlite', name: 'hocuspocus (sqlite extension)', start: (dir) => startHocuspocus(NODE_ARGS, join(dir, 'hocuspocus.sqlite')), driver: hocuspocusDriver },
  { key: 'y-websocket', name: 'y-websocket server (memory)', start: () => startYWebsocket(NODE_ARGS), driver: yWebsocketDriver },
];

const BEFORE_CLI = process.env.BENCH_RELAY_BEFORE_CLI;
if (BEFORE_CLI)
  SUBJECTS.unshift({
    key: 'sealdoc-before',
    name: 'sealdoc relay (sqlite), relay only, BENCH_RELAY_BEFORE_CLI',
    start: (dir) => relay(dir, BEFORE_CLI),
    driver: sealdocDriver({ preSealed: true, sealedPerClient: PRESEALED }),
  });

async function relay(dir: string, cli?: string, args: string[] = []): Promise<ServerProcess> {
  return stopsOnSigterm(await startSealdocRelay(NODE_ARGS, [...(args.includes('--memory') ? [] : ['--db', join(dir, 'relay.sqlite')]), ...args], cli));
}

/** Stopped by SIGTERM rather than SIGKILL: a --cpu-prof run writes its profile on the way out. */
function stopsOnSigterm(server: ServerProcess): ServerProcess {
  return { ...server, stop: () => server.child.kill('SIGTERM') };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One server, one run: connect, fixed load, saturated load. */
async function measure(subject: Subject): Promise<Measure> {
  const dir = mkdtempSync(join(tmpdir(), 'sealdoc-bench-compare-'));
  const server = await subject.start(dir);
  const pid = server.child.pid;
  const recorder = new Recorder(DOCS * PER_DOC);
  let clients: LoadClient[] = [];
  try {
    // A server that dies while its clients connect fails the bench rather than leave it waiting.
    const died = new Promise<never>((_, reject) => server.child.once('exit', (code, signal) => reject(new Error(`${subject.name} exited while its clients connected (${code ?? signal})`))));
    died.catch(() => undefined);
    clients = await Promise.race([subject.driver.connect(server.url, DOCS, PER_DOC, recorder), died]);
    await sleep(500);

    // Fixed load: every client writes every INTERVAL_MS, each from its own offset.
    let writes = 0;
    recorder.recording = true;
    const arrivalsBefore = recorder.arrivals;
    const cpuStart = cpuMs(pid);
    const mainStart = cpuMs(pid, true);
    const threadsStart = threadCpuMs(pid);
    // Where a latency's tail comes from: the server's loop, the load's, or the machine's.
    await server.loopDelay();
    const loadLoop = monitorEventLoopDelay({ resolution: 10 });
    loadLoop.enable();
    const ticksStart = machineTicks();
    const timers: ReturnType<typeof setInterval>[] = [];
    const until = performance.now() + FIXED_S * 1000;
    await Promise.all(
      clients.map(
        (c) =>
          new Promise<void>((resolve) => {
            setTimeout(() => {
              const tick = () => {
                if (performance.now() >= until) {
                  clearInterval(timer);
                  return resolve();
                }
                if (c.write()) writes++;
              };
              const timer = setInterval(tick, INTERVAL_MS);
              timers.push(timer);
              tick();
            }, Math.random() * INTERVAL_MS);
          }),
      ),
    );
    // What is on its way arrives (and is counted) before the CPU is read.
    await sleep(1000);
    // A server that died meanwhile (the floor ends itself on anything it cannot take) fails the bench.
    if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error(`${subject.name} exited during the fixed load (${server.child.exitCode ?? server.child.signalCode})`);
    const cpuUsed = cpuMs(pid) - cpuStart;
    const mainUsed = cpuMs(pid, true) - mainStart;
    // With BENCH_RELAY_VERBOSE: the CPU per 1,000 updates of each of the server's threads, by name.
    if (process.env.BENCH_RELAY_VERBOSE) {
      const threads = Object.fromEntries([...threadCpuMs(pid)].map(([name, ms]) => [name, Math.round(((ms - (threadsStart.get(name) ?? 0)) * 1000) / writes)]).filter(([, ms]) => ms !== 0));
      console.error(JSON.stringify({ name: subject.name, threads_cpu_ms_per_1000: threads }));
    }
    recorder.recording = false;
    loadLoop.disable();
    const serverLoop = await server.loopDelay();
    const ticksEnd = machineTicks();
    const arrivals = recorder.arrivals - arrivalsBefore;
    const rss = statusMb(pid, 'VmRSS');
    const latencies = recorder.latencies.sort((a, b) => a - b);
    const pick = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;

    // Saturated: each client keeps IN_FLIGHT writes unacknowledged, for SATURATED_S.
    let acked = 0;
    let running = true;
    let exhaustedAt: number | undefined;
    const start = performance.now();
    const saturatedCpuStart = cpuMs(pid);
    for (const c of clients) {
      c.onAck = () => {
        if (!running) return;
        acked++;
        if (!c.write()) exhaustedAt ??= performance.now();
      };
      for (let k = 0; k < IN_FLIGHT; k++) c.write();
    }
    while (performance.now() - start < SATURATED_S * 1000 && exhaustedAt === undefined) await sleep(20);
    running = false;
    const saturatedCpu = cpuMs(pid) - saturatedCpuStart;
    const seconds = ((exhaustedAt ?? performance.now()) - start) / 1000;
    const saturated = acked / seconds;
    await sleep(500);
    return {
      name: subject.name,
      saturated_per_s: saturated,
      saturated_cpu_ms_per_1000: (saturatedCpu * 1000) / acked,
      p50_ms: pick(0.5),
      p99_ms: pick(0.99),
      max_ms: latencies.at(-1) ?? Number.NaN,
      cpu_ms_per_1000: (cpuUsed * 1000) / writes,
      main_thread_ms_per_1000: (mainUsed * 1000) / writes,
      rss_mb: rss,
      peak_rss_mb: statusMb(pid, 'VmHWM'),
      delivered_share: arrivals / (writes * (PER_DOC - 1)),
      updates: writes,
      server_loop_p99_ms: serverLoop.p99_ms,
      server_loop_max_ms: serverLoop.max_ms,
      load_loop_p99_ms: loadLoop.percentile(99) / 1e6,
      load_loop_max_ms: loadLoop.max / 1e6,
      steal_pct: (100 * (ticksEnd.steal - ticksStart.steal)) / (ticksEnd.total - ticksStart.total),
    };
  } finally {
    for (const c of clients) c.close();
    server.stop();
    await sleep(300);
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (values: number[]) => {
  const s = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * The comparison rows: one per server (medians over BENCH_RELAY_ROUNDS rounds, the servers
 * taking turns within each), then the ratios against Hocuspocus (in memory) and, given the
 * verify floor's envelopes/s, Sealdoc's saturated throughput against it.
 */
export async function compareRows(verifyFloorPerSecond?: number): Promise<Row[]> {
  const subjects = SUBJECTS.filter((s) => SERVERS.includes(s.key));
  const runs = new Map<string, Measure[]>();
  for (let round = 0; round < ROUNDS; round++)
    for (const subject of subjects) {
      const m = await measure(subject);
      runs.set(subject.key, [...(runs.get(subject.key) ?? []), m]);
      if (process.env.BENCH_RELAY_VERBOSE) console.error(JSON.stringify({ round, ...m }));
    }
  const medians = new Map<string, Measure>();
  for (const [key, ms] of runs) {
    const fields = Object.keys(ms[0]!).filter((k) => k !== 'name') as (keyof Omit<Measure, 'name'>)[];
    medians.set(key, { name: ms[0]!.name, ...(Object.fromEntries(fields.map((f) => [f, median(ms.map((m) => m[f]))])) as Omit<Measure, 'name'>) });
  }
  const hocus = medians.get('hocuspocus');
  const rows: Row[] = [];
  for (const subject of subjects) {
    const m = medians.get(subject.key)!;
    const ms = runs.get(subject.key)!;
    rows.push({
      ...m,
      ratio: hocus ? m.saturated_per_s / hocus.saturated_per_s : 1,
      baseline: 'saturated updates/s over hocuspocus (memory)',
      ...(ROUNDS > 1
        ? {
            runs: ms.length,
            saturated_range: `${Math.round(Math.min(...ms.map((x) => x.saturated_per_s)))}-${Math.round(Math.max(...ms.map((x) => x.saturated_per_s)))}`,
            p99_range: `${Math.min(...ms.map((x) => x.p99_ms)).toFixed(1)}-${Math.max(...ms.map((x) => x.p99_ms)).toFixed(1)}`,
          }
        : {}),
    });
  }
  const sealdoc = medians.get('sealdoc');
  if (sealdoc && hocus) {
    rows.push({ name: 'relay-vs-hocuspocus', ratio: sealdoc.saturated_per_s / hocus.saturated_per_s, baseline: 'saturated updates/s, sealdoc relay-only / hocuspocus; target >= 0.8', sealdoc_per_s: sealdoc.saturated_per_s, hocuspocus_per_s: hocus.saturated_per_s });
    rows.push({ name: 'relay-p99-vs-hocuspocus', ratio: sealdoc.p99_ms / hocus.p99_ms, baseline: 'p99 at the fixed load, sealdoc relay-only / hocuspocus; target: sealdoc p99 < 20 ms', sealdoc_p99_ms: sealdoc.p99_ms, hocuspocus_p99_ms: hocus.p99_ms });
    rows.push({ name: 'relay-cpu-vs-hocuspocus', ratio: sealdoc.cpu_ms_per_1000 / hocus.cpu_ms_per_1000, baseline: 'server CPU per update at the fixed load, sealdoc / hocuspocus; target <= 1.5', sealdoc_cpu_ms_per_1000: sealdoc.cpu_ms_per_1000, hocuspocus_cpu_ms_per_1000: hocus.cpu_ms_per_1000 });
  }
  const floor = medians.get('relay-floor');
  if (floor && hocus) {
    rows.push({ name: 'relay-floor-cpu-vs-hocuspocus', ratio: floor.cpu_ms_per_1000 / hocus.cpu_ms_per_1000, baseline: 'server CPU per update at the fixed load, the relay floor (check, write, ack, fan-out only) / hocuspocus', floor_cpu_ms_per_1000: floor.cpu_ms_per_1000, hocuspocus_cpu_ms_per_1000: hocus.cpu_ms_per_1000 });
    rows.push({ name: 'relay-floor-p99-vs-hocuspocus', ratio: floor.p99_ms / hocus.p99_ms, baseline: 'p99 at the fixed load, the relay floor / hocuspocus', floor_p99_ms: floor.p99_ms, hocuspocus_p99_ms: hocus.p99_ms });
  }
  // The relay's own bookkeeping: what it spends per update above the floor.
  if (floor && sealdoc)
    rows.push({ name: 'relay-cpu-vs-floor', ratio: sealdoc.cpu_ms_per_1000 / floor.cpu_ms_per_1000, baseline: 'server CPU per update at the fixed load, sealdoc relay-only / the relay floor', sealdoc_cpu_ms_per_1000: sealdoc.cpu_ms_per_1000, floor_cpu_ms_per_1000: floor.cpu_ms_per_1000 });
  if (sealdoc && verifyFloorPerSecond)
    rows.push({ name: 'relay-vs-verify-floor', ratio: sealdoc.saturated_per_s / verifyFloorPerSecond, baseline: 'saturated accepted envelopes/s / verify floor; target >= 0.6', sealdoc_per_s: sealdoc.saturated_per_s, verify_floor_per_s: verifyFloorPerSecond });
  return rows;
}
