// What a Sealdoc client adds to an update's trip, apart from the relay (bench:relay's comparison
// suite): sealing a small Yjs update at the writer (XChaCha20-Poly1305 and an Ed25519
// signature) and verifying and opening it at a reader, one at a time, on this machine, with
// nothing else of the bench running. The full-path rows of the comparison measure the same
// work under load, where the load generator does it for 100 clients at once on the cores the
// server uses (a real client does it for itself, on its own device).
import { createGroup, generateMnemonic, identityFromMnemonic, Keyring, MembershipLog, openEnvelope, sealEnvelope, unlockEpochSecrets } from '@sealdoc/crypto';
import * as Y from 'yjs';
import type { Row } from './harness.js';

const N = 2000;

/** Median µs per call of sealing, and of verifying and opening, a one-character Yjs update. */
export async function clientCostRow(): Promise<Row> {
  const [a, b] = [identityFromMnemonic(generateMnemonic()), identityFromMnemonic(generateMnemonic())];
  const log = await MembershipLog.fromOps([await createGroup(a, { members: [{ keys: b, role: 'writer' as const }] })]);
  const [ka, kb] = [new Keyring(), new Keyring()];
  await unlockEpochSecrets(log, a, ka);
  await unlockEpochSecrets(log, b, kb);
  const doc = new Y.Doc();
  const updates: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => updates.push(u));
  for (let i = 0; i < N; i++) doc.getText('t').insert(0, 'x');
  const docId = new Uint8Array(16).fill(1);
  const context = log.envelopeContext(kb, { docId, kinds: ['update'] });
  const seal: number[] = [];
  const open: number[] = [];
  for (let seq = 0; seq < N; seq++) {
    let t = performance.now();
    const envelope = await sealEnvelope({ kind: 'update', groupId: log.groupId, docId, epoch: log.epoch, seq, head: log.head, author: a, keyring: ka, plaintext: updates[seq]! });
    seal.push(performance.now() - t);
    t = performance.now();
    await openEnvelope(envelope, context);
    open.push(performance.now() - t);
  }
  const median = (v: number[]) => v.sort((x, y) => x - y)[Math.floor(v.length / 2)]!;
  const sealUs = median(seal) * 1000;
  const openUs = median(open) * 1000;
  return {
    name: 'sealdoc client: seal + verify/open per update',
    ratio: 1,
    baseline: 'one at a time, nothing else of the bench running (median µs)',
    seal_us: sealUs,
    open_us: openUs,
    client_ms_per_update: (sealUs + openUs) / 1000,
  };
}
