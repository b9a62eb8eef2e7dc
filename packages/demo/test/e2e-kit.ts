/**
 * What the demo's end-to-end tests share: the demo (relay + app) on a free port, Debian's
 * Chromium driven by playwright-core, a browser context per person, and the steps and checks
 * they repeat (an identity, an invitation, what the browser keeps).
 * @module
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startDemo, type Demo } from '@sealdoc/demo';
import { CHROME_ARGS, findChrome, HOW_TO_GET_CHROME } from '../../../scripts/find-chrome.mjs';

/** Where screenshots go: `npm run screenshots` keeps them for the README; other runs leave the tree as it was. */
export const SHOTS = process.env.SEALDOC_SCREENSHOTS === '1' ? 'docs/screenshots' : mkdtempSync(join(tmpdir(), 'sealdoc-shots-'));

/** A demo and a browser for one test file. */
export interface E2E {
  demo: Demo;
  /** The demo's data folder (its SQLite files). */
  dataDir: string;
  browser: Browser;
  /** A new person: a browser context of its own (its own IndexedDB), and a page in it. */
  person(): Promise<Page>;
  /** Closes every context, the browser and the demo; deletes the data folder. */
  close(): Promise<void>;
}

/** Starts the demo on a free port and Chromium (an error saying how to get it when there is none). */
export async function startE2E(): Promise<E2E> {
  const executablePath = findChrome();
  if (!executablePath) throw new Error(HOW_TO_GET_CHROME);
  const dataDir = mkdtempSync(join(tmpdir(), 'sealdoc-demo-'));
  const demo = await startDemo({ port: 0, dataDir });
  const browser = await chromium.launch({ executablePath, args: CHROME_ARGS, headless: true });
  const contexts: BrowserContext[] = [];
  return {
    demo,
    dataDir,
    browser,
    async person() {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      contexts.push(context);
      return context.newPage();
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close();
      await demo.close().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The first visit: a name, a new identity, its 24 words shown and three of them typed back. Returns the words. */
export async function createIdentity(page: Page, name: string): Promise<string> {
  await page.fill('#my-name', name);
  await page.click('#create-identity');
  await page.waitForSelector('sealdoc-recovery li');
  const words = await page.locator('sealdoc-recovery li').allTextContents();
  assert.equal(words.length, 24);
  await page.click('sealdoc-recovery button');
  for (const input of await page.locator('sealdoc-recovery input').all()) {
    const position = Number((await input.getAttribute('id'))!.slice(1));
    await input.fill(words[position]!);
  }
  await page.click('sealdoc-recovery button[type=submit]');
  return words.join(' ');
}

// The rich-text editor's editable element (ProseMirror's, in the element's shadow root), and its text as plain text.
export const editor = (page: Page) => page.locator('sealdoc-editor .ProseMirror');
export const text = (page: Page): Promise<string> => page.locator('sealdoc-editor').evaluate((element) => (element as HTMLElement & { text: string }).text);
export async function typeAtEnd(page: Page, words: string): Promise<void> {
  await editor(page).click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type(words);
}

export async function until(what: string, condition: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An admin invites `name` (a new browser context, from `person`); the invitee joins; returns its page, its words and the link. */
export async function invite(admin: Page, name: string, person: () => Promise<Page>): Promise<{ page: Page; words: string; link: string }> {
  await admin.selectOption('sealdoc-invite #role', 'writer');
  const linkField = admin.locator('sealdoc-invite input.link');
  const previous = (await linkField.count()) ? await linkField.inputValue() : '';
  await admin.click('sealdoc-invite button[part=button]:is(:has-text("Create invitation link"), :has-text("Create another link"))');
  // The new link, not the one shown before it.
  await until('the new link', async () => (await linkField.inputValue()) !== previous);
  const link = await linkField.inputValue();
  assert.match(link, /#invite=/);
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
  return { page, words, link };
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
export async function indexedDbHolds(page: Page, needles: string[]): Promise<string[]> {
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
export async function assertFieldsForgotten(page: Page, where: string): Promise<void> {
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
export async function keptOutsideHolds(page: Page, needles: string[]): Promise<string[]> {
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


/** axe-core's source (the root's pinned devDependency), read once: it is injected into each page scanned. */
let axeSource: Promise<string> | undefined;
function loadAxe(): Promise<string> {
  axeSource ??= (async () => {
    const [{ createRequire }, { readFile }] = await Promise.all([import('node:module'), import('node:fs/promises')]);
    return readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  })();
  return axeSource;
}

/** One violation as {@link expectAccessible} reports it: the rule, its impact, where, and what it asks. */
export interface AxeFinding {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/**
 * Scans the page as it is now (open shadow roots included) with axe-core in the browser, and
 * fails listing every serious or critical violation: rule id, impact, each element (a shadow
 * path reads `host >> inner`) and what the rule asks. Minor and moderate findings do not fail
 * the test (issue 18 asks for none serious or critical). `screen` names the screen in the message.
 */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  // Evaluated, not added as a <script>: the demo's Content-Security-Policy refuses inline scripts (as it should).
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(await loadAxe());
  const findings: AxeFinding[] = await page.evaluate(`(async () => {
    const { violations } = await axe.run(document, { resultTypes: ['violations'] });
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.map((t) => [].concat(t).join(' >> ')).join(' >> ')) }));
  })()`);
  const listed = findings.map((f) => `- ${f.id} (${f.impact}): ${f.help}\n${f.targets.map((t) => `    at ${t}`).join('\n')}`).join('\n');
  if (process.env.A11Y_LOG) { console.log("SCREEN", screen, "\n" + listed); return; }
  assert.deepEqual(findings, [], `serious or critical accessibility violations on the ${screen} screen:\n${listed}`);
}
