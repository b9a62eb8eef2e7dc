// npm run bench:relay [-- --json]
// Suites (BENCH_RELAY_SUITES, comma-separated; default "compare"):
// - compare (relay-compare.ts): the same workload through Sealdoc's relay, Hocuspocus and the
//   y-websocket server, each in its own process, one after another in this run; rows per server,
//   and relay-vs-hocuspocus, relay-p99-vs-hocuspocus, relay-cpu-vs-hocuspocus, relay-vs-verify-floor.
// - fanout (relay-fanout.ts): 100 clients in one group on one document, every envelope fanned out
//   to the 99 others; SQLite, then PostgreSQL with 1, 2 and 3 nodes (BENCH_STORES, BENCH_NODES).
// - inprocess (relay-inprocess.ts): the relay's own CPU per push, in a process of its own driven
//   through fake connections (no sockets); BENCH_RELAY_BEFORE_DIST=path/to/another/relay/dist adds
//   that build, taking turns with this one, and the row relay-inprocess-vs-before.
// compare and fanout end with (or use) `verify floor`: the checks every push needs, with nothing else running.
import { printRows, report, type Row } from './harness.js';
import { clientCostRow } from './relay-client-cost.js';
import { compareRows, COMPARE_TITLE } from './relay-compare.js';
import { FANOUT_TITLE, fanoutRows, verifyFloor } from './relay-fanout.js';
import { INPROCESS_TITLE, inprocessRows } from './relay-inprocess.js';

const SUITES = (process.env.BENCH_RELAY_SUITES ?? 'compare').split(',');
if (SUITES.includes('inprocess')) report(INPROCESS_TITLE, await inprocessRows());
if (SUITES.includes('compare') || SUITES.includes('fanout')) {
  const floor = await verifyFloor();
  if (SUITES.includes('compare')) report(COMPARE_TITLE, [...(await compareRows(floor.accepted_per_s as number)), await clientCostRow()]);
  if (SUITES.includes('fanout')) report(FANOUT_TITLE, [...(await fanoutRows()), floor]);
  else printRows('Verify floor', [floor as Row]);
}
process.exit(0);
