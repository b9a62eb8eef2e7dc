// The device link as an address: the code rides in the fragment, and only a well-formed
// `#link=` fragment is taken for one.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDeviceLink, encodeDeviceLink } from '@sealdoc/crypto';
import { LINK_DAMAGED, LINK_ENDED, linkAddress, linkCode, linkProblem } from '../src/link-code.js';

describe('device link addresses', () => {
  it('carry the code in the fragment, and give it back', () => {
    const address = linkAddress('https://notes.example/app/', 'AbC-_09');
    assert.equal(address, 'https://notes.example/app/#link=AbC-_09');
    assert.equal(new URL(address).search, '', 'nothing in the query: it would reach the server');
    assert.equal(linkCode(address), 'AbC-_09');
  });

  it('give no code for anything else: no fragment, an invitation, other text, a broken address', () => {
    for (const address of [
      '',
      'https://notes.example/',
      'https://notes.example/#invite=AbC',
      'https://notes.example/#link=',
      'https://notes.example/#link=AbC&x=1',
      'https://notes.example/#link=Ab%20C',
      'https://notes.example/?link=AbC',
      'https://notes.example/#xlink=AbC',
      'not an address',
    ])
      assert.equal(linkCode(address), '', address);
  });

  it('say what is wrong with a link before anything is asked: damaged, or too old', () => {
    const link = createDeviceLink(new Uint8Array(32).fill(1), new Uint8Array(16).fill(2), 60_000);
    const code = encodeDeviceLink(link);
    assert.equal(linkProblem(code), '');
    assert.equal(linkProblem(code, link.expiresAt), LINK_ENDED);
    for (const damaged of [code.slice(0, -4), code.slice(0, 10), `A${code}`, '', 'not a code']) assert.equal(linkProblem(damaged), LINK_DAMAGED, damaged);
    assert.doesNotMatch(LINK_ENDED + LINK_DAMAGED, /epoch|group|hex|invite/i, 'plain words');
  });
});
