/**
 * Documents: a new one (a group of its own), its title (sealed in the document, the Y.Text
 * 'title'), renaming it, deleting it for everyone (an admin), leaving it (a member), and
 * forgetting it on this device.
 * @module
 */
import { createGroup, Keyring, MembershipLog, toHex as hex } from '@sealdoc/crypto';
import { Group } from '@sealdoc/core';
import { describeError } from '@sealdoc/ui';
import { forgotten } from './forgotten.js';
import { openDoc } from './session.js';
import { app, draw, say, type OpenDoc } from './state.js';

/** What the list shows of one document: its actions, its title being renamed, or an action waiting to be confirmed. */
export const listState = {
  menu: undefined as string | undefined,
  renaming: undefined as string | undefined,
  confirming: undefined as { key: string; action: 'delete' | 'leave' | 'forget' } | undefined,
};

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
  if (open) rename(open, (event.target as HTMLInputElement).value);
}

/** The document's title becomes `value`: one edit, sent sealed to the others like any other. */
export function rename(open: OpenDoc, value: string): void {
  const title = open.doc.getText('title');
  if (title.toString() === value) return;
  open.doc.transact(() => {
    title.delete(0, title.length);
    title.insert(0, value);
  });
}

/** The document's title, or what shows for one without. */
export function titleOf(open: OpenDoc): string {
  return open.doc.getText('title').toString() || 'Untitled document';
}

/**
 * Admin: deletes the document for everyone. The relay deletes nothing (it only ever holds
 * ciphertext), so every other member is removed (each removal starts a new key they do not
 * get), and this device forgets the document.
 */
export async function deleteDocument(open: OpenDoc): Promise<void> {
  const name = titleOf(open);
  try {
    for (const member of open.group.log.members()) if (hex(member.memberId) !== hex(open.group.personId)) await open.group.removeMember(member.memberId);
    await forget(open);
    say(`“${name}” was deleted: its other members lost access, and this device forgot it.`);
  } catch (error) {
    say(describeError(error));
  }
}

/** A member (not the last admin) leaves the document: its own removal, then this device forgets it. */
export async function leaveDocument(open: OpenDoc): Promise<void> {
  const name = titleOf(open);
  try {
    await open.group.leave();
    await forget(open);
    say(`You left “${name}”. An admin can invite you again.`);
  } catch (error) {
    say(describeError(error));
  }
}

/** Forgets the document on this device only: nothing changes for the others. */
export async function forgetDocument(open: OpenDoc): Promise<void> {
  const name = titleOf(open);
  try {
    await forget(open);
    say(`“${name}” was deleted from this device.`);
  } catch (error) {
    say(describeError(error));
  }
}

/**
 * Deletes what this device holds of the document, and keeps it from coming back from the relay.
 * Noted as forgotten first: a page closed before the rest is done finishes it at its next start.
 */
async function forget(open: OpenDoc): Promise<void> {
  const key = hex(open.group.groupId);
  await forgotten.add(key);
  app.docs.delete(key);
  if (app.current === key) app.current = [...app.docs.keys()][0];
  draw();
  // Its last writes done first; then Group.forget deletes all of it (its document's records too).
  await open.sealed.destroy();
  open.people.destroy();
  open.awareness.destroy();
  await Group.forget(app.storage!, open.group.groupId);
}
