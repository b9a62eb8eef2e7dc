/**
 * The demo app's state: what this browser holds open (store, device key, identity, relay
 * connection, documents), which screen shows, and the message under it. Modules change it and
 * call {@link draw}; app.ts says what drawing does.
 * @module
 */
import type * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import type { Actor, Identity } from '@sealdoc/crypto';
import type { DeviceKey, Group, MemberNames, SealedDoc, Storage, WebSocketTransport } from '@sealdoc/core';
import { describeError } from '@sealdoc/ui';
import { Names } from './names.js';
import { Prefs } from './prefs.js';

/** The IndexedDB database the app keeps everything in. */
export const DATABASE = 'sealdoc-demo';
/** The relay that served the page. */
export const RELAY_URL = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;

/** A document open in the app: its group (one per document), its Y.Doc, the engine, presence and the members' names. */
export interface OpenDoc {
  group: Group;
  doc: Y.Doc;
  sealed: SealedDoc;
  awareness: Awareness;
  people: MemberNames;
}

export type Screen = 'loading' | 'welcome' | 'words' | 'restore' | 'import' | 'main' | 'join' | 'settings' | 'link';

export const app = {
  storage: undefined as Storage | undefined,
  deviceKey: undefined as DeviceKey | undefined,
  /** The person's identity, on a browser that holds the words; undefined on a linked device. */
  identity: undefined as Identity | undefined,
  /** Who acts from this browser: the identity (where it was created), or a device of the person (restored from the words, or linked). */
  signer: undefined as Actor | undefined,
  transport: undefined as WebSocketTransport | undefined,
  docs: new Map<string, OpenDoc>(),
  current: undefined as string | undefined,
  offline: false,
  message: '',
  screen: 'loading' as Screen,
  words: '',
  invite: '',
  /** The code of a device link this page was opened with: this browser becomes another device of its person. */
  link: '',
};

/** This device's name and the names others gave themselves, sealed in the store once it is open. */
export const names = new Names();
/** This device's preferences ("Work offline"), sealed in the store once it is open. */
export const prefs = new Prefs();

let drawer: () => void = () => undefined;

/** Sets what {@link draw} does (app.ts: render the current screen). */
export function onDraw(render: () => void): void {
  drawer = render;
}

/** Draws the app again from its state. */
export function draw(): void {
  drawer();
}

/** Shows `message` under the screen, until it is dismissed (its close button, Escape) or another replaces it. */
export function say(message: string): void {
  app.message = message;
  draw();
}

/** Takes the message away. */
export function dismiss(): void {
  app.message = '';
  draw();
}

/** A name change on its way to the store: one it refuses (full, closed) is said; the name still shows. */
export function keep(saving: Promise<void>): void {
  saving.catch((error: unknown) => say(describeError(error)));
}

/** The input element of id `id`. */
export const field = (id: string) => document.getElementById(id) as HTMLInputElement;

/** Enter in a passphrase field runs `action`, as in a form: there is none, since browsers remember what forms submit. */
export const onEnter = (action: () => Promise<void>) => (event: KeyboardEvent) => {
  if (event.key === 'Enter' && event.target instanceof HTMLInputElement && event.target.type === 'password') void action();
};
