// End to end: the demo (relay + app) on a free port, Debian's Chromium driven by
// playwright-core, three people (Alice, Bob, Carol) in three browser contexts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { Demo } from '@sealdoc/demo';
import { assertFieldsForgotten, indexedDbHolds, invite as inviteWith, keptOutsideHolds, SHOTS, startE2E, text, typeAtEnd, until, type E2E } from './e2e-kit.js';

const SECRETS = ['Hello from Alice', 'Bob was here', 'Quarterly plans', 'written offline by Alice', 'written offline by Bob', 'after Carol left'];
const NAMES = ['Alice', 'Bob', 'Carol'];
/** The secrets of the invitation links created (each link's fragment), and everyone's 24 words. */
const INVITES: string[] = [];
const PHRASES: string[] = [];

let e2e: E2E;
let demo: Demo;
let dataDir: string;
const person = (): Promise<Page> => e2e.person();

/** An admin invites `name`; the link's secret and the invitee's words are kept for the scans at the end. */
async function invite(admin: Page, name: string): Promise<{ page: Page; words: string }> {
  const { page, words, link } = await inviteWith(admin, name, person);
  INVITES.push(link.split('#invite=')[1]!);
  PHRASES.push(words);
  return { page, words };
}

describe('the demo, end to end (three people, three browser contexts)', () => {
  before(async () => {
    e2e = await startE2E();
    ({ demo, dataDir } = e2e);
  });

  after(async () => {
    await e2e?.close();
  });

  it('names kept by earlier versions in localStorage move into the sealed store', async () => {
    const page = await person();
    await page.goto(demo.url);
    await page.waitForSelector('#create-identity');
    await page.evaluate(`localStorage.setItem('sealdoc-my-name', 'Dora Legacy'); localStorage.setItem('sealdoc-names', '[["00ab","Erin Legacy"]]')`);
    await page.reload();
    await page.waitForSelector('#create-identity');
    assert.equal(await page.inputValue('#my-name'), 'Dora Legacy');
    assert.deepEqual(await page.evaluate('Object.keys(localStorage)'), []);
    assert.deepEqual(await indexedDbHolds(page, ['Dora Legacy', 'Erin Legacy']), []);
    await page.reload();
    await page.waitForSelector('#create-identity');
    assert.equal(await page.inputValue('#my-name'), 'Dora Legacy', 'kept in the sealed store');
  });

  it('identity, document, invitation, live editing, offline merge, removal, reload, restore from the words and from a backup; no plaintext at rest', async () => {
    // Alice: first visit.
    const alice = await person();
    await alice.goto(demo.url);
    await alice.waitForSelector('#create-identity');
    await assertFieldsForgotten(alice, 'the welcome screen');
    await alice.screenshot({ path: `${SHOTS}/demo-welcome.png` });
    await alice.fill('#my-name', 'Alice');
    await alice.click('#create-identity');
    await alice.waitForSelector('sealdoc-recovery li');
    await alice.screenshot({ path: `${SHOTS}/demo-recovery-phrase.png` });
    const aliceWords = (await alice.locator('sealdoc-recovery li').allTextContents()).join(' ');
    await alice.click('sealdoc-recovery button');
    await alice.waitForSelector('sealdoc-recovery input');
    await assertFieldsForgotten(alice, 'confirming the words');
    PHRASES.push(aliceWords);
    for (const input of await alice.locator('sealdoc-recovery input').all()) await input.fill(aliceWords.split(' ')[Number((await input.getAttribute('id'))!.slice(1))]!);
    await alice.click('sealdoc-recovery button[type=submit]');

    // A document.
    await alice.click('#new-doc');
    // Placeholders, not text: a new document has no title and no content until someone types.
    assert.equal(await alice.inputValue('input.title'), '');
    assert.equal(await alice.getAttribute('input.title', 'placeholder'), 'Untitled document');
    assert.equal(await alice.getAttribute('sealdoc-editor .ProseMirror .placeholder', 'data-placeholder'), 'Start writing…');
    assert.equal(await text(alice), '');
    await alice.fill('input.title', 'Quarterly plans');
    await typeAtEnd(alice, 'Hello from Alice.');
    await until('alice online', async () => (await alice.locator('sealdoc-sync-status [part=label]').textContent()) === 'Up to date');

    // Bob joins by link, edits live; carets show.
    const { page: bob } = await invite(alice, 'Bob');
    await until('bob reads the document', async () => (await text(bob)) === 'Hello from Alice.');
    assert.equal(await bob.locator('input.title').inputValue(), 'Quarterly plans');
    await typeAtEnd(bob, ' Bob was here.');
    await until('alice sees bob', async () => (await text(alice)).endsWith('Bob was here.'));
    await until("bob's caret at alice", async () => (await alice.locator('sealdoc-editor .caret-name:has-text("Bob")').count()) === 1);
    await alice.screenshot({ path: `${SHOTS}/demo-editing.png` });

    // Offline on both sides: Alice by the toggle, Bob by a real network loss. Both edit; they merge.
    await alice.check('#offline');
    await bob.context().setOffline(true);
    await demo.relay.relay.close(); // the relay drops every connection: a network loss as Bob's browser sees it
    await until('both offline', async () => (await bob.locator('sealdoc-sync-status [part=label]').textContent()) !== 'Up to date');
    await typeAtEnd(alice, ' (written offline by Alice)');
    await typeAtEnd(bob, ' (written offline by Bob)');
    await until('pending edits shown', async () => /saved on this device/.test((await alice.locator('sealdoc-sync-status [part=pending]').textContent()) ?? ''));
    await alice.screenshot({ path: `${SHOTS}/demo-offline.png` });
    await bob.context().setOffline(false);
    await alice.uncheck('#offline');
    const merged = async () => {
      const [a, b] = [await text(alice), await text(bob)];
      return a === b && a.includes('written offline by Alice') && a.includes('written offline by Bob');
    };
    await until('the offline edits merge', merged, 30_000);

    // Formatting travels: a heading, bold and a checklist item of Alice's are Bob's too.
    await typeAtEnd(alice, '');
    await alice.keyboard.press('Enter');
    await alice.click('sealdoc-editor [role=toolbar] button[data-tool=h2]');
    await alice.keyboard.type('Decisions');
    await alice.keyboard.press('Enter');
    await alice.keyboard.press('Control+b');
    await alice.keyboard.type('Ship it');
    await alice.keyboard.press('Control+b');
    await alice.keyboard.press('Enter');
    await alice.keyboard.type('[ ] book the room');
    await until('formatting at bob', async () => (await bob.locator('sealdoc-editor h2:has-text("Decisions")').count()) === 1 && (await bob.locator('sealdoc-editor strong:has-text("Ship it")').count()) === 1 && (await bob.locator('sealdoc-editor ul.checklist li:has-text("book the room") input[type=checkbox]').count()) === 1);
    assert.equal(await alice.locator('sealdoc-editor [role=toolbar] button[data-tool=check]').getAttribute('aria-pressed'), 'true');

    // Undo is local: Alice's Ctrl+Z takes back her last typing, never Bob's, on both sides.
    await new Promise((r) => setTimeout(r, 700)); // a new undo step (typing within 0.5 s is one)
    await typeAtEnd(bob, ' (Bob agrees)');
    await until('bob agrees at alice', async () => (await text(alice)).includes('(Bob agrees)'));
    await new Promise((r) => setTimeout(r, 700));
    await typeAtEnd(alice, ' typo-by-alice');
    await until('the typo at bob', async () => (await text(bob)).includes('typo-by-alice'));
    await alice.keyboard.press('Control+z');
    await until('alice undid her typing at bob', async () => !(await text(bob)).includes('typo-by-alice'));
    for (const page of [alice, bob]) {
      const shown = await text(page);
      assert.ok(!shown.includes('typo-by-alice'), 'her typing undone');
      assert.ok(shown.includes('(Bob agrees)'), "Bob's typing stays");
      assert.ok(shown.includes('book the room') && shown.includes('written offline by Bob'));
    }

    // Carol joins, then Alice removes her: Carol is told, and receives nothing new.
    const { page: carol } = await invite(alice, 'Carol');
    await until('carol reads', async () => (await text(carol)).includes('written offline by Bob'));
    await alice.click('sealdoc-members li:has-text("Carol") button.remove');
    await alice.click('sealdoc-members dialog button.remove');
    await until('carol removed at alice', async () => /Carol was removed/.test((await alice.locator('sealdoc-members [role=status]').textContent()) ?? ''));
    await until('carol told', async () => /access was removed/i.test((await carol.locator('sealdoc-editor [part=notice]').textContent()) ?? '') || (await carol.locator('sealdoc-sync-status [part=label]').textContent()) === 'Access removed');
    await carol.screenshot({ path: `${SHOTS}/demo-removed.png` });
    await typeAtEnd(alice, ' Said after Carol left.');
    await until('bob sees it', async () => (await text(bob)).includes('after Carol left'));
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(!(await text(carol)).includes('after Carol left'), 'Carol reads nothing sealed after her removal');

    // Reload: Bob's document is there from this device's store.
    await bob.reload();
    await until('bob after reload', async () => (await text(bob)).includes('after Carol left'));

    // Restore Alice from her words in a fresh profile: the document comes back from the relay.
    const restored = await person();
    await restored.goto(demo.url);
    await restored.fill('#my-name', 'Alice');
    await restored.click('#restore-words');
    await restored.waitForSelector('sealdoc-recovery textarea');
    await assertFieldsForgotten(restored, 'restoring from the words');
    await restored.fill('sealdoc-recovery textarea', aliceWords);
    await restored.click('sealdoc-recovery button[type=submit]');
    await until('the document after a restore', async () => (await restored.locator('nav button.doc').allTextContents()).some((t) => t.includes('Quarterly plans')), 30_000);
    await restored.click('nav button.doc:has-text("Quarterly plans")');
    await until('its text', async () => (await text(restored)).includes('after Carol left'), 30_000);

    // A backup, imported in a fresh profile with the relay stopped: the document opens offline.
    await alice.click('nav summary');
    await alice.fill('#pass1', 'correct horse battery');
    await alice.fill('#pass2', 'correct horse battery');
    const [download] = await Promise.all([alice.waitForEvent('download', { timeout: 60_000 }), alice.click('#export-backup')]);
    const backupPath = join(dataDir, 'backup.sdbk');
    await download.saveAs(backupPath);
    const fresh = await person();
    await fresh.goto(demo.url);
    await fresh.waitForSelector('#restore-backup');
    await demo.close(); // the relay (and the page's server) stops
    await fresh.fill('#my-name', 'Alice');
    await fresh.click('#restore-backup');
    await fresh.waitForSelector('#file');
    await assertFieldsForgotten(fresh, 'importing a backup');
    await fresh.setInputFiles('#file', backupPath);
    await fresh.fill('#pass', 'correct horse battery');
    await fresh.click('#import-backup');
    await until('the backup opens offline', async () => (await text(fresh)).includes('after Carol left'), 60_000);

    // Nothing at rest is plaintext: the relay's database, each browser's IndexedDB.
    for (const file of readdirSync(dataDir).filter((f) => f.startsWith('relay.sqlite'))) {
      const bytes = readFileSync(join(dataDir, file)).toString('latin1');
      for (const secret of SECRETS) assert.ok(!bytes.includes(secret), `${secret} in the relay's ${file}`);
    }
    // Names as the sealed record holds them (JSON strings): 'Bob' alone is in random bytes now and then.
    const quotedNames = NAMES.map((n) => JSON.stringify(n));
    for (const page of [alice, bob, carol, restored, fresh]) assert.deepEqual(await indexedDbHolds(page, [...SECRETS, ...quotedNames, ...PHRASES, ...INVITES]), []);

    // Nor anywhere else in the browsers: no title, name, words or invitation secret, no old key.
    assert.equal(INVITES.length, 2);
    assert.equal(PHRASES.length, 3);
    const needles = [...SECRETS, ...NAMES, ...PHRASES, ...INVITES, '#invite=', 'sealdoc-names', 'sealdoc-my-name'];
    for (const page of [alice, bob, carol, restored, fresh]) assert.deepEqual(await keptOutsideHolds(page, needles), [], `kept readable outside the sealed store at ${page.url()}`);
  });
});
