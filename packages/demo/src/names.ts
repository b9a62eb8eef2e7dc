/**
 * The names this device shows: its own, as others see it, and those other members gave
 * themselves, by member id: as their signed records in the documents proved them
 * (MemberNames, in core), or as a join request gave them to the admin before. Kept here so
 * that they show while nobody is online, and for members who have left. They tell who works with whom, so they
 * are kept like the rest: one record in the store, sealed under the device key. Earlier
 * versions kept them readable in localStorage; {@link Names.load} moves them in and deletes
 * them there.
 * @module
 */
import type { DeviceKey, Storage } from '@sealdoc/core';
import { SealedRecord } from './sealed-record.js';

/** Where earlier versions kept other members' names (JSON pairs) and this device's own. */
const LEGACY_OTHERS = 'sealdoc-names';
const LEGACY_MINE = 'sealdoc-my-name';

interface NamesRecord {
  mine: string;
  others: [string, string][];
}

/** The [id, name] pairs of `value`, whatever else it holds. */
function pairs(value: unknown): [string, string][] {
  return Array.isArray(value) ? value.filter((p): p is [string, string] => Array.isArray(p) && typeof p[0] === 'string' && typeof p[1] === 'string') : [];
}

function parseLegacy(text: string | null): unknown {
  try {
    return JSON.parse(text ?? '[]');
  } catch {
    return []; // damaged: nothing to move, and it is deleted with the rest
  }
}

export class Names {
  #mine = '';
  readonly #others = new Map<string, string>();
  readonly #record = new SealedRecord('names');

  /** This device's own name ('' until one is given). */
  get mine(): string {
    return this.#mine;
  }

  /** Other members' names, by member id (hex). */
  get others(): ReadonlyMap<string, string> {
    return this.#others;
  }

  /**
   * Reads the record kept in `storage`, moves in what localStorage still holds from earlier
   * versions, and from then on keeps every change there. Until then, changes are kept in
   * memory only (a store that did not open).
   */
  async load(storage: Storage, deviceKey: DeviceKey): Promise<void> {
    // None (or one sealed under a key that is gone): names come back as people show up.
    const record = (await this.#record.load(storage, deviceKey)) as Partial<NamesRecord> | undefined;
    if (typeof record?.mine === 'string') this.#mine = record.mine;
    for (const [id, name] of pairs(record?.others)) this.#others.set(id, name);
    const legacyMine = localStorage.getItem(LEGACY_MINE);
    const legacyOthers = localStorage.getItem(LEGACY_OTHERS);
    if (legacyMine === null && legacyOthers === null) return;
    // What the sealed record holds was written later: it wins.
    this.#mine ||= legacyMine ?? '';
    for (const [id, name] of pairs(parseLegacy(legacyOthers))) if (!this.#others.has(id)) this.#others.set(id, name);
    await this.#save();
    // Deleted once sealed: a save that fails leaves them for the next start.
    localStorage.removeItem(LEGACY_MINE);
    localStorage.removeItem(LEGACY_OTHERS);
  }

  /** Sets this device's own name; resolves once it is kept. */
  setMine(name: string): Promise<void> {
    if (name === this.#mine) return this.#record.saving;
    this.#mine = name;
    return this.#save();
  }

  /** Notes the name member `id` gave itself; resolves once it is kept. */
  learn(id: string, name: string): Promise<void> {
    if (!name || this.#others.get(id) === name) return this.#record.saving;
    this.#others.set(id, name);
    return this.#save();
  }

  #save(): Promise<void> {
    return this.#record.save((): NamesRecord => ({ mine: this.#mine, others: [...this.#others] }));
  }
}
