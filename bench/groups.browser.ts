// Chromium entry of bench:groups: sizes and operations come in the query string
// (?sizes=10,100&ops=remove,revoke-device&persons=1000&impls=auto,noble&runs=5).
import { measureRemovals, measureRevocation, measureX25519Floor, type RemovalImpl } from './groups-core.js';

const query = new URLSearchParams(location.search);
const sizes = (query.get('sizes') ?? '10').split(',').filter(Boolean).map(Number);
const ops = (query.get('ops') ?? 'remove').split(',');
const persons = Number(query.get('persons') ?? 1000);
const floorSizes = (query.get('floorSizes') ?? '').split(',').filter(Boolean).map(Number);
const impls = (query.get('impls') ?? 'auto').split(',').filter(Boolean) as RemovalImpl[];
const runs = Number(query.get('runs') ?? 5);
(globalThis as unknown as { benchResult: Promise<unknown> }).benchResult = (async () => ({
  removals: ops.includes('remove') ? await measureRemovals(sizes, impls, runs) : [],
  revocation: ops.includes('revoke-device') ? await measureRevocation(persons) : [],
  floors: ops.includes('floor') ? await measureX25519Floor(floorSizes, runs) : [],
}))();
