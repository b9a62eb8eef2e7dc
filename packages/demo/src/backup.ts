/**
 * The encrypted backup: the words, the name, and per document its log and its state, sealed
 * under a passphrase; and its import on a new browser.
 * @module
 */
import * as Y from 'yjs';
import { Keyring, MembershipLog, openBackup, sealBackup, toHex as hex } from '@sealdoc/crypto';
import { Group, loadIdentity } from '@sealdoc/core';
import { describeError } from '@sealdoc/ui';
import { openDoc, restoreDevice, startSession } from './session.js';
import { download } from './export.js';
import { app, field, keep, names, say, type OpenDoc } from './state.js';

/** Seals the backup under the passphrase typed twice and downloads it. */
export async function exportBackup(): Promise<void> {
  const [first, second] = [field('pass1'), field('pass2')];
  if (first.value.length < 8) return say('Choose a passphrase of 8 characters or more.');
  if (first.value !== second.value) return say('The two passphrases differ: type the same one in both fields.');
  const sealed = await sealDocuments([...app.docs.values()], first.value);
  if (!sealed) return;
  download(sealed, 'sealdoc-backup.sdbk', 'application/octet-stream');
  first.value = second.value = '';
  say('Backup saved. Keep it and its passphrase apart.');
}

/**
 * The words, the name and `docs` (each its log and its state), sealed under `passphrase`: a
 * backup that {@link importBackup} opens, of every document or of one. Undefined (and said)
 * in a browser that holds no words.
 */
export async function sealDocuments(docs: readonly OpenDoc[], passphrase: string): Promise<Uint8Array | undefined> {
  const loaded = await loadIdentity(app.storage!, app.deviceKey!);
  // A backup restores from the words: a linked browser holds none.
  if (!loaded) {
    say('This browser was linked from another of your devices and does not hold your recovery words: export the backup there.');
    return undefined;
  }
  const payload = {
    v: 1,
    words: loaded.mnemonic,
    name: names.mine,
    docs: docs.map(({ group, doc }) => ({ ops: group.log.ops().map(toBase64), state: toBase64(Y.encodeStateAsUpdate(doc)) })),
  };
  return sealBackup(new TextEncoder().encode(JSON.stringify(payload)), passphrase, { onProgress: (p) => say(`Sealing the backup… ${Math.round(p * 100)} %`) });
}

/** Opens the chosen backup file with its passphrase: a new device of the person, its documents. */
export async function importBackup(): Promise<void> {
  const file = field('file').files?.[0];
  const passphrase = field('pass').value;
  if (!file) return say('Choose the backup file.');
  try {
    const bytes = await openBackup(new Uint8Array(await file.arrayBuffer()), passphrase, { onProgress: (p) => say(`Opening the backup… ${Math.round(p * 100)} %`) });
    const payload = JSON.parse(new TextDecoder().decode(bytes)) as { words: string; name: string; docs: { ops: string[]; state: string }[] };
    if (payload.name) keep(names.setMine(payload.name));
    // A new device of the person, as with the words; the backup's documents open in the groups
    // it entered at the relay. A group the relay does not have (or with no relay) opens as the
    // identity itself, from the backup's log.
    await restoreDevice(payload.words);
    await startSession();
    for (const saved of payload.docs) {
      const log = await MembershipLog.fromOps(saved.ops.map(fromBase64));
      const entered = await Group.open({ signer: app.signer!, groupId: log.groupId, storage: app.storage! });
      const group = entered ?? new Group({ signer: app.identity!, log, keyring: new Keyring(), storage: app.storage! });
      await group.refresh();
      const open = openDoc(group);
      Y.applyUpdate(open.doc, fromBase64(saved.state));
      app.current ??= hex(group.groupId);
    }
    say('Backup restored.');
  } catch (error) {
    say(describeError(error));
  }
}

function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}
function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
