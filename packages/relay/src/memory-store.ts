/**
 * A relay store in memory: for tests, and for a relay that keeps nothing across restarts.
 * @module
 */
import { equalBytes, hex } from './bytes.js';
import {
  RelayStoreError,
  type IndexEntry,
  type NewEnvelope,
  type OpsEffect,
  type PutResult,
  type RelayStore,
  type Standing,
  type StoredCovers,
  type StoredEnvelope,
  type StoredInvitation,
  type StoredJoinRequest,
  type Usage,
} from './store.js';

const copy = (e: StoredEnvelope): StoredEnvelope => ({ ...e, groupId: e.groupId.slice(), docId: e.docId.slice(), author: e.author.slice(), bytes: e.bytes.slice() });

export class MemoryRelayStore implements RelayStore {
  readonly #logs = new Map<string, { id: Uint8Array; ops: Uint8Array[] }>();
  // group -> member ids (hex) after its last op; member -> usage
  readonly #members = new Map<string, Set<string>>();
  readonly #usage = new Map<string, Usage>();
  // device (hex) -> groups (hex -> id) whose logs revoke it
  readonly #revoked = new Map<string, Map<string, Uint8Array>>();
  readonly #byCursor = new Map<number, StoredEnvelope>();
  // group:doc -> envelopes in cursor order; group:doc:author:seq -> cursor; group:author -> highest seq
  readonly #docs = new Map<string, StoredEnvelope[]>();
  readonly #ids = new Map<string, number>();
  readonly #highest = new Map<string, number>();
  readonly #dropped = new Set<number>();
  readonly #covers = new Map<string, Map<string, StoredCovers>>();
  readonly #invitations = new Map<string, StoredInvitation>();
  // invite id -> requester -> request
  readonly #requests = new Map<string, Map<string, StoredJoinRequest>>();
  #cursor = 0;
  #closed = false;

  #check(): void {
    if (this.#closed) throw new RelayStoreError('closed', 'this store was closed');
  }

  async loadOps(groupId: Uint8Array): Promise<Uint8Array[]> {
    this.#check();
    return (this.#logs.get(hex(groupId))?.ops ?? []).map((op) => op.slice());
  }

  async appendOps(groupId: Uint8Array, fromIndex: number, ops: readonly Uint8Array[], effect: OpsEffect): Promise<boolean> {
    this.#check();
    const log = this.#logs.get(hex(groupId)) ?? { id: groupId.slice(), ops: [] };
    if (log.ops.length !== fromIndex) return false;
    log.ops.push(...ops.map((op) => op.slice()));
    this.#logs.set(hex(groupId), log);
    ops.forEach((op, i) => this.#count(effect.authors[i]!, { bytes: op.length, groups: fromIndex + i === 0 ? 1 : 0 }));
    const members = this.#members.get(hex(groupId)) ?? new Set<string>();
    for (const m of effect.left) members.delete(hex(m));
    for (const m of effect.joined) members.add(hex(m));
    this.#members.set(hex(groupId), members);
    this.#revoke(groupId, effect.revoked ?? []);
    return true;
  }

  #revoke(groupId: Uint8Array, devices: readonly Uint8Array[]): void {
    for (const d of devices) {
      const groups = this.#revoked.get(hex(d)) ?? new Map<string, Uint8Array>();
      if (!groups.has(hex(groupId))) groups.set(hex(groupId), groupId.slice());
      this.#revoked.set(hex(d), groups);
    }
  }

  #count(member: Uint8Array, add: Partial<Usage>): void {
    const u = this.#usage.get(hex(member)) ?? { groups: 0, documents: 0, bytes: 0 };
    this.#usage.set(hex(member), { groups: u.groups + (add.groups ?? 0), documents: u.documents + (add.documents ?? 0), bytes: u.bytes + (add.bytes ?? 0) });
  }

  async membership(groupId: Uint8Array, memberId: Uint8Array): Promise<Standing> {
    this.#check();
    const members = this.#members.get(hex(groupId));
    if (!members) return this.#logs.has(hex(groupId)) ? 'not-a-member' : 'unknown-group';
    return members.has(hex(memberId)) ? 'member' : 'not-a-member';
  }

  async groupsOf(memberId: Uint8Array): Promise<Uint8Array[]> {
    this.#check();
    return [...this.#members].filter(([, m]) => m.has(hex(memberId))).map(([g]) => this.#logs.get(g)!.id.slice());
  }

  async unindexedGroups(): Promise<Uint8Array[]> {
    this.#check();
    return [...this.#logs].filter(([g]) => !this.#members.has(g)).map(([, l]) => l.id.slice());
  }

  async setMembers(groupId: Uint8Array, members: readonly Uint8Array[], revoked: readonly Uint8Array[] = []): Promise<void> {
    this.#check();
    this.#members.set(hex(groupId), new Set(members.map(hex)));
    this.#revoke(groupId, revoked);
  }

  async revokedIn(deviceId: Uint8Array, limit: number): Promise<Uint8Array[]> {
    this.#check();
    return [...(this.#revoked.get(hex(deviceId))?.values() ?? [])].slice(0, limit).map((g) => g.slice());
  }

  async usage(memberId: Uint8Array): Promise<Usage> {
    this.#check();
    return { ...(this.#usage.get(hex(memberId)) ?? { groups: 0, documents: 0, bytes: 0 }) };
  }

  async putEnvelopes(envelopes: readonly NewEnvelope[]): Promise<PutResult[]> {
    this.#check();
    return envelopes.map((e) => {
      const id = `${hex(e.groupId)}:${hex(e.docId)}:${hex(e.author)}:${e.seq}`;
      const existing = this.#ids.get(id);
      if (existing !== undefined)
        return { outcome: this.#dropped.has(existing) || equalBytes(this.#byCursor.get(existing)!.bytes, e.bytes) ? 'duplicate' : 'conflict', cursor: existing };
      const stored = copy({ ...e, cursor: ++this.#cursor });
      this.#byCursor.set(stored.cursor, stored);
      this.#ids.set(id, stored.cursor);
      const doc = `${hex(e.groupId)}:${hex(e.docId)}`;
      const list = this.#docs.get(doc);
      if (list) list.push(stored);
      else this.#docs.set(doc, [stored]);
      this.#count(e.author, { bytes: e.bytes.length, documents: list ? 0 : 1 });
      const author = `${hex(e.groupId)}:${hex(e.author)}`;
      this.#highest.set(author, Math.max(this.#highest.get(author) ?? -1, e.seq));
      return { outcome: 'stored', cursor: stored.cursor };
    });
  }

  async envelopesAfter(groupId: Uint8Array, docId: Uint8Array, cursor: number, limit: number): Promise<StoredEnvelope[]> {
    this.#check();
    const all = this.#docs.get(`${hex(groupId)}:${hex(docId)}`) ?? [];
    return all.filter((e) => e.cursor > cursor && !this.#dropped.has(e.cursor)).slice(0, limit).map(copy);
  }

  async envelopesBySeq(groupId: Uint8Array, docId: Uint8Array, author: Uint8Array, fromSeq: number, toSeq: number, maxCursor: number, limit: number): Promise<StoredEnvelope[]> {
    this.#check();
    const all = this.#docs.get(`${hex(groupId)}:${hex(docId)}`) ?? [];
    return all
      .filter((e) => equalBytes(e.author, author) && e.seq >= fromSeq && e.seq <= toSeq && e.cursor <= maxCursor && !this.#dropped.has(e.cursor))
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit)
      .map(copy);
  }

  async envelopesAt(cursors: readonly number[]): Promise<StoredEnvelope[]> {
    this.#check();
    return [...new Set(cursors)].sort((a, b) => a - b).flatMap((c) => {
      const e = this.#byCursor.get(c);
      return e && !this.#dropped.has(c) ? [copy(e)] : [];
    });
  }

  async index(groupId: Uint8Array, docId: Uint8Array): Promise<IndexEntry[]> {
    this.#check();
    return (this.#docs.get(`${hex(groupId)}:${hex(docId)}`) ?? []).map((e) => ({ author: e.author.slice(), seq: e.seq, cursor: e.cursor, dropped: this.#dropped.has(e.cursor) }));
  }

  async dropEnvelopes(cursors: readonly number[]): Promise<void> {
    this.#check();
    for (const c of cursors) {
      const e = this.#byCursor.get(c);
      if (!e || this.#dropped.has(c)) continue;
      this.#dropped.add(c);
      this.#count(e.author, { bytes: -e.bytes.length });
      e.bytes = new Uint8Array(0);
    }
  }

  async putCovers(groupId: Uint8Array, docId: Uint8Array, covers: StoredCovers): Promise<boolean> {
    this.#check();
    const doc = `${hex(groupId)}:${hex(docId)}`;
    const all = this.#covers.get(doc) ?? new Map<string, StoredCovers>();
    this.#covers.set(doc, all);
    const id = `${hex(covers.author)}:${covers.seq}`;
    if (all.has(id)) return false;
    all.set(id, { author: covers.author.slice(), seq: covers.seq, attestation: covers.attestation.slice() });
    return true;
  }

  async covers(groupId: Uint8Array, docId: Uint8Array): Promise<StoredCovers[]> {
    this.#check();
    return [...(this.#covers.get(`${hex(groupId)}:${hex(docId)}`)?.values() ?? [])].map((c) => ({ author: c.author.slice(), seq: c.seq, attestation: c.attestation.slice() }));
  }

  async highestSeq(groupId: Uint8Array, author: Uint8Array): Promise<number | undefined> {
    this.#check();
    return this.#highest.get(`${hex(groupId)}:${hex(author)}`);
  }

  async putInvitation(invitation: StoredInvitation): Promise<void> {
    this.#check();
    const id = hex(invitation.inviteId);
    if (!this.#invitations.has(id)) this.#invitations.set(id, { ...invitation, inviteId: invitation.inviteId.slice(), groupId: invitation.groupId.slice() });
  }

  async revokeInvitation(inviteId: Uint8Array): Promise<void> {
    this.#check();
    const found = this.#invitations.get(hex(inviteId));
    if (found) found.revoked = true;
  }

  async invitation(inviteId: Uint8Array): Promise<StoredInvitation | undefined> {
    this.#check();
    const found = this.#invitations.get(hex(inviteId));
    return found && { ...found, inviteId: found.inviteId.slice(), groupId: found.groupId.slice() };
  }

  async openInvitations(groupId: Uint8Array, now: number): Promise<number> {
    this.#check();
    return [...this.#invitations.values()].filter((i) => hex(i.groupId) === hex(groupId) && !i.revoked && i.expiresAt > now).length;
  }

  async putJoinRequest(request: StoredJoinRequest): Promise<number> {
    this.#check();
    const id = hex(request.inviteId);
    const all = this.#requests.get(id) ?? new Map<string, StoredJoinRequest>();
    all.set(hex(request.requester), { inviteId: request.inviteId.slice(), requester: request.requester.slice(), request: request.request.slice() });
    this.#requests.set(id, all);
    return all.size;
  }

  async joinRequests(groupId: Uint8Array, now: number): Promise<StoredJoinRequest[]> {
    this.#check();
    const open = [...this.#invitations.values()].filter((i) => hex(i.groupId) === hex(groupId) && !i.revoked && i.expiresAt > now);
    return open.flatMap((i) => [...(this.#requests.get(hex(i.inviteId))?.values() ?? [])].map((r) => ({ ...r, request: r.request.slice() })));
  }

  async requesters(inviteId: Uint8Array): Promise<Uint8Array[]> {
    this.#check();
    return [...(this.#requests.get(hex(inviteId))?.values() ?? [])].map((r) => r.requester.slice());
  }

  async probe(): Promise<void> {
    this.#check();
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
