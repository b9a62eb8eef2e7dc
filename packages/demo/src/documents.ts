/**
 * Documents: a new one (a group of its own), its title.
 * @module
 */
import { createGroup, Keyring, MembershipLog, toHex as hex } from '@sealdoc/crypto';
import { Group } from '@sealdoc/core';
import { openDoc } from './session.js';
import { app, draw } from './state.js';

/** A new document, in a new group of which this person is the admin. */
export async function newDocument(): Promise<void> {
  const signer = app.signer!;
  const group = new Group({ signer, log: await MembershipLog.fromOps([await createGroup(signer)]), keyring: new Keyring(), storage: app.storage! });
  await group.refresh();
  openDoc(group); // no title yet: "Untitled document" is the field's placeholder, never text of the document
  app.current = hex(group.groupId);
  draw();
}

/** The title field's input: the open document's title becomes what it holds. */
export function setTitle(event: Event): void {
  const open = app.docs.get(app.current!);
  if (!open) return;
  const title = open.doc.getText('title');
  const value = (event.target as HTMLInputElement).value;
  open.doc.transact(() => {
    title.delete(0, title.length);
    title.insert(0, value);
  });
}
