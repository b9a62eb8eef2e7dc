/**
 * This device's preferences: for now, whether it works offline ("Work offline"), which a
 * reload keeps (a reload with it on opens no connection at all). Kept like the names: one
 * record in the store, sealed under the device key, never in localStorage.
 * @module
 */
import type { DeviceKey, Storage } from '@sealdoc/core';
import { SealedRecord } from './sealed-record.js';

interface PrefsRecord {
  offline: boolean;
}

/** This device's preferences, read from the store once it is open and kept there sealed at every change. */
export class Prefs {
  #offline = false;
  readonly #record = new SealedRecord('prefs');

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
    const record = (await this.#record.load(storage, deviceKey)) as Partial<PrefsRecord> | undefined;
    this.#offline = record?.offline === true;
  }

  /** Sets whether this device works offline; resolves once it is kept. */
  setOffline(offline: boolean): Promise<void> {
    if (offline === this.#offline) return this.#record.saving;
    this.#offline = offline;
    return this.#record.save((): PrefsRecord => ({ offline: this.#offline }));
  }
}
