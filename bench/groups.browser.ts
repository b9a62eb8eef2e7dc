// Chromium entry of bench:groups: sizes and operations come in the query string
// (?sizes=10,100&ops=remove,revoke-device&persons=1000).
import { measureRemovals, measureRevocation } from './groups-core.js';

const query = new URLSearchParams(location.search);
const sizes = (query.get('sizes') ?? '10').split(',').filter(Boolean).map(Number);
const ops = (query.get('ops') ?? 'remove').split(',');
const persons = Number(query.get('persons') ?? 1000);
(globalThis as unknown as { benchResult: Promise<unknown> }).benchResult = (async () => ({
  removals: ops.includes('remove') ? await measureRemovals(sizes) : [],
  revocation: ops.includes('revoke-device') ? await measureRevocation(persons) : [],
}))();
