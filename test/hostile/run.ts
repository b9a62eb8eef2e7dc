// `npm run hostile`: hostile clients against a real relay process, with an honest pair of members
// at work (floods), and members working through a relay that lies (relay scenarios). A table by
// default; one JSON object per scenario with `-- --json`.
//   npm run hostile [-- --json] [--seconds 20] [--runs 200] [--seed 1] [--only have-flood,fork,...]
// (`--seed` is the first run's seed: a failed run is run again with `--only its-scenario --runs 1 --seed N`.)
// Exits 1 when a figure is out of its bound (floods.ts, FLOOD_BOUNDS; relay-scenarios.ts and
// device-scenarios.ts: no silent divergence, nothing undetected).
import { parseArgs } from 'node:util';
import { printRows } from '../../bench/harness.js';
import { floodFailures, FLOODS, runFlood, type Flood, type FloodResult } from './floods.js';
import { RELAY_SCENARIOS, runRelayScenario, type RelayScenario, type RelayScenarioResult } from './relay-scenarios.js';
import { DEVICE_SCENARIOS, runDeviceScenario, type DeviceScenario, type DeviceScenarioResult } from './device-scenarios.js';

const { values } = parseArgs({
  options: { json: { type: 'boolean', default: false }, seconds: { type: 'string', default: '20' }, runs: { type: 'string', default: '200' }, seed: { type: 'string', default: '1' }, only: { type: 'string' } },
});
const seconds = Number(values.seconds);
const runs = Number(values.runs);
if (!(seconds > 0)) throw new Error('--seconds must be a positive number');
if (!(Number.isInteger(runs) && runs > 0)) throw new Error('--runs must be a whole number, at least 1');
const all: string[] = [...FLOODS, ...RELAY_SCENARIOS, ...DEVICE_SCENARIOS];
const chosen = values.only ? values.only.split(',') : all;
for (const s of chosen) if (!all.includes(s)) throw new Error(`unknown scenario ${s}: one of ${all.join(', ')}`);

let failed = false;
const report = (name: string, failures: string[], row: object) => {
  if (failures.length) failed = true;
  if (values.json) console.log(JSON.stringify(row));
  else process.stderr.write(`${name}: ${failures.length ? `OUT OF BOUNDS: ${failures.join('; ')}` : 'within bounds'}\n`);
};

const floods: FloodResult[] = [];
for (const flood of chosen.filter((s): s is Flood => (FLOODS as readonly string[]).includes(s))) {
  const result = await runFlood(flood, { seconds });
  floods.push(result);
  report(flood, floodFailures(result), result);
}
const relays: RelayScenarioResult[] = [];
for (const scenario of chosen.filter((s): s is RelayScenario => (RELAY_SCENARIOS as readonly string[]).includes(s))) {
  const result = await runRelayScenario(scenario, { runs, firstSeed: Number(values.seed) });
  relays.push(result);
  const failures = [
    ...(result.silent_divergences ? [`${result.silent_divergences} silent divergence(s)`] : []),
    ...(result.undetected ? [`${result.undetected} undetected`] : []),
    ...(result.failed_seeds.length ? [`seeds ${result.failed_seeds.join(', ')}`] : []),
  ];
  report(scenario, failures, result);
}
const devices: DeviceScenarioResult[] = [];
for (const scenario of chosen.filter((s): s is DeviceScenario => (DEVICE_SCENARIOS as readonly string[]).includes(s))) {
  const result = await runDeviceScenario(scenario, { runs, firstSeed: Number(values.seed) });
  devices.push(result);
  const failures = [
    ...(result.silent_divergences ? [`${result.silent_divergences} silent divergence(s) (${result.taken_silently} edit(s) of the revoked device taken silently)`] : []),
    ...(result.undetected ? [`${result.undetected} undetected`] : []),
    ...(result.failed_seeds.length ? [`seeds ${result.failed_seeds.join(', ')}`] : []),
  ];
  report(scenario, failures, result);
  // Not judged (told, not silent), not hidden either.
  if (!values.json && (result.lasting_divergence || result.stuck_members))
    process.stderr.write(
      `${scenario}: note: ${result.lasting_divergence} run(s) ended with members holding different documents, ${result.stuck_members} member(s) with their own edits stuck on the device and an alarm up, ${result.reoffered_refused} envelope(s) of the revoked device offered to the relay again and refused\n`,
    );
}
if (!values.json) {
  if (floods.length) printRows(`Floods against a relay (SQLite), ${seconds} s each, an honest edit every 50 ms`, floods as unknown as Record<string, string | number | boolean>[]);
  if (relays.length)
    printRows(
      `A lying relay, ${runs} randomized runs per scenario (3-5 members; beacons every 100 ms, 500 ms to deliver what they show)`,
      relays.map(({ failed_seeds: _seeds, ...row }) => row) as unknown as Record<string, string | number | boolean>[],
    );
  if (devices.length)
    printRows(
      `A revoked device and a lying relay, ${runs} randomized runs per scenario (3-5 persons, one with a second device that its person revokes; same bounds)`,
      devices.map(({ failed_seeds: _seeds, ...row }) => row) as unknown as Record<string, string | number | boolean>[],
    );
}
process.exit(failed ? 1 : 0);
