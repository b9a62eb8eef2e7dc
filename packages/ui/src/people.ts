/**
 * Persons and their devices as people see them: a device's name in plain words, and who a
 * remote caret belongs to. Members are persons; each device of a person has its own Yjs
 * client, so a caret is named by its person, with the device's label when that person has
 * more than one device ("Alice (Phone)"), and the viewer's own other devices as "You, other
 * device". Two members may give themselves the same name: a safety code, from the person's
 * key, tells them apart.
 *
 * Who a caret belongs to, and who is here, is proven, not declared: the device whose sealed
 * presence (or edits) speaks for a Yjs client, as core verified it (SealedDoc.presenceAuthor).
 * @module
 */
import type { Awareness } from 'y-protocols/awareness';
import type { Group, SealedDoc } from '@sealdoc/core';
import { toHex, type MemberDevice } from '@sealdoc/crypto';

/** A device's name in plain words: its label, or "First device" for the key from the recovery words. */
export function deviceName(device: Pick<MemberDevice, 'label' | 'identity'>): string {
  return device.label || (device.identity ? 'First device' : 'Unnamed device');
}

/** A person's display name: from `names` (member id hex → name), else "Member" and the first group of its safety code. */
export function personName(personId: Uint8Array | string, names: Map<string, string> | undefined): string {
  const id = typeof personId === 'string' ? personId : toHex(personId);
  return names?.get(id) ?? `Member ${safetyCode(id).slice(0, 4)}`;
}

/**
 * The name shown at the caret of `device` to the viewer of `group`: its person's name (or
 * "You" for the viewer's own person), with the device's name when the person has more than
 * one device.
 */
export function presenceName(group: Group, device: MemberDevice, names: Map<string, string> | undefined, declared?: string): string {
  const mine = toHex(device.personId) === toHex(group.personId);
  const person = toHex(device.personId);
  // The viewer's own person on another device: named as the viewer, never as a stranger.
  if (mine) return group.log.devices(device.personId).length > 2 ? `You, other device (${deviceName(device)})` : 'You, other device';
  const name = names?.get(person) ?? declared ?? personName(person, names);
  return group.log.devices(device.personId).length > 1 ? `${name} (${deviceName(device)})` : name;
}

/**
 * A person's safety code: twelve digits in three groups, from its member id (itself a hash of
 * its key). Two members who picked the same name have different codes; comparing a code with
 * the person (in the room, on the phone) tells who is who. A stranger would have to make
 * about 10^12 keys to find one with a given code.
 */
export function safetyCode(personId: Uint8Array | string): string {
  const id = typeof personId === 'string' ? personId : toHex(personId);
  const digits = (BigInt(`0x${id.slice(0, 16).padEnd(16, '0')}`) % 10n ** 12n).toString().padStart(12, '0');
  return `${digits.slice(0, 4)} ${digits.slice(4, 8)} ${digits.slice(8)}`;
}

/**
 * Who is here now in the document of `sealed`: for each person (member id, hex), the devices
 * (hex) that have a presence state in `awareness`, as the sealed presence proves them; this
 * device's own clients are left out. A state stays until its device leaves or falls silent
 * for 30 s (y-protocols' timeout).
 */
export function presentDevices(sealed: SealedDoc, awareness: Awareness): Map<string, Set<string>> {
  const here = new Map<string, Set<string>>();
  const own = new Set([awareness.clientID, awareness.doc.clientID]);
  for (const client of awareness.getStates().keys()) {
    if (own.has(client)) continue;
    const author = sealed.presenceAuthor(client);
    const device = author && sealed.group.log.device(author);
    if (!device || toHex(device.deviceId) === toHex(sealed.group.deviceId)) continue;
    const person = toHex(device.personId);
    let devices = here.get(person);
    if (!devices) here.set(person, (devices = new Set()));
    devices.add(toHex(device.deviceId));
  }
  return here;
}
