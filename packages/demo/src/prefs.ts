/**
 * This device's preferences: for now, whether it works offline ("Work offline"), which a
 * reload keeps (a reload with it on opens no connection at all). Kept like the names: one
 * record in the store, sealed under the device key, never in localStorage.
 * @module
 */
import type { DeviceKey, Storage } from '@sealdoc/core';

const KEY = ['demo', 'prefs'];
const CONTEXT = KEY.join('/');

interface PrefsRecord {
  offline: boolean;
}

/** This device's preferences, read from the store once it is open and kept there sealed at every change. */
export class Prefs {
  #offline = false;
  #store: { storage: Storage; deviceKey: DeviceKey } | undefined;
  #saving: Promise<void> = Promise.resolve();

  /** Whether this device works offline (false until the record is read). */
  get offline(): boolean {
    return this.#offline;
  }

  /**
   * Reads the record kept in `storage` and from then on keeps every change there. A record this
   * key cannot open (sealed under a key that is gone), or one that is not a record, counts as
   * none: the defaults hold and it is overwritten at the next change.
   */
  async load(storage: Storage, deviceKey: DeviceKey): Promise<void> {
    const sealed = await storage.load(KEY);
    const record = sealed && (await deviceKey.open(sealed, CONTEXT).then((bytes) => JSON.parse(new TextDecoder().decode(bytes)) as Partial<PrefsRecord>, () => undefined));
    this.#offline = record?.offline === true;
    this.#store = { storage, deviceKey };
  }

  /** Sets whether this device works offline; resolves once it is kept. */
  setOffline(offline: boolean): Promise<void> {
    if (offline === this.#offline) return this.#saving;
    this.#offline = offline;
    return this.#save();
  }

  /** Seals the whole record once the save under way is done: the last change is the one kept. */
  #save(): Promise<void> {
    const store = this.#store;
    if (!store) return Promise.resolve();
    const saving = this.#saving.then(async () => {
      const record: PrefsRecord = { offline: this.#offline };
      await store.storage.save(KEY, await store.deviceKey.seal(new TextEncoder().encode(JSON.stringify(record)), CONTEXT));
    });
    this.#saving = saving.catch(() => undefined);
    return saving;
  }
}
