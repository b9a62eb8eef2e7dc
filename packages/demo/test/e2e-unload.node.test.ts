// End to end: nothing typed is lost when the page goes away at once, a reload right after the
// last keystroke (within the batching window, while the edit is being sealed) or the browser
// closed and its profile opened again. The demo on a free port, Chromium.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Page } from 'playwright-core';
import { CHROME_ARGS, findChrome } from '../../../scripts/find-chrome.mjs';
import { createIdentity, editor, indexedDbHolds, startE2E, text, until, type E2E } from './e2e-kit.js';

let e2e: E2E;

/** How many records of the engine's journal of edits not sealed yet the page's store holds. */
const JOURNALED = `new Promise((resolve, reject) => {
  const r = indexedDB.open('sealdoc-demo');
  r.onerror = () => reject(r.error);
  r.onsuccess = () => {
    const keys = r.result.transaction('records').objectStore('records').getAllKeys();
    keys.onsuccess = () => (r.result.close(), resolve(keys.result.filter((key) => Array.isArray(key) && key[0] === 'journal').length));
  };
})`;

/** A person with a new document open, its editor focused at the end. */
async function withDocument(page: Page, name: string): Promise<void> {
  await page.goto(e2e.demo.url);
  await createIdentity(page, name);
  await page.click('#new-doc');
  await editor(page).click();
}

describe('nothing typed is lost when the page goes away', () => {
  before(async () => {
    e2e = await startE2E();
  });

  after(async () => {
    await e2e?.close();
  });

  it('a reload right after typing keeps every character, round after round; the journal holds no plaintext and empties once the edits are sealed', async (t) => {
    const page = await e2e.person();
    // The browser asks to confirm only while an edit is not in the store yet (a moment after its
    // keystroke): accepted, as a person who meant to reload would.
    const asked: string[] = [];
    page.on('dialog', (dialog) => {
      asked.push(dialog.type());
      void dialog.accept();
    });
    await withDocument(page, 'Ada');
    let typed = '';
    for (const round of ['first', 'second', 'third', 'fourth', 'fifth']) {
      const words = ` ${round}-round-words`;
      await editor(page).click();
      await page.keyboard.press('Control+End');
      await page.keyboard.type(words);
      typed += words;
      // At once: the last keystrokes are still in the batching window, or being sealed.
      await page.reload();
      await until(`the ${round} round after the reload`, async () => (await editor(page).count()) === 1 && (await text(page)) !== '', 15_000).catch(() => undefined);
      assert.equal(await text(page), typed, `every character typed before the ${round} reload`);
    }
    assert.ok(asked.every((type) => type === 'beforeunload'), asked.join());
    t.diagnostic(`the browser asked to confirm ${asked.length} times in 5 reloads`);
    // Sealed under the device key while kept; gone once every edit is an envelope in the store.
    assert.deepEqual(await indexedDbHolds(page, ['round-words', 'fifth-round']), []);
    await until('the journal emptied', async () => (await page.evaluate(JOURNALED)) === 0);
  });

  it('the browser closed right after typing, its profile opened again: every character is there', async () => {
    const executablePath = findChrome()!;
    const profile = mkdtempSync(join(tmpdir(), 'sealdoc-profile-'));
    const open = () => chromium.launchPersistentContext(profile, { executablePath, args: CHROME_ARGS, headless: true, viewport: { width: 1280, height: 800 } });
    try {
      let context = await open();
      let page = context.pages()[0] ?? (await context.newPage());
      await withDocument(page, 'Grace');
      let typed = '';
      for (const round of ['one', 'two', 'three']) {
        const words = ` closed-${round}-words`;
        await editor(page).click();
        await page.keyboard.press('Control+End');
        await page.keyboard.type(words);
        typed += words;
        // The tab closed at once, then the whole browser.
        const closed = page.waitForEvent('close');
        page.on('dialog', (dialog) => void dialog.accept());
        await page.close({ runBeforeUnload: true });
        await closed;
        await context.close();
        context = await open();
        page = context.pages()[0] ?? (await context.newPage());
        await page.goto(e2e.demo.url);
        await until(`the ${round} round after reopening`, async () => (await editor(page).count()) === 1 && (await text(page)) !== '', 15_000).catch(() => undefined);
        assert.equal(await text(page), typed, `every character typed before the browser closed (${round})`);
      }
      await context.close();
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
