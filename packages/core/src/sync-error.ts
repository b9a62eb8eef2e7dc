/**
 * What a member detects about the others and the relay: a typed error for each way the relay
 * (or a member) can try to keep members apart or pass as someone else. Each reaches
 * SealedDoc's `error` events and the status component in plain words.
 * @module
 */

/**
 * - `spoofed-presence`: a member sent presence (awareness) for a Yjs client that belongs to
 *   another member; it was dropped. `member` names the sender.
 */
export type SyncErrorCode = 'spoofed-presence';

export class SyncError extends Error {
  readonly code: SyncErrorCode;
  /** Hex of the member id concerned, when there is one. */
  readonly member: string | undefined;
  constructor(code: SyncErrorCode, message: string, details: { member?: string } = {}) {
    super(message);
    this.code = code;
    this.member = details.member;
    this.name = 'SyncError';
  }
}
