/**
 * When to rotate a group's epoch even though nobody left: bounding how much one secret
 * protects (envelopes sealed under it) and for how long (its age). Pure: the caller passes
 * the clock and its counter; the log supplies when the epoch started (op timestamps).
 * @module
 */
import { _int } from './bytes.js';
import type { MembershipLog } from './membership-log.js';

/** Thresholds after which a rotation is due. */
export interface RotationPolicy {
  /** Largest age of an epoch, in ms. */
  maxEpochAgeMs: number;
  /** Most envelopes sealed under one epoch. */
  maxEnvelopesPerEpoch: number;
}

/** Seven days, or 100,000 envelopes, whichever comes first. */
export const DEFAULT_ROTATION_POLICY: Readonly<RotationPolicy> = Object.freeze({
  maxEpochAgeMs: 7 * 24 * 60 * 60 * 1000,
  maxEnvelopesPerEpoch: 100_000,
});

/** What {@link rotationDue} decided. */
const FUTURE_SLACK_MS = 24 * 3600 * 1000;

export type RotationDecision = { due: false } | { due: true; reason: 'age' | 'envelopes' };

/**
 * Says whether the current epoch of `log` should be rotated, given the time now (ms since
 * 1970) and the number of envelopes sealed in the current epoch so far.
 */
export function rotationDue(
  log: MembershipLog,
  counters: { now: number; envelopesInEpoch: number },
  policy: Partial<RotationPolicy> = {},
): RotationDecision {
  const { maxEpochAgeMs, maxEnvelopesPerEpoch } = { ...DEFAULT_ROTATION_POLICY, ...policy };
  _int(counters.now, 'now', 0, Number.MAX_SAFE_INTEGER);
  _int(counters.envelopesInEpoch, 'envelopesInEpoch', 0, Number.MAX_SAFE_INTEGER);
  if (counters.envelopesInEpoch >= maxEnvelopesPerEpoch) return { due: true, reason: 'envelopes' };
  // A clock behind the op's timestamp counts as age zero, never as negative; a timestamp more
  // than a day ahead of the clock (any member's device may start an epoch: one revoking its own
  // device) is a lie about the age, which must not hold rotation off: due.
  const age = counters.now - log.epochStartedAt;
  if (age >= maxEpochAgeMs || age < -FUTURE_SLACK_MS) return { due: true, reason: 'age' };
  return { due: false };
}
