// A process of its own for one catch-up (bench/core.ts, row catchup-memory): `sealed` opens a
// SealedDoc on the stored envelopes as a new device; `plain` applies the same snapshot and tail
// as a y-websocket client. Prints {"peakMb"}: the peak resident memory (Linux VmHWM, reset
// just before) above the resident memory at the start of the catch-up, heap collected first.
import { readFileSync, writeFileSync } from 'node:fs';
import * as Y from 'yjs';
import { identityFromMnemonic, Keyring, MembershipLog } from '@sealdoc/crypto';
import { Group, MemoryStorage, SealedDoc } from '@sealdoc/core';
import type { CatchupData } from './core.js';

const [side, file] = process.argv.slice(2);
const data = JSON.parse(readFileSync(file!, 'utf8')) as CatchupData;
const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

const status = (field: string) => Number(/(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(field))!)![1]) / 1024;

let run: () => Promise<string>;
if (side === 'sealed') {
  const group = new Group({ signer: identityFromMnemonic(data.words), log: await MembershipLog.fromOps(data.ops.map(bytes)), keyring: new Keyring() });
  await group.refresh();
  const storage = new MemoryStorage();
  await storage.write(data.records.map(({ key, data: d }) => ({ op: 'save' as const, key, data: bytes(d) })));
  run = async () => {
    const doc = new Y.Doc();
    const sealed = new SealedDoc(doc, { group, docId: bytes(data.docId), storage, snapshotEvery: 0 });
    await sealed.whenSynced;
    return doc.getText('t').toString();
  };
} else {
  const updates = data.updates.map(bytes);
  run = async () => {
    const doc = new Y.Doc();
    doc.on('update', () => undefined);
    for (const u of updates) Y.applyUpdate(doc, u, 'provider');
    return doc.getText('t').toString();
  };
}
(globalThis as { gc?: () => void }).gc?.();
writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current resident size
const before = status('VmRSS');
const text = await run();
const peak = status('VmHWM');
if (text !== data.endContent) throw new Error(`${side} catch-up diverged`);
process.stdout.write(JSON.stringify({ peakMb: peak - before }));
