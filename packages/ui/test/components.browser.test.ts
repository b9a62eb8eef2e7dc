// The components in Chromium, bound to sealed documents over the in-memory hub: each renders,
// follows core's state, emits its events; a screenshot of each is saved under docs/screenshots.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { executeServerCommand } from '@web/test-runner-commands';
import * as Y from 'yjs';
import { Awareness } from 'y-protocols/awareness';
import {
  certifyDevice,
  createGroup,
  generateMnemonic,
  identityFromMnemonic,
  Keyring,
  MembershipLog,
  newDeviceKeys,
  requestDeviceCertificate,
  signMessage,
  type Actor,
  type CertifiedDevice,
  type Identity,
} from '@sealdoc/crypto';
import { BEACON_CONTEXT, beaconSignedBytes } from '@sealdoc/protocol';
import { Group, GroupInvitation, MemoryStorage, RelayError, SealedDoc, TransportError, WebSocketTransport } from '@sealdoc/core';
import { MemoryHub } from '@sealdoc/core/testing';
import { CONNECTING_GRACE_MS, convertPlainText, describeDeviceRevoked, describeError, describeInvitationCheck, type InvitationDetail, type SealdocEditor, type SealdocMembers } from '@sealdoc/ui';
import { eventually, identity, toHex, World, type Peer } from '../../core/test/helpers.js';
import { caretAt, caretIndex, inputText, plainText, typeKeys } from './editor-helpers.js';

const mount = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, id: string = tag): HTMLElementTagNameMap[K] => {
  document.getElementById(id)?.remove();
  const element = document.createElement(tag);
  element.id = id;
  Object.assign(element, props);
  element.style.display = 'block';
  element.style.width = '560px';
  element.style.padding = '12px';
  element.style.fontFamily = 'system-ui, sans-serif';
  document.body.append(element);
  return element;
};

const shot = (selector: string, name: string) => executeServerCommand('screenshot', { selector, name });
const shadow = (el: Element) => el.shadowRoot!;
const events = <T>(el: EventTarget, type: string) => {
  const seen: T[] = [];
  el.addEventListener(type, (e) => seen.push((e as CustomEvent<T>).detail));
  return seen;
};

/** A new device of `person`, certified by its identity key, labelled `label`. */
async function newDevice(person: Identity, label: string): Promise<CertifiedDevice> {
  const keys = newDeviceKeys();
  const certificate = await certifyDevice(person, await requestDeviceCertificate(keys, person.memberId, label));
  return { keys, certificate, person: { signingPublicKey: person.signingPublicKey, agreementPublicKey: person.agreementPublicKey } };
}

/**
 * Persons with devices in one group: Alice (admin) with her first device (the key from her
 * words), a Laptop and a Phone; Bob (writer) with his first device and, with `bobTablet`, a
 * Tablet. Each device opens the group on its own, with a sealed document (and presence) on one
 * in-memory hub.
 */
async function devicesWorld(options: { bobTablet?: boolean } = {}) {
  const alice = identityFromMnemonic(generateMnemonic());
  const bob = identityFromMnemonic(generateMnemonic());
  const [laptop, phone] = [await newDevice(alice, 'Laptop'), await newDevice(alice, 'Phone')];
  const tablet = options.bobTablet ? await newDevice(bob, 'Tablet') : undefined;
  const ops = [
    await createGroup(alice, {
      creatorDevices: [laptop.certificate, phone.certificate],
      members: [{ keys: bob, role: 'writer', devices: tablet ? [tablet.certificate] : [] }],
      history: 'all',
    }),
  ];
  const hub = new MemoryHub({ seed: 3 });
  const docId = new Uint8Array(16).fill(9);
  const open = async (name: string, signer: Actor) => {
    const group = new Group({ signer, log: await MembershipLog.fromOps(ops), keyring: new Keyring(), storage: new MemoryStorage() });
    await group.refresh();
    const doc = new Y.Doc();
    const awareness = new Awareness(doc);
    const transport = hub.transport(name);
    const sealed = new SealedDoc(doc, { group, docId, transport, storage: new MemoryStorage(), batch: { windowMs: 5 }, awareness });
    await transport.connect();
    return { group, doc, awareness, sealed, transport };
  };
  const devices = {
    alice: await open('alice', alice),
    laptop: await open('alice-laptop', laptop),
    phone: await open('alice-phone', phone),
    bob: await open('bob', bob),
    ...(tablet ? { tablet: await open('bob-tablet', tablet) } : {}),
  };
  const all = Object.values(devices);
  const settle = async (rounds = 4) => {
    for (let i = 0; i < rounds; i++) {
      for (const d of all) await d.sealed.flush();
      await hub.flush();
      for (const d of all) d.sealed.resync();
      await hub.flush();
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  /** Settles until `condition` holds (presence and its checks are asynchronous), failing after `ms`. */
  const until = async (condition: () => boolean, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out: ${condition.toString()}`);
      await settle(1);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const close = async () => {
    for (const d of all) {
      await d.sealed.destroy();
      d.awareness.destroy();
    }
  };
  const names = new Map([
    [toHex(alice.memberId), 'Alice'],
    [toHex(bob.memberId), 'Bob'],
  ]);
  return { alice, bob, laptop, phone, tablet, devices, settle, until, close, names };
}

describe('<sealdoc-sync-status>', () => {
  it('shows online, offline with pending edits, syncing back, errors in words, an alarm that holds, and access removed; fires sealdoc-sync-state', async () => {
    const world = await World.create(['alice', 'bob']);
    const bob = world.peer('bob');
    await world.settle();
    const status = mount('sealdoc-sync-status', { doc: bob.sealed });
    const states = events<{ state: string; pending: number }>(status, 'sealdoc-sync-state');
    await status.updateComplete;
    assert.equal(status.state, 'online');
    assert.match(shadow(status).textContent!, /Up to date/);
    // Themed by custom properties, reachable by ::part, announced to screen readers.
    status.style.setProperty('--sealdoc-online', 'rgb(1, 2, 3)');
    assert.equal(getComputedStyle(shadow(status).querySelector('[part=dot]')!).backgroundColor, 'rgb(1, 2, 3)');
    assert.equal(shadow(status).querySelector('[part=status]')!.getAttribute('role'), 'status');
    // Keys and their changes are no business of the person reading: no "epoch" in sight.
    assert.doesNotMatch(shadow(status).textContent!, /epoch/i);

    await bob.transport.disconnect();
    bob.doc.getText('t').insert(0, 'offline edit');
    await bob.sealed.flush();
    await eventually(() => status.state === 'offline' && /Offline — 1 change saved on this device/.test(shadow(status).textContent!));
    await shot('#sealdoc-sync-status', 'sync-status-offline');

    await bob.transport.connect();
    await world.settle();
    await eventually(() => status.state === 'online' && !/waiting/.test(shadow(status).textContent!));
    assert.ok(states.some((s) => s.state === 'offline' && s.pending === 1));
    assert.equal(states.at(-1)!.state, 'online');

    bob.sealed.events.emit('error', { error: new RelayError('rate-limited', 'too many frames') });
    await status.updateComplete;
    assert.equal(status.errorText, describeError({ code: 'rate-limited' }));
    assert.equal(shadow(status).querySelector('[role=alert]')!.textContent, status.errorText);
    await shot('#sealdoc-sync-status', 'sync-status');

    // A beacon of Alice's showing another head at Bob's length (a relay forking them): an alarm
    // that holds, shown instead of "up to date".
    const alice = world.peer('alice');
    const body = {
      groupId: bob.group.groupId,
      docId: world.docId,
      signingPublicKey: alice.identity.signingPublicKey,
      counter: (Date.now() + 1_000_000) * 1000,
      logLength: bob.group.log.length,
      head: new Uint8Array(32).fill(7),
      echoes: [],
      authors: [],
    };
    const forger = world.hub.transport('relay-in-the-middle');
    await forger.connect();
    forger.send({ type: 'beacon', ...body, signature: await signMessage(alice.identity, BEACON_CONTEXT, beaconSignedBytes(body)) }, bob.transport.peerId);
    await eventually(() => status.state === 'warning');
    assert.match(shadow(status).textContent!, /Not safe to trust as up to date/);
    assert.equal(status.errorText, describeError({ code: 'fork' }));
    assert.equal(states.at(-1)!.state, 'warning');
    await shot('#sealdoc-sync-status', 'sync-status-alarm');
    // Its words can be dismissed (button, or Escape): the state still warns; the alarm's words
    // do not come back by themselves, a new error's do.
    shadow(status).querySelector<HTMLButtonElement>('button[part=dismiss]')!.click();
    await status.updateComplete;
    assert.equal(shadow(status).querySelector('[role=alert]'), null);
    bob.sealed.events.emit('alarms', { alarms: [...bob.sealed.alarms] });
    await status.updateComplete;
    assert.equal(status.state, 'warning');
    assert.equal(status.errorText, '');
    bob.sealed.events.emit('error', { error: new RelayError('rate-limited', 'too many frames') });
    await status.updateComplete;
    assert.equal(status.errorText, describeError({ code: 'rate-limited' }));
    status.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));
    await status.updateComplete;
    assert.equal(status.errorText, '');

    await world.change('remove', 'bob', ['alice', 'bob'], { cutoff: world.highestSeqOf('bob') });
    await eventually(() => status.state === 'removed');
    assert.match(shadow(status).textContent!, /Access removed/);
    assert.match(status.errorText, /access to this document was removed/);
  });

  it('up to date only with every edit acknowledged; a lost link is offline at once, with the count in words; a first attempt shows as connecting for a moment only', async () => {
    // A document as the element sees it: its status, resync, pending count and events, set by hand.
    const listeners = new Map<string, Set<(event: never) => void>>();
    const emitter = {
      on: (name: string, fn: (event: never) => void) => {
        if (!listeners.has(name)) listeners.set(name, new Set());
        listeners.get(name)!.add(fn);
        return () => listeners.get(name)!.delete(fn);
      },
    };
    const emit = (name: string, event: unknown = {}) => {
      for (const fn of listeners.get(name) ?? []) fn(event as never);
    };
    const fake = (status: string) => ({
      status,
      synced: true,
      pending: 0,
      alarms: [],
      events: emitter,
      group: { role: 'writer', deviceId: new Uint8Array(16), events: emitter, log: { epoch: 0, wasRevoked: () => false } },
    });
    const doc = fake('online');
    const status = mount('sealdoc-sync-status', { doc: doc as never }, 'sync-status-truth');
    const line = () => shadow(status).querySelector('[part=status]')!.textContent!.replace(/\s+/g, ' ').trim();
    await status.updateComplete;
    assert.equal(status.state, 'online');
    assert.match(line(), /^Up to date/);

    // The relay's transport, given: a ping unanswered (the link quiet) is no longer "up to date".
    const link = new Set<(event: never) => void>();
    const transport = { quiet: false, events: { on: (_name: string, fn: (event: never) => void) => (link.add(fn), () => link.delete(fn)) } };
    status.transport = transport as never;
    await status.updateComplete;
    assert.equal(status.state, 'online');
    transport.quiet = true;
    for (const fn of link) fn({ quiet: true } as never);
    await status.updateComplete;
    assert.equal(status.state, 'syncing');
    assert.match(line(), /^Syncing… · checking the connection/);
    transport.quiet = false;
    for (const fn of link) fn({ quiet: false } as never);
    await status.updateComplete;
    assert.equal(status.state, 'online');

    doc.pending = 2; // sent, not acknowledged yet
    emit('pending', { count: 2 });
    await status.updateComplete;
    assert.equal(status.state, 'syncing');
    assert.match(line(), /^Syncing… · 2 edits waiting to be sent/);

    doc.status = 'connecting'; // the link was lost: the transport tries again
    emit('status', { status: 'connecting' });
    emit('error', { error: new TransportError('closed', 'the relay said nothing for 8 s: reconnecting') });
    await status.updateComplete;
    assert.equal(status.state, 'offline');
    assert.match(line(), /^Offline — 2 changes saved on this device · they are sent as soon as the server can be reached/);
    assert.equal(status.errorText, '', 'a lost link is said by the status, not again as an error');
    await shot('#sync-status-truth', 'sync-status-lost-link');

    doc.pending = 1;
    emit('pending', { count: 1 });
    doc.status = 'offline';
    emit('status', { status: 'offline' });
    await status.updateComplete;
    assert.match(line(), /^Offline — 1 change saved on this device · they are sent once you are back online/);

    doc.status = 'online';
    doc.synced = false;
    emit('status', { status: 'online' });
    await status.updateComplete;
    assert.equal(status.state, 'syncing', 'not up to date before a resync settled');
    doc.synced = true;
    emit('synced', { synced: true });
    await status.updateComplete;
    assert.equal(status.state, 'syncing', 'nor with an edit unacknowledged');
    doc.pending = 0;
    emit('pending', { count: 0 });
    await status.updateComplete;
    assert.equal(status.state, 'online');

    // A first attempt (never online yet): "Connecting…" for a moment, then offline, unreachable.
    const starting = fake('connecting');
    const first = mount('sealdoc-sync-status', { doc: starting as never }, 'sync-status-starting');
    await first.updateComplete;
    assert.equal(first.state, 'connecting');
    assert.match(shadow(first).textContent!, /Connecting…/);
    await new Promise((r) => setTimeout(r, CONNECTING_GRACE_MS + 200));
    await first.updateComplete;
    assert.equal(first.state, 'offline');
    assert.match(shadow(first).querySelector('[part=status]')!.textContent!.replace(/\s+/g, ' '), /^ ?Offline · the server can’t be reached; your edits are kept on this device/);
    first.remove();
  });

  it('a device revoked by its person says so in plain words, and that its copy was erased (the provider\'s device-revoked)', async () => {
    const w = await devicesWorld();
    await w.settle();
    // A provider's events, as SealdocProvider emits them (on/off), over the Phone's sealed document.
    const listeners = new Set<(event: { epoch: number; wiped: boolean }) => void>();
    const provider = {
      sealed: w.devices.phone.sealed,
      on: (_name: string, f: (event: { epoch: number; wiped: boolean }) => void) => listeners.add(f),
      off: (_name: string, f: (event: { epoch: number; wiped: boolean }) => void) => listeners.delete(f),
    };
    const status = mount('sealdoc-sync-status', { provider: provider as never }, 'sync-status-revoked');
    await status.updateComplete;
    assert.equal(status.state, 'online');

    // Alice revokes her Phone from her Laptop; the Phone verifies it in the log.
    await w.devices.laptop.group.revokeDevice(w.phone.keys.memberId);
    await w.devices.phone.group.receiveOps(w.devices.laptop.group.log.ops(), 0);
    await eventually(() => status.state === 'removed');
    assert.equal(status.errorText, describeDeviceRevoked(false));
    assert.match(shadow(status).querySelector('[part=label]')!.textContent!, /This device was removed/);
    // The provider erased the device's store, and says so.
    for (const f of listeners) f({ epoch: w.devices.laptop.group.log.epoch, wiped: true });
    await status.updateComplete;
    assert.equal(status.errorText, 'This device was removed by its owner. Its copy has been erased; restore from your recovery words to use it again.');
    assert.equal(shadow(status).querySelector('[role=alert]')!.textContent, status.errorText);
    await shot('#sync-status-revoked', 'sync-status-revoked');
    status.remove();
    assert.equal(listeners.size, 0, 'the element stops listening once gone');
    await w.close();
  });
});

describe('<sealdoc-recovery>', () => {
  it('shows the words once, asks three back, refuses a wrong one, forgets the words once confirmed', async () => {
    const words = generateMnemonic();
    const el = mount('sealdoc-recovery', { mode: 'show', words });
    const confirmed = events(el, 'sealdoc-recovery-confirmed');
    await el.updateComplete;
    const shown = [...shadow(el).querySelectorAll('li')].map((li) => li.textContent);
    assert.deepEqual(shown, words.split(' '));
    await shot('#sealdoc-recovery', 'recovery-show');
    shadow(el).querySelector('button')!.click();
    await el.updateComplete;
    const inputs = [...shadow(el).querySelectorAll('input')];
    assert.equal(inputs.length, 3);
    const positions = inputs.map((i) => Number(i.id.slice(1)));
    inputs.forEach((input, k) => (input.value = k === 1 ? 'wrongword' : words.split(' ')[positions[k]!]!));
    shadow(el).querySelector('form')!.requestSubmit();
    await el.updateComplete;
    assert.match(shadow(el).querySelector('[role=alert]')!.textContent!, new RegExp(`Word ${positions[1]! + 1} does not match`));
    assert.equal(confirmed.length, 0);
    inputs[1]!.value = ` ${words.split(' ')[positions[1]!]!.toUpperCase()} `;
    shadow(el).querySelector('form')!.requestSubmit();
    await el.updateComplete;
    assert.equal(confirmed.length, 1);
    assert.equal(el.words, '');
    // No word of the phrase is shown any more (the confirmation's own text may hold a word of the
    // list, such as "safe" or "phrase": those words are told apart by where they come from).
    assert.equal(shadow(el).querySelectorAll('li').length, 0, 'the words are gone');
    const message = shadow(el).querySelector('[role=status]')?.textContent ?? '';
    assert.match(message, /^Your recovery phrase is confirmed\. Keep it somewhere safe and offline\.$/);
    const rest = shadow(el).textContent!.replace(message, '');
    for (const w of words.split(' ')) assert.ok(!rest.split(/\s+/).includes(w), 'the words are gone');
  });

  it('restores: checks words as they are typed, rejects a wrong checksum, restores the right identity', async () => {
    const words = generateMnemonic();
    const el = mount('sealdoc-recovery', { mode: 'restore' });
    const restored = events<{ identity: { memberId: Uint8Array }; words: string }>(el, 'sealdoc-restore');
    await el.updateComplete;
    const area = shadow(el).querySelector('textarea')!;
    const button = shadow(el).querySelector('button')!;
    const message = () => shadow(el).querySelector('#msg')!.textContent!;
    const typeAll = async (text: string) => {
      area.value = text;
      area.dispatchEvent(new InputEvent('input'));
      await el.updateComplete;
    };
    const list = words.split(' ');
    await typeAll(`${list.slice(0, 3).join(' ')} notaword `);
    assert.match(message(), /Word 4 is not a recovery-phrase word/);
    assert.equal(area.getAttribute('aria-invalid'), 'true');
    await typeAll(list.slice(0, 5).join(' ') + ' ');
    assert.match(message(), /5 of 24 words/);
    await shot('#sealdoc-recovery', 'recovery-restore');
    // The same words, two swapped: every word valid, the checksum not.
    const swapped = [...list];
    const i = swapped.findIndex((w, k) => k > 0 && w !== swapped[0]);
    [swapped[0], swapped[i]] = [swapped[i]!, swapped[0]!];
    await typeAll(swapped.join(' '));
    assert.equal(message(), describeError({ code: 'bad-checksum' }));
    assert.equal(button.disabled, true);
    await typeAll(list.join('  ').toUpperCase());
    assert.equal(button.disabled, false);
    shadow(el).querySelector('form')!.requestSubmit();
    await el.updateComplete;
    assert.equal(restored.length, 1);
    assert.equal(toHex(restored[0]!.identity.memberId), toHex(identityFromMnemonic(words).memberId));
    assert.equal(restored[0]!.words, words);
    assert.equal(area.value, '', 'the words are not left in the field');
  });
});

describe('<sealdoc-editor>', () => {
  it('two editors converge while typing; the local caret stays put under remote inserts before it; carets and names of the others are drawn; read-only for a reader', async () => {
    const world = await World.create(['alice', 'bob'], { awareness: true });
    const [alice, bob] = [world.peer('alice'), world.peer('bob')] as [Peer, Peer];
    const a = mount('sealdoc-editor', { doc: alice.sealed, awareness: alice.awareness!, user: { name: 'Alice', color: '#c2410c' } }, 'editor-a');
    const b = mount('sealdoc-editor', { doc: bob.sealed, awareness: bob.awareness!, user: { name: 'Bob', color: '#2457c5' } }, 'editor-b');
    const edits = events<{ index: number; deleted: number; inserted: string }>(a, 'sealdoc-edit');
    await Promise.all([a.updateComplete, b.updateComplete]);

    inputText(a, 0, 'Hello world');
    await world.settle();
    await eventually(() => b.text === 'Hello world');
    assert.deepEqual(edits[0], { index: 0, deleted: 0, inserted: 'Hello world' });
    await typeKeys(b, 11, '!');
    await typeKeys(a, 0, '> ');
    await world.settle();
    await eventually(() => a.text === b.text && a.text === '> Hello world!');

    // Bob's caret after "Hello" (index 7 in "> Hello world!"); Alice inserts before it.
    caretAt(b, 7);
    await typeKeys(a, 0, 'NOTE: ');
    await world.settle();
    await eventually(() => b.text === 'NOTE: > Hello world!');
    assert.deepEqual(caretIndex(b), [13, 13], 'the caret moved with the text');

    // Alice sees Bob's caret and name.
    // (A caret goes out at most five times a second: the one drawn first may be where Bob typed before.)
    await eventually(() => [...shadow(a).querySelectorAll('.caret-name')].some((n) => n.textContent === 'Bob') && a.view!.dom.textContent!.indexOf('Bob') === 13, 3000).catch(() => undefined);
    assert.ok([...shadow(a).querySelectorAll('.caret-name')].some((n) => n.textContent === 'Bob'));
    assert.equal(a.view!.dom.textContent!.indexOf('Bob'), 13, "Bob's caret sits after 'NOTE: > Hello'");
    await shot('#editor-a', 'editor');

    // A reader cannot edit.
    await alice.group.setRole(bob.identity.memberId, 'reader');
    await world.settle();
    await eventually(() => !b.view!.editable && b.view!.dom.getAttribute('contenteditable') === 'false');
    assert.match(shadow(b).textContent!, /can read this document but not edit it/);
    const before = plainText(bob.doc);
    caretAt(b, 0);
    assert.equal(shadow(b).activeElement, b.view!.dom, "the keys go to the reader's own editor");
    await typeKeys(b, 0, 'sneaky');
    assert.equal(b.text, before);
    assert.equal(plainText(bob.doc), before);
    // Removed: read-only, and told why.
    await alice.group.removeMember(bob.identity.memberId);
    await world.settle();
    await eventually(() => /access was removed/.test(shadow(b).textContent!));
    assert.ok(!b.view!.editable);
  });

  it('stays responsive on the 100,000-character automerge-paper result', async () => {
    const world = await World.create(['alice', 'bob']);
    const [alice, bob] = [world.peer('alice'), world.peer('bob')] as [Peer, Peer];
    // The final text of the automerge-paper trace (test/fixtures/README.md says where from).
    const response = await fetch('/test/fixtures/automerge-paper-final.txt.gz');
    const big = await new Response(response.body!.pipeThrough(new DecompressionStream('gzip'))).text();
    assert.equal(big.length, 104_852);
    // Alice's document holds it as rich text, a paragraph per line, in sections.
    alice.doc.getText('old').insert(0, big);
    convertPlainText(alice.doc.getText('old'), alice.doc.getXmlFragment('prosemirror'));
    await world.settle();
    const b = mount('sealdoc-editor', { doc: bob.sealed }, 'editor-big');
    await b.updateComplete;
    assert.equal(b.text.length, big.length);
    // A keystroke in the middle: the editor's work on it (ProseMirror's transaction, the
    // shared type's update, what the document does with it) stays well under a frame budget of 50 ms.
    caretAt(b, 50_000);
    const view = b.view!;
    const start = performance.now();
    view.dispatch(view.state.tr.insertText('x'));
    const local = performance.now() - start;
    const section = alice.doc.getXmlFragment('prosemirror').get(0) as Y.XmlElement;
    assert.equal(section.nodeName, 'section');
    const first = (section.get(0) as Y.XmlElement).get(0) as Y.XmlText;
    first.insert(Math.min(10, first.length), 'y');
    await world.settle(1);
    await eventually(() => b.text.length === big.length + 2);
    assert.ok(local < 50, `a keystroke took ${local.toFixed(1)} ms`);
    assert.equal(plainText(bob.doc), b.text);
  });

  it("carets of two devices of one person show the person's name with each device's label; one's own other device shows as You, other device; a copied device claim does not make a caret someone else's", async () => {
    const w = await devicesWorld();
    const { laptop, phone, bob } = w.devices;
    const editor = (d: typeof laptop, id: string, name: string, color: string) =>
      mount('sealdoc-editor', { doc: d.sealed, awareness: d.awareness, names: w.names, user: { name, color } }, id);
    const onLaptop = editor(laptop, 'editor-laptop', 'Alice', '#c2410c');
    const onPhone = editor(phone, 'editor-phone', 'Alice', '#c2410c');
    const onBob = editor(bob, 'editor-bob', 'Bob', '#2457c5');
    await Promise.all([onLaptop.updateComplete, onPhone.updateComplete, onBob.updateComplete]);
    inputText(onLaptop, 0, 'Shopping list: apples, pears');
    await w.settle();
    await eventually(() => onBob.text === 'Shopping list: apples, pears' && onPhone.text === onBob.text);
    caretAt(onLaptop, 8);
    caretAt(onPhone, 22);
    caretAt(onBob, 28);
    const names = (e: SealdocEditor) => [...shadow(e).querySelectorAll('.caret-name')].map((n) => n.textContent).sort();
    await w.until(() => names(onBob).join('|') === 'Alice (Laptop)|Alice (Phone)');
    // Each caret is the device's own: the Laptop's at 8, the Phone's at 22 (once they went: at most five times a second).
    await w.until(() => onBob.view!.dom.textContent!.indexOf('Alice (Laptop)') === 8).catch(() => undefined);
    const shown = onBob.view!.dom.textContent!;
    assert.equal(shown.indexOf('Alice (Laptop)'), 8);
    assert.equal(shown.indexOf('Alice (Phone)'), 22 + 'Alice (Laptop)'.length);
    assert.equal(shadow(onBob).querySelector('.caret[data-device]')!.getAttribute('data-device')!.length, 64);
    await shot('#editor-bob', 'editor-devices');
    // Alice's own other device is hers, not someone else's; Bob (one device) is just Bob.
    await w.until(() => names(onLaptop).join('|') === 'Bob|You, other device (Phone)');
    await w.until(() => names(onPhone).join('|') === 'Bob|You, other device (Laptop)');
    // Drawn as one's own (outlined), in one's own colour; another person in another colour.
    const caretOf = (e: SealdocEditor, name: string) => [...shadow(e).querySelectorAll<HTMLElement>('.caret')].find((c) => c.textContent === name)!;
    assert.ok(caretOf(onLaptop, 'You, other device (Phone)').classList.contains('mine'));
    assert.ok(!caretOf(onLaptop, 'Bob').classList.contains('mine'));
    const color = (c: HTMLElement) => c.style.getPropertyValue('--caret-color');
    assert.equal(color(caretOf(onBob, 'Alice (Laptop)')), color(caretOf(onBob, 'Alice (Phone)')), "one person's devices share its colour");
    assert.notEqual(color(caretOf(onLaptop, 'Bob')), color(caretOf(onLaptop, 'You, other device (Phone)')), 'two persons, two colours');

    // Bob claims, in his own state and under another name, to be the Laptop: a caret's device is
    // the one whose sealed presence speaks for its Yjs client, so his is not shown as Alice's.
    bob.awareness.setLocalStateField('device', { id: toHex(laptop.sealed.group.deviceId) });
    bob.awareness.setLocalStateField('user', { name: 'Mallory', color: '#2457c5' });
    await w.until(() => (laptop.awareness.getStates().get(bob.awareness.clientID) as { user?: { name?: string } } | undefined)?.user?.name === 'Mallory');
    await new Promise((r) => setTimeout(r, 200));
    await onLaptop.updateComplete;
    // Named as he declares himself (or, where the document tells who sealed the presence, as Bob), never as Alice's Laptop.
    assert.match(names(onLaptop).join('|'), /^(Mallory|Bob)\|You, other device \(Phone\)$/);
    for (const e of [onLaptop, onPhone, onBob]) e.remove();
    await w.close();
  });
});

describe('<sealdoc-members>', () => {
  it('lists members with roles and you; an admin changes a role and removes a member after confirming; the epoch advances; others see no controls', async () => {
    const world = await World.create(['alice', 'bob', 'carol']);
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((n) => world.peer(n)) as [Peer, Peer, Peer];
    const names = new Map([
      [toHex(identity('alice').memberId), 'Alice'],
      [toHex(identity('bob').memberId), 'Bob'],
      [toHex(identity('carol').memberId), 'Carol'],
    ]);
    const admin = mount('sealdoc-members', { group: alice.group, names }, 'members-admin');
    const other = mount('sealdoc-members', { group: bob.group, names }, 'members-bob');
    const removed = events<{ memberId: Uint8Array; role: null; epoch: number }>(admin, 'sealdoc-member-removed');
    const changed = events<{ role: string }>(admin, 'sealdoc-role-changed');
    await Promise.all([admin.updateComplete, other.updateComplete]);
    const rows = (el: SealdocMembers) => [...shadow(el).querySelectorAll('li')].map((li) => li.textContent!.replace(/\s+/g, ' ').trim());
    assert.equal(rows(admin).length, 3);
    assert.match(rows(admin)[0]!, /^Alice you/);
    assert.equal(shadow(admin).querySelectorAll('select').length, 2);
    assert.equal(shadow(other).querySelectorAll('select, button.remove').length, 0, 'a writer gets no controls');
    assert.match(rows(other).find((r) => r.startsWith('Bob'))!, /you writer/);
    await shot('#members-admin', 'members');

    const carolRole = shadow(admin).querySelector<HTMLSelectElement>('select[aria-label="Role of Carol"]')!;
    carolRole.value = 'reader';
    carolRole.dispatchEvent(new Event('change'));
    await eventually(() => changed.length === 1);
    assert.equal(changed[0]!.role, 'reader');

    const removeBob = [...shadow(admin).querySelectorAll<HTMLButtonElement>('li button.remove')].find((b) => b.closest('li')!.textContent!.includes('Bob'))!;
    removeBob.click();
    await admin.updateComplete;
    const dialog = shadow(admin).querySelector('dialog')!;
    await eventually(() => dialog.open);
    assert.match(dialog.textContent!, /Remove Bob\?/);
    dialog.querySelector<HTMLButtonElement>('button.remove')!.click();
    await eventually(() => removed.length === 1);
    assert.equal(toHex(removed[0]!.memberId), toHex(bob.identity.memberId));
    assert.equal(removed[0]!.epoch, alice.group.log.epoch);
    await admin.updateComplete;
    assert.match(shadow(admin).querySelector('[role=status]')!.textContent!, /Bob was removed\. The document's keys were changed, so they read nothing new\./);
    assert.doesNotMatch(shadow(admin).textContent!, /epoch/i);
    assert.equal(rows(admin).length, 2);
    await world.settle();
    assert.equal(carol.group.role, 'reader');
    assert.equal(bob.group.role, undefined);
  });
});

describe('<sealdoc-members> with devices', () => {
  it('a person with 3 devices is one member with 3 devices; its own other device has a Remove that revokes it after a confirmation; other persons\' devices and the first device have none', async () => {
    const w = await devicesWorld({ bobTablet: true });
    const { laptop, phone, bob, alice } = w.devices;
    const onLaptop = mount('sealdoc-members', { group: laptop.group, names: w.names }, 'members-laptop');
    const onBob = mount('sealdoc-members', { group: bob.group, names: w.names }, 'members-bob-devices');
    const revoked = events<{ deviceId: Uint8Array; personId: Uint8Array; epoch: number }>(onLaptop, 'sealdoc-device-revoked');
    await Promise.all([onLaptop.updateComplete, onBob.updateComplete]);
    const persons = (el: SealdocMembers) => [...shadow(el).querySelectorAll('li[part=member]')];
    const devicesOf = (li: Element) => [...li.querySelectorAll('[part=device]')].map((d) => d.textContent!.replace(/\s+/g, ' ').trim());
    assert.equal(persons(onLaptop).length, 2, 'two persons, not five devices');
    const [aliceRow, bobRow] = persons(onLaptop) as [Element, Element];
    assert.equal(aliceRow.querySelector('[part=name]')!.textContent, 'Alice');
    assert.ok(aliceRow.querySelector('[part=you]'));
    assert.deepEqual(devicesOf(aliceRow).sort(), ['First device', 'Laptop this device', 'Phone Remove device'].sort());
    assert.deepEqual(devicesOf(bobRow).sort(), ['First device', 'Tablet']);
    // Only the Phone can be removed here: not this device, not the first device, not Bob's.
    const buttons = [...shadow(onLaptop).querySelectorAll<HTMLButtonElement>('button.revoke')];
    assert.equal(buttons.length, 1);
    assert.equal(buttons[0]!.closest('[part=device]')!.getAttribute('data-device'), toHex(w.phone.keys.memberId));
    assert.equal(bobRow.querySelectorAll('[part=devices] button').length, 0, "no control on another person's devices (an admin removes the person)");
    // Bob sees Alice's devices and his own Tablet, and can remove only his Tablet.
    const bobsButtons = [...shadow(onBob).querySelectorAll<HTMLButtonElement>('button.revoke')];
    assert.equal(bobsButtons.length, 1);
    assert.equal(bobsButtons[0]!.closest('[part=device]')!.getAttribute('data-device'), toHex(w.tablet!.keys.memberId));
    // From Alice's first device (her words), both other devices can be removed.
    const onFirst = mount('sealdoc-members', { group: alice.group, names: w.names }, 'members-first');
    await onFirst.updateComplete;
    assert.equal(shadow(onFirst).querySelectorAll('button.revoke').length, 2);
    onFirst.remove();
    await shot('#members-laptop', 'members-devices');

    // Cancel first: nothing happens.
    buttons[0]!.click();
    const dialog = shadow(onLaptop).querySelector('dialog')!;
    await eventually(() => dialog.open);
    assert.match(dialog.textContent!, /Remove your device “Phone”\?/);
    [...dialog.querySelectorAll('button')].find((b) => b.textContent === 'Cancel')!.click();
    await eventually(() => !dialog.open);
    assert.equal(laptop.group.log.wasRevoked(w.phone.keys.memberId), false);

    const epoch = laptop.group.log.epoch;
    shadow(onLaptop).querySelector<HTMLButtonElement>('button.revoke')!.click();
    await eventually(() => dialog.open);
    dialog.querySelector<HTMLButtonElement>('button.remove')!.click();
    await eventually(() => revoked.length === 1);
    assert.equal(toHex(revoked[0]!.deviceId), toHex(w.phone.keys.memberId));
    assert.equal(toHex(revoked[0]!.personId), toHex(w.alice.memberId));
    assert.ok(laptop.group.log.wasRevoked(w.phone.keys.memberId), 'the log shows the Phone revoked');
    assert.equal(laptop.group.log.epoch, epoch + 1, 'the keys rotated');
    await onLaptop.updateComplete;
    assert.match(shadow(onLaptop).querySelector('[role=status]')!.textContent!, /Your device “Phone” was removed\. The document's keys were changed, so it reads nothing new\./);
    assert.deepEqual(devicesOf(persons(onLaptop)[0]!).sort(), ['First device', 'Laptop this device']);
    assert.equal(shadow(onLaptop).querySelectorAll('button.revoke').length, 0);
    // The others learn it: the Phone no longer acts; Bob's list shows Alice with two devices.
    await w.settle();
    await eventually(() => phone.group.role === undefined && bob.group.log.wasRevoked(w.phone.keys.memberId));
    await onBob.updateComplete;
    assert.deepEqual(devicesOf(persons(onBob).find((p) => p.textContent!.includes('Alice'))!).sort(), ['First device', 'Laptop']);
    await w.close();
  });

  it('a refused revocation is told in plain words, and changes nothing', async () => {
    const w = await devicesWorld();
    const { laptop } = w.devices;
    const el = mount('sealdoc-members', { group: laptop.group, names: w.names }, 'members-refused');
    await el.updateComplete;
    // The relay had a concurrent change of the members (another device was first).
    const button = shadow(el).querySelector<HTMLButtonElement>('button.revoke')!;
    laptop.group.revokeDevice = async () => {
      throw Object.assign(new Error('stale'), { code: 'stale-head' });
    };
    button.click();
    const dialog = shadow(el).querySelector('dialog')!;
    await eventually(() => dialog.open);
    dialog.querySelector<HTMLButtonElement>('button.remove')!.click();
    await eventually(() => shadow(el).querySelector('.status.bad') !== null);
    assert.equal(shadow(el).querySelector('[role=status]')!.textContent, describeError({ code: 'stale-head' }));
    assert.equal(laptop.group.log.wasRevoked(w.phone.keys.memberId), false);
    assert.equal(shadow(el).querySelectorAll('button.revoke').length, 1, 'the Phone can still be removed');
    await w.close();
  });
});

describe('<sealdoc-invite>', () => {
  /** Alice, the admin of a new group, and Bob, a stranger: each connected to the test relay. */
  async function adminAndInvitee() {
    const url = (await executeServerCommand('relay-url')) as string;
    const alice = identityFromMnemonic(generateMnemonic());
    const bob = identityFromMnemonic(generateMnemonic());
    const group = new Group({ signer: alice, log: await MembershipLog.fromOps([await createGroup(alice)]), keyring: new Keyring() });
    await group.refresh();
    const adminTransport = new WebSocketTransport({ url, identity: alice, backoff: { minMs: 20, maxMs: 100 } });
    const inviteeTransport = new WebSocketTransport({ url, identity: bob, backoff: { minMs: 20, maxMs: 100 } });
    await Promise.all([adminTransport.connect(), inviteeTransport.connect()]);
    return { alice, bob, group, adminTransport, inviteeTransport };
  }

  it('an admin creates a link; the invitee asks to join with it; the admin admits; both sides show each state; the link is revoked after use', async () => {
    const { bob, group, adminTransport, inviteeTransport } = await adminAndInvitee();
    try {
      const admin = mount('sealdoc-invite', { mode: 'create', group, transport: adminTransport, baseUrl: 'https://sealdoc.example/app' }, 'invite-admin');
      const created = events<{ link: string }>(admin, 'sealdoc-invitation-created');
      const admitted = events<{ name: string; epoch: number }>(admin, 'sealdoc-member-admitted');
      await admin.updateComplete;
      shadow(admin).querySelector<HTMLSelectElement>('#role')!.value = 'writer';
      shadow(admin).querySelector<HTMLButtonElement>('button')!.click();
      await eventually(() => created.length === 1, 5000);
      const link = created[0]!.link;
      assert.match(link, /^https:\/\/sealdoc\.example\/app#invite=/);
      await admin.updateComplete;
      assert.equal(shadow(admin).querySelector<HTMLInputElement>('input.link')!.value, link);
      assert.match(shadow(admin).querySelector('[part=state]')!.textContent!, /^Open until/);

      const invitee = mount('sealdoc-invite', { mode: 'join', link, identity: bob, transport: inviteeTransport }, 'invite-join');
      const states = events<{ state: string }>(invitee, 'sealdoc-join-state');
      const joined = events<{ group: Group }>(invitee, 'sealdoc-joined');
      await invitee.updateComplete;
      shadow(invitee).querySelector<HTMLInputElement>('#name')!.value = 'Bob';
      shadow(invitee).querySelector('form')!.requestSubmit();
      await eventually(() => states.some((s) => s.state === 'pending'), 5000);
      await invitee.updateComplete;
      const code = shadow(invitee).querySelector('.code')!.textContent;
      assert.match(shadow(invitee).textContent!, /Waiting for an admin to let you in/);
      await shot('#invite-join', 'invite-join');

      await eventually(() => shadow(admin).querySelectorAll('li').length === 1, 5000);
      const row = shadow(admin).querySelector('li')!;
      assert.match(row.textContent!, /Bob/);
      assert.equal(row.querySelector('.code')!.textContent, code, 'the same safety code on both sides');
      await shot('#invite-admin', 'invite-admin');
      row.querySelector<HTMLButtonElement>('button')!.click();
      await eventually(() => admitted.length === 1, 5000);
      assert.equal(admitted[0]!.name, 'Bob');
      assert.equal(admitted[0]!.epoch, 1);
      await admin.updateComplete;
      assert.match(shadow(admin).querySelector('[part=state]')!.textContent!, /^\s*Used\s*$/, 'ended by its use');

      await eventually(() => joined.length === 1, 10_000);
      assert.equal(joined[0]!.group.role, 'writer');
      await invitee.updateComplete;
      assert.match(shadow(invitee).textContent!, /You are in/);
    } finally {
      await adminTransport.disconnect();
      await inviteeTransport.disconnect();
    }
  });

  it('lists the invitations handed in (kept across a reload) with those created here, each with a Cancel; an invitee whose admin is away is told so; a check in words', async () => {
    const { bob, group, adminTransport, inviteeTransport } = await adminAndInvitee();
    try {
      // The app's invitation, from before a reload.
      const kept = await GroupInvitation.create({ group, transport: adminTransport, role: 'reader', baseUrl: 'https://sealdoc.example/app' });
      const admin = mount('sealdoc-invite', { mode: 'create', group, transport: adminTransport, invitations: [kept], baseUrl: 'https://sealdoc.example/app' }, 'invite-admin');
      const created = events<InvitationDetail>(admin, 'sealdoc-invitation-created');
      const revoked = events<InvitationDetail>(admin, 'sealdoc-invitation-revoked');
      await admin.updateComplete;
      const listed = () => [...shadow(admin).querySelectorAll('section.invitation [part=state]')].map((e) => e.textContent!);
      assert.equal(listed().length, 1);
      assert.match(listed()[0]!, /^Open until .*, for a reader$/);
      assert.equal(shadow(admin).querySelector('input.link'), null, 'no link field for a link not created here: a Copy button');
      assert.ok(shadow(admin).querySelector('section.invitation button:not(.cancel)')!.textContent!.includes('Copy link'));

      shadow(admin).querySelector<HTMLButtonElement>('#role + button')!.click();
      await eventually(() => created.length === 1, 5000);
      assert.equal(created[0]!.invitation, admin.invitation);
      await admin.updateComplete;
      assert.equal(listed().length, 2, 'the new link and the kept one');
      assert.equal(shadow(admin).querySelector<HTMLInputElement>('input.link')!.value, created[0]!.link);

      const readerSection = [...shadow(admin).querySelectorAll('section.invitation')].find((s) => /reader/.test(s.textContent!))!;
      readerSection.querySelector<HTMLButtonElement>('button.cancel')!.click();
      await eventually(() => revoked.length === 1, 5000);
      assert.equal(revoked[0]!.invitation, kept);
      assert.equal(kept.state, 'revoked');
      await admin.updateComplete;
      assert.deepEqual(listed().map((s) => s.replace(/ .*/, '')), ['Open'], 'a cancelled link handed in leaves the list');
      assert.match(shadow(admin).querySelector('[part=message]')!.textContent!, /cancelled/);

      // The admin goes away: an invitee who asks is told so.
      await adminTransport.disconnect();
      const invitee = mount('sealdoc-invite', { mode: 'join', link: created[0]!.link, identity: bob, transport: inviteeTransport }, 'invite-join');
      await invitee.updateComplete;
      shadow(invitee).querySelector<HTMLInputElement>('#name')!.value = 'Bob';
      shadow(invitee).querySelector('form')!.requestSubmit();
      await eventually(() => /not online right now/.test(shadow(invitee).querySelector('[part=state]')?.textContent ?? ''), 5000);
      assert.match(shadow(invitee).querySelector('[part=state]')!.textContent!, /^Waiting for an admin to let you in\. The person who invited you is not online right now/);
      await invitee.updateComplete;
      await shot('#invite-join', 'invite-join-away');

      const invitation = created[0]!.invitation.invitation;
      assert.match(describeInvitationCheck({ state: 'used', adminOnline: false, invitation }), /^This invitation was already used.*Ask the person who sent it for a new link\.$/);
      assert.match(describeInvitationCheck({ state: 'revoked', adminOnline: true, invitation }), /^This invitation was cancelled\. Ask the person who sent it for a new link\.$/);
      assert.match(describeInvitationCheck({ state: 'expired', adminOnline: false, invitation }), /^This invitation expired on .+\. Ask the person who sent it for a new link\.$/);
      assert.match(describeInvitationCheck({ state: 'unknown', adminOnline: false, invitation }), /not known to the server/);
      assert.match(describeInvitationCheck({ state: 'open', adminOnline: true, invitation }), /^This invitation is open/);
      assert.match(describeInvitationCheck({ state: 'open', adminOnline: false, invitation }), /not online right now.*waits for them until/);
      for (const words of ['used', 'revoked', 'expired', 'unknown', 'open'].map((state) => describeInvitationCheck({ state: state as 'open', adminOnline: false, invitation })))
        assert.doesNotMatch(words, /epoch|group id|envelope|[0-9a-f]{16}/i, 'no jargon, no hex');
    } finally {
      await adminTransport.disconnect();
      await inviteeTransport.disconnect();
    }
  });
});
