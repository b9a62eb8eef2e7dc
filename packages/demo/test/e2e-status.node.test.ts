// End to end, the sync status tells the truth: a network gone silent (socket open, no bytes
// either way) shows as offline with the count of edits kept here within 15 s, and the link is
// back within 2 s of the network's return; "Work offline" holds across a reload (no connection
// at all); a relay down at page load, or one that turns this device away, is said in plain
// words. A TCP proxy between Chromium and the demo plays the network (link-proxy.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { WebSocketServer } from 'ws';
import { encodeWire, type RelayErrorCode } from '@sealdoc/protocol';
import { createIdentity, editor, indexedDbHolds, SHOTS, startE2E, text, typeAtEnd, until, type E2E } from './e2e-kit.js';
import { startLinkProxy, type LinkProxy } from './link-proxy.js';

let e2e: E2E;
let proxy: LinkProxy;
let alice: Page;
let bob: Page;

/** The status as a person reads it: the label, the count and the hint, in one line. */
const statusText = async (page: Page): Promise<string> => ((await page.locator('sealdoc-sync-status [part=status]').textContent()) ?? '').replace(/\s+/g, ' ').trim();
const label = async (page: Page): Promise<string> => (await page.locator('sealdoc-sync-status [part=label]').textContent()) ?? '';
const upToDate = async (page: Page): Promise<boolean> => (await label(page)) === 'Up to date' && (await page.locator('sealdoc-sync-status [part=pending]').count()) === 0;

/**
 * Waits in the page (polled every 20 ms, no round trip per look) until the status's label is
 * `wanted` with nothing pending; returns how long it took, in ms.
 */
async function timeUntilLabel(page: Page, wanted: string, timeoutMs: number): Promise<number> {
  const start = performance.now();
  await page.waitForFunction(
    (wanted) => {
      const root = document.querySelector('sealdoc-sync-status')?.shadowRoot;
      return root?.querySelector('[part=label]')?.textContent === wanted && !root.querySelector('[part=pending]');
    },
    wanted,
    { polling: 20, timeout: timeoutMs },
  );
  return performance.now() - start;
}

/** A relay that turns every connection away with `code` (as a relay does when full, or when it does not admit a device). */
async function refusingRelay(code: RelayErrorCode): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  let connections = 0;
  server.on('connection', (socket) => {
    connections++;
    socket.send(encodeWire({ type: 'error', ref: 0, code, message: 'refused by the test' }));
    socket.close(1008, 'refused');
  });
  return {
    port: (server.address() as { port: number }).port,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('the sync status tells the truth (a proxy plays the network)', () => {
  before(async () => {
    e2e = await startE2E();
    proxy = await startLinkProxy(e2e.demo.relay.port);
    // Alice reaches the demo through the proxy; Bob directly (his network never fails).
    alice = await e2e.person();
    await alice.goto(proxy.url);
    await createIdentity(alice, 'Alice');
    await alice.click('#new-doc');
    await typeAtEnd(alice, 'Before the drop.');
    await until('alice up to date', () => upToDate(alice));
    await alice.selectOption('sealdoc-invite #role', 'writer');
    await alice.click('sealdoc-invite button[part=button]:has-text("Create invitation link")');
    await until('a link', async () => (await alice.locator('sealdoc-invite input.link').inputValue()).includes('#invite='));
    const link = await alice.locator('sealdoc-invite input.link').inputValue();
    bob = await e2e.person();
    await bob.goto(e2e.demo.url + link.slice(link.indexOf('#')));
    await createIdentity(bob, 'Bob');
    await bob.fill('sealdoc-invite #name', 'Bob');
    await bob.click('sealdoc-invite button:has-text("Ask to join")');
    await until("bob's request", async () => (await alice.locator('sealdoc-invite li:has-text("Bob")').count()) === 1);
    await alice.click('sealdoc-invite li:has-text("Bob") button:has-text("Admit")');
    await until('bob admitted', async () => (await editor(bob).count()) === 1);
    await until('bob reads', async () => (await text(bob)) === 'Before the drop.');
  });

  after(async () => {
    await e2e?.close();
    await proxy?.close();
  });

  it('an idle link gone silent: no longer "Up to date" once a ping goes unanswered, offline within 15 s, up to date within 2 s of its return', async (t) => {
    await until('alice up to date', () => upToDate(alice));
    proxy.silence();
    const silencedAt = performance.now();
    await until('not up to date', async () => (await label(alice)) !== 'Up to date', 10_000);
    const doubtAfter = performance.now() - silencedAt;
    assert.match(await statusText(alice), /^Syncing… · checking the connection/);
    assert.ok(doubtAfter <= 7500, `in doubt after ${Math.round(doubtAfter)} ms (a ping after 2.5 s of silence, unanswered for 1.5 s, on a 1.25 s tick)`);
    await until('offline', async () => /^Offline · the server can’t be reached; your edits are kept on this device/.test(await statusText(alice)), 15_000);
    const offlineAfter = performance.now() - silencedAt;
    assert.ok(offlineAfter <= 15_000, `offline after ${Math.round(offlineAfter)} ms`);
    proxy.resume();
    const back = await timeUntilLabel(alice, 'Up to date', 10_000);
    assert.ok(back <= 2000, `up to date ${Math.round(back)} ms after the network's return (at most 2 s)`);
    t.diagnostic(`in doubt ${Math.round(doubtAfter)} ms and offline ${Math.round(offlineAfter)} ms after the silence began; up to date ${Math.round(back)} ms after its return`);
  });

  it('a silent network: "Offline — N changes saved on this device" within 15 s, never "Up to date" meanwhile; back and up to date within 2 s of its return; the edits reach Bob', async (t) => {
    await until('alice up to date', () => upToDate(alice));
    proxy.silence();
    const silencedAt = performance.now();
    await typeAtEnd(alice, ' Written while the network is silent.');
    // From the first keystroke on, the status must never claim to be up to date until the link is back.
    const seen = new Set<string>();
    let offlineAfter = 0;
    let shown = '';
    while (performance.now() - silencedAt < 20_000) {
      shown = await statusText(alice);
      seen.add(await label(alice));
      if (/^Offline — \d+ changes? saved on this device\b/.test(shown)) {
        offlineAfter = performance.now() - silencedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(offlineAfter > 0, `offline with the count within 20 s; showed: ${shown}`);
    assert.ok(offlineAfter <= 15_000, `offline after ${Math.round(offlineAfter)} ms (at most 15 s)`);
    assert.ok(!seen.has('Up to date'), `never up to date with an edit unacknowledged (seen: ${[...seen].join(', ')})`);
    const count = Number(/— (\d+) change/.exec(shown)![1]);
    assert.match(shown, count === 1 ? /— 1 change saved on this device/ : new RegExp(`— ${count} changes saved on this device`), 'singular or plural as the count says');
    assert.match(shown, /they are sent as soon as the server can be reached/, 'says what happens next');
    assert.ok(!(await text(bob)).includes('silent'), 'nothing got through');
    await alice.screenshot({ path: `${SHOTS}/demo-status-offline.png` });
    // It stays offline (and says so) for as long as the silence lasts: no "Syncing…" or "Up to date" in between.
    for (let i = 0; i < 20; i++) {
      assert.equal(await label(alice), 'Offline');
      await new Promise((r) => setTimeout(r, 100));
    }

    proxy.resume();
    const back = await timeUntilLabel(alice, 'Up to date', 10_000);
    assert.ok(back <= 2000, `up to date ${Math.round(back)} ms after the network's return (at most 2 s)`);
    t.diagnostic(`offline shown ${Math.round(offlineAfter)} ms after the silence began; up to date ${Math.round(back)} ms after the network's return`);
    await until('bob reads the edit', async () => (await text(bob)).includes('Written while the network is silent.'), 5000);
  });

  it('"Work offline" is kept, sealed, across a reload: the page opens no connection at all, and says so; turned off, it connects and sends', async () => {
    await alice.check('#offline');
    await until('offline', async () => (await label(alice)) === 'Offline');
    await typeAtEnd(alice, ' Kept offline by choice.');
    await until('the count', async () => /^Offline — \d+ changes? saved on this device · they are sent once you are back online/.test(await statusText(alice)));
    assert.deepEqual(await indexedDbHolds(alice, ['"offline"', 'offline":true']), [], 'the preference is sealed');
    assert.deepEqual(await alice.evaluate('Object.keys(localStorage)'), [], 'nothing in localStorage');

    // The edit sealed and its store write committed (and the local state saved, 1 s after typing stops) before the page goes.
    await new Promise((r) => setTimeout(r, 1500));
    const sockets: string[] = [];
    alice.on('websocket', (socket) => sockets.push(socket.url()));
    const upgradesBefore = proxy.upgrades;
    await alice.reload();
    await until('the document again', async () => (await text(alice)).includes('Kept offline by choice.'));
    assert.equal(await alice.isChecked('#offline'), true, 'the switch is remembered');
    await new Promise((r) => setTimeout(r, 4000)); // longer than any first attempt and its grace
    assert.deepEqual(sockets, [], 'no WebSocket opened');
    assert.equal(proxy.upgrades, upgradesBefore, 'nothing reached the relay');
    assert.match(await statusText(alice), /^Offline — \d+ changes? saved on this device · they are sent once you are back online/);
    assert.ok(!(await text(bob)).includes('Kept offline by choice.'));

    await alice.uncheck('#offline');
    await until('up to date', () => upToDate(alice), 10_000);
    await until('bob reads it', async () => (await text(bob)).includes('Kept offline by choice.'), 10_000);
    assert.equal(sockets.length, 1, 'one connection');
    await alice.reload();
    await until('connected again after a reload', () => upToDate(alice), 15_000);
    assert.equal(await alice.isChecked('#offline'), false, 'off is remembered too');
    alice.removeAllListeners('websocket');
  });

  it('the relay down at page load: "Connecting…", then offline saying the server cannot be reached; up to date within 2 s of its return', async (t) => {
    proxy.refuseUpgrades(true);
    await alice.reload();
    await until('connecting, for a moment', async () => (await label(alice)) === 'Connecting…', 3000);
    await until('the document', async () => (await text(alice)).includes('Before the drop.'));
    await until('offline, unreachable', async () => /^Offline · the server can’t be reached; your edits are kept on this device/.test(await statusText(alice)), 6000);
    await typeAtEnd(alice, ' Typed with the relay down.');
    await until('the count', async () => /^Offline — \d+ changes? saved on this device · they are sent as soon as the server can be reached/.test(await statusText(alice)));
    // Still trying, and not hammering: a few attempts a second at most.
    const before = proxy.upgrades;
    await new Promise((r) => setTimeout(r, 3000));
    const attempts = proxy.upgrades - before;
    assert.ok(attempts >= 2 && attempts <= 12, `${attempts} attempts in 3 s`);

    proxy.refuseUpgrades(false);
    const back = await timeUntilLabel(alice, 'Up to date', 10_000);
    assert.ok(back <= 2000, `up to date ${Math.round(back)} ms after the relay's return (at most 2 s)`);
    t.diagnostic(`${attempts} attempts in 3 s while refused; up to date ${Math.round(back)} ms after the relay's return`);
    await until('bob reads it', async () => (await text(bob)).includes('Typed with the relay down.'), 10_000);
  });

  for (const [code, words, retries] of [
    ['auth-failed', /This server does not let this device in\. Sign in to the app again, or ask the server’s operator\./, false],
    ['busy', /The server is full right now\. Reconnecting in a moment…/, true],
  ] as const) {
    it(`a relay that turns this device away (${code}): offline, and why in plain words; ${retries ? 'tried again, but not every second' : 'not tried again'}`, async () => {
      const refusing = await refusingRelay(code);
      proxy.upgradesTo(refusing.port);
      try {
        await alice.reload();
        await until('the document', async () => (await text(alice)).includes('Before the drop.'));
        await until('refused', async () => refusing.connections() >= 1);
        await until('said', async () => words.test((await alice.locator('sealdoc-sync-status [part=error]').textContent()) ?? ''), 5000);
        await until('offline', async () => (await label(alice)) === 'Offline', 5000);
        assert.doesNotMatch(await statusText(alice), /envelope|[0-9a-f]{16}/i, 'no jargon or hex');
        const everything = (await alice.locator('body').innerText()) + (await statusText(alice)) + ((await alice.locator('sealdoc-sync-status [part=error]').textContent()) ?? '');
        assert.doesNotMatch(everything, /refused by the test/, "the relay's own words are never shown");
        await new Promise((r) => setTimeout(r, 5000));
        assert.equal(refusing.connections(), 1, retries ? 'a relay that is full waits at least 15 s for the next attempt' : 'a device not let in stops trying');
        assert.equal(await label(alice), 'Offline');
      } finally {
        proxy.upgradesTo(undefined);
        await refusing.close();
      }
      await alice.reload();
      await until('connected again', () => upToDate(alice), 15_000);
    });
  }
});
