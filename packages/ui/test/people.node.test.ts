// Persons as people see them: a safety code that tells two of one name apart, and a name
// for someone who gave none that shows no key material.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { personName, safetyCode } from '../src/people.js';

const ids = Array.from({ length: 200 }, (_, i) => Array.from({ length: 32 }, (_, j) => ((i * 131 + j * 17 + i * j) & 0xff).toString(16).padStart(2, '0')).join(''));

describe('people', () => {
  it('a safety code is twelve digits in three groups, the same for the same person, from bytes or hex', () => {
    for (const id of ids) assert.match(safetyCode(id), /^\d{4} \d{4} \d{4}$/);
    const bytes = Uint8Array.from(ids[0]!.match(/../g)!, (b) => parseInt(b, 16));
    assert.equal(safetyCode(bytes), safetyCode(ids[0]!));
    assert.equal(safetyCode('00'.repeat(32)), '0000 0000 0000');
  });

  it('different persons get different codes', () => {
    assert.equal(new Set(ids.map(safetyCode)).size, ids.length);
  });

  it('a person with no name shows the first group of its code, never its id', () => {
    const id = ids[3]!;
    assert.equal(personName(id, undefined), `Member ${safetyCode(id).slice(0, 4)}`);
    for (const other of ids) assert.match(personName(other, new Map()), /^Member \d{4}$/);
    assert.equal(personName(id, new Map([[id, 'Alice']])), 'Alice');
  });
});
