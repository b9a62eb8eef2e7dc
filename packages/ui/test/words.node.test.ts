// Every typed error a member can meet has its own sentence: the codes of the engine, the
// crypto, the wire and every refusal of the relay, read from their sources so that a code
// added there without words here fails this test.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describeError } from '../src/words.js';

const source = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** The string literals of a `type Name = 'a' | 'b' ...` union in `text`. */
function union(text: string, name: string): string[] {
  const match = new RegExp(`type ${name} =([^;]*);`).exec(text);
  assert.ok(match, `${name} is declared`);
  return [...match[1]!.matchAll(/'([a-z][a-z0-9-]*)'/g)].map((m) => m[1]!);
}

describe('errors in words', () => {
  it('every code of the engine, the crypto, the wire and the relay has a sentence of its own', () => {
    const crypto = source('crypto/src/errors.ts');
    const codes = new Set([
      ...union(crypto, 'EnvelopeErrorCode'),
      ...union(crypto, 'MembershipErrorCode'),
      ...union(crypto, 'WrapWorkerErrorCode'),
      ...union(source('protocol/src/codec.ts'), 'WireErrorCode'),
      ...union(source('protocol/src/messages.ts'), 'RelayErrorCode'),
      ...union(source('core/src/transport.ts'), 'TransportErrorCode'),
      ...union(source('core/src/storage.ts'), 'StorageErrorCode'),
      ...union(source('core/src/device-key.ts'), 'AtRestErrorCode'),
      ...union(source('core/src/sync-error.ts'), 'SyncErrorCode'),
      ...union(source('core/src/member-names.ts'), 'MemberNameErrorCode'),
      ...union(source('core/src/leave-rotation.ts'), 'RekeyErrorCode'),
    ]);
    // Every file of the relay (it is split by duty): any refusal it can send a member (a
    // Refusal, or an error frame). The operator's tools (the backup command) speak to the
    // operator on the command line, not to members.
    const relayFiles = readdirSync(new URL('../../relay/src/', import.meta.url)).filter((f) => f.endsWith('.ts'));
    assert.ok(relayFiles.length > 10);
    const sent = new Set<string>();
    for (const file of relayFiles)
      for (const m of source(`relay/src/${file}`).matchAll(/(?:Refusal\(|type: 'error', ref: [^,]+, code: )'([a-z][a-z0-9-]*)'/g)) sent.add(m[1]!);
    for (const code of ['busy', 'internal', 'not-a-member']) assert.ok(sent.has(code), `the scan finds ${code}`);
    for (const code of sent) codes.add(code);
    const generic = describeError({ code: 'no-such-code' });
    const missing = [...codes].filter((code) => describeError({ code }) === generic);
    assert.deepEqual(missing, [], 'codes without words');
  });
});
