// The editing trace bench:core replays: the automerge-paper trace kept in test/fixtures (with
// its licence) by default, or any trace given with `--trace FILE`, in the automerge-perf /
// editing-traces JSON format (gzipped or not):
//   { startContent?: string, endContent: string, txns: [{ patches: [[pos, deleted, inserted]] }] }
// A trace that starts from a text gets it as a first transaction, so that every replay starts
// from an empty document.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

export interface Trace {
  endContent: string;
  txns: { patches: [pos: number, del: number, ins: string][] }[];
}

/** A trace, its name, and its JSON gzipped (what the Chromium rows fetch). */
export interface LoadedTrace {
  name: string;
  trace: Trace;
  gzipped: Uint8Array;
}

const DEFAULT = new URL('../test/fixtures/automerge-paper.json.gz', import.meta.url);

function refuse(message: string): never {
  console.error(`bench:core: ${message}`);
  process.exit(2);
}

/** The trace `--trace FILE` names in `argv`, or the default one; exits with a plain message when it cannot be read. */
export function loadTrace(argv: readonly string[] = process.argv): LoadedTrace {
  const at = argv.indexOf('--trace');
  const path = at >= 0 ? argv[at + 1] : undefined;
  if (at >= 0 && (!path || path.startsWith('--'))) refuse('--trace needs a file: npm run bench:core -- --trace FILE');
  let raw: Buffer;
  try {
    raw = readFileSync(path ?? DEFAULT);
  } catch (error) {
    return refuse(`cannot read ${path}: ${(error as { code?: string }).code ?? (error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse((raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw).toString('utf8'));
  } catch {
    return refuse(`${path} is not JSON (gzipped or not)`);
  }
  const t = parsed as { startContent?: unknown; endContent?: unknown; txns?: unknown };
  const patch = (p: unknown) => Array.isArray(p) && p.length === 3 && Number.isInteger(p[0]) && Number.isInteger(p[1]) && typeof p[2] === 'string';
  if (typeof t.endContent !== 'string' || !Array.isArray(t.txns) || (t.startContent !== undefined && typeof t.startContent !== 'string'))
    refuse(`${path} is no editing trace: it needs endContent (a string) and txns (an array)`);
  const txns = t.txns as { patches?: unknown }[];
  const bad = txns.findIndex((x) => !x || !Array.isArray(x.patches) || !x.patches.every(patch));
  if (bad >= 0) refuse(`${path}: transaction ${bad} is not { patches: [[position, deleted, inserted text], ...] }`);
  const start = (t.startContent as string | undefined) ?? '';
  const trace: Trace = { endContent: t.endContent as string, txns: [...(start ? [{ patches: [[0, 0, start] as [number, number, string]] }] : []), ...(txns as Trace['txns'])] };
  if (trace.txns.length === 0) refuse(`${path} has no transactions`);
  const name = path ? basename(path).replace(/\.json(\.gz)?$/, '') : 'automerge-paper';
  return { name, trace, gzipped: path || start ? new Uint8Array(gzipSync(JSON.stringify(trace))) : new Uint8Array(raw) };
}
