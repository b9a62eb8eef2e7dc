/**
 * Identities from a 24-word BIP39 phrase (BIP-0039, English wordlist).
 *
 * phrase --BIP39 (PBKDF2-HMAC-SHA512, 2048 rounds)--> 64-byte seed
 * seed --HKDF-SHA256 (RFC 5869), salt "sealdoc/v1/identity"--> one 32-byte key per label:
 *   info "sealdoc/v1/identity/ed25519" -> Ed25519 signing seed (RFC 8032)
 *   info "sealdoc/v1/identity/x25519"  -> X25519 agreement secret (RFC 7748)
 * member id = SHA-256("sealdoc/v1/member-id" || Ed25519 public key)
 *
 * The same words always give the same keys; docs/identity.md holds vectors so another
 * implementation can check itself.
 * @module
 */
import { entropyToMnemonic, mnemonicToEntropy, mnemonicToSeedSync } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { CryptoInputError, MnemonicError } from './errors.js';
import { _bytes, _concat, _utf8, _wipe } from './bytes.js';
import { _assertSigningPublicKey, _ed25519PublicKey, _forgetImported, _x25519PublicKey } from './primitives.js';

/** Number of words in a Sealdoc recovery phrase (256 bits of entropy). */
export const MNEMONIC_WORDS = 24;

const IDENTITY_SALT = _utf8('sealdoc/v1/identity');
const SIGNING_INFO = _utf8('sealdoc/v1/identity/ed25519');
const AGREEMENT_INFO = _utf8('sealdoc/v1/identity/x25519');
const MEMBER_ID_PREFIX = _utf8('sealdoc/v1/member-id');
const WORDS = new Set(wordlist);

/** The secret half of an identity, kept out of the object so it never shows in a log. */
interface IdentitySecrets {
  signingSeed: Uint8Array;
  agreementSecret: Uint8Array;
}
const secrets = new WeakMap<Identity, IdentitySecrets>();

/**
 * A member's keys. Public fields are safe to share; the secret keys are held out of sight
 * (not enumerable, not serialisable) and can be wiped with {@link Identity.wipe}.
 */
export class Identity {
  /** 32-byte member id: SHA-256 over a label and the signing public key. */
  readonly memberId: Uint8Array;
  /** 32-byte Ed25519 public key. */
  readonly signingPublicKey: Uint8Array;
  /** 32-byte X25519 public key, the address for HPKE key wraps. */
  readonly agreementPublicKey: Uint8Array;

  /** @internal Use {@link identityFromMnemonic}. */
  constructor(signingSeed: Uint8Array, agreementSecret: Uint8Array) {
    this.signingPublicKey = _ed25519PublicKey(signingSeed);
    this.agreementPublicKey = _x25519PublicKey(agreementSecret);
    this.memberId = memberIdOf(this.signingPublicKey);
    secrets.set(this, { signingSeed, agreementSecret });
  }

  /** True once {@link Identity.wipe} ran: the identity can no longer sign or unwrap. */
  get wiped(): boolean {
    return !secrets.has(this);
  }

  /** Overwrites the secret keys and forgets the key objects made of them (WebCrypto's, and node:crypto's in Node). */
  wipe(): void {
    const s = secrets.get(this);
    if (!s) return;
    _forgetImported(s.signingSeed, s.agreementSecret);
    _wipe(s.signingSeed, s.agreementSecret);
    secrets.delete(this);
  }
}

/** @internal The secret keys of an identity; throws if it was wiped. */
export function _identitySecrets(identity: Identity): IdentitySecrets {
  const s = identity instanceof Identity ? secrets.get(identity) : undefined;
  if (!s) throw new CryptoInputError('identity is not a live Identity (wiped or forged)');
  return s;
}

/** Member id of a signing public key: SHA-256("sealdoc/v1/member-id" || key). */
export function memberIdOf(signingPublicKey: Uint8Array): Uint8Array {
  _assertSigningPublicKey(signingPublicKey);
  return _memberIdOfChecked(signingPublicKey);
}

/** @internal The member id of a key checked before (no point decompression again). */
export function _memberIdOfChecked(signingPublicKey: Uint8Array): Uint8Array {
  return sha256(_concat(MEMBER_ID_PREFIX, signingPublicKey));
}

/**
 * A new 24-word recovery phrase. `entropy` (32 bytes) makes it deterministic, for tests
 * and for entropy from another source; by default it comes from the platform's CSPRNG.
 */
export function generateMnemonic(entropy?: Uint8Array): string {
  const bytes = entropy === undefined ? randomBytes(32) : _bytes(entropy, 'entropy', 32);
  try {
    return entropyToMnemonic(bytes, wordlist);
  } finally {
    if (entropy === undefined) _wipe(bytes);
  }
}

function normalize(words: string | readonly string[]): string[] {
  const text = typeof words === 'string' ? words : Array.isArray(words) ? words.join(' ') : undefined;
  if (text === undefined) throw new CryptoInputError('words must be a string or an array of strings');
  return text.normalize('NFKD').toLowerCase().trim().split(/\s+/u).filter((w) => w.length > 0);
}

/** Whether `word` is in the BIP39 English list (case and accents forgiven): for checking a phrase word by word as it is typed. */
export function isMnemonicWord(word: string): boolean {
  return WORDS.has(word.normalize('NFKD').toLowerCase().trim());
}

/**
 * Checks a phrase: exactly 24 words, each in the BIP39 English list, correct checksum.
 * Case and spacing are forgiven. Throws {@link MnemonicError}; the message names the
 * position of a bad word, never the word itself.
 */
export function validateMnemonic(words: string | readonly string[]): void {
  const list = normalize(words);
  if (list.length !== MNEMONIC_WORDS)
    throw new MnemonicError('bad-length', `a recovery phrase has ${MNEMONIC_WORDS} words, got ${list.length}`);
  const bad = list.findIndex((w) => !WORDS.has(w));
  if (bad >= 0) throw new MnemonicError('unknown-word', `word ${bad + 1} is not in the BIP39 English list`, bad);
  try {
    _wipe(mnemonicToEntropy(list.join(' '), wordlist));
  } catch {
    throw new MnemonicError('bad-checksum', 'the words are valid but the checksum does not match: a word is wrong or out of order');
  }
}

/** Options of {@link identityFromMnemonic}. */
export interface IdentityOptions {
  /** BIP39 passphrase (the "25th word"); empty by default. */
  passphrase?: string;
}

/**
 * The 64-byte BIP39 seed of a 24-word phrase (and optional BIP39 passphrase): what
 * {@link identityFromSeed} turns into keys. Secret: wipe it when done. Throws
 * {@link MnemonicError} for a wrong length, unknown word or bad checksum.
 */
export function seedFromMnemonic(words: string | readonly string[], options: IdentityOptions = {}): Uint8Array {
  validateMnemonic(words);
  const passphrase = options.passphrase ?? '';
  if (typeof passphrase !== 'string') throw new CryptoInputError('passphrase must be a string');
  return mnemonicToSeedSync(normalize(words).join(' '), passphrase);
}

/**
 * The identity of a BIP39 seed (see {@link seedFromMnemonic}), without the seed's slow
 * derivation from the words: for a device that keeps the seed under its device key.
 */
export function identityFromSeed(seed: Uint8Array): Identity {
  _bytes(seed, 'seed', 64);
  return new Identity(hkdf(sha256, seed, IDENTITY_SALT, SIGNING_INFO, 32), hkdf(sha256, seed, IDENTITY_SALT, AGREEMENT_INFO, 32));
}

/**
 * Derives an identity from a 24-word phrase, deterministically (see the module comment).
 * Throws {@link MnemonicError} for a wrong length, unknown word or bad checksum.
 */
export function identityFromMnemonic(words: string | readonly string[], options: IdentityOptions = {}): Identity {
  const seed = seedFromMnemonic(words, options);
  try {
    return identityFromSeed(seed);
  } finally {
    _wipe(seed);
  }
}
