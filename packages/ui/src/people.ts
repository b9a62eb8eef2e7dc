/**
 * Persons and their devices as people see them: a device's name in plain words, and who a
 * remote caret belongs to. Members are persons; each device of a person has its own Yjs
 * client, so a caret is named by its person, with the device's label when that person has
 * more than one device ("Alice (Phone)"), and the viewer's own other devices as "You (…)".
 *
 * Who a caret belongs to is proven, not declared: the device whose sealed presence (or edits)
 * speaks for a Yjs client, as core verified it (SealedDoc.presenceAuthor).
 * @module
 */
import type { Group } from '@sealdoc/core';
import { toHex, type MemberDevice } from '@sealdoc/crypto';

/** A device's name in plain words: its label, or "First device" for the key from the recovery words. */
export function deviceName(device: Pick<MemberDevice, 'label' | 'identity'>): string {
  return device.label || (device.identity ? 'First device' : 'Unnamed device');
}

/** A person's display name: from `names` (member id hex → name), else the start of its id. */
export function personName(personId: Uint8Array | string, names: Map<string, string> | undefined): string {
  const id = typeof personId === 'string' ? personId : toHex(personId);
  return names?.get(id) ?? `Member ${id.slice(0, 8)}`;
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
