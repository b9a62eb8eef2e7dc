/**
 * The documents this device was told to forget (deleted, left, or forgotten here), noted
 * before anything is deleted: their groups are not fetched from the relay again, where a group
 * stays as long as its last member does, and one the store still holds when the app starts (a
 * forget cut short by the page closing) is deleted then, not opened. Which groups a person was
 * in tells who works with whom, so the list is kept like the names: one record in the store,
 * sealed under the device key.
 * @module
 */
import type { DeviceKey, Storage } from '@sealdoc/core';
import { SealedRecord } from './sealed-record.js';

export class Forgotten {
  readonly #ids = new Set<string>();
  readonly #record = new SealedRecord('forgotten');

  /** Reads the record kept in `storage` (none, or one this key cannot open: an empty list), and keeps every change there from then on. */
  async load(storage: Storage, deviceKey: DeviceKey): Promise<void> {
    const ids = await this.#record.load(storage, deviceKey);
    if (Array.isArray(ids)) for (const id of ids) if (typeof id === 'string') this.#ids.add(id);
  }

  /** Whether the group of id `id` (hex) was forgotten here. */
  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Notes the group of id `id` (hex) as forgotten; resolves once it is kept. */
  add(id: string): Promise<void> {
    this.#ids.add(id);
    return this.#record.save(() => [...this.#ids]);
  }

  /** The group of id `id` (hex) is opened here again (an invitation accepted, a backup restored): no longer forgotten. */
  remove(id: string): Promise<void> {
    if (!this.#ids.delete(id)) return Promise.resolve();
    return this.#record.save(() => [...this.#ids]);
  }
}

/** The groups forgotten on this device, sealed in the store once it is open. */
export const forgotten = new Forgotten();
