/**
 * This device's identity at rest, sealed under the device key: the 24 words (to show them
 * again) and the BIP39 seed (so that opening needs no slow derivation from the words, and a
 * BIP39 passphrase is kept with them). The store alone (a copied disk, a synced profile) does
 * not give the identity away.
 *
 * Record (before sealing): u8 version (1) · seed 64 · the words in UTF-8 (NFKD).
 * @module
 */
import { identityFromSeed, seedFromMnemonic, type Identity, type IdentityOptions } from '@sealdoc/crypto';
import { AtRestError, type DeviceKey } from './device-key.js';
import type { Storage } from './storage.js';
import { IDENTITY_KEY } from './storage-keys.js';

const CONTEXT = IDENTITY_KEY.join('/');
const VERSION = 1;
const SEED_LENGTH = 64;

/**
 * Keeps the identity of `mnemonic` (and BIP39 `options.passphrase`) in `storage`, sealed
 * under `deviceKey`, replacing any. Throws MnemonicError for a bad phrase.
 */
export async function saveIdentity(storage: Storage, deviceKey: DeviceKey, mnemonic: string, options: IdentityOptions = {}): Promise<Identity> {
  const seed = seedFromMnemonic(mnemonic, options);
  const words = new TextEncoder().encode(mnemonic.normalize('NFKD'));
  const record = new Uint8Array(1 + SEED_LENGTH + words.length);
  record[0] = VERSION;
  record.set(seed, 1);
  record.set(words, 1 + SEED_LENGTH);
  try {
    await storage.save(IDENTITY_KEY, await deviceKey.seal(record, CONTEXT));
    return identityFromSeed(seed);
  } finally {
    seed.fill(0);
    words.fill(0);
    record.fill(0);
  }
}

/**
 * The identity kept by {@link saveIdentity} with its words, or undefined when there is none.
 * Throws AtRestError when it cannot be opened (the device key is gone: restore from the
 * words or a backup) or is not a record this version wrote.
 */
export async function loadIdentity(storage: Storage, deviceKey: DeviceKey): Promise<{ identity: Identity; mnemonic: string } | undefined> {
  const sealed = await storage.load(IDENTITY_KEY);
  if (!sealed) return undefined;
  const record = await deviceKey.open(sealed, CONTEXT);
  try {
    if (record.length <= 1 + SEED_LENGTH || record[0] !== VERSION) throw new AtRestError('corrupt', 'the identity record is not in a known format');
    return { identity: identityFromSeed(record.subarray(1, 1 + SEED_LENGTH)), mnemonic: new TextDecoder().decode(record.subarray(1 + SEED_LENGTH)) };
  } finally {
    record.fill(0);
  }
}

/** Deletes the identity kept in `storage`. */
export function forgetIdentity(storage: Storage): Promise<void> {
  return storage.remove(IDENTITY_KEY);
}
