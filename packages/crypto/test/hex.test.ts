import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CryptoInputError, fromHex, toHex } from '@sealdoc/crypto';

describe('hex', () => {
  it('round-trips any bytes, reads either case, refuses what is not hex', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => assert.deepEqual(fromHex(toHex(bytes)), bytes)));
    // Longer and shorter inputs in turn (the digits go through one reused buffer up to 128 bytes):
    // each string is its own input's, of its own length.
    const digits = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (inputs) => inputs.forEach((bytes) => assert.equal(toHex(bytes), digits(bytes)))));
    assert.equal(toHex(Uint8Array.of(0, 15, 255)), '000fff');
    assert.deepEqual(fromHex('00FfA0'), Uint8Array.of(0, 255, 160));
    for (const bad of ['0', 'zz', '0x00', ' 00', 7 as unknown as string]) assert.throws(() => fromHex(bad), CryptoInputError, String(bad));
  });
});
