/**
 * Linking a new device without the words: the person's device that holds the identity shows
 * a one-time link; the new device sends its certificate request back sealed under a key
 * derived from the link's secret, through a relay that sees only the link's id and ciphertext.
 *
 *   code    = base64url( u8 version 1 · person id 32 · group id 16 · secret 32 · u64 expires-at (ms) )
 *   id      = HKDF-SHA256(secret, salt = group id, info = "sealdoc/link/id/v1", 16)
 *   key     = HKDF-SHA256(secret, salt = group id, info = "sealdoc/link/key/v1", 32)
 *   request = nonce 24 · XChaCha20-Poly1305(key, nonce, aad = "sealdoc/link/request/v1" · id,
 *               the device's certificate request (device.ts: its keys, label, and its signature))
 *
 * The group is the person's own (the relay keeps the request under it, as for an invitation).
 * The code carries no long-term secret: the secret serves this one link, which expires (10
 * minutes by default) and is closed once used. Whoever holds the code can ask: the person
 * compares the safety code both devices show before approving. Documented in docs/membership.md.
 * @module
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { _bytes, _concat, _equal, _int, _Reader, _u64, _utf8 } from './bytes.js';
import { _readDeviceCertificateRequest } from './device.js';
import { InvitationError, _base64url, _fromBase64url, _openRequest, _sealRequest } from './invitation.js';

/** What a device link code holds. Secret while it is valid: whoever holds it may ask to link. */
export interface DeviceLink {
  /** Member id of the person the new device will act for. */
  personId: Uint8Array;
  /** The person's own group, under which the relay keeps the request. */
  groupId: Uint8Array;
  secret: Uint8Array;
  /** When it stops being accepted, ms since 1970. */
  expiresAt: number;
}

const VERSION = 1;
const CODE_LENGTH = 1 + 32 + 16 + 32 + 8;
const ID_INFO = _utf8('sealdoc/link/id/v1');
const KEY_INFO = _utf8('sealdoc/link/key/v1');
const AAD_LABEL = _utf8('sealdoc/link/request/v1');
/** Default validity of a link: 10 minutes. */
export const DEVICE_LINK_VALIDITY_MS = 10 * 60 * 1000;

const fail = (code: 'malformed' | 'unsupported-version' | 'bad-ciphertext' | 'bad-signature', message: string): never => {
  throw new InvitationError(code, message);
};

/** A new link for a device of `personId`, kept under its own group `groupId`, valid for `validForMs`. */
export function createDeviceLink(personId: Uint8Array, groupId: Uint8Array, validForMs = DEVICE_LINK_VALIDITY_MS): DeviceLink {
  _bytes(personId, 'personId', 32);
  _bytes(groupId, 'groupId', 16);
  _int(validForMs, 'validForMs', 1, 30 * 24 * 3600 * 1000);
  return { personId: personId.slice(), groupId: groupId.slice(), secret: randomBytes(32), expiresAt: Date.now() + validForMs };
}

/** The link as text (for a link's fragment or a QR code; never a path or query: those reach servers). */
export function encodeDeviceLink(link: DeviceLink): string {
  return _base64url(_concat(Uint8Array.of(VERSION), _bytes(link.personId, 'personId', 32), _bytes(link.groupId, 'groupId', 16), _bytes(link.secret, 'secret', 32), _u64(link.expiresAt)));
}

/** Reads a link code (as {@link encodeDeviceLink} wrote it); throws InvitationError. */
export function decodeDeviceLink(code: string): DeviceLink {
  if (typeof code !== 'string' || !/^[A-Za-z0-9_-]+$/.test(code)) fail('malformed', 'a device link code is base64url text');
  const bytes = _fromBase64url(code);
  if (bytes.length !== CODE_LENGTH) fail('malformed', `a device link code is ${CODE_LENGTH} bytes`);
  if (bytes[0] !== VERSION) fail('unsupported-version', `device link version ${bytes[0]} is not supported`);
  const r = new _Reader(bytes, (m) => fail('malformed', m));
  r.u8();
  return { personId: r.take(32).slice(), groupId: r.take(16).slice(), secret: r.take(32).slice(), expiresAt: r.u64() };
}

/** The id a relay knows the link by: it reveals nothing of the secret. */
export function deviceLinkId(link: Pick<DeviceLink, 'groupId' | 'secret'>): Uint8Array {
  return hkdf(sha256, link.secret, link.groupId, ID_INFO, 16);
}

function key(link: Pick<DeviceLink, 'groupId' | 'secret'>): Uint8Array {
  return hkdf(sha256, link.secret, link.groupId, KEY_INFO, 32);
}

/** The new device's side: its certificate request (requestDeviceCertificate, for the link's person), sealed under the link. */
export function sealLinkRequest(link: DeviceLink, request: Uint8Array): Uint8Array {
  const parsed = _readDeviceCertificateRequest(request);
  if (!_equal(parsed.personId, link.personId)) throw new InvitationError('malformed', 'the request names another person than the link');
  return _sealRequest(key(link), _concat(AAD_LABEL, deviceLinkId(link)), request);
}

/**
 * The linking side: opens a sealed request and checks it (for the link's person, signed by
 * the device it names). Returns the certificate request, for certifyDevice. Throws
 * InvitationError (`bad-ciphertext`, `malformed`, `bad-signature`).
 */
export async function openLinkRequest(link: DeviceLink, sealed: Uint8Array): Promise<Uint8Array> {
  const request = _openRequest(key(link), _concat(AAD_LABEL, deviceLinkId(link)), sealed, 'link request');
  let parsed: ReturnType<typeof _readDeviceCertificateRequest>;
  try {
    parsed = _readDeviceCertificateRequest(request);
  } catch {
    return fail('malformed', 'the link request holds no device certificate request');
  }
  if (!_equal(parsed.personId, link.personId)) fail('malformed', 'the request names another person than the link');
  if (!(await parsed.verify())) fail('bad-signature', 'the request is not signed by the device it names');
  return request;
}
