// `npm run hostile`: hostile clients against a real relay, with an honest pair of members at
// work. A table by default; one JSON object per scenario with `-- --json`.
//   npm run hostile [-- --json] [--seconds 20] [--only have-flood,ops-flood]
// Exits 1 when a figure is out of its bound (floods.ts, FLOOD_BOUNDS).
import { parseArgs } from 'node:util';
import { printRows } from '../../bench/harness.js';
import { floodFailures, FLOODS, runFlood, type Flood, type FloodResult } from './floods.js';

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, seconds: { type: 'string', default: '20' }, only: { type: 'string' } } });
const seconds = Number(values.seconds);
if (!(seconds > 0)) throw new Error('--seconds must be a positive number');
const chosen = values.only ? (values.only.split(',') as Flood[]) : [...FLOODS];
for (const f of chosen) if (!FLOODS.includes(f)) throw new Error(`unknown scenario ${f}: one of ${FLOODS.join(', ')}`);

const results: FloodResult[] = [];
let failed = false;
for (const flood of chosen) {
  if (!values.json) process.stderr.write(`${flood}… `);
  const result = await runFlood(flood, { seconds });
  results.push(result);
  const failures = floodFailures(result);
  if (failures.length) failed = true;
  if (values.json) console.log(JSON.stringify(result));
  else process.stderr.write(failures.length ? `OUT OF BOUNDS: ${failures.join('; ')}\n` : 'within bounds\n');
}
if (!values.json) printRows(`Floods against a relay (SQLite), ${seconds} s each, an honest edit every 50 ms`, results as unknown as Record<string, string | number | boolean>[]);
process.exit(failed ? 1 : 0);
