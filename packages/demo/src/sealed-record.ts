/**
 * One JSON record of the demo's, kept in the store sealed under the device key (names,
 * preferences, invitations, forgotten documents): never in localStorage, nothing readable at
 * rest. Saves run one after the other, each sealing the value as it is when its turn comes,
 * so the last change is the one kept.
 * @module
 */
import type { DeviceKey, Storage } from '@sealdoc/core';

export class SealedRecord {
  readonly #key: string[];
  readonly #context: string;
  #store: { storage: Storage; deviceKey: DeviceKey } | undefined;
  #saving: Promise<void> = Promise.resolve();

  /** The record `demo/<name>`: its key in the store and its sealing context. */
  constructor(name: string) {
    this.#key = ['demo', name];
    this.#context = this.#key.join('/');
  }

  /**
   * Reads the record (its parsed JSON, unchecked: the caller takes what it recognizes) and keeps
   * `storage` for the saves from then on. None, or one this key cannot open (sealed under a key
   * that is gone, lost like everything sealed under it), is undefined: overwritten at the next save.
   */
  async load(storage: Storage, deviceKey: DeviceKey): Promise<unknown> {
    const sealed = await storage.load(this.#key);
    this.#store = { storage, deviceKey };
    return sealed && deviceKey.open(sealed, this.#context).then((bytes) => JSON.parse(new TextDecoder().decode(bytes)) as unknown, () => undefined);
  }

  /** The save under way (resolved when there is none). */
  get saving(): Promise<void> {
    return this.#saving;
  }

  /** Seals `value()` once the save under way is done; resolves once kept. Before {@link load}, keeps nothing. */
  save(value: () => unknown): Promise<void> {
    const store = this.#store;
    if (!store) return Promise.resolve();
    const saving = this.#saving.then(async () => {
      await store.storage.save(this.#key, await store.deviceKey.seal(new TextEncoder().encode(JSON.stringify(value())), this.#context));
    });
    this.#saving = saving.catch(() => undefined);
    return saving;
  }
}
