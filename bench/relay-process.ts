// Processes bench:relay measures from outside: their CPU time and memory from /proc, and the
// servers it compares the relay with (Hocuspocus, the y-websocket server), each started as a
// child process of its own, the way their users run them.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * CPU time a process has used so far (user + system), in ms (Linux: /proc/PID/stat; NaN
 * elsewhere); `mainThread`: its main thread's alone (/proc/PID/task/PID/stat: without worker
 * threads, libuv's thread pool, the collector's helpers).
 */
export function cpuMs(pid: number | undefined, mainThread = false): number {
  try {
    const fields = readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (100/s)
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU time each thread of a process has used so far, in ms, summed by thread name (Linux:
 * /proc/PID/task/TID/stat; empty elsewhere): where a server's CPU goes besides its main thread
 * (worker threads, libuv's pool, the collector's helpers).
 */
export function threadCpuMs(pid: number | undefined): Map<string, number> {
  const byName = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = tid === String(pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
        byName.set(name, (byName.get(name) ?? 0) + ((Number(fields[11]) + Number(fields[12])) * 1000) / 100);
        if (name === 'main') byName.set('main-system', (Number(fields[12]) * 1000) / 100);
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    // not Linux, or the process is gone
  }
  return byName;
}

/** A field of /proc/PID/status in MiB (VmRSS: resident now; VmHWM: its peak so far); NaN elsewhere. */
export function statusMb(pid: number | undefined, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** A server under test: its process and where to connect. */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  stop(): void;
  /**
   * Its main thread's event-loop delay since the last call (or its start): the 99th percentile and
   * the longest, in ms (servers/loop-delay.mjs, preloaded into each); NaN when it does not answer.
   */
  loopDelay(): Promise<LoopDelay>;
}

/** An event loop's delay over a span: its 99th percentile and its longest, in ms. */
export interface LoopDelay {
  p99_ms: number;
  max_ms: number;
}

const LOOP_DELAY = fileURLToPath(new URL('./servers/loop-delay.mjs', import.meta.url));

/** CPU time of the whole machine so far, and of it the time the hypervisor gave other guests (steal), in clock ticks (Linux: /proc/stat; NaN elsewhere). */
export function machineTicks(): { total: number; steal: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { total: fields.slice(0, 8).reduce((a, b) => a + b, 0), steal: fields[7] ?? Number.NaN };
  } catch {
    return { total: Number.NaN, steal: Number.NaN };
  }
}

/** A port free now on 127.0.0.1 (for a server that takes its port from the environment). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Spawns `node args` and resolves once its output matches `listening` (whose first group, when it has one, is the port). */
async function spawnServer(args: string[], env: NodeJS.ProcessEnv, listening: RegExp, port?: number): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', LOOP_DELAY, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  const found = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not listen within 30 s: ${output}`));
    }, 30_000);
    const read = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-100_000);
      const m = listening.exec(output);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', read);
      resolve(m[1] !== undefined ? Number(m[1]) : port!);
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-100_000)));
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code}): ${output}`)));
  });
  // What it prints later is read and dropped (a full pipe would stall it).
  child.stdout!.resume();
  const loopDelay = () =>
    new Promise<LoopDelay>((resolve) => {
      const timer = setTimeout(() => done({ p99_ms: Number.NaN, max_ms: Number.NaN }), 2000);
      let seen = '';
      const read = (chunk: Buffer) => {
        seen += chunk.toString();
        const m = /loop-delay (\{[^\n]*\})\n/.exec(seen);
        if (m) done(JSON.parse(m[1]!) as LoopDelay);
      };
      const done = (delay: LoopDelay) => {
        clearTimeout(timer);
        child.stderr!.off('data', read);
        resolve(delay);
      };
      child.stderr!.on('data', read);
      child.kill('SIGUSR2');
    });
  return { child, url: `ws://127.0.0.1:${found}`, stop: () => child.kill('SIGKILL'), loopDelay };
}

/** Hocuspocus (@hocuspocus/server), in memory, or with its SQLite extension writing to `sqliteFile`. */
export function startHocuspocus(nodeArgs: string[], sqliteFile?: string): Promise<ServerProcess> {
  const script = fileURLToPath(new URL('./servers/hocuspocus.mjs', import.meta.url));
  return spawnServer([...nodeArgs, script, ...(sqliteFile ? ['--sqlite', sqliteFile] : [])], {}, /"event":"listening","port":(\d+)/);
}

/** The relay floor (servers/relay-floor.mjs): a push's decode, signature check, SQLite write, ack and fan-out, and nothing else. */
export function startRelayFloor(nodeArgs: string[], sqliteFile: string): Promise<ServerProcess> {
  const script = fileURLToPath(new URL('./servers/relay-floor.mjs', import.meta.url));
  return spawnServer([...nodeArgs, script, '--db', sqliteFile], {}, /"event":"listening","port":(\d+)/);
}

/** The y-websocket server (@y/websocket-server), as its own command runs it (in memory). */
export async function startYWebsocket(nodeArgs: string[]): Promise<ServerProcess> {
  const port = await freePort();
  const script = fileURLToPath(new URL('../node_modules/@y/websocket-server/src/server.js', import.meta.url));
  return spawnServer([...nodeArgs, script], { HOST: '127.0.0.1', PORT: String(port) }, /running at/, port);
}

/** Sealdoc's relay (`sealdoc-relay`, this repository's build, or another build's dist/cli.js), with `args`. */
export function startSealdocRelay(nodeArgs: string[], args: string[], cli = fileURLToPath(new URL('../packages/relay/dist/cli.js', import.meta.url))): Promise<ServerProcess> {
  return spawnServer([...nodeArgs, cli, '--port', '0', ...args], {}, /"event":"listening"[^\n]*"port":(\d+)/);
}
