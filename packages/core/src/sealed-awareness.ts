/**
 * Sealed awareness (cursors, names) for a sealed document: this peer's y-protocols awareness
 * state sealed and signed like updates, under a per-author counter (µs since 1970, strictly
 * increasing) so that stale or replayed states are dropped; never stored. Each state goes with
 * its "left" sealed in advance, so that a page being unloaded can take its caret with it at
 * once ({@link SealedAwareness.leaveNow}). Only the member who may speak for a Yjs client
 * moves it (presence.ts).
 * @module
 */
import * as Y from 'yjs';
import { applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates, type Awareness } from 'y-protocols/awareness';
import { EnvelopeError, openEnvelope, sealEnvelope, type EnvelopeHeader } from '@sealdoc/crypto';
import type { DocBinding } from './binding.js';
import { hex } from './bytes.js';
import { PresenceOwners } from './presence.js';
import { SyncError } from './sync-error.js';
import type { PeerId } from './transport.js';

// Awareness states older than this are dropped: a replay after the receiver restarted.
const AWARENESS_MAX_AGE_MS = 60_000;

export class SealedAwareness {
  readonly #d: DocBinding;
  readonly #awareness: Awareness;
  // This peer's awareness counter (µs since 1970, strictly increasing), and the last seen per author.
  #awarenessCounter = 0;
  readonly #awarenessSeen = new Map<string, number>();
  /** Who may speak for each Yjs client in presence. */
  readonly owners = new PresenceOwners();
  // This peer's "left" presence, sealed in advance (see leaveNow).
  #farewell: { seq: number; bytes: Uint8Array } | undefined;

  constructor(d: DocBinding, awareness: Awareness) {
    this.#d = d;
    this.#awareness = awareness;
    for (const client of new Set([awareness.clientID, d.doc.clientID])) this.owners.bindFromDoc(client, d.group._me);
  }

  /** Sends this peer's state whenever it changes here; returns the function that stops it. */
  listen(): () => void {
    const awareness = this.#awareness;
    const onAwareness = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
      if (origin !== this.#d.origin && [...added, ...updated, ...removed].includes(awareness.clientID)) this.#d.background(this.send());
    };
    awareness.on('update', onAwareness);
    return () => awareness.off('update', onAwareness);
  }

  /**
   * Seals this peer's awareness state and sends it; only online, only with the right to write.
   * `leaving`: its state as removed instead (peers drop its caret at once).
   */
  async send(leaving = false): Promise<void> {
    const awareness = this.#awareness;
    const d = this.#d;
    const group = d.group;
    if (d.transport?.status !== 'online' || !d.readyToSeal()) return;
    const seq = (this.#awarenessCounter = Math.max(this.#awarenessCounter + 1, Date.now() * 1000));
    const seal = (counter: number, states: Map<number, unknown>) =>
      sealEnvelope({
        kind: 'awareness',
        groupId: group.groupId,
        docId: d.docId,
        epoch: group.log.epoch,
        seq: counter,
        head: group.log.head,
        author: group.keys,
        keyring: group.keyring,
        plaintext: encodeAwarenessUpdate(awareness, [awareness.clientID], states as Map<number, Record<string, unknown>>),
      });
    if (leaving) {
      this.#farewell = undefined;
      d.broadcast({ type: 'envelope', envelope: await seal(seq, new Map()) });
      return;
    }
    // With every state, its "left" sealed in advance (the next counter), for leaveNow().
    const farewellSeq = ++this.#awarenessCounter;
    const [bytes, farewell] = await Promise.all([seal(seq, awareness.getStates()), seal(farewellSeq, new Map())]);
    d.broadcast({ type: 'envelope', envelope: bytes });
    if (farewellSeq > (this.#farewell?.seq ?? 0)) this.#farewell = { seq: farewellSeq, bytes: farewell };
  }

  /** See {@link SealedDoc.leaveNow}. */
  leaveNow(): void {
    const farewell = this.#farewell;
    this.#farewell = undefined;
    if (farewell && this.#d.transport?.status === 'online') this.#d.broadcast({ type: 'envelope', envelope: farewell.bytes });
  }

  async receive(bytes: Uint8Array, header: EnvelopeHeader, from?: PeerId): Promise<void> {
    const awareness = this.#awareness;
    const d = this.#d;
    const author = hex(header.author);
    // Stale, replayed or too old: dropped without a word (it is not an attack signal by itself).
    if (header.seq <= (this.#awarenessSeen.get(author) ?? 0) || header.seq / 1000 < Date.now() - AWARENESS_MAX_AGE_MS) return;
    try {
      const { plaintext } = await openEnvelope(bytes, d.group.log.envelopeContext(d.group.keyring, { docId: d.docId, kinds: ['awareness'] }));
      if (header.seq <= (this.#awarenessSeen.get(author) ?? 0)) return;
      this.#awarenessSeen.set(author, header.seq);
      // Only for the clients this member may speak for: its own edits' clients, or new ones.
      const { allowed, refused } = this.owners.filter(plaintext, author);
      if (refused.length > 0)
        d.events.emit('error', {
          error: new SyncError('spoofed-presence', `a member sent presence for ${refused.length} Yjs client(s) that belong to other members; it was dropped`, { member: author }),
          ...(from ? { from } : {}),
        });
      if (allowed) applyAwarenessUpdate(awareness, allowed, d.origin);
    } catch (error) {
      if (error instanceof EnvelopeError) d.events.emit('error', { error, ...(from ? { from } : {}) });
      else throw error;
    }
  }

  /**
   * The Yjs clients whose edits an update carries belong to its envelope's author (a
   * snapshot's author speaks for everyone's edits, so it binds nothing); a presence that
   * claimed one of them before is removed.
   */
  bindClients(update: Uint8Array, author: string): void {
    for (const client of Y.parseUpdateMeta(update).from.keys()) {
      if (this.owners.bindFromDoc(client, author) !== undefined) removeAwarenessStates(this.#awareness, [client], this.#d.origin);
    }
  }
}
