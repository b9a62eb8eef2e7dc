/**
 * Peer sync for a sealed document: peers exchange `have` summaries (which sequence numbers
 * each holds, and how long their log is) in a request and an answer, and send each other what
 * the other lacks, membership ops included: lost, duplicated or reordered messages heal on
 * resync. Also whether this peer's log is current enough to send (the peers present at connect
 * have told theirs, none is ahead), and whether the exchange settled (`synced`).
 * @module
 */
import { SeqRanges, type WireMessage } from '@sealdoc/protocol';
import { MembershipError } from '@sealdoc/crypto';
import type { DocBinding } from './binding.js';
import { hex } from './bytes.js';
import { splitId } from './holdings.js';
import type { PeerId } from './transport.js';

// How far a peer (not the relay) may move this member's sequence counter by claiming to hold its envelopes.
const MAX_CLAIMED_SEQ_JUMP = 2 ** 20;
// How long after connecting edits wait for the peers present to report their log.
const LOG_GRACE_MS = 1000;

export class PeerSync {
  readonly #d: DocBinding;
  /** Resolves once the first exchange with peers settled. */
  readonly whenSynced: Promise<void>;
  #resolveSynced!: () => void;
  #synced = false;
  #syncedOnce = false;
  // Since the last connect: the peers present then whose `have` has not arrived yet (for at
  // most LOG_GRACE_MS: a silent peer cannot hold edits back for ever), and the longest log
  // any peer has reported.
  #awaiting = new Set<PeerId>();
  #peerLogLength = 0;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(d: DocBinding) {
    this.#d = d;
    this.whenSynced = new Promise((resolve) => (this.#resolveSynced = resolve));
  }

  /** Whether a resync settled since the transport last came online. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Whether a resync ever settled here. */
  get syncedOnce(): boolean {
    return this.#syncedOnce;
  }

  /** With no transport: as synced as it can be. */
  alone(): void {
    this.#resolveSynced();
  }

  /** The transport went online: edits wait (for a while) for the peers present to report their log. */
  connected(peers: PeerId[]): void {
    this.#awaiting = new Set(peers);
    this.#peerLogLength = 0;
    clearTimeout(this.#graceTimer);
    this.#graceTimer = setTimeout(() => {
      this.#awaiting.clear();
      this.#d.background(this.#d.outbox.releaseUnsent());
    }, LOG_GRACE_MS);
  }

  /** The transport left `online`. */
  disconnected(): void {
    if (this.#synced) {
      this.#synced = false;
      this.#d.events.emit('synced', { synced: false });
    }
  }

  stop(): void {
    clearTimeout(this.#graceTimer);
  }

  /** Whether the peers present at connect have told their log length (or the grace ran out) and none is ahead. */
  logCurrent(): boolean {
    if (this.#d.transport?.status !== 'online' || this.#d.watch?.behind) return false;
    return this.#awaiting.size === 0 && this.#d.group.log.length >= this.#peerLogLength;
  }

  /** Asks every peer for its summary and sends it ours, so that each sends what the other lacks. */
  resync(): void {
    const t = this.#d.transport;
    if (t?.status !== 'online') return;
    this.sendHave();
    // Peers answer every request; with none to answer, this peer is as synced as it can be.
    if (t.peers().length === 0) this.#settled();
  }

  sendHave(to?: PeerId, reply = false): void {
    const d = this.#d;
    d.broadcast(
      {
        type: 'have',
        reply,
        groupId: d.group.groupId,
        docId: d.docId,
        logLength: d.group.log.length,
        authors: d.holdings.known.toAuthorRanges(),
      },
      to,
    );
  }

  /** Membership ops from a peer. */
  async receiveOps(message: Extract<WireMessage, { type: 'ops' }>, from: PeerId): Promise<void> {
    const d = this.#d;
    if (hex(message.groupId) !== d.group._key) return;
    // Ops past the end of this log (the peer announced only its newest): ask for the rest.
    if (message.fromIndex > d.group.log.length) {
      this.sendHave(from);
      return;
    }
    try {
      await d.group.receiveOps(message.ops, message.fromIndex);
    } catch (error) {
      if (error instanceof MembershipError) d.events.emit('error', { error, from });
      else throw error;
    }
  }

  answerHave(message: Extract<WireMessage, { type: 'have' }>, from: PeerId): void {
    const d = this.#d;
    const group = d.group;
    const fromRelay = from === d.transport?.relayPeer;
    this.#awaiting.delete(from);
    this.#peerLogLength = Math.max(this.#peerLogLength, message.logLength);
    // What a peer holds of this member's own envelopes (sent by another of its devices, or
    // before a restore): those sequence numbers are never handed out again here, and what this
    // device sealed with one of them, unsent, is sealed again before it goes. The relay's word
    // is taken as it is; a peer's only within a bound, so that claiming [0, 2^53) cannot leave
    // this member unable to write.
    for (const [author, ranges] of message.authors) {
      const last = ranges.at(-1)?.[1];
      if (last === undefined || hex(author) !== group._me) continue;
      if (fromRelay || last <= group._sequences.nextHint + MAX_CLAIMED_SEQ_JUMP) group._sequences.noteUsedElsewhere(last);
    }
    d.background(d.outbox.releaseUnsent());
    if (message.logLength < group.log.length) d.broadcast({ type: 'ops', groupId: group.groupId, fromIndex: message.logLength, ops: group.log.ops().slice(message.logLength) }, from);
    // Ranges are compared as ranges, never enumerated: a peer may claim [0, 2^53).
    const theirs = SeqRanges.fromAuthorRanges(message.authors);
    // A peer that lacks the snapshot covering most gets it instead of what it covers: a new
    // device loads the newest snapshot and the tail after it.
    const best = d.holdings.best;
    const skip = best && !theirs.has(...splitId(best.id)) ? best.covers : undefined;
    for (const [id, held] of d.holdings.byId) {
      const [author, seq] = splitId(id);
      if (d.outbox.unsent.has(id)) continue;
      // The relay holds it: stored, whether or not its acknowledgement came.
      if (theirs.has(author, seq)) {
        if (fromRelay) d.outbox.acknowledged(id);
      } else if (!skip?.has(author, seq)) {
        if (author === group._me) d.outbox.sendOwn(id, held.bytes, from);
        else d.broadcast({ type: 'envelope', envelope: held.bytes }, from);
      }
    }
    // A request gets our own summary back, so that they send what we lack and learn our log
    // length; an answer ends the exchange.
    if (!message.reply) this.sendHave(from, true);
    else this.#settled();
  }

  #settled(): void {
    const caughtUp = !this.#synced;
    this.#resolveSynced();
    this.#synced = true;
    this.#d.watch?.settled();
    this.#syncedOnce = true;
    this.#d.snapshots.sealOwed();
    // Caught up since connecting: a rotation the group owes after a leave is tried now.
    if (caughtUp) this.#d.group._caughtUp();
    this.#d.events.emit('synced', { synced: true });
  }
}
