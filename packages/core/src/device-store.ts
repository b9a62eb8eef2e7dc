/**
 * This device's own key pairs and certificate at rest, sealed under the device key, when it is
 * a certified device of its person (restored from the 24 words, or linked from another
 * device). A person's first device acts with the identity key itself and keeps no such record.
 *
 * Record (before sealing): u8 version (1) · device secret keys 64 (Ed25519 seed · X25519
 * secret) · person's Ed25519 key 32 · person's X25519 key 32 · the device certificate.
 * @module
 */
import { exportDeviceKeys, importDeviceKeys, readDeviceCertificate, type CertifiedDevice } from '@sealdoc/crypto';
import { AtRestError, type DeviceKey } from './device-key.js';
import type { Storage } from './storage.js';
import { DEVICE_KEY } from './storage-keys.js';

const CONTEXT = DEVICE_KEY.join('/');
const VERSION = 1;
const FIXED = 1 + 64 + 64;

/** Keeps a certified device in `storage`, sealed under `deviceKey`, replacing any. */
export async function saveDevice(storage: Storage, deviceKey: DeviceKey, device: CertifiedDevice): Promise<void> {
  const secrets = exportDeviceKeys(device.keys);
  const record = new Uint8Array(FIXED + device.certificate.length);
  record[0] = VERSION;
  record.set(secrets, 1);
  record.set(device.person.signingPublicKey, 65);
  record.set(device.person.agreementPublicKey, 97);
  record.set(device.certificate, FIXED);
  try {
    await storage.save(DEVICE_KEY, await deviceKey.seal(record, CONTEXT));
  } finally {
    secrets.fill(0);
    record.fill(0);
  }
}

/**
 * The certified device kept by {@link saveDevice}, or undefined when there is none. Throws
 * AtRestError when it cannot be opened (the device key is gone) or is not a record this
 * version wrote.
 */
export async function loadDevice(storage: Storage, deviceKey: DeviceKey): Promise<CertifiedDevice | undefined> {
  const sealed = await storage.load(DEVICE_KEY);
  if (!sealed) return undefined;
  const record = await deviceKey.open(sealed, CONTEXT);
  try {
    if (record.length <= FIXED || record[0] !== VERSION) throw new AtRestError('corrupt', 'the device record is not in a known format');
    const certificate = record.slice(FIXED);
    const keys = importDeviceKeys(record.subarray(1, 65));
    const cert = readDeviceCertificate(certificate);
    if (!cert.signingPublicKey.every((b, i) => b === keys.signingPublicKey[i])) throw new AtRestError('corrupt', 'the device record holds another device’s certificate');
    return { keys, certificate, person: { signingPublicKey: record.slice(65, 97), agreementPublicKey: record.slice(97, 129) } };
  } finally {
    record.fill(0);
  }
}
