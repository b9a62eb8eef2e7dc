/**
 * Key commitment for XChaCha20-Poly1305 (the "UtC" transform of Bellare and Hoang,
 * "Efficient Schemes for Committing Authenticated Encryption", Eurocrypt 2022): from a key
 * and a nonce, derive a one-message AEAD subkey and a commitment, both HMAC-SHA256:
 *   subkey     = HMAC(key, "sealdoc/v1/<domain>-key"    || nonce)
 *   commitment = HMAC(key, "sealdoc/v1/<domain>-commit" || nonce)
 * HMAC-SHA256 is collision-resistant in its key, so a ciphertext carrying its commitment
 * opens under one key only; the opener compares commitments in constant time first.
 * @module
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { _native } from '#native';
import { _concat, _utf8 } from './bytes.js';

/** Where a commitment is used: envelopes and backups have their own labels. */
export type _CommitDomain = 'envelope' | 'backup';

const LABELS: Record<_CommitDomain, { subkey: Uint8Array; commit: Uint8Array }> = {
  envelope: { subkey: _utf8('sealdoc/v1/envelope-key'), commit: _utf8('sealdoc/v1/envelope-commit') },
  backup: { subkey: _utf8('sealdoc/v1/backup-key'), commit: _utf8('sealdoc/v1/backup-commit') },
};

export function _committedKeys(key: Uint8Array, nonce: Uint8Array, domain: _CommitDomain): { subkey: Uint8Array; commitment: Uint8Array } {
  const labels = LABELS[domain];
  // Natively where the platform has it (Node: a catch-up derives two per envelope); same bytes.
  if (_native) return { subkey: _native.hmacSha256(key, labels.subkey, nonce), commitment: _native.hmacSha256(key, labels.commit, nonce) };
  return {
    subkey: hmac(sha256, key, _concat(labels.subkey, nonce)),
    commitment: hmac(sha256, key, _concat(labels.commit, nonce)),
  };
}
