/**
 * Document names: an app names its documents with strings ("notes/2026-12-06"), as it names
 * y-websocket rooms; the relay must not read them. A name becomes a 16-byte document id by
 * SHA-256 (FIPS 180-4) over a domain label, the group id and the name's UTF-8 bytes (in NFC): the same
 * name in two groups gives two ids, and an id reveals its name only to someone who guesses it
 * (the relay can test guesses: a name that must stay secret is a random one).
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { _bytes, _concat } from './bytes.js';
import { CryptoInputError } from './errors.js';
import { ID_LENGTH } from './keyring.js';

/** Longest document name, in UTF-8 bytes. */
export const MAX_DOCUMENT_NAME_BYTES = 1024;
const LABEL = new TextEncoder().encode('sealdoc/document-name/v1\0');
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The 16-byte document id of `name` in the group `groupId`. Throws CryptoInputError for an
 * empty or ill-formed name (a lone surrogate), one longer than {@link MAX_DOCUMENT_NAME_BYTES}, or a group id that is not 16 bytes.
 */
export function documentIdFromName(groupId: Uint8Array, name: string): Uint8Array {
  _bytes(groupId, 'groupId', ID_LENGTH);
  if (typeof name !== 'string' || name.length === 0) throw new CryptoInputError('a document name is a non-empty string');
  // A lone surrogate would encode as U+FFFD, so names that differ would share an id.
  if (LONE_SURROGATE.test(name)) throw new CryptoInputError('a document name is well-formed Unicode (no lone surrogate)');
  // One name, one id, however it was typed (é precomposed or as e and an accent).
  const bytes = new TextEncoder().encode(name.normalize('NFC'));
  if (bytes.length > MAX_DOCUMENT_NAME_BYTES) throw new CryptoInputError(`a document name is at most ${MAX_DOCUMENT_NAME_BYTES} bytes of UTF-8`);
  return sha256(_concat(LABEL, groupId, bytes)).slice(0, ID_LENGTH);
}
