// Accessibility, end to end: an axe-core scan of every screen of the demo in real Chromium
// (no serious or critical violation), and every flow done with the keyboard alone.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join as joinPath } from 'node:path';
import type { Page } from 'playwright-core';
import { createIdentity, expectAccessible, invite, SHOTS, startE2E, text, typeAtEnd, until, type E2E } from './e2e-kit.js';

/**
 * Where the focus is (through shadow roots: "host >> element", a button or summary followed by
 * its text in quotes), and whether it shows: the element matches :focus-visible and has an
 * outline or a shadow drawn. Sent as source text, like e2e-kit's scans.
 */
const FOCUS = `() => {
  let element = document.activeElement;
  const path = [];
  while (element) {
    path.push(element);
    if (!element.shadowRoot || !element.shadowRoot.activeElement) break;
    element = element.shadowRoot.activeElement;
  }
  const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
  const style = element ? getComputedStyle(element) : undefined;
  const drawn = !!style && ((style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none');
  const said = element && ['BUTTON', 'SUMMARY'].includes(element.tagName) ? ' "' + element.textContent.trim() + '"' : '';
  return { at: path.map(name).join(' >> ') + said, visible: !!element && element !== document.body && element.matches(':focus-visible') && drawn };
}`;
interface Focus {
  at: string;
  visible: boolean;
}
const focus = (page: Page): Promise<Focus> => page.evaluate(`(${FOCUS})()`);

/**
 * Presses `key` (Tab or Shift+Tab) until the focus is on an element whose path ends with
 * `target` (a regular expression over "host >> element" names), at most `most` times; each
 * element passed on the way must show its focus (the page's edge, where the browser's own
 * controls take it, shows as the body). Fails if the target is never reached: the focus
 * is stuck somewhere, or the target is out of the keyboard's reach.
 */
async function moveTo(page: Page, target: RegExp, key: 'Tab' | 'Shift+Tab' = 'Tab', most = 60): Promise<void> {
  const passed: string[] = [];
  for (let i = 0; i < most; i++) {
    await page.keyboard.press(key);
    const now = await focus(page);
    passed.push(now.at);
    // Past the last element (or before the first) the focus leaves the page, to the browser's own controls.
    if (now.at === 'body') continue;
    assert.ok(now.visible, `the focus shows on ${now.at} (after ${passed.slice(0, -1).join(', ') || 'nothing'})`);
    if (target.test(now.at)) return;
  }
  assert.fail(`${target} not reached with ${key}; the focus went through:\n${passed.join('\n')}`);
}

/** An identity made with the keyboard alone: the name, "Create my identity", the words read and the three asked typed back. Returns the words. */
async function identityByKeyboard(page: Page, name: string): Promise<string[]> {
  await moveTo(page, /input#my-name$/);
  await page.keyboard.type(name);
  await moveTo(page, /button#create-identity "/);
  await page.keyboard.press('Enter');
  await page.waitForSelector('sealdoc-recovery li');
  const words = await page.locator('sealdoc-recovery li').allTextContents();
  await moveTo(page, /sealdoc-recovery >> button "I have written them down"$/);
  await page.keyboard.press('Enter');
  await page.waitForSelector('sealdoc-recovery input');
  // The button pressed is gone: the focus is on the first word asked.
  const first = (await page.locator('sealdoc-recovery input').first().getAttribute('id'))!;
  await until('the focus on the first word asked', async () => (await focus(page)).at.endsWith(`input#${first}`));
  assert.ok((await focus(page)).visible);
  for (const input of await page.locator('sealdoc-recovery input').all()) {
    const id = (await input.getAttribute('id'))!;
    if (!(await focus(page)).at.endsWith(`input#${id}`)) await moveTo(page, new RegExp(`input#${id}$`));
    await page.keyboard.type(words[Number(id.slice(1))]!);
  }
  await page.keyboard.press('Enter');
  return words;
}

let e2e: E2E;
const person = (): Promise<Page> => e2e.person();

/** `name` joins the admin's document by a new link; returns the new member's page. */
async function join(admin: Page, name: string): Promise<Page> {
  return (await invite(admin, name, person)).page;
}

describe('accessibility (axe-core scans, the keyboard alone)', () => {
  before(async () => {
    e2e = await startE2E();
  });

  after(async () => {
    await e2e?.close();
  });

  it('every screen passes an axe-core scan: no serious or critical violation', async () => {
    const alice = await person();
    await alice.goto(e2e.demo.url);
    await alice.waitForSelector('#create-identity');
    await expectAccessible(alice, 'welcome');

    // The recovery phrase: shown, then three words typed back.
    await alice.fill('#my-name', 'Alice');
    await alice.click('#create-identity');
    await alice.waitForSelector('sealdoc-recovery li');
    await expectAccessible(alice, 'recovery phrase (shown)');
    const words = await alice.locator('sealdoc-recovery li').allTextContents();
    await alice.click('sealdoc-recovery button');
    await alice.waitForSelector('sealdoc-recovery input');
    await expectAccessible(alice, 'recovery phrase (confirm)');
    for (const input of await alice.locator('sealdoc-recovery input').all()) await input.fill(words[Number((await input.getAttribute('id'))!.slice(1))]!);
    await alice.click('sealdoc-recovery button[type=submit]');
    await alice.waitForSelector('#new-doc');
    await expectAccessible(alice, 'main (no document yet)');

    // The main screen with a document open, the invite panel with a link, the backup details open.
    await alice.click('#new-doc');
    await alice.fill('input.title', 'Plans');
    await typeAtEnd(alice, 'Hello from Alice.');
    await until('alice online', async () => (await alice.locator('sealdoc-sync-status [part=label]').textContent()) === 'Up to date');
    await expectAccessible(alice, 'main (a document open)');
    await alice.selectOption('sealdoc-invite #role', 'writer');
    await alice.click('sealdoc-invite button[part=button]:has-text("Create invitation link")');
    await alice.waitForSelector('sealdoc-invite input.link');
    await alice.click('nav summary');
    await expectAccessible(alice, 'main (invitation link, backup details open)');
    // A message under the screen (a passphrase too short), with its button to dismiss it.
    await alice.fill('#pass1', 'short');
    await alice.click('#export-backup');
    await alice.waitForSelector('p.message');
    await expectAccessible(alice, 'main (a message)');
    await alice.keyboard.press('Escape');
    await alice.click('nav summary');
    await alice.setViewportSize({ width: 375, height: 740 });
    await expectAccessible(alice, 'main (at a phone\'s width)');
    await alice.setViewportSize({ width: 1280, height: 800 });

    // The join screen, as an invitee sees it before and after asking; the request at the admin.
    const link = await alice.locator('sealdoc-invite input.link').inputValue();
    const carol = await person();
    await carol.goto(link);
    await carol.waitForSelector('#create-identity');
    await expectAccessible(carol, 'welcome (invited)');
    await createIdentity(carol, 'Carol');
    await carol.waitForSelector('sealdoc-invite #name');
    await expectAccessible(carol, 'join');
    await carol.fill('sealdoc-invite #name', 'Carol');
    await carol.click('sealdoc-invite button:has-text("Ask to join")');
    await carol.waitForSelector('sealdoc-invite .code');
    await expectAccessible(carol, 'join (waiting to be admitted)');
    await until("carol's request at alice", async () => (await alice.locator('sealdoc-invite li:has-text("Carol")').count()) === 1);
    await expectAccessible(alice, 'main (a request to admit)');

    const bob = await join(alice, 'Bob');
    await until('bob reads', async () => (await text(bob)) === 'Hello from Alice.');
    await expectAccessible(bob, 'main (a member, carets of others)');

    // Offline, with changes waiting.
    await alice.check('#offline');
    await typeAtEnd(alice, ' Written offline.');
    await until('pending edits shown', async () => /saved on this device/.test((await alice.locator('sealdoc-sync-status [part=pending]').textContent()) ?? ''));
    await expectAccessible(alice, 'offline');
    await alice.uncheck('#offline');

    // Removing a member: the confirmation dialog, then the removed member's view.
    // The dialog is modal: opened with the keyboard, it holds the focus until Escape, which gives it back.
    const removeBob = alice.locator('sealdoc-members li:has-text("Bob") button.remove');
    await removeBob.focus();
    await alice.keyboard.press('Enter');
    await alice.waitForSelector('sealdoc-members dialog[open]');
    await expectAccessible(alice, 'remove a member (dialog)');
    for (let i = 0; i < 6; i++) {
      const now = await focus(alice);
      // In the dialog, or at the page's edge (the browser's own controls): never behind the dialog.
      assert.ok(now.at === 'body' || /sealdoc-members >> button/.test(now.at), `the focus stays in the dialog (at ${now.at})`);
      if (now.at !== 'body') assert.ok(now.visible, `the focus shows on ${now.at}`);
      await alice.keyboard.press('Tab');
    }
    await alice.keyboard.press('Escape');
    await until('the dialog closed', async () => (await alice.locator('sealdoc-members dialog[open]').count()) === 0);
    assert.ok(await removeBob.evaluate((button) => button.getRootNode() instanceof ShadowRoot && (button.getRootNode() as ShadowRoot).activeElement === button), 'the focus back on the button that opened the dialog');
    await alice.keyboard.press('Enter');
    await alice.waitForSelector('sealdoc-members dialog[open]');
    await alice.click('sealdoc-members dialog button.remove');
    await until('bob told', async () => /access was removed/i.test((await bob.locator('sealdoc-editor [part=notice]').textContent()) ?? ''));
    await expectAccessible(bob, 'removed member');
    await expectAccessible(alice, 'main (after a removal)');

    // Restore from the words, import a backup: fresh profiles.
    const restoring = await person();
    await restoring.goto(e2e.demo.url);
    await restoring.fill('#my-name', 'Alice');
    await restoring.click('#restore-words');
    await restoring.waitForSelector('sealdoc-recovery textarea');
    await expectAccessible(restoring, 'restore from the words');
    const importing = await person();
    await importing.goto(e2e.demo.url);
    await importing.fill('#my-name', 'Alice');
    await importing.click('#restore-backup');
    await importing.waitForSelector('#file');
    await expectAccessible(importing, 'import a backup');

    // The scan sees into shadow roots, and names what it finds: a button without a name, in one, fails it.
    await importing.evaluate(`(() => {
      const host = document.createElement('div');
      host.attachShadow({ mode: 'open' }).innerHTML = '<button class="nameless"></button>';
      document.querySelector('main').append(host);
    })()`);
    await assert.rejects(expectAccessible(importing, 'a nameless button'), (error: Error) => /button-name \(critical\)/.test(error.message) && /div >> \.nameless|\.nameless/.test(error.message) && /a nameless button/.test(error.message));
  });
  it('the main flow with the keyboard alone: focus always shows, is never stuck, and the editor is left with Escape then Tab', async () => {
    const page = await person();
    await page.goto(e2e.demo.url);
    await page.waitForSelector('#create-identity');

    assert.equal((await identityByKeyboard(page, 'Kim')).length, 24);
    await page.waitForSelector('#new-doc');

    // A document: its title, then text with a word in bold (Ctrl+B).
    await moveTo(page, /button#new-doc "/);
    await page.keyboard.press('Enter');
    await page.waitForSelector('sealdoc-editor .ProseMirror');
    await moveTo(page, /input\.title$/);
    await page.keyboard.type('Keyboard notes');
    await moveTo(page, /sealdoc-editor >> div#text\./);
    await page.keyboard.type('Typed with the keyboard, ');
    await page.keyboard.press('Control+b');
    await page.keyboard.type('bold');
    await page.keyboard.press('Control+b');
    await page.keyboard.type(' too.');
    assert.equal(await page.inputValue('input.title'), 'Keyboard notes');
    assert.equal(await text(page), 'Typed with the keyboard, bold too.');
    assert.equal(await page.locator('sealdoc-editor strong').textContent(), 'bold');

    // In a list, Tab indents and keeps the focus; Escape then Tab (or Shift+Tab) leaves the text.
    await page.keyboard.press('Enter');
    await page.keyboard.type('- first');
    await page.keyboard.press('Enter');
    await page.keyboard.type('second');
    await page.keyboard.press('Tab');
    assert.equal(await page.locator('sealdoc-editor li li').count(), 1, 'Tab in a list indents the item');
    assert.match((await focus(page)).at, /div#text\./, 'and the focus stays in the text');
    // A third item, which Tab could indent again (under the second): Escape first, and Tab leaves instead.
    await page.keyboard.press('Enter');
    await page.keyboard.type('third');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Tab');
    assert.doesNotMatch((await focus(page)).at, /div#text/, 'Escape then Tab leaves the text');
    assert.ok((await focus(page)).visible);
    await moveTo(page, /sealdoc-editor >> div#text\./, 'Shift+Tab');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Shift+Tab');
    assert.match((await focus(page)).at, /sealdoc-editor >> button/, 'Escape then Shift+Tab, from the text to the toolbar');
    assert.equal(await page.locator('sealdoc-editor li li').count(), 2, 'the list as it was: neither Tab indented or lifted an item');
    assert.equal(await page.locator('sealdoc-editor li li li').count(), 0);

    // An invitation link, from the invite panel.
    await moveTo(page, /sealdoc-invite >> button "Create invitation link"/);
    await page.keyboard.press('Enter');
    await until('the invitation link', async () => /#invite=/.test(await page.locator('sealdoc-invite input.link').inputValue()));
    await moveTo(page, /sealdoc-invite >> input#link\.link$/);

    // "Work offline", back up the page with Shift+Tab, then Space.
    await moveTo(page, /input#offline$/, 'Shift+Tab');
    assert.equal(await page.locator('sealdoc-editor li li').count(), 2, 'Shift+Tab through the text, on the way up, changed no list');
    await page.keyboard.press('Space');
    assert.equal(await page.isChecked('#offline'), true);
    await until('offline shown', async () => (await page.locator('sealdoc-sync-status [part=label]').textContent()) !== 'Up to date');
    await page.screenshot({ path: `${SHOTS}/demo-keyboard.png` });
    await page.keyboard.press('Space');
    assert.equal(await page.isChecked('#offline'), false);
    await until('online again', async () => (await page.locator('sealdoc-sync-status [part=label]').textContent()) === 'Up to date');
  });
  it('joining, admitting, removing, a backup and a restore with the keyboard alone', async () => {
    // Lee, an admin, makes a document and a link.
    const lee = await person();
    await lee.goto(e2e.demo.url);
    await lee.waitForSelector('#create-identity');
    const leeWords = await identityByKeyboard(lee, 'Lee');
    await lee.waitForSelector('#new-doc');
    await moveTo(lee, /button#new-doc "/);
    await lee.keyboard.press('Enter');
    await lee.waitForSelector('sealdoc-editor .ProseMirror');
    await moveTo(lee, /input\.title$/);
    await lee.keyboard.type('Team notes');
    await moveTo(lee, /sealdoc-editor >> div#text\./);
    await lee.keyboard.type('Agenda.');
    await moveTo(lee, /sealdoc-invite >> button "Create invitation link"/);
    await lee.keyboard.press('Enter');
    await until('the invitation link', async () => /#invite=/.test(await lee.locator('sealdoc-invite input.link').inputValue()));
    const link = await lee.locator('sealdoc-invite input.link').inputValue();

    // Max opens it, makes an identity and asks to join; Lee admits him.
    const max = await person();
    await max.goto(link);
    await max.waitForSelector('#create-identity');
    await identityByKeyboard(max, 'Max');
    await max.waitForSelector('sealdoc-invite #name');
    await moveTo(max, /sealdoc-invite >> input#name$/);
    await max.keyboard.type('Max');
    await max.keyboard.press('Enter');
    await max.waitForSelector('sealdoc-invite .code');
    await until("Max's request at Lee", async () => (await lee.locator('sealdoc-invite li:has-text("Max") button:has-text("Admit")').count()) === 1);
    await moveTo(lee, /sealdoc-invite >> button "Admit"/);
    await lee.keyboard.press('Enter');
    await until('Max reads the document', async () => (await max.locator('sealdoc-editor .ProseMirror').count()) === 1 && (await text(max)) === 'Agenda.');

    // Lee removes Max: the list's Remove, then the dialog's (Shift+Tab from Cancel: the page behind is out of reach).
    await until('Max in the members', async () => (await lee.locator('sealdoc-members li:has-text("Max") button.remove').count()) === 1);
    await moveTo(lee, /sealdoc-members >> button\.remove "Remove"/);
    await lee.keyboard.press('Enter');
    await lee.waitForSelector('sealdoc-members dialog[open]');
    await moveTo(lee, /sealdoc-members >> button "Cancel"/);
    await moveTo(lee, /sealdoc-members >> button\.remove "Remove"/, 'Shift+Tab');
    assert.equal(await lee.locator('sealdoc-members dialog[open]').count(), 1);
    await lee.keyboard.press('Enter');
    await until('Max told', async () => /access was removed/i.test((await max.locator('sealdoc-editor [part=notice]').textContent()) ?? ''));

    // A backup: the Backup details, the passphrase twice, Enter.
    await moveTo(lee, /summary "Backup"/);
    await lee.keyboard.press('Enter');
    await moveTo(lee, /input#pass1$/);
    await lee.keyboard.type('correct horse battery');
    await moveTo(lee, /input#pass2$/);
    await lee.keyboard.type('correct horse battery');
    const [download] = await Promise.all([lee.waitForEvent('download', { timeout: 60_000 }), lee.keyboard.press('Enter')]);
    const backup = joinPath(e2e.dataDir, 'keyboard.sdbk');
    await download.saveAs(backup);

    // Imported in a fresh profile: the file chooser opened with Space.
    const imported = await person();
    await imported.goto(e2e.demo.url);
    await imported.waitForSelector('#create-identity');
    await moveTo(imported, /input#my-name$/);
    await imported.keyboard.type('Lee');
    await moveTo(imported, /button#restore-backup[.]/);
    await imported.keyboard.press('Enter');
    await imported.waitForSelector('#file');
    // Waited for before the key: Playwright takes over the browser's file chooser only once asked to, which takes a moment.
    const choosing = imported.waitForEvent('filechooser', { timeout: 60_000 });
    await moveTo(imported, /input#file$/);
    await imported.keyboard.press('Space');
    await (await choosing).setFiles(backup);
    await moveTo(imported, /input#pass$/);
    await imported.keyboard.type('correct horse battery');
    await imported.keyboard.press('Enter');
    await until('the backup opens', async () => (await text(imported)) === 'Agenda.', 60_000);

    // Restored from the words in another.
    const restored = await person();
    await restored.goto(e2e.demo.url);
    await restored.waitForSelector('#create-identity');
    await moveTo(restored, /input#my-name$/);
    await restored.keyboard.type('Lee');
    await moveTo(restored, /button#restore-words[.]/);
    await restored.keyboard.press('Enter');
    await restored.waitForSelector('sealdoc-recovery textarea');
    await moveTo(restored, /sealdoc-recovery >> textarea#phrase$/);
    await restored.keyboard.type(leeWords.join(' '));
    await moveTo(restored, /sealdoc-recovery >> button "Restore"/);
    await restored.keyboard.press('Enter');
    await until('the document after a restore', async () => (await restored.locator('nav button.doc').allTextContents()).some((t) => t.includes('Team notes')), 30_000);
    await moveTo(restored, /button\.doc[^"]* "Team notes"/);
    await restored.keyboard.press('Enter');
    await until('its text', async () => (await text(restored)) === 'Agenda.', 30_000);
  });

  it('Tab indents a list item at once after a click in it; the keyboard brings the focus in to pass', async () => {
    const page = await person();
    await page.goto(e2e.demo.url);
    await createIdentity(page, 'Noor');
    await page.click('#new-doc');
    await typeAtEnd(page, '- one');
    await page.keyboard.press('Enter');
    await page.keyboard.type('two');
    await page.locator('sealdoc-editor li:has-text("two")').click();
    await page.keyboard.press('Tab');
    await until('clicked in, Tab indents', async () => (await page.locator('sealdoc-editor li li').count()) === 1);
    assert.match((await focus(page)).at, /div#text\./);
    // Out with Escape; tabbed in again: the first Tab (or Shift+Tab) goes on, and the list stays as it is.
    await page.keyboard.press('Escape');
    await moveTo(page, /input\.title$/, 'Shift+Tab');
    assert.equal(await page.locator('sealdoc-editor li li').count(), 1);
    await moveTo(page, /sealdoc-editor >> div#text\./);
    await page.keyboard.press('Shift+Tab');
    assert.doesNotMatch((await focus(page)).at, /div#text/);
    assert.equal(await page.locator('sealdoc-editor li li').count(), 1);
  });
});
