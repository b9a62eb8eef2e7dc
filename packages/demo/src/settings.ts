/**
 * Settings: this person's devices (this one, the others), linking a new device and removing
 * one, the recovery phrase shown again behind a deliberate step, and wiping this browser; and,
 * on a browser opened with a device link, linking it.
 *
 * The devices listed are those the group logs of the documents kept here name for this
 * person: signed ops, checked as every op is, so neither the relay nor another member can add
 * or hide one (docs/security.md, "The demo's settings").
 * @module
 */
import { actorKeys, actorPersonId, Identity, readDeviceCertificate, toHex as hex, type Actor } from '@sealdoc/crypto';
import { DeviceLinkOffer, Group, linkDevice, loadIdentity, LocalDevice, WebSocketTransport, type LinkRequest } from '@sealdoc/core';
import { describeError, deviceName } from '@sealdoc/ui';
import { eraseBrowser } from './erase.js';
import { LINK_ENDED, linkAddress, linkProblem } from './link-code.js';
import { openDoc, openStore, saveName, startSession } from './session.js';
import { app, draw, field, RELAY_URL, say } from './state.js';

/** A device of this person, as the settings list it. */
export interface DeviceEntry {
  deviceId: Uint8Array;
  /** Its label, or "First device" for the key from the recovery words. */
  name: string;
  /** The key from the recovery words (it cannot be removed: the words are the person). */
  first: boolean;
  /** This browser. */
  here: boolean;
  /** When it asked to be linked (its own clock), for a linked or restored device. */
  since: number | undefined;
}

/** What the settings screen holds while it is open; forgotten when it closes. */
export const settings = {
  /** The recovery phrase: hidden, a confirmation asked, or shown (with the words). */
  phrase: 'hidden' as 'hidden' | 'asking' | 'shown',
  words: '',
  /** The link open for a new device, and the requests that came through it. */
  offer: undefined as DeviceLinkOffer | undefined,
  requests: [] as LinkRequest[],
  /** The step that asks before acting: removing a device, or wiping this browser. */
  confirming: undefined as { kind: 'revoke'; device: DeviceEntry } | { kind: 'wipe' } | undefined,
  busy: false,
  /** What happened last, in words. */
  status: '',
};

/** The new device's side, on the link screen: the safety code to compare, once asked. */
export const linking = { safetyCode: '', busy: false };

/** Shows the settings, the phrase hidden (even if the screen was last left some other way than "Back to documents"). */
export function openSettings(): void {
  settings.phrase = 'hidden';
  settings.words = '';
  app.screen = 'settings';
  draw();
}

/** Back to the documents: the phrase is hidden again, a link still open is closed. */
export function leaveSettings(): void {
  forget();
  app.screen = 'main';
  draw();
}

function forget(): void {
  void closeLink();
  settings.phrase = 'hidden';
  settings.words = '';
  settings.confirming = undefined;
  settings.status = '';
}

function signerName(signer: Actor): { name: string; since: number | undefined } {
  if (signer instanceof Identity) return { name: deviceName({ label: '', identity: true }), since: undefined };
  const certificate = readDeviceCertificate(signer.certificate);
  return { name: deviceName({ label: certificate.label, identity: false }), since: certificate.time };
}

/**
 * This person's current devices, this one first: the union of what the logs of the documents
 * this browser acts in say (a device revoked in one of them is no longer listed from it).
 */
export function devices(): DeviceEntry[] {
  const signer = app.signer!;
  const person = actorPersonId(signer);
  const here = hex(actorKeys(signer).memberId);
  const found = new Map<string, DeviceEntry>([[here, { deviceId: actorKeys(signer).memberId, first: signer instanceof Identity, here: true, ...signerName(signer) }]]);
  for (const { group } of app.docs.values()) {
    if (group.role === undefined) continue;
    for (const d of group.log.devices(person)) {
      const id = hex(d.deviceId);
      if (found.has(id) || group.log.wasRevoked(d.deviceId)) continue;
      const since = d.certificate ? readDeviceCertificate(d.certificate).time : undefined;
      found.set(id, { deviceId: d.deviceId, name: deviceName(d), first: d.identity, here: false, since });
    }
  }
  return [...found.values()];
}

/** Asks before removing `device`, or before wiping this browser. */
export function confirm(what: NonNullable<typeof settings.confirming>): void {
  settings.confirming = what;
  draw();
}

/** The confirmation answered no. */
export function cancel(): void {
  settings.confirming = undefined;
  draw();
}

/** The recovery phrase: first a confirmation; then the words, read from the sealed store. */
export async function showPhrase(): Promise<void> {
  if (settings.phrase === 'hidden') {
    settings.phrase = 'asking';
    return draw();
  }
  try {
    const kept = await loadIdentity(app.storage!, app.deviceKey!);
    settings.words = kept?.mnemonic ?? '';
    settings.phrase = kept ? 'shown' : 'hidden';
    if (!kept) settings.status = 'This browser does not hold your recovery words: see them on the device where you created your identity.';
  } catch (error) {
    settings.phrase = 'hidden';
    settings.status = describeError(error);
  }
  draw();
}

/** Hides the phrase again. */
export function hidePhrase(): void {
  settings.phrase = 'hidden';
  settings.words = '';
  draw();
}

/** The address a new device opens: this app, with the link's code in the fragment. */
export function offerAddress(offer: DeviceLinkOffer): string {
  return linkAddress(location.origin + location.pathname, offer.code);
}

/**
 * Opens a one-time link for a new device (on a browser that holds the words), under the
 * person's own group: the oldest document this browser created alone, or a new one.
 */
export async function openLink(): Promise<void> {
  settings.busy = true;
  settings.status = '';
  draw();
  try {
    const device = (await LocalDevice.load(app.storage!, app.deviceKey!))!;
    const offer = await DeviceLinkOffer.open(device, app.transport!);
    // A person with no document yet: the group made for the link is a document too.
    const own = await device.group();
    if (!app.docs.has(hex(own.groupId))) openDoc(own);
    offer.events.on('request', ({ request }) => {
      settings.requests = [...settings.requests, request];
      draw();
    });
    offer.events.on('error', ({ error }) => console.warn('sealdoc:', (error as { code?: string }).code ?? error.name));
    settings.offer = offer;
    settings.requests = [];
  } catch (error) {
    settings.status = describeError(error);
  } finally {
    settings.busy = false;
    draw();
  }
}

/** Closes the link open for a new device, if any. */
export async function closeLink(): Promise<void> {
  const offer = settings.offer;
  settings.offer = undefined;
  settings.requests = [];
  await offer?.close();
}

/** The person cancelled the link: it closes at the relay. */
export async function cancelLink(): Promise<void> {
  await closeLink();
  settings.status = 'The link was cancelled: it no longer works.';
  draw();
}

/**
 * Approves a new device's request: the identity certifies it, it is brought into every
 * document kept here, and the documents open here learn of it at once.
 */
export async function approve(request: LinkRequest): Promise<void> {
  const offer = settings.offer;
  if (!offer) return;
  const name = deviceName({ label: request.label, identity: false });
  settings.busy = true;
  settings.status = `Linking “${name}”…`;
  draw();
  try {
    const failed = await offer.approve(request);
    settings.offer = undefined;
    settings.requests = [];
    await catchUp();
    settings.status = failed.length
      ? `“${name}” is linked, but it could not be given ${failed.length} of your documents: ${describeError(failed[0]!.error)}`
      : `“${name}” is linked. It opens your documents as soon as it connects.`;
  } catch (error) {
    settings.status = describeError(error);
  } finally {
    settings.busy = false;
    draw();
  }
}

/** The documents open here take the ops the link's approval kept in the store (the relay does not send a member its own ops back). */
async function catchUp(): Promise<void> {
  for (const open of app.docs.values()) {
    const kept = await Group.open({ signer: app.signer!, groupId: open.group.groupId, storage: app.storage! });
    if (kept && kept.log.length > open.group.log.length) await open.group.receiveOps(kept.log.ops(), 0);
  }
}

/** Removes `device` from every document this browser acts in: each moves to keys it never gets. */
export async function revoke(device: DeviceEntry): Promise<void> {
  settings.confirming = undefined;
  settings.busy = true;
  settings.status = `Removing “${device.name}” and changing the keys of your documents…`;
  draw();
  const groups = [...app.docs.values()].map((d) => d.group).filter((g) => g.role !== undefined && g.log.device(device.deviceId));
  const failed: unknown[] = [];
  for (const group of groups) {
    try {
      await group.revokeDevice(device.deviceId);
    } catch (error) {
      failed.push(error);
    }
  }
  settings.busy = false;
  settings.status = failed.length
    ? `“${device.name}” was removed from ${groups.length - failed.length} of ${groups.length} documents. ${describeError(failed[0])}`
    : `“${device.name}” was removed. It reads nothing new from now on, and erases its copy once it learns of it.`;
  draw();
}

/**
 * Signs out and wipes this browser (erase.ts): the store and the device key are deleted, and
 * the page starts again at the welcome, with nothing of the session left in memory either.
 */
export async function wipeDevice(): Promise<void> {
  settings.confirming = undefined;
  settings.busy = true;
  settings.status = 'Wiping this browser…';
  draw();
  try {
    await closeLink();
    await eraseBrowser();
  } catch (error) {
    settings.busy = false;
    settings.status = describeError(error);
    draw();
  }
}

/**
 * The new device's side (the link screen): asks through the link, shows the safety code to
 * compare, and once the other device approves, keeps this device and starts the session.
 */
export async function linkThisBrowser(): Promise<void> {
  if (!saveName()) return;
  const label = field('device-label').value.trim();
  if (!label) return say('Give this browser a name, such as “Phone” or “Work laptop”.');
  const problem = linkProblem(app.link);
  if (problem) return say(problem);
  linking.busy = true;
  say('');
  try {
    await openStore();
    const device = await linkDevice(app.link, {
      storage: app.storage!,
      deviceKey: app.deviceKey!,
      label,
      connect: (keys) => new WebSocketTransport({ url: RELAY_URL, identity: keys }),
      onSafetyCode: (code) => ((linking.safetyCode = code), draw()),
    });
    app.link = '';
    app.identity = device.identity;
    app.signer = device.signer;
    await startSession();
    say('This browser is linked. Your documents arrive as it connects.');
  } catch (error) {
    say(describeLinkError(error));
  } finally {
    linking.busy = false;
    linking.safetyCode = '';
    draw();
  }
}

/** A link's refusal in words for the new device: the relay's codes name invitations, which a device link is not. */
function describeLinkError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'invite-expired' || code === 'invite-revoked' || code === 'unknown-invite' ? LINK_ENDED : describeError(error);
}
