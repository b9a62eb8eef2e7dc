/**
 * The rotation an admin device owes after a member left (docs/membership.md, "Leaving"). A
 * leave is the leaver's own removal: the secret of the epoch it starts is one the leaver made
 * and may have kept. So an admin device that finds a leave as the last op of its log starts a
 * new epoch with a fresh secret, by itself: no call from the app.
 *
 * - When: ops came in and the log now ends in a leave (Group.receiveOps); a document of the
 *   group caught up with its relay after a (re)connection; and, after a failure the relay may
 *   get over (unreachable, busy, a timeout, or `stale-head`: another admin was first and its
 *   op is on its way), again after a backoff, {@link REKEY_RETRIES} times at most, then not
 *   until the next of those.
 * - Who: admin devices only. A writer or a reader never tries: it waits for an admin's rotation.
 * - How many: one at a time, and only while the leave is the log's last op, so each leave gets
 *   one rotation whoever makes it: a second admin's, built on the same head, is refused by the
 *   relay (`stale-head`), and once the first one arrives the leave is no longer last. A relay
 *   replaying an old leave changes nothing (the log takes no op twice). A leave that gave this
 *   device a secret that does not open (`bad-secret`: a hostile leaver) is replaced by a
 *   rotation without lineage (a reset), which needs no secret of the leaver's.
 * - Failures waiting does not mend (the relay refuses this device, the op cannot be built), and
 *   retries used up, are a {@link RekeyError} on the group's `error` event, which its
 *   documents report as theirs. Being offline is not one: the status says so, and the
 *   connection's return tries again.
 * @module
 */
import { isLeave } from '@sealdoc/crypto';
import { reconnectDelay, type BackoffOptions } from './reconnect.js';
import { TransportError } from './transport.js';
import { RelayError } from './websocket-transport.js';
import type { Group } from './group.js';

/**
 * - `rekey-refused`: an admin device could not replace a leaver's secret, for a reason waiting
 *   does not change (`cause` holds the refusal: the relay's, or the log's). Tried again when
 *   the log changes or the relay is reached again.
 * - `rekey-stalled`: every retry failed: the relay stayed busy or silent, or kept answering
 *   that another admin was first without ever sending that admin's op (`cause`: the last
 *   failure). Tried again when the log changes or the relay is reached again.
 */
export type RekeyErrorCode = 'rekey-refused' | 'rekey-stalled';

/** A rotation owed after a member left that this admin device could not make (see the module comment). */
export class RekeyError extends Error {
  readonly code: RekeyErrorCode;
  constructor(code: RekeyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'RekeyError';
  }
}

/** How many times a failed rotation is tried again on its own before it waits for a change or a reconnection. */
export const REKEY_RETRIES = 6;
/** The waits between those tries: from 0.5 s, doubling, at most 15 s (each with jitter): about half a minute in all. */
const REKEY_BACKOFF: Required<Pick<BackoffOptions, 'minMs' | 'maxMs' | 'quickMaxMs'>> = { minMs: 500, maxMs: 15_000, quickMaxMs: 15_000 };
/** Refusals the relay may get over: tried again after a wait. */
const PASSING = new Set(['offline', 'timeout', 'closed', 'busy', 'rate-limited', 'internal', 'too-slow']);

/** Why an attempt failed: waiting may mend it (`passing`), another admin was first (`stale-head`), or it will not (`lasting`). */
function kindOf(error: unknown): 'passing' | 'stale-head' | 'lasting' {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === 'stale-head') return 'stale-head';
  if ((error instanceof TransportError || error instanceof RelayError) && PASSING.has(code as string)) return 'passing';
  return 'lasting';
}

/** @internal Whether an admin device owes a rotation: its log's last op is a leave. */
export function owesRekey(group: Group): boolean {
  return group.role === 'admin' && group.log.length > 0 && isLeave(group.log.opAt(group.log.length - 1));
}

/**
 * @internal The schedule of a group's rotations after leaves: `rekey` (the group's) rotates
 * when one is still owed once the log is unlocked, and resolves whether it did; `report`
 * tells the group's listeners.
 */
export class LeaveRotation {
  readonly #group: Group;
  readonly #rekey: () => Promise<boolean>;
  readonly #report: (error: RekeyError) => void;
  readonly #backoff: BackoffOptions;
  // The attempt running, and whether another was asked for meanwhile (the log changed again).
  #running: Promise<void> | undefined;
  #again = false;
  // Failed attempts in a row since the last change or reconnection, and the wait before the next.
  #failures = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(group: Group, rekey: () => Promise<boolean>, report: (error: RekeyError) => void, backoff: BackoffOptions = {}) {
    this.#group = group;
    this.#rekey = rekey;
    this.#report = report;
    this.#backoff = { ...REKEY_BACKOFF, ...backoff };
  }

  /** The log changed, or the relay was reached again: a rotation still owed is tried now, with its retries anew. */
  check(): void {
    this.#failures = 0;
    this.#start();
  }

  #start(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (!owesRekey(this.#group)) return;
    this.#running = this.#attempt().finally(() => {
      this.#running = undefined;
      if (!this.#again) return;
      this.#again = false;
      this.#start();
    });
  }

  async #attempt(): Promise<void> {
    let error: unknown;
    try {
      await this.#rekey();
      this.#failures = 0;
      return;
    } catch (e) {
      error = e;
    }
    const kind = kindOf(error);
    if (kind === 'lasting') {
      this.#failures = 0;
      return this.#report(new RekeyError('rekey-refused', `a member left, and the rotation that replaces their secret was refused (${String((error as { code?: unknown }).code ?? (error as Error).name)})`, { cause: error }));
    }
    if (this.#failures >= REKEY_RETRIES) {
      this.#failures = 0;
      if ((error as { code?: unknown }).code === 'offline') return; // the connection's return tries again
      return this.#report(new RekeyError('rekey-stalled', `a member left, and the rotation that replaces their secret failed ${REKEY_RETRIES + 1} times (${String((error as { code?: unknown }).code)})`, { cause: error }));
    }
    // After `stale-head`, the other admin's op comes through the documents meanwhile: then nothing is owed.
    this.#timer = setTimeout(() => this.#start(), reconnectDelay(this.#failures++, 0, this.#backoff));
    (this.#timer as { unref?: () => void }).unref?.();
  }
}
