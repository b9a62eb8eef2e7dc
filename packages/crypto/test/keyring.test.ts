import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoInputError, Keyring, randomId } from '@sealdoc/crypto';
import { envelopeErrorCode, envelopeFixture, hex, toHex, utf8 } from './helpers.js';

const GROUP = hex('000102030405060708090a0b0c0d0e0f');
const DOC = hex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
const SECRET = hex('2a'.repeat(32));

describe('Keyring', () => {
  it('derives document keys as docs/envelope.md says, one per purpose', () => {
    const keys = new Keyring();
    keys.add(GROUP, 7, SECRET);
    const seen = new Set<string>();
    for (const purpose of ['update', 'snapshot', 'awareness'] as const) {
      const info = new Uint8Array([...utf8(`sealdoc/v1/doc-key/${purpose}`), ...GROUP, 0, 0, 0, 7]);
      const want = toHex(hkdf(sha256, SECRET, DOC, info, 32));
      assert.equal(toHex(keys._docKey(GROUP, 7, DOC, purpose)!), want);
      seen.add(want);
    }
    assert.equal(seen.size, 3);
    assert.equal(toHex(keys._docKey(GROUP, 7, DOC, 'update')!), '9e7ed184982a09f30565a065f2ab9e3a7c6c515b8d7876889148902f0dbb0c7a');
  });

  it('keeps a copy: wiping the caller\'s array changes nothing', () => {
    const keys = new Keyring();
    const secret = SECRET.slice();
    keys.add(GROUP, 1, secret);
    const before = toHex(keys._docKey(GROUP, 1, DOC, 'update')!);
    secret.fill(0);
    keys.delete(GROUP, 1);
    keys.add(GROUP, 1, SECRET);
    assert.equal(toHex(keys._docKey(GROUP, 1, DOC, 'update')!), before);
  });

  it('accepts the same secret twice, refuses a different one for the same epoch', () => {
    const keys = new Keyring();
    keys.add(GROUP, 1, SECRET);
    keys.add(GROUP, 1, SECRET.slice());
    assert.throws(() => keys.add(GROUP, 1, new Uint8Array(32)), CryptoInputError);
  });

  it('lists, deletes and wipes', () => {
    const keys = new Keyring();
    const other = randomId();
    keys.add(GROUP, 5, SECRET);
    keys.add(GROUP, 2, SECRET);
    keys.add(other, 9, SECRET);
    assert.deepEqual(keys.epochs(GROUP), [2, 5]);
    assert.deepEqual(keys.epochs(other), [9]);
    keys._docKey(GROUP, 5, DOC, 'update');
    keys.delete(GROUP, 5);
    assert.equal(keys.has(GROUP, 5), false);
    assert.equal(keys._docKey(GROUP, 5, DOC, 'update'), undefined);
    keys.wipe();
    assert.deepEqual(keys.epochs(GROUP), []);
    assert.equal(keys.has(other, 9), false);
  });

  it('shows no secret when logged or serialized', () => {
    const keys = new Keyring();
    keys.add(GROUP, 1, SECRET);
    keys._docKey(GROUP, 1, DOC, 'update');
    assert.equal(JSON.stringify(keys), '{}');
    assert.deepEqual(Object.keys(keys), []);
  });

  it('validates its inputs', () => {
    const keys = new Keyring();
    assert.throws(() => keys.add(new Uint8Array(15), 1, SECRET), CryptoInputError);
    assert.throws(() => keys.add(GROUP, -1, SECRET), CryptoInputError);
    assert.throws(() => keys.add(GROUP, 2 ** 32, SECRET), CryptoInputError);
    assert.throws(() => keys.add(GROUP, 1, new Uint8Array(31)), CryptoInputError);
  });

  it('a deleted epoch no longer opens its envelopes', async () => {
    const f = envelopeFixture();
    const bytes = await f.seal(utf8('x'));
    f.keyring.delete(f.groupId, 3);
    assert.equal(await envelopeErrorCode(import('@sealdoc/crypto').then(({ openEnvelope }) => openEnvelope(bytes, f.ctx))), 'unknown-epoch');
  });
});
