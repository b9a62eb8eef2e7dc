/**
 * The demo web app: a device's identity (shown once as 24 words), its documents (one group
 * per document), invitations, offline editing, removal, restore from the words or from an
 * encrypted backup. Everything it keeps is in IndexedDB under the device key (names too), and
 * nothing readable anywhere else in the browser: no localStorage, no field the browser
 * remembers, no invitation link left in the address bar. Everything it sends goes sealed to
 * the relay that served the page.
 * @module
 */
// First: the invitation link leaves the address bar before any other module runs.
import { openedWith, takeFragment } from './fragment.js';
import { html, nothing, render } from 'lit';
import { keyed } from 'lit/directives/keyed.js';
import * as Y from 'yjs';
import { Awareness } from 'y-protocols/awareness';
import { actorKeys, createGroup, fromHex, generateMnemonic, Identity, Keyring, MembershipLog, openBackup, sealBackup, toHex as hex, type Actor } from '@sealdoc/crypto';
import {
  DeviceKey,
  Group,
  IndexedDBStorage,
  INVITE_FRAGMENT,
  fetchRelayGroup,
  listRelayGroups,
  loadIdentity,
  LocalDevice,
  saveIdentity,
  SealedDoc,
  WebSocketTransport,
  type Storage,
} from '@sealdoc/core';
import { describeError, type RestoreDetail } from '@sealdoc/ui';
import '@sealdoc/ui';
import { Names } from './names.js';

const DATABASE = 'sealdoc-demo';
const RELAY_URL = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
const COLORS = ['#c2410c', '#2457c5', '#15803d', '#9333ea', '#be123c', '#0e7490'];

interface OpenDoc {
  group: Group;
  doc: Y.Doc;
  sealed: SealedDoc;
  awareness: Awareness;
}

const root = document.getElementById('app')!;

const app = {
  storage: undefined as Storage | undefined,
  deviceKey: undefined as DeviceKey | undefined,
  identity: undefined as Identity | undefined,
  /** Who acts from this browser: the identity (where it was created), or a device of the person (restored from the words). */
  signer: undefined as Actor | undefined,
  transport: undefined as WebSocketTransport | undefined,
  docs: new Map<string, OpenDoc>(),
  current: undefined as string | undefined,
  offline: false,
  message: '',
  screen: 'loading' as 'loading' | 'welcome' | 'words' | 'restore' | 'import' | 'main' | 'join',
  words: '',
  invite: isInvite(openedWith) ? openedWith : '',
};

/** This device's name and the names others gave themselves, sealed in the store once it is open. */
const names = new Names();

function isInvite(link: string): boolean {
  return link !== '' && new URL(link).hash.includes(`${INVITE_FRAGMENT}=`);
}

/** A name change on its way to the store: one it refuses (full, closed) is said; the name still shows. */
function keep(saving: Promise<void>): void {
  saving.catch((error: unknown) => say(describeError(error)));
}

const field = (id: string) => document.getElementById(id) as HTMLInputElement;

/** Enter in a passphrase field runs `action`, as in a form: there is none, since browsers remember what forms submit. */
const onEnter = (action: () => Promise<void>) => (event: KeyboardEvent) => {
  if (event.key === 'Enter' && event.target instanceof HTMLInputElement && event.target.type === 'password') void action();
};

function say(message: string): void {
  app.message = message;
  draw();
}

async function boot(): Promise<void> {
  try {
    app.storage = await IndexedDBStorage.open(DATABASE);
    app.deviceKey = await DeviceKey.inBrowser(app.storage as IndexedDBStorage);
    await names.load(app.storage, app.deviceKey);
    const loaded = await loadIdentity(app.storage, app.deviceKey);
    if (!loaded) {
      app.screen = 'welcome';
      return draw();
    }
    const device = await LocalDevice.open(app.storage, app.deviceKey);
    app.identity = loaded.identity;
    app.signer = device.signer;
    await startSession();
  } catch (error) {
    app.screen = 'welcome';
    say(describeError(error));
  }
}

async function createIdentity(): Promise<void> {
  if (!saveName()) return;
  app.words = generateMnemonic();
  app.identity = await saveIdentity(app.storage!, app.deviceKey!, app.words);
  app.signer = app.identity;
  app.screen = 'words';
  draw();
}

function saveName(): boolean {
  const input = document.getElementById('my-name') as HTMLInputElement | null;
  const name = input?.value.trim() ?? names.mine;
  if (!name) {
    say('Type the name others will see first.');
    return false;
  }
  keep(names.setMine(name));
  return true;
}

/**
 * Restored from the words: a new device of the person, certified by the identity (it never
 * shares sequence numbers with the person's other browsers). Once online, it is brought into
 * the person's groups through a connection that says hello with the identity.
 */
async function restoreFromWords(detail: RestoreDetail): Promise<void> {
  await restoreDevice(detail.words);
  await startSession();
  say('Identity restored. Your documents come back from the server as it connects.');
}

/** A new device of the person of `words`, brought into the person's groups at the relay; false when the relay could not be reached. */
async function restoreDevice(words: string): Promise<boolean> {
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
async function startSession(): Promise<void> {
  const signer = app.signer!;
  app.words = '';
  app.transport = new WebSocketTransport({ url: RELAY_URL, identity: actorKeys(signer), cursors: app.storage! });
  app.transport.events.on('status', ({ status }) => {
    if (status === 'online') void fetchGroups();
    draw();
  });
  for (const id of await Group.stored(app.storage!)) {
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
      if (app.docs.has(hex(groupId))) continue;
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

function openDoc(group: Group): OpenDoc {
  const key = hex(group.groupId);
  const known = app.docs.get(key);
  if (known) return known;
  const doc = new Y.Doc();
  const awareness = new Awareness(doc);
  const me = hex(app.identity!.memberId);
  awareness.setLocalStateField('user', { name: names.mine || 'Me', color: COLORS[parseInt(me.slice(0, 2), 16) % COLORS.length], id: me });
  awareness.on('change', ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
    // This device's own caret moving (five times a second while typing) changes nothing shown here.
    if (![...added, ...updated, ...removed].some((client) => client !== awareness.clientID)) return;
    for (const state of awareness.getStates().values()) {
      const user = (state as { user?: { id?: unknown; name?: unknown } }).user;
      if (typeof user?.id === 'string' && typeof user.name === 'string') keep(names.learn(user.id, user.name.slice(0, 60)));
    }
    if (app.current === key) draw();
  });
  // Membership changes go through the relay: one it refuses changes nothing here.
  group.relay = app.transport!;
  // One document per group: its id is the group's.
  const sealed = new SealedDoc(doc, { group, docId: group.groupId, storage: app.storage!, deviceKey: app.deviceKey!, transport: app.transport!, awareness });
  sealed.events.on('error', ({ error }) => console.warn('sealdoc:', (error as { code?: string }).code ?? error.name));
  doc.getText('title').observe(() => draw());
  group.events.on('membership', () => draw());
  const open = { group, doc, sealed, awareness };
  app.docs.set(key, open);
  return open;
}

async function newDocument(): Promise<void> {
  const signer = app.signer!;
  const group = new Group({ signer, log: await MembershipLog.fromOps([await createGroup(signer)]), keyring: new Keyring(), storage: app.storage! });
  await group.refresh();
  openDoc(group); // no title yet: "Untitled document" is the field's placeholder, never text of the document
  app.current = hex(group.groupId);
  draw();
}

function setTitle(event: Event): void {
  const open = app.docs.get(app.current!);
  if (!open) return;
  const title = open.doc.getText('title');
  const value = (event.target as HTMLInputElement).value;
  open.doc.transact(() => {
    title.delete(0, title.length);
    title.insert(0, value);
  });
}

async function toggleOffline(event: Event): Promise<void> {
  app.offline = (event.target as HTMLInputElement).checked;
  if (app.offline) await app.transport!.disconnect();
  else app.transport!.connect().catch(() => undefined);
  draw();
}

/** The backup: the words, the name, and per document its log and its state, sealed under a passphrase. */
async function exportBackup(): Promise<void> {
  const [first, second] = [field('pass1'), field('pass2')];
  if (first.value.length < 8) return say('Choose a passphrase of 8 characters or more.');
  if (first.value !== second.value) return say('The two passphrases differ.');
  const loaded = await loadIdentity(app.storage!, app.deviceKey!);
  const payload = {
    v: 1,
    words: loaded!.mnemonic,
    name: names.mine,
    docs: [...app.docs.values()].map(({ group, doc }) => ({ ops: group.log.ops().map(toBase64), state: toBase64(Y.encodeStateAsUpdate(doc)) })),
  };
  const sealed = await sealBackup(new TextEncoder().encode(JSON.stringify(payload)), first.value, { onProgress: (p) => say(`Sealing the backup… ${Math.round(p * 100)} %`) });
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([new Uint8Array(sealed)], { type: 'application/octet-stream' }));
  link.download = 'sealdoc-backup.sdbk';
  link.click();
  URL.revokeObjectURL(link.href);
  first.value = second.value = '';
  say('Backup saved. Keep it and its passphrase apart.');
}

async function importBackup(): Promise<void> {
  const file = field('file').files?.[0];
  const passphrase = field('pass').value;
  if (!file) return say('Choose the backup file.');
  try {
    const bytes = await openBackup(new Uint8Array(await file.arrayBuffer()), passphrase, { onProgress: (p) => say(`Opening the backup… ${Math.round(p * 100)} %`) });
    const payload = JSON.parse(new TextDecoder().decode(bytes)) as { words: string; name: string; docs: { ops: string[]; state: string }[] };
    if (payload.name) keep(names.setMine(payload.name));
    // A new device of the person, as with the words; the backup's documents open in the groups
    // it entered at the relay. A group the relay does not have (or with no relay) opens as the
    // identity itself, from the backup's log.
    await restoreDevice(payload.words);
    await startSession();
    for (const saved of payload.docs) {
      const log = await MembershipLog.fromOps(saved.ops.map(fromBase64));
      const entered = await Group.open({ signer: app.signer!, groupId: log.groupId, storage: app.storage! });
      const group = entered ?? new Group({ signer: app.identity!, log, keyring: new Keyring(), storage: app.storage! });
      await group.refresh();
      const open = openDoc(group);
      Y.applyUpdate(open.doc, fromBase64(saved.state));
      app.current ??= hex(group.groupId);
    }
    say('Backup restored.');
  } catch (error) {
    say(describeError(error));
  }
}

function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}
function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function joined(event: CustomEvent<{ group: Group }>): void {
  const open = openDoc(event.detail.group);
  app.current = hex(open.group.groupId);
  app.invite = '';
  app.screen = 'main';
  draw();
}

function admitted(event: CustomEvent<{ memberId: Uint8Array; name: string }>): void {
  keep(names.learn(hex(event.detail.memberId), event.detail.name));
  draw();
}

// ---- views ----

function draw(): void {
  render(html`${view()}${app.message ? html`<p class="message" role="status" aria-live="polite">${app.message}</p>` : nothing}`, root);
}

function view() {
  switch (app.screen) {
    case 'loading':
      return html`<p>Opening this device's store…</p>`;
    case 'welcome':
      return html`<section class="welcome">
        <h1>Sealdoc</h1>
        <p>Documents only you and the people you invite can read. The server in the middle stores and forwards ciphertext.</p>
        ${app.invite ? html`<p class="note">You were invited to a document. First, an identity for this browser.</p>` : nothing}
        <label for="my-name">Your name, as others will see it</label>
        <input id="my-name" autocomplete="off" maxlength="60" .value=${names.mine} />
        <div class="actions">
          <button id="create-identity" @click=${() => void createIdentity()}>Create my identity</button>
          <button class="quiet" id="restore-words" @click=${() => saveName() && ((app.screen = 'restore'), draw())}>Restore from my 24 words</button>
          <button class="quiet" id="restore-backup" @click=${() => saveName() && ((app.screen = 'import'), draw())}>Import a backup file</button>
        </div>
      </section>`;
    case 'words':
      return html`<section class="welcome">
        <h1>Your recovery phrase</h1>
        <sealdoc-recovery mode="show" .words=${app.words} @sealdoc-recovery-confirmed=${() => void startSession()}></sealdoc-recovery>
      </section>`;
    case 'restore':
      return html`<section class="welcome">
        <h1>Restore your identity</h1>
        <sealdoc-recovery mode="restore" @sealdoc-restore=${(e: CustomEvent<RestoreDetail>) => void restoreFromWords(e.detail)}></sealdoc-recovery>
      </section>`;
    case 'import':
      return html`<section class="welcome">
        <h1>Import a backup</h1>
        <div class="fields" @keydown=${onEnter(importBackup)}>
          <label for="file">Backup file</label><input id="file" type="file" accept=".sdbk" autocomplete="off" />
          <label for="pass">Its passphrase</label><input id="pass" type="password" autocomplete="current-password" />
          <div class="actions"><button id="import-backup" @click=${() => void importBackup()}>Restore</button></div>
        </div>
      </section>`;
    case 'join':
      return html`<section class="welcome">
        <h1>Join a document</h1>
        <sealdoc-invite mode="join" .link=${app.invite} .identity=${app.signer} .transport=${app.transport} @sealdoc-joined=${joined}></sealdoc-invite>
        <p><button class="quiet" @click=${() => ((app.invite = ''), (app.screen = 'main'), draw())}>Not now</button></p>
      </section>`;
    case 'main':
      return mainView();
  }
}

let people: { key: string; map: Map<string, string> } | undefined;
/** Member id (hex) → name, this person's included: the same Map while no name changes (the editor draws its carets again for a new one). */
function peopleNames(me: string): Map<string, string> {
  const entries: [string, string][] = [...names.others, [me, names.mine]];
  const key = JSON.stringify(entries);
  if (people?.key !== key) people = { key, map: new Map(entries) };
  return people.map;
}

function mainView() {
  const open = app.current ? app.docs.get(app.current) : undefined;
  const me = hex(app.identity!.memberId);
  const people = peopleNames(me);
  return html`<header>
      <strong>Sealdoc</strong>
      <span class="me">${names.mine}</span>
      ${open ? html`<sealdoc-sync-status .doc=${open.sealed}></sealdoc-sync-status>` : html`<span>${app.transport?.status ?? 'offline'}</span>`}
      <label class="toggle"><input type="checkbox" id="offline" autocomplete="off" .checked=${app.offline} @change=${(e: Event) => void toggleOffline(e)} /> Work offline</label>
    </header>
    <div class="layout">
      <nav aria-label="Documents">
        <h2>Documents</h2>
        <ul>
          ${[...app.docs].map(
            ([key, d]) => html`<li>
              <button class="doc ${key === app.current ? 'current' : ''}" aria-current=${key === app.current ? 'page' : 'false'} @click=${() => ((app.current = key), draw())}>
                ${d.doc.getText('title').toString() || 'Untitled'}${d.group.role ? '' : ' (access removed)'}
              </button>
            </li>`,
          )}
        </ul>
        <button id="new-doc" @click=${() => void newDocument()}>New document</button>
        <details>
          <summary>Backup</summary>
          <div class="fields" @keydown=${onEnter(exportBackup)}>
            <label for="pass1">Passphrase</label><input id="pass1" type="password" autocomplete="new-password" />
            <label for="pass2">Again</label><input id="pass2" type="password" autocomplete="new-password" />
            <button id="export-backup" @click=${() => void exportBackup()}>Export an encrypted backup</button>
          </div>
        </details>
      </nav>
      ${open
        ? keyed(app.current, html`<main>
            <input
              class="title"
              aria-label="Title"
              placeholder="Untitled document"
              autocomplete="off"
              .value=${open.doc.getText('title').toString()}
              ?readonly=${open.group.role !== 'admin' && open.group.role !== 'writer'}
              @input=${setTitle}
            />
            <sealdoc-editor
              .doc=${open.sealed}
              .awareness=${open.awareness}
              .user=${open.awareness.getLocalState()?.user}
              .names=${people}
              label="Document text"
              placeholder="Start writing…"
              style="--sealdoc-editor-min-height: max(16em, calc(100vh - 11em))"
            ></sealdoc-editor>
          </main>
          <aside>
            <h2>Members</h2>
            <sealdoc-members .group=${open.group} .names=${people}></sealdoc-members>
            ${open.group.role === 'admin'
              ? html`<h2>Invite</h2>
                  <sealdoc-invite mode="create" .group=${open.group} .transport=${app.transport} .baseUrl=${location.origin + location.pathname} @sealdoc-member-admitted=${admitted}></sealdoc-invite>`
              : nothing}
          </aside>`)
        : html`<main><p>No document yet. Create one, or open an invitation link.</p></main>`}
    </div>`;
}

// A link pasted into the address bar of the open app: out of it at once, as at the start.
window.addEventListener('hashchange', () => {
  const link = takeFragment();
  if (!isInvite(link)) return;
  app.invite = link;
  if (app.identity) {
    app.screen = 'join';
    draw();
  }
});

draw();
void boot();
