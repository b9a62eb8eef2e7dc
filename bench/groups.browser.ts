// Chromium entry of bench:groups: sizes come in the query string (?sizes=10,100).
import { measureRemovals } from './groups-core.js';

const sizes = (new URLSearchParams(location.search).get('sizes') ?? '10').split(',').map(Number);
(globalThis as unknown as { benchResult: Promise<unknown> }).benchResult = measureRemovals(sizes);
