// Benchmark helpers: time-bounded measurement and one report format for every bench script.
// A readable table by default; with --json, one JSON object per line.

/** Operations per second of `fn`, run for at least `seconds` after a short warm-up. */
export async function opsPerSecond(fn: () => unknown | Promise<unknown>, seconds = 1): Promise<number> {
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) await fn();
  let n = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  while (performance.now() < until) {
    await fn();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

/** Operations per second with `inFlight` calls pending at once (WebCrypto pipelines). */
export async function opsPerSecondInFlight(fn: () => Promise<unknown>, inFlight: number, seconds = 1): Promise<number> {
  await Promise.all(Array.from({ length: inFlight }, fn));
  let n = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  while (performance.now() < until) {
    await Promise.all(Array.from({ length: inFlight }, fn));
    n += inFlight;
  }
  return n / ((performance.now() - start) / 1000);
}

/** One measured row: `name` and `ratio` are always present. */
export interface Row {
  name: string;
  /** The figure divided by the baseline's (see `baseline`); 1 for a baseline itself. */
  ratio: number;
  baseline: string;
  [field: string]: string | number;
}

// Whole numbers (counts) as they are; others with two decimals below 100.
const fmt = (v: string | number | boolean) => (typeof v === 'number' ? (Math.abs(v) >= 100 || Number.isInteger(v) ? Math.round(v).toLocaleString('en-US') : v.toFixed(2)) : String(v));

/** Prints rows as a table, or as JSON lines when the script got --json. */
export function report(title: string, rows: readonly Row[]): void {
  printRows(title, rows);
}

/** Any rows of fields: a table by default, one JSON object per line with --json. */
export function printRows(title: string, rows: readonly Record<string, string | number | boolean>[]): void {
  if (process.argv.includes('--json')) {
    for (const row of rows) console.log(JSON.stringify(row));
    return;
  }
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => columns.map((c) => (r[c] === undefined ? '' : fmt(r[c]!))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  console.log(`\n${title}\n`);
  console.log(line(columns));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of cells) console.log(line(row));
}
