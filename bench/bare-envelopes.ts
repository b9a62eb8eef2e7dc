// The bare primitives an envelope needs and nothing else (Node's own, called directly), for the
// floors of bench:core: what a sync or a catch-up could cost were the crypto package and the
// engine free. A lower bound: it pads nothing, derives no XChaCha subkey (an HMAC stands in) and
// parses nothing; each envelope names the hash of the one before it (the chain), so that a
// catch-up needs one signature, the last. Ed25519 as the crypto package makes it in Node: libsodium
// where sodium-native loads, else node:crypto.
import { createCipheriv, createDecipheriv, createHash, createHmac, generateKeyPair, randomFillSync, sign, verify, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { ENVELOPE_HEADER_LENGTH } from '@sealdoc/crypto';

interface Sodium {
  crypto_sign_keypair(publicKey: Uint8Array, secretKey: Uint8Array): void;
  crypto_sign_detached(signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void;
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}
const sodium = ((): Sodium | undefined => {
  try {
    return createRequire(import.meta.url)('sodium-native') as Sodium;
  } catch {
    return undefined;
  }
})();

/** Ed25519 signing and checking under one key: libsodium's, or node:crypto's (its key made on the thread pool: a key of generateKeyPairSync is never exported, it can deadlock Node 20, hpke-native.node.ts). */
async function signer(): Promise<{ sign(message: Uint8Array): Uint8Array; verify(message: Uint8Array, signature: Uint8Array): boolean }> {
  if (sodium) {
    const publicKey = new Uint8Array(32);
    const secretKey = new Uint8Array(64);
    sodium.crypto_sign_keypair(publicKey, secretKey);
    return {
      sign(message) {
        const signature = new Uint8Array(64);
        sodium.crypto_sign_detached(signature, message, secretKey);
        return signature;
      },
      verify: (message, signature) => sodium.crypto_sign_verify_detached(signature, message, publicKey),
    };
  }
  const { privateKey, publicKey } = await new Promise<{ privateKey: KeyObject; publicKey: KeyObject }>((resolve, reject) =>
    generateKeyPair('ed25519', {}, (error, publicKey, privateKey) => (error ? reject(error) : resolve({ privateKey, publicKey }))),
  );
  return { sign: (message) => sign(null, message, privateKey), verify: (message, signature) => verify(null, message, publicKey, signature) };
}

/** Seals and opens bare envelopes under one signing key and one group key. */
export interface BareEnvelopes {
  /** The header (with the previous envelope's hash), the AEAD, the commitment, the signature; and the envelope's hash, kept for the next. */
  seal(plaintext: Uint8Array): Uint8Array;
  /** The envelope's hash, the commitment, the AEAD opened; its signature checked when `signature` (a catch-up checks only its last). */
  open(envelope: Uint8Array, signature: boolean): Uint8Array;
}

// version, kind, group, document, epoch, author, seq, head, prev, then the nonce and the commitment
const HEADER = ENVELOPE_HEADER_LENGTH;
const NONCE_AT = HEADER - 32 - 24;
const PREV_AT = NONCE_AT - 32;
const LABELS = [new TextEncoder().encode('sealdoc/v1/envelope-key'), new TextEncoder().encode('sealdoc/v1/envelope-commit')] as const;

/** A writer's and reader's bare envelopes. */
export async function bareEnvelopes(): Promise<BareEnvelopes> {
  const ed25519 = await signer();
  const key = randomFillSync(new Uint8Array(32));
  const mac = (label: Uint8Array, nonce: Uint8Array) => createHmac('sha256', key).update(label).update(nonce).digest();
  const header = new Uint8Array(HEADER);
  return {
    seal(plaintext) {
      const nonce = randomFillSync(new Uint8Array(24));
      header.set(nonce, NONCE_AT);
      const subkey = mac(LABELS[0], nonce);
      header.set(mac(LABELS[1], nonce), HEADER - 32);
      const cipher = createCipheriv('chacha20-poly1305', subkey, nonce.subarray(12), { authTagLength: 16 });
      cipher.setAAD(header, { plaintextLength: plaintext.length });
      const signed = Buffer.concat([header, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      const envelope = new Uint8Array(Buffer.concat([signed, ed25519.sign(signed)]));
      header.set(createHash('sha256').update(envelope).digest(), PREV_AT); // the chain: named by the next envelope
      return envelope;
    },
    open(envelope, signature) {
      const signed = envelope.subarray(0, envelope.length - 64);
      if (signature && !ed25519.verify(signed, envelope.subarray(envelope.length - 64))) throw new Error('a signature of the floor did not verify');
      createHash('sha256').update(envelope).digest(); // the hash the next envelope names, compared there
      const nonce = envelope.subarray(NONCE_AT, NONCE_AT + 24);
      const subkey = mac(LABELS[0], nonce);
      mac(LABELS[1], nonce);
      const decipher = createDecipheriv('chacha20-poly1305', subkey, nonce.subarray(12), { authTagLength: 16 });
      decipher.setAAD(envelope.subarray(0, HEADER), { plaintextLength: signed.length - HEADER - 16 });
      decipher.setAuthTag(signed.subarray(signed.length - 16));
      return Buffer.concat([decipher.update(signed.subarray(HEADER, signed.length - 16)), decipher.final()]);
    },
  };
}
