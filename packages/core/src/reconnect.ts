/**
 * How long a transport waits before its next attempt to reach a relay it lost (or never
 * reached): exponential backoff with jitter, capped low while the outage is young (a laptop's
 * Wi-Fi dropping, a relay restarting: back within a second or so of the relay's return) and
 * higher as it grows old (a relay that is down is not hammered by every client it had). The
 * schedule is pure, so that it can be checked on its own; WebSocketTransport applies it, and
 * retries at once when the browser says the network is back or the page is shown again.
 * @module
 */

/** The reconnection schedule's settings (all in ms). */
export interface BackoffOptions {
  /** The first wait (default 250); each failed attempt doubles it. */
  minMs?: number;
  /** The longest wait, reached in a long outage (default 30 s). */
  maxMs?: number;
  /** The longest wait while the outage is young (default 1 s). */
  quickMaxMs?: number;
  /** How long an outage is young (default 60 s); past it, the cap doubles every as long again, up to `maxMs`. */
  quickForMs?: number;
}

/** The defaults of {@link BackoffOptions}. */
export const BACKOFF_DEFAULTS: Readonly<Required<BackoffOptions>> = { minMs: 250, maxMs: 30_000, quickMaxMs: 1000, quickForMs: 60_000 };

/**
 * The longest wait between attempts `downForMs` into an outage: `quickMaxMs` while it is young,
 * then doubling every `quickForMs`, never past `maxMs`.
 */
export function reconnectCap(downForMs: number, options: BackoffOptions = {}): number {
  const { maxMs, quickMaxMs, quickForMs } = { ...BACKOFF_DEFAULTS, ...options };
  const quick = Math.min(quickMaxMs, maxMs);
  if (downForMs < quickForMs) return quick;
  return Math.min(maxMs, quick * 2 ** ((downForMs - quickForMs) / Math.max(1, quickForMs)));
}

/**
 * The wait before attempt `attempt` (0 for the first after a loss), `downForMs` into the
 * outage: `minMs * 2^attempt`, capped by {@link reconnectCap}, times a jitter factor in
 * [0.5, 1] drawn from `random` (in [0, 1)), so that the clients of one relay do not all
 * come back at the same instant.
 */
export function reconnectDelay(attempt: number, downForMs: number, options: BackoffOptions = {}, random: number = Math.random()): number {
  const minMs = options.minMs ?? BACKOFF_DEFAULTS.minMs;
  const nominal = Math.min(reconnectCap(downForMs, options), minMs * 2 ** Math.min(attempt, 52));
  return nominal * (0.5 + random / 2);
}
