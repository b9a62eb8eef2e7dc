/**
 * This device's identity at rest: its 24 words, sealed under the device key, so that the
 * store alone (a copied disk, a synced profile) does not give the identity away.
 * @module
 */
import { identityFromMnemonic, type Identity } from '@sealdoc/crypto';
import type { DeviceKey } from './device-key.js';
import type { Storage } from './storage.js';

const KEY = ['identity'];
const CONTEXT = KEY.join('/');

/** Keeps the identity of `mnemonic` in `storage`, sealed under `deviceKey` (replacing any). */
export async function saveIdentity(storage: Storage, deviceKey: DeviceKey, mnemonic: string): Promise<Identity> {
  const identity = identityFromMnemonic(mnemonic); // validates the words first
  const words = new TextEncoder().encode(mnemonic.normalize('NFKD'));
  try {
    await storage.save(KEY, await deviceKey.seal(words, CONTEXT));
  } finally {
    words.fill(0);
  }
  return identity;
}

/**
 * The identity kept by {@link saveIdentity}, or undefined when there is none. Throws
 * AtRestError when it cannot be opened (the device key is gone: restore from the words or a
 * backup), MnemonicError when what opened is not a valid phrase.
 */
export async function loadIdentity(storage: Storage, deviceKey: DeviceKey): Promise<{ identity: Identity; mnemonic: string } | undefined> {
  const sealed = await storage.load(KEY);
  if (!sealed) return undefined;
  const words = await deviceKey.open(sealed, CONTEXT);
  try {
    const mnemonic = new TextDecoder().decode(words);
    return { identity: identityFromMnemonic(mnemonic), mnemonic };
  } finally {
    words.fill(0);
  }
}

/** Deletes the identity kept in `storage`. */
export function forgetIdentity(storage: Storage): Promise<void> {
  return storage.remove(KEY);
}
