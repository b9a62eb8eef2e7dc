/**
 * LocalDevice: what a device needs before it opens any document, in one place: its encrypted
 * store (only ciphertext lands there), the device key that seals what it keeps at rest, and
 * the person's identity (kept sealed under that key; created from fresh words the first time,
 * which the app must show once). Providers take it as their `device` option.
 * @module
 */
import { createGroup, generateMnemonic, Keyring, MembershipLog, type Identity } from '@sealdoc/crypto';
import { DeviceKey } from './device-key.js';
import { Group } from './group.js';
import { loadIdentity, saveIdentity } from './identity-store.js';
import { IndexedDBStorage } from './indexeddb-storage.js';
import { unhex } from './bytes.js';
import type { Storage } from './storage.js';
import { OWN_GROUP_KEY } from './storage-keys.js';

export class LocalDevice {
  readonly storage: Storage;
  readonly deviceKey: DeviceKey;
  readonly identity: Identity;
  /**
   * The 24 words of an identity this device created when it was opened (none was kept):
   * show them once, for recovery. Undefined when the identity was already kept.
   */
  readonly newWords: string | undefined;

  private constructor(storage: Storage, deviceKey: DeviceKey, identity: Identity, newWords: string | undefined) {
    this.storage = storage;
    this.deviceKey = deviceKey;
    this.identity = identity;
    this.newWords = newWords;
  }

  /**
   * Opens the device on `storage` under `deviceKey`: loads the identity kept there, or creates
   * one from fresh words (see {@link LocalDevice.newWords}), or from `mnemonic` when given (a
   * restore). Throws AtRestError when the kept identity cannot be opened with this key.
   */
  static async open(storage: Storage, deviceKey: DeviceKey, options: { mnemonic?: string } = {}): Promise<LocalDevice> {
    const kept = options.mnemonic === undefined ? await loadIdentity(storage, deviceKey) : undefined;
    if (kept) return new LocalDevice(storage, deviceKey, kept.identity, undefined);
    const words = options.mnemonic ?? generateMnemonic();
    const identity = await saveIdentity(storage, deviceKey, words);
    return new LocalDevice(storage, deviceKey, identity, options.mnemonic === undefined ? words : undefined);
  }

  /** In a browser: the IndexedDB store `database` (default `sealdoc`) and its non-extractable device key. */
  static async inBrowser(database = 'sealdoc', options: { mnemonic?: string } = {}): Promise<LocalDevice> {
    const storage = await IndexedDBStorage.open(database);
    return LocalDevice.open(storage, await DeviceKey.inBrowser(storage), options);
  }

  /** The ids (hex) of the groups this device keeps. */
  groups(): Promise<string[]> {
    return Group.stored(this.storage);
  }

  /**
   * The group `groupId` (hex or bytes) as this device keeps it; undefined when it keeps none
   * such. Without an id: the group this device created for its person (a group of one, made
   * and kept on the first call), never one that reached the device from the relay: anyone can
   * make a group naming this person, and a document sealed to it would be theirs to read.
   */
  group(): Promise<Group>;
  group(groupId: string | Uint8Array): Promise<Group | undefined>;
  async group(groupId?: string | Uint8Array): Promise<Group | undefined> {
    const id = typeof groupId === 'string' ? unhex(groupId) : groupId;
    if (id) return Group.open({ identity: this.identity, groupId: id, storage: this.storage });
    const own = await this.storage.load(OWN_GROUP_KEY);
    const kept = own && (await Group.open({ identity: this.identity, groupId: own, storage: this.storage }));
    if (kept) return kept;
    const group = new Group({ identity: this.identity, log: await MembershipLog.fromOps([await createGroup(this.identity)]), keyring: new Keyring(), storage: this.storage });
    await group.refresh();
    await this.storage.save(OWN_GROUP_KEY, group.groupId);
    return group;
  }
}
