import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { beaconSignedBytes, ByteReader, ByteWriter, coversSignedBytes, MAX_ECHOES, decodeWire, encodeBatch, encodeWire, MESSAGE_TYPES, WireError, type WireMessage } from '@sealdoc/protocol';

const id = (n: number) => new Uint8Array(16).fill(n);
const key = (n: number) => new Uint8Array(32).fill(n);

const EXAMPLES: WireMessage[] = [
  { type: 'envelope', envelope: new Uint8Array([1, 2, 3]) },
  { type: 'have', reply: true, groupId: id(1), docId: id(2), logLength: 3, authors: [[key(3), [[0, 4], [9, 9]]]] },
  { type: 'ops', groupId: id(1), fromIndex: 2, ops: [new Uint8Array([5, 6]), new Uint8Array(0)] },
  { type: 'covers', groupId: id(1), docId: id(2), author: key(3), seq: 12, authors: [[key(3), [[0, 11]]], [key(4), [[2, 5]]]], signature: new Uint8Array(64).fill(6) },
  {
    type: 'beacon',
    groupId: id(1),
    docId: id(2),
    signingPublicKey: key(3),
    counter: 1_765_000_000_000_000,
    logLength: 7,
    head: key(4),
    echoes: [{ length: 3, head: key(5) }, { length: 6, head: key(6) }],
    authors: [[key(3), [[0, 11]]]],
    signature: new Uint8Array(64).fill(7),
  },
  { type: 'challenge', nonce: key(4), maxFrameBytes: 1 << 20 },
  { type: 'welcome', memberId: key(5) },
  { type: 'error', ref: 7, code: 'past-cutoff', message: 'sequence number 9 is past the cutoff — é' },
  { type: 'deliver', groupId: id(1), docId: id(2), cursor: 2 ** 40 + 3, envelope: new Uint8Array([9, 9]) },
  { type: 'ack', ref: 8, cursor: 12 },
  { type: 'caught-up', groupId: id(1), docId: id(2), cursor: 0 },
  { type: 'groups', ref: 3, groupIds: [id(6), id(7)] },
  { type: 'hello', signingPublicKey: key(8), signature: new Uint8Array(64).fill(9) },
  { type: 'subscribe', groupId: id(1), docId: id(2), cursor: 41 },
  { type: 'unsubscribe', groupId: id(1), docId: id(2) },
  { type: 'push', ref: 1, envelope: new Uint8Array([4, 4, 4]) },
  { type: 'fetch-ops', groupId: id(1), fromIndex: 0 },
  { type: 'list-groups', ref: 2 },
  { type: 'invite-requested', inviteId: id(3), requester: key(4), request: new Uint8Array([7, 7, 7]) },
  { type: 'invite-state', ref: 5, inviteId: id(3), state: 'admitted', adminOnline: false },
  { type: 'invite-state', ref: 6, inviteId: id(3), state: 'used', adminOnline: true },
  { type: 'invite-open', ref: 6, groupId: id(1), inviteId: id(3), expiresAt: 1_800_000_000_000 },
  { type: 'invite-close', ref: 7, inviteId: id(3) },
  { type: 'invite-request', ref: 8, inviteId: id(3), request: new Uint8Array([1, 2]) },
  { type: 'invite-watch', groupId: id(1) },
  { type: 'invite-status', ref: 9, inviteId: id(3) },
  { type: 'ping', nonce: 4_000_000_000 },
  { type: 'pong', nonce: 7 },
  { type: 'member-seq', ref: 3, groupId: id(1), memberId: key(2) },
  { type: 'commit-ops', ref: 4, groupId: id(1), fromIndex: 5, ops: [new Uint8Array([1]), new Uint8Array([2, 3])] },
  { type: 'batch', messages: [{ type: 'ack', ref: 1, cursor: 2 }, { type: 'envelope', envelope: new Uint8Array([5]) }] },
];

const wireError = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e instanceof WireError ? e.code : `not a WireError: ${String(e)}`;
  }
  return 'no error';
};

describe('wire messages', () => {
  it('every type round-trips', () => {
    assert.deepEqual([...new Set(EXAMPLES.map((m) => m.type))].sort(), Object.keys(MESSAGE_TYPES).sort());
    for (const m of EXAMPLES) assert.deepEqual(decodeWire(encodeWire(m)), m, m.type);
  });

  it('every truncation of a fixed-size message, a trailing byte, another version, an unknown type: WireError', () => {
    for (const m of EXAMPLES) {
      const bytes = encodeWire(m);
      // Messages ending in "the rest" (an envelope) decode from any length past their header.
      const open = ['envelope', 'deliver', 'push', 'batch', 'invite-requested', 'invite-request'].includes(m.type);
      if (!open) {
        for (let n = 0; n < bytes.length; n++) assert.notEqual(wireError(() => decodeWire(bytes.subarray(0, n))), 'no error', `${m.type} cut at ${n}`);
        assert.equal(wireError(() => decodeWire(Uint8Array.of(...bytes, 0))), 'malformed', `${m.type} with a trailing byte`);
      }
      assert.equal(wireError(() => decodeWire(Uint8Array.of(2, ...bytes.subarray(1)))), 'unsupported-version');
    }
    assert.equal(wireError(() => decodeWire(Uint8Array.of(1, 99))), 'malformed');
    assert.equal(wireError(() => decodeWire(new Uint8Array(0))), 'malformed');
  });

  it('an invitation state: an unknown state, or "admin online" other than 0 or 1, is malformed', () => {
    const bytes = encodeWire({ type: 'invite-state', ref: 1, inviteId: id(3), state: 'used', adminOnline: true });
    const at = (i: number, v: number) => Uint8Array.from(bytes, (b, j) => (j === i ? v : b));
    assert.equal(bytes.at(-2), 5, 'used is 5');
    assert.equal(bytes.at(-1), 1);
    assert.equal(wireError(() => decodeWire(at(bytes.length - 2, 6))), 'malformed');
    assert.equal(wireError(() => decodeWire(at(bytes.length - 1, 2))), 'malformed');
    assert.deepEqual(decodeWire(at(bytes.length - 1, 0)), { type: 'invite-state', ref: 1, inviteId: id(3), state: 'used', adminOnline: false });
  });

  it('summaries name each author once, with ranges ascending and apart: anything else is malformed (reading them costs their number)', () => {
    const have = (authors: [Uint8Array, [number, number][]][]) => encodeWire({ type: 'have', reply: false, groupId: id(1), docId: id(2), logLength: 0, authors });
    assert.equal(wireError(() => decodeWire(have([[key(1), [[0, 4], [6, 9]]]]))), 'no error');
    assert.equal(wireError(() => decodeWire(have([[key(1), [[0, 4], [5, 9]]]]))), 'no error', 'touching ranges are apart');
    assert.equal(wireError(() => decodeWire(have([[key(1), [[6, 9], [0, 4]]]]))), 'malformed', 'descending');
    assert.equal(wireError(() => decodeWire(have([[key(1), [[0, 4], [4, 9]]]]))), 'malformed', 'overlapping');
    assert.equal(wireError(() => decodeWire(have([[key(1), [[0, 4]]], [key(1), [[9, 9]]]]))), 'malformed', 'an author twice');
    // A quarter of a million descending ranges is refused at once, not folded in.
    const many: [number, number][] = Array.from({ length: 250_000 }, (_, i) => [2 * (250_000 - i), 2 * (250_000 - i)]);
    const started = performance.now();
    assert.equal(wireError(() => decodeWire(have([[key(1), many]]))), 'malformed');
    assert.ok(performance.now() - started < 1000);
  });

  it('a batch holds frames, never a batch; encodeBatch matches encodeWire', () => {
    const inner = [encodeWire({ type: 'ack', ref: 1, cursor: 2 }), encodeWire({ type: 'envelope', envelope: new Uint8Array([5]) })];
    assert.deepEqual(encodeBatch(inner), encodeWire(EXAMPLES.at(-1)!));
    const nested = encodeBatch([encodeBatch(inner)]);
    assert.equal(wireError(() => decodeWire(nested)), 'malformed');
    const cut = encodeBatch(inner).slice(0, -1);
    assert.notEqual(wireError(() => decodeWire(cut)), 'no error');
  });

  it('a frame over the limit is too-large; error codes are checked both ways', () => {
    assert.equal(wireError(() => decodeWire(new Uint8Array(101), 100)), 'too-large');
    assert.equal(wireError(() => encodeWire({ type: 'error', ref: 0, code: 'Not Ascii!', message: '' })), 'malformed');
    const bad = encodeWire({ type: 'error', ref: 0, code: 'ok', message: '' });
    bad[7] = 'A'.charCodeAt(0);
    assert.equal(wireError(() => decodeWire(bad)), 'malformed');
  });

  it("a covers attestation is signed over its body without the signature", () => {
    const covers = EXAMPLES.find((m) => m.type === 'covers')!;
    const bytes = encodeWire(covers);
    const { type: _type, signature: _signature, ...body } = covers as Extract<WireMessage, { type: 'covers' }>;
    assert.deepEqual(coversSignedBytes(body), bytes.subarray(2, bytes.length - 64));
  });

  it('a beacon is signed over its body without the signature, and carries 16 echoes at most', () => {
    const beacon = EXAMPLES.find((m) => m.type === 'beacon') as Extract<WireMessage, { type: 'beacon' }>;
    const bytes = encodeWire(beacon);
    const { type: _type, signature: _signature, ...body } = beacon;
    assert.deepEqual(beaconSignedBytes(body), bytes.subarray(2, bytes.length - 64));
    const echoes = Array.from({ length: MAX_ECHOES + 1 }, (_, i) => ({ length: i, head: key(i) }));
    assert.equal(wireError(() => encodeWire({ ...beacon, echoes })), 'malformed');
    // 17 announced: refused before they are read.
    const announced = bytes.slice();
    announced[2 + 16 + 16 + 32 + 8 + 4 + 32] = MAX_ECHOES + 1;
    assert.equal(wireError(() => decodeWire(announced)), 'malformed');
  });

  it('fuzz: any bytes decode or throw a WireError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...Object.values(MESSAGE_TYPES)), (bytes, type) => {
        for (const input of [bytes, Uint8Array.of(1, type, ...bytes)]) {
          const code = wireError(() => decodeWire(input));
          assert.ok(['no error', 'malformed', 'unsupported-version', 'too-large'].includes(code), code);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('ByteWriter', () => {
  it('grows from any capacity without losing a byte', () => {
    for (const capacity of [1, 3, 7, 64]) {
      const w = new ByteWriter(capacity).u8(1).u16(0x0203).u32(0x04050607).u64(2 ** 40 + 8).bytes(new Uint8Array(300).fill(9));
      const r = new ByteReader(w.finish());
      assert.deepEqual([r.u8(), r.u16(), r.u32(), r.u64()], [1, 0x0203, 0x04050607, 2 ** 40 + 8]);
      assert.deepEqual(r.rest(), new Uint8Array(300).fill(9));
    }
  });
});
