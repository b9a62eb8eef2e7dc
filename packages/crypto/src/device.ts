/**
 * Devices: each device of a person holds key pairs of its own, made on the device, and a
 * certificate that binds them to the person. docs/membership.md ("Device certificates")
 * documents every byte.
 *
 * - The device signs first (a request: proof that whoever holds the device key agrees to act
 *   for this person), then the person's identity key (from the 24 words) signs the same
 *   bytes. No one can certify a key that is not theirs, nor claim a device for a person.
 * - A certificate is self-contained: any group log, any relay, checks it against the
 *   person's identity key alone.
 * - The identity key pair is itself the person's first device (device id = member id), which
 *   is how every member made before devices existed keeps working.
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { CryptoInputError, MembershipError } from './errors.js';
import { _bytes, _concat, _int, _Reader, _u64, _utf8 } from './bytes.js';
import { Identity, memberIdOf, _identitySecrets, _memberIdOfChecked } from './identity.js';
import { _assertAgreementPublicKey } from './primitives.js';
import { signMessage, verifyMessage } from './signature.js';

/** A device's certificate, decoded: who it acts for, its keys and its label. */
export interface DeviceCertificate {
  /** Member id of the person the device acts for. */
  personId: Uint8Array;
  /** 32-byte device id: {@link memberIdOf} the device's signing key. */
  deviceId: Uint8Array;
  /** 32-byte Ed25519 public key: the device signs envelopes, ops and hellos with it. */
  signingPublicKey: Uint8Array;
  /** 32-byte X25519 public key: epoch secrets are wrapped to it. */
  agreementPublicKey: Uint8Array;
  /** A name the person gave the device ("Laptop"), at most {@link MAX_DEVICE_LABEL_BYTES} bytes. */
  label: string;
  /** When the device asked to be certified, ms since 1970 (the device's clock; informative). */
  time: number;
  /** The certificate's bytes, as ops carry them. */
  bytes: Uint8Array;
}

/** The only certificate format version this code writes and reads. */
export const DEVICE_CERTIFICATE_VERSION = 1;
/** Longest device label, in UTF-8 bytes. */
export const MAX_DEVICE_LABEL_BYTES = 64;
const REQUEST_CONTEXT = 'device-request';
const CERTIFY_CONTEXT = 'device-certificate';
const SIGNATURE_LENGTH = 64;

/**
 * Fresh key pairs for a device (random, never derived from the words): made on the device,
 * they never leave it. Certify them with {@link requestDeviceCertificate} and {@link certifyDevice}.
 */
export function newDeviceKeys(): Identity {
  return new Identity(randomBytes(32), randomBytes(32));
}

/**
 * A device's secret keys as 64 bytes (Ed25519 seed · X25519 secret), to keep them sealed at
 * rest (core seals them under the device key). Secret: wipe the bytes once sealed.
 */
export function exportDeviceKeys(keys: Identity): Uint8Array {
  const s = _identitySecrets(keys);
  return _concat(s.signingSeed, s.agreementSecret);
}

/** The key pairs of 64 bytes from {@link exportDeviceKeys} (copied: wipe the input when done). */
export function importDeviceKeys(bytes: Uint8Array): Identity {
  _bytes(bytes, 'device keys', 64);
  return new Identity(bytes.slice(0, 32), bytes.slice(32, 64));
}

function checkLabel(label: string): Uint8Array {
  if (typeof label !== 'string') throw new CryptoInputError('label must be a string');
  // Control characters, and bidirectional overrides that would make a label read as another.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/u.test(label))
    throw new CryptoInputError('a device label has no control characters nor direction overrides');
  const bytes = _utf8(label.normalize('NFC'));
  if (bytes.length > MAX_DEVICE_LABEL_BYTES) throw new CryptoInputError(`a device label is at most ${MAX_DEVICE_LABEL_BYTES} bytes`);
  return bytes;
}

/**
 * What a new device sends to be certified: its public keys, `label`, and its signature over
 * them for `personId` (the member id of the person it will act for). Public: it holds no secret.
 */
export async function requestDeviceCertificate(device: Identity, personId: Uint8Array, label: string, now = Date.now()): Promise<Uint8Array> {
  if (!(device instanceof Identity)) throw new CryptoInputError('device must be an Identity');
  _bytes(personId, 'personId', 32);
  _int(now, 'now', 0, Number.MAX_SAFE_INTEGER);
  const labelBytes = checkLabel(label);
  const body = _concat(
    Uint8Array.of(DEVICE_CERTIFICATE_VERSION),
    personId,
    device.signingPublicKey,
    device.agreementPublicKey,
    _u64(now),
    Uint8Array.of(labelBytes.length),
    labelBytes,
  );
  return _concat(body, await signMessage(device, REQUEST_CONTEXT, body));
}

/**
 * The person's side: signs a device's request with the identity key, giving its certificate.
 * Checks the request first (format, the device's own signature, that it names this person);
 * throws MembershipError (`malformed`, `bad-key`, `bad-signature`, `wrong-person`).
 */
export async function certifyDevice(identity: Identity, request: Uint8Array): Promise<Uint8Array> {
  if (!(identity instanceof Identity)) throw new CryptoInputError('identity must be an Identity');
  const parsed = _readDeviceCertificateRequest(request);
  if (!parsed.personId.every((b, i) => b === identity.memberId[i])) fail('wrong-person', 'the request names another person');
  if (!(await parsed.verify())) fail('bad-signature', 'the device request is not signed by its device');
  return _concat(request, await signMessage(identity, CERTIFY_CONTEXT, parsed.body));
}

/** What a device's certificate request says (see {@link requestDeviceCertificate}): to show before certifying it. */
export type DeviceRequest = Omit<DeviceCertificate, 'bytes'>;

/** Parses a certificate request (the format only). Throws MembershipError (`malformed`, `unsupported-version`, `bad-key`). */
export function readDeviceRequest(request: Uint8Array): DeviceRequest {
  const { personId, deviceId, signingPublicKey, agreementPublicKey, label, time } = _readDeviceCertificateRequest(request);
  return { personId, deviceId, signingPublicKey, agreementPublicKey, label, time };
}

/** @internal A certificate request parsed, its signed body, and the check of the device's signature. */
export function _readDeviceCertificateRequest(request: Uint8Array): Body & { verify(): Promise<boolean> } {
  const r = new _Reader(_bytes(request, 'request'), (why) => fail('malformed', `device request ${why}`));
  const parsed = readBody(r, request);
  const deviceSignature = r.take(SIGNATURE_LENGTH);
  r.end();
  return { ...parsed, verify: () => verifyMessage(parsed.signingPublicKey, REQUEST_CONTEXT, parsed.body, deviceSignature) };
}

function fail(code: 'malformed' | 'bad-key' | 'bad-signature' | 'wrong-person', message: string): never {
  throw new MembershipError(code, message);
}

interface Body {
  personId: Uint8Array;
  signingPublicKey: Uint8Array;
  agreementPublicKey: Uint8Array;
  time: number;
  label: string;
  body: Uint8Array;
  deviceId: Uint8Array;
}

function readBody(r: _Reader, source: Uint8Array, checked = false): Body {
  const start = r.position;
  const version = r.u8();
  if (version !== DEVICE_CERTIFICATE_VERSION) throw new MembershipError('unsupported-version', `device certificate version ${version} is not supported`);
  const personId = r.take(32).slice();
  const signingPublicKey = r.take(32).slice();
  const agreementPublicKey = r.take(32).slice();
  const time = r.u64();
  const labelBytes = r.take(r.u8());
  let label: string;
  try {
    label = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(labelBytes);
    if (labelBytes.length > MAX_DEVICE_LABEL_BYTES || label !== label.normalize('NFC')) throw new Error('not canonical');
    checkLabel(label);
  } catch {
    fail('malformed', 'the device label is not valid');
  }
  let deviceId: Uint8Array;
  if (checked) deviceId = _memberIdOfChecked(signingPublicKey);
  else
    try {
      deviceId = memberIdOf(signingPublicKey);
      _assertAgreementPublicKey(agreementPublicKey);
    } catch (error) {
      if (error instanceof CryptoInputError) fail('bad-key', `a device key is invalid: ${error.message}`);
      throw error;
    }
  return { personId, signingPublicKey, agreementPublicKey, time, label, body: source.subarray(start, r.position), deviceId };
}

/**
 * @internal Reads a certificate at the reader's position (certificates are self-delimiting);
 * the format only, not the signatures (see {@link _verifyDeviceCertificate}). Keys are
 * checked unless `checked` says they were before.
 */
export function _readDeviceCertificate(r: _Reader, source: Uint8Array, checked = false): DeviceCertificate & { signatures: Uint8Array } {
  const start = r.position;
  const body = readBody(r, source, checked);
  const signatures = r.take(2 * SIGNATURE_LENGTH);
  const { personId, deviceId, signingPublicKey, agreementPublicKey, label, time } = body;
  return { personId, deviceId, signingPublicKey, agreementPublicKey, label, time, bytes: source.slice(start, r.position), signatures };
}

/** @internal Whether both signatures of a certificate hold: the device's, and the person's (`identityKey`). */
export async function _verifyDeviceCertificate(bytes: Uint8Array, identityKey: Uint8Array): Promise<boolean> {
  const r = new _Reader(bytes, (why) => fail('malformed', `device certificate ${why}`));
  const body = readBody(r, bytes, true);
  const deviceSignature = r.take(SIGNATURE_LENGTH);
  const identitySignature = r.take(SIGNATURE_LENGTH);
  r.end();
  const [device, identity] = await Promise.all([
    verifyMessage(body.signingPublicKey, REQUEST_CONTEXT, body.body, deviceSignature),
    verifyMessage(identityKey, CERTIFY_CONTEXT, body.body, identitySignature),
  ]);
  return device && identity;
}

/**
 * Parses a device certificate (the format only: not its signatures). Throws MembershipError
 * (`malformed`, `unsupported-version`, `bad-key`).
 */
export function readDeviceCertificate(bytes: Uint8Array): DeviceCertificate {
  const r = new _Reader(_bytes(bytes, 'certificate'), (why) => fail('malformed', `device certificate ${why}`));
  const { signatures: _, ...cert } = _readDeviceCertificate(r, bytes);
  r.end();
  return cert;
}
