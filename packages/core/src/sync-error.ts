/**
 * What a member detects about the others and the relay: a typed error for each way the relay
 * (or a member) can try to keep members apart or pass as someone else. Each reaches
 * SealedDoc's `error` events and the status component in plain words.
 * @module
 */

/**
 * - `spoofed-presence`: a member sent presence (awareness) for a Yjs client that belongs to
 *   another member; it was dropped. `member` names the sender.
 * - `fork`: another member's signed beacon shows a membership log that differs from this
 *   device's at the same length: the relay shows the two different histories. `member` names
 *   it; `heads` gives this device's head and theirs at `length`.
 * - `withheld-ops`: a membership head was seen (in a member's beacon or an envelope) whose ops
 *   the relay did not deliver within the bound. New edits are held on this device meanwhile.
 *   `member` names who showed it; `heads` has the head this device lacks.
 * - `withheld-envelopes`: a member's beacon shows edits it holds that the relay did not deliver
 *   here within the bound. `member` names it; `count` is how many are missing.
 * - `unacknowledged`: the relay did not acknowledge some of this member's own edits within
 *   the bound while online (it dropped them, or it is too slow): they stay on this device and
 *   are offered again. `count` is how many.
 * - `member-behind`: a member works on a membership log the group left longer ago than the
 *   bound (its beacon or its envelope shows it): the relay withholds from it. `member` names it.
 * - `equivocation`: a member signed two different envelopes with one sequence number (only a
 *   hostile member does; a relay cannot forge either). `member` names it; the first one stays.
 * - `partition-suspected`: no other member's beacon arrived for the freshness bound while
 *   online: either nobody else is working, or the relay hides them.
 */
export type SyncErrorCode = 'spoofed-presence' | 'fork' | 'withheld-ops' | 'withheld-envelopes' | 'unacknowledged' | 'member-behind' | 'equivocation' | 'partition-suspected';

/** What a {@link SyncError} names, as far as it applies. */
export interface SyncErrorDetails {
  /** Hex of the member id concerned. */
  member?: string;
  /** Hex of membership heads: this device's first, then what the other side showed. */
  heads?: string[];
  /** The log length the heads are at. */
  length?: number;
  /** How many envelopes are concerned. */
  count?: number;
}

export class SyncError extends Error {
  readonly code: SyncErrorCode;
  /** Hex of the member id concerned, when there is one. */
  readonly member: string | undefined;
  /** Hex of the membership heads concerned (this device's first), when there are some. */
  readonly heads: readonly string[];
  readonly length: number | undefined;
  readonly count: number | undefined;
  constructor(code: SyncErrorCode, message: string, details: SyncErrorDetails = {}) {
    super(message);
    this.code = code;
    this.member = details.member;
    this.heads = details.heads ?? [];
    this.length = details.length;
    this.count = details.count;
    this.name = 'SyncError';
  }
}
