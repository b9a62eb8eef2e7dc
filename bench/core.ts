// npm run bench:core [-- --json] [-- --trace FILE]
// The sealed pipeline against plain Yjs on an editing trace (by default the automerge-paper
// trace, 259,778 edits, test/fixtures, with its licence; any trace in the editing-traces format
// with --trace, see trace.ts), side by side in one run. See docs/performance.md.
//   sync-vs-plain          edits -> batches of 100 -> seal -> in-memory transport -> open -> apply,
//                          against the same pipeline unsealed, same batching; the writer goes on
//                          typing after each batch (one turn of the event loop, on both sides),
//                          as an editor does: nothing waits for a batch to be sealed or sent;
//                          3 runs of each side, alternating with the floors below: the medians
//   sync-vs-per-keystroke  the sealed pipeline with batches of 100 against one envelope per edit
//                          (on the first 5,000 edits: one per edit is that slow); median of 3
//                          runs of each, alternating
//   sync-crypto-floor      the plain pipeline, plus exactly the crypto a sealed envelope needs and
//                          nothing of the engine: the writer seals each batch (sealEnvelope:
//                          padding, key commitment, AEAD, signature, and the chain's hash), the
//                          reader opens it (openEnvelopes: the signature's check, the AEAD) and
//                          applies it; what sync-vs-plain would be were the engine's bookkeeping
//                          free (median of 3 runs, alternating with the other sides)
//   sync-primitives-floor  the same with the bare primitives in place of the crypto package (Node's,
//                          bare-envelopes.ts: an Ed25519 signature made and checked on the calling
//                          thread, ChaCha20-Poly1305 both ways, the two HMACs of the key
//                          commitment on each side, SHA-256 of each envelope on each side), and
//                          less than the format asks (no padding, no HChaCha20 subkey, no parse):
//                          what no implementation of these envelopes can go under here
//   per-keystroke-ceiling  one envelope per edit against plain Yjs in batches of 100 on the same
//                          edits: the most sync-vs-per-keystroke could be, were sealing free
//   catchup-vs-plain       a new device loading a snapshot and a tail of envelopes, against a
//                          y-websocket client given the same snapshot and tail updates as messages
//                          (Y.applyUpdate of each, an 'update' listener on the doc as the provider
//                          has), each reading the text back; in 11 processes of their own, as at an
//                          app's start (catchup-process.ts), each the median of 9 to 41 rounds (as
//                          many as fit in about 1.5 s), alternating; the process with the median ratio
//   catchup-crypto-floor   the same y-websocket client given the envelopes instead: opened in one
//                          batch (openEnvelopes: the chain's hashes, one signature, the AEADs) and
//                          applied, nothing of the engine; timed as catchup-vs-plain, in 11 more
//                          processes of its own: the least a catch-up of these envelopes can cost
//   catchup-primitives-floor  the same plaintexts sealed beforehand with the bare primitives
//                          (bare-envelopes.ts), then opened (one signature, each envelope's hash,
//                          commitment and AEAD) and applied; 11 more processes: the least any
//                          implementation of such envelopes can cost, whatever its crypto package
//   catchup-after-sync-vs-plain  the same in this process, after the sync rows (their JIT and heap
//                          state); median of 9 to 41 rounds, alternating
//   catchup-vs-merged      the same catch-up against one merged update of the whole document (what
//                          a y-websocket server, which can merge plaintext, sends a new client)
//   catchup-memory         peak V8 heap of the catch-up (and peak resident memory, VmHWM, Linux),
//                          above the start, in a process of its own, against the plain client's
//                          (median of 3 processes each)
//   catchup-verify-floor   verifying every signature of the same envelopes one by one, all in
//                          flight, against the plain baseline: what catch-up cost before chains
//   bytes-vs-plain         bytes on the wire, sealed against plain
//   open-vs-y-indexeddb    in Chromium: a cold open of the final document from the encrypted
//                          IndexedDB store (store, device key, identity, group, document)
//                          against y-indexeddb holding the same document (median of 9)
//   open-doc-vs-y-indexeddb   the same, the document alone (its group already open)
import * as Y from 'yjs';
import { createGroup, envelopeHash, generateMnemonic, identityFromMnemonic, Keyring, MembershipLog, openEnvelopes, sealEnvelope, verifyEnvelope, type Identity } from '@sealdoc/crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Group, MemoryStorage, SealedDoc } from '@sealdoc/core';
import { MemoryHub } from '@sealdoc/core/testing';
import { encodeWire } from '@sealdoc/protocol';
import { fileURLToPath } from 'node:url';
import { bareEnvelopes } from './bare-envelopes.js';
import { runInChromium } from './chromium.js';
import { report, type Row } from './harness.js';
import { loadTrace, type Trace } from './trace.js';
import type { OpenFigures } from './open.browser.js';

const { name: traceName, trace, gzipped: traceFile } = loadTrace();
const BATCH = 100;
/** Processes of their own in which the catch-up is timed (catchup-vs-plain). */
// Processes differ by about 0.12 in ratio (sd) on a busy 2-core machine: the median of 5 moved
// from 1.0 to 1.5 between runs on a short trace; of 11, less.
const FRESH_PROCESSES = 11;

function applyTxn(text: Y.Text, txn: Trace['txns'][number]): void {
  for (const [pos, del, ins] of txn.patches) {
    if (del > 0) text.delete(pos, del);
    if (ins) text.insert(pos, ins);
  }
}

async function members(): Promise<{ a: Group; b: Group; ops: Uint8Array[]; bobWords: string }> {
  const alice = identityFromMnemonic(generateMnemonic());
  const bobWords = generateMnemonic();
  const bob = identityFromMnemonic(bobWords);
  const ops = [await createGroup(alice, { members: [{ keys: bob, role: 'writer' }] })];
  const group = async (id: Identity) => {
    const g = new Group({ signer: id, log: await MembershipLog.fromOps(ops), keyring: new Keyring() });
    await g.refresh();
    return g;
  };
  return { a: await group(alice), b: await group(bob), ops, bobWords };
}

/** One turn of the event loop: what an editor gives the page between keystrokes. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

const waitFor = async (condition: () => boolean) => {
  while (!condition()) await new Promise((r) => setTimeout(r, 1));
};

/** The two-peer pipeline over `edits` transactions, `perEnvelope` edits per envelope. */
async function sealedSync(edits: number, perEnvelope: number): Promise<{ ms: number; bytes: number }> {
  const { a, b } = await members();
  const hub = new MemoryHub();
  const [ta, tb] = [hub.transport('a'), hub.transport('b')];
  const docA = new Y.Doc();
  const docB = new Y.Doc();
  const docId = new Uint8Array(16).fill(1);
  const sealedA = new SealedDoc(docA, { group: a, docId, transport: ta, snapshotEvery: 0, batch: { windowMs: 1e9, maxBytes: Infinity } });
  const sealedB = new SealedDoc(docB, { group: b, docId, transport: tb, snapshotEvery: 0 });
  let bytes = 0;
  tb.events.on('message', ({ message }) => (bytes += encodeWire(message).length));
  await ta.connect();
  await tb.connect();
  await Promise.all([sealedA.whenSynced, sealedB.whenSynced]);
  await hub.flush();
  const textA = docA.getText('t');
  const expected = edits === trace.txns.length ? trace.endContent.length : undefined;
  const start = performance.now();
  for (let i = 0; i < edits; i++) {
    applyTxn(textA, trace.txns[i]!);
    if ((i + 1) % perEnvelope === 0 || i === edits - 1) {
      void sealedA.flush();
      await turn();
    }
  }
  await sealedA.flush();
  await waitFor(() => docB.getText('t').length === (expected ?? textA.length));
  const ms = performance.now() - start;
  sealedA.destroy();
  sealedB.destroy();
  return { ms, bytes };
}

/** What a pipeline through the hub makes of each batch: sealed on the writer's side, opened on the reader's. */
interface Codec {
  seal(update: Uint8Array): Promise<Uint8Array> | Uint8Array;
  open(envelope: Uint8Array): Promise<Uint8Array> | Uint8Array;
}

/**
 * The writer's edits, merged in batches of `perEnvelope`, through the hub to a reader that
 * applies them as they come: plain Yjs without a codec; with one, each batch sealed in turn
 * and each envelope opened as it comes (a check in flight at once), applied in order.
 */
async function hubSync(edits: number, perEnvelope: number, codec?: Codec): Promise<{ ms: number; bytes: number }> {
  const hub = new MemoryHub();
  const [ta, tb] = [hub.transport('a'), hub.transport('b')];
  const docA = new Y.Doc();
  const docB = new Y.Doc();
  let bytes = 0;
  let applying = Promise.resolve();
  tb.events.on('message', ({ message }) => {
    if (message.type !== 'envelope') return;
    bytes += encodeWire(message).length;
    if (!codec) return Y.applyUpdate(docB, message.envelope);
    const opening = codec.open(message.envelope);
    applying = applying.then(async () => Y.applyUpdate(docB, await opening));
  });
  await ta.connect();
  await tb.connect();
  let batch: Uint8Array[] = [];
  docA.on('update', (u: Uint8Array) => batch.push(u));
  const textA = docA.getText('t');
  let sealing = Promise.resolve();
  const start = performance.now();
  for (let i = 0; i < edits; i++) {
    applyTxn(textA, trace.txns[i]!);
    if ((i + 1) % perEnvelope === 0 || i === edits - 1) {
      const update = Y.mergeUpdates(batch);
      if (!codec) ta.send({ type: 'envelope', envelope: update });
      else sealing = sealing.then(async () => ta.send({ type: 'envelope', envelope: await codec.seal(update) }));
      batch = [];
      await turn();
    }
  }
  await sealing;
  await hub.flush();
  await waitFor(() => docB.getText('t').length === textA.length);
  await applying;
  return { ms: performance.now() - start, bytes };
}

/** The same pipeline without sealing: merged batches through the same hub, applied as they come. */
const plainSync = (edits: number, perEnvelope: number) => hubSync(edits, perEnvelope);

/**
 * The plain pipeline with the crypto of a sealed envelope and nothing else: each batch sealed
 * as the engine seals it (the same call, the chain's hash), opened as a live reader opens it
 * (one signature checked per envelope).
 */
async function cryptoFloorSync(edits: number, perEnvelope: number): Promise<{ ms: number; bytes: number }> {
  const { a, b } = await members();
  const docId = new Uint8Array(16).fill(3);
  const context = b.log.envelopeContext(b.keyring, { docId });
  let seq = 0;
  let prev: Uint8Array | undefined;
  return hubSync(edits, perEnvelope, {
    async seal(plaintext) {
      const envelope = await sealEnvelope({ kind: 'update', groupId: a.groupId, docId, epoch: a.log.epoch, seq: seq++, head: a.log.head, author: a.keys, keyring: a.keyring, plaintext, ...(prev ? { prev } : {}) });
      prev = await envelopeHash(envelope);
      return envelope;
    },
    async open(envelope) {
      const [outcome] = await openEnvelopes([envelope], context);
      if (!outcome?.ok) throw new Error('an envelope of the floor did not open', { cause: outcome?.error });
      return outcome.plaintext;
    },
  });
}

/**
 * The plain pipeline with the bare primitives an envelope needs and nothing else
 * (bare-envelopes.ts): what sync-vs-plain could be were the crypto package and the engine free.
 */
async function primitivesFloorSync(edits: number, perEnvelope: number): Promise<{ ms: number; bytes: number }> {
  const bare = await bareEnvelopes();
  return hubSync(edits, perEnvelope, { seal: (plaintext) => bare.seal(plaintext), open: (envelope) => bare.open(envelope, true) });
}

/** What a catch-up needs, for a process of its own (catchup-process.ts). */
export interface CatchupData {
  ops: string[];
  words: string;
  docId: string;
  records: { key: string[]; data: string }[];
  updates: string[];
  endContent: string;
}

/** The floors a catch-up is timed against, each in processes of its own (catchup-process.ts). */
type FloorSide = 'floor' | 'primitives';

interface CatchupFigures {
  /** In processes of their own: the median process's figures, and every process's ratio. */
  fresh: { sealedMs: number; plainMs: number };
  freshRatios: number[];
  /** The crypto and primitives floors in processes of their own: the median process's figures, and every process's ratio. */
  floors: Record<FloorSide, { ms: number; plainMs: number; ratios: number[] }>;
  sealedMs: number;
  plainMs: number;
  mergedMs: number;
  verifyMs: number;
  envelopes: number;
  signatures: number;
  memory: Record<'sealed' | 'plain', { peakHeapMb: number; peakRssMb: number }>;
}

/**
 * A new device: its store holds the snapshot sealed after 90 % of the trace and the tail
 * in envelopes of 100 edits (what retention keeps); a SealedDoc opens on it. Against a
 * y-websocket client given the same snapshot and tail as messages, and against one merged update.
 */
async function catchup(): Promise<CatchupFigures> {
  const { a, b, ops, bobWords } = await members();
  const docId = new Uint8Array(16).fill(2);
  const storage = new MemoryStorage();
  const doc = new Y.Doc();
  // Online (alone on a hub), so that what it seals counts as sent and is stored as such.
  const hub = new MemoryHub();
  const transport = hub.transport('a');
  const sealed = new SealedDoc(doc, { group: a, docId, storage, transport, snapshotEvery: 0, batch: { windowMs: 1e9, maxBytes: Infinity } });
  await transport.connect();
  await sealed.whenSynced;
  const text = doc.getText('t');
  const split = Math.floor(trace.txns.length * 0.9);
  for (let i = 0; i < split; i++) applyTxn(text, trace.txns[i]!);
  await sealed.flush();
  const snapshotState = Y.encodeStateAsUpdate(doc);
  // Retention: only the snapshot and what follows it stay in the store.
  await storage.removeRange(['env']);
  await sealed.snapshot();
  const tailUpdates: Uint8Array[] = [];
  let batch: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => batch.push(u));
  for (let i = split; i < trace.txns.length; i++) {
    applyTxn(text, trace.txns[i]!);
    if ((i + 1) % BATCH === 0 || i === trace.txns.length - 1) {
      tailUpdates.push(Y.mergeUpdates(batch));
      batch = [];
      await sealed.flush();
    }
  }
  sealed.destroy();
  const merged = Y.encodeStateAsUpdate(doc);
  const records = await storage.loadRange([]);
  const stored = records.map(({ data }) => data);
  const updates = [snapshotState, ...tailUpdates];

  // A y-websocket client: each message applied as it comes, the provider listening for local updates.
  const plainClient = (messages: Uint8Array[]) => {
    const plain = new Y.Doc();
    plain.on('update', (_u: Uint8Array, origin: unknown) => void (origin === 'provider' || origin));
    for (const u of messages) Y.applyUpdate(plain, u, 'provider');
    if (plain.getText('t').toString() !== trace.endContent) throw new Error('plain catch-up diverged');
  };
  // No forced collection between sides: after one, V8 shrinks the heap and the next side pays
  // for growing it again (both sides 3 times slower here); alternating keeps it fair instead.
  const timed = async (fn: () => unknown) => {
    const start = performance.now();
    await fn();
    return performance.now() - start;
  };
  const runs: { sealedMs: number; plainMs: number; mergedMs: number; verifyMs: number }[] = [];
  // At least 9 rounds, and on small documents more, up to 41 or about 3 s: a catch-up of a few
  // milliseconds is a handful of scheduler slices, and one slice lost decides a median of 9.
  const until = performance.now() + 3000;
  for (let run = 0; run < 41 && (run < 9 || performance.now() < until); run++) {
    const fresh = new Y.Doc();
    let device: SealedDoc | undefined;
    const sealedMs = await timed(async () => {
      device = new SealedDoc(fresh, { group: b, docId, storage, snapshotEvery: 0 });
      await device.whenSynced;
    });
    if (fresh.getText('t').toString() !== trace.endContent) throw new Error('sealed catch-up diverged');
    device!.destroy();
    const plainMs = await timed(() => plainClient(updates));
    const mergedMs = await timed(() => plainClient([merged]));
    const context = b.log.verifyContext({ docId });
    const verifyMs = await timed(() => Promise.all(stored.map((e) => verifyEnvelope(e, context))));
    runs.push({ sealedMs, plainMs, mergedMs, verifyMs });
  }
  // How many signatures the catch-up checked (the rest were vouched for by their author's next envelope).
  const stats = { signaturesChecked: 0 };
  await openEnvelopes(stored, b.log.envelopeContext(b.keyring, { docId }), stats);

  // Peak memory, each side in a process of its own (the heap of one run would hide the other's).
  const dir = mkdtempSync(join(tmpdir(), 'sealdoc-catchup-'));
  const file = join(dir, 'data.json');
  const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
  const data: CatchupData = {
    ops: ops.map(b64),
    words: bobWords,
    docId: b64(docId),
    records: records.map(({ key, data }) => ({ key: [...key], data: b64(data) })),
    updates: updates.map(b64),
    endContent: trace.endContent,
  };
  writeFileSync(file, JSON.stringify(data));
  const probe = (side: 'sealed' | 'plain' | 'time' | FloorSide) => {
    const out = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(new URL('./catchup-process.ts', import.meta.url)), side, file], { encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`catchup-process ${side} failed: ${out.stderr}`);
    return JSON.parse(out.stdout) as unknown;
  };
  type Peak = { peakHeapMb: number; peakRssMb: number };
  const peaks = { sealed: [] as Peak[], plain: [] as Peak[] };
  for (let i = 0; i < 3; i++) for (const side of ['sealed', 'plain'] as const) peaks[side].push(probe(side) as Peak);
  // The catch-up as a new device makes it, in a process of its own (nothing else ran there
  // before): FRESH_PROCESSES processes, each both sides alternately; the process with the median ratio.
  const fresh = Array.from({ length: FRESH_PROCESSES }, () => probe('time') as { sealedMs: number; plainMs: number }).sort((x, y) => x.sealedMs / x.plainMs - y.sealedMs / y.plainMs);
  // The least these envelopes' catch-up can cost, the same way (a floor in the sealed side's place).
  const floorOf = (side: FloorSide) => {
    const runs = Array.from({ length: FRESH_PROCESSES }, () => probe(side) as Record<string, number>)
      .map((r) => ({ ms: r[`${side}Ms`]!, plainMs: r.plainMs! }))
      .sort((x, y) => x.ms / x.plainMs - y.ms / y.plainMs);
    return { ...runs[FRESH_PROCESSES >> 1]!, ratios: runs.map((r) => r.ms / r.plainMs) };
  };
  const floors = { floor: floorOf('floor'), primitives: floorOf('primitives') };
  const memoryOf = (side: 'sealed' | 'plain') => ({ peakHeapMb: mid(peaks[side].map((p) => p.peakHeapMb)), peakRssMb: mid(peaks[side].map((p) => p.peakRssMb)) });
  rmSync(dir, { recursive: true, force: true });
  const mid = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  const median = (pick: (r: (typeof runs)[number]) => number) => mid(runs.map(pick));
  return {
    fresh: fresh[FRESH_PROCESSES >> 1]!,
    freshRatios: fresh.map((f) => f.sealedMs / f.plainMs),
    floors,
    sealedMs: median((r) => r.sealedMs),
    plainMs: median((r) => r.plainMs),
    mergedMs: median((r) => r.mergedMs),
    verifyMs: median((r) => r.verifyMs),
    envelopes: stored.length,
    signatures: stats.signaturesChecked,
    memory: { sealed: memoryOf('sealed'), plain: memoryOf('plain') },
  };
}

const all = trace.txns.length;
// The sealed pipeline, the two floors and plain Yjs in turn, 3 runs of each, each run in another
// order (who runs first, after whose garbage, changes): the median of each side. (One run of
// each, plain first, charged plain with the process's cold start: on a small trace that alone
// made the sealed side look faster.)
const SYNC_RUNS = 3;
type SyncRun = Record<'sealed' | 'floor' | 'primitives' | 'plain', { ms: number; bytes: number }>;
const SIDES: Record<keyof SyncRun, (edits: number, perEnvelope: number) => Promise<{ ms: number; bytes: number }>> = { sealed: sealedSync, floor: cryptoFloorSync, primitives: primitivesFloorSync, plain: plainSync };
const syncRuns: SyncRun[] = [];
for (let run = 0; run < SYNC_RUNS; run++) {
  const names = Object.keys(SIDES) as (keyof SyncRun)[];
  const order = [...names.slice(run % names.length), ...names.slice(0, run % names.length)];
  const result: Partial<SyncRun> = {};
  for (const name of order) result[name] = await SIDES[name](all, BATCH);
  syncRuns.push(result as SyncRun);
}
const medianSide = (side: keyof SyncRun) => syncRuns.map((r) => r[side]).sort((x, y) => x.ms - y.ms)[SYNC_RUNS >> 1]!;
const [plain, sealed] = [medianSide('plain'), medianSide('sealed')];
const runsOf = (side: keyof SyncRun) => `plain-sync; runs: ${syncRuns.map((r) => (r[side].ms / r.plain.ms).toFixed(2)).join(' ')}`;
const PREFIX = Math.min(5000, all);
// Each about 0.1 s and 2 s: the median of 3 runs each, alternating, so that one garbage
// collection landing in one of them does not decide the ratio.
const PREFIX_RUNS = 3;
type Run = { ms: number; bytes: number };
const prefixRuns: { batched: Run; single: Run; plain: Run }[] = [];
for (let run = 0; run < PREFIX_RUNS; run++) prefixRuns.push({ batched: await sealedSync(PREFIX, BATCH), single: await sealedSync(PREFIX, 1), plain: await plainSync(PREFIX, BATCH) });
const medianRun = (pick: (r: (typeof prefixRuns)[number]) => Run) => prefixRuns.map(pick).sort((x, y) => x.ms - y.ms)[PREFIX_RUNS >> 1]!;
const batchedPrefix = medianRun((r) => r.batched);
const perKeystroke = medianRun((r) => r.single);
const plainPrefix = medianRun((r) => r.plain);
const { fresh, freshRatios, floors, sealedMs, plainMs, mergedMs, verifyMs, envelopes, signatures, memory } = await catchup();
const open = await runInChromium<OpenFigures>(fileURLToPath(new URL('./open.browser.ts', import.meta.url)), '', { '/trace.json.gz': traceFile });

const rows: Row[] = [
  { name: 'plain-sync', ratio: 1, baseline: 'itself', ms: plain.ms, edits: all, bytes: plain.bytes },
  { name: 'sync-vs-plain', ratio: sealed.ms / plain.ms, baseline: runsOf('sealed'), ms: sealed.ms, edits: all, bytes: sealed.bytes },
  ...(['floor', 'primitives'] as const).map((side) => ({ name: `sync-${side === 'floor' ? 'crypto' : side}-floor`, ratio: medianSide(side).ms / plain.ms, baseline: runsOf(side), ms: medianSide(side).ms, edits: all, bytes: 0 })),
  { name: 'sync-vs-per-keystroke', ratio: perKeystroke.ms / batchedPrefix.ms, baseline: `sealed, ${BATCH} per envelope`, ms: batchedPrefix.ms, edits: PREFIX, bytes: batchedPrefix.bytes },
  { name: 'per-keystroke', ratio: 1, baseline: 'itself', ms: perKeystroke.ms, edits: PREFIX, bytes: perKeystroke.bytes },
  // The most sync-vs-per-keystroke could be if batches of 100 cost nothing beyond plain Yjs.
  { name: 'per-keystroke-ceiling', ratio: perKeystroke.ms / plainPrefix.ms, baseline: `plain Yjs, ${BATCH} per message`, ms: plainPrefix.ms, edits: PREFIX, bytes: plainPrefix.bytes },
  {
    name: 'catchup-vs-plain',
    ratio: fresh.sealedMs / fresh.plainMs,
    baseline: `y-websocket client, snapshot + tail, ${fresh.plainMs.toFixed(1)} ms; new processes: ${freshRatios.map((r) => r.toFixed(2)).join(' ')}`,
    ms: fresh.sealedMs,
    edits: all,
    bytes: 0,
    envelopes,
    signatures,
  },
  ...(['floor', 'primitives'] as const).map((side) => ({
    name: `catchup-${side === 'floor' ? 'crypto' : side}-floor`,
    ratio: floors[side].ms / floors[side].plainMs,
    baseline: `y-websocket client, ${floors[side].plainMs.toFixed(1)} ms; new processes: ${floors[side].ratios.map((r) => r.toFixed(2)).join(' ')}`,
    ms: floors[side].ms,
    edits: all,
    bytes: 0,
  })),
  { name: 'catchup-after-sync-vs-plain', ratio: sealedMs / plainMs, baseline: `the same in this process, after the sync rows, ${plainMs.toFixed(1)} ms`, ms: sealedMs, edits: all, bytes: 0 },
  { name: 'catchup-vs-merged', ratio: sealedMs / mergedMs, baseline: `y-websocket client, one merged update, ${mergedMs.toFixed(1)} ms`, ms: sealedMs, edits: all, bytes: 0 },
  {
    name: 'catchup-memory',
    ratio: memory.sealed.peakHeapMb / memory.plain.peakHeapMb,
    baseline: `y-websocket client, heap peak ${memory.plain.peakHeapMb.toFixed(1)} MB`,
    ms: 0,
    edits: all,
    bytes: 0,
    peak_heap_mb: memory.sealed.peakHeapMb,
    plain_peak_heap_mb: memory.plain.peakHeapMb,
    peak_rss_mb: memory.sealed.peakRssMb,
    plain_peak_rss_mb: memory.plain.peakRssMb,
  },
  { name: 'catchup-verify-floor', ratio: verifyMs / plainMs, baseline: `snapshot + tail; all ${envelopes} signatures`, ms: verifyMs, edits: all, bytes: 0 },
  {
    name: 'open-vs-y-indexeddb',
    ratio: open.sealedMs / open.yIndexeddbMs,
    baseline: `y-indexeddb, ${open.yIndexeddbMs.toFixed(1)} ms, ${open.yIndexeddbRecords} records`,
    ms: open.sealedMs,
    edits: all,
    bytes: 0,
    records: open.sealedRecords,
  },
  {
    name: 'open-doc-vs-y-indexeddb',
    ratio: open.sealedDocMs / open.yIndexeddbMs,
    baseline: 'y-indexeddb; the document alone, its group open',
    ms: open.sealedDocMs,
    edits: all,
    bytes: 0,
  },
  { name: 'bytes-vs-plain', ratio: sealed.bytes / plain.bytes, baseline: 'plain-sync bytes', ms: 0, edits: all, bytes: sealed.bytes },
];
report(`Sealed sync against plain Yjs, ${traceName} trace (sync-vs-per-keystroke: how many times faster batching is)`, rows);
