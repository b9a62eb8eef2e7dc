/**
 * Passphrase-encrypted backup containers, documented byte by byte in docs/backup.md.
 *
 * key = scrypt(NFKC(passphrase), salt, N, r, p) (RFC 7914), parameters in the header with
 * a floor (N >= 2^15, r >= 8) and a ceiling (1 GiB of memory, p <= 16) so that neither a
 * weak nor a hostile file is accepted. The payload is PADMÉ-padded and sealed with
 * XChaCha20-Poly1305 under a per-file subkey, with a key commitment in the header (password
 * based encryption with a non-committing AEAD invites partitioning-oracle attacks, Len et
 * al. 2021). A SHA-256 checksum of the whole file tells accidental corruption apart from a
 * wrong passphrase before the slow key derivation runs.
 * @module
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { BackupError, CryptoInputError, type BackupErrorCode } from './errors.js';
import { _bytes, _concat, _equal, _Reader, _utf8, _wipe } from './bytes.js';
import { _committedKeys } from './commitment.js';
import { _pad, _unpad } from './padding.js';

const MAGIC = _utf8('SDBK');
/** The only backup format version this code writes and reads. */
export const BACKUP_VERSION = 1;
const KDF_SCRYPT = 1;
const SALT_LENGTH = 16;
const NONCE_LENGTH = 24;
const HASH_LENGTH = 32;
const HEADER_LENGTH = MAGIC.length + 1 + 1 + 3 + SALT_LENGTH + NONCE_LENGTH + HASH_LENGTH;
const MAX_MEMORY = 1024 * 1024 * 1024;

/** scrypt cost parameters: N = 2^logN. */
export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  logN: number;
  /** Block size. */
  r: number;
  /** Parallelism. */
  p: number;
}

/** Default cost: N = 2^17, r = 8, p = 1 (128 MiB), as OWASP recommends for scrypt. */
export const BACKUP_SCRYPT_DEFAULT: Readonly<ScryptParams> = Object.freeze({ logN: 17, r: 8, p: 1 });
/** The weakest cost accepted when sealing or opening: N = 2^15, r = 8, p = 1 (32 MiB). */
export const BACKUP_SCRYPT_MIN: Readonly<ScryptParams> = Object.freeze({ logN: 15, r: 8, p: 1 });

/** Options of {@link sealBackup} and {@link openBackup}. */
export interface BackupOptions {
  /** Cost of the key derivation when sealing; {@link BACKUP_SCRYPT_DEFAULT} by default. */
  scrypt?: ScryptParams;
  /** Called with the fraction done (0 to 1) while the key is derived, which takes seconds. */
  onProgress?: (fraction: number) => void;
}

function fail(code: BackupErrorCode, message: string): never {
  throw new BackupError(code, message);
}

function checkParams(params: ScryptParams): void {
  const { logN, r, p } = params;
  if (![logN, r, p].every((v) => Number.isInteger(v) && v >= 1 && v <= 255)) fail('malformed', 'scrypt parameters must be integers from 1 to 255');
  if (logN < BACKUP_SCRYPT_MIN.logN || r < BACKUP_SCRYPT_MIN.r || p < BACKUP_SCRYPT_MIN.p)
    fail('weak-parameters', `scrypt cost is below the floor N=2^${BACKUP_SCRYPT_MIN.logN}, r=${BACKUP_SCRYPT_MIN.r}`);
  if (logN > 30 || 128 * r * 2 ** logN > MAX_MEMORY || r > 32 || p > 16)
    fail('too-costly', 'scrypt cost exceeds 1 GiB of memory, r > 32 or p > 16');
}

function passphraseBytes(passphrase: string): Uint8Array {
  if (typeof passphrase !== 'string') throw new CryptoInputError('passphrase must be a string');
  const bytes = _utf8(passphrase.normalize('NFKC'));
  if (bytes.length === 0) fail('empty-passphrase', 'a backup needs a passphrase');
  return bytes;
}

async function deriveKey(passphrase: Uint8Array, salt: Uint8Array, params: ScryptParams, onProgress?: (f: number) => void): Promise<Uint8Array> {
  try {
    return await scryptAsync(passphrase, salt, {
      N: 2 ** params.logN,
      r: params.r,
      p: params.p,
      dkLen: 32,
      maxmem: MAX_MEMORY + 1024 * 1024,
      ...(onProgress ? { onProgress } : {}),
    });
  } finally {
    _wipe(passphrase);
  }
}

/** Encrypts `payload` under `passphrase` into a self-describing backup container. */
export async function sealBackup(payload: Uint8Array, passphrase: string, options: BackupOptions = {}): Promise<Uint8Array> {
  _bytes(payload, 'payload');
  const params = options.scrypt ?? BACKUP_SCRYPT_DEFAULT;
  checkParams(params);
  const salt = randomBytes(SALT_LENGTH);
  const nonce = randomBytes(NONCE_LENGTH);
  const key = await deriveKey(passphraseBytes(passphrase), salt, params, options.onProgress);
  const { subkey, commitment } = _committedKeys(key, nonce, 'backup');
  _wipe(key);
  const header = _concat(MAGIC, Uint8Array.of(BACKUP_VERSION, KDF_SCRYPT, params.logN, params.r, params.p), salt, nonce, commitment);
  const padded = _pad(payload);
  const body = _concat(header, xchacha20poly1305(subkey, nonce, header).encrypt(padded));
  _wipe(subkey, padded);
  return _concat(body, sha256(body));
}

/**
 * Decrypts a backup container. Throws BackupError: malformed, unsupported-version,
 * unsupported-kdf, corrupted (the checksum fails: damaged in storage or transit),
 * weak-parameters, too-costly, wrong-passphrase, tampered (authenticated data altered
 * by someone who also fixed the checksum).
 */
export async function openBackup(bytes: Uint8Array, passphrase: string, options: Pick<BackupOptions, 'onProgress'> = {}): Promise<Uint8Array> {
  if (!(bytes instanceof Uint8Array)) throw new CryptoInputError('backup must be a Uint8Array');
  const r = new _Reader(bytes, (why) => fail('malformed', `backup ${why}`));
  if (!_equal(r.take(MAGIC.length), MAGIC)) fail('malformed', 'not a Sealdoc backup file');
  const version = r.u8();
  if (version !== BACKUP_VERSION) fail('unsupported-version', `backup version ${version} is not supported`);
  if (r.u8() !== KDF_SCRYPT) fail('unsupported-kdf', 'backup uses an unknown key derivation');
  const params = { logN: r.u8(), r: r.u8(), p: r.u8() };
  const salt = r.take(SALT_LENGTH);
  const nonce = r.take(NONCE_LENGTH);
  const commitment = r.take(HASH_LENGTH);
  const ciphertextLength = r.remaining - HASH_LENGTH;
  if (ciphertextLength < 32) fail('malformed', 'backup is too short');
  const ciphertext = r.take(ciphertextLength);
  const checksum = r.take(HASH_LENGTH);
  r.end();
  if (!_equal(sha256(bytes.subarray(0, bytes.length - HASH_LENGTH)), checksum)) fail('corrupted', 'backup file is damaged (checksum mismatch)');
  checkParams(params);
  const pass = passphraseBytes(passphrase);
  const key = await deriveKey(pass, salt, params, options.onProgress);
  const { subkey, commitment: expected } = _committedKeys(key, nonce, 'backup');
  _wipe(key);
  try {
    if (!_equal(expected, commitment)) fail('wrong-passphrase', 'the passphrase does not open this backup');
    let padded: Uint8Array;
    try {
      padded = xchacha20poly1305(subkey, nonce, bytes.subarray(0, HEADER_LENGTH)).decrypt(ciphertext);
    } catch {
      fail('tampered', 'backup contents were altered');
    }
    const payload = _unpad(padded);
    if (!payload) fail('tampered', 'backup padding is invalid');
    return payload.slice();
  } finally {
    _wipe(subkey);
  }
}
