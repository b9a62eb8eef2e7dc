// Members with sealed documents connected to a real relay over WebSockets, for the relay's tests.
import * as Y from 'yjs';
import { WebSocket } from 'ws';
import { Awareness } from 'y-protocols/awareness';
import { actorKeys, addMember, createGroup, generateMnemonic, identityFromMnemonic, Keyring, MembershipLog, removeMember, type Actor, type Identity, type MemberRole } from '@sealdoc/crypto';
import { Group, MemoryStorage, SealedDoc, WebSocketTransport, type BeaconOptions, type SealedDocOptions, type WebSocketLike, type WebSocketTransportOptions } from '@sealdoc/core';

export const DOC_ID = new Uint8Array(16).fill(5);

export function identity(name: string): Identity {
  const entropy = new Uint8Array(32);
  for (let i = 0; i < name.length; i++) entropy[i % 32]! ^= name.charCodeAt(i);
  return identityFromMnemonic(generateMnemonic(entropy));
}

export interface Client {
  name: string;
  identity: Identity;
  group: Group;
  doc: Y.Doc;
  sealed: SealedDoc;
  transport: WebSocketTransport;
  awareness: Awareness;
  /** Every frame the client received from the relay, decoded elsewhere. */
  errors: string[];
  text(): string;
  close(): Promise<void>;
}

/** Waits until `condition` holds, failing after `ms`. */
export async function eventually(condition: () => boolean | Promise<boolean>, ms = 5000, what = 'the condition'): Promise<void> {
  const until = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`${what} did not come true in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A group whose admin is the first name, and a way to connect its members' devices to `url`. */
export class Team {
  readonly ops: Uint8Array[];
  readonly #admin: Identity;
  readonly #adminKeys = new Keyring();
  #log: MembershipLog;

  private constructor(ops: Uint8Array[], admin: Identity, log: MembershipLog) {
    this.ops = ops;
    this.#admin = admin;
    this.#log = log;
  }

  static async create(names: string[], roles: Record<string, MemberRole> = {}): Promise<Team> {
    const [first, ...rest] = names;
    const admin = identity(first!);
    const ops = [await createGroup(admin, { members: rest.map((n) => ({ keys: identity(n), role: roles[n] ?? 'writer' })), history: 'all' })];
    const log = await MembershipLog.fromOps(ops);
    const team = new Team(ops, admin, log);
    const { unlockEpochSecrets } = await import('@sealdoc/crypto');
    await unlockEpochSecrets(log, admin, team.#adminKeys);
    return team;
  }

  get groupId(): Uint8Array {
    return this.#log.groupId;
  }

  get log(): MembershipLog {
    return this.#log;
  }

  /** The admin adds or removes a member; the op goes to `via`'s group (which announces it to the relay). */
  async change(kind: 'add' | 'remove', name: string, via: Client, options: { role?: MemberRole; cutoff?: number | null } = {}): Promise<void> {
    const by = { signer: this.#admin, keyring: this.#adminKeys };
    const op = kind === 'add' ? await addMember(this.#log, by, identity(name), options.role ?? 'writer') : await removeMember(this.#log, by, identity(name).memberId, options.cutoff ?? null);
    await this.#log.append(op);
    const { unlockEpochSecrets } = await import('@sealdoc/crypto');
    await unlockEpochSecrets(this.#log, this.#admin, this.#adminKeys);
    this.ops.splice(0, this.ops.length, ...this.#log.ops());
    await via.group.receiveOps(this.ops, 0);
  }

  /** Opens `name`'s device on the relay at `url`. */
  async connect(
    name: string,
    url: string,
    options: { cursors?: MemoryStorage; storage?: MemoryStorage; ops?: Uint8Array[]; WebSocket?: new (url: string) => WebSocketLike; beacons?: BeaconOptions; requestTimeoutMs?: number } = {},
  ): Promise<Client> {
    const id = identity(name);
    return openClient(name, id, options.ops ?? this.ops, {
      url,
      WebSocket: options.WebSocket ?? (WebSocket as unknown as new (url: string) => WebSocketLike),
      ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
      ...(options.cursors ? { cursors: options.cursors } : {}),
    }, {
      ...(options.storage ? { storage: options.storage } : {}),
      ...(options.beacons ? { beacons: options.beacons } : {}),
    });
  }
}

/**
 * Opens a device's client: its group from `ops`, a sealed document on a WebSocket transport
 * (`transport` gives the address and socket), connected. `signer` is an identity or a certified
 * device; the client's errors are collected as `name:code`.
 */
export async function openClient(
  name: string,
  signer: Actor,
  ops: Uint8Array[],
  transport: Pick<WebSocketTransportOptions, 'url' | 'WebSocket' | 'requestTimeoutMs' | 'cursors'>,
  sealedOptions: Pick<SealedDocOptions, 'storage' | 'beacons'> = {},
): Promise<Client> {
  const group = new Group({ signer, log: await MembershipLog.fromOps(ops), keyring: new Keyring() });
  await group.refresh();
  const doc = new Y.Doc();
  const keys = actorKeys(signer);
  const socket = new WebSocketTransport({ identity: keys, backoff: { minMs: 20, maxMs: 200 }, ...transport });
  group.relay = socket;
  const awareness = new Awareness(doc);
  const sealed = new SealedDoc(doc, { group, docId: DOC_ID, transport: socket, awareness, batch: { windowMs: 5 }, ...sealedOptions });
  const errors: string[] = [];
  sealed.events.on('error', ({ error }) => errors.push(`${error.name}:${(error as { code?: string }).code}`));
  await socket.connect();
  return {
    name,
    identity: keys,
    group,
    doc,
    sealed,
    transport: socket,
    awareness,
    errors,
    text: () => doc.getText('t').toString(),
    close: async () => {
      await sealed.destroy();
      awareness.destroy();
      await socket.disconnect();
    },
  };
}
