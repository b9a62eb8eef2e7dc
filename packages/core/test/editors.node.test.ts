// Real editors through a real relay: a page (editors/page.ts, bundled here with esbuild) binds
// ProseMirror with y-prosemirror and CodeMirror 6 with y-codemirror.next to one sealed Y.Doc
// through SealdocProvider; two people of one group, in two browser contexts of the system's
// Chromium (playwright-core), type into both editors at once with the keyboard. The texts
// converge, remote carets show with the other's name, Ctrl+Z (Y.UndoManager) takes back only
// one's own edits, and a page that closes takes its caret with it within 1 s.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { build } from 'esbuild';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import * as Y from 'yjs';
import { WebSocket } from 'ws';
import { createGroup, generateMnemonic, identityFromMnemonic, Keyring, MembershipLog } from '@sealdoc/crypto';
import { Group, SealdocProvider, type WebSocketLike } from '@sealdoc/core';
import { MemoryRelayStore, startRelay, type RelayServer } from '@sealdoc/relay';
import { CHROME_ARGS, findChrome, HOW_TO_GET_CHROME } from '../../../scripts/find-chrome.mjs';
import type { EditorConfig, EditorHooks } from './editors/page.js';

const ENTRY = fileURLToPath(new URL('./editors/page.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOC_NAME = 'editors/together';

const SEED_PM = 'Shared start.';
const SEED_CM = 'shared code';
const TYPED = {
  alice: { pm: ' Alice types in ProseMirror.', cm: ' // alice in CodeMirror' },
  bob: { pm: 'Bob was here first. ', cm: '/* bob */ ' },
};

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Sealdoc editors</title>
<style>#pm .ProseMirror, #cm .cm-editor { border: 1px solid #999; min-height: 3em; margin: 1em; padding: 0.5em; } .ProseMirror { white-space: pre-wrap; }</style>
</head><body><div id="pm"></div><div id="cm"></div><script type="module" src="/page.js"></script></body></html>`;

let outdir = '';
let url = '';
let server: RelayServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
const pages: Record<'alice' | 'bob', Page> = {} as Record<'alice' | 'bob', Page>;

async function until(what: string, condition: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Evaluates `body` in the page with `e` as its `window.editors` (sent as source text: the test's transpiler would add helpers the page lacks). */
function hooks<T>(page: Page, body: string): Promise<T> {
  return page.evaluate(`(() => { const e = window.editors; return ${body}; })()`) as Promise<T>;
}
const texts = (page: Page) => hooks<{ pm: string; cm: string; yPm: string; yCm: string }>(page, '({ pm: e.pmText(), cm: e.cmText(), yPm: e.yPmText(), yCm: e.yCmText() })');
const canUndo = (page: Page) => hooks<ReturnType<EditorHooks['canUndo']>>(page, 'e.canUndo()');

const EDITOR = { pm: '#pm .ProseMirror', cm: '#cm .cm-content' } as const;
const CARET = { pm: '#pm .ProseMirror-yjs-cursor', cm: '#cm .cm-ySelectionCaret' } as const;

/**
 * Clicks into an editor, goes to its start or end with the keyboard (again, should the editor
 * put its own selection back as it takes the focus), and types there key by key.
 */
async function typeInto(page: Page, editor: 'pm' | 'cm', where: 'start' | 'end', text: string): Promise<void> {
  await page.click(EDITOR[editor]);
  const caret = () => hooks<string>(page, `e.caret('${editor}')`);
  await until(`the caret at the ${where} of ${editor}`, async () => {
    if ((await caret()) === where) return true;
    await page.keyboard.press(where === 'start' ? 'Control+Home' : 'Control+End');
    return false;
  });
  await page.keyboard.type(text, { delay: 15 });
}

/** Both pages show `expected` in `editor`, in the editor and in its shared type. */
async function converged(editor: 'pm' | 'cm', expected: string): Promise<void> {
  const y = editor === 'pm' ? 'yPm' : 'yCm';
  try {
    await until(`${editor} to converge on ${JSON.stringify(expected)}`, async () => {
      for (const page of Object.values(pages)) {
        const t = await texts(page);
        if (t[editor] !== expected || t[y] !== expected) return false;
      }
      return true;
    });
  } catch (error) {
    const seen = { alice: await texts(pages.alice), bob: await texts(pages.bob) };
    assert.fail(`${(error as Error).message}; the pages show ${JSON.stringify(seen)}`);
  }
}

/** The other person's caret, named, shows in `editor` at `page`. */
async function caretShows(page: Page, editor: 'pm' | 'cm', name: string): Promise<void> {
  const caret = page.locator(CARET[editor], { hasText: name });
  await until(`${name}'s caret in ${editor}`, async () => (await caret.count()) === 1);
}

/** Presses Ctrl+Z in `editor` until its undo manager has nothing left. */
async function undoAll(page: Page, editor: 'pm' | 'cm'): Promise<number> {
  await page.click(EDITOR[editor]);
  let presses = 0;
  while ((await canUndo(page))[editor]) {
    assert.ok(++presses <= 100, `${editor}'s undo stack empties`);
    await page.keyboard.press('Control+z');
  }
  return presses;
}

function serve(request: IncomingMessage, response: ServerResponse): void {
  const path = new URL(request.url ?? '/', 'http://page').pathname;
  if (path === '/') {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(PAGE);
    return;
  }
  const file = path === '/page.js' ? 'page.js' : path === '/page.js.map' ? 'page.js.map' : undefined;
  if (!file) {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { 'content-type': extname(file) === '.js' ? 'text/javascript' : 'application/json' });
  response.end(readFileSync(join(outdir, file)));
}

describe('real editors on a sealed document (y-prosemirror and y-codemirror.next, two Chromium pages, a real relay)', { timeout: 120_000 }, () => {
  before(async () => {
    const executablePath = findChrome();
    if (!executablePath) throw new Error(HOW_TO_GET_CHROME);

    // The page, bundled as a browser would load the packages: their ESM, one Yjs.
    outdir = mkdtempSync(join(tmpdir(), 'sealdoc-editors-'));
    const result = await build({
      absWorkingDir: ROOT,
      entryPoints: [ENTRY],
      outfile: join(outdir, 'page.js'),
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      mainFields: ['browser', 'module', 'main'],
      conditions: ['browser', 'import', 'module'],
      sourcemap: true,
      metafile: true,
      logLevel: 'warning',
    });
    const inputs = Object.keys(result.metafile.inputs).map((input) => input.split('\\').join('/'));
    const yjs = inputs.filter((input) => /(^|\/)node_modules\/yjs\//.test(input));
    assert.deepEqual(yjs, ['node_modules/yjs/dist/yjs.mjs'], `exactly one Yjs, its ESM build: ${yjs.join(', ')}`);
    assert.deepEqual(inputs.filter((input) => input.endsWith('.cjs')), [], 'no CommonJS builds');
    for (const binding of ['y-prosemirror', 'y-codemirror.next', 'y-protocols', 'lib0', 'prosemirror-model', '@codemirror/state']) {
      const roots = new Set(inputs.flatMap((input) => [...input.matchAll(new RegExp(`^(.*node_modules/${binding.replace('.', '\\.')})/`, 'g'))].map((m) => m[1]!)));
      assert.equal(roots.size, 1, `one copy of ${binding}: ${[...roots].join(', ')}`);
    }

    // A group of three: a setup member that writes the documents' first content, Alice and Bob.
    const words = { setup: generateMnemonic(), alice: generateMnemonic(), bob: generateMnemonic() };
    const ops = [
      await createGroup(identityFromMnemonic(words.setup), {
        members: [
          { keys: identityFromMnemonic(words.alice), role: 'writer' },
          { keys: identityFromMnemonic(words.bob), role: 'writer' },
        ],
        history: 'all',
      }),
    ];
    server = await startRelay({ store: new MemoryRelayStore(), port: 0, http: serve });
    url = `http://127.0.0.1:${server.port}/`;

    // The first paragraph and line, written before either page opens: each page's editor binds
    // to what is there instead of writing a first paragraph of its own.
    const group = new Group({ signer: identityFromMnemonic(words.setup), log: await MembershipLog.fromOps(ops), keyring: new Keyring() });
    await group.refresh();
    const doc = new Y.Doc();
    const setup = new SealdocProvider(server.url, DOC_NAME, doc, { group, WebSocketPolyfill: WebSocket as unknown as new (url: string) => WebSocketLike });
    await setup.whenSynced;
    const paragraph = new Y.XmlElement('paragraph');
    paragraph.insert(0, [new Y.XmlText(SEED_PM)]);
    doc.getXmlFragment('prosemirror').insert(0, [paragraph]);
    doc.getText('codemirror').insert(0, SEED_CM);
    await setup.sealed.flush();
    await until('the relay to hold the first content', async () => setup.sealed.pending === 0);
    await setup.destroy();

    browser = await chromium.launch({ executablePath, args: CHROME_ARGS, headless: true });
    const people = { alice: { color: '#d9480f' }, bob: { color: '#1971c2' } };
    for (const who of ['alice', 'bob'] as const) {
      const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
      contexts.push(context);
      const config: EditorConfig = {
        relayUrl: server.url,
        docName: DOC_NAME,
        ops: ops.map((op) => Buffer.from(op).toString('base64')),
        mnemonic: words[who],
        name: who === 'alice' ? 'Alice' : 'Bob',
        color: people[who].color,
      };
      await context.addInitScript(`window.editorConfig = ${JSON.stringify(config)};`);
      const page = await context.newPage();
      page.on('pageerror', (error) => console.error(`[${who}] page error:`, error));
      await page.goto(url);
      pages[who] = page;
    }
    for (const [who, page] of Object.entries(pages)) {
      await page.waitForFunction('window.editors?.ready || window.editors?.error', undefined, { timeout: 30_000, polling: 50 });
      const error = (await page.evaluate('window.editors.error')) as string | undefined;
      if (error) throw new Error(`${who}'s page failed: ${error}`);
    }
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await server?.close();
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('two people type into both editors at once: the texts converge, carets show, Ctrl+Z undoes only one’s own edits', async () => {
    const { alice, bob } = pages;
    for (const page of [alice, bob]) assert.deepEqual(await texts(page), { pm: SEED_PM, cm: SEED_CM, yPm: SEED_PM, yCm: SEED_CM });

    // ProseMirror: Bob at the start, Alice at the end, at the same time.
    await Promise.all([typeInto(alice, 'pm', 'end', TYPED.alice.pm), typeInto(bob, 'pm', 'start', TYPED.bob.pm)]);
    await converged('pm', TYPED.bob.pm + SEED_PM + TYPED.alice.pm);
    await caretShows(alice, 'pm', 'Bob');
    await caretShows(bob, 'pm', 'Alice');

    // CodeMirror, the same way.
    await Promise.all([typeInto(alice, 'cm', 'end', TYPED.alice.cm), typeInto(bob, 'cm', 'start', TYPED.bob.cm)]);
    await converged('cm', TYPED.bob.cm + SEED_CM + TYPED.alice.cm);
    await caretShows(alice, 'cm', 'Bob');
    await caretShows(bob, 'cm', 'Alice');
    // The prosemirror binding removes its caret once its editor loses the focus.
    await until('the ProseMirror carets to go with the focus', async () => (await alice.locator(CARET.pm).count()) === 0 && (await bob.locator(CARET.pm).count()) === 0);

    // Ctrl+Z, both at once: Alice in ProseMirror, Bob in CodeMirror, until nothing is left to undo.
    const [alicePresses, bobPresses] = await Promise.all([undoAll(alice, 'pm'), undoAll(bob, 'cm')]);
    assert.ok(alicePresses >= 1 && bobPresses >= 1);
    await converged('pm', TYPED.bob.pm + SEED_PM);
    await converged('cm', SEED_CM + TYPED.alice.cm);
    // Each editor's undo manager is its own: the other editor's own edits can still be undone.
    assert.deepEqual(await canUndo(alice), { pm: false, cm: true });
    assert.deepEqual(await canUndo(bob), { pm: true, cm: false });
    await caretShows(bob, 'pm', 'Alice');
    await caretShows(alice, 'cm', 'Bob');
  });

  it('a page that navigates away, or closes, takes its presence with it: gone at the other page within 1 s', async () => {
    const { alice, bob } = pages;
    /** Alice's presence (the client of her page now) leaves Bob's page within 1 s of `leave`. */
    const goneWithin1s = async (leave: () => Promise<unknown>, how: string) => {
      const client = await hooks<number>(alice, 'e.clientID');
      await until("Alice's presence at Bob", async () => (await hooks<{ clientID: number }[]>(bob, 'e.remote()')).some((r) => r.clientID === client));
      await caretShows(bob, 'pm', 'Alice');
      const leaving = Date.now();
      await leave();
      try {
        await until(`Alice's presence to go at Bob (${how})`, async () => (await hooks<number | undefined>(bob, `e.removedAt[${client}]`)) !== undefined, 5_000);
      } catch {
        assert.fail(`Alice's awareness state is still at Bob ${Date.now() - leaving} ms after her page ${how}: ${JSON.stringify(await hooks(bob, 'e.remote()'))}`);
      }
      const removedAt = await hooks<number>(bob, `e.removedAt[${client}]`);
      assert.ok(removedAt - leaving < 1000, `gone ${removedAt - leaving} ms after her page ${how} (at most 1000)`);
      assert.ok(!(await hooks<{ clientID: number }[]>(bob, 'e.remote()')).some((r) => r.clientID === client));
    };

    // Navigating away (to the page again: a new Y.Doc, a new client).
    await goneWithin1s(() => alice.goto(url), 'navigated away');
    await alice.waitForFunction('window.editors?.ready || window.editors?.error', undefined, { timeout: 30_000, polling: 50 });
    assert.equal(await alice.evaluate('window.editors.error'), undefined);
    const again = await texts(alice);
    assert.deepEqual(again, { pm: TYPED.bob.pm + SEED_PM, cm: SEED_CM + TYPED.alice.cm, yPm: TYPED.bob.pm + SEED_PM, yCm: SEED_CM + TYPED.alice.cm }, 'the new page reads the document from the relay');
    await alice.click(EDITOR.pm);

    // Closing the page.
    await goneWithin1s(() => alice.close({ runBeforeUnload: true }), 'closed');
    assert.deepEqual(await hooks(bob, 'e.remote()'), [], 'no one else there');
    await until("Alice's carets to go at Bob", async () => (await bob.locator(CARET.pm).count()) + (await bob.locator(CARET.cm).count()) === 0, 2_000);
  });
});
