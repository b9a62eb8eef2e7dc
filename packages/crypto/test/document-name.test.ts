import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoInputError, documentIdFromName, MAX_DOCUMENT_NAME_BYTES } from '@sealdoc/crypto';
import { hex, toHex, utf8 } from './helpers.js';

const GROUP = hex('000102030405060708090a0b0c0d0e0f');

describe('document names', () => {
  it('a name is SHA-256 over the label, the group id and its UTF-8, cut to 16 bytes (docs/envelope.md)', () => {
    const expected = sha256(new Uint8Array([...utf8('sealdoc/document-name/v1\0'), ...GROUP, ...utf8('notes/2026-12-06')])).slice(0, 16);
    assert.equal(toHex(documentIdFromName(GROUP, 'notes/2026-12-06')), toHex(expected));
    assert.equal(documentIdFromName(GROUP, 'é').length, 16);
  });

  it('the same name in another group, or another name, is another id', () => {
    const other = hex('ff0102030405060708090a0b0c0d0e0f');
    const ids = new Set([documentIdFromName(GROUP, 'a'), documentIdFromName(other, 'a'), documentIdFromName(GROUP, 'b'), documentIdFromName(GROUP, 'a ')].map(toHex));
    assert.equal(ids.size, 4);
  });

  it('one name, one id: NFC and NFD spellings agree; a lone surrogate is refused (it would collide with U+FFFD)', () => {
    assert.equal(toHex(documentIdFromName(GROUP, 'caf\u00e9')), toHex(documentIdFromName(GROUP, 'cafe\u0301')));
    for (const bad of ['notes-\uD800', 'notes-\uDFFF', '\uDC00x', 'a\uD800b']) assert.throws(() => documentIdFromName(GROUP, bad), CryptoInputError);
    assert.notEqual(toHex(documentIdFromName(GROUP, 'notes-\uFFFD')), '');
    assert.equal(documentIdFromName(GROUP, 'emoji \u{1F600}').length, 16, 'a surrogate pair is fine');
  });

  it('refuses an empty or oversized name and a bad group id with CryptoInputError', () => {
    for (const [group, name] of [
      [GROUP, ''],
      [GROUP, 'x'.repeat(MAX_DOCUMENT_NAME_BYTES + 1)],
      [GROUP, 'é'.repeat(MAX_DOCUMENT_NAME_BYTES / 2 + 1)],
      [GROUP.slice(1), 'a'],
      [GROUP, 7],
    ] as [Uint8Array, string][])
      assert.throws(() => documentIdFromName(group, name), CryptoInputError);
    assert.equal(documentIdFromName(GROUP, 'x'.repeat(MAX_DOCUMENT_NAME_BYTES)).length, 16);
  });
});
