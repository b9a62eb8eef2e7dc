/**
 * What a relay keeps: the membership log of every group it serves and every envelope pushed
 * to it (sealed: it holds no key), each with a cursor, a number that grows with every envelope
 * stored, so that a client resumes a document from the last cursor it saw. One interface,
 * implemented in memory, in SQLite and in PostgreSQL, and one conformance suite they all pass
 * (test/store-conformance.ts).
 * @module
 */

/** An envelope as the relay stores it: the header fields it indexes, and the bytes. */
export interface StoredEnvelope {
  cursor: number;
  groupId: Uint8Array;
  docId: Uint8Array;
  author: Uint8Array;
  seq: number;
  bytes: Uint8Array;
}

/** An envelope to store: everything but the cursor, which the store assigns. */
export type NewEnvelope = Omit<StoredEnvelope, 'cursor'>;

/** What {@link RelayStore.putEnvelope} did. */
export type PutResult =
  | { outcome: 'stored'; cursor: number }
  /** The same bytes were there already (a replay): nothing changed. */
  | { outcome: 'duplicate'; cursor: number }
  /** Other bytes are there under the same author and sequence number: nothing changed. */
  | { outcome: 'conflict'; cursor: number };

/** Where an envelope stands in a document's index: enough to answer a `have`. */
export interface IndexEntry {
  author: Uint8Array;
  seq: number;
  cursor: number;
  /** Its bytes were dropped by retention: the relay still counts it as held, and serves it no more. */
  dropped: boolean;
}

/** A snapshot author's signed statement of what the snapshot covers (an encoded `covers` message). */
export interface StoredCovers {
  author: Uint8Array;
  seq: number;
  attestation: Uint8Array;
}

/** An invitation as the relay keeps it: its id (the secret stays with the admin and the link). */
export interface StoredInvitation {
  inviteId: Uint8Array;
  groupId: Uint8Array;
  /** ms since 1970. */
  expiresAt: number;
  revoked: boolean;
}

/** A sealed join request, one per requester and invitation (a newer one replaces the older). */
export interface StoredJoinRequest {
  inviteId: Uint8Array;
  requester: Uint8Array;
  request: Uint8Array;
}

/** Why a store failed. */
export class RelayStoreError extends Error {
  readonly code: 'closed' | 'io';
  constructor(code: 'closed' | 'io', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'RelayStoreError';
  }
}

/** Something another relay node stored (several nodes on one database), for fan-out. */
export type StoreEvent =
  | { type: 'envelope'; groupId: Uint8Array; docId: Uint8Array; cursor: number }
  | { type: 'ops'; groupId: Uint8Array; length: number }
  | { type: 'join-request'; groupId: Uint8Array; inviteId: Uint8Array; requester: Uint8Array };

export interface RelayStore {
  /** The ops of a group's log, in order; empty when the group is unknown. */
  loadOps(groupId: Uint8Array): Promise<Uint8Array[]>;
  /**
   * Appends `ops` at `fromIndex` if the log holds exactly `fromIndex` ops (atomically, durable
   * when it resolves); false, and nothing written, when it does not (another writer was first).
   */
  appendOps(groupId: Uint8Array, fromIndex: number, ops: readonly Uint8Array[]): Promise<boolean>;
  /** The ids of every group with a log. */
  groups(): Promise<Uint8Array[]>;
  /**
   * Stores envelopes, in order, in one transaction: durable when it resolves (an acknowledged
   * envelope survives the process being killed). Each gets the next cursor unless its (group,
   * doc, author, seq) is there already.
   */
  putEnvelopes(envelopes: readonly NewEnvelope[]): Promise<PutResult[]>;
  /** A document's envelopes with a cursor above `cursor`, in cursor order, at most `limit`; none dropped. */
  envelopesAfter(groupId: Uint8Array, docId: Uint8Array, cursor: number, limit: number): Promise<StoredEnvelope[]>;
  /** The envelopes with these cursors (those that exist and were not dropped), in cursor order. */
  envelopesAt(cursors: readonly number[]): Promise<StoredEnvelope[]>;
  /** Every envelope of a document, dropped ones too: author, sequence number and cursor. */
  index(groupId: Uint8Array, docId: Uint8Array): Promise<IndexEntry[]>;
  /**
   * Drops the bytes of these envelopes (retention), in one transaction; what identifies them
   * stays, so that pushing one again is a `duplicate` that stores nothing.
   */
  dropEnvelopes(cursors: readonly number[]): Promise<void>;
  /** Keeps a snapshot's covers attestation (once: a second one for the same snapshot is ignored). */
  putCovers(groupId: Uint8Array, docId: Uint8Array, covers: StoredCovers): Promise<void>;
  /** Every covers attestation kept for a document. */
  covers(groupId: Uint8Array, docId: Uint8Array): Promise<StoredCovers[]>;
  /** The highest sequence number stored for `author` in the group (any document), or undefined. */
  highestSeq(groupId: Uint8Array, author: Uint8Array): Promise<number | undefined>;
  /** Keeps an invitation (once: a second one with the same id is ignored). */
  putInvitation(invitation: StoredInvitation): Promise<void>;
  /** Marks an invitation revoked. */
  revokeInvitation(inviteId: Uint8Array): Promise<void>;
  /** An invitation by id, or undefined. */
  invitation(inviteId: Uint8Array): Promise<StoredInvitation | undefined>;
  /** Keeps a join request (replacing that requester's earlier one for the invitation); returns how many requesters the invitation has now. */
  putJoinRequest(request: StoredJoinRequest, groupId: Uint8Array): Promise<number>;
  /** The join requests of a group's invitations that are neither revoked nor expired at `now`. */
  joinRequests(groupId: Uint8Array, now: number): Promise<StoredJoinRequest[]>;
  /** Reports what other relay nodes store (stores shared between nodes only). */
  onEvent?(listener: (event: StoreEvent) => void): void;
  close(): Promise<void>;
}
