// End to end: invitation links that last and that say why they cannot be used. The demo
// (relay + app) on a free port, Debian's Chromium through playwright-core, one browser
// context per person. An admin's pending links outlive a reload (kept sealed on its device);
// a link that is expired, cancelled, used, unknown or damaged is diagnosed on the first
// screen, before the invitee has an identity; an invitee whose admin is away is told so and
// let in when the admin comes back.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { createInvitation, decodeInvitation, encodeInvitation } from '@sealdoc/crypto';
import { assertFieldsForgotten, createIdentity, editor, indexedDbHolds, SHOTS, startE2E, until, type E2E } from './e2e-kit.js';

let e2e: E2E;
const person = (): Promise<Page> => e2e.person();

/**
 * The keys of the records this page's app keeps (its IndexedDB store), as JSON. A browser that
 * keeps no store has none: opening one to look would make it (the app makes it only once it
 * keeps something), and the connection is closed once read.
 */
const RECORD_KEYS = `indexedDB.databases().then((all) => !all.some((d) => d.name === 'sealdoc-demo') ? [] : new Promise((resolve, reject) => {
  const open = indexedDB.open('sealdoc-demo');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    if (!db.objectStoreNames.contains('records')) return db.close(), resolve([]);
    const all = db.transaction('records').objectStore('records').getAllKeys();
    all.onsuccess = () => (db.close(), resolve(all.result.map((key) => JSON.stringify(key))));
  };
}))`;
const holdsIdentity = async (page: Page): Promise<boolean> => ((await page.evaluate(RECORD_KEYS)) as string[]).includes(JSON.stringify(['identity']));

/** A new person opens the app at its start: a name, an identity, a new document (its admin). */
async function admin(name: string): Promise<Page> {
  const page = await person();
  await page.goto(e2e.demo.url);
  await page.waitForSelector('#create-identity');
  await createIdentity(page, name);
  await page.click('#new-doc');
  await page.waitForSelector('sealdoc-invite #role');
  return page;
}

/** The admin creates a link for a writer; returns it. */
async function createLink(page: Page): Promise<string> {
  const field = page.locator('sealdoc-invite input.link');
  const previous = (await field.count()) ? await field.inputValue() : '';
  await page.selectOption('sealdoc-invite #role', 'writer');
  await page.click('sealdoc-invite button[part=button]:is(:has-text("Create invitation link"), :has-text("Create another link"))');
  await until('the new link', async () => (await field.inputValue()) !== previous);
  return field.inputValue();
}

/** The pending links the admin's invite panel lists (their state lines). */
const pendingLinks = (page: Page) => page.locator('sealdoc-invite section.invitation [part=state]').allTextContents();

/**
 * `name` opens `link` in a new browser context: the first screen says what the check of the
 * link found, before anything else is asked; returns the page and those words.
 */
async function open(link: string): Promise<{ page: Page; check: string }> {
  const page = await person();
  await page.goto(link);
  await page.waitForSelector('#create-identity');
  await until('the check of the link', async () => ((await page.locator('#invite-check').textContent()) ?? '').trim() !== '');
  return { page, check: (await page.locator('#invite-check').textContent())!.replace(/\s+/g, ' ').trim() };
}

/** `page` (on the welcome, the link checked) makes an identity and asks to join as `name`; returns its safety code. */
async function askToJoin(page: Page, name: string): Promise<string> {
  await createIdentity(page, name);
  await page.waitForSelector('sealdoc-invite #name');
  await assertFieldsForgotten(page, 'asking to join');
  await page.fill('sealdoc-invite #name', name);
  await page.click('sealdoc-invite button:has-text("Ask to join")');
  await until(`${name}'s request sent`, async () => (await page.locator('sealdoc-invite .code').count()) === 1);
  return (await page.locator('sealdoc-invite .code').textContent())!;
}

/** The admin sees `name`'s request with the same safety code, and admits it; the invitee's editor opens. */
async function admit(adminPage: Page, invitee: Page, name: string, code: string): Promise<void> {
  const row = adminPage.locator(`sealdoc-invite li:has-text("${name}")`);
  await until(`${name}'s request at the admin`, async () => (await row.count()) === 1, 20_000);
  assert.equal(await row.locator('.code').textContent(), code, 'both sides show the same safety code');
  await row.locator('button:has-text("Admit")').click();
  await until(`${name} admitted`, async () => (await editor(invitee).count()) === 1, 20_000);
}

describe('invitation links, end to end', () => {
  before(async () => {
    e2e = await startE2E();
  });

  after(async () => {
    await e2e?.close();
  });

  let usedLink = '';

  it('a pending link outlives the admin’s reload (sealed on its device); the invitee who opens it after the reload is let in', async () => {
    const alice = await admin('Alice');
    const link = await createLink(alice);
    const code = link.split('#invite=')[1]!;
    assert.equal((await pendingLinks(alice)).length, 1);
    // The code is the invitation's secret: kept, but only sealed.
    await until('the link kept', async () => ((await alice.evaluate(RECORD_KEYS)) as string[]).includes(JSON.stringify(['demo', 'invitations'])));
    assert.deepEqual(await indexedDbHolds(alice, [code, '#invite=']), []);

    await alice.reload();
    await alice.waitForSelector('sealdoc-invite #role');
    await until('the pending link listed after the reload', async () => (await pendingLinks(alice)).length === 1);
    assert.match((await pendingLinks(alice))[0]!, /^Open until .*, for a writer$/);

    const { page: bob, check } = await open(link);
    assert.match(check, /This invitation is open/);
    const bobCode = await askToJoin(bob, 'Bob');
    await admit(alice, bob, 'Bob', bobCode);
    usedLink = link;

    // Used: it is no longer pending, here or after another reload, and no longer kept.
    await until('the used link gone from the pending ones', async () => (await pendingLinks(alice)).length === 0 || /used/.test((await pendingLinks(alice)).join(' ')));
    await alice.reload();
    await alice.waitForSelector('sealdoc-invite #role');
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await pendingLinks(alice), []);
  });

  it('a used link is diagnosed on the first screen, before any identity: ask for a new one', async () => {
    assert.ok(usedLink, 'the previous test used a link');
    const { page, check } = await open(usedLink);
    assert.match(check, /This invitation was already used/);
    assert.match(check, /Ask the person who sent it for a new link/);
    assert.equal(await holdsIdentity(page), false, 'no identity was made for a dead link');
  });

  it('a cancelled, an expired, an unknown and a damaged link are each diagnosed on the first screen, before any identity', async () => {
    const alice = await admin('Alice');
    const link = await createLink(alice);
    await createLink(alice);
    assert.equal((await pendingLinks(alice)).length, 2, 'both links pending');
    // Cancel the first one (the older: listed last).
    await alice.locator('sealdoc-invite section.invitation').last().locator('button:has-text("Cancel link")').click();
    await until('one link left', async () => (await pendingLinks(alice)).filter((s) => s.startsWith('Open')).length === 1);

    const cancelled = await open(link);
    assert.match(cancelled.check, /This invitation link cannot be used\. This invitation was cancelled\. Ask the person who sent it for a new link\./);
    assert.equal(await holdsIdentity(cancelled.page), false);
    await cancelled.page.screenshot({ path: `${SHOTS}/demo-invite-dead.png` });

    // The same invitation with an expiry in the past (the link's own word): told without asking the relay.
    const invitation = decodeInvitation(link.split('#invite=')[1]!);
    const expiredLink = `${new URL(e2e.demo.url).origin}/#invite=${encodeInvitation({ ...invitation, expiresAt: Date.now() - 60_000 })}`;
    const expired = await open(expiredLink);
    assert.match(expired.check, /This invitation expired on .+\. Ask the person who sent it for a new link\./);
    assert.equal(await holdsIdentity(expired.page), false);

    // A link the relay never saw.
    const unknown = await open(`${new URL(e2e.demo.url).origin}/#invite=${encodeInvitation(createInvitation(new Uint8Array(16).fill(7), 'writer'))}`);
    assert.match(unknown.check, /This link is not known to the server/);
    assert.equal(await holdsIdentity(unknown.page), false);

    // Cut short.
    const damaged = await open(link.slice(0, link.indexOf('#invite=') + 20));
    assert.match(damaged.check, /This invitation link is damaged/);
    assert.equal(await holdsIdentity(damaged.page), false);
    // Still free to make an identity: the app opens on its own, without the dead link.
    await createIdentity(damaged.page, 'Dan');
    await damaged.page.waitForSelector('#new-doc');
    assert.equal(await damaged.page.locator('sealdoc-invite[mode=join]').count(), 0);
    // With an identity, the cancelled link opened again: told the same, and not asked to join.
    await damaged.page.goto(link);
    await until('the diagnosis on the join screen', async () => /This invitation was cancelled/.test((await damaged.page.locator('#invite-check').textContent()) ?? ''));
    assert.equal(await damaged.page.locator('sealdoc-invite[mode=join]').count(), 0);
    await damaged.page.click('button:has-text("Back to my documents")');
    await damaged.page.waitForSelector('#new-doc');
  });

  it('the admin away: the invitee is told the admin must be online, asks anyway, and is let in when the admin comes back', async () => {
    const alice = await admin('Alice');
    const context = alice.context();
    const link = await createLink(alice);
    await alice.close();

    const { page: erin, check } = await open(link);
    assert.match(check, /not online right now, and they need to be to let you in/);
    assert.match(check, /Your request waits for them until/);
    const code = await askToJoin(erin, 'Erin');
    await until('told that the admin is away', async () => /not online right now/.test((await erin.locator('sealdoc-invite [part=state]').textContent()) ?? ''));
    assert.match((await erin.locator('sealdoc-invite [part=state]').textContent())!, /^Waiting for an admin to let you in\./);

    // Alice comes back: her pending link is taken up again, Erin's request shows, she admits.
    const back = await context.newPage();
    await back.goto(e2e.demo.url);
    await back.waitForSelector('sealdoc-invite #role');
    await admit(back, erin, 'Erin', code);
  });
});
