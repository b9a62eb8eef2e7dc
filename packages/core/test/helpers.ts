// Shared by the core tests: members with their own logs, keyrings, groups and documents on
// one in-memory hub.
import * as Y from 'yjs';
import { Awareness } from 'y-protocols/awareness';
import {
  addMember,
  createGroup,
  generateMnemonic,
  identityFromMnemonic,
  Keyring,
  MembershipLog,
  removeMember,
  readEnvelopeHeader,
  rotateEpoch,
  type Identity,
  type MemberRole,
} from '@sealdoc/crypto';
import { Group, MemoryStorage, SealedDoc } from '@sealdoc/core';
import { MemoryHub, type Faults, type MemoryTransport } from '@sealdoc/core/testing';

/** Waits until `condition` holds (processing is asynchronous), failing after `ms`. */
export async function eventually(condition: () => boolean, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error('the condition did not come true in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** The 24 words of `name`'s test identity (fixed per name). */
export function mnemonicOf(name: string): string {
  const entropy = new Uint8Array(32);
  for (let i = 0; i < name.length; i++) entropy[i % 32]! ^= name.charCodeAt(i);
  return generateMnemonic(entropy);
}

export function identity(name: string): Identity {
  return identityFromMnemonic(mnemonicOf(name));
}

export interface Peer {
  name: string;
  identity: Identity;
  group: Group;
  doc: Y.Doc;
  sealed: SealedDoc;
  transport: MemoryTransport;
  storage: MemoryStorage;
  /** With `join(name, { awareness: true })`: the presence the document seals. */
  awareness?: Awareness;
  text(): string;
}

/** A group whose admin is the first name; every peer keeps its own copy of the log. */
export class World {
  readonly hub: MemoryHub;
  readonly peers = new Map<string, Peer>();
  readonly docId = new Uint8Array(16).fill(7);
  #ops: Uint8Array[] = [];
  #admin: Identity;
  #adminKeys = new Keyring();
  #adminLog!: MembershipLog;

  private constructor(seed: number, faults: Faults, admin: Identity) {
    this.hub = new MemoryHub({ seed, faults });
    this.#admin = admin;
  }

  static async create(names: string[], options: { seed?: number; faults?: Faults; roles?: Record<string, MemberRole>; history?: 'all' | 'since-join'; awareness?: boolean } = {}) {
    const [first, ...rest] = names;
    const world = new World(options.seed ?? 1, options.faults ?? {}, identity(first!));
    const founders = rest.map((n) => ({ keys: identity(n), role: options.roles?.[n] ?? ('writer' as MemberRole) }));
    world.#ops = [await createGroup(world.#admin, { members: founders, ...(options.history ? { history: options.history } : {}) })];
    world.#adminLog = await MembershipLog.fromOps(world.#ops);
    const { unlockEpochSecrets } = await import('@sealdoc/crypto');
    await unlockEpochSecrets(world.#adminLog, world.#admin, world.#adminKeys);
    for (const name of names) await world.join(name, { awareness: options.awareness ?? false });
    return world;
  }

  /** Opens `name`'s device: its own log copy, keyring, group, store, transport and document. */
  async join(name: string, options: { connect?: boolean; awareness?: boolean } = {}): Promise<Peer> {
    const id = identity(name);
    const log = await MembershipLog.fromOps(this.#ops);
    const group = new Group({ signer: id, log, keyring: new Keyring(), storage: new MemoryStorage() });
    await group.refresh();
    const doc = new Y.Doc();
    const transport = this.hub.transport(name);
    const storage = new MemoryStorage();
    const awareness = options.awareness ? new Awareness(doc) : undefined;
    const sealed = new SealedDoc(doc, { group, docId: this.docId, transport, storage, batch: { windowMs: 5 }, ...(awareness ? { awareness } : {}) });
    const peer: Peer = { name, identity: id, group, doc, sealed, transport, storage, ...(awareness ? { awareness } : {}), text: () => doc.getText('t').toString() };
    this.peers.set(name, peer);
    if (options.connect !== false) await transport.connect();
    return peer;
  }

  /**
   * The highest sequence number of `name`'s envelopes held by any peer (the removed member's
   * own copies included), or null: the cutoff a relay that saw everything would record.
   */
  highestSeqOf(name: string): number | null {
    const author = toHex(identity(name).memberId);
    let highest: number | null = null;
    for (const p of this.peers.values()) {
      for (const e of p.sealed.envelopes()) {
        const h = readEnvelopeHeader(e);
        if (toHex(h.author) === author && (highest === null || h.seq > highest)) highest = h.seq;
      }
    }
    return highest;
  }

  /** Whether `name` is a member now, as the admin's log says. */
  isMember(name: string): boolean {
    return this.#adminLog.member(identity(name).memberId) !== undefined;
  }

  /** The current epoch, as the admin's log says. */
  get epoch(): number {
    return this.#adminLog.epoch;
  }

  peer(name: string): Peer {
    return this.peers.get(name)!;
  }

  /** The admin changes membership; only `deliverTo` learn of it at once (the others by resync). */
  async change(kind: 'add' | 'remove' | 'rotate', name: string, deliverTo: string[], options: { role?: MemberRole; cutoff?: number | null } = {}): Promise<void> {
    const by = { signer: this.#admin, keyring: this.#adminKeys };
    const op =
      kind === 'add'
        ? await addMember(this.#adminLog, by, identity(name), options.role ?? 'writer')
        : kind === 'remove'
          ? await removeMember(this.#adminLog, by, identity(name).memberId, options.cutoff ?? null)
          : await rotateEpoch(this.#adminLog, by);
    await this.#adminLog.append(op);
    const { unlockEpochSecrets } = await import('@sealdoc/crypto');
    await unlockEpochSecrets(this.#adminLog, this.#admin, this.#adminKeys);
    this.#ops = this.#adminLog.ops();
    for (const n of deliverTo) {
      const p = this.peers.get(n);
      if (p) await p.group.receiveOps(this.#ops, 0);
    }
  }

  /** Flushes every document and the hub, then resyncs until nothing moves. */
  async settle(rounds = 4): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      for (const p of this.peers.values()) await p.sealed.flush();
      await this.hub.flush();
      for (const p of this.peers.values()) p.sealed.resync();
      await this.hub.flush();
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}
