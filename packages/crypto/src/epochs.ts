/**
 * The key schedule of group epochs: what a membership op carries about its new epoch.
 *
 * - Every epoch secret is 32 fresh random bytes, never derived from an earlier one.
 * - commitment = HMAC-SHA256(secret, "sealdoc/v1/epoch-commit" || group id || u32(epoch)):
 *   public, lets every member check that the secret it unwrapped is the one everyone got
 *   (an admin cannot hand different members different secrets unnoticed).
 * - wrap = HPKE (RFC 9180) seal of the secret to a member's X25519 key, with
 *   info = "sealdoc/v1/epoch-wrap" || group id || u32(epoch) || member id: 80 bytes (enc 32,
 *   ciphertext 48).
 * - lineage = XChaCha20-Poly1305 of the previous epoch's secret under key and nonce from
 *   HKDF-SHA256(new secret, salt = group id, info = "sealdoc/v1/lineage" || u32(epoch), 56),
 *   aad = group id || u32(epoch): 48 bytes. The new secret opens the old one, never the
 *   reverse, so holding an old secret gives nothing newer. The key is used once.
 * @module
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { _native } from '#native';
import { _concat, _equal, _u32, _utf8, _wipe } from './bytes.js';
import { HpkeError } from './errors.js';
import { _hpkeSealToMany, hpkeOpen, hpkeSeal, type HpkeRecipient } from './hpke.js';
import { _backendChoice } from './primitives.js';
import { _wrapInWorkers, _wrapWorkersServe } from './wrap-pool.js';

export const _WRAP_LENGTH = 80;
export const _LINEAGE_LENGTH = 48;
const COMMIT_LABEL = _utf8('sealdoc/v1/epoch-commit');
const WRAP_LABEL = _utf8('sealdoc/v1/epoch-wrap');
const LINEAGE_LABEL = _utf8('sealdoc/v1/lineage');

export function _epochCommitment(secret: Uint8Array, groupId: Uint8Array, epoch: number): Uint8Array {
  return hmac(sha256, secret, _concat(COMMIT_LABEL, groupId, _u32(epoch)));
}

export function _checkEpochSecret(secret: Uint8Array, groupId: Uint8Array, epoch: number, commitment: Uint8Array): boolean {
  return _equal(_epochCommitment(secret, groupId, epoch), commitment);
}

function wrapInfo(groupId: Uint8Array, epoch: number, memberId: Uint8Array): Uint8Array {
  return _concat(WRAP_LABEL, groupId, _u32(epoch), memberId);
}

/** Seals `secret` to one member: enc || ciphertext, 80 bytes. */
export async function _wrapSecret(secret: Uint8Array, groupId: Uint8Array, epoch: number, memberId: Uint8Array, agreementPublicKey: Uint8Array): Promise<Uint8Array> {
  const { enc, ciphertext } = await hpkeSeal(agreementPublicKey, secret, { info: wrapInfo(groupId, epoch, memberId) });
  return _concat(enc, ciphertext);
}

/** A device an epoch secret is wrapped to. */
export interface _WrapRecipient {
  id: Uint8Array;
  agreementPublicKey: Uint8Array;
}

/** Recipients as the native backend and the wrap workers take them: n × (device id 32 · X25519 public key 32). */
export function _packRecipients(recipients: readonly _WrapRecipient[]): Uint8Array {
  const packed = new Uint8Array(recipients.length * 64);
  recipients.forEach((r, i) => {
    packed.set(r.id, i * 64);
    packed.set(r.agreementPublicKey, i * 64 + 32);
  });
  return packed;
}

/** The inverse of {@link _packRecipients}. */
export function _unpackRecipients(packed: Uint8Array): _WrapRecipient[] {
  return Array.from({ length: packed.length / 64 }, (_, i) => ({ id: packed.subarray(i * 64, i * 64 + 32), agreementPublicKey: packed.subarray(i * 64 + 32, i * 64 + 64) }));
}

/**
 * The wraps of `secret` to each recipient, in their order: n × 80 bytes. Where no backend was
 * forced: a large op in a pool of worker threads where the platform has them (wrap-pool.ts: Web
 * Workers in a browser, worker_threads in Node), else on the platform's native backend (Node),
 * else, or when no worker starts, on this thread ({@link _wrapSecretsHere}).
 */
export async function _wrapSecrets(secret: Uint8Array, groupId: Uint8Array, epoch: number, recipients: readonly _WrapRecipient[], inFlight: number): Promise<Uint8Array> {
  const info = wrapInfo(groupId, epoch, new Uint8Array(0));
  if (_backendChoice() === 'auto') {
    if (_wrapWorkersServe(recipients.length)) {
      const made = await _wrapInWorkers(secret, info, _packRecipients(recipients));
      if (made) return made;
    }
    if (_native) return _native.wrapAll(secret, info, _packRecipients(recipients));
  }
  return _wrapSecretsHere(secret, info, recipients, inFlight);
}

/**
 * The wraps of `secret` to each recipient on this thread, with HPKE info `info` || device id,
 * at most `inFlight` agreements at once (all by default): the bytes of one {@link _wrapSecret}
 * each, made in one batch (hpke.ts `_hpkeSealToMany`).
 */
export async function _wrapSecretsHere(secret: Uint8Array, info: Uint8Array, recipients: readonly _WrapRecipient[], inFlight = recipients.length): Promise<Uint8Array> {
  return _hpkeSealToMany(
    recipients.map((r) => r.agreementPublicKey),
    info,
    recipients.map((r) => r.id),
    secret,
    inFlight,
  );
}

/** Opens a wrap addressed to `memberId`; undefined when it does not open. */
export async function _unwrapSecret(wrap: Uint8Array, groupId: Uint8Array, epoch: number, memberId: Uint8Array, recipient: HpkeRecipient): Promise<Uint8Array | undefined> {
  try {
    return await hpkeOpen(recipient, { enc: wrap.subarray(0, 32), ciphertext: wrap.subarray(32) }, { info: wrapInfo(groupId, epoch, memberId) });
  } catch (error) {
    if (error instanceof HpkeError) return undefined;
    throw error;
  }
}

function lineageCipher(secret: Uint8Array, groupId: Uint8Array, epoch: number) {
  const okm = hkdf(sha256, secret, groupId, _concat(LINEAGE_LABEL, _u32(epoch)), 56);
  const cipher = xchacha20poly1305(okm.subarray(0, 32), okm.subarray(32), _concat(groupId, _u32(epoch)));
  return { cipher, okm };
}

/** Seals the previous epoch's secret under the new one (epoch = the new epoch). */
export function _sealLineage(newSecret: Uint8Array, previousSecret: Uint8Array, groupId: Uint8Array, epoch: number): Uint8Array {
  const { cipher, okm } = lineageCipher(newSecret, groupId, epoch);
  try {
    return cipher.encrypt(previousSecret);
  } finally {
    _wipe(okm);
  }
}

/** The previous epoch's secret from the new one; undefined when the lineage does not open. */
export function _openLineage(newSecret: Uint8Array, lineage: Uint8Array, groupId: Uint8Array, epoch: number): Uint8Array | undefined {
  const { cipher, okm } = lineageCipher(newSecret, groupId, epoch);
  try {
    return cipher.decrypt(lineage);
  } catch {
    return undefined;
  } finally {
    _wipe(okm);
  }
}
