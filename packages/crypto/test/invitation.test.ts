import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  createInvitation,
  decodeInvitation,
  encodeInvitation,
  generateMnemonic,
  identityFromMnemonic,
  invitationId,
  InvitationError,
  openJoinRequest,
  randomId,
  safetyCode,
  sealJoinRequest,
  signMessage,
} from '@sealdoc/crypto';
import { toHex, utf8 } from './helpers.js';

const code = async (work: () => unknown) => {
  try {
    await work();
  } catch (e) {
    return e instanceof InvitationError ? e.code : `not an InvitationError: ${String(e)}`;
  }
  return 'no error';
};

describe('invitations', () => {
  const groupId = randomId();
  const invitee = identityFromMnemonic(generateMnemonic());

  it('an invitation round-trips through its link code; its id is fixed by the secret and reveals nothing of it', () => {
    const invitation = createInvitation(groupId, 'writer', 60_000);
    const text = encodeInvitation(invitation);
    assert.match(text, /^[A-Za-z0-9_-]{78}$/);
    assert.deepEqual(decodeInvitation(text), invitation);
    assert.ok(invitation.expiresAt > Date.now() && invitation.expiresAt <= Date.now() + 60_000);
    assert.deepEqual(invitationId(invitation), invitationId(decodeInvitation(text)));
    assert.equal(invitationId(invitation).length, 16);
    assert.ok(!toHex(invitation.secret).includes(toHex(invitationId(invitation)).slice(0, 8)));
    assert.notDeepEqual(invitationId(createInvitation(groupId, 'writer')), invitationId(invitation));
  });

  it('a join request opens under its invitation only, with the keys, the member id and the name', async () => {
    const invitation = createInvitation(groupId, 'reader');
    const request = await sealJoinRequest(invitation, invitee, '  Bob Example ');
    const opened = await openJoinRequest(invitation, request);
    assert.deepEqual(opened.keys, { signingPublicKey: invitee.signingPublicKey, agreementPublicKey: invitee.agreementPublicKey });
    assert.deepEqual(opened.memberId, invitee.memberId);
    assert.equal(opened.name, 'Bob Example');
    assert.equal(await code(() => openJoinRequest(createInvitation(groupId, 'reader'), request)), 'bad-ciphertext');
    // Every flipped bit is refused with a typed error.
    for (let i = 0; i < request.length * 8; i += 7) {
      const bad = request.slice();
      bad[i >> 3]! ^= 1 << (i & 7);
      assert.notEqual(await code(() => openJoinRequest(invitation, bad)), 'no error', `bit ${i}`);
    }
    assert.equal(await code(() => openJoinRequest(invitation, request.subarray(0, 30))), 'malformed');
  });

  it('a request carrying keys its sender does not hold is refused (bad-signature), per the documented format', async () => {
    const invitation = createInvitation(groupId, 'writer');
    const mallory = identityFromMnemonic(generateMnemonic());
    const id = invitationId(invitation);
    const name = utf8('Bob');
    // Bob's public keys, signed by Mallory.
    const signed = new Uint8Array([...id, ...invitee.signingPublicKey, ...invitee.agreementPublicKey, name.length, ...name]);
    const signature = await signMessage(mallory, 'invite-request', signed);
    const plaintext = new Uint8Array([1, ...signed.subarray(16), ...signature]);
    const key = hkdf(sha256, invitation.secret, invitation.groupId, utf8('sealdoc/invite/key/v1'), 32);
    const nonce = new Uint8Array(24).fill(3);
    const request = new Uint8Array([...nonce, ...xchacha20poly1305(key, nonce, new Uint8Array([...utf8('sealdoc/invite/request/v1'), ...id])).encrypt(plaintext)]);
    assert.equal(await code(() => openJoinRequest(invitation, request)), 'bad-signature');
    // Signed by Bob, the same bytes open: the format is as documented.
    const honest = new Uint8Array([...nonce, ...xchacha20poly1305(key, nonce, new Uint8Array([...utf8('sealdoc/invite/request/v1'), ...id])).encrypt(new Uint8Array([1, ...signed.subarray(16), ...(await signMessage(invitee, 'invite-request', signed))]))]);
    assert.equal((await openJoinRequest(invitation, honest)).name, 'Bob');
  });

  it('bad codes are typed errors; a safety code reads aloud', async () => {
    const good = encodeInvitation(createInvitation(groupId, 'admin'));
    assert.equal(await code(() => decodeInvitation('not a code!')), 'malformed');
    assert.equal(await code(() => decodeInvitation(good.slice(0, -4))), 'malformed');
    assert.equal(await code(() => decodeInvitation(`B${good.slice(1)}`)), 'unsupported-version');
    assert.equal(await code(() => decodeInvitation(42 as unknown as string)), 'malformed');
    assert.match(safetyCode(invitee.memberId), /^[0-9a-f]{4}( [0-9a-f]{4}){4}$/);
  });

  it('fuzz: any code or request decodes or throws an InvitationError', async () => {
    const invitation = createInvitation(groupId, 'writer');
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 100 }), fc.uint8Array({ maxLength: 300 }), async (text, bytes) => {
        assert.ok(['no error', 'malformed', 'unsupported-version'].includes(await code(() => decodeInvitation(text))));
        assert.ok(['malformed', 'bad-ciphertext'].includes(await code(() => openJoinRequest(invitation, bytes))));
      }),
      { numRuns: 500 },
    );
  });
});
