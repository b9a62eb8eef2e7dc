/**
 * SealdocPersistence: a Y.Doc kept in this device's encrypted store, shaped like y-indexeddb's
 * IndexeddbPersistence: `new SealdocPersistence(name, doc, { group, device })`, `whenSynced`,
 * a `synced` event, `clearData()`, `destroy()`. The store holds only ciphertext (envelopes
 * sealed under the group's keys, the document's state under the device key).
 *
 * A {@link SealdocProvider} with a `device` already keeps the document on the device: use this
 * for documents that are not synced through a relay, never both on one document.
 * @module
 */
import type * as Y from 'yjs';
import { ObservableV2 } from 'lib0/observable';
import { documentIdFromName } from '@sealdoc/crypto';
import { SealedDoc } from './sealed-doc.js';
import type { Group } from './group.js';
import type { LocalDevice } from './local-device.js';

/** What a {@link SealdocPersistence} reports. */
export interface SealdocPersistenceEvents {
  /** The stored document was applied (y-indexeddb's `synced`). */
  synced: (persistence: SealdocPersistence) => void;
  /** Storing or loading failed. */
  error: (error: Error) => void;
}

export class SealdocPersistence extends ObservableV2<SealdocPersistenceEvents> {
  readonly doc: Y.Doc;
  readonly name: string;
  /** The 16-byte id the name is hashed to inside the group. */
  readonly docId: Uint8Array;
  /** Resolves with this persistence once the stored document is applied. */
  readonly whenSynced: Promise<SealdocPersistence>;
  /** Whether the stored document is applied. */
  synced = false;
  readonly #sealed: SealedDoc;

  constructor(name: string, doc: Y.Doc, options: { group: Group; device: LocalDevice }) {
    super();
    this.doc = doc;
    this.name = name;
    this.docId = documentIdFromName(options.group.groupId, name);
    this.#sealed = new SealedDoc(doc, { group: options.group, docId: this.docId, storage: options.device.storage, deviceKey: options.device.deviceKey });
    this.#sealed.events.on('error', ({ error }) => this.emit('error', [error]));
    this.whenSynced = this.#sealed.whenLoaded.then(() => {
      this.synced = true;
      this.emit('synced', [this]);
      return this;
    });
  }

  /** Stops keeping the document: edits still batched are sealed and stored first. Stored data stays. */
  override async destroy(): Promise<void> {
    await this.#sealed.destroy();
    super.destroy();
  }

  /** Destroys this persistence and deletes what the store holds of the document. */
  async clearData(): Promise<void> {
    await this.#sealed.clearData();
    super.destroy();
  }
}
