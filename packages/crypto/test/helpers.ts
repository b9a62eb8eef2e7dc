// Shared by the crypto tests (Node and Chromium alike).
import { EnvelopeError, Identity, SealdocCryptoError, identityFromMnemonic, generateMnemonic, Keyring, randomId, sealEnvelope, type EnvelopeKind, type OpenContext } from '@sealdoc/crypto';

export function hex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export const utf8 = (text: string) => new TextEncoder().encode(text);

/** A fixed identity per name, so failures reproduce. */
export function testIdentity(name: string): Identity {
  const entropy = new Uint8Array(32);
  for (let i = 0; i < name.length; i++) entropy[i % 32]! ^= name.charCodeAt(i);
  return identityFromMnemonic(generateMnemonic(entropy));
}

/** One group at one epoch with an author, and an open context that knows the author. */
export function envelopeFixture(options: { role?: 'admin' | 'writer' | 'reader' } = {}) {
  const author = testIdentity('alice');
  const groupId = randomId();
  const docId = randomId();
  const keyring = new Keyring();
  keyring.add(groupId, 3, crypto.getRandomValues(new Uint8Array(32)));
  const head = crypto.getRandomValues(new Uint8Array(32));
  const ctx: OpenContext = {
    groupId,
    docId,
    keyring,
    author: (memberId, epoch) =>
      epoch === 3 && toHex(memberId) === toHex(author.memberId)
        ? { signingPublicKey: author.signingPublicKey, role: options.role ?? 'writer' }
        : undefined,
  };
  const seal = (plaintext: Uint8Array, kind: EnvelopeKind = 'update', seq = 1) =>
    sealEnvelope({ kind, groupId, docId, epoch: 3, seq, head, author, keyring, plaintext });
  return { author, groupId, docId, keyring, head, ctx, seal };
}

/** Asserts that `promise` rejects with an instance of `type` and returns its code. */
export async function errorCode(promise: Promise<unknown>, type: new (...args: never[]) => SealdocCryptoError): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof type) return error.code;
    throw new Error(`expected a ${type.name}, got ${String(error)}`);
  }
  throw new Error(`expected a ${type.name}, but the call succeeded`);
}

/** Asserts that `promise` rejects with an EnvelopeError and returns its code. */
export const envelopeErrorCode = (promise: Promise<unknown>) => errorCode(promise, EnvelopeError);

export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}
