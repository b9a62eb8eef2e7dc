import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AtRestError, DeviceKey } from '@sealdoc/core';

const code = (e: unknown) => (e instanceof AtRestError ? e.code : String(e));

describe('DeviceKey records', () => {
  it('round-trip; the same plaintext seals differently each time', async () => {
    const key = await DeviceKey.generate();
    for (const size of [0, 1, 100, 300_000]) {
      const data = new Uint8Array(size).map((_, i) => i & 255);
      const a = await key.seal(data, 'slot');
      const b = await key.seal(data, 'slot');
      assert.notDeepEqual(a, b);
      assert.deepEqual(await key.open(a, 'slot'), data);
    }
  });

  it('a flipped bit anywhere, a truncation, another slot: corrupt; another key: no-device-key', async () => {
    const key = await DeviceKey.generate();
    const sealed = await key.seal(new TextEncoder().encode('secret state'), 'local/g/d');
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      const bad = sealed.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      // A flip inside the key id names another key; anywhere else the record fails to authenticate.
      const expected = bit >= 8 && bit < 72 ? 'no-device-key' : 'corrupt';
      await assert.rejects(key.open(bad, 'local/g/d'), (e) => code(e) === expected, `bit ${bit}`);
    }
    for (let n = 0; n < sealed.length; n += 7) await assert.rejects(key.open(sealed.subarray(0, n), 'local/g/d'), (e) => code(e) === 'corrupt');
    await assert.rejects(key.open(sealed, 'local/g/other'), (e) => code(e) === 'corrupt');
    await assert.rejects((await DeviceKey.generate()).open(sealed, 'local/g/d'), (e) => code(e) === 'no-device-key');
  });

  it('fuzz: any bytes are an AtRestError, never anything else', async () => {
    const key = await DeviceKey.generate();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.boolean(), async (bytes, withOurId) => {
        if (withOurId && bytes.length > 9) {
          bytes[0] = 1;
          bytes.set(key.id, 1);
        }
        await assert.rejects(key.open(bytes, 'x'), (e) => e instanceof AtRestError);
      }),
      { numRuns: 300 },
    );
  });
});
