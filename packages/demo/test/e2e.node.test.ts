// End to end: the demo (relay + app) on a free port, Debian's Chromium driven by
// playwright-core, three people (Alice, Bob, Carol) in three browser contexts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startDemo, type Demo } from '@sealdoc/demo';
import { CHROME_ARGS, findChrome, HOW_TO_GET_CHROME } from '../../../scripts/find-chrome.mjs';

// `npm run screenshots` keeps them for the README; other runs leave the tree as it was.
const SHOTS = process.env.SEALDOC_SCREENSHOTS === '1' ? 'docs/screenshots' : mkdtempSync(join(tmpdir(), 'sealdoc-shots-'));
const SECRETS = ['Hello from Alice', 'Bob was here', 'Quarterly plans', 'written offline by Alice', 'written offline by Bob', 'after Carol left'];
const NAMES = ['Alice', 'Bob', 'Carol'];
/** The secrets of the invitation links created (each link's fragment), and everyone's 24 words. */
const INVITES: string[] = [];
const PHRASES: string[] = [];

let demo: Demo;
let dataDir: string;
let browser: Browser;
const contexts: BrowserContext[] = [];

async function person(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  return context.newPage();
}

/** The first visit: a name, a new identity, its 24 words shown and three of them typed back. Returns the words. */
async function createIdentity(page: Page, name: string): Promise<string> {
  await page.fill('#my-name', name);
  await page.click('#create-identity');
  const words = await page.locator('sealdoc-recovery li').allTextContents();
  assert.equal(words.length, 24);
  await page.click('sealdoc-recovery button');
  for (const input of await page.locator('sealdoc-recovery input').all()) {
    const position = Number((await input.getAttribute('id'))!.slice(1));
    await input.fill(words[position]!);
  }
  await page.click('sealdoc-recovery button[type=submit]');
  PHRASES.push(words.join(' '));
  return words.join(' ');
}

// The rich-text editor's editable element (ProseMirror's, in the element's shadow root), and its text as plain text.
const editor = (page: Page) => page.locator('sealdoc-editor .ProseMirror');
const text = (page: Page): Promise<string> => page.locator('sealdoc-editor').evaluate((element) => (element as HTMLElement & { text: string }).text);
async function typeAtEnd(page: Page, words: string): Promise<void> {
  await editor(page).click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type(words);
}

async function until(what: string, condition: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An admin invites `name` (a new browser context); the invitee joins; returns its page. */
async function invite(admin: Page, name: string): Promise<{ page: Page; words: string }> {
  await admin.selectOption('sealdoc-invite #role', 'writer');
  const linkField = admin.locator('sealdoc-invite input.link');
  const previous = (await linkField.count()) ? await linkField.inputValue() : '';
  await admin.click('sealdoc-invite button[part=button]:is(:has-text("Create invitation link"), :has-text("Create another link"))');
  // The new link, not the one shown before it.
  await until('the new link', async () => (await linkField.inputValue()) !== previous);
  const link = await linkField.inputValue();
  assert.match(link, /#invite=/);
  INVITES.push(link.split('#invite=')[1]!);
  await assertFieldsForgotten(admin, 'an admin with an invitation link');
  const page = await person();
  await page.goto(link);
  // The secret left the address bar before the app did anything else: the tab's history and
  // a restored session hold the app's address only.
  assert.equal(await page.evaluate('location.hash'), '', 'no fragment once the page has loaded');
  assert.equal(page.url(), link.slice(0, link.indexOf('#')));
  const words = await createIdentity(page, name);
  await page.waitForSelector('sealdoc-invite #name');
  await assertFieldsForgotten(page, 'asking to join');
  await page.fill('sealdoc-invite #name', name);
  await page.click('sealdoc-invite button:has-text("Ask to join")');
  await until(`${name}'s request at the admin`, async () => (await admin.locator(`sealdoc-invite li:has-text("${name}")`).count()) === 1);
  const code = await page.locator('sealdoc-invite .code').textContent();
  assert.equal(await admin.locator(`sealdoc-invite li:has-text("${name}") .code`).textContent(), code, 'both sides show the same safety code');
  await admin.click(`sealdoc-invite li:has-text("${name}") button:has-text("Admit")`);
  await until(`${name} admitted`, async () => (await editor(page).count()) === 1);
  return { page, words };
}

/**
 * Every value in the page's IndexedDB databases, searched for `needles` (as UTF-8 bytes). The
 * scan is sent as source text: the test's own transpiler would add helpers the page lacks.
 */
const SCAN = `async (needles) => {
  const found = new Set();
  const bytesOf = (v) => {
    if (v instanceof Uint8Array) return [v];
    if (v instanceof ArrayBuffer) return [new Uint8Array(v)];
    if (typeof v === 'string') return [new TextEncoder().encode(v)];
    if (v && typeof v === 'object') return Object.values(v).flatMap(bytesOf);
    return [];
  };
  for (const info of await indexedDB.databases()) {
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open(info.name);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    for (const store of [...db.objectStoreNames]) {
      const values = await new Promise((resolve) => {
        const r = db.transaction(store).objectStore(store).getAll();
        r.onsuccess = () => resolve(r.result);
      });
      for (const bytes of values.flatMap(bytesOf)) {
        const latin = Array.from(bytes, (b) => String.fromCharCode(b)).join('');
        for (const n of needles) if (latin.includes(n)) found.add(n);
      }
    }
    db.close();
  }
  return [...found];
}`;
async function indexedDbHolds(page: Page, needles: string[]): Promise<string[]> {
  return page.evaluate(`(${SCAN})(${JSON.stringify(needles)})`);
}

/**
 * The fields of the page (shadow roots included) a browser may remember: in its autocomplete
 * history, or in the form state it saves with the tab's history and a restored session. Only
 * autocomplete="off" keeps a field out of both; a password field never enters either.
 */
const REMEMBERED_FIELDS = `() => {
  const found = [];
  const visit = (root) => {
    for (const element of root.querySelectorAll('*')) {
      if (element.shadowRoot) visit(element.shadowRoot);
      if (!['INPUT', 'TEXTAREA'].includes(element.tagName) || element.getAttribute('autocomplete') === 'off' || element.type === 'password') continue;
      found.push(element.tagName.toLowerCase() + (element.id ? '#' + element.id : '') + (element.className ? '.' + element.className : ''));
    }
  };
  visit(document);
  return found;
}`;
async function assertFieldsForgotten(page: Page, where: string): Promise<void> {
  assert.deepEqual(await page.evaluate(`(${REMEMBERED_FIELDS})()`), [], `fields the browser may remember (${where})`);
}

/** What the page can see of the browser's keeping outside IndexedDB (sent as source text, like SCAN). */
const OUTSIDE = `async () => {
  const items = (storage) => Object.keys(storage).map((key) => [key, storage.getItem(key)]);
  const cached = [];
  for (const name of await caches.keys()) cached.push(name, ...(await (await caches.open(name)).keys()).map((request) => request.url));
  return { localStorage: items(localStorage), sessionStorage: items(sessionStorage), cookie: document.cookie, caches: cached, href: location.href, title: document.title };
}`;
/**
 * localStorage, sessionStorage, cookies, the Cache API, the address and the tab's history
 * entries (read over CDP: a page cannot), searched for `needles`. Of each entry, the address
 * and title it shows and goes back to: the address the tab was opened with (userTypedURL) is
 * the browser's record of that navigation, which no page can change.
 */
async function keptOutsideHolds(page: Page, needles: string[]): Promise<string[]> {
  const cdp = await page.context().newCDPSession(page);
  const { entries } = await cdp.send('Page.getNavigationHistory');
  await cdp.detach();
  const kept = JSON.stringify({
    page: await page.evaluate(`(${OUTSIDE})()`),
    cookies: await page.context().cookies(),
    history: entries.map(({ url, title }) => ({ url, title })),
  });
  return needles.filter((n) => kept.includes(n));
}

describe('the demo, end to end (three people, three browser contexts)', () => {
  before(async () => {
    const executablePath = findChrome();
    if (!executablePath) throw new Error(HOW_TO_GET_CHROME);
    dataDir = mkdtempSync(join(tmpdir(), 'sealdoc-demo-'));
    demo = await startDemo({ port: 0, dataDir });
    browser = await chromium.launch({ executablePath, args: CHROME_ARGS, headless: true });
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await demo?.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
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
    await until('pending edits shown', async () => /waiting to be sent/.test((await alice.locator('sealdoc-sync-status [part=pending]').textContent()) ?? ''));
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
