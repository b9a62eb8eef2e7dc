// End to end: documents (rename, export as Markdown, HTML and an encrypted backup, leave,
// delete for everyone) and history (versions with author and time, one viewed read-only,
// restored as a new edit) — the demo on a free port, Chromium, a browser context per person.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Download, Page } from 'playwright-core';
import { isLeave, openBackup, readMembershipOp, toHex, type MembershipOp } from '@sealdoc/crypto';
import { assertFieldsForgotten, createIdentity, editor, expectAccessible, indexedDbHolds, invite, SHOTS, startE2E, text, typeAtEnd, until, type E2E } from './e2e-kit.js';

let e2e: E2E;
const person = (): Promise<Page> => e2e.person();

/** The document entry of `title` in the list, and its actions. */
const entry = (page: Page, title: string) => page.locator('nav li.doc-entry', { has: page.locator(`button.doc:has-text("${title}")`) });
async function menu(page: Page, title: string): Promise<void> {
  const button = entry(page, title).locator('button.doc-menu');
  if ((await button.getAttribute('aria-expanded')) !== 'true') await button.click();
}
async function downloaded(page: Page, click: () => Promise<void>, name: string): Promise<Buffer> {
  const [download] = (await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), click()])) as [Download, void];
  const path = join(e2e.dataDir, name);
  await download.saveAs(path);
  assert.equal(download.suggestedFilename(), name);
  return readFileSync(path);
}
const versions = (page: Page) => page.locator('main.history li.version');

/** The membership ops the page's store holds (signed and public, kept as they are), of each group, in order. */
const STORED_OPS = `async () => {
  const db = await new Promise((resolve, reject) => {
    const r = indexedDB.open('sealdoc-demo');
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  const all = (method) => new Promise((resolve) => {
    const r = db.transaction('records').objectStore('records')[method]();
    r.onsuccess = () => resolve(r.result);
  });
  const [keys, values] = [await all('getAllKeys'), await all('getAll')];
  db.close();
  const logs = {};
  keys.forEach((key, i) => {
    if (Array.isArray(key) && key[0] === 'log' && key.length === 3) (logs[key[1]] ??= []).push([key[2], Array.from(new Uint8Array(values[i].buffer ?? values[i]))]);
  });
  return Object.values(logs).map((ops) => ops.sort(([a], [b]) => (a < b ? -1 : 1)).map(([, bytes]) => bytes));
}`;
/** The records the page's store holds of the group of id `group` (hex): their keys and bytes; with `put`, those are written back instead. */
const GROUP_RECORDS = `async (group, put) => {
  const db = await new Promise((resolve, reject) => {
    const r = indexedDB.open('sealdoc-demo');
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  const done = (r) => new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  if (put) {
    const tx = db.transaction('records', 'readwrite');
    for (const [key, bytes] of put) tx.objectStore('records').put(Uint8Array.from(bytes), key);
    await new Promise((resolve) => (tx.oncomplete = resolve));
    db.close();
    return [];
  }
  const store = db.transaction('records').objectStore('records');
  const [keys, values] = [await done(store.getAllKeys()), await done(store.getAll())];
  db.close();
  return keys.flatMap((key, i) => (Array.isArray(key) && key[1] === group ? [[key, Array.from(new Uint8Array(values[i].buffer ?? values[i]))]] : []));
}`;
const groupRecords = (page: Page, group: string, put?: unknown[]) => page.evaluate(`(${GROUP_RECORDS})(${JSON.stringify(group)}, ${JSON.stringify(put ?? null)})`) as Promise<[string[], number[]][]>;
/** The ids (hex) of the groups whose logs the page's store holds. */
const storedGroups = async (page: Page) => (await storedLogs(page)).map((ops) => toHex(ops[0]!.groupId));

async function storedLogs(page: Page): Promise<MembershipOp[][]> {
  const logs = (await page.evaluate(`(${STORED_OPS})()`)) as number[][][];
  return logs.map((ops) => ops.map((bytes) => readMembershipOp(Uint8Array.from(bytes))));
}

describe('documents and history, end to end', () => {
  before(async () => {
    e2e = await startE2E();
  });

  after(async () => {
    await e2e?.close();
  });

  it('the keyboard alone: a document\'s actions, renaming, a confirmation, its history', async () => {
    const page = await person();
    await page.goto(e2e.demo.url);
    await page.waitForSelector('#create-identity');
    await createIdentity(page, 'Dora');
    await page.click('#new-doc');
    await page.fill('input.title', 'Keys');
    await typeAtEnd(page, 'typed by Dora');
    /** What has the focus: tag, classes and id, and its text. */
    const focused = () =>
      page.evaluate(() => {
        const a = document.activeElement as HTMLElement | null;
        return a ? `${a.tagName.toLowerCase()}${[...a.classList].map((c) => `.${c}`).join('')}${a.id ? `#${a.id}` : ''} ${a.textContent?.trim() ?? ''}` : '';
      });
    /** Presses `key` until the focus is on what `matches` (at most 40 times). */
    async function pressTo(key: string, matches: RegExp): Promise<void> {
      for (let i = 0; i < 40 && !matches.test(await focused()); i++) await page.keyboard.press(key);
      assert.match(await focused(), matches);
    }
    await page.focus('input.title');
    await pressTo('Shift+Tab', /^button\.doc-menu/);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    assert.match(await focused(), /^button\.rename-doc/);
    await page.keyboard.press('Enter');
    assert.match(await focused(), /^input\.rename/);
    await page.keyboard.press('End');
    await page.keyboard.type(' renamed');
    await page.keyboard.press('Enter');
    assert.equal(await page.inputValue('input.title'), 'Keys renamed');
    assert.match(await focused(), /^button\.doc-menu/, 'the focus back on the actions');
    // Escape closes the actions; a confirmation opens on Cancel and Escape takes it back.
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('nav .menu').count(), 1, `the actions open (focus: ${await focused()})`);
    await pressTo('Tab', /^button\.forget-doc/);
    await page.keyboard.press('Enter');
    assert.match(await focused(), /^button Cancel$/);
    await page.keyboard.press('Escape');
    assert.equal(await page.locator('nav .confirm').count(), 0);
    assert.match(await focused(), /^button\.doc-menu/);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Escape');
    assert.equal(await page.locator('nav .menu').count(), 0);
    assert.match(await focused(), /^button\.doc-menu/);
    // The history: open, save a version, view it, close it, back to the document.
    await pressTo('Tab', /#show-history/);
    await page.keyboard.press('Enter');
    await page.waitForSelector('main.history[aria-busy=false]');
    assert.match(await focused(), /#history-close/);
    await pressTo('Tab', /#save-version/);
    await page.keyboard.press('Enter');
    await until('a version', async () => (await versions(page).count()) >= 1);
    await pressTo('Tab', /^button\.view-version/);
    await page.keyboard.press('Enter');
    await page.waitForSelector('.old-version sealdoc-editor');
    await pressTo('Tab', /#close-version/);
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('.old-version').count(), 0);
    assert.match(await focused(), /^button\.view-version/);
    await pressTo('Shift+Tab', /#history-close/);
    await page.keyboard.press('Enter');
    assert.match(await focused(), /#show-history/);
    assert.equal(await text(page), 'typed by Dora');
  });

  it('rename, export (Markdown, HTML, encrypted backup), history (versions, a read-only old one, restore), leave, delete', async () => {
    const alice = await person();
    await alice.goto(e2e.demo.url);
    await alice.waitForSelector('#create-identity');
    await createIdentity(alice, 'Alice');
    await alice.click('#new-doc');
    await alice.fill('input.title', 'Team notes');
    // A heading, a list, bold.
    await editor(alice).click();
    await alice.keyboard.type('# Weekly plans');
    await alice.keyboard.press('Enter');
    await alice.keyboard.type('- first item');
    await alice.keyboard.press('Enter');
    await alice.keyboard.press('Enter');
    await alice.keyboard.press('Control+b');
    await alice.keyboard.type('bold words');
    await alice.keyboard.press('Control+b');
    await until('alice online', async () => (await alice.locator('sealdoc-sync-status [part=label]').textContent()) === 'Up to date');
    const { page: bob } = await invite(alice, 'Bob', person);
    await until('bob reads the document', async () => (await text(bob)).includes('bold words'));

    // Rename from the list: the title field and the other member follow.
    await menu(alice, 'Team notes');
    await alice.locator('nav .menu button.rename-doc').click();
    await assertFieldsForgotten(alice, 'renaming from the list');
    await alice.locator('nav input.rename').fill('Project notes');
    await alice.keyboard.press('Enter');
    assert.equal(await alice.inputValue('input.title'), 'Project notes');
    await until('bob sees the new title', async () => (await bob.locator('input.title').inputValue()) === 'Project notes' && (await entry(bob, 'Project notes').count()) === 1);

    // Export as Markdown and HTML: the heading, the list, the bold words.
    await menu(alice, 'Project notes');
    await expectAccessible(alice, 'a document\'s actions');
    await alice.screenshot({ path: `${SHOTS}/demo-documents.png` });
    const markdown = (await downloaded(alice, () => alice.locator('nav .menu button.export-markdown').click(), 'project-notes.md')).toString('utf8');
    assert.match(markdown, /^# Project notes\n/);
    assert.match(markdown, /^# Weekly plans$/m);
    assert.match(markdown, /^\* first item$/m);
    assert.match(markdown, /\*\*bold words\*\*/);
    await menu(alice, 'Project notes');
    const page = (await downloaded(alice, () => alice.locator('nav .menu button.export-html').click(), 'project-notes.html')).toString('utf8');
    assert.match(page, /<title>Project notes<\/title>/);
    assert.match(page, /<h1>Weekly plans<\/h1>/);
    assert.match(page, /<ul><li><p>first item<\/p><\/li><\/ul>/);
    assert.match(page, /<strong>bold words<\/strong>/);

    // An encrypted backup of this document alone: nothing readable in it; it opens with the passphrase.
    await menu(alice, 'Project notes');
    await alice.locator('nav .menu details.doc-backup summary').click();
    await assertFieldsForgotten(alice, 'a document backup');
    const passwords = alice.locator('nav .menu input[type=password]');
    await passwords.nth(0).fill('correct horse battery');
    await passwords.nth(1).fill('correct horse battery');
    const sealed = await downloaded(alice, () => alice.locator('nav .menu button.export-doc-backup').click(), 'project-notes.sdbk');
    for (const secret of ['Weekly plans', 'bold words', 'Project notes']) assert.ok(!sealed.toString('latin1').includes(secret), `${secret} in the backup`);
    const payload = JSON.parse(new TextDecoder().decode(await openBackup(new Uint8Array(sealed), 'correct horse battery'))) as { docs: unknown[] };
    assert.equal(payload.docs.length, 1);
    await until('backup said', async () => /Encrypted backup of this document saved/.test((await alice.locator('#app > p.message').textContent()) ?? ''));
    await entry(alice, 'Project notes').locator('button.doc-menu').click();
    assert.equal(await alice.locator('nav .menu').count(), 0, 'the actions closed');

    // History: versions (the engine's own, after Bob was added, and two saved here), with author and time, seen by both.
    const openHistory = async (page: Page) => {
      await page.click('#show-history');
      await page.waitForSelector('main.history[aria-busy=false]');
      return versions(page).count();
    };
    const first = await openHistory(alice);
    await alice.click('#save-version');
    await until('a first version', async () => (await versions(alice).count()) === first + 1);
    await alice.click('#history-close');
    await typeAtEnd(alice, ' and a later sentence');
    await until('bob has the later sentence', async () => (await text(bob)).includes('a later sentence'));
    await openHistory(alice);
    await alice.click('#save-version');
    await until('a second version', async () => (await versions(alice).count()) === first + 2);
    for (const row of await versions(alice).all()) {
      assert.match((await row.locator('.who').textContent()) ?? '', /^Alice \(you\)$/);
      assert.match((await row.locator('.when').textContent()) ?? '', /\d{1,2}:\d{2}:\d{2}/);
    }
    await openHistory(bob);
    await until('bob sees the versions, by Alice', async () => (await versions(bob).count()) === first + 2 && (await versions(bob).locator('.who').allTextContents()).every((t) => t === 'Alice'));
    await bob.click('#history-close');

    // The version saved first (second newest), read-only: typing in it changes nothing.
    await versions(alice).nth(1).locator('button').click();
    const old = alice.locator('.old-version sealdoc-editor');
    await until('the old version shown', async () => ((await old.evaluate((e) => (e as HTMLElement & { text: string }).text)) ?? '').includes('bold words'));
    const oldText = await old.evaluate((e) => (e as HTMLElement & { text: string }).text);
    assert.ok(!oldText.includes('a later sentence'));
    await old.locator('.ProseMirror').click();
    await alice.keyboard.type('typed into the past');
    assert.equal(await old.evaluate((e) => (e as HTMLElement & { text: string }).text), oldText);
    assert.equal(await old.locator('.ProseMirror').getAttribute('contenteditable'), 'false');
    await expectAccessible(alice, 'a document\'s history, an older version shown');
    await alice.screenshot({ path: `${SHOTS}/demo-history.png` });

    // Restored as a new edit: both see it; the state before is a version of its own.
    await alice.click('#restore-version');
    await until('restored at alice', async () => !(await text(alice)).includes('a later sentence') && (await text(alice)).includes('bold words'));
    await until('restored at bob', async () => !(await text(bob)).includes('a later sentence') && (await text(bob)).includes('bold words'), 20_000);
    assert.equal(await openHistory(alice), first + 3, 'the state before the restore is kept as a version');
    await alice.click('#history-close');

    // Carol joins, then leaves: Alice sees her gone; her list no longer holds it.
    const { page: carol } = await invite(alice, 'Carol', person);
    await until('carol reads', async () => (await text(carol)).includes('bold words'));
    const carolAtAlice = () => alice.locator('sealdoc-members .name', { hasText: 'Carol' }).count();
    await until('carol among the members', async () => (await carolAtAlice()) === 1);
    await menu(carol, 'Project notes');
    await carol.locator('nav .menu button.leave-doc').click();
    assert.match((await carol.locator('nav .confirm').textContent()) ?? '', /You lose access/);
    await carol.click('#confirm-leave');
    await until('carol forgot it', async () => (await carol.locator('nav li.doc-entry').count()) === 0);
    await until('alice sees carol gone', async () => (await carolAtAlice()) === 0 && (await alice.locator('sealdoc-members .name').count()) === 2, 20_000);
    // Alice's device replaced the key Carol made when she left, by itself (the engine's, no call
    // from the demo): a rotation right after the leave.
    await until('alice rekeyed after the leave', async () => {
      const [log] = await storedLogs(alice);
      return log!.length >= 2 && isLeave(log!.at(-2)!) && log!.at(-1)!.change.type === 'rotate';
    });
    await carol.reload();
    await carol.waitForSelector('#new-doc');
    await new Promise((r) => setTimeout(r, 1500)); // the relay's groups are fetched once online
    assert.deepEqual(await carol.locator('nav li.doc-entry').allTextContents(), [], 'a document left does not come back');

    // Alice deletes it for everyone: the confirmation says what happens; Bob is told in plain words.
    await menu(alice, 'Project notes');
    await alice.locator('nav .menu button.delete-doc').click();
    const said = (await alice.locator('nav .confirm').textContent()) ?? '';
    assert.match(said, /Delete “Project notes” for everyone\?/);
    assert.match(said, /Bob loses access/);
    assert.match(said, /server keeps only the encrypted copy/);
    await expectAccessible(alice, 'the confirmation of a deletion');
    await alice.click('#confirm-delete');
    await until('alice forgot it', async () => (await alice.locator('nav li.doc-entry').count()) === 0);
    await until('bob told', async () => /no longer have access to “Project notes”: its admin deleted it or removed you/.test(((await bob.locator('main > p.notice').textContent()) ?? '').replace(/\s+/g, ' ')), 20_000);
    assert.deepEqual(await indexedDbHolds(alice, ['Weekly plans', 'bold words', 'Project notes']), []);

    // Bob forgets what he still held of it: gone from his list, and after a reload.
    await menu(bob, 'Project notes');
    await bob.locator('nav .menu button.forget-doc').click();
    await bob.click('#confirm-forget');
    await until('bob forgot it', async () => (await bob.locator('nav li.doc-entry').count()) === 0);
    await bob.reload();
    await bob.waitForSelector('#new-doc');
    assert.deepEqual(await bob.locator('nav li.doc-entry').allTextContents(), [], 'a document forgotten does not come back');

    // A document Alice is still the member of, forgotten here: the relay still lists it, and it is not fetched again.
    const groupsBefore = await storedGroups(alice);
    await alice.click('#new-doc');
    await alice.fill('input.title', 'Scratch');
    await typeAtEnd(alice, 'scratch text');
    await until('scratch at the relay', async () => (await alice.locator('sealdoc-sync-status [part=label]').textContent()) === 'Up to date');
    const scratch = (await storedGroups(alice)).find((group) => !groupsBefore.includes(group));
    const scratchRecords = await groupRecords(alice, scratch!);
    await menu(alice, 'Scratch');
    await alice.locator('nav .menu button.forget-doc').click();
    assert.match((await alice.locator('nav .confirm').textContent()) ?? '', /deleted from this device only.*You stay a member/s);
    await alice.click('#confirm-forget');
    await until('alice forgot scratch', async () => (await alice.locator('nav li.doc-entry').count()) === 0);
    await alice.reload();
    await alice.waitForSelector('#new-doc');
    await new Promise((r) => setTimeout(r, 3000)); // the relay's list of groups, fetched once online
    assert.deepEqual(await alice.locator('nav li.doc-entry').allTextContents(), [], 'a forgotten document is not fetched again');

    // A forget cut short (the page closed once the document was noted as forgotten, before its
    // records were deleted): the next start deletes them and does not open it.
    await groupRecords(alice, scratch!, scratchRecords);
    await alice.reload();
    await alice.waitForSelector('#new-doc');
    await until('the forget finished', async () => (await groupRecords(alice, scratch!)).every(([key]) => key[0] === 'seq'));
    assert.deepEqual(await alice.locator('nav li.doc-entry').allTextContents(), [], 'a forget cut short does not bring the document back');
  });
});
