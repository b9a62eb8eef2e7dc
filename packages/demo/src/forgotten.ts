/**
 * The documents this device was told to forget (deleted, left, or forgotten here): their
 * groups are not fetched from the relay again, where a group stays as long as its last
 * member does. Which groups a person was in tells who works with whom, so the list is kept
 * like the names: one record in the store, sealed under the device key.
 * @module
 */
import type { DeviceKey, Storage } from '@sealdoc/core';

const KEY = ['demo', 'forgotten'];
const CONTEXT = KEY.join('/');

export class Forgotten {
  readonly #ids = new Set<string>();
  #store: { storage: Storage; deviceKey: DeviceKey } | undefined;
  #saving: Promise<void> = Promise.resolve();

  /** Reads the record kept in `storage` (none, or one this key cannot open: an empty list), and keeps every change there from then on. */
  async load(storage: Storage, deviceKey: DeviceKey): Promise<void> {
    const sealed = await storage.load(KEY);
    const ids = sealed && (await deviceKey.open(sealed, CONTEXT).then((bytes) => JSON.parse(new TextDecoder().decode(bytes)) as unknown, () => undefined));
    if (Array.isArray(ids)) for (const id of ids) if (typeof id === 'string') this.#ids.add(id);
    this.#store = { storage, deviceKey };
  }

  /** Whether the group of id `id` (hex) was forgotten here. */
  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Notes the group of id `id` (hex) as forgotten; resolves once it is kept. */
  add(id: string): Promise<void> {
    this.#ids.add(id);
    const store = this.#store;
    if (!store) return Promise.resolve();
    const saving = this.#saving.then(async () => {
      await store.storage.save(KEY, await store.deviceKey.seal(new TextEncoder().encode(JSON.stringify([...this.#ids])), CONTEXT));
    });
    this.#saving = saving.catch(() => undefined);
    return saving;
  }
}

/** The groups forgotten on this device, sealed in the store once it is open. */
export const forgotten = new Forgotten();
