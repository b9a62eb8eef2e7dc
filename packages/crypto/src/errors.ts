/**
 * Typed errors of @sealdoc/crypto. Every failure a caller can act on is one of these
 * classes with a string `code`; messages never contain key bytes, passphrases or words
 * of a recovery phrase.
 * @module
 */

/** Base class of every error this package throws on purpose. */
export class SealdocCryptoError<C extends string = string> extends Error {
  /** Machine-readable reason; stable across versions. */
  readonly code: C;
  constructor(code: C, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Why a recovery phrase was refused. */
export type MnemonicErrorCode = 'bad-length' | 'unknown-word' | 'bad-checksum';

/** A recovery phrase that is not 24 valid BIP39 English words with a correct checksum. */
export class MnemonicError extends SealdocCryptoError<MnemonicErrorCode> {
  /** Zero-based position of the first unknown word, for `unknown-word`. */
  readonly index: number | undefined;
  constructor(code: MnemonicErrorCode, message: string, index?: number) {
    super(code, message);
    this.index = index;
  }
}

/** Why an HPKE operation failed. */
export type HpkeErrorCode = 'bad-key' | 'bad-encapsulation' | 'open-failed' | 'bad-length';

/** RFC 9180 HPKE failure: a malformed key or encapsulation, or a ciphertext that does not open. */
export class HpkeError extends SealdocCryptoError<HpkeErrorCode> {}

/** Why an envelope was refused. */
export type EnvelopeErrorCode =
  | 'malformed'
  | 'unsupported-version'
  | 'too-large'
  | 'wrong-group'
  | 'wrong-doc'
  | 'wrong-kind'
  | 'not-a-member'
  | 'not-a-writer'
  | 'unknown-head'
  | 'wrong-epoch'
  | 'past-cutoff'
  | 'unknown-epoch'
  | 'bad-signature'
  | 'bad-ciphertext';

/** A sealed envelope that cannot be accepted. Opening one changes no state. */
export class EnvelopeError extends SealdocCryptoError<EnvelopeErrorCode> {}

/** Why a membership op or log was refused. */
export type MembershipErrorCode =
  | 'malformed'
  | 'unsupported-version'
  | 'wrong-group'
  | 'not-genesis'
  | 'bad-signature'
  | 'not-admin'
  | 'stale-head'
  | 'unknown-predecessor'
  | 'truncated'
  | 'duplicate'
  | 'fork'
  | 'bad-epoch'
  | 'bad-key'
  | 'already-member'
  | 'not-a-member'
  | 'last-admin'
  | 'bad-wraps'
  | 'bad-secret'
  | 'missing-secret'
  | 'wrong-person'
  | 'not-a-device'
  | 'device-revoked'
  | 'too-many-devices'
  | 'bad-cutoffs';

/**
 * A membership op or log that cannot be accepted. Applying one changes no state. For
 * `stale-head` and `fork`, `ops` names the hashes involved (hex): the incoming op first.
 */
export class MembershipError extends SealdocCryptoError<MembershipErrorCode> {
  /** Hex hashes of the ops involved, for `stale-head` and `fork`. */
  readonly ops: readonly string[];
  constructor(code: MembershipErrorCode, message: string, ops: readonly string[] = []) {
    super(code, message);
    this.ops = ops;
  }
}

/** Why a backup container was refused. */
export type BackupErrorCode =
  | 'malformed'
  | 'unsupported-version'
  | 'unsupported-kdf'
  | 'weak-parameters'
  | 'too-costly'
  | 'corrupted'
  | 'wrong-passphrase'
  | 'tampered'
  | 'empty-passphrase';

/** A backup that cannot be sealed or opened. */
export class BackupError extends SealdocCryptoError<BackupErrorCode> {}

/** An argument of the wrong type, length or range, caught at the package boundary. */
export class CryptoInputError extends SealdocCryptoError<'bad-input'> {
  constructor(message: string) {
    super('bad-input', message);
  }
}

/** Why the wrap workers could not finish a membership op's wraps. */
export type WrapWorkerErrorCode = 'worker-failed' | 'worker-timeout';

/**
 * A Web Worker making a large op's epoch wraps failed (`worker-failed`: it raised an error or
 * could not read its task) or stopped answering (`worker-timeout`). The op is not built and
 * nothing changed; the worker is replaced, so building the op again may succeed.
 */
export class WrapWorkerError extends SealdocCryptoError<WrapWorkerErrorCode> {}
