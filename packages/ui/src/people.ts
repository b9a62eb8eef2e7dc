/**
 * Persons and their devices as people see them: a device's name in plain words, and who a
 * remote caret belongs to. Members are persons; each device of a person has its own Yjs
 * client, so a caret is named by its person, with the device's label when that person has
 * more than one device ("Alice (Phone)"), and the viewer's own other devices as "You (…)".
 *
 * Who a caret belongs to is proven, not declared: an editor publishes, with its caret, its
 * device id and a signature by that device's key over (group, document, Yjs client id)
 * (context {@link PRESENCE_DEVICE_CONTEXT}). A viewer accepts the claim only when the device
 * is a current device of the group's log and the signature checks, so no member can show its
 * caret under another's name (a copied claim names the victim's Yjs client, which the sealed
 * presence lets only its owner speak for). A caret without a valid claim shows the name its
 * state declares, as before.
 * @module
 */
import type { Group, SealedDoc } from '@sealdoc/core';
import { fromHex, signMessage, toHex, verifyMessage, type MemberDevice } from '@sealdoc/crypto';

/**
 * What a SealedDoc may say of its presence: the device whose sealed presence (or edits) speaks
 * for a Yjs client (core's PresenceOwners). When the document offers it, it is the authority,
 * and a claim that disagrees is not believed.
 */
export interface PresenceAuthors {
  presenceAuthor?(clientId: number): Uint8Array | undefined;
}

/** The device core bound `clientId` to, when the document says (see {@link PresenceAuthors}). */
export function boundAuthor(doc: SealedDoc, clientId: number): Uint8Array | undefined {
  const authors = doc as unknown as PresenceAuthors;
  return typeof authors.presenceAuthor === 'function' ? authors.presenceAuthor(clientId) : undefined;
}

/** The signature context of a presence's device claim. */
export const PRESENCE_DEVICE_CONTEXT = 'sealdoc-ui/presence-device';

/** What an editor adds to its awareness state: its device, and the device's signature. */
export interface DeviceClaim {
  /** The device id, hex. */
  id: string;
  /** Signature (hex) over groupId · docId · u64 Yjs client id, by the device's signing key. */
  proof: string;
}

/** A device's name in plain words: its label, or "First device" for the key from the recovery words. */
export function deviceName(device: Pick<MemberDevice, 'label' | 'identity'>): string {
  return device.label || (device.identity ? 'First device' : 'Unnamed device');
}

/** A person's display name: from `names` (member id hex → name), else the start of its id. */
export function personName(personId: Uint8Array | string, names: Map<string, string> | undefined): string {
  const id = typeof personId === 'string' ? personId : toHex(personId);
  return names?.get(id) ?? `Member ${id.slice(0, 8)}`;
}

function claimBytes(doc: SealedDoc, clientId: number): Uint8Array {
  const groupId = doc.group.groupId;
  const bytes = new Uint8Array(groupId.length + doc.docId.length + 8);
  bytes.set(groupId, 0);
  bytes.set(doc.docId, groupId.length);
  new DataView(bytes.buffer).setBigUint64(groupId.length + doc.docId.length, BigInt(clientId));
  return bytes;
}

/** This device's claim to the Yjs client `clientId` in `doc`. */
export async function claimDevice(doc: SealedDoc, clientId: number): Promise<DeviceClaim> {
  const proof = await signMessage(doc.group.keys, PRESENCE_DEVICE_CONTEXT, claimBytes(doc, clientId));
  return { id: toHex(doc.group.deviceId), proof: toHex(proof) };
}

/** The current device of the group that `claim` proves speaks for `clientId`, or undefined. */
export async function checkDeviceClaim(doc: SealedDoc, clientId: number, claim: unknown): Promise<MemberDevice | undefined> {
  if (typeof claim !== 'object' || claim === null) return undefined;
  const { id, proof } = claim as Partial<DeviceClaim>;
  if (typeof id !== 'string' || typeof proof !== 'string' || !/^[0-9a-f]{64}$/.test(id) || !/^[0-9a-f]{128}$/.test(proof)) return undefined;
  const device = doc.group.log.device(fromHex(id));
  if (!device) return undefined;
  try {
    return (await verifyMessage(device.signingPublicKey, PRESENCE_DEVICE_CONTEXT, claimBytes(doc, clientId), fromHex(proof))) ? device : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The name shown at the caret of `device` to the viewer of `group`: its person's name (or
 * "You" for the viewer's own person), with the device's name when the person has more than
 * one device.
 */
export function presenceName(group: Group, device: MemberDevice, names: Map<string, string> | undefined, declared?: string): string {
  const mine = toHex(device.personId) === toHex(group.personId);
  const person = toHex(device.personId);
  const name = mine ? 'You' : (names?.get(person) ?? declared ?? personName(person, names));
  return mine || group.log.devices(device.personId).length > 1 ? `${name} (${deviceName(device)})` : name;
}
