// bench:relay's `inprocess` suite: the relay's own CPU per push, without sockets, servers or
// another process sharing the cores (relay-inprocess-run.ts, one process per measurement).
// Each round measures this build, the build in BENCH_RELAY_BEFORE_DIST when given (a copy of
// another build's packages/relay/dist: before and after a change, taking turns), and the driver
// alone, whose cost is subtracted; the figures are the medians over BENCH_RELAY_ROUNDS rounds.
// CPU is read from schedstat (Linux): far less noisy than bench:relay's servers measured beside
// their load, so that a change of a few percent shows.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Row } from './harness.js';

const ROUNDS = Number(process.env.BENCH_RELAY_ROUNDS ?? 3);
const BEFORE = process.env.BENCH_RELAY_BEFORE_DIST;
const RUN = fileURLToPath(new URL('./relay-inprocess-run.ts', import.meta.url));

export const INPROCESS_TITLE = `Relay in process: its own CPU per push, SQLite store, fake connections, no sockets (median of ${ROUNDS} rounds; the driver's cost subtracted)`;

interface Run {
  pushes: number;
  accepted: number;
  delivered: number;
  refused: number;
  main_us_per_push: number;
  all_us_per_push: number;
}

async function run(args: string[]): Promise<Run> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', RUN, ...args], { maxBuffer: 1 << 20, timeout: 600_000 });
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Run;
  if (!args.includes('--driver-only') && (result.refused > 0 || result.accepted !== result.pushes)) throw new Error(`the relay refused pushes in process: ${JSON.stringify(result)}`);
  return result;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function inprocessRows(): Promise<Row[]> {
  const builds: { name: string; args: string[] }[] = [{ name: 'relay in process (this build)', args: [] }, ...(BEFORE ? [{ name: 'relay in process (BENCH_RELAY_BEFORE_DIST)', args: ['--dist', BEFORE] }] : [])];
  const runs = new Map<string, Run[]>([['driver', []], ...builds.map((b): [string, Run[]] => [b.name, []])]);
  for (let round = 0; round < ROUNDS; round++) {
    // Builds take turns, in another order each round.
    for (const b of round % 2 ? [...builds].reverse() : builds) runs.get(b.name)!.push(await run(b.args));
    runs.get('driver')!.push(await run(['--driver-only']));
  }
  const driver = { main: median(runs.get('driver')!.map((r) => r.main_us_per_push)), all: median(runs.get('driver')!.map((r) => r.all_us_per_push)) };
  const rows: Row[] = builds.map((b) => {
    const rs = runs.get(b.name)!;
    return {
      name: b.name,
      ratio: 1,
      baseline: 'CPU µs per push, the driver subtracted',
      main_us_per_push: median(rs.map((r) => r.main_us_per_push)) - driver.main,
      all_threads_us_per_push: median(rs.map((r) => r.all_us_per_push)) - driver.all,
      main_us_runs: rs.map((r) => (r.main_us_per_push - driver.main).toFixed(0)).join(' '),
      pushes: rs[0]!.pushes,
      delivered: rs[0]!.delivered,
      driver_us_per_push: driver.all,
    };
  });
  if (rows.length === 2) rows.push({ name: 'relay-inprocess-vs-before', ratio: (rows[0]!.all_threads_us_per_push as number) / (rows[1]!.all_threads_us_per_push as number), baseline: 'all threads CPU per push, this build / BENCH_RELAY_BEFORE_DIST' });
  return rows;
}
