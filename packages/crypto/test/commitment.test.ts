// Key commitment, tested against the attack it exists for: a ciphertext crafted to open
// under two keys ("invisible salamanders", Dodis et al. 2018; Len, Grubbs, Ristenpart 2021).
// Poly1305 is linear, so anyone holding two keys can solve for one ciphertext block that
// makes both tags equal. Without the commitment check, the envelope below would open under
// both keys to two different plaintexts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { xchacha20, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ENVELOPE_HEADER_LENGTH, Keyring, openEnvelope, signMessage } from '@sealdoc/crypto';
import { envelopeErrorCode, envelopeFixture, utf8 } from './helpers.js';

const P = 2n ** 130n - 5n;
const R_CLAMP = 0x0ffffffc0ffffffc0ffffffc0fffffffn;
const TWO128 = 2n ** 128n;

function le(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}
function toLe(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}
const mod = (a: bigint) => ((a % P) + P) % P;
function pow(b: bigint, e: bigint): bigint {
  let r = 1n;
  for (b = mod(b); e > 0n; e >>= 1n, b = mod(b * b)) if (e & 1n) r = mod(r * b);
  return r;
}

/** Poly1305 blocks of RFC 8439's AEAD construction, each as a field element with the 2^128 bit. */
function macBlocks(aad: Uint8Array, ct: Uint8Array): bigint[] {
  const padded = (x: Uint8Array) => new Uint8Array(Math.ceil(x.length / 16) * 16).fill(0).map((_, i) => x[i] ?? 0);
  const data = new Uint8Array([...padded(aad), ...padded(ct), ...toLe(BigInt(aad.length), 8), ...toLe(BigInt(ct.length), 8)]);
  const blocks: bigint[] = [];
  for (let i = 0; i < data.length; i += 16) blocks.push(le(data.subarray(i, i + 16)) + TWO128);
  return blocks;
}

function polyKey(subkey: Uint8Array, nonce: Uint8Array): { r: bigint; s: bigint } {
  const block0 = xchacha20(subkey, nonce, new Uint8Array(32), undefined, 0);
  return { r: le(block0.subarray(0, 16)) & R_CLAMP, s: le(block0.subarray(16, 32)) };
}

function evaluate(blocks: bigint[], r: bigint): bigint {
  let acc = 0n;
  for (const b of blocks) acc = mod((acc + b) * r);
  return acc;
}

describe('key commitment', () => {
  it('refuses a ciphertext crafted to authenticate under two keys', async () => {
    const f = envelopeFixture();
    const keys2 = new Keyring();
    keys2.add(f.groupId, 3, crypto.getRandomValues(new Uint8Array(32)));
    const docKey1 = f.keyring._docKey(f.groupId, 3, f.docId, 'update')!;
    const docKey2 = keys2._docKey(f.groupId, 3, f.docId, 'update')!;
    const subkeyFor = (docKey: Uint8Array, nonce: Uint8Array) => hmac(sha256, docKey, new Uint8Array([...utf8('sealdoc/v1/envelope-key'), ...nonce]));
    const commitFor = (docKey: Uint8Array, nonce: Uint8Array) => hmac(sha256, docKey, new Uint8Array([...utf8('sealdoc/v1/envelope-commit'), ...nonce]));

    const PADDED = 48; // PADMÉ-canonical for a 47-byte plaintext plus the 0x80 marker
    for (let attempt = 0; attempt < 20000; attempt++) {
      const nonce = crypto.getRandomValues(new Uint8Array(24));
      const k1 = subkeyFor(docKey1, nonce);
      const k2 = subkeyFor(docKey2, nonce);
      const ks1 = xchacha20(k1, nonce, new Uint8Array(PADDED), undefined, 1);
      const ks2 = xchacha20(k2, nonce, new Uint8Array(PADDED), undefined, 1);
      // Both decryptions must end in the padding marker: the keystreams' last bytes must agree.
      if (ks1[PADDED - 1] !== ks2[PADDED - 1]) continue;
      const body = crypto.getRandomValues(new Uint8Array(PADDED));
      body[PADDED - 1] = 0x80 ^ ks1[PADDED - 1]!;

      const header = new Uint8Array([
        2, 1, ...f.groupId, ...f.docId, 0, 0, 0, 3, ...f.author.memberId, 0, 0, 0, 0, 0, 0, 0, 1, ...f.head, ...new Uint8Array(32), ...nonce, ...commitFor(docKey1, nonce),
      ]);
      assert.equal(header.length, ENVELOPE_HEADER_LENGTH);
      // Solve for the first ciphertext block so that tag1 == tag2.
      const p1 = polyKey(k1, nonce);
      const p2 = polyKey(k2, nonce);
      const blocks = macBlocks(header, body);
      const j = Math.ceil(header.length / 16); // index of the first ciphertext block
      const e = BigInt(blocks.length - j);
      blocks[j] = 0n;
      const rest = mod(evaluate(blocks, p1.r) - evaluate(blocks, p2.r));
      const coefficient = mod(pow(p1.r, e) - pow(p2.r, e));
      const x = mod((mod(p2.s - p1.s) - rest) * pow(coefficient, P - 2n));
      if (x < TWO128 || x >= 2n * TWO128) continue; // must be a 16-byte block with the 2^128 bit
      body.set(toLe(x - TWO128, 16), 0);
      blocks[j] = x;
      const tag1 = (evaluate(blocks, p1.r) + p1.s) % TWO128;
      const tag2 = (evaluate(blocks, p2.r) + p2.s) % TWO128;
      if (tag1 !== tag2) continue; // the field solution wrapped differently mod 2^128; try again
      const ciphertext = new Uint8Array([...body, ...toLe(tag1, 16)]);

      // The crafted ciphertext authenticates under both subkeys: Poly1305 alone cannot tell.
      const under1 = xchacha20poly1305(k1, nonce, header).decrypt(ciphertext);
      const under2 = xchacha20poly1305(k2, nonce, header).decrypt(ciphertext);
      assert.notDeepEqual(under1, under2);
      assert.equal(under2[PADDED - 1], 0x80);

      const signed = new Uint8Array([...header, ...ciphertext]);
      const envelope = new Uint8Array([...signed, ...(await signMessage(f.author, 'envelope', signed))]);
      const opened = await openEnvelope(envelope, f.ctx);
      assert.deepEqual(opened.plaintext, under1.subarray(0, PADDED - 1));
      // The commitment in the header names key 1: key 2 is refused before decryption.
      assert.equal(await envelopeErrorCode(openEnvelope(envelope, { ...f.ctx, keyring: keys2 })), 'bad-ciphertext');
      return;
    }
    assert.fail('could not craft a two-key ciphertext');
  });
});
