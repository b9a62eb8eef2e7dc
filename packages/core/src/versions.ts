/**
 * A sealed document's versions: the snapshots this device holds (sealed here or received,
 * from the relay or the store), each opened and verified again against the membership log,
 * with its author's device and person and the time its author gave it. What a version shows
 * is what its author signed: no member, and not the relay, can pass a version off as another
 * member's, change its content or its time. The time is the author's own clock.
 * @module
 */
import { openEnvelopes } from '@sealdoc/crypto';
import type { DocBinding } from './binding.js';
import { decodeSnapshot } from './wire.js';

/** One version of a document: the state a snapshot holds, and who sealed it when. */
export interface DocVersion {
  /** "author:seq" (hex device id, sequence number): unique within the group. */
  id: string;
  /** The device that sealed the snapshot (verified: its signature). */
  author: Uint8Array;
  /** The member the device acts for, when the log still knows it; undefined for a device of a person no longer in the group. */
  person: Uint8Array | undefined;
  /** The author's sequence number of the snapshot. */
  seq: number;
  /** When the author sealed it (ms since 1970, the author's clock); undefined for a snapshot from before times were sealed. */
  time: number | undefined;
  /** The document's state then: a Yjs update to apply to an empty Y.Doc. */
  state: Uint8Array;
}

// The versions opened so far, per document: each snapshot is verified and decrypted once.
const opened = new WeakMap<DocBinding, Map<string, DocVersion>>();

/**
 * The versions `d` holds, oldest first (by the time their authors gave them, then by id).
 * What the store holds is read first; a snapshot that does not open here (an epoch this
 * member holds no key to yet) is left out, and tried again at the next call.
 */
export async function listVersions(d: DocBinding): Promise<DocVersion[]> {
  await d.store.stored;
  let known = opened.get(d);
  if (!known) opened.set(d, (known = new Map()));
  const fresh = [...d.holdings.byId].filter(([id, { header }]) => header.kind === 'snapshot' && !known.has(id));
  const group = d.group;
  const context = group.log.envelopeContext(group.keyring, { docId: d.docId, kinds: ['snapshot'] });
  const outcomes = await openEnvelopes(
    fresh.map(([, { bytes }]) => bytes),
    context,
  );
  outcomes.forEach((outcome, i) => {
    if (!outcome.ok) return;
    const [id, { header }] = fresh[i]!;
    let payload;
    try {
      payload = decodeSnapshot(outcome.plaintext);
    } catch {
      return; // refused where it came in (a typed error then): never a version
    }
    const device = group.log.device(header.author);
    const person = device ? device.personId : group.log.member(header.author) ? header.author : undefined;
    known.set(id, { id, author: header.author, person, seq: header.seq, time: payload.time, state: payload.state });
  });
  // Only what is still held: an unsent snapshot re-sealed under a newer epoch is held under a new id.
  return [...known.values()].filter((v) => d.holdings.byId.has(v.id)).sort((a, b) => (a.time ?? 0) - (b.time ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
