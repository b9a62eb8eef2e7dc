// npm run bench:core [-- --json] [-- --trace FILE]
// The sealed pipeline against plain Yjs on an editing trace (by default the automerge-paper
// trace, 259,778 edits, test/fixtures, with its licence; any trace in the editing-traces format
// with --trace, see trace.ts), side by side in one run. See docs/performance.md.
//   sync-vs-plain          edits -> batches of 100 -> seal -> in-memory transport -> open -> apply,
//                          against the same pipeline unsealed, same batching
//   sync-vs-per-keystroke  the sealed pipeline with batches of 100 against one envelope per edit
//                          (on the first 5,000 edits: one per edit is that slow)
//   catchup-vs-plain       a new device loading a snapshot and a tail of envelopes, against
//                          plain Y.applyUpdate of the same snapshot and tail updates (median of 5)
//   catchup-verify-floor   only verifying the same envelopes' signatures, all in flight, against
//                          the same plain baseline: the part of catch-up no sealed design avoids
//   bytes-vs-plain         bytes on the wire, sealed against plain
//   open-vs-y-indexeddb    in Chromium: a cold open of the final document from the encrypted
//                          IndexedDB store (store, device key, identity, group, document)
//                          against y-indexeddb holding the same document (median of 9)
//   open-doc-vs-y-indexeddb   the same, the document alone (its group already open)
import * as Y from 'yjs';
import { createGroup, generateMnemonic, identityFromMnemonic, Keyring, MembershipLog, verifyEnvelope, type Identity } from '@sealdoc/crypto';
import { Group, MemoryStorage, SealedDoc } from '@sealdoc/core';
import { MemoryHub } from '@sealdoc/core/testing';
import { encodeWire } from '@sealdoc/protocol';
import { fileURLToPath } from 'node:url';
import { runInChromium } from './chromium.js';
import { report, type Row } from './harness.js';
import { loadTrace, type Trace } from './trace.js';
import type { OpenFigures } from './open.browser.js';

const { name: traceName, trace, gzipped: traceFile } = loadTrace();
const BATCH = 100;

function applyTxn(text: Y.Text, txn: Trace['txns'][number]): void {
  for (const [pos, del, ins] of txn.patches) {
    if (del > 0) text.delete(pos, del);
    if (ins) text.insert(pos, ins);
  }
}

async function members(): Promise<{ a: Group; b: Group }> {
  const alice = identityFromMnemonic(generateMnemonic());
  const bob = identityFromMnemonic(generateMnemonic());
  const ops = [await createGroup(alice, { members: [{ keys: bob, role: 'writer' }] })];
  const group = async (id: Identity) => {
    const g = new Group({ signer: id, log: await MembershipLog.fromOps(ops), keyring: new Keyring() });
    await g.refresh();
    return g;
  };
  return { a: await group(alice), b: await group(bob) };
}

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
    if ((i + 1) % perEnvelope === 0 || i === edits - 1) await sealedA.flush();
  }
  await waitFor(() => docB.getText('t').length === (expected ?? textA.length));
  const ms = performance.now() - start;
  sealedA.destroy();
  sealedB.destroy();
  return { ms, bytes };
}

/** The same pipeline without sealing: merged batches through the same hub, applied as they come. */
async function plainSync(edits: number, perEnvelope: number): Promise<{ ms: number; bytes: number }> {
  const hub = new MemoryHub();
  const [ta, tb] = [hub.transport('a'), hub.transport('b')];
  const docA = new Y.Doc();
  const docB = new Y.Doc();
  let bytes = 0;
  tb.events.on('message', ({ message }) => {
    if (message.type !== 'envelope') return;
    bytes += encodeWire(message).length;
    Y.applyUpdate(docB, message.envelope);
  });
  await ta.connect();
  await tb.connect();
  let batch: Uint8Array[] = [];
  docA.on('update', (u: Uint8Array) => batch.push(u));
  const textA = docA.getText('t');
  const start = performance.now();
  for (let i = 0; i < edits; i++) {
    applyTxn(textA, trace.txns[i]!);
    if ((i + 1) % perEnvelope === 0 || i === edits - 1) {
      ta.send({ type: 'envelope', envelope: Y.mergeUpdates(batch) });
      batch = [];
    }
  }
  await hub.flush();
  await waitFor(() => docB.getText('t').length === textA.length);
  return { ms: performance.now() - start, bytes };
}

/**
 * A new device: its store holds the snapshot sealed after 90 % of the trace and the tail
 * in envelopes of 100 edits (what retention keeps); a SealedDoc opens on it. Against plain
 * Y.applyUpdate of the same snapshot and tail updates.
 */
async function catchup(): Promise<{ sealedMs: number; plainMs: number; verifyMs: number; envelopes: number }> {
  const { a, b } = await members();
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

  const stored = (await storage.loadRange([])).map(({ data }) => data);
  const runs: { sealedMs: number; plainMs: number; verifyMs: number }[] = [];
  for (let run = 0; run < 5; run++) {
    let start = performance.now();
    const fresh = new Y.Doc();
    const device = new SealedDoc(fresh, { group: b, docId, storage, snapshotEvery: 0 });
    await device.whenSynced;
    const sealedMs = performance.now() - start;
    if (fresh.getText('t').toString() !== trace.endContent) throw new Error('sealed catch-up diverged');
    device.destroy();

    start = performance.now();
    const plain = new Y.Doc();
    Y.applyUpdate(plain, snapshotState);
    for (const u of tailUpdates) Y.applyUpdate(plain, u);
    const plainMs = performance.now() - start;
    if (plain.getText('t').toString() !== trace.endContent) throw new Error('plain catch-up diverged');

    const context = b.log.verifyContext({ docId });
    start = performance.now();
    await Promise.all(stored.map((e) => verifyEnvelope(e, context)));
    runs.push({ sealedMs, plainMs, verifyMs: performance.now() - start });
  }
  const median = (pick: (r: (typeof runs)[number]) => number) => runs.map(pick).sort((x, y) => x - y)[runs.length >> 1]!;
  return { sealedMs: median((r) => r.sealedMs), plainMs: median((r) => r.plainMs), verifyMs: median((r) => r.verifyMs), envelopes: stored.length };
}

const all = trace.txns.length;
const plain = await plainSync(all, BATCH);
const sealed = await sealedSync(all, BATCH);
const PREFIX = Math.min(5000, all);
const batchedPrefix = await sealedSync(PREFIX, BATCH);
const perKeystroke = await sealedSync(PREFIX, 1);
const { sealedMs, plainMs, verifyMs, envelopes } = await catchup();
const open = await runInChromium<OpenFigures>(fileURLToPath(new URL('./open.browser.ts', import.meta.url)), '', { '/trace.json.gz': traceFile });

const rows: Row[] = [
  { name: 'plain-sync', ratio: 1, baseline: 'itself', ms: plain.ms, edits: all, bytes: plain.bytes },
  { name: 'sync-vs-plain', ratio: sealed.ms / plain.ms, baseline: 'plain-sync', ms: sealed.ms, edits: all, bytes: sealed.bytes },
  { name: 'sync-vs-per-keystroke', ratio: perKeystroke.ms / batchedPrefix.ms, baseline: `sealed, ${BATCH} per envelope`, ms: batchedPrefix.ms, edits: PREFIX, bytes: batchedPrefix.bytes },
  { name: 'per-keystroke', ratio: 1, baseline: 'itself', ms: perKeystroke.ms, edits: PREFIX, bytes: perKeystroke.bytes },
  { name: 'catchup-vs-plain', ratio: sealedMs / plainMs, baseline: `plain snapshot + tail, ${plainMs.toFixed(1)} ms`, ms: sealedMs, edits: all, bytes: 0 },
  { name: 'catchup-verify-floor', ratio: verifyMs / plainMs, baseline: `plain snapshot + tail; ${envelopes} signatures`, ms: verifyMs, edits: all, bytes: 0 },
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
