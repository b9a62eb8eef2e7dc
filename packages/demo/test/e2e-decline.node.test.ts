// End to end: an admin declines someone asking to join; the decision outlives the admin's
// reload (kept sealed on its device with the invitation), while others can still ask; the
// one declined keeps being told, in plain words, that they wait. The demo on a free port,
// Chromium, a browser context per person.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { createIdentity, indexedDbHolds, startE2E, until, type E2E } from './e2e-kit.js';

let e2e: E2E;

/** A request as the admin's invite panel lists it. */
const request = (admin: Page, name: string) => admin.locator(`sealdoc-invite li[part=request]:has-text("${name}")`);

/** `name` opens `link` in a browser of its own, makes an identity and asks to join; returns its page. */
async function asks(link: string, name: string): Promise<Page> {
  const page = await e2e.person();
  await page.goto(link);
  await createIdentity(page, name);
  await page.waitForSelector('sealdoc-invite #name');
  await page.fill('sealdoc-invite #name', name);
  await page.click('sealdoc-invite button:has-text("Ask to join")');
  await until(`${name}'s request sent`, async () => (await page.locator('sealdoc-invite .code').count()) === 1);
  return page;
}

/** What the one who asked is told of their request. */
const told = async (page: Page) => ((await page.locator('sealdoc-invite [part=state]').textContent()) ?? '').replace(/\s+/g, ' ').trim();

describe('a declined request, end to end', () => {
  before(async () => {
    e2e = await startE2E();
  });

  after(async () => {
    await e2e?.close();
  });

  it('stays declined across the admin’s reload, kept sealed; someone else may still ask and be let in; the one declined is told they wait', async () => {
    const alice = await e2e.person();
    await alice.goto(e2e.demo.url);
    await createIdentity(alice, 'Alice');
    await alice.click('#new-doc');
    await alice.selectOption('sealdoc-invite #role', 'writer');
    await alice.click('sealdoc-invite button[part=button]:has-text("Create invitation link")');
    await until('the link', async () => (await alice.locator('sealdoc-invite input.link').inputValue()) !== '');
    const link = await alice.locator('sealdoc-invite input.link').inputValue();

    const mallory = await asks(link, 'Mallory');
    await until("Mallory's request at Alice", async () => (await request(alice, 'Mallory').count()) === 1, 20_000);
    await request(alice, 'Mallory').locator('button:has-text("Decline")').click();
    await until('declined', async () => /declined/.test((await request(alice, 'Mallory').textContent()) ?? ''));
    assert.equal(await request(alice, 'Mallory').locator('button').count(), 0, 'nothing left to answer');
    // The one who asked is not told of the decline (the relay does not know of it): they wait, as the link lets them.
    assert.match(await told(mallory), /^Waiting for an admin to let you in\./);

    // Kept sealed: who was declined is not readable in the store.
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await indexedDbHolds(alice, ['Mallory', 'declined']), []);

    await alice.reload();
    await alice.waitForSelector('sealdoc-invite #role');
    // The relay hands the request over again: it comes back declined, never to answer again.
    await until("Mallory's request after the reload", async () => (await request(alice, 'Mallory').count()) === 1, 20_000);
    await new Promise((r) => setTimeout(r, 1000));
    assert.match((await request(alice, 'Mallory').textContent()) ?? '', /declined/);
    assert.equal(await request(alice, 'Mallory').locator('button').count(), 0, 'not listed as pending again');
    assert.match(await told(mallory), /^Waiting for an admin to let you in\./);

    // The link still lets someone else ask, and be let in.
    const bob = await asks(link, 'Bob');
    await until("Bob's request at Alice", async () => (await request(alice, 'Bob').count()) === 1, 20_000);
    await request(alice, 'Bob').locator('button:has-text("Admit")').click();
    await until('Bob in', async () => (await bob.locator('sealdoc-editor').count()) === 1, 20_000);
    // Used: Mallory is told so, in plain words.
    await until('Mallory told', async () => /already used/.test(await told(mallory)), 20_000);

    // Declined and used: after another reload the link is gone, and so are its declines.
    await alice.reload();
    await alice.waitForSelector('sealdoc-invite #role');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await request(alice, 'Mallory').count(), 0);
  });
});
