// A process of its own for a catch-up (bench/core.ts), as a new device makes it when its app
// starts: nothing else has run in the process yet. `sealed` opens a SealedDoc on the stored
// envelopes as a new device; `plain` applies the same snapshot and tail as a y-websocket client.
// With `sealed` or `plain` (row catchup-memory), one catch-up, and prints {"peakHeapMb",
// "peakRssMb"}, both above what the process used when it started (heap collected first): the V8
// heap's peak (the most it held before any collection during the catch-up, or at its end: between
// collections it only grows), and the peak resident memory (Linux VmHWM, reset just before).
// With `time` (row catchup-vs-plain), the sealed and plain sides alternately, at least 9 rounds
// and up to 41 or about 1.5 s, and prints {"sealedMs", "plainMs"}: the median of each (the text
// read back in both). With `floor` (row catchup-crypto-floor), the same with the floor in the
// sealed side's place, printing {"floorMs", "plainMs"}: the plain client given the envelopes instead, opened in one batch
// (openEnvelopes: the chain's hashes, its one signature, the AEADs) and their plaintexts applied,
// nothing of the engine: the least a catch-up of these envelopes can cost with the crypto package.
// With `primitives` (row catchup-primitives-floor), the same with the bare primitives
// (bare-envelopes.ts) in its place, printing {"primitivesMs", "plainMs"}: the same plaintexts
// sealed as bare envelopes beforehand, then opened (one signature, the last; each envelope's
// hash, commitment and AEAD) and applied: the least any implementation of such envelopes can cost.
import { readFileSync, writeFileSync } from 'node:fs';
import { GCProfiler, getHeapStatistics } from 'node:v8';
import * as Y from 'yjs';
import { identityFromMnemonic, Keyring, MembershipLog, openEnvelopes } from '@sealdoc/crypto';
import { decodeSnapshot, Group, MemoryStorage, SealedDoc } from '@sealdoc/core';
import { bareEnvelopes } from './bare-envelopes.js';
import type { CatchupData } from './core.js';

const [side, file] = process.argv.slice(2);
const data = JSON.parse(readFileSync(file!, 'utf8')) as CatchupData;
const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

const status = (field: string) => Number(/(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(field))!)![1]) / 1024;

async function sealedRun(): Promise<() => Promise<string>> {
  const group = new Group({ signer: identityFromMnemonic(data.words), log: await MembershipLog.fromOps(data.ops.map(bytes)), keyring: new Keyring() });
  await group.refresh();
  const storage = new MemoryStorage();
  await storage.write(data.records.map(({ key, data: d }) => ({ op: 'save' as const, key, data: bytes(d) })));
  return async () => {
    const doc = new Y.Doc();
    const sealed = new SealedDoc(doc, { group, docId: bytes(data.docId), storage, snapshotEvery: 0 });
    await sealed.whenSynced;
    sealed.destroy();
    return doc.getText('t').toString();
  };
}

/** The envelopes of the store opened in one batch, their plaintexts applied as a y-websocket client applies updates. */
async function floorRun(): Promise<() => Promise<string>> {
  const group = new Group({ signer: identityFromMnemonic(data.words), log: await MembershipLog.fromOps(data.ops.map(bytes)), keyring: new Keyring() });
  await group.refresh();
  const context = group.log.envelopeContext(group.keyring, { docId: bytes(data.docId) });
  const envelopes = data.records.filter(({ key }) => key[0] === 'env').map(({ data: d }) => bytes(d));
  return async () => {
    const doc = new Y.Doc();
    doc.on('update', () => undefined);
    for (const outcome of await openEnvelopes(envelopes, context)) {
      if (!outcome.ok) throw new Error('an envelope of the floor did not open', { cause: outcome.error });
      Y.applyUpdate(doc, outcome.header.kind === 'snapshot' ? decodeSnapshot(outcome.plaintext).state : outcome.plaintext, 'provider');
    }
    return doc.getText('t').toString();
  };
}

/** The plain client's messages sealed as bare envelopes, opened (one signature: the last) and applied. */
async function primitivesRun(): Promise<() => Promise<string>> {
  const bare = await bareEnvelopes();
  const envelopes = data.updates.map((u) => bare.seal(bytes(u)));
  return async () => {
    const doc = new Y.Doc();
    doc.on('update', () => undefined);
    envelopes.forEach((envelope, i) => Y.applyUpdate(doc, bare.open(envelope, i === envelopes.length - 1), 'provider'));
    return doc.getText('t').toString();
  };
}

function plainRun(): () => Promise<string> {
  const updates = data.updates.map(bytes);
  return async () => {
    const doc = new Y.Doc();
    doc.on('update', () => undefined);
    for (const u of updates) Y.applyUpdate(doc, u, 'provider');
    return doc.getText('t').toString();
  };
}

const TIMED = { time: ['sealed', sealedRun], floor: ['floor', floorRun], primitives: ['primitives', primitivesRun] } as const;
if (side === 'time' || side === 'floor' || side === 'primitives') {
  const [subject, make] = TIMED[side];
  const runs = { [subject]: await make(), plain: plainRun() };
  const ms: Record<string, number[]> = { [subject]: [], plain: [] };
  const until = performance.now() + 1500;
  for (let round = 0; round < 41 && (round < 9 || performance.now() < until); round++) {
    for (const name of [subject, 'plain']) {
      const start = performance.now();
      const text = await runs[name]!();
      ms[name]!.push(performance.now() - start);
      if (text !== data.endContent) throw new Error(`${name} catch-up diverged`);
    }
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  process.stdout.write(JSON.stringify({ [`${subject}Ms`]: median(ms[subject]!), plainMs: median(ms.plain!) }));
  process.exit(0);
}
const run = side === 'sealed' ? await sealedRun() : plainRun();
(globalThis as { gc?: () => void }).gc?.();
writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current resident size
const rssBefore = status('VmRSS');
const heapBefore = getHeapStatistics().used_heap_size;
const profiler = new GCProfiler();
profiler.start();
const text = await run();
const heapEnd = getHeapStatistics().used_heap_size;
const peakRss = status('VmHWM');
const peakHeap = Math.max(heapEnd, ...profiler.stop().statistics.map((gc) => gc.beforeGC.heapStatistics.usedHeapSize));
if (text !== data.endContent) throw new Error(`${side} catch-up diverged`);
const mb = (bytes: number) => bytes / 1024 / 1024;
process.stdout.write(JSON.stringify({ peakHeapMb: mb(peakHeap - heapBefore), peakRssMb: peakRss - rssBefore }));
