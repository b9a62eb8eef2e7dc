// End to end, the identity and its devices: the recovery phrase kept only once confirmed, and
// the settings (this device and the others, link one, remove one, the phrase again, sign out
// and wipe). The demo (relay + app) on a free port, Chromium through playwright-core.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { assertFieldsForgotten, createIdentity, editor, expectAccessible, indexedDbHolds, SHOTS, startE2E, text, typeAtEnd, until, type E2E } from './e2e-kit.js';

let e2e: E2E;

/** The names of the IndexedDB databases the page's origin holds. */
const databases = (page: Page): Promise<string[]> => page.evaluate('indexedDB.databases().then((all) => all.map((d) => d.name))');

/** The words of the recovery phrase the page shows (at creation, or in the settings). */
const shownWords = (page: Page, list: string): Promise<string[]> => page.locator(`${list} li`).allTextContents();

/** The app's message (components have a `.message` of their own in their shadow roots, which locators reach). */
const MESSAGE = '#app > p.message';

/** The device names the settings list, in order. */
const deviceNames = (page: Page): Promise<string[]> => page.locator('.settings .devices .device-name').allTextContents();

async function openSettings(page: Page): Promise<void> {
  await page.click('header #settings');
  await page.waitForSelector('.settings h1');
}

describe('the identity and its devices, end to end', () => {
  before(async () => {
    e2e = await startE2E();
  });

  after(async () => {
    await e2e?.close();
  });

  it('a reload before the words are confirmed keeps nothing: the welcome again; then an identity is created, confirmed and kept', async () => {
    const page = await e2e.person();
    await page.goto(e2e.demo.url);
    await page.waitForSelector('#create-identity');
    assert.deepEqual(await databases(page), [], 'a first visit makes no store');
    await page.fill('#my-name', 'Dana');
    await page.click('#create-identity');
    const unconfirmed = await shownWords(page, 'sealdoc-recovery');
    assert.equal(unconfirmed.length, 24);

    // A reload on the words screen: no identity was kept, so the welcome shows, never a session.
    await page.reload();
    await page.waitForSelector('#create-identity');
    assert.equal(await page.locator('header').count(), 0, 'no session started');
    assert.deepEqual(await databases(page), [], 'nothing kept: no store at all');

    // Again, up to the question: a reload there keeps nothing either.
    await page.fill('#my-name', 'Dana');
    await page.click('#create-identity');
    assert.notDeepEqual(await shownWords(page, 'sealdoc-recovery'), unconfirmed, 'new words');
    await page.click('sealdoc-recovery button');
    await page.waitForSelector('sealdoc-recovery input');
    await page.reload();
    await page.waitForSelector('#create-identity');
    assert.deepEqual(await databases(page), []);

    // Created and confirmed: kept, and a reload opens the session.
    const words = await createIdentity(page, 'Dana');
    await page.waitForSelector('#new-doc');
    assert.ok(!unconfirmed.every((w, i) => w === words.split(' ')[i]));
    assert.deepEqual(await databases(page), ['sealdoc-demo']);
    assert.deepEqual(await indexedDbHolds(page, [words, ...words.split(' ').filter((w) => w.length > 5)]), [], 'the words are sealed');
    await page.reload();
    await page.waitForSelector('#new-doc');
    assert.equal(await page.locator('#create-identity').count(), 0);
    assert.equal(await page.inputValue('header #rename'), 'Dana', 'the name typed before the store was open is kept');
  });

  it('settings: the phrase again, a device linked and listed on both, removed and told, then sign out and wipe', async () => {
    const alice = await e2e.person();
    await alice.goto(e2e.demo.url);
    await alice.waitForSelector('#create-identity');
    const words = await createIdentity(alice, 'Alice');
    await alice.click('#new-doc');
    await alice.fill('input.title', 'Shared notes');
    await typeAtEnd(alice, 'Written on the laptop');

    // The settings: this device, the phrase behind a deliberate step.
    await openSettings(alice);
    assert.deepEqual(await deviceNames(alice), ['First device']);
    assert.equal(await alice.locator('.settings .this-device').count(), 1);
    await assertFieldsForgotten(alice, 'the settings');
    assert.equal(await alice.locator('.phrase').count(), 0, 'hidden at first');
    await alice.click('#show-phrase');
    assert.equal(await alice.locator('.phrase').count(), 0, 'a confirmation first');
    assert.match((await alice.locator('.confirm').textContent())!, /Anyone who sees these words can read all your documents/);
    assert.equal(await alice.evaluate('document.activeElement.id'), 'confirm-phrase', 'the confirmation has the focus');
    await alice.keyboard.press('Enter');
    await alice.waitForSelector('.phrase li');
    assert.equal((await shownWords(alice, '.phrase')).join(' '), words, 'the words shown at creation');
    await alice.screenshot({ path: `${SHOTS}/demo-settings-phrase.png`, fullPage: true });
    await expectAccessible(alice, 'settings (the phrase shown)');
    await alice.click('#back');
    await alice.waitForSelector('#new-doc');
    await openSettings(alice);
    assert.equal(await alice.locator('.phrase').count(), 0, 'hidden again once the screen was left');
    assert.ok(!(await alice.locator('body').textContent())!.includes(words.split(' ').slice(0, 3).join('')), 'no word left on the page');

    // Link a second browser: a link, a safety code compared, an approval.
    await alice.click('#link-device');
    const link = await alice.locator('.settings input.link').inputValue();
    assert.match(link, /#link=[A-Za-z0-9_-]+$/);
    await assertFieldsForgotten(alice, 'a device link');
    const phone = await e2e.person();
    await phone.goto(link);
    assert.equal(await phone.evaluate('location.hash'), '', 'the link left the address bar');
    await phone.waitForSelector('#device-label');
    await assertFieldsForgotten(phone, 'linking a browser');
    await phone.fill('#my-name', 'Alice');
    await phone.fill('#device-label', 'Phone');
    await phone.click('#link-this');
    await phone.waitForSelector('.welcome .code');
    const code = await phone.locator('.welcome .code').textContent();
    await alice.waitForSelector('.requests .code');
    assert.equal(await alice.locator('.requests .code').textContent(), code, 'both show the same safety code');
    await phone.screenshot({ path: `${SHOTS}/demo-link.png`, fullPage: true });
    await expectAccessible(phone, 'link this browser (its safety code)');
    await expectAccessible(alice, 'settings (a link open, a request to approve)');
    await alice.click('.requests button.approve');
    await until('the phone linked', async () => (await editor(phone).count()) === 1, 30_000);
    await until('the document on the phone', async () => (await text(phone)).includes('Written on the laptop'), 30_000);
    await until('the phone in the laptop’s list', async () => (await deviceNames(alice)).includes('Phone'));
    assert.deepEqual(await deviceNames(alice), ['First device', 'Phone']);
    await alice.screenshot({ path: `${SHOTS}/demo-settings.png`, fullPage: true });
    await expectAccessible(alice, 'settings (two devices)');
    await openSettings(phone);
    assert.deepEqual((await deviceNames(phone)).sort(), ['First device', 'Phone']);
    assert.equal(await phone.locator('.device:has(.this-device) .device-name').textContent(), 'Phone');
    assert.equal(await phone.locator('#show-phrase').count(), 0, 'a linked device holds no words');
    // A reload opens the linked device from its store, as any other.
    await phone.reload();
    await until('the phone after a reload', async () => (await text(phone)).includes('Written on the laptop'), 30_000);
    assert.equal(await phone.inputValue('header #rename'), 'Alice');
    // A backup restores from the words, which a linked browser does not hold: it says where to make one.
    await phone.click('nav summary');
    await phone.fill('#pass1', 'correct horse battery');
    await phone.fill('#pass2', 'correct horse battery');
    await phone.click('#export-backup');
    await until('the backup refused in words', async () => /does not hold your recovery words: export the backup there/.test((await phone.locator(MESSAGE).textContent()) ?? ''));

    // The link served once: another browser opening it is told so, in words, before any wait;
    // a link cut short is diagnosed as soon as it opens.
    const stranger = await e2e.person();
    await stranger.goto(link);
    await stranger.fill('#my-name', 'Mallory');
    await stranger.fill('#device-label', 'Stolen');
    await stranger.click('#link-this');
    await until('the used link refused', async () => /This link no longer works: it was used, cancelled/.test((await stranger.locator(MESSAGE).textContent()) ?? ''));
    assert.equal(await stranger.locator('#create-identity, header').count(), 0, 'no session, no identity');
    await stranger.goto(link.slice(0, -6));
    assert.match((await stranger.locator('.welcome [role=alert]').textContent())!, /This link is incomplete or damaged/);
    await expectAccessible(stranger, 'link this browser (a damaged link)');
    assert.deepEqual(await deviceNames(alice), ['First device', 'Phone'], 'no device was added');

    // Edits go both ways while it is linked.
    await typeAtEnd(phone, ' and on the phone');
    await alice.click('#back');
    await until('the phone’s edit at the laptop', async () => (await text(alice)).includes('and on the phone'));

    // Remove it: a confirmation that says what happens, then it is told, and reads nothing new.
    await openSettings(alice);
    await alice.click('.settings .device:has-text("Phone") button');
    const asked = (await alice.locator('.confirm').textContent())!;
    assert.match(asked, /Remove “Phone”\?/);
    assert.match(asked, /read nothing new/);
    await expectAccessible(alice, 'settings (removing a device asked)');
    assert.equal(await alice.evaluate('document.activeElement.textContent'), 'Cancel', 'the harmless answer has the focus');
    await alice.click('#confirm-revoke');
    await until('the removal done', async () => /“Phone” was removed/.test((await alice.locator('.settings .status').textContent())!), 30_000);
    assert.deepEqual(await deviceNames(alice), ['First device']);
    // The phone learns of it from the log (signed ops: no relay can forge a removal), erases its copy and says so.
    await until('the phone told', async () => /removed by its owner\. Its copy has been erased/.test((await phone.locator(MESSAGE).textContent()) ?? ''), 30_000);
    await phone.waitForSelector('#create-identity');
    assert.deepEqual(await databases(phone), [], 'the phone kept nothing');
    await alice.click('#back');
    await typeAtEnd(alice, ' — after the phone was removed');
    await until('the laptop’s edit sent', async () => (await alice.locator('sealdoc-sync-status [part=label]').textContent()) === 'Up to date');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.ok(!(await phone.locator('body').textContent())!.includes('Written on the laptop'), 'the removed device shows nothing it read');
    assert.ok(!(await phone.locator('body').textContent())!.includes('after the phone was removed'), 'the removed device reads nothing new');

    // Sign out and wipe: a warning about the words, then no store at all and the welcome.
    await openSettings(alice);
    await alice.click('#wipe');
    assert.equal(await alice.evaluate('document.activeElement.textContent'), 'Cancel', 'the harmless answer has the focus');
    assert.match((await alice.locator('.confirm').textContent())!, /Without your 24 recovery words you cannot get your identity back/);
    await expectAccessible(alice, 'settings (wiping asked)');
    await alice.click('#confirm-wipe');
    await alice.waitForSelector('#create-identity');
    assert.deepEqual(await databases(alice), [], 'no store left');
    assert.equal(await alice.inputValue('#my-name'), '', 'nothing of the session in memory');
    assert.deepEqual(await alice.evaluate('Object.keys(localStorage)'), []);
  });
});
