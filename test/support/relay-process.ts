// The relay's command line as a child process, for the tests and scripts that need a real
// process: it is killed, stopped with a signal, or measured from outside.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// SEALDOC_RELAY_CLI runs another build of the relay (an older release, to compare).
export const RELAY_CLI = process.env.SEALDOC_RELAY_CLI ?? fileURLToPath(new URL('../../packages/relay/dist/cli.js', import.meta.url));

export interface RelayProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** What the relay printed (its JSON log lines), so far. */
  output(): string;
  /** The process's resident memory now, and its peak so far, in MiB (Linux: VmRSS, VmHWM). */
  rssMb(): number;
  peakRssMb(): number;
  /**
   * Sends `signal` and resolves with how long the process took to exit, in ms; one that has not
   * exited after `timeoutMs` (default 15 s) is killed, and the figure is Infinity.
   */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number>;
}

function statusMb(child: ChildProcess, field: string): number {
  try {
    const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Starts `sealdoc-relay` with `args` (add `--port 0` for any free port); resolves once it listens. */
export async function startRelayProcess(args: string[], options: { nodeArgs?: string[] } = {}): Promise<RelayProcess> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), RELAY_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  // What it printed, kept up to a bound (a long run logs a line per connection).
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-1_000_000));
  child.stderr!.on('data', keep);
  const port = await new Promise<number>((resolve, reject) => {
    let listening = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      keep(chunk);
      if (listening) return;
      const port = /"event":"listening"[^\n]*"port":(\d+)/.exec(output)?.[1];
      if (port === undefined) return;
      listening = true;
      resolve(Number(port));
    });
    child.once('exit', (code) => reject(new Error(`the relay exited (${code}): ${output}`)));
    // A relay that neither listens nor exits fails the caller instead of holding it for ever.
    setTimeout(() => {
      if (listening) return;
      child.kill('SIGKILL');
      reject(new Error(`the relay did not listen within 60 s: ${output}`));
    }, 60_000).unref();
  });
  const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  return {
    child,
    port,
    url: `ws://127.0.0.1:${port}`,
    output: () => output,
    rssMb: () => statusMb(child, 'VmRSS'),
    peakRssMb: () => statusMb(child, 'VmHWM'),
    stop: async (signal = 'SIGTERM', timeoutMs = 15_000) => {
      const started = performance.now();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const inTime = await Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
      clearTimeout(timer);
      if (inTime) return performance.now() - started;
      child.kill('SIGKILL');
      await exited;
      return Number.POSITIVE_INFINITY;
    },
  };
}
