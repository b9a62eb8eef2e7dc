// Preloaded (`--import`) into every server bench:relay measures: the main thread's event-loop
// delay (a timer every 10 ms, perf_hooks), told on stderr as one line at each SIGUSR2 and then
// reset, so that the bench can tell a latency's tail in the server's own loop from one in the
// load's process or the machine's scheduling.
import { isMainThread } from 'node:worker_threads';
import { monitorEventLoopDelay } from 'node:perf_hooks';

if (isMainThread) {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  process.on('SIGUSR2', () => {
    process.stderr.write(`loop-delay ${JSON.stringify({ p99_ms: delay.percentile(99) / 1e6, max_ms: delay.max / 1e6 })}\n`);
    delay.reset();
  });
}
