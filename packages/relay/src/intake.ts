/**
 * Intake: what the relay checks before it stores an envelope, without decrypting it. A push's
 * signature, header and author are verified against the group's log as it arrives; it then
 * joins its group's next batch, written in one transaction (group commit) in order with the
 * group's membership changes, where its author's standing is checked again (a removal appended
 * meanwhile wins: nothing new from a removed member or a reader, whatever its sequence number)
 * and so are its author's quotas; the batches of all groups that a turn of the event loop
 * flushes are written in one transaction (commit-round.ts), and such rounds start at least
 * COMMIT_SPACING_MS apart. The ack follows the commit; the bytes stored and fanned out
 * are the bytes received, whose header was read once.
 * @module
 */
import { EnvelopeError, type EnvelopeHeader, type MemberRole, type MembershipLog, type ReadEnvelope, type VerifyContext } from '@sealdoc/crypto';
import { equalBytes, hex } from './bytes.js';
import { flushQueued, type Client } from './connection.js';
import type { Connections } from './connections.js';
import type { DocIndexes } from './doc-index.js';
import type { GroupLogs } from './groups.js';
import type { RelayQuotas } from './limits.js';
import { Refusal } from './report.js';
import type { PutResult, RelayStore } from './store.js';
import type { Subscriptions } from './subscriptions.js';
import { VerifyPoolError, type VerifyPool } from './verify-pool.js';
import { CommitRound } from './commit-round.js';
import { WeightedLru } from './lru.js';

/**
 * Rounds of commits start at least this far apart (Intake.#joinTurn): a SQLite commit of one
 * envelope costs about 80 µs of CPU, of two about 130, of five about 290 (the store alone, here).
 */
const COMMIT_SPACING_MS = 2;

/** The kinds a push may carry. */
const PUSH_KINDS = ['update', 'snapshot'] as const;

/** Documents remembered as started (see Intake.#started). */
const STARTED_DOCUMENTS = 100_000;

/** Ids of a push in hex, made once per push: its group, its document ("group:doc", connection.ts docKey) and its author, as the maps here key them. */
interface PushKeys {
  group: string;
  doc: string;
  author: string;
}

/** The log a push was checked against, and its length then (ops are only appended to a live log). */
interface CheckedAt {
  log: MembershipLog;
  length: number;
}

/** A verified push waiting for its group's next write. */
interface Pending {
  client: Client;
  header: EnvelopeHeader;
  bytes: Uint8Array;
  keys: PushKeys;
  checked: CheckedAt;
  resolve(result: PutResult): void;
  reject(error: unknown): void;
}

export class Intake {
  // Per group, the verified pushes waiting for the next write.
  readonly #batches = new Map<string, Pending[]>();
  /** Envelopes stored (replays not counted). */
  accepted = 0;
  // Documents known to hold an envelope here ("group:doc"): their next envelope starts no
  // document, so the quota check need not ask the store (bounded; a document not in it is asked about).
  readonly #started = new WeightedLru<string, true>(STARTED_DOCUMENTS);
  // The turn of the event loop whose batches write together (commit-round.ts): its round, once
  // the turn comes, and how many batches it has so far.
  #turn: { round: Promise<CommitRound>; batches: number } | undefined;
  // When the last round started (performance.now()).
  #lastRound = -Infinity;

  constructor(
    readonly store: RelayStore,
    readonly quotas: RelayQuotas,
    readonly connections: Connections,
    readonly groups: GroupLogs,
    readonly indexes: DocIndexes,
    readonly subscriptions: Subscriptions,
    /** Where signatures are checked: worker threads, or inline. */
    readonly verifier: VerifyPool,
  ) {}

  /**
   * Checks an envelope's signature and author (parsed already) against the log of its group, of
   * which the client must be a member; `group`: the group id in hex, when the caller has it.
   */
  async verify(client: Client, envelope: ReadEnvelope, kinds: readonly ('update' | 'snapshot' | 'awareness')[], group = hex(envelope.header.groupId)): Promise<CheckedAt> {
    const log = await this.groups.member(client, envelope.header.groupId, group);
    // The log as it is now (an append may have come between member's look and this one): the
    // client's standing and the envelope's author are both checked against this length.
    const length = log.length;
    if (!log.deviceRole(client.memberId!)) throw new Refusal('not-a-member', 'you are not a member of this group');
    await this.verifier.verify(envelope, log.verifyContext({ kinds }));
    return { log, length };
  }

  /**
   * Verifies a push, then hands it to its group's next batch; resolves at once, so that the
   * connection goes on with its next frame while this one is verified (on a worker thread,
   * verify-pool.ts) and written: a connection's pushes are checked side by side (as many as
   * `pushesInFlight` allows, counted from here to the commit) and handed to their batches in the
   * order they came, whatever order their checks finish in. Any other frame of the connection
   * waits until the pushes before it were handed over (relay.ts), as it waited for their checks
   * before. The ack (or the refusal) follows the commit; a push that does not verify is refused
   * with its code, after those before it were handed over.
   */
  push(client: Client, ref: number, envelope: ReadEnvelope): Promise<void> {
    client.pushesInFlight++;
    const { header, bytes } = envelope;
    const group = hex(header.groupId);
    const verified = this.verify(client, envelope, PUSH_KINDS, group);
    // This push is handed over once the one before it was (or was refused).
    const previous = client.pushesHandedOver;
    let handedOver!: () => void;
    client.pushesHandedOver = new Promise<void>((resolve) => (handedOver = resolve));
    const refuse = (error: unknown) => {
      if (error instanceof Refusal) this.connections.refuse(client, ref, error);
      else if (error instanceof EnvelopeError) this.connections.refuse(client, ref, new Refusal(error.code, error.message));
      // A flood of pushes (from any key pair) filled the checks' queue: this push is answered, by
      // its ref, as one to offer again later, not as the relay's own failure.
      else if (error instanceof VerifyPoolError && error.busy) this.connections.refuse(client, ref, new Refusal('busy', 'the relay is checking many edits right now: this one is sent again later'));
      else this.connections.internal(client, error);
    };
    void verified
      .then(
        async (checked) => {
          await previous;
          const keys: PushKeys = { group, doc: `${group}:${hex(header.docId)}`, author: hex(header.author) };
          const stored = this.#enqueue(client, header, bytes, keys, checked);
          handedOver();
          const { outcome, cursor } = await stored;
          if (outcome === 'conflict') return this.connections.refuse(client, ref, new Refusal('conflict', `another envelope of this author already has sequence number ${header.seq}`));
          this.connections.send(client, { type: 'ack', ref, cursor });
          if (outcome === 'stored') {
            this.accepted++;
            this.subscriptions.fanOut(header.groupId, header.docId, cursor, bytes, client, keys.doc);
          }
        },
        async (error: unknown) => {
          await previous;
          // Told before the connection's next frame that is not a push is handled (relay.ts).
          refuse(error);
          handedOver();
        },
      )
      .catch(refuse)
      .finally(() => {
        handedOver();
        client.pushesInFlight--;
        client.wake();
      });
    return Promise.resolve();
  }

  /** Adds a verified envelope to its group's next batch; resolves once the batch is stored. */
  #enqueue(client: Client, header: EnvelopeHeader, bytes: Uint8Array, keys: PushKeys, checked: CheckedAt): Promise<PutResult> {
    const key = keys.group;
    let batch = this.#batches.get(key);
    if (!batch) {
      const fresh: Pending[] = [];
      batch = fresh;
      this.#batches.set(key, fresh);
      const round = this.#joinTurn();
      void this.groups.serial(header.groupId, () => this.#flush(key, header.groupId, fresh, round), key);
    }
    return new Promise((resolve, reject) => batch.push({ client, header, bytes, keys, checked, resolve, reject }));
  }

  /**
   * Writes a group's batch (group commit; in one transaction with the other groups' batches of
   * its turn, commit-round.ts), in order with the group's membership changes: each author is checked again against the log as it is now, so that a
   * removal appended meanwhile wins, and against its quotas.
   */
  async #flush(key: string, groupId: Uint8Array, batch: Pending[], turn: Promise<CommitRound>): Promise<void> {
    // Pushes verified in this turn of the event loop join the batch.
    const round = await turn;
    if (this.#batches.get(key) === batch) this.#batches.delete(key);
    let written = false;
    try {
      const log = await this.groups.group(groupId, key);
      // Made when a push needs it (the log changed since it was checked).
      let context: VerifyContext | undefined;
      const checked: Pending[] = [];
      for (const item of batch) {
        try {
          if (!log) throw new Refusal('not-a-member', 'the author is not a member of this group');
          // The log as the push was checked against it (the same one, at the same length: ops are
          // only appended) answers as it did then: the author's standing at the envelope's head,
          // and the pusher's; otherwise both are checked again.
          let pusher: MemberRole | undefined;
          if (item.checked.log !== log || item.checked.length !== log.length) {
            context ??= log.verifyContext();
            const author = context.author(item.header);
            if (!author) throw new Refusal('not-a-member', 'the author is not a member of this group');
            if (author.role === 'reader') throw new Refusal('not-a-writer', 'the author may not write');
            pusher = log.deviceRole(item.client.memberId!);
            if (!pusher) throw new Refusal('not-a-member', 'you are no longer a member of this group');
          }
          // Removed (or made a reader) since the envelope's head: what the relay held of it
          // counts, nothing new does, whatever its sequence number (below its cutoff, or below a
          // cutoff stretched by a jump, too). A member pushing its own envelope: the same device,
          // looked up once.
          const now = pusher && equalBytes(item.client.memberId!, item.header.author) ? pusher : log.deviceRole(item.header.author);
          if (!now || now === 'reader') {
            const [held] = await this.store.envelopesBySeq(groupId, item.header.docId, item.header.author, item.header.seq, item.header.seq, Number.MAX_SAFE_INTEGER, 1);
            if (!held) throw new Refusal('past-cutoff', 'its author was removed, made a reader or revoked: nothing new from it is accepted');
          }
          checked.push(item);
        } catch (error) {
          item.reject(error);
        }
      }
      const accepted = await this.#withinQuotas(groupId, checked);
      if (accepted.length === 0) return;
      written = true;
      const results = await round.put(accepted.map(({ header, bytes }) => ({ groupId: header.groupId, docId: header.docId, author: header.author, seq: header.seq, bytes })));
      accepted.forEach((item, i) => {
        if (results[i]!.outcome === 'stored') {
          this.indexes.indexed(item.keys.doc, item.keys.author, item.header.seq);
          this.#started.set(item.keys.doc, true, 1);
        }
        item.resolve(results[i]!);
      });
      // Each push's ack and fan-out run as it resolves (a microtask each, queued just now): what
      // they queue leaves right after them, not a turn of the event loop later.
      queueMicrotask(flushQueued);
    } catch (error) {
      for (const item of batch) item.reject(error);
    } finally {
      // A batch that wrote nothing lets its round write without waiting for it.
      if (!written) round.skip();
    }
  }

  /**
   * The round of this turn's batches (one more batch in it), opened by the first batch of the
   * turn. It starts once the task under way and its microtasks are done (process.nextTick: the
   * pushes checked in one task, a verify pool's turn, join it, and the commit does not wait for
   * the next poll phase of the event loop, where the next burst of frames is read and checked
   * first); or, when the last round started less than
   * COMMIT_SPACING_MS ago, that long after it, so that pushes arriving one by one at a steady
   * rate share a commit (about two a commit at 1,000 pushes/s) rather than each paying its own,
   * while a push after a quiet spell waits for nothing.
   */
  #joinTurn(): Promise<CommitRound> {
    if (!this.#turn) {
      const turn: { round: Promise<CommitRound>; batches: number } = { round: undefined!, batches: 0 };
      const wait = this.#lastRound + COMMIT_SPACING_MS - performance.now();
      turn.round = new Promise((resolve) => {
        const start = () => {
          this.#turn = undefined;
          this.#lastRound = performance.now();
          resolve(new CommitRound(this.store, turn.batches));
        };
        if (wait > 0) setTimeout(start, wait);
        else process.nextTick(start);
      });
      this.#turn = turn;
    }
    this.#turn.batches++;
    return this.#turn.round;
  }

  /** The pushes whose authors stay within their quotas (bytes, and documents for a document's first envelope); the rest are refused. */
  async #withinQuotas(groupId: Uint8Array, items: Pending[]): Promise<Pending[]> {
    const accepted: Pending[] = [];
    const usage = new Map<string, { bytes: number; documents: number }>();
    const fresh = new Map<string, boolean>();
    for (const item of items) {
      const { author, doc } = item.keys;
      let used = usage.get(author);
      if (!used) {
        used = await this.store.usage(item.header.author);
        usage.set(author, used);
      }
      // Already in the summary: a replay, which stores nothing.
      if (this.indexes.holds(doc, author, item.header.seq)) {
        accepted.push(item);
        continue;
      }
      if (!fresh.has(doc)) fresh.set(doc, !this.#started.get(doc) && (await this.store.envelopesAfter(groupId, item.header.docId, 0, 1)).length === 0);
      const startsDocument = fresh.get(doc)!;
      if (used.bytes + item.bytes.length > this.quotas.bytesPerIdentity) {
        item.reject(new Refusal('quota-exceeded', `this identity may store ${this.quotas.bytesPerIdentity} bytes here`));
        continue;
      }
      if (startsDocument && used.documents + 1 > this.quotas.documentsPerIdentity) {
        item.reject(new Refusal('quota-exceeded', `this identity may start ${this.quotas.documentsPerIdentity} documents here`));
        continue;
      }
      used.bytes += item.bytes.length;
      if (startsDocument) {
        used.documents++;
        fresh.set(doc, false);
      }
      accepted.push(item);
    }
    return accepted;
  }
}
