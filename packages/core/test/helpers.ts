// Shared by the core tests: members with their own logs, keyrings, groups and documents on
// one in-memory hub.
import * as Y from 'yjs';
import { Awareness } from 'y-protocols/awareness';
import {
  addMember,
  certifyDevice,
  createGroup,
  equalBytes,
  generateMnemonic,
  identityFromMnemonic,
  Keyring,
  MembershipLog,
  newDeviceKeys,
  removeMember,
  readEnvelopeHeader,
  requestDeviceCertificate,
  rotateEpoch,
  type Actor,
  type CertifiedDevice,
  type Identity,
  type MemberRole,
} from '@sealdoc/crypto';
import { decodeWire } from '@sealdoc/protocol';
import { Group, MemoryStorage, SealedDoc, type BackoffOptions, type GroupRelay } from '@sealdoc/core';
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

  static async create(
    names: string[],
    options: { seed?: number; faults?: Faults; roles?: Record<string, MemberRole>; history?: 'all' | 'since-join'; awareness?: boolean; rekeyBackoff?: BackoffOptions } = {},
  ) {
    const [first, ...rest] = names;
    const world = new World(options.seed ?? 1, options.faults ?? {}, identity(first!));
    const founders = rest.map((n) => ({ keys: identity(n), role: options.roles?.[n] ?? ('writer' as MemberRole) }));
    world.#ops = [await createGroup(world.#admin, { members: founders, ...(options.history ? { history: options.history } : {}) })];
    world.#adminLog = await MembershipLog.fromOps(world.#ops);
    const { unlockEpochSecrets } = await import('@sealdoc/crypto');
    await unlockEpochSecrets(world.#adminLog, world.#admin, world.#adminKeys);
    for (const name of names) await world.join(name, { awareness: options.awareness ?? false, ...(options.rekeyBackoff ? { rekeyBackoff: options.rekeyBackoff } : {}) });
    return world;
  }

  /** Opens `name`'s device: its own log copy, keyring, group, store, transport and document (`rekeyBackoff`: the group's). */
  async join(name: string, options: { connect?: boolean; awareness?: boolean; rekeyBackoff?: BackoffOptions } = {}): Promise<Peer> {
    const id = identity(name);
    const log = await MembershipLog.fromOps(this.#ops);
    const group = new Group({ signer: id, log, keyring: new Keyring(), storage: new MemoryStorage(), ...(options.rekeyBackoff ? { rekeyBackoff: options.rekeyBackoff } : {}) });
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

// ---------------------------------------------------------------------------------------
// Persons with several devices (convergence.test.ts): each device its own keys, log copy,
// keyring, group, store, transport and document; membership ops made by the devices
// themselves, ordered by a stand-in relay; a hub that records every envelope it carries.

/** A hub that records every envelope it carries (dropped ones included), to check nonces and sequence numbers. */
export class RecordingHub extends MemoryHub {
  /** Envelopes carried, by nonce (hex). */
  readonly byNonce = new Map<string, Uint8Array>();
  /** Nonces carried under each id ("author:seq", hex author). */
  readonly noncesById = new Map<string, Set<string>>();
  /** Nonces seen on two different envelopes. */
  readonly reusedNonces: string[] = [];
  readonly #highest = new Map<string, number>();

  override _send(from: string, data: Uint8Array, to: string | undefined): void {
    try {
      const message = decodeWire(data);
      if (message.type === 'envelope') this.#record(message.envelope);
    } catch {
      // Not a message: the hub carries it all the same.
    }
    super._send(from, data, to);
  }

  #record(bytes: Uint8Array): void {
    const header = readEnvelopeHeader(bytes);
    const nonce = toHex(header.nonce);
    const seen = this.byNonce.get(nonce);
    if (seen && !equalBytes(seen, bytes)) this.reusedNonces.push(nonce);
    if (!seen) this.byNonce.set(nonce, bytes.slice());
    const author = toHex(header.author);
    const id = `${author}:${header.seq}`;
    if (!this.noncesById.has(id)) this.noncesById.set(id, new Set());
    this.noncesById.get(id)!.add(nonce);
    this.#highest.set(author, Math.max(this.#highest.get(author) ?? -1, header.seq));
  }

  /** Ids under which two different envelopes were carried (a sequence number used twice). */
  seqCollisions(): string[] {
    return [...this.noncesById].filter(([, nonces]) => nonces.size > 1).map(([id]) => id);
  }

  /** The highest sequence number carried of a device (hex id), or null. */
  highestSeq(author: string): number | null {
    return this.#highest.get(author) ?? null;
  }

  /** Every distinct envelope carried. */
  envelopes(): Uint8Array[] {
    return [...this.byNonce.values()];
  }
}

/** The strings pushed to Y.Arrays (or set in Y.Maps) by a Yjs update: the edit tokens it carries. */
export function tokensOf(update: Uint8Array): string[] {
  const tokens: string[] = [];
  for (const struct of Y.decodeUpdate(update).structs)
    if (struct instanceof Y.Item && struct.content instanceof Y.ContentAny) for (const v of struct.content.arr) if (typeof v === 'string') tokens.push(v);
  return tokens;
}

/** One device of a person: its signer (the person's identity key pair, or a certified device) and its own everything. */
export interface DevicePeer {
  /** Device name: the person's name and a number ("a0" is person a's identity key pair). */
  name: string;
  person: string;
  signer: Actor;
  /** The device's key pairs (the identity's for the first device). */
  keys: Identity;
  group: Group;
  doc: Y.Doc;
  sealed: SealedDoc;
  transport: MemoryTransport;
  storage: MemoryStorage;
  text(): string;
}

/** A person's certified device, made on the device and certified with the person's identity key. */
export async function certifiedDevice(person: Identity, label: string): Promise<CertifiedDevice> {
  const keys = newDeviceKeys();
  const certificate = await certifyDevice(person, await requestDeviceCertificate(keys, person.memberId, label, 1_000));
  return { keys, certificate, person };
}

/**
 * Persons with devices in one group. Membership ops are made by the devices' own groups, in
 * turn: the acting device catches up with the log first, and a stand-in relay (`relay`)
 * takes ops only on top of the log it holds (no forks) and records, as a removal's or a
 * revocation's cutoff, past what the hub carried of each device.
 */
export class DeviceWorld {
  readonly hub: RecordingHub;
  readonly devices = new Map<string, DevicePeer>();
  readonly docId = new Uint8Array(16).fill(7);
  /** The log as the stand-in relay ordered it. */
  ops: Uint8Array[] = [];
  /** The same, verified. */
  relayLog!: MembershipLog;
  readonly relay: GroupRelay;
  readonly #identities = new Map<string, Identity>();
  #deviceCount = new Map<string, number>();

  private constructor(seed: number, faults: Faults) {
    this.hub = new RecordingHub({ seed, faults });
    this.relay = {
      commitOps: async (_groupId, fromIndex) => {
        if (fromIndex !== this.ops.length) throw Object.assign(new Error(`stale log: ${fromIndex} of ${this.ops.length}`), { code: 'stale-head' });
      },
      highestSeq: async (_groupId, deviceId) => this.hub.highestSeq(toHex(deviceId)),
    };
  }

  /** `persons[0]` creates the group (admin); each person with `devices` devices (the first its identity key pair). */
  static async create(
    persons: { name: string; devices: number; role?: MemberRole }[],
    options: { seed?: number; faults?: Faults; history?: 'all' | 'since-join' } = {},
  ): Promise<DeviceWorld> {
    const world = new DeviceWorld(options.seed ?? 1, options.faults ?? {});
    const signers = new Map<string, Actor[]>();
    for (const p of persons) {
      const id = world.personIdentity(p.name);
      const list: Actor[] = [id];
      for (let i = 1; i < p.devices; i++) list.push(await certifiedDevice(id, `${p.name}${i}`));
      signers.set(p.name, list);
    }
    const certificates = (name: string) => signers.get(name)!.slice(1).map((s) => (s as CertifiedDevice).certificate);
    const [creator, ...rest] = persons;
    world.ops = [
      await createGroup(world.personIdentity(creator!.name), {
        creatorDevices: certificates(creator!.name),
        members: rest.map((p) => ({ keys: world.personIdentity(p.name), role: p.role ?? 'writer', devices: certificates(p.name) })),
        ...(options.history ? { history: options.history } : {}),
      }),
    ];
    world.relayLog = await MembershipLog.fromOps(world.ops);
    for (const p of persons) for (const signer of signers.get(p.name)!) await world.join(p.name, signer);
    return world;
  }

  /** A person's identity key pair (random: its 24 words are not needed here, and deriving them is slow). */
  personIdentity(person: string): Identity {
    if (!this.#identities.has(person)) this.#identities.set(person, newDeviceKeys());
    return this.#identities.get(person)!;
  }

  /** Opens a device of `person` on the log as the relay holds it, and connects it. */
  async join(person: string, signer: Actor, options: { connect?: boolean } = {}): Promise<DevicePeer> {
    const n = this.#deviceCount.get(person) ?? 0;
    this.#deviceCount.set(person, n + 1);
    const name = `${person}${n}`;
    const log = await MembershipLog.fromOps(this.ops);
    const group = new Group({ signer, log, keyring: new Keyring(), storage: new MemoryStorage() });
    group.relay = this.relay;
    await group.refresh();
    const doc = new Y.Doc();
    const transport = this.hub.transport(name);
    const storage = new MemoryStorage();
    const sealed = new SealedDoc(doc, { group, docId: this.docId, transport, storage, batch: { windowMs: 5 } });
    const keys = 'keys' in signer ? signer.keys : signer;
    const peer: DevicePeer = { name, person, signer, keys, group, doc, sealed, transport, storage, text: () => doc.getText('t').toString() };
    this.devices.set(name, peer);
    if (options.connect !== false) await transport.connect();
    return peer;
  }

  device(name: string): DevicePeer {
    return this.devices.get(name)!;
  }

  /** Whether a device acts in the group now, as the relay's log says. */
  isCurrent(name: string): boolean {
    return this.relayLog.device(this.device(name).keys.memberId) !== undefined;
  }

  /** The devices of `person` that act in the group now. */
  currentDevicesOf(person: string): DevicePeer[] {
    return [...this.devices.values()].filter((d) => d.person === person && this.isCurrent(d.name));
  }

  /** Whether `person` is a member now. */
  isMember(person: string): boolean {
    return this.relayLog.member(this.personIdentity(person).memberId) !== undefined;
  }

  /**
   * Device `by` changes membership through its own group (after catching up with the relay's
   * log); only `deliverTo` learn of it at once, the others by resync. Returns the op's index.
   */
  async act(by: string, change: (group: Group) => Promise<void>, deliverTo: string[]): Promise<number> {
    const actor = this.device(by);
    await actor.group.receiveOps(this.ops, 0);
    const before = this.ops.length;
    await change(actor.group);
    this.ops = actor.group.log.ops();
    await this.relayLog.sync(this.ops, 0);
    if (this.ops.length !== before + 1) throw new Error(`expected one op, the log went from ${before} to ${this.ops.length}`);
    await this.deliver(deliverTo);
    return before;
  }

  /** Gives the relay's log to these devices now. */
  async deliver(names: Iterable<string>): Promise<void> {
    for (const n of new Set(names)) await this.devices.get(n)?.group.receiveOps(this.ops, 0);
  }

  /** Flushes every document and the hub, then resyncs until nothing moves. */
  async settle(rounds = 4): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      for (const p of this.devices.values()) await p.sealed.flush();
      await this.hub.flush();
      for (const p of this.devices.values()) p.sealed.resync();
      await this.hub.flush();
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}
