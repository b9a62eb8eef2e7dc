/**
 * Linking a new device without the words, the way invitations work (crypto's device-link.ts
 * has the format):
 *
 * 1. On a device that holds the person's words, {@link DeviceLinkOffer.open} opens a one-time
 *    link at the relay (under the person's own group) and shows its code (a link or a QR code).
 * 2. On the new device, {@link linkDevice} makes the device's own key pairs, sends its
 *    certificate request sealed under the link, and shows a safety code.
 * 3. The person compares the two safety codes and approves on the first device: it certifies
 *    the new device with the identity key and brings it into every group it keeps (one
 *    certify-device op per group, wrapping it what its person reads); the link closes.
 * 4. The new device sees itself certified, keeps its certificate and its person's groups.
 * @module
 */
import {
  certifyDevice,
  createDeviceLink,
  decodeDeviceLink,
  deviceLinkId,
  encodeDeviceLink,
  InvitationError,
  Keyring,
  memberIdOf,
  newDeviceKeys,
  openLinkRequest,
  readDeviceRequest,
  requestDeviceCertificate,
  safetyCode,
  sealLinkRequest,
  type CertifiedDevice,
  type DeviceLink,
  type DeviceRequest,
} from '@sealdoc/crypto';
import { hex } from './bytes.js';
import type { DeviceKey } from './device-key.js';
import { saveDevice } from './device-store.js';
import { Emitter } from './events.js';
import { Group } from './group.js';
import { LocalDevice } from './local-device.js';
import { openAtRelay } from './invitations.js';
import { fetchRelayGroup, listRelayGroups } from './relay-groups.js';
import type { Storage } from './storage.js';
import { OWN_GROUP_KEY } from './storage-keys.js';
import { RelayError, type WebSocketTransport } from './websocket-transport.js';

/** A new device asking to be linked, as the first device sees it. */
export interface LinkRequest extends DeviceRequest {
  /** The code both devices show: the person compares them before approving. */
  safetyCode: string;
  /** @internal The request's bytes, to certify. */
  readonly bytes: Uint8Array;
}

/** What a {@link DeviceLinkOffer} reports. */
export interface DeviceLinkOfferEvents extends Record<string, unknown> {
  /** A device asks to be linked: show its label and safety code, then approve or ignore it. */
  request: { request: LinkRequest };
  /** A request that does not open or verify (someone else's, or altered): ignored. */
  error: { error: Error };
}

/** The first device's side of a link: open it, show {@link DeviceLinkOffer.code}, approve the request whose safety code matches. */
export class DeviceLinkOffer {
  readonly events = new Emitter<DeviceLinkOfferEvents>();
  readonly link: DeviceLink;
  readonly #device: LocalDevice;
  readonly #transport: WebSocketTransport;
  readonly #off: () => void;
  #closed = false;

  private constructor(device: LocalDevice, transport: WebSocketTransport, link: DeviceLink) {
    this.#device = device;
    this.#transport = transport;
    this.link = link;
    const id = hex(deviceLinkId(link));
    this.#off = transport.events.on('invite-requested', (event) => {
      if (hex(event.inviteId) === id) void this.#received(event.requester, event.request);
    });
  }

  /**
   * Opens a link at the relay for a new device of `device`'s person, valid for `validForMs`
   * (10 minutes by default). `device` must hold the words (its identity certifies the new
   * device); `transport` is its connection to the relay.
   */
  static async open(device: LocalDevice, transport: WebSocketTransport, options: { validForMs?: number } = {}): Promise<DeviceLinkOffer> {
    if (!device.identity) throw new TypeError('a device is linked from a device that holds the recovery words');
    const own = await device.group();
    const link = createDeviceLink(device.personId, own.groupId, options.validForMs);
    await openAtRelay(transport, own, deviceLinkId(link), link.expiresAt);
    const offer = new DeviceLinkOffer(device, transport, link);
    transport.watchInvitations(own.groupId);
    return offer;
  }

  /** The code to hand the new device (as a link's fragment, or a QR code): one use, it expires. */
  get code(): string {
    return encodeDeviceLink(this.link);
  }

  /**
   * Approves a request: certifies the device with the identity key and brings it into every
   * group this device keeps. Resolves with the groups it could not be brought into (another
   * device of the person may do it later), empty when all went. Closes the link.
   */
  async approve(request: LinkRequest): Promise<{ groupId: string; error: Error }[]> {
    if (this.#closed) throw new InvitationError('malformed', 'this link is closed');
    if (Date.now() >= this.link.expiresAt) throw new RelayError('invite-expired', 'this link has expired: open a new one');
    const certificate = await certifyDevice(this.#device.identity!, request.bytes);
    const failed: { groupId: string; error: Error }[] = [];
    // The person's own group first: the new device finds its certificate there.
    const own = hex((await this.#device.group()).groupId);
    const ids = [own, ...(await this.#device.groups()).filter((id) => id !== own)];
    for (const id of ids) {
      try {
        const group = (await this.#device.group(id))!;
        if (group.role === undefined || group.log.device(request.deviceId)) continue;
        group.relay = this.#transport;
        await group.addDevice(certificate);
      } catch (error) {
        failed.push({ groupId: id, error: error as Error });
      }
    }
    await this.close();
    return failed;
  }

  /** Closes the link at the relay (no more requests) and stops listening. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#off();
    await this.#transport.request({ type: 'invite-close', ref: 0, inviteId: deviceLinkId(this.link) }).catch(() => undefined);
  }

  async #received(requester: Uint8Array, sealed: Uint8Array): Promise<void> {
    try {
      const bytes = await openLinkRequest(this.link, sealed);
      const request = readDeviceRequest(bytes);
      // The relay authenticated the sender: the device in the request must be the sender.
      if (hex(request.deviceId) !== hex(requester)) throw new InvitationError('bad-signature', 'the request names a device that is not its sender');
      this.events.emit('request', { request: { ...request, safetyCode: safetyCode(request.deviceId), bytes } });
    } catch (error) {
      this.events.emit('error', { error: error as Error });
    }
  }
}

/** Options of {@link linkDevice}. */
export interface LinkDeviceOptions {
  /** The new device's store and key (empty: a device is linked once). */
  storage: Storage;
  deviceKey: DeviceKey;
  /** The name the person gives this device ("Phone"). */
  label: string;
  /** Makes this device's connection to the relay, saying hello with `identity` (its new device keys). */
  connect: (identity: CertifiedDevice['keys']) => WebSocketTransport;
  /** Called with the safety code to show, once the request is sent. */
  onSafetyCode?: (code: string) => void;
  /** How long to wait for the approval; 10 minutes by default. */
  timeoutMs?: number;
}

const POLL_MS = 1000;

/**
 * The new device's side: makes its key pairs, asks through the link, waits for the person's
 * approval, then keeps its certificate and its person's groups. Resolves with the device.
 * Rejects with InvitationError for a bad code, RelayError for an expired, closed or unknown
 * link, and TransportError when the relay cannot be reached.
 */
export async function linkDevice(code: string, options: LinkDeviceOptions): Promise<LocalDevice> {
  const link = decodeDeviceLink(code);
  if (Date.now() >= link.expiresAt) throw new RelayError('invite-expired', 'this link has expired: open a new one on your other device');
  const keys = newDeviceKeys();
  const request = await requestDeviceCertificate(keys, link.personId, options.label);
  const transport = options.connect(keys);
  try {
    await transport.connect();
    const inviteId = deviceLinkId(link);
    await transport.request({ type: 'invite-request', ref: 0, inviteId, request: sealLinkRequest(link, request) });
    options.onSafetyCode?.(safetyCode(keys.memberId));
    const deadline = Date.now() + (options.timeoutMs ?? 10 * 60 * 1000);
    for (;;) {
      const answer = await transport.request({ type: 'invite-status', ref: 0, inviteId });
      const state = answer.type === 'invite-state' ? answer.state : 'unknown';
      if (state === 'admitted') break;
      if (state !== 'pending') throw new RelayError(state === 'unknown' ? 'unknown-invite' : `invite-${state}`, `this link is ${state}`);
      if (Date.now() >= deadline) throw new RelayError('invite-expired', 'the link was not approved in time');
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    // Certified in the person's own group: the certificate and the person's keys are in its log.
    const own = await fetchRelayGroup(transport, { signer: keys, groupId: link.groupId });
    const me = own.log.device(keys.memberId);
    const person = own.log.member(link.personId);
    if (!me?.certificate || !person || hex(memberIdOf(person.signingPublicKey)) !== hex(link.personId))
      throw new InvitationError('malformed', 'the person’s group does not certify this device');
    const signer: CertifiedDevice = { keys, certificate: me.certificate, person: { signingPublicKey: person.signingPublicKey, agreementPublicKey: person.agreementPublicKey } };
    await saveDevice(options.storage, options.deviceKey, signer);
    await options.storage.save(OWN_GROUP_KEY, link.groupId);
    for (const groupId of await listRelayGroups(transport)) {
      const fetched = hex(groupId) === hex(link.groupId) ? own : await fetchRelayGroup(transport, { signer: keys, groupId });
      const group = new Group({ signer, log: fetched.log, keyring: new Keyring(), storage: options.storage });
      await group.refresh();
    }
    return await LocalDevice.open(options.storage, options.deviceKey);
  } finally {
    await transport.disconnect();
  }
}
