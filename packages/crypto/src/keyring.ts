/**
 * Epoch secrets and the per-document keys derived from them.
 *
 * doc key = HKDF-SHA256(IKM = epoch secret, salt = doc id,
 *                       info = "sealdoc/v1/doc-key/" + purpose || group id || u32(epoch), 32)
 * with purpose one of update, snapshot, awareness (RFC 5869). Group id and epoch in `info`
 * are redundant with a fresh secret per epoch, and make a key impossible to confuse
 * across groups or epochs even if a secret were ever reused by mistake.
 * @module
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { CryptoInputError } from './errors.js';
import { _bytes, _concat, _equal, _hex, _int, _u32, _utf8, _wipe } from './bytes.js';

/** Length of group and document ids in bytes. */
export const ID_LENGTH = 16;
/** Length of an epoch secret in bytes. */
export const EPOCH_SECRET_LENGTH = 32;
/** Largest epoch number (epochs are u32 on the wire). */
export const MAX_EPOCH = 0xffffffff;

/** What a derived document key protects; each purpose has its own key. */
export type KeyPurpose = 'update' | 'snapshot' | 'awareness';

/** A fresh random 16-byte id for a group or a document. */
export function randomId(): Uint8Array {
  return randomBytes(ID_LENGTH);
}

const MAX_CACHED_DOC_KEYS = 4096;
const INFO_PREFIX: Record<KeyPurpose, Uint8Array> = {
  update: _utf8('sealdoc/v1/doc-key/update'),
  snapshot: _utf8('sealdoc/v1/doc-key/snapshot'),
  awareness: _utf8('sealdoc/v1/doc-key/awareness'),
};

function epochId(groupId: Uint8Array, epoch: number): string {
  return `${_hex(groupId)}:${epoch}`;
}

/**
 * The epoch secrets a device holds, for any number of groups, and a cache of the document
 * keys derived from them. Secrets are copied in and wiped on {@link Keyring.delete} and
 * {@link Keyring.wipe}; they are never enumerable on the object.
 */
export class Keyring {
  readonly #secrets = new Map<string, Uint8Array>();
  readonly #docKeys = new Map<string, Uint8Array>();

  /**
   * Stores the secret of (group, epoch). Adding the same secret again is a no-op; a
   * different secret for an epoch already held throws CryptoInputError (a fork, or a bug).
   */
  add(groupId: Uint8Array, epoch: number, secret: Uint8Array): void {
    _bytes(groupId, 'groupId', ID_LENGTH);
    _int(epoch, 'epoch', 0, MAX_EPOCH);
    _bytes(secret, 'secret', EPOCH_SECRET_LENGTH);
    const id = epochId(groupId, epoch);
    const held = this.#secrets.get(id);
    if (held) {
      if (!_equal(held, secret)) throw new CryptoInputError(`a different secret is already held for epoch ${epoch}`);
      return;
    }
    this.#secrets.set(id, secret.slice());
  }

  /** Whether the secret of (group, epoch) is held. */
  has(groupId: Uint8Array, epoch: number): boolean {
    return this.#secrets.has(epochId(groupId, epoch));
  }

  /** The epochs held for a group, ascending. */
  epochs(groupId: Uint8Array): number[] {
    const prefix = `${_hex(groupId)}:`;
    const out: number[] = [];
    for (const id of this.#secrets.keys()) if (id.startsWith(prefix)) out.push(Number(id.slice(prefix.length)));
    return out.sort((a, b) => a - b);
  }

  /** Forgets and wipes the secret of (group, epoch) and the keys derived from it. */
  delete(groupId: Uint8Array, epoch: number): void {
    const id = epochId(groupId, epoch);
    _wipe(this.#secrets.get(id));
    this.#secrets.delete(id);
    for (const [key, value] of this.#docKeys) {
      if (key.startsWith(`${id}:`)) {
        _wipe(value);
        this.#docKeys.delete(key);
      }
    }
  }

  /** Forgets and wipes everything. */
  wipe(): void {
    for (const s of this.#secrets.values()) _wipe(s);
    for (const k of this.#docKeys.values()) _wipe(k);
    this.#secrets.clear();
    this.#docKeys.clear();
  }

  /** @internal The epoch secret itself (not a copy), for sealing it into the next epoch's lineage. */
  _secret(groupId: Uint8Array, epoch: number): Uint8Array | undefined {
    return this.#secrets.get(epochId(groupId, epoch));
  }

  /** @internal The document key for a purpose, or undefined when the epoch is not held. */
  _docKey(groupId: Uint8Array, epoch: number, docId: Uint8Array, purpose: KeyPurpose): Uint8Array | undefined {
    const id = epochId(groupId, epoch);
    const cacheId = `${id}:${_hex(docId)}:${purpose}`;
    const cached = this.#docKeys.get(cacheId);
    if (cached) return cached;
    const secret = this.#secrets.get(id);
    if (!secret) return undefined;
    const key = hkdf(sha256, secret, docId, _concat(INFO_PREFIX[purpose], groupId, _u32(epoch)), 32);
    if (this.#docKeys.size >= MAX_CACHED_DOC_KEYS) {
      const [oldest, value] = this.#docKeys.entries().next().value!;
      _wipe(value);
      this.#docKeys.delete(oldest);
    }
    this.#docKeys.set(cacheId, key);
    return key;
  }
}
