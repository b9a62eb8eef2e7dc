import * as Y from 'yjs';
import { createGroup, fromHex, generateMnemonic, Keyring, MembershipLog } from '@sealdoc/crypto';
import { DeviceKey, Group, IndexedDBStorage, loadIdentity, saveIdentity, SealedDoc, WebSocketTransport } from '@sealdoc/core';

/**
 * In place of y-indexeddb and y-websocket:
 *   new IndexeddbPersistence(name, ydoc)          ->  the encrypted IndexedDB store
 *   new WebsocketProvider(url, name, ydoc)        ->  a relay that sees only ciphertext
 */
export async function sealedProvider(ydoc: Y.Doc, relayUrl: string, docId: Uint8Array, database = 'sealdoc') {
  // The device: an encrypted store, its non-extractable key, an identity (show its words once).
  const storage = await IndexedDBStorage.open(database);
  const deviceKey = await DeviceKey.inBrowser(storage);
  const identity = (await loadIdentity(storage, deviceKey))?.identity ?? (await saveIdentity(storage, deviceKey, generateMnemonic()));
  // The group whose members may read the document: here the first one kept, or a new group of one.
  const [kept] = await Group.stored(storage);
  let group = kept ? await Group.open({ identity, groupId: fromHex(kept), storage }) : undefined;
  if (!group) {
    group = new Group({ identity, log: await MembershipLog.fromOps([await createGroup(identity)]), keyring: new Keyring(), storage });
    await group.refresh();
  }
  const transport = new WebSocketTransport({ url: relayUrl, identity, cursors: storage });
  const provider = new SealedDoc(ydoc, { group, docId, storage, deviceKey, transport });
  transport.connect().catch(() => undefined); // online when it can be (a refusal is an error event too); offline meanwhile: edits wait, sealed, in the store
  await provider.whenLoaded; // as y-indexeddb's whenSynced: the stored document is there
  return provider; // 'synced' and 'status' events, whenSynced, destroy(), clearData()
}
