/**
 * Invitations: an admin hands someone a link whose fragment holds a fresh random secret; the
 * invitee sends its public keys back sealed under a key derived from that secret, through a
 * relay that sees only the invitation's id (also derived from the secret) and ciphertext.
 *
 *   code    = base64url( u8 version 1 · group id 16 · secret 32 · u64 expires-at (ms) · u8 role )
 *   id      = HKDF-SHA256(secret, salt = group id, info = "sealdoc/invite/id/v1", 16)
 *   key     = HKDF-SHA256(secret, salt = group id, info = "sealdoc/invite/key/v1", 32)
 *   request = nonce 24 · XChaCha20-Poly1305(key, nonce, aad = "sealdoc/invite/request/v1" · id,
 *               u8 version 1 · signing key 32 · agreement key 32 · u8 name length · name (UTF-8)
 *               · Ed25519 signature 64 under the context "invite-request" over id · keys · name)
 *   From a certified device (version 2): u8 version 2 · the person's signing key 32 · agreement
 *               key 32 · u16 certificate length · the device's certificate · u8 name length ·
 *               name · the device's signature 64 ("invite-request") over id · keys · certificate · name
 *
 * The signature proves the requester holds the signing key it sends (its identity's, or its
 * device's, whose certificate binds it to the person). Whoever holds the link
 * can ask to join: the admin decides, comparing the safety code both sides show
 * ({@link safetyCode}) over another channel. Documented in docs/invitation.md.
 * @module
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { _bytes, _concat, _equal, _Reader, _u16, _u64, _utf8, toHex } from './bytes.js';
import { _verifyDeviceCertificate, readDeviceCertificate, type DeviceCertificate } from './device.js';
import { _actor, type Actor } from './membership-build.js';
import { SealdocCryptoError } from './errors.js';
import { memberIdOf } from './identity.js';
import type { MemberRole } from './envelope.js';
import type { MemberKeys } from './membership-op.js';
import { signMessage, verifyMessage } from './signature.js';

/** Why an invitation or a join request was refused. */
export type InvitationErrorCode = 'malformed' | 'unsupported-version' | 'bad-ciphertext' | 'bad-signature';

/** A malformed invitation code, or a join request that does not open or verify. */
export class InvitationError extends SealdocCryptoError<InvitationErrorCode> {}

/** What an invitation code holds. Secret: whoever holds it may ask to join. */
export interface Invitation {
  groupId: Uint8Array;
  secret: Uint8Array;
  /** When it stops being accepted, ms since 1970. */
  expiresAt: number;
  /** The role the invitee is offered. */
  role: MemberRole;
}

/** A join request, opened and verified. */
export interface JoinRequest {
  /** The person's identity keys. */
  keys: MemberKeys;
  /** The person's member id. */
  memberId: Uint8Array;
  /** The device that asked (the member id, for a person's first device). */
  deviceId: Uint8Array;
  /** Certificates of the person's devices to add with it (the asking device's, when certified). */
  devices: Uint8Array[];
  /** The name the requester gave (its own word: check the safety code). */
  name: string;
}

const VERSION = 1;
const ROLES: MemberRole[] = ['admin', 'writer', 'reader'];
const ID_INFO = _utf8('sealdoc/invite/id/v1');
const KEY_INFO = _utf8('sealdoc/invite/key/v1');
const AAD_LABEL = _utf8('sealdoc/invite/request/v1');
const REQUEST_CONTEXT = 'invite-request';
const NONCE = 24;
const MAX_NAME_BYTES = 100;

const fail = (code: InvitationErrorCode, message: string): never => {
  throw new InvitationError(code, message);
};

/** A new invitation to `groupId` for `role`, valid for `validForMs` (default 7 days). */
export function createInvitation(groupId: Uint8Array, role: MemberRole, validForMs = 7 * 24 * 3600 * 1000): Invitation {
  _bytes(groupId, 'groupId', 16);
  if (!ROLES.includes(role)) throw new InvitationError('malformed', 'unknown role');
  return { groupId: groupId.slice(), secret: randomBytes(32), expiresAt: Date.now() + validForMs, role };
}

/** The invitation as text for a link's fragment (never its path or query: the fragment is not sent to servers). */
export function encodeInvitation(invitation: Invitation): string {
  const bytes = _concat(Uint8Array.of(VERSION), _bytes(invitation.groupId, 'groupId', 16), _bytes(invitation.secret, 'secret', 32), _u64(invitation.expiresAt), Uint8Array.of(ROLES.indexOf(invitation.role)));
  return _base64url(bytes);
}

/** Reads an invitation code (as {@link encodeInvitation} wrote it); throws InvitationError. */
export function decodeInvitation(code: string): Invitation {
  if (typeof code !== 'string' || !/^[A-Za-z0-9_-]+$/.test(code)) fail('malformed', 'an invitation code is base64url text');
  const bytes = _fromBase64url(code);
  if (bytes.length !== 58) fail('malformed', 'an invitation code is 58 bytes');
  if (bytes[0] !== VERSION) fail('unsupported-version', `invitation version ${bytes[0]} is not supported`);
  const r = new _Reader(bytes, (m) => fail('malformed', m));
  r.u8();
  const groupId = r.take(16).slice();
  const secret = r.take(32).slice();
  const expiresAt = r.u64();
  const role = ROLES[r.u8()] ?? fail('malformed', 'unknown role');
  return { groupId, secret, expiresAt, role };
}

/** The id a relay knows the invitation by: it reveals nothing of the secret. */
export function invitationId(invitation: Pick<Invitation, 'groupId' | 'secret'>): Uint8Array {
  return hkdf(sha256, invitation.secret, invitation.groupId, ID_INFO, 16);
}

function requestKey(invitation: Pick<Invitation, 'groupId' | 'secret'>): Uint8Array {
  return hkdf(sha256, invitation.secret, invitation.groupId, KEY_INFO, 32);
}

function signedPart(id: Uint8Array, keys: MemberKeys, name: Uint8Array, certificate?: Uint8Array): Uint8Array {
  const cert = certificate ? _concat(_u16(certificate.length), certificate) : new Uint8Array(0);
  return _concat(id, keys.signingPublicKey, keys.agreementPublicKey, cert, Uint8Array.of(name.length), name);
}

/**
 * The invitee's sealed request: its person's public keys and name, signed, under the
 * invitation's key; from a certified device, with the device's certificate, signed by it.
 */
export async function sealJoinRequest(invitation: Invitation, signer: Actor, name: string): Promise<Uint8Array> {
  const nameBytes = _utf8(name.normalize('NFC').trim()).slice(0, MAX_NAME_BYTES);
  const id = invitationId(invitation);
  const actor = _actor(signer);
  const keys = { signingPublicKey: actor.person.signingPublicKey, agreementPublicKey: actor.person.agreementPublicKey };
  const signed = signedPart(id, keys, nameBytes, actor.certificate?.bytes);
  const signature = await signMessage(actor.keys, REQUEST_CONTEXT, signed);
  const plaintext = _concat(Uint8Array.of(actor.certificate ? 2 : VERSION), signed.subarray(16), signature);
  return _sealRequest(requestKey(invitation), _concat(AAD_LABEL, id), plaintext);
}

/**
 * @internal A request sealed under a one-time key (an invitation's, a device link's): nonce 24 ·
 * XChaCha20-Poly1305(key, nonce, aad, plaintext). The key is wiped.
 */
export function _sealRequest(key: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE);
  try {
    return _concat(nonce, xchacha20poly1305(key, nonce, aad).encrypt(plaintext));
  } finally {
    key.fill(0);
  }
}

/** @internal Opens what {@link _sealRequest} sealed; throws InvitationError (`malformed`, `bad-ciphertext`). The key is wiped. */
export function _openRequest(key: Uint8Array, aad: Uint8Array, sealed: Uint8Array, what: string): Uint8Array {
  try {
    _bytes(sealed, 'request');
    if (sealed.length < NONCE + 16) fail('malformed', `a ${what} is too short`);
    try {
      return xchacha20poly1305(key, sealed.subarray(0, NONCE), aad).decrypt(sealed.subarray(NONCE));
    } catch {
      return fail('bad-ciphertext', `the ${what} does not open with this code`);
    }
  } finally {
    key.fill(0);
  }
}

/** Opens and verifies a join request; throws InvitationError. */
export async function openJoinRequest(invitation: Invitation, request: Uint8Array): Promise<JoinRequest> {
  const id = invitationId(invitation);
  const plaintext = _openRequest(requestKey(invitation), _concat(AAD_LABEL, id), request, 'join request');
  const r = new _Reader(plaintext, (m) => fail('malformed', m));
  const version = r.u8();
  if (version !== VERSION && version !== 2) fail('unsupported-version', `join request version ${version} is not supported`);
  const keys = { signingPublicKey: r.take(32).slice(), agreementPublicKey: r.take(32).slice() };
  const certificate = version === 2 ? r.take(r.u16()).slice() : undefined;
  const nameBytes = r.take(r.u8()).slice();
  const signature = r.take(64).slice();
  r.end();
  let name: string;
  try {
    name = new TextDecoder('utf-8', { fatal: true }).decode(nameBytes);
  } catch {
    return fail('malformed', 'the name is not UTF-8');
  }
  let memberId: Uint8Array;
  try {
    memberId = memberIdOf(keys.signingPublicKey);
  } catch {
    return fail('malformed', 'the signing key is not a valid Ed25519 key');
  }
  let signingKey: Uint8Array = keys.signingPublicKey;
  let deviceId: Uint8Array = memberId;
  if (certificate) {
    let cert: DeviceCertificate;
    try {
      cert = readDeviceCertificate(certificate);
    } catch {
      return fail('malformed', 'the device certificate does not parse');
    }
    if (!_equal(cert.personId, memberId) || !(await _verifyDeviceCertificate(certificate, keys.signingPublicKey).catch(() => false)))
      fail('bad-signature', 'the device certificate is not the person’s');
    signingKey = cert.signingPublicKey;
    deviceId = cert.deviceId;
  }
  if (!(await verifyMessage(signingKey, REQUEST_CONTEXT, signedPart(id, keys, nameBytes, certificate), signature).catch(() => false)))
    fail('bad-signature', 'the join request is not signed by the key it carries');
  return { keys, memberId, deviceId, devices: certificate ? [certificate] : [], name };
}

/**
 * A short code both sides can read aloud to be sure the request the admin sees is the one
 * the invitee sent: 5 groups of 4 hex digits of the member id.
 */
export function safetyCode(memberId: Uint8Array): string {
  return toHex(memberId.subarray(0, 10)).match(/.{4}/g)!.join(' ');
}

/** @internal Base64url without padding (invitation and device link codes). */
export function _base64url(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** @internal The bytes of base64url text; throws InvitationError('malformed'). */
export function _fromBase64url(text: string): Uint8Array {
  try {
    const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return fail('malformed', 'an invitation code is base64url text');
  }
}
