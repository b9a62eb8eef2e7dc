// Shared by the crypto tests (Node and Chromium alike).
import { sha256 } from '@noble/hashes/sha2.js';
import { EnvelopeError, Identity, SealdocCryptoError, identityFromMnemonic, generateMnemonic, Keyring, randomId, sealEnvelope, signMessage, type EnvelopeKind, type OpenContext } from '@sealdoc/crypto';

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
    author: ({ author: memberId, epoch }) =>
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

export { prng } from '../../../test/support/prng.js';

const OP_LABEL = utf8('sealdoc/v1/op');

/** The op hash of docs/membership.md: SHA-256("sealdoc/v1/op" || op bytes). */
export function opHash(bytes: Uint8Array): Uint8Array {
  return sha256(new Uint8Array([...OP_LABEL, ...bytes]));
}

/**
 * Writes an op byte by byte as docs/membership.md describes, signed by `signer`: lets tests
 * build ops the builders refuse to make (a cheating or careless admin).
 */
export async function rawOp(fields: {
  type: 'create' | 'add' | 'remove' | 'set-role' | 'rotate';
  groupId: Uint8Array;
  prev: Uint8Array;
  epoch: number;
  signer: Identity;
  author?: Uint8Array;
  time?: number;
  body: Uint8Array;
  keys?: Uint8Array;
}): Promise<Uint8Array> {
  const u32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  const time = fields.time ?? 1_700_000_000_000;
  const u64 = [...u32(Math.floor(time / 2 ** 32)), ...u32(time >>> 0)];
  const code = { create: 1, add: 2, remove: 3, 'set-role': 4, rotate: 5 }[fields.type];
  const signed = new Uint8Array([
    1, code, ...fields.groupId, ...fields.prev, ...u32(fields.epoch), ...(fields.author ?? fields.signer.memberId), ...u64, ...fields.body, ...(fields.keys ?? []),
  ]);
  return new Uint8Array([...signed, ...(await signMessage(fields.signer, 'membership-op', signed))]);
}

/** Replaces an op's author field and signs it again with `signer`. */
export async function resign(op: Uint8Array, signer: Identity, author = signer.memberId): Promise<Uint8Array> {
  const signed = op.slice(0, op.length - 64);
  signed.set(author, 54);
  return new Uint8Array([...signed, ...(await signMessage(signer, 'membership-op', signed))]);
}
