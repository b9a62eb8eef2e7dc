import type * as Y from 'yjs';
import { LocalDevice, SealdocProvider } from '@sealdoc/core';

/** In place of `new WebsocketProvider(url, name, ydoc)` plus `new IndexeddbPersistence(name, ydoc)`. */
export async function openSealed(relayUrl: string, name: string, ydoc: Y.Doc, database = 'sealdoc') {
  const device = await LocalDevice.inBrowser(database); // encrypted IndexedDB store, non-extractable key, identity
  // device.newWords: when this call created the identity, its 24 recovery words: show them once.
  const group = await device.group(); // this person's own group (made on first use), never one the relay brought
  const provider = new SealdocProvider(relayUrl, name, ydoc, { group, device });
  await provider.whenLoaded; // what the device keeps of the document is there, offline too
  return provider;
}
