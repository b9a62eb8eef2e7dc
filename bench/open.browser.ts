// Chromium entry of bench:core's open-vs-y-indexeddb: the final automerge-paper document
// written the same way (259,778 edits in transactions of 100) into y-indexeddb and into
// Sealdoc's encrypted IndexedDB store, then opened cold from each, side by side.
import * as Y from 'yjs';
import { IndexeddbPersistence } from 'y-indexeddb';
import { createGroup, generateMnemonic, MembershipLog, Keyring } from '@sealdoc/crypto';
import { DeviceKey, Group, IndexedDBStorage, loadIdentity, saveIdentity, SealedDoc } from '@sealdoc/core';
import { MemoryHub } from '@sealdoc/core/testing';

interface Trace {
  endContent: string;
  txns: { patches: [pos: number, del: number, ins: string][] }[];
}

export interface OpenFigures {
  sealedMs: number;
  /** The document alone, its group already open (a second document in a session). */
  sealedDocMs: number;
  yIndexeddbMs: number;
  runs: number;
  sealedRecords: number;
  yIndexeddbRecords: number;
}

const BATCH = 100;
const RUNS = 9;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function loadTrace(): Promise<Trace> {
  const response = await fetch('/trace.json.gz');
  const text = await new Response(response.body!.pipeThrough(new DecompressionStream('gzip'))).text();
  return JSON.parse(text) as Trace;
}

/** Replays the trace into `doc` in transactions of BATCH edits, awaiting `after` between them. */
async function replay(doc: Y.Doc, trace: Trace, after: () => Promise<void>): Promise<void> {
  const text = doc.getText('t');
  for (let i = 0; i < trace.txns.length; i += BATCH) {
    doc.transact(() => {
      for (const txn of trace.txns.slice(i, i + BATCH)) {
        for (const [pos, del, ins] of txn.patches) {
          if (del > 0) text.delete(pos, del);
          if (ins) text.insert(pos, ins);
        }
      }
    });
    await after();
  }
}

async function countRecords(name: string, store: string): Promise<number> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const open = indexedDB.open(name);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const n = await new Promise<number>((resolve) => {
    const r = db.transaction(store).objectStore(store).count();
    r.onsuccess = () => resolve(r.result);
  });
  db.close();
  return n;
}

async function run(): Promise<OpenFigures> {
  const trace = await loadTrace();
  const Y_NAME = 'bench-y-indexeddb';
  const S_NAME = 'bench-sealdoc';
  await IndexedDBStorage.deleteDatabase(S_NAME);
  await new Promise((resolve) => {
    const r = indexedDB.deleteDatabase(Y_NAME);
    r.onsuccess = r.onerror = resolve;
  });

  // y-indexeddb, written as an app using it would: the provider stores every transaction.
  {
    const doc = new Y.Doc();
    const provider = new IndexeddbPersistence(Y_NAME, doc);
    await provider.whenSynced;
    await replay(doc, trace, async () => undefined);
    await sleep(1500); // its debounced compaction
    await provider.destroy();
  }

  // Sealdoc: one member online alone, batches of 100 sealed and stored, the local state kept.
  const words = generateMnemonic();
  {
    const storage = await IndexedDBStorage.open(S_NAME, { persist: false });
    const key = await DeviceKey.inBrowser(S_NAME);
    const identity = await saveIdentity(storage, key, words);
    const group = new Group({ signer: identity, log: await MembershipLog.fromOps([await createGroup(identity)]), keyring: new Keyring(), storage });
    await group.refresh();
    const hub = new MemoryHub();
    const transport = hub.transport('me');
    await transport.connect();
    const doc = new Y.Doc();
    const sealed = new SealedDoc(doc, { group, docId: new Uint8Array(16).fill(3), transport, storage, deviceKey: key, batch: { windowMs: 1e9, maxBytes: Infinity } });
    await sealed.whenSynced;
    await replay(doc, trace, () => sealed.flush());
    await sealed.destroy();
    await storage.close();
  }
  const groupHex = (await (async () => {
    const storage = await IndexedDBStorage.open(S_NAME, { persist: false });
    const [id] = await Group.stored(storage);
    await storage.close();
    return id!;
  })());
  const groupId = Uint8Array.from(groupHex.match(/../g)!, (h) => parseInt(h, 16));

  const sealedTimes: number[] = [];
  const sealedDocTimes: number[] = [];
  const yTimes: number[] = [];
  const openY = async () => {
    const start = performance.now();
    const doc = new Y.Doc();
    const provider = new IndexeddbPersistence(Y_NAME, doc);
    await provider.whenSynced;
    yTimes.push(performance.now() - start);
    if (doc.getText('t').toString() !== trace.endContent) throw new Error('y-indexeddb opened another text');
    await provider.destroy();
  };
  // Everything a cold start needs: the store, the device key, the identity, the group (its
  // log verified, its epoch secrets unwrapped) and the document.
  const openSealed = async () => {
    const start = performance.now();
    const storage = await IndexedDBStorage.open(S_NAME, { persist: false });
    const key = await DeviceKey.inBrowser(storage);
    const { identity } = (await loadIdentity(storage, key))!;
    const group = (await Group.open({ signer: identity, groupId, storage }))!;
    const docStart = performance.now();
    const doc = new Y.Doc();
    const sealed = new SealedDoc(doc, { group, docId: new Uint8Array(16).fill(3), storage, deviceKey: key });
    await sealed.whenLoaded;
    sealedTimes.push(performance.now() - start);
    sealedDocTimes.push(performance.now() - docStart);
    await sealed.destroy();
    await sleep(300); // the store's envelopes are read in the background: not part of the open
    await storage.close();
  };
  // Alternating which goes first, with a pause between, median of the runs.
  for (let i = 0; i < RUNS; i++) {
    for (const open of i % 2 ? [openY, openSealed] : [openSealed, openY]) {
      await sleep(200);
      await open();
    }
  }
  return {
    sealedMs: median(sealedTimes),
    sealedDocMs: median(sealedDocTimes),
    yIndexeddbMs: median(yTimes),
    runs: RUNS,
    sealedRecords: await countRecords(S_NAME, 'records'),
    yIndexeddbRecords: await countRecords(Y_NAME, 'updates'),
  };
}

(globalThis as unknown as { benchResult: Promise<unknown> }).benchResult = run();
