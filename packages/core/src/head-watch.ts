/**
 * Signed head beacons, and what they show about the relay in the middle. For each document it
 * has open, while online and synced, a member sends a beacon it signs: the length and head of
 * its membership log, its heads at the lengths other members last reported (echoes), and what
 * it holds of the document. The relay forwards beacons and cannot forge one, so comparing them
 * with what the relay delivers shows:
 *
 * - a fork (two members shown different logs): heads differ at one length. Seen at once on the
 *   side whose log is at least as long, and on the other side through the echo of its length in
 *   the next beacon back (a beacon goes back within a second of one that differs);
 * - withheld ops: a head shown (by a beacon, or an envelope sealed under it) whose ops the relay
 *   does not deliver within `withholdMs`, or a refusal of this member as no member where its log
 *   says it is one, with no op that says so. Meanwhile this member is {@link HeadWatch.behind}:
 *   its new edits are kept on the device, not sent under an epoch the group may have left;
 * - withheld envelopes: what a member's beacon shows it holds, still not here `withholdMs` later;
 * - this member's own envelopes the relay does not acknowledge within `withholdMs` online (they
 *   are offered again meanwhile);
 * - a member kept behind: its beacon (or an envelope of its) shows a log the group left more
 *   than `withholdMs` ago, and no beacon of its shows the newer one by then;
 * - a partition: no beacon from any other member for `freshnessMs` while online.
 *
 * Each is raised once, as a {@link SyncError}, and forgotten once resolved (it may be raised
 * again later). Beacons of members this device does not know as members are only evidence of
 * a longer log (they may have been added by ops not here yet).
 * @module
 */
import { EnvelopeError, equalBytes, memberIdOf, signMessage, verifyMessage } from '@sealdoc/crypto';
import { BEACON_CONTEXT, beaconSignedBytes, MAX_ECHOES, SeqRanges, type HeadAt, type WireMessage } from '@sealdoc/protocol';
import { hex, unhex } from './bytes.js';
import type { Group } from './group.js';
import { SyncError } from './sync-error.js';

/** How beacons are sent, and how long the relay has before a member is told. */
export interface BeaconOptions {
  /** How often a member sends its beacon while online and synced (default 10 s). */
  intervalMs?: number;
  /**
   * How long the relay has to deliver what a beacon or an envelope shows exists (ops,
   * envelopes, a member's catching up) before the member is told (default 30 s).
   */
  withholdMs?: number;
  /** No beacon from any other member for this long while online: the member is told it may be partitioned (default 120 s). */
  freshnessMs?: number;
}

/** A beacon, as the wire carries it. */
export type Beacon = Extract<WireMessage, { type: 'beacon' }>;

/** What a {@link HeadWatch} needs of the sealed document it watches for. */
export interface HeadWatchHost {
  readonly group: Group;
  readonly docId: Uint8Array;
  /** Whether the transport is online. */
  online(): boolean;
  /** Online, and the exchange since connecting settled: what this device holds is as current as the relay lets it be. */
  ready(): boolean;
  /** What this device holds and may vouch for: held and (through a relay) acknowledged. */
  vouched(): SeqRanges;
  /** What is here: held, settled, or waiting for the log. */
  holdings(): SeqRanges;
  /** When each of this member's envelopes sent and not acknowledged yet was sent (through a relay). */
  unacknowledged(): number[];
  send(beacon: Beacon): void;
  /** Asks the peers for what this device lacks (ops and envelopes). */
  resync(): void;
  raise(error: Error): void;
  /** {@link HeadWatch.alarms} changed (one raised, or resolved). */
  alarmsChanged(): void;
  /** {@link HeadWatch.behind} changed. */
  behindChanged(): void;
}

/** Another member as its last beacon showed it. */
interface Peer {
  counter: number;
  logLength: number;
  head: Uint8Array;
  heardAt: number;
}

/** A head this device was shown and holds no ops for (or, with no head, a longer log the relay implied). */
interface WantedHead {
  head: Uint8Array | undefined;
  /** The log length the head is at, when a beacon said so. */
  length: number | undefined;
  member: string;
  /** Whether `member` was a member here when it showed it (a claim that ends with its membership). */
  ofMember: boolean;
  since: number;
}

/** Envelopes a member's beacon showed that were not here then. */
interface WantedEnvelopes {
  member: string;
  since: number;
  missing: SeqRanges;
}

// Bounds on what other members' claims can make this device keep.
const MAX_WANTED_HEADS = 64;
const MAX_WANTED_ENVELOPES = 256;
const WANTED_ENVELOPES_PER_MEMBER = 4;
// Beacons older than this (by their author's clock) say nothing about now; the counter stops replays.
const MAX_BEACON_AGE_MS = 10 * 60_000;
// A beacon's summary past this many ranges is left out (its heads still go).
const MAX_BEACON_RANGES = 8192;
// Beacons in answer to one that differs: at most one a second.
const PROMPT_MS = 1000;

export class HeadWatch {
  readonly #host: HeadWatchHost;
  readonly #intervalMs: number;
  readonly #withholdMs: number;
  readonly #freshnessMs: number;
  readonly #peers = new Map<string, Peer>();
  readonly #wantedHeads = new Map<string, WantedHead>();
  #wantedEnvelopes: WantedEnvelopes[] = [];
  // Members whose envelope showed a head the group left long ago: since when, and the length that clears them.
  readonly #suspects = new Map<string, { since: number; length: number }>();
  readonly #raised = new Map<string, SyncError>();
  // When this device's log reached each length (index = length).
  readonly #reachedAt: number[] = [];
  #counter = 0;
  #lastSent = 0;
  #lastHeard = 0;
  #onlineSince: number | undefined;
  #lastResync = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #prompt: ReturnType<typeof setTimeout> | undefined;
  #sending = false;

  constructor(host: HeadWatchHost, options: BeaconOptions = {}) {
    this.#host = host;
    this.#intervalMs = options.intervalMs ?? 10_000;
    this.#withholdMs = options.withholdMs ?? 30_000;
    this.#freshnessMs = options.freshnessMs ?? 120_000;
    for (const [name, value] of Object.entries({ intervalMs: this.#intervalMs, withholdMs: this.#withholdMs, freshnessMs: this.#freshnessMs }))
      if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`beacons.${name} must be a positive number of milliseconds`);
    const now = Date.now();
    for (let length = 0; length <= host.group.log.length; length++) this.#reachedAt[length] = now;
    const tickMs = Math.max(10, Math.min(this.#intervalMs, this.#withholdMs, this.#freshnessMs) / 4);
    this.#timer = setInterval(() => void this.#tick().catch((error: unknown) => host.raise(error as Error)), tickMs);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Whether a head was shown here whose ops have not arrived: new edits wait on this device. */
  get behind(): boolean {
    return this.#wantedHeads.size > 0;
  }

  /** What is wrong now, as raised and not resolved since. */
  get alarms(): SyncError[] {
    return [...this.#raised.values()];
  }

  stop(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#prompt);
  }

  /** The exchange since connecting settled: a beacon goes now. */
  settled(): void {
    this.#soon();
  }

  /** A beacon from the transport (any member, or anyone). */
  async receive(beacon: Beacon): Promise<void> {
    const now = Date.now();
    const { type: _type, signature, ...body } = beacon;
    const memberId = memberIdOf(beacon.signingPublicKey);
    const member = hex(memberId);
    const known = this.#peers.get(member);
    // A replay, or one held back too long to say anything about now.
    if ((known && beacon.counter <= known.counter) || beacon.counter / 1000 < now - MAX_BEACON_AGE_MS) return;
    if (!(await verifyMessage(beacon.signingPublicKey, BEACON_CONTEXT, beaconSignedBytes(body), signature).catch(() => false))) {
      this.#host.raise(new EnvelopeError('bad-signature', 'a beacon’s signature does not verify: it was altered on the way'));
      return;
    }
    const log = this.#host.group.log;
    if (!log.device(memberId)) {
      // Perhaps added by ops not here yet: evidence of a longer log, nothing more.
      if (beacon.logLength > log.length) this.#wantHead(beacon.head, beacon.logLength, member);
      return;
    }
    if (member !== this.#host.group._me) {
      this.#lastHeard = now;
      this.#resolve(`partition-suspected:`);
    }
    const differs = !known || known.logLength !== beacon.logLength || !equalBytes(known.head, beacon.head) || beacon.logLength !== log.length || !equalBytes(beacon.head, log.head);
    this.#peers.set(member, { counter: beacon.counter, logLength: beacon.logLength, head: beacon.head, heardAt: now });
    this.#compare(member, beacon.logLength, beacon.head);
    for (const echo of beacon.echoes) this.#compare(member, echo.length, echo.head);
    this.#checkBehind(member, beacon.logLength, now);
    if (this.#host.ready() && beacon.authors.length > 0) this.#checkEnvelopes(member, beacon, now);
    if (differs) this.#soon();
  }

  /**
   * The relay refused this member as no member (or no writer) where this device's log says it
   * is one: the relay holds ops this device does not, or it lies. Handled as a head shown and
   * not delivered: edits wait, the ops are asked for, and `withheld-ops` is told after the bound.
   */
  standingDenied(): void {
    const length = this.#host.group.log.length + 1;
    const key = `longer:${length}`;
    if (this.#wantedHeads.has(key)) return;
    this.#want(key, { head: undefined, length, member: '', ofMember: false, since: Date.now() });
  }

  /** An envelope arrived sealed under a head this device does not hold (it waits for the log). */
  unknownHead(head: Uint8Array, author: string): void {
    if (this.#host.group.log.indexOf(head) === undefined) this.#wantHead(head, undefined, author);
  }

  /**
   * An envelope of `author` arrived sealed under the head at `index`, which the group left
   * since: if it left it long ago, the relay may withhold the newer ops from `author`. Told
   * unless a beacon of its shows the newer log within the bound (an old edit delivered late is
   * no sign of anything).
   */
  staleHead(author: string, index: number): void {
    const length = index + 2; // the length at which the group left that head
    if (Date.now() - (this.#reachedAt[length] ?? Date.now()) <= this.#withholdMs || this.#suspects.has(author)) return;
    if ((this.#peers.get(author)?.logLength ?? 0) >= length) return;
    this.#suspects.set(author, { since: Date.now(), length });
  }

  /** The log grew (or was read again): wanted heads that arrived are settled, forks are looked for again. */
  logChanged(): void {
    const log = this.#host.group.log;
    const now = Date.now();
    for (let length = this.#reachedAt.length; length <= log.length; length++) this.#reachedAt[length] = now;
    const wasBehind = this.behind;
    for (const [key, want] of this.#wantedHeads) {
      const index = want.head && log.indexOf(want.head);
      if (index === undefined && (want.length === undefined || log.length < want.length)) continue;
      this.#wantedHeads.delete(key);
      this.#resolve(`withheld-ops:${key}`);
      // The log reached the length a beacon gave, with another head there: two histories.
      if (want.head && index === undefined && want.length !== undefined) this.#compare(want.member, want.length, want.head);
    }
    for (const [member, peer] of this.#peers) {
      if (!log.device(unhex(member))) {
        this.#peers.delete(member);
        continue;
      }
      this.#compare(member, peer.logLength, peer.head);
    }
    // Claims of members removed since count no more.
    for (const [key, want] of this.#wantedHeads) if (want.ofMember && !log.device(unhex(want.member))) this.#wantedHeads.delete(key);
    if (wasBehind !== this.behind) this.#host.behindChanged();
    this.#soon();
  }

  /** Compares a member's head at `length` with this device's; a difference is a fork, a longer log is wanted. */
  #compare(member: string, length: number, head: Uint8Array): void {
    const log = this.#host.group.log;
    if (length > log.length) return this.#wantHead(head, length, member);
    const mine = log.headAt(length);
    if (!mine || equalBytes(mine, head)) return;
    this.#raise(
      `fork:${member}`,
      new SyncError('fork', `another member's membership log differs from this device's at length ${length}: the relay shows the two of you different histories`, {
        member,
        heads: [hex(mine), hex(head)],
        length,
      }),
    );
  }

  #wantHead(head: Uint8Array, length: number | undefined, member: string): void {
    const key = hex(head);
    const want = this.#wantedHeads.get(key);
    if (want) {
      want.length ??= length;
      return;
    }
    if (this.#wantedHeads.size >= MAX_WANTED_HEADS) return;
    const ofMember = this.#host.group.log.device(unhex(member)) !== undefined;
    this.#want(key, { head: head.slice(), length, member, ofMember, since: Date.now() });
  }

  #want(key: string, want: WantedHead): void {
    const wasBehind = this.behind;
    this.#wantedHeads.set(key, want);
    this.#askPeers();
    if (!wasBehind) this.#host.behindChanged();
  }

  /** A member whose beacon shows a shorter log: told when the group left its head longer ago than the bound. */
  #checkBehind(member: string, length: number, now: number): void {
    const log = this.#host.group.log;
    const suspect = this.#suspects.get(member);
    if (suspect && length >= suspect.length) this.#suspects.delete(member);
    if (length >= log.length) return this.#resolve(`member-behind:${member}`);
    if (now - (this.#reachedAt[length + 1] ?? now) > this.#withholdMs) this.#raiseBehind(member, length);
  }

  #raiseBehind(member: string, length: number): void {
    this.#raise(
      `member-behind:${member}`,
      new SyncError('member-behind', `a member still works on a membership log of ${length} ops, which the group left long ago: the relay may be withholding the newer one from them`, { member, length }),
    );
  }

  /** What a member's beacon shows it holds and is not here: wanted, and told if it is still missing after the bound. */
  #checkEnvelopes(member: string, beacon: Beacon, now: number): void {
    // A device cut off (its person removed, or it revoked) cannot read what it lacks: nothing to want.
    if (this.#host.group.role === undefined) return;
    const theirs = SeqRanges.fromAuthorRanges(beacon.authors);
    const missing = SeqRanges.of(theirs.missingFrom(this.#host.holdings()));
    if (missing.rangeCount === 0) return this.#resolve(`withheld-envelopes:${member}`);
    // A few checks per member (its newest is brought up to date past that), and a few in all.
    const own = this.#wantedEnvelopes.filter((w) => w.member === member);
    if (own.length >= WANTED_ENVELOPES_PER_MEMBER) Object.assign(own.at(-1)!, { since: now, missing });
    else {
      if (this.#wantedEnvelopes.length >= MAX_WANTED_ENVELOPES) this.#wantedEnvelopes.shift();
      this.#wantedEnvelopes.push({ member, since: now, missing });
    }
    this.#askPeers();
  }

  async #tick(): Promise<void> {
    const host = this.#host;
    const now = Date.now();
    if (!host.online()) {
      this.#onlineSince = undefined;
      return;
    }
    const onlineSince = (this.#onlineSince ??= now);
    if (host.ready() && now - this.#lastSent >= this.#intervalMs) await this.#send();
    if (this.#wantedHeads.size > 0 || this.#wantedEnvelopes.length > 0) this.#askPeers();
    const due = now - this.#withholdMs;
    for (const [key, want] of this.#wantedHeads)
      if (want.since <= due)
        this.#raise(
          `withheld-ops:${key}`,
          new SyncError('withheld-ops', 'the relay has not delivered changes to the member list that this document shows exist: new edits are kept on this device until it does', {
            ...(want.member ? { member: want.member } : {}),
            heads: [hex(host.group.log.head), ...(want.head ? [key] : [])],
            ...(want.length ? { length: want.length } : {}),
          }),
        );
    if (host.group.role === undefined) this.#wantedEnvelopes.length = 0;
    while (this.#wantedEnvelopes[0] && this.#wantedEnvelopes[0].since <= due) {
      const { member, missing } = this.#wantedEnvelopes.shift()!;
      const still = SeqRanges.of(missing.missingFrom(host.holdings()));
      if (still.rangeCount > 0)
        this.#raise(
          `withheld-envelopes:${member}`,
          new SyncError('withheld-envelopes', `another member holds ${still.size} edit(s) of this document that the relay has not delivered here`, { member, count: still.size }),
        );
    }
    // Time offline does not count: the relay could not acknowledge then.
    const unacknowledged = host.unacknowledged().filter((sentAt) => Math.max(sentAt, onlineSince) <= due).length;
    if (unacknowledged > 0)
      this.#raise(
        'unacknowledged:',
        new SyncError('unacknowledged', `the relay has not acknowledged ${unacknowledged} of this member's edits: they stay on this device and are offered again`, { count: unacknowledged }),
      );
    else this.#resolve('unacknowledged:');
    if (host.unacknowledged().length > 0) this.#askPeers();
    for (const [member, suspect] of this.#suspects) {
      if (suspect.since > due) continue;
      this.#suspects.delete(member);
      this.#raiseBehind(member, suspect.length - 1);
    }
    const quiet = now - Math.max(this.#lastHeard, onlineSince);
    if (quiet >= this.#freshnessMs && !this.#raised.has('partition-suspected:') && host.group.log.members().length > 1)
      this.#raise(
        'partition-suspected:',
        new SyncError('partition-suspected', `no other member has been seen for ${Math.round(quiet / 1000)} s: either nobody else is working on this document now, or the relay hides them`),
      );
  }

  /** A beacon soon: now if none went in the last second, else once a second has passed. */
  #soon(): void {
    if (this.#prompt !== undefined) return;
    const wait = Math.max(0, this.#lastSent + PROMPT_MS - Date.now());
    this.#prompt = setTimeout(() => {
      this.#prompt = undefined;
      if (this.#host.ready()) void this.#send().catch((error: unknown) => this.#host.raise(error as Error));
    }, wait);
  }

  async #send(): Promise<void> {
    const host = this.#host;
    const group = host.group;
    const log = group.log;
    if (this.#sending || !log.device(group.deviceId)) return;
    this.#sending = true;
    this.#lastSent = Date.now();
    try {
      this.#counter = Math.max(this.#counter + 1, Date.now() * 1000);
      // Heads at the lengths others last reported, when shorter than this log: newest first.
      const echoes: HeadAt[] = [];
      const lengths = new Set<number>();
      for (const peer of [...this.#peers.values()].sort((a, b) => b.heardAt - a.heardAt)) {
        if (echoes.length >= MAX_ECHOES) break;
        if (peer.logLength >= log.length || peer.logLength < 1 || lengths.has(peer.logLength)) continue;
        lengths.add(peer.logLength);
        echoes.push({ length: peer.logLength, head: log.headAt(peer.logLength)! });
      }
      const vouched = host.vouched();
      const body = {
        groupId: group.groupId,
        docId: host.docId,
        signingPublicKey: group.keys.signingPublicKey,
        counter: this.#counter,
        logLength: log.length,
        head: log.head,
        echoes,
        authors: vouched.rangeCount > MAX_BEACON_RANGES ? [] : vouched.toAuthorRanges(),
      };
      host.send({ type: 'beacon', ...body, signature: await signMessage(group.keys, BEACON_CONTEXT, beaconSignedBytes(body)) });
    } finally {
      this.#sending = false;
    }
  }

  /** Asks for what is missing, not more often than a few times per bound. */
  #askPeers(): void {
    const now = Date.now();
    if (now - this.#lastResync < this.#withholdMs / 4) return;
    this.#lastResync = now;
    this.#host.resync();
  }

  #raise(key: string, error: SyncError): void {
    if (this.#raised.has(key)) return;
    this.#raised.set(key, error);
    this.#host.raise(error);
    this.#host.alarmsChanged();
  }

  #resolve(key: string): void {
    if (this.#raised.delete(key)) this.#host.alarmsChanged();
  }
}
