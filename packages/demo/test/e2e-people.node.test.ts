// End to end, people: names that travel (signed, sealed in the document), who is here now,
// a person's own second device, messages that go away, and a removal that raises no alarm.
// The demo (relay + app) on a free port, real Chromium, one browser context per device.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { createIdentity, editor, indexedDbHolds, invite, SHOTS, startE2E, typeAtEnd, until, type E2E } from './e2e-kit.js';

let e2e: E2E;
const person = (): Promise<Page> => e2e.person();

/** The names in the members list of `page`, as shown (the list's own order: you first). */
const memberNames = (page: Page) => page.locator('sealdoc-members li [part=name]').allTextContents();
/** The names at the others' carets in `page`'s editor, sorted. */
const caretNames = async (page: Page) => (await page.locator('sealdoc-editor .caret-name').allTextContents()).sort();
/** Whether `page`'s members list shows the person named `name` as here now. */
const isHere = async (page: Page, name: string) => (await page.locator(`sealdoc-members li[data-here=yes]:has([part=name]:text-is("${name}"))`).count()) === 1;
/** No alarm and no error shown anywhere in `page` (shadow roots included). */
async function noAlarm(page: Page, after: string): Promise<void> {
  assert.equal(await page.locator('[role=alert]').count(), 0, `an alarm after ${after}: ${await page.locator('[role=alert]').allTextContents()}`);
  assert.equal(await page.locator('sealdoc-members [part=status].bad').count(), 0, `an error in the members list after ${after}`);
  assert.doesNotMatch((await page.locator('#app > .message').allTextContents()).join(' '), /wrong|error|fail|could not|not accept/i, `a message after ${after}`);
}

describe('the demo, end to end: people (names, presence, own devices, messages)', () => {
  before(async () => {
    e2e = await startE2E();
  });

  after(async () => {
    await e2e?.close();
  });

  it('names as given on every side, a rename that travels, who is here now, one’s own second device, messages that go away, a removal without alarm', async () => {
    const alice = await person();
    await alice.goto(e2e.demo.url);
    const aliceWords = await createIdentity(alice, 'Alice');
    await alice.click('#new-doc');
    await alice.fill('input.title', 'Team notes');
    await typeAtEnd(alice, 'Agenda.');
    const { page: bob } = await invite(alice, 'Bob', person);
    const { page: carol } = await invite(alice, 'Carol', person);
    await noAlarm(alice, 'adding two members');

    // Names as given, on every side: never "Member …".
    for (const [page, who] of [
      [alice, 'alice'],
      [bob, 'bob'],
      [carol, 'carol'],
    ] as const) {
      await until(`the names at ${who}`, async () => (await memberNames(page)).slice().sort().join('|') === 'Alice|Bob|Carol', 30_000);
    }
    // At the carets too: Bob and Carol type; Alice sees them by name (and Bob sees Alice's).
    await typeAtEnd(bob, ' Bob here.');
    await typeAtEnd(carol, ' Carol here.');
    await typeAtEnd(alice, ' Alice too.');
    await until('named carets at alice', async () => (await caretNames(alice)).join('|') === 'Bob|Carol');
    await until('named carets at bob', async () => (await caretNames(bob)).join('|') === 'Alice|Carol');
    // Each person one colour, the same on every side, in the list and at the caret.
    const caretColor = (page: Page, name: string) => page.locator(`sealdoc-editor .caret:has(.caret-name:text-is("${name}"))`).evaluate((c) => (c as HTMLElement).style.getPropertyValue('--caret-color'));
    const listColor = (page: Page, name: string) => page.locator(`sealdoc-members li:has([part=name]:text-is("${name}")) [part=color]`).evaluate((c) => getComputedStyle(c).backgroundColor);
    assert.equal(await caretColor(alice, 'Carol'), await caretColor(bob, 'Carol'));
    assert.notEqual(await caretColor(alice, 'Bob'), await caretColor(alice, 'Carol'));
    assert.equal(await listColor(alice, 'Carol'), await listColor(bob, 'Carol'));
    // A safety code on hover tells two people of one name apart.
    assert.match((await alice.locator('sealdoc-members li:has-text("Carol") [part=name]').getAttribute('title'))!, /^Safety code \d{4} \d{4} \d{4}/);
    assert.equal(await alice.locator('sealdoc-members li:has-text("Carol") [part=name]').getAttribute('title'), await bob.locator('sealdoc-members li:has-text("Carol") [part=name]').getAttribute('title'));

    // Who is here now: everyone, on every side.
    for (const [page, others] of [
      [alice, ['Bob', 'Carol']],
      [bob, ['Alice', 'Carol']],
      [carol, ['Alice', 'Bob']],
    ] as const) {
      for (const name of others) await until(`${name} here`, () => isHere(page, name));
    }
    assert.match((await carol.locator('sealdoc-members [part=status]').textContent())!, /3 members · 2 here now/);

    // Bob renames himself: the new name travels to the list and the caret of everyone.
    await bob.fill('#rename', 'Robert');
    await bob.press('#rename', 'Enter');
    await typeAtEnd(bob, ' Renamed.');
    for (const [page, who] of [
      [alice, 'alice'],
      [carol, 'carol'],
    ] as const) {
      await until(`the new name at ${who}`, async () => (await memberNames(page)).includes('Robert') && !(await memberNames(page)).includes('Bob'));
      await until(`the new name at ${who}'s caret`, async () => (await caretNames(page)).includes('Robert'));
    }

    // Offline, Bob is no longer here for the others within seconds; back, he is again.
    await bob.check('#offline');
    await until('robert gone at carol', async () => !(await isHere(carol, 'Robert')), 10_000);
    await until('robert gone at alice', async () => !(await isHere(alice, 'Robert')), 10_000);
    await noAlarm(bob, 'going offline');
    await bob.uncheck('#offline');
    await until('robert back at carol', () => isHere(carol, 'Robert'), 10_000);
    // A browser closed without a word: gone once its presence times out (30 s).
    const carolClosed = Date.now();
    await carol.context().setOffline(true);
    await until('carol gone at alice', async () => !(await isHere(alice, 'Carol')), 45_000);
    assert.ok(Date.now() - carolClosed < 45_000);
    await carol.context().setOffline(false);
    await until('carol back at alice', () => isHere(alice, 'Carol'), 30_000);
    // A page that goes away (a closed tab, another address) takes its presence with it: gone at
    // once, not after the time-out.
    const carolLeft = Date.now();
    await carol.goto('about:blank');
    await until('carol gone at alice after leaving the page', async () => !(await isHere(alice, 'Carol')), 10_000);
    assert.ok(Date.now() - carolLeft < 5_000, `Carol's leaving took ${Date.now() - carolLeft} ms to show`);

    // Alice's second device (restored from her words in another profile): Alice, not a stranger.
    const alice2 = await person();
    await alice2.goto(e2e.demo.url);
    await alice2.fill('#my-name', 'Alice');
    await alice2.click('#restore-words');
    await alice2.fill('sealdoc-recovery textarea', aliceWords);
    await alice2.click('sealdoc-recovery button[type=submit]');
    await until('the document on the second device', async () => (await alice2.locator('nav button.doc').allTextContents()).some((t) => t.includes('Team notes')), 30_000);
    await alice2.click('nav button.doc:has-text("Team notes")');
    await until('its text', async () => (await editor(alice2).textContent())!.includes('Renamed.'), 30_000);
    // The restore said so in a message: it goes away with Escape.
    await until('the restore message', async () => (await alice2.locator('#app > .message').count()) === 1);
    await alice2.keyboard.press('Escape');
    await until('the message dismissed by Escape', async () => (await alice2.locator('#app > .message').count()) === 0);
    await typeAtEnd(alice2, ' From my phone.');
    await until('the other device at alice', async () => (await alice.locator('sealdoc-members li:has(.you) [part=here]').textContent()) === 'you, other device', 30_000);
    await until("the other device's caret at alice", async () => (await caretNames(alice)).some((n) => n.startsWith('You, other device')), 30_000);
    assert.ok(!(await memberNames(alice)).some((n) => n.startsWith('Member')), 'no stranger in the list');
    // At Bob's, both of Alice's devices are Alice, in one colour.
    await typeAtEnd(alice, ' And from my laptop.');
    await until("alice's two carets at bob", async () => (await caretNames(bob)).filter((n) => n.startsWith('Alice')).length === 2, 30_000);
    const [one, two] = (await caretNames(bob)).filter((n) => n.startsWith('Alice'));
    assert.equal(await caretColor(bob, one!), await caretColor(bob, two!), "one person's devices, one colour");
    assert.equal(await alice.locator('sealdoc-members li:has(.you) [part=devices] [part=device-here]').count(), 1, 'the other device is marked here');
    await alice.screenshot({ path: `${SHOTS}/demo-presence.png` });

    // A removal is routine: no alarm on the admin's side, and what the list says can be dismissed.
    await alice.click('sealdoc-members li:has-text("Carol") button.remove');
    await alice.click('sealdoc-members dialog button.remove');
    await until('carol removed', async () => /Carol was removed/.test((await alice.locator('sealdoc-members [part=status]').textContent()) ?? ''));
    assert.doesNotMatch((await alice.locator('sealdoc-members [part=status]').textContent())!, /epoch/i);
    await typeAtEnd(alice, ' After Carol.');
    await new Promise((r) => setTimeout(r, 3000)); // what might follow a removal (Carol's last presence, her refused edits) has arrived
    await noAlarm(alice, 'removing a member');
    await noAlarm(bob, 'a member removed');
    await alice.click('sealdoc-members [part=dismiss]');
    await until('the removal note dismissed', async () => /^\s*2 members/.test((await alice.locator('sealdoc-members [part=status]').textContent()) ?? ''));
    await alice.fill('#rename', '   ');
    await alice.press('#rename', 'Enter');
    assert.equal(await alice.locator('#rename').inputValue(), 'Alice', 'an empty name is not taken');
    // The app's own message line: dismissed by its close button (here, a first visit with no name typed).
    const dora = await person();
    await dora.goto(e2e.demo.url);
    await dora.click('#create-identity');
    assert.match((await dora.locator('#app > .message').textContent())!, /Type the name others will see first/);
    await dora.click('#app > .message button[aria-label="Dismiss this message"]');
    await until('the message dismissed by its button', async () => (await dora.locator('#app > .message').count()) === 0);

    // No name in clear in the browser's store.
    for (const page of [alice, bob, alice2]) assert.deepEqual(await indexedDbHolds(page, ['Robert', 'Carol here']), []);
  });
});
