/**
 * A document's history: its versions (the snapshots this device holds, each verified: its
 * author's signature names who sealed it, and the time is the one its author sealed in it),
 * one of them shown read-only, and restored as a new edit that the others receive like any
 * other (and that is itself a version one can go back from).
 * @module
 */
import * as Y from 'yjs';
import { toHex as hex } from '@sealdoc/crypto';
import type { DocVersion } from '@sealdoc/core';
import { describeError } from '@sealdoc/ui';
import { app, draw, names, say, type OpenDoc } from './state.js';

/** The history shown: of which document, its versions, and the one viewed (in a Y.Doc of its own). */
export const history = {
  key: undefined as string | undefined,
  versions: [] as DocVersion[],
  /** Whether the versions were read since the history was opened. */
  loaded: false,
  viewing: undefined as { version: DocVersion; doc: Y.Doc } | undefined,
};

/** Whether the history of the open document shows. */
export function historyShown(): boolean {
  return history.key !== undefined && history.key === app.current;
}

// While the history shows, versions others save arrive: the list is read again this often.
const REREAD_MS = 3000;
let rereading: ReturnType<typeof setInterval> | undefined;

/** Shows the history of `open`, its versions read again (and every few seconds while it shows). */
export async function showHistory(open: OpenDoc): Promise<void> {
  history.key = hex(open.group.groupId);
  history.loaded = false;
  closeVersion();
  clearInterval(rereading);
  rereading = setInterval(() => (historyShown() ? void readVersions(open) : hideHistory()), REREAD_MS);
  await readVersions(open);
}

/** Back to the document, the focus on its History button (where the keyboard was). */
export function backToDocument(): void {
  hideHistory();
  document.getElementById('show-history')?.focus();
}

/** The history shows no more. */
function hideHistory(): void {
  clearInterval(rereading);
  rereading = undefined;
  closeVersion();
  history.key = undefined;
  history.versions = [];
  draw();
}

async function readVersions(open: OpenDoc): Promise<void> {
  try {
    const versions = (await open.sealed.versions()).reverse();
    // Read for a history that was closed (or opened on another document) meanwhile: not shown.
    if (history.key !== hex(open.group.groupId)) return;
    // Unchanged: the same list, so that nothing is drawn again.
    if (history.loaded && versions.map((v) => v.id).join() === history.versions.map((v) => v.id).join()) return;
    history.versions = versions;
    history.loaded = true;
  } catch (error) {
    say(describeError(error));
  }
  draw();
}

/** Seals the document as it is now as a version (a snapshot every member receives). */
export async function saveVersion(open: OpenDoc): Promise<void> {
  try {
    await open.sealed.flush();
    await open.sealed.snapshot();
    await readVersions(open);
  } catch (error) {
    say(describeError(error));
  }
}

/** Shows `version` read-only. */
export function viewVersion(version: DocVersion): void {
  closeVersion();
  const doc = new Y.Doc();
  Y.applyUpdate(doc, version.state);
  history.viewing = { version, doc };
  draw();
}

/** Stops showing the version viewed. */
export function closeVersion(): void {
  history.viewing?.doc.destroy();
  history.viewing = undefined;
  draw();
}

/** Who sealed `version`, by name: this person, a member whose name is known, or neither. */
export function authorOf(version: DocVersion): string {
  const person = version.person && hex(version.person);
  if (!person) return 'A former member';
  if (person === hex(app.identity!.memberId)) return `${names.mine || 'You'} (you)`;
  return names.others.get(person) ?? `Member ${person.slice(0, 8)}`;
}

/** When `version` was sealed, in this browser's words for dates. */
export function timeOf(version: DocVersion): string {
  return version.time === undefined ? 'Time not recorded' : new Date(version.time).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/**
 * Restores `version`: the document's text and title become the version's in one transaction,
 * sent sealed to the others like any edit. The state before is kept as a version first, so
 * that the restore can itself be taken back.
 */
export async function restoreVersion(open: OpenDoc, version: DocVersion): Promise<void> {
  try {
    await open.sealed.flush();
    await open.sealed.snapshot();
    const old = new Y.Doc();
    Y.applyUpdate(old, version.state);
    const fragment = open.doc.getXmlFragment('prosemirror');
    const title = open.doc.getText('title');
    const oldTitle = old.getText('title').toString();
    open.doc.transact(() => {
      fragment.delete(0, fragment.length);
      fragment.insert(0, old.getXmlFragment('prosemirror').toArray().map((node) => node.clone() as Y.XmlElement | Y.XmlText));
      if (title.toString() !== oldTitle) {
        title.delete(0, title.length);
        title.insert(0, oldTitle);
      }
    });
    old.destroy();
    await open.sealed.flush();
    backToDocument();
    say(`Restored the version of ${timeOf(version)} by ${authorOf(version)}. The version before it is in History.`);
  } catch (error) {
    say(describeError(error));
  }
}
