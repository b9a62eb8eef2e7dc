/**
 * A session of the demo: the identity created or restored, the connection to the relay, the
 * documents opened (one group per document) and kept open while the page lives.
 * @module
 */
import * as Y from 'yjs';
import { Awareness, removeAwarenessStates } from 'y-protocols/awareness';
import { actorKeys, actorPersonId, fromHex, generateMnemonic, toHex as hex } from '@sealdoc/crypto';
import { DeviceKey, Group, IndexedDBStorage, INVITE_FRAGMENT, fetchRelayGroup, listRelayGroups, LocalDevice, MemberNames, saveIdentity, SealedDoc, WebSocketTransport } from '@sealdoc/core';
import { describeError, personColor, type InvitationDetail, type RestoreDetail } from '@sealdoc/ui';
import { eraseBrowser } from './erase.js';
import { forgotten } from './forgotten.js';
import { startCheck } from './invite-check.js';
import { invites } from './invites.js';
import { app, DATABASE, draw, keep, names, prefs, RELAY_URL, say, type OpenDoc } from './state.js';

/** Whether `link` is an invitation link. */
export function isInvite(link: string): boolean {
  return link !== '' && new URL(link).hash.includes(`${INVITE_FRAGMENT}=`);
}

let opening: Promise<void> | undefined;
// The name typed before the store was open: kept once it is.
let typedName = '';

/** Opens this browser's store and device key, once, and the names it keeps. */
export function openStore(): Promise<void> {
  opening ??= (async () => {
    app.storage = await IndexedDBStorage.open(DATABASE);
    app.deviceKey = await DeviceKey.inBrowser(app.storage as IndexedDBStorage);
    await names.load(app.storage, app.deviceKey);
    await forgotten.load(app.storage, app.deviceKey);
    // "Work offline" holds across a reload: with it on, no connection is opened at all.
    await prefs.load(app.storage, app.deviceKey);
    app.offline = prefs.offline;
    await invites.load(app.storage, app.deviceKey);
    invites.onChange = draw;
    invites.onError = (error) => say(describeError(error));
    if (typedName) await names.setMine(typedName);
  })().catch((error: unknown) => {
    opening = undefined;
    throw error;
  });
  return opening;
}

/**
 * Whether this browser keeps something of the app's: a store, or names an earlier version left
 * in localStorage (opening the store moves them in). A first visit, or a wiped device, keeps none.
 */
async function storeKept(): Promise<boolean> {
  if (!indexedDB.databases || localStorage.length > 0) return true;
  return (await indexedDB.databases()).some((database) => database.name === DATABASE);
}

/**
 * Starts the session when this browser keeps a device (an identity, or a device linked or
 * restored), else shows the welcome (or, opened with a device link, the screen that links
 * this browser). A browser that keeps nothing is left so until its person acts: no store is
 * made to look.
 */
export async function boot(): Promise<void> {
  // Before anything is asked of the person: whether the link they opened can still let them in.
  if (app.invite) void startCheck(app.invite);
  try {
    const device = (await storeKept()) ? (await openStore(), await LocalDevice.load(app.storage!, app.deviceKey!)) : undefined;
    if (!device) {
      app.screen = app.link ? 'link' : 'welcome';
      return draw();
    }
    app.identity = device.identity;
    app.signer = device.signer;
    await startSession();
    if (app.link) say('This browser is already one of your devices: open the link in the browser you want to add.');
    app.link = '';
  } catch (error) {
    app.screen = 'welcome';
    say(describeError(error));
  }
}

/**
 * A new identity: its words shown next, and kept in memory only until its person types some
 * of them back ({@link confirmIdentity}). A reload before that keeps no identity: the welcome
 * again, never an identity whose words nobody wrote down.
 */
export async function createIdentity(): Promise<void> {
  if (!saveName(false)) return;
  app.words = generateMnemonic();
  app.screen = 'words';
  draw();
}

/** The words confirmed: the identity is kept (sealed under the device key) and the session starts. */
export async function confirmIdentity(): Promise<void> {
  try {
    await openStore();
    app.identity = await saveIdentity(app.storage!, app.deviceKey!, app.words);
    app.signer = app.identity;
    await startSession();
  } catch (error) {
    say(describeError(error));
  }
}

/**
 * Keeps the name typed on the welcome screen; false (and said) when there is none. With no
 * store open yet, it is kept once one is: opened now, unless `open` is false (a new identity,
 * whose store waits for the words to be confirmed).
 */
export function saveName(open = true): boolean {
  const input = document.getElementById('my-name') as HTMLInputElement | null;
  const name = input?.value.trim() ?? names.mine;
  if (!name) {
    say('Type the name others will see first.');
    return false;
  }
  typedName = name;
  if (app.storage) keep(names.setMine(name));
  else if (open) keep(openStore());
  return true;
}

/**
 * Restored from the words: a new device of the person, certified by the identity (it never
 * shares sequence numbers with the person's other browsers). Once online, it is brought into
 * the person's groups through a connection that says hello with the identity.
 */
export async function restoreFromWords(detail: RestoreDetail): Promise<void> {
  await restoreDevice(detail.words);
  await startSession();
  say('Identity restored. Your documents come back from the server as it connects.');
}

/** A new device of the person of `words`, brought into the person's groups at the relay; false when the relay could not be reached. */
export async function restoreDevice(words: string): Promise<boolean> {
  await openStore();
  const device = await LocalDevice.open(app.storage!, app.deviceKey!, { mnemonic: words, label: 'Browser' });
  app.identity = device.identity;
  app.signer = device.signer;
  if (app.offline) return false;
  const asIdentity = new WebSocketTransport({ url: RELAY_URL, identity: device.identity! });
  try {
    // Not for ever: without the relay, the groups open as the identity (the backup's) or come later.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reachable = await Promise.race([asIdentity.connect().then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 5000)))]);
    clearTimeout(timer);
    if (!reachable) return false;
    await device.enterRelayGroups(asIdentity);
    return true;
  } catch (error) {
    say(describeError(error));
    return false;
  } finally {
    await asIdentity.disconnect();
  }
}

/** Online: a transport to the relay, every document kept here opened, the ones the relay knows of fetched. */
export async function startSession(): Promise<void> {
  const signer = app.signer!;
  app.words = '';
  app.transport = new WebSocketTransport({ url: RELAY_URL, identity: actorKeys(signer), cursors: app.storage! });
  app.transport.events.on('status', ({ status }) => {
    if (status === 'online') {
      void fetchGroups();
      // Back: this device's presence anew (a newer clock than the "left" the others last had, which they would otherwise keep).
      for (const { awareness } of app.docs.values()) awareness.setLocalState(awareness.getLocalState());
    }
    // Offline, the others' presence is stale: nobody shows as here (they come back with the relay).
    else for (const { awareness } of app.docs.values()) removeAwarenessStates(awareness, [...awareness.getStates().keys()].filter((c) => c !== awareness.clientID), 'offline');
    draw();
  });
  for (const id of await Group.stored(app.storage!)) {
    // A forget cut short (the page closed before it was done) is finished, not opened.
    if (forgotten.has(id)) {
      await Group.forget(app.storage!, fromHex(id));
      continue;
    }
    const group = await Group.open({ signer, groupId: fromHex(id), storage: app.storage! });
    if (group) openDoc(group);
  }
  app.current ??= [...app.docs.keys()][0];
  app.screen = app.invite ? 'join' : 'main';
  if (!app.offline) app.transport.connect().catch(() => undefined); // a refusal reaches the status as an error event
  draw();
}

/** The groups the relay says this member belongs to: those not kept here are fetched (a restore, another device). */
async function fetchGroups(): Promise<void> {
  const transport = app.transport!;
  try {
    for (const groupId of await listRelayGroups(transport)) {
      if (app.docs.has(hex(groupId)) || forgotten.has(hex(groupId))) continue;
      const group = await fetchRelayGroup(transport, { signer: app.signer!, groupId, storage: app.storage! });
      if (app.docs.has(hex(groupId))) continue;
      openDoc(group);
      app.current ??= hex(group.groupId);
      draw();
    }
  } catch (error) {
    // Offline again (the next connection asks again), or a log that does not verify: said in the console, never applied.
    console.warn('sealdoc:', (error as { code?: string }).code ?? (error as Error).name);
  }
}

/** The document of `group`, opened once: its Y.Doc, presence and engine. */
export function openDoc(group: Group): OpenDoc {
  const key = hex(group.groupId);
  const known = app.docs.get(key);
  if (known) return known;
  // Opened here again by this person's choice (the app's own paths skip forgotten groups).
  keep(forgotten.remove(key));
  const doc = new Y.Doc();
  const awareness = new Awareness(doc);
  const me = hex(actorPersonId(app.signer!));
  awareness.setLocalStateField('user', { name: names.mine || 'Me', color: personColor(me, group.log.members().map((m) => hex(m.memberId))) });
  // Names travel in the document, each signed by its person's device (MemberNames checks
  // them); presence only says who is here, never who is who. Kept here for when no one is.
  const people = new MemberNames(doc, group);
  people.events.on('change', ({ person, name }) => {
    if (name && person !== me) keep(names.learn(person, name));
    // Renamed (or named) on another device of this person: this one takes it.
    else if (name && people.get(person)?.device !== hex(group.deviceId)) keep(names.setMine(name));
    if (app.current === key) draw();
  });
  // Membership changes go through the relay: one it refuses changes nothing here.
  group.relay = app.transport!;
  // One document per group: its id is the group's.
  const sealed = new SealedDoc(doc, { group, docId: group.groupId, storage: app.storage!, deviceKey: app.deviceKey!, transport: app.transport!, awareness });
  sealed.events.on('error', ({ error }) => console.warn('sealdoc:', (error as { code?: string }).code ?? error.name));
  // This device revoked by its person (verified in the log, which no relay can forge): it erases its copy, as the provider does.
  sealed.events.on('access-removed', ({ revoked }) => void (revoked && eraseBrowser({ removed: true }).catch((error: unknown) => say(describeError(error)))));
  doc.getText('title').observe(() => draw());
  group.events.on('membership', () => draw());
  // This admin's invitations of the group, kept across reloads: requests that came meanwhile show.
  invites.resume(group, app.transport!, location.origin + location.pathname);
  const open = { group, doc, sealed, awareness, people };
  app.docs.set(key, open);
  // This person's name, once the document's own records are read (nothing written when it holds it already).
  void sealed.whenLoaded.then(() => publishName(open, false));
  group.events.on('membership', () => publishName(open, false));
  return open;
}

/**
 * This person's name into the document of `open`, signed: always after a rename (`renamed`),
 * else only when the document holds none of this person yet (one from another of its devices
 * may be newer). A reader's cannot travel (it may not write), so it is not tried.
 */
function publishName(open: OpenDoc, renamed: boolean): void {
  const role = open.group.role;
  if (!names.mine || (role !== 'admin' && role !== 'writer')) return;
  void open.people.checked
    .then(() => (renamed || !open.people.get(hex(open.group.personId)) ? open.people.set(names.mine) : undefined))
    .catch((error: unknown) => say(describeError(error)));
}

/** This person's new name: kept here, shown at its carets, and sent into every document. */
export function rename(name: string): void {
  const clean = name.trim();
  if (!clean || clean === names.mine) return draw();
  keep(names.setMine(clean));
  for (const open of app.docs.values()) {
    open.awareness.setLocalStateField('user', { ...(open.awareness.getLocalState()?.['user'] as object), name: clean });
    publishName(open, true);
  }
  draw();
}

/** The "Work offline" switch, kept for the next visit. */
export async function toggleOffline(event: Event): Promise<void> {
  app.offline = (event.target as HTMLInputElement).checked;
  keep(prefs.setOffline(app.offline));
  if (app.offline) {
    // The others see this device leave at once, not after its presence times out (30 s): its
    // "left" goes first (the transport sends what it is given a few microtasks later, in order).
    for (const { sealed } of app.docs.values()) sealed.leaveNow();
    await new Promise((resolve) => setTimeout(resolve, 0));
    await app.transport!.disconnect();
  } else app.transport!.connect().catch(() => undefined);
  draw();
}

/** An invitation accepted: its document opens. */
export function joined(event: CustomEvent<{ group: Group }>): void {
  const open = openDoc(event.detail.group);
  app.current = hex(open.group.groupId);
  app.invite = '';
  app.screen = 'main';
  draw();
}

/** An invitation created here: kept (sealed) so that it outlives a reload. */
export function invitationCreated(event: CustomEvent<InvitationDetail>): void {
  keep(invites.keep(event.detail.invitation));
  draw();
}

/** A member admitted through an invitation: its name kept. */
export function admitted(event: CustomEvent<{ memberId: Uint8Array; name: string }>): void {
  keep(names.learn(hex(event.detail.memberId), event.detail.name));
  draw();
}
