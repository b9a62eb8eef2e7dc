// Which native backend the package's `#native` import resolves to: Node's (node:crypto and
// worker threads) under Node, none in a browser, whose bundles must never reach node:crypto.
// Either way a removal's wraps open for the members, under every backend.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createGroup, Keyring, MembershipLog, removeMember, unlockEpochSecrets, useCryptoBackend } from '@sealdoc/crypto';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { _native } from '#native';
import { _aeadOpen, _aeadSeal } from '../dist/primitives.js';
import { testIdentity } from './helpers.js';

const inNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string' && typeof window === 'undefined';

describe('#native', () => {
  after(() => useCryptoBackend('auto'));

  it(inNode ? 'is Node\'s native backend under Node' : 'is none in a browser', () => {
    if (inNode) assert.equal(_native?.name, 'node');
    else assert.equal(_native, undefined);
  });

  it('_aeadSeal/_aeadOpen: the bytes of @noble/ciphers on the default path and when forced to noble; a changed byte does not open', () => {
    for (const backend of ['auto', 'noble'] as const) {
      useCryptoBackend(backend);
      for (const [aadLength, length] of [[0, 0], [0, 32], [13, 100], [5, 4096]] as const) {
        const key = crypto.getRandomValues(new Uint8Array(32));
        const nonce = crypto.getRandomValues(new Uint8Array(12));
        const aad = crypto.getRandomValues(new Uint8Array(aadLength));
        const plaintext = crypto.getRandomValues(new Uint8Array(length));
        const sealed = _aeadSeal(key, nonce, aad, plaintext);
        assert.deepEqual(sealed, chacha20poly1305(key, nonce, aad).encrypt(plaintext));
        assert.deepEqual(_aeadOpen(key, nonce, aad, sealed), plaintext);
        const bad = sealed.slice();
        bad[0]! ^= 1;
        assert.equal(_aeadOpen(key, nonce, aad, bad), undefined);
        assert.equal(_aeadOpen(key, nonce, crypto.getRandomValues(new Uint8Array(3)), sealed), undefined);
      }
    }
    useCryptoBackend('auto');
  });

  it('a removal built by the default path unlocks for the members under every backend', async () => {
    const admin = testIdentity('admin');
    const others = Array.from({ length: 40 }, (_, i) => testIdentity(`member ${i}`));
    const create = await createGroup(admin, { members: others.map((keys) => ({ keys, role: 'writer' as const })) });
    useCryptoBackend('auto');
    const log = await MembershipLog.fromOps([create]);
    const keyring = new Keyring();
    await unlockEpochSecrets(log, admin, keyring);
    const op = await removeMember(log, { signer: admin, keyring }, others[0]!.memberId, null);
    for (const reader of ['noble', 'webcrypto'] as const) {
      useCryptoBackend(reader);
      const theirs = await MembershipLog.fromOps([create]);
      const ring = new Keyring();
      await unlockEpochSecrets(theirs, others[39]!, ring);
      await theirs.append(op);
      assert.deepEqual(await unlockEpochSecrets(theirs, others[39]!, ring), [1]);
    }
  });
});
