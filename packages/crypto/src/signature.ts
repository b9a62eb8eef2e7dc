/**
 * Domain-separated Ed25519 signatures (RFC 8032, pure Ed25519).
 *
 * Every Sealdoc signature covers "sealdoc/v1/sig" || u8(len(context)) || context || message,
 * so a signature made for one purpose (an envelope, a membership op, a relay challenge)
 * can never be replayed as another.
 * @module
 */
import { CryptoInputError } from './errors.js';
import { _bytes, _concat, _utf8 } from './bytes.js';
import { _identitySecrets, type Identity } from './identity.js';
import { _ed25519Sign, _ed25519Verify, _ed25519VerifyNow } from './primitives.js';

const PREFIX = _utf8('sealdoc/v1/sig');

// What precedes the message for each context seen ("sealdoc/v1/sig" · u8 length · context): a
// few contexts are used over and over (every envelope), so each is encoded once; bounded, since
// a caller may pass any string.
const prefixes = new Map<string, Uint8Array>();
const MAX_PREFIXES = 32;

function prefixOf(context: string): Uint8Array {
  let prefix = prefixes.get(context);
  if (prefix) return prefix;
  if (typeof context !== 'string') throw new CryptoInputError('context must be a string');
  const label = _utf8(context);
  if (label.length === 0 || label.length > 255) throw new CryptoInputError('context must be 1 to 255 bytes');
  prefix = _concat(PREFIX, Uint8Array.of(label.length), label);
  if (prefixes.size < MAX_PREFIXES) prefixes.set(context, prefix);
  return prefix;
}

function signedBytes(context: string, message: Uint8Array): Uint8Array {
  return _concat(prefixOf(context), _bytes(message, 'message'));
}

/** Signs `message` for the purpose named by `context` (e.g. "relay-hello"); 64 bytes. */
export async function signMessage(identity: Identity, context: string, message: Uint8Array): Promise<Uint8Array> {
  return _ed25519Sign(_identitySecrets(identity).signingSeed, signedBytes(context, message));
}

/** True when `signature` is `publicKey`'s signature over `message` for `context`. */
export async function verifyMessage(publicKey: Uint8Array, context: string, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  return _verifyMessage(publicKey, context, message, signature);
}

/** @internal {@link verifyMessage}; `here` as _ed25519Verify takes it (where the check runs, not what it checks). */
export async function _verifyMessage(publicKey: Uint8Array, context: string, message: Uint8Array, signature: Uint8Array, here?: boolean): Promise<boolean> {
  return _ed25519Verify(signature, checkedSignedBytes(publicKey, context, message, signature), publicKey, here);
}

/** @internal {@link _verifyMessage} made now, where the calling thread can (_ed25519VerifyNow); undefined where it cannot. */
export function _verifyMessageNow(publicKey: Uint8Array, context: string, message: Uint8Array, signature: Uint8Array): boolean | undefined {
  return _ed25519VerifyNow(signature, checkedSignedBytes(publicKey, context, message, signature), publicKey);
}

/** What a signature over `message` for `context` covers, once the key and the signature are bytes (else CryptoInputError). */
function checkedSignedBytes(publicKey: Uint8Array, context: string, message: Uint8Array, signature: Uint8Array): Uint8Array {
  _bytes(publicKey, 'publicKey', 32);
  _bytes(signature, 'signature');
  return signedBytes(context, message);
}
