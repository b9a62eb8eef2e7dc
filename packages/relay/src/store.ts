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

/**
 * What a snapshot's verified `covers` attestation says of its author's own envelopes: the
 * ranges it covers that the relay held (encoded as a summary's ranges, `u32 authors · author ·
 * ranges`, with the one author). Retention acts on nothing else.
 */
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

/**
 * Something another relay node stored (several nodes on one database), for fan-out; or a frame
 * it forwards and never stores (`presence`: sealed awareness or a head beacon, as its client
 * sent it, already checked there), for the subscribers of its document here; or news that the
 * store stopped hearing the other nodes, or hears them again.
 */
export type StoreEvent = (
  | { type: 'envelope'; groupId: Uint8Array; docId: Uint8Array; cursor: number; author: Uint8Array; seq: number }
  | { type: 'ops'; groupId: Uint8Array; length: number }
  | { type: 'join-request'; groupId: Uint8Array; inviteId: Uint8Array; requester: Uint8Array }
  | { type: 'presence'; groupId: Uint8Array; docId: Uint8Array; frame: Uint8Array }
  /** The store stopped hearing the other nodes (`detail`, in plain words): their events are lost until `events-resumed`; its probe fails meanwhile. */
  | { type: 'events-lost'; detail: string }
  /** The store hears the other nodes again: what they did meanwhile was not told, so what the relay holds of it (logs, summaries, subscriptions) must be read again. */
  | { type: 'events-resumed' }
) & {
  /** When the other node sent it, ms since 1970 by that node's clock (where the store knows): the notification lag in the relay's metrics. */
  sentAt?: number;
};

/**
 * What appending ops does besides storing them: who authored each (their bytes count towards
 * that member's usage; the author of a group's first op created it) and who joined and left
 * (for {@link RelayStore.membership} and {@link RelayStore.groupsOf}): what the ops change, so
 * that an op costs the store what it changes, not the group's size.
 */
export interface OpsEffect {
  /** The author (member id) of each op, in order. */
  authors: readonly Uint8Array[];
  /** Member ids that are members after the ops and were not before. */
  joined: readonly Uint8Array[];
  /** Member ids that were members before the ops and are not after. */
  left: readonly Uint8Array[];
  /**
   * Device ids the ops revoke (`revoke-device`), for {@link RelayStore.revokedIn}: kept for
   * good (a revoked device never comes back into that group). None when omitted.
   */
  revoked?: readonly Uint8Array[];
}

/**
 * What one identity has put on the relay: the groups it created, the documents it started (by
 * its first envelope), and the bytes of its envelopes and ops the relay still holds. Quotas
 * are checked against it.
 */
export interface Usage {
  groups: number;
  documents: number;
  bytes: number;
}

/** Where a client stands in a group, as the store's membership index says. */
export type Standing = 'member' | 'not-a-member' | 'unknown-group';

export interface RelayStore {
  /** The ops of a group's log, in order; empty when the group is unknown. */
  loadOps(groupId: Uint8Array): Promise<Uint8Array[]>;
  /**
   * Appends `ops` at `fromIndex` if the log holds exactly `fromIndex` ops (atomically, durable
   * when it resolves), with their {@link OpsEffect}; false, and nothing written, when it does
   * not (another writer was first).
   */
  appendOps(groupId: Uint8Array, fromIndex: number, ops: readonly Uint8Array[], effect: OpsEffect): Promise<boolean>;
  /** Whether `memberId` is a member of the group after its last op (a cheap lookup, no log replayed). */
  membership(groupId: Uint8Array, memberId: Uint8Array): Promise<Standing>;
  /** The ids of the groups `memberId` is a member of. */
  groupsOf(memberId: Uint8Array): Promise<Uint8Array[]>;
  /**
   * The groups with a log but no membership index (stored by a relay before it kept one): the
   * relay replays their logs once and calls {@link RelayStore.setMembers}.
   */
  unindexedGroups(): Promise<Uint8Array[]>;
  /**
   * Sets the membership index of a group (see {@link RelayStore.unindexedGroups}), and adds
   * the devices its log revokes to the index of {@link RelayStore.revokedIn}.
   */
  setMembers(groupId: Uint8Array, members: readonly Uint8Array[], revoked?: readonly Uint8Array[]): Promise<void>;
  /**
   * Ids of groups whose logs revoke the device (a `revoke-device` op), at most `limit`, in no
   * particular order: one indexed lookup, no log replayed (every hello makes one).
   */
  revokedIn(deviceId: Uint8Array, limit: number): Promise<Uint8Array[]>;
  /** What `memberId` has put here (zero for an identity never seen). */
  usage(memberId: Uint8Array): Promise<Usage>;
  /**
   * Stores envelopes, in order, in one transaction: durable when it resolves (an acknowledged
   * envelope survives the process being killed). Each gets the next cursor unless its (group,
   * doc, author, seq) is there already. Each stored envelope counts towards its author's
   * usage (its bytes, and a document when it is the document's first).
   */
  putEnvelopes(envelopes: readonly NewEnvelope[]): Promise<PutResult[]>;
  /** A document's envelopes with a cursor above `cursor`, in cursor order, at most `limit`; none dropped. */
  envelopesAfter(groupId: Uint8Array, docId: Uint8Array, cursor: number, limit: number): Promise<StoredEnvelope[]>;
  /**
   * A document's envelopes of `author` with a sequence number from `fromSeq` to `toSeq` and a
   * cursor at most `maxCursor`, in sequence order, at most `limit`; none dropped.
   */
  envelopesBySeq(groupId: Uint8Array, docId: Uint8Array, author: Uint8Array, fromSeq: number, toSeq: number, maxCursor: number, limit: number): Promise<StoredEnvelope[]>;
  /** The envelopes with these cursors (those that exist and were not dropped), in cursor order. */
  envelopesAt(cursors: readonly number[]): Promise<StoredEnvelope[]>;
  /** Every envelope of a document, dropped ones too: author, sequence number and cursor. */
  index(groupId: Uint8Array, docId: Uint8Array): Promise<IndexEntry[]>;
  /**
   * Drops the bytes of these envelopes (retention), in one transaction; what identifies them
   * stays, so that pushing one again is a `duplicate` that stores nothing. Their bytes no
   * longer count towards their authors' usage.
   */
  dropEnvelopes(cursors: readonly number[]): Promise<void>;
  /** Keeps a snapshot's covers attestation; true when kept now, false when one was kept already (it is not replaced). */
  putCovers(groupId: Uint8Array, docId: Uint8Array, covers: StoredCovers): Promise<boolean>;
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
  /** How many invitations of the group are open (neither revoked nor expired) at `now`. */
  openInvitations(groupId: Uint8Array, now: number): Promise<number>;
  /** Keeps a join request (replacing that requester's earlier one for the invitation); returns how many requesters the invitation has now. */
  putJoinRequest(request: StoredJoinRequest, groupId: Uint8Array): Promise<number>;
  /** The join requests of a group's invitations that are neither revoked nor expired at `now`. */
  joinRequests(groupId: Uint8Array, now: number): Promise<StoredJoinRequest[]>;
  /** Who asked to join with an invitation (member ids), whatever its state: at most the relay's bound on requesters. */
  requesters(inviteId: Uint8Array): Promise<Uint8Array[]>;
  /** Reports what other relay nodes store, and the presence they share (stores shared between nodes only). */
  onEvent?(listener: (event: StoreEvent) => void): void;
  /**
   * Passes a frame the relay forwards and never stores (sealed awareness, a head beacon) to the
   * other relay nodes on this store, which get it as a `presence` event for the document's
   * subscribers there (stores shared between nodes only). Keeps nothing past a few seconds;
   * best effort and bounded: resolves false when the frame was not passed on.
   */
  sharePresence?(groupId: Uint8Array, docId: Uint8Array, frame: Uint8Array): Promise<boolean>;
  /**
   * This relay node's first connection watching the invitations of `groupId` came (`watched`),
   * or its last left: the other relay nodes on this store then count an admin online there
   * (stores shared between nodes only). Written in the background, in order; nothing to await.
   */
  shareInvitationWatch?(groupId: Uint8Array, watched: boolean): void;
  /**
   * Whether another relay node on this store, alive, has a connection watching the invitations
   * of `groupId` (stores shared between nodes only).
   */
  invitationsWatchedElsewhere?(groupId: Uint8Array): Promise<boolean>;
  /**
   * Resolves when the store can be read and written now (a readiness check: cheap, no row
   * kept); rejects with a short reason when it cannot (the database is down, read-only, closed).
   */
  probe?(): Promise<void>;
  close(): Promise<void>;
}
