// SeqRanges against the plainest model there is, a set of (author, seq) pairs, over random
// operations; and the sizes a hostile peer can claim, which are handled as ranges.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteReader, ByteWriter, SeqRanges } from '@sealdoc/protocol';

const AUTHORS = ['aa', 'bb', 'cc'];
type Op = { kind: 'add' | 'delete'; author: string; seq: number } | { kind: 'range'; author: string; seq: number; length: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), author: fc.constantFrom(...AUTHORS), seq: fc.integer({ min: 0, max: 60 }) }),
  fc.record({ kind: fc.constant('range' as const), author: fc.constantFrom(...AUTHORS), seq: fc.integer({ min: 0, max: 60 }), length: fc.integer({ min: 0, max: 12 }) }),
  fc.record({ kind: fc.constant('delete' as const), author: fc.constantFrom(...AUTHORS), seq: fc.integer({ min: 0, max: 60 }) }),
);

function apply(ops: Op[]): { ranges: SeqRanges; model: Set<string> } {
  const ranges = new SeqRanges();
  const model = new Set<string>();
  for (const o of ops) {
    if (o.kind === 'add') assert.equal(ranges.add(o.author, o.seq), !model.has(`${o.author}:${o.seq}`));
    if (o.kind === 'add' || o.kind === 'range') {
      const end = o.seq + (o.kind === 'range' ? o.length : 0);
      if (o.kind === 'range') ranges.addRange(o.author, o.seq, end);
      for (let s = o.seq; s <= end; s++) model.add(`${o.author}:${s}`);
    } else if (o.kind === 'delete') {
      ranges.delete(o.author, o.seq);
      model.delete(`${o.author}:${o.seq}`);
    }
  }
  return { ranges, model };
}

describe('SeqRanges', () => {
  it('agrees with a set of pairs: has, covers, size, ranges disjoint, sorted and apart', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const { ranges, model } = apply(ops);
        assert.equal(ranges.size, model.size);
        let count = 0;
        for (const [author, list] of ranges.entries()) {
          count += list.length;
          for (let i = 0; i < list.length; i++) {
            assert.ok(list[i]![0] <= list[i]![1]);
            if (i > 0) assert.ok(list[i]![0] > list[i - 1]![1] + 1, 'ranges that touch are folded into one');
          }
          assert.deepEqual(ranges.of(author), list);
        }
        assert.equal(ranges.rangeCount, count);
        for (const author of AUTHORS)
          for (let s = 0; s <= 75; s++) {
            assert.equal(ranges.has(author, s), model.has(`${author}:${s}`));
            let all = true;
            for (let t = s; t <= Math.min(s + 3, 75); t++) all &&= model.has(`${author}:${t}`);
            assert.equal(ranges.covers(author, s, Math.min(s + 3, 75)), all);
          }
      }),
      { numRuns: 300 },
    );
  });

  it('missingFrom gives exactly what one side holds and the other lacks', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.array(op, { maxLength: 60 }), (a, b) => {
        const ours = apply(a);
        const theirs = apply(b);
        const missing = new Set<string>();
        for (const [author, s, e] of ours.ranges.missingFrom(theirs.ranges)) {
          assert.ok(s <= e);
          for (let t = s; t <= e; t++) {
            assert.ok(!missing.has(`${author}:${t}`), 'each pair once');
            missing.add(`${author}:${t}`);
          }
        }
        assert.deepEqual([...missing].sort(), [...ours.model].filter((p) => !theirs.model.has(p)).sort());
      }),
      { numRuns: 300 },
    );
  });

  it('SeqRanges.of builds the same from pairs and ranges in any order, in n log n', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const { ranges } = apply(ops.filter((o) => o.kind !== 'delete'));
        const items = [...ranges.ranges()].sort(() => Math.random() - 0.5);
        const sorted = (r: SeqRanges) => r.entries().sort(([a], [b]) => (a < b ? -1 : 1));
        assert.deepEqual(sorted(SeqRanges.of(items)), sorted(ranges));
      }),
    );
    const descending = Array.from({ length: 200_000 }, (_, i) => ['aa', 2 * (200_000 - i)] as const);
    const started = performance.now();
    assert.equal(SeqRanges.of(descending).rangeCount, 200_000);
    assert.ok(performance.now() - started < 2000, 'sorted, not spliced');
  });

  it('claims as large as the format allows cost their ranges, never their length', () => {
    const huge = new SeqRanges();
    huge.addRange('aa', 0, Number.MAX_SAFE_INTEGER);
    const small = new SeqRanges();
    for (let s = 0; s < 1000; s += 2) small.add('aa', s);
    assert.equal(small.rangeCount, 500);
    assert.deepEqual([...small.missingFrom(huge)], []);
    const gaps = [...huge.missingFrom(small)];
    assert.equal(gaps.length, 500);
    assert.deepEqual(gaps.at(-1), ['aa', 999, Number.MAX_SAFE_INTEGER]);
    // Appending in order, as a relay does with every envelope it stores, stays one range.
    const dense = new SeqRanges();
    for (let s = 0; s < 100_000; s++) dense.add('bb', s);
    assert.equal(dense.rangeCount, 1);
  });

  it('goes to and from the ranges a message carries unchanged, and what it says fits what the decoder takes', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const { ranges } = apply(ops);
        const wire = ranges.toAuthorRanges();
        assert.deepEqual(wire.map(([a]) => a.length), ranges.entries().map(() => 1), 'each author as its bytes');
        assert.deepEqual(SeqRanges.fromAuthorRanges(wire).entries(), ranges.entries());
      }),
    );
    const id = new Uint8Array(32).map((_, i) => i * 7);
    const one = SeqRanges.fromAuthorRanges([[id, [[0, 4], [9, Number.MAX_SAFE_INTEGER]]]]);
    assert.deepEqual(one.entries(), [[Array.from(id, (b) => b.toString(16).padStart(2, '0')).join(''), [[0, 4], [9, Number.MAX_SAFE_INTEGER]]]]);
    const read = new ByteReader(new ByteWriter().ranges(one.toAuthorRanges()).finish()).ranges();
    assert.deepEqual(read, [[id, [[0, 4], [9, Number.MAX_SAFE_INTEGER]]]]);
  });

  it('toAuthorRanges says less past its bound: each author its first ranges that fit and its last', () => {
    const ranges = new SeqRanges();
    for (let s = 0; s < 100; s += 2) ranges.add('aa', s);
    for (let s = 0; s < 10; s += 2) ranges.add('bb', s);
    const [aa, bb] = ranges.toAuthorRanges(20).map(([, list]) => list);
    assert.deepEqual(aa, [...ranges.of('aa').slice(0, 19), [98, 98]]);
    assert.deepEqual(bb, [[8, 8]], 'nothing left but its last');
    assert.equal(ranges.toAuthorRanges(1000).reduce((n, [, list]) => n + list.length, 0), 55);
  });

  it('intersect gives exactly the pairs of the given ranges that are held, as ranges', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.array(op, { maxLength: 60 }), (a, b) => {
        const ours = apply(a);
        const theirs = apply(b);
        for (const author of AUTHORS) {
          const common = ours.ranges.intersect(author, theirs.ranges.of(author));
          const pairs = new Set<string>();
          for (const [s, e] of common) for (let t = s; t <= e; t++) pairs.add(`${author}:${t}`);
          const expected = [...ours.model].filter((p) => p.startsWith(`${author}:`) && theirs.model.has(p));
          assert.deepEqual([...pairs].sort(), expected.sort());
        }
      }),
      { numRuns: 300 },
    );
    const huge = new SeqRanges();
    huge.addRange('aa', 0, Number.MAX_SAFE_INTEGER);
    assert.deepEqual(huge.intersect('aa', [[5, 7], [2 ** 40, 2 ** 41]]), [[5, 7], [2 ** 40, 2 ** 41]], 'ranges, never enumerated');
  });
});
