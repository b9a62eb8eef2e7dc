/**
 * LocalDevice: what a device needs before it opens any document, in one place: its encrypted
 * store (only ciphertext lands there), the device key that seals what it keeps at rest, and
 * who acts from it for its person.
 *
 * - A person's first device acts with the identity key pair itself (from fresh words, which
 *   the app shows once), as every device made before devices existed does.
 * - Restoring from the 24 words makes a new device: its own key pairs, certified by the
 *   identity, so that it never shares sequence numbers with the person's other devices. It
 *   joins the person's groups with {@link LocalDevice.enterRelayGroups}.
 * - A device linked from another one holds its own key pairs and certificate, never the words.
 * @module
 */
import {
  certifyDevice,
  createGroup,
  generateMnemonic,
  Identity,
  Keyring,
  actorKeys,
  actorPersonId,
  MembershipLog,
  newDeviceKeys,
  requestDeviceCertificate,
  type Actor,
  type CertifiedDevice,
} from '@sealdoc/crypto';
import { DeviceKey } from './device-key.js';
import { loadDevice, saveDevice } from './device-store.js';
import { Group } from './group.js';
import { loadIdentity, saveIdentity } from './identity-store.js';
import { IndexedDBStorage } from './indexeddb-storage.js';
import { hex, unhex } from './bytes.js';
import type { Storage } from './storage.js';
import { OWN_GROUP_KEY } from './storage-keys.js';
import { fetchRelayGroup, listRelayGroups } from './relay-groups.js';
import type { WebSocketTransport } from './websocket-transport.js';

/** Options of {@link LocalDevice.open}. */
export interface LocalDeviceOptions {
  /** Restore from these 24 words: a new device of that person, certified by its identity. */
  mnemonic?: string;
  /** The name this device shows to its person's other devices ("Laptop"); for a restored device. */
  label?: string;
}

export class LocalDevice {
  readonly storage: Storage;
  readonly deviceKey: DeviceKey;
  /**
   * The person's identity (from the 24 words), on a device that holds them: the one where
   * they were made, or restored. Undefined on a device linked from another one.
   */
  readonly identity: Identity | undefined;
  /** Who acts from this device: the identity key pair (a first device), or a certified device. */
  readonly signer: Actor;
  /**
   * The 24 words of an identity this device created when it was opened (none was kept):
   * show them once, for recovery. Undefined when the identity was already kept.
   */
  readonly newWords: string | undefined;

  private constructor(storage: Storage, deviceKey: DeviceKey, identity: Identity | undefined, signer: Actor, newWords: string | undefined) {
    this.storage = storage;
    this.deviceKey = deviceKey;
    this.identity = identity;
    this.signer = signer;
    this.newWords = newWords;
  }

  /** The member id of the person this device acts for. */
  get personId(): Uint8Array {
    return actorPersonId(this.signer);
  }

  /** This device's id: the author of what it seals (for a first device, the member id). */
  get deviceId(): Uint8Array {
    return actorKeys(this.signer).memberId;
  }

  /** This device's certificate, for a certified device; undefined for a first device. */
  get certificate(): Uint8Array | undefined {
    return this.signer instanceof Identity ? undefined : this.signer.certificate.slice();
  }

  /**
   * Opens the device on `storage` under `deviceKey`: loads who acts from it, or creates an
   * identity from fresh words (see {@link LocalDevice.newWords}), or restores from
   * `options.mnemonic`: a new device certified by that identity. Throws AtRestError when what
   * is kept cannot be opened with this key.
   */
  static async open(storage: Storage, deviceKey: DeviceKey, options: LocalDeviceOptions = {}): Promise<LocalDevice> {
    if (options.mnemonic === undefined) {
      const kept = await LocalDevice.load(storage, deviceKey);
      if (kept) return kept;
      const words = generateMnemonic();
      const identity = await saveIdentity(storage, deviceKey, words);
      return new LocalDevice(storage, deviceKey, identity, identity, words);
    }
    const identity = await saveIdentity(storage, deviceKey, options.mnemonic);
    const keys = newDeviceKeys();
    const device: CertifiedDevice = {
      keys,
      certificate: await certifyDevice(identity, await requestDeviceCertificate(keys, identity.memberId, options.label ?? 'Restored device')),
      person: { signingPublicKey: identity.signingPublicKey, agreementPublicKey: identity.agreementPublicKey },
    };
    await saveDevice(storage, deviceKey, device);
    return new LocalDevice(storage, deviceKey, identity, device, undefined);
  }

  /**
   * The device kept on `storage` under `deviceKey`, or undefined when it keeps none: unlike
   * {@link LocalDevice.open}, never creates an identity (an app shows its welcome instead, and
   * keeps a new identity only once its person confirmed the words). Throws AtRestError when
   * what is kept cannot be opened with this key.
   */
  static async load(storage: Storage, deviceKey: DeviceKey): Promise<LocalDevice | undefined> {
    const kept = await loadIdentity(storage, deviceKey);
    const device = await loadDevice(storage, deviceKey);
    if (device) return new LocalDevice(storage, deviceKey, kept?.identity, device, undefined);
    if (kept) return new LocalDevice(storage, deviceKey, kept.identity, kept.identity, undefined);
    return undefined;
  }

  /** In a browser: the IndexedDB store `database` (default `sealdoc`) and its non-extractable device key. */
  static async inBrowser(database = 'sealdoc', options: LocalDeviceOptions = {}): Promise<LocalDevice> {
    const storage = await IndexedDBStorage.open(database);
    return LocalDevice.open(storage, await DeviceKey.inBrowser(storage), options);
  }

  /** The ids (hex) of the groups this device keeps. */
  groups(): Promise<string[]> {
    return Group.stored(this.storage);
  }

  /**
   * The group `groupId` (hex or bytes) as this device keeps it; undefined when it keeps none
   * such. Without an id: the group of this person's own (the one a restore found or a link
   * named; else the oldest group this very device founded alone, such as an app's first
   * document; else a group of one, made here), kept from the first call on. Never one that
   * reached the device from the relay otherwise: anyone can make a group naming this person,
   * and a document sealed to it would be theirs to read.
   */
  group(): Promise<Group>;
  group(groupId: string | Uint8Array): Promise<Group | undefined>;
  async group(groupId?: string | Uint8Array): Promise<Group | undefined> {
    const id = typeof groupId === 'string' ? unhex(groupId) : groupId;
    if (id) return Group.open({ signer: this.signer, groupId: id, storage: this.storage });
    const own = await this.storage.load(OWN_GROUP_KEY);
    const kept = own && (await Group.open({ signer: this.signer, groupId: own, storage: this.storage }));
    if (kept) return kept;
    const founded = await this.#foundedAlone();
    if (founded) {
      await this.storage.save(OWN_GROUP_KEY, founded.groupId);
      return founded;
    }
    const group = new Group({ signer: this.signer, log: await MembershipLog.fromOps([await createGroup(this.signer)]), keyring: new Keyring(), storage: this.storage });
    await group.refresh();
    await this.storage.save(OWN_GROUP_KEY, group.groupId);
    return group;
  }

  /** The oldest kept group whose creation this device signed with itself as the only member. */
  async #foundedAlone(): Promise<Group | undefined> {
    let oldest: { time: number; group: Group } | undefined;
    for (const id of await this.groups()) {
      const group = await this.group(id);
      if (!group) continue;
      const genesis = group.log.opAt(0);
      const alone = genesis.change.type === 'create' && genesis.change.members.length === 1 && hex(genesis.change.members[0]!.memberId) === hex(this.personId);
      if (alone && hex(genesis.author) === hex(this.deviceId) && (!oldest || genesis.time < oldest.time)) oldest = { time: genesis.time, group };
    }
    return oldest?.group;
  }

  /**
   * Brings this person's other devices (those its own group knows) into `group`, which this
   * device acts in (one it just joined, say): a certify-device op for each that is missing
   * and was never revoked there, signed here. Resolves with the devices brought in.
   */
  async bringDevices(group: Group): Promise<Uint8Array[]> {
    const own = await this.group();
    const brought: Uint8Array[] = [];
    for (const d of own.log.devices(this.personId)) {
      if (d.identity || !d.certificate || group.log.device(d.deviceId) || group.log.wasRevoked(d.deviceId)) continue;
      await group.addDevice(d.certificate);
      brought.push(d.deviceId);
    }
    return brought;
  }

  /**
   * Revokes a device of this person in every group this device keeps, and in those the relay
   * lists for it (`transport`, which also carries the ops): each group moves to a new epoch the
   * revoked device cannot read. Resolves with the groups where it failed (this device is no
   * member there any more, say), empty when it went everywhere. Said with the identity's hello
   * (a device that holds the words), the relay lists every group of the person.
   */
  async revokeDevice(deviceId: Uint8Array, transport: WebSocketTransport): Promise<{ groupId: string; error: Error }[]> {
    const ids = new Set(await this.groups());
    for (const id of await listRelayGroups(transport)) ids.add(hex(id));
    const failed: { groupId: string; error: Error }[] = [];
    for (const id of ids) {
      try {
        const group = (await this.group(id)) ?? (await fetchRelayGroup(transport, { signer: this.signer, groupId: unhex(id), storage: this.storage }));
        if (!group.log.device(deviceId)) continue;
        group.relay = transport;
        await group.revokeDevice(deviceId);
      } catch (error) {
        failed.push({ groupId: id, error: error as Error });
      }
    }
    return failed;
  }

  /**
   * Deletes everything this device keeps in its store: documents, logs, unsent edits, the
   * sealed identity and device keys. For a device its person revoked (the provider calls it
   * once the revocation verified), or a person leaving a shared computer. Irreversible: the
   * words restore the person on a new device.
   */
  async wipe(): Promise<void> {
    await this.storage.removeRange([]);
  }

  /**
   * On a device restored from the words: brings it into every group its person belongs to at
   * the relay. `transport` must say hello with the identity key (`{ identity: device.identity }`):
   * each group's log is fetched and verified, this device is certified into it (an op signed by
   * the identity, wrapping it the current epoch's secret) and the group is kept here. The
   * person's own group (the oldest group the person founded alone) becomes this device's.
   * Returns the groups, as this device acts in them. Throws when this device holds no identity.
   */
  async enterRelayGroups(transport: WebSocketTransport, options: { timeoutMs?: number } = {}): Promise<Group[]> {
    const identity = this.identity;
    if (!identity || this.signer instanceof Identity) throw new TypeError('only a device restored from the words enters its groups this way');
    const groups: Group[] = [];
    let own: { time: number; groupId: Uint8Array } | undefined;
    for (const groupId of await listRelayGroups(transport)) {
      const asIdentity = await fetchRelayGroup(transport, { signer: identity, groupId, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
      asIdentity.relay = transport;
      if (!asIdentity.log.device(this.deviceId)) await asIdentity.addDevice(this.signer.certificate);
      const group = new Group({ signer: this.signer, log: asIdentity.log, keyring: new Keyring(), storage: this.storage });
      await group.refresh();
      groups.push(group);
      const genesis = group.log.opAt(0);
      const alone = genesis.change.type === 'create' && genesis.change.members.length === 1 && hex(genesis.change.members[0]!.memberId) === hex(this.personId);
      if (alone && (!own || genesis.time < own.time)) own = { time: genesis.time, groupId: group.groupId };
    }
    if (own && !(await this.storage.load(OWN_GROUP_KEY))) await this.storage.save(OWN_GROUP_KEY, own.groupId);
    return groups;
  }
}
