/**
 * What the relay reports: to its operator, events with codes and counts, never content, key or
 * signature ({@link RelayLogEvent}); to a client, a {@link Refusal}, with a code it can act on and
 * words for a person.
 * @module
 */
import type { RelayErrorCode } from '@sealdoc/protocol';

/** What a relay logs: codes and counts, never content. */
export interface RelayLogEvent {
  event: 'connected' | 'authenticated' | 'refused' | 'closed' | 'group-created' | 'retention' | 'resynced' | 'error';
  connection: number;
  code?: string;
  member?: string;
  detail?: string;
  /** How many: envelopes dropped by retention; clients asked to connect again (`resynced`). */
  count?: number;
}

/** Where the relay's events go. */
export type RelayLog = (event: RelayLogEvent) => void;

/** A refusal to report to the client: a code it can act on, and words for a person. */
export class Refusal extends Error {
  constructor(
    readonly code: RelayErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** An error as a log line: its name and message, nothing it may carry besides. */
export function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : 'unknown';
}
