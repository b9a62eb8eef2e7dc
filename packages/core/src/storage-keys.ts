/**
 * Where the engine keeps each record in a {@link Storage}: every key it reads or writes is
 * made here, so that the layout is one list. Ids are hex; numbers are zero-padded so that
 * they sort; every key but the identity's names its group second.
 *
 * - `['identity']`: this device's identity, sealed under the device key (identity-store.ts).
 * - `['own-group']`: the id of the group LocalDevice created for its person (local-device.ts).
 * - `['log', group, index]`: the group's membership ops, signed and public, stored as they are.
 * - `['device']`: this device's own key pairs and certificate, when it is a certified device
 *   of its person (device-store.ts), sealed under the device key.
 * - `['seq', group]`: the next sequence number in the group of the person's identity key
 *   acting as a device; `['seq', group, device]`: of a certified device (sequence.ts).
 * - `['env', group, doc, author, seq]`: a document's envelopes offered to peers.
 * - `['unsent', group, doc, author, seq]`: this member's envelopes of the document not sent yet.
 * - `['local', group, doc]`: the document's state, sealed under the device key.
 * - `['dirty', group, doc]`: present while envelopes were stored after that state.
 * - `['journal', group, doc, session, n]`: local edits of the document not sealed as envelopes
 *   yet, sealed under the device key (edit-journal.ts).
 * - `['cursor', group, doc]`: the last relay cursor seen of the document (websocket-transport.ts).
 * @module
 */
import type { StorageKey } from './storage.js';

/** The identity's key. */
export const IDENTITY_KEY: StorageKey = ['identity'];

/** This device's key pairs and certificate (device-store.ts). */
export const DEVICE_KEY: StorageKey = ['device'];

/** The id (hex) of the group this device created for its person (LocalDevice.group()); never one that came from the relay. */
export const OWN_GROUP_KEY: StorageKey = ['own-group'];

/** A membership op's key; without `index`, the prefix of the group's log; without `group`, of every group's. */
export function logKey(group?: string, index?: number): string[] {
  if (group === undefined) return ['log'];
  return index === undefined ? ['log', group] : ['log', group, String(index).padStart(10, '0')];
}

/** The group (hex) a key names: its second part. */
export function groupOfKey(key: StorageKey): string | undefined {
  return key[1];
}

/**
 * The key of a device's next sequence number in a group: `device` (hex) for a certified
 * device, none for the person's identity key (the key stores made before devices use).
 */
export function seqKey(group: string, device?: string): string[] {
  return device === undefined ? ['seq', group] : ['seq', group, device];
}

/**
 * An envelope's key: 'env' for those offered to peers, 'unsent' for those held back. Without
 * an author, the prefix of the document's envelopes in that state.
 */
export function envelopeKey(state: 'env' | 'unsent', group: string, doc: string, author?: string, seq?: number): string[] {
  const prefix = [state, group, doc];
  return author === undefined ? prefix : [...prefix, author, String(seq).padStart(16, '0')];
}

/** The key of a document's state sealed under the device key (also the context it is sealed under, joined with '/'). */
export function localStateKey(group: string, doc: string): string[] {
  return ['local', group, doc];
}

/** The key of a document's "dirty" marker. */
export function dirtyKey(group: string, doc: string): string[] {
  return ['dirty', group, doc];
}

/**
 * The key of a record of a document's journal of edits not sealed yet: `session` (hex) tells
 * writers apart, `n` orders a session's records. Without them, the prefix of the document's
 * records. The key is also the context the record is sealed under, joined with '/'.
 */
export function journalKey(group: string, doc: string, session?: string, n?: number): string[] {
  return session === undefined ? ['journal', group, doc] : ['journal', group, doc, session, String(n).padStart(10, '0')];
}

/** The key of a document's last relay cursor (without `doc`: the prefix of all of a group's). */
export function cursorKey(group: string, doc?: string): string[] {
  return doc === undefined ? ['cursor', group] : ['cursor', group, doc];
}

/**
 * The prefixes of everything a store keeps of a group but its sequence numbers: its documents'
 * envelopes, states, "dirty" markers and journals, their relay cursors, and last its log (what
 * makes the group one a store holds: a deletion cut short before it still lists the group).
 */
export function groupPrefixes(group: string): string[][] {
  return [['env', group], ['unsent', group], ['local', group], ['dirty', group], ['journal', group], cursorKey(group), logKey(group)];
}
