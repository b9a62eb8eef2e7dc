import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ENVELOPE_HEADER_LENGTH,
  EnvelopeError,
  Keyring,
  openEnvelope,
  padmeLength,
  randomId,
  readEnvelope,
  readEnvelopeHeader,
  sealEnvelope,
  verifyEnvelope,
  type EnvelopeErrorCode,
} from '@sealdoc/crypto';
import { envelopeErrorCode, envelopeFixture, flipBit, testIdentity, toHex, utf8 } from './helpers.js';

describe('envelope round trip', () => {
  it('opens what it sealed, for every kind, with the header intact', async () => {
    const f = envelopeFixture();
    for (const kind of ['update', 'snapshot', 'awareness'] as const) {
      const bytes = await f.seal(utf8(`a ${kind}`), kind, 7);
      const { header, plaintext } = await openEnvelope(bytes, f.ctx);
      assert.equal(new TextDecoder().decode(plaintext), `a ${kind}`);
      assert.equal(header.kind, kind);
      assert.equal(header.epoch, 3);
      assert.equal(header.seq, 7);
      assert.deepEqual(header.groupId, f.groupId);
      assert.deepEqual(header.docId, f.docId);
      assert.deepEqual(header.author, f.author.memberId);
      assert.deepEqual(header.head, f.head);
      assert.deepEqual(readEnvelopeHeader(bytes), header);
    }
  });

  it("a parsed header's fields are copies (changing the bytes after changes no header), each its own range; the plaintext is exactly the content", async () => {
    const f = envelopeFixture();
    const bytes = await f.seal(utf8('copied'), 'update', 9);
    const header = readEnvelopeHeader(bytes);
    const before = structuredClone(header);
    bytes.fill(0xee, 0, ENVELOPE_HEADER_LENGTH);
    assert.deepEqual(header, before);
    // Writing one field touches no other.
    header.author.fill(0);
    assert.deepEqual(header.nonce, before.nonce);
    assert.deepEqual(header.head, before.head);
    assert.deepEqual(header.docId, before.docId);
    const { plaintext } = await openEnvelope(await f.seal(utf8('exact'), 'update', 10), f.ctx);
    assert.equal(plaintext.length, 5);
    assert.deepEqual([...plaintext], [...utf8('exact')]);
  });

  it('property: random payloads from 0 B to 1 MiB round-trip', async () => {
    const f = envelopeFixture();
    const sizes = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 1024 * 1024 }), fc.constantFrom(0, 1, 15, 16, 1024 * 1024));
    await fc.assert(
      fc.asyncProperty(sizes, fc.integer(), async (size, seed) => {
        const payload = new Uint8Array(size);
        for (let i = 0; i < size; i += 4096) payload[i] = (seed + i) & 0xff;
        const { plaintext } = await openEnvelope(await f.seal(payload), f.ctx);
        assert.equal(plaintext.length, size);
        assert.deepEqual(plaintext, payload);
      }),
      { numRuns: 40 },
    );
  });

  it('every seal draws a fresh nonce', async () => {
    const f = envelopeFixture();
    const a = readEnvelopeHeader(await f.seal(utf8('same')));
    const b = readEnvelopeHeader(await f.seal(utf8('same')));
    assert.notDeepEqual(a.nonce, b.nonce);
  });

  it('pads with PADMÉ: nearby sizes give the same length', async () => {
    const f = envelopeFixture();
    const lengths = new Set<number>();
    for (const size of [1000, 1001, 1010, 1020]) lengths.add((await f.seal(new Uint8Array(size))).length);
    assert.equal(lengths.size, 1);
    assert.deepEqual([1, 2, 16, 17, 100, 1000, 1025, 65536, 1e6].map(padmeLength), [1, 2, 16, 18, 104, 1024, 1088, 65536, 1015808]);
  });

  it('verifyEnvelope checks everything a relay can without keys', async () => {
    const f = envelopeFixture();
    const bytes = await f.seal(utf8('hello'));
    const { keyring: _keys, ...withoutKeys } = f.ctx;
    assert.deepEqual((await verifyEnvelope(bytes, withoutKeys)).author, f.author.memberId);
    assert.equal(await envelopeErrorCode(verifyEnvelope(flipBit(bytes, bytes.length * 8 - 1), withoutKeys)), 'bad-signature');
  });

  it('verifyEnvelope takes what readEnvelope parsed, with the same checks; an object that only looks parsed is malformed', async () => {
    const f = envelopeFixture();
    const bytes = await f.seal(utf8('hello'));
    const { keyring: _keys, ...withoutKeys } = f.ctx;
    assert.deepEqual((await verifyEnvelope(readEnvelope(bytes), withoutKeys)).author, f.author.memberId);
    assert.equal(await envelopeErrorCode(verifyEnvelope(readEnvelope(flipBit(bytes, bytes.length * 8 - 1)), withoutKeys)), 'bad-signature');
    assert.equal(await envelopeErrorCode(verifyEnvelope(readEnvelope(bytes), { ...withoutKeys, maxBytes: bytes.length - 1 })), 'too-large');
    const lookalike = { bytes, header: readEnvelopeHeader(bytes) } as unknown as Uint8Array;
    assert.equal(await envelopeErrorCode(verifyEnvelope(lookalike, withoutKeys)), 'malformed');
  });
});

describe('envelope refusals: every code', () => {
  it('wrong group, wrong document, wrong kind', async () => {
    const f = envelopeFixture();
    const bytes = await f.seal(utf8('x'), 'awareness');
    assert.equal(await envelopeErrorCode(openEnvelope(bytes, { ...f.ctx, groupId: randomId() })), 'wrong-group');
    assert.equal(await envelopeErrorCode(openEnvelope(bytes, { ...f.ctx, docId: randomId() })), 'wrong-doc');
    assert.equal(await envelopeErrorCode(openEnvelope(bytes, { ...f.ctx, kinds: ['update', 'snapshot'] })), 'wrong-kind');
  });

  it('not a member, a reader writing, a forged author', async () => {
    const f = envelopeFixture();
    const bytes = await f.seal(utf8('x'));
    assert.equal(await envelopeErrorCode(openEnvelope(bytes, { ...f.ctx, author: () => undefined })), 'not-a-member');
    const reader = envelopeFixture({ role: 'reader' });
    assert.equal(await envelopeErrorCode(openEnvelope(await reader.seal(utf8('x')), reader.ctx)), 'not-a-writer');
    // Mallory holds the group key and seals under Alice's member id: the signature betrays her.
    const mallory = testIdentity('mallory');
    const forged = await sealEnvelope({ kind: 'update', groupId: f.groupId, docId: f.docId, epoch: 3, seq: 1, head: f.head, author: mallory, keyring: f.keyring, plaintext: utf8('forged') });
    const relabelled = forged.slice();
    relabelled.set(f.author.memberId, 38);
    assert.equal(await envelopeErrorCode(openEnvelope(relabelled, f.ctx)), 'bad-signature');
  });

  it('unknown epoch: neither sealed nor opened without the epoch secret', async () => {
    const f = envelopeFixture();
    const bytes = await f.seal(utf8('x'));
    assert.equal(await envelopeErrorCode(openEnvelope(bytes, { ...f.ctx, keyring: new Keyring() })), 'unknown-epoch');
    assert.equal(await envelopeErrorCode(sealEnvelope({ kind: 'update', groupId: f.groupId, docId: f.docId, epoch: 4, seq: 1, head: f.head, author: f.author, keyring: f.keyring, plaintext: utf8('x') })), 'unknown-epoch');
  });

  it('key commitment: a ciphertext does not open under another key of the same epoch number', async () => {
    const f = envelopeFixture();
    const bytes = await f.seal(utf8('x'));
    const other = new Keyring();
    other.add(f.groupId, 3, crypto.getRandomValues(new Uint8Array(32)));
    assert.equal(await envelopeErrorCode(openEnvelope(bytes, { ...f.ctx, keyring: other })), 'bad-ciphertext');
  });

  it('keys are separated by purpose: an update re-labelled as a snapshot and re-signed does not open', async () => {
    const f = envelopeFixture();
    const update = await f.seal(utf8('x'), 'update');
    // The author rewrites the kind byte and signs again: a valid signature over a ciphertext
    // that was made under the update key.
    const relabelled = update.slice(0, update.length - 64);
    relabelled[1] = 2;
    const { signMessage } = await import('@sealdoc/crypto');
    const signed = new Uint8Array([...relabelled, ...(await signMessage(f.author, 'envelope', relabelled))]);
    assert.equal(await envelopeErrorCode(openEnvelope(signed, f.ctx)), 'bad-ciphertext');
  });

  it('unsupported version, too large, malformed', async () => {
    const f = envelopeFixture();
    const bytes = await f.seal(utf8('x'));
    for (const version of [0, 3, 255]) {
      const other = bytes.slice();
      other[0] = version;
      assert.equal(await envelopeErrorCode(openEnvelope(other, f.ctx)), 'unsupported-version');
    }
    assert.equal(await envelopeErrorCode(openEnvelope(bytes, { ...f.ctx, maxBytes: bytes.length - 1 })), 'too-large');
    assert.equal(await envelopeErrorCode(openEnvelope(bytes.subarray(0, ENVELOPE_HEADER_LENGTH + 10), f.ctx)), 'malformed');
    assert.equal(await envelopeErrorCode(openEnvelope('nope' as unknown as Uint8Array, f.ctx)), 'malformed');
  });

  it('exhaustive tamper test: every single-bit flip is refused with a typed error', async () => {
    const f = envelopeFixture();
    const bytes = await f.seal(utf8('flip every bit of me'));
    const codes = new Map<EnvelopeErrorCode, number>();
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const code = (await envelopeErrorCode(openEnvelope(flipBit(bytes, bit), f.ctx))) as EnvelopeErrorCode;
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    let total = 0;
    for (const n of codes.values()) total += n;
    assert.equal(total, bytes.length * 8);
    // Where each region's flips land: version, group, doc, author, signature...
    for (const expected of ['unsupported-version', 'wrong-group', 'wrong-doc', 'not-a-member', 'bad-signature'] as const)
      assert.ok((codes.get(expected) ?? 0) > 0, `no flip produced ${expected}: ${JSON.stringify([...codes])}`);
  });
});

describe('envelope decoders under fuzzing', () => {
  it('random bytes are EnvelopeErrors, never crashes', async () => {
    const f = envelopeFixture();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async (bytes) => {
        try {
          readEnvelopeHeader(bytes);
        } catch (e) {
          assert.ok(e instanceof EnvelopeError, String(e));
        }
        await assert.rejects(openEnvelope(bytes, f.ctx), EnvelopeError);
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes after a valid header prefix are EnvelopeErrors', async () => {
    const f = envelopeFixture();
    const prefix = (await f.seal(utf8('x'))).subarray(0, ENVELOPE_HEADER_LENGTH);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (tail) => {
        await assert.rejects(openEnvelope(new Uint8Array([...prefix, ...tail]), f.ctx), EnvelopeError);
      }),
      { numRuns: 200 },
    );
  });

  it('every truncation of a valid envelope is refused', async () => {
    const f = envelopeFixture();
    const bytes = await f.seal(utf8('truncate me'));
    for (let n = 0; n < bytes.length; n++) {
      const code = await envelopeErrorCode(openEnvelope(bytes.subarray(0, n), f.ctx));
      assert.ok(['malformed', 'bad-signature', 'unsupported-version'].includes(code), `${n}: ${code}`);
    }
  });

  it('opening never alters the keyring or the input', async () => {
    const f = envelopeFixture();
    const bytes = await f.seal(utf8('x'));
    const before = toHex(bytes);
    await assert.rejects(openEnvelope(flipBit(bytes, 900), f.ctx), EnvelopeError);
    await openEnvelope(bytes, f.ctx);
    assert.equal(toHex(bytes), before);
    assert.deepEqual(f.keyring.epochs(f.groupId), [3]);
  });
});
