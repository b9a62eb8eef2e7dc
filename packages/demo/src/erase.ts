/**
 * Erasing this browser: everything the app keeps (its IndexedDB database: documents, unsent
 * edits, names, the sealed identity or device keys, the device key itself), then the page
 * starts again, at the welcome, with nothing of the session in memory. On the person's
 * request (Settings), or once a revocation of this device verified in a group's log: the
 * engine's provider erases a revoked device's copy the same way (LocalDevice.wipe).
 * @module
 */
import { IndexedDBStorage } from '@sealdoc/core';
import { app, DATABASE } from './state.js';

/** The fragment the page starts again with after a revocation erased it: the welcome says why. */
export const REMOVED_FRAGMENT = '#removed';

let erasure: Promise<void> | undefined;

/** Whether this browser is being erased (the page then reloads on purpose). */
export function erasing(): boolean {
  return erasure !== undefined;
}

/**
 * Closes the connection and the documents, deletes the database, and loads the page again
 * (with {@link REMOVED_FRAGMENT} when `removed`: this device's person revoked it). Rejects
 * when the database could not be deleted.
 */
export function eraseBrowser(options: { removed?: boolean } = {}): Promise<void> {
  erasure ??= (async () => {
    await app.transport?.disconnect();
    for (const open of app.docs.values()) await open.sealed.destroy().catch(() => undefined);
    await (app.storage as IndexedDBStorage | undefined)?.close();
    await IndexedDBStorage.deleteDatabase(DATABASE);
    if (options.removed) history.replaceState(history.state, '', REMOVED_FRAGMENT);
    location.reload();
  })().catch((error: unknown) => {
    erasure = undefined;
    throw error;
  });
  return erasure;
}
