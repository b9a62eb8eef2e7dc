import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { entropyToMnemonic, mnemonicToSeedSync } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import {
  CryptoInputError,
  MnemonicError,
  generateMnemonic,
  identityFromMnemonic,
  identityFromSeed,
  seedFromMnemonic,
  memberIdOf,
  signMessage,
  verifyMessage,
  validateMnemonic,
  isMnemonicWord,
} from '@sealdoc/crypto';
import { BIP39_ENGLISH, BIP39_PASSPHRASE } from './vectors/bip39-trezor.js';
import { hex, toHex, utf8 } from './helpers.js';

const ABANDON_ART = `${'abandon '.repeat(23)}art`;
const LEGAL_TITLE =
  'legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth title';

/** The derivation of docs/identity.md, written out with noble as a second implementation. */
function expectedKeys(seed: Uint8Array) {
  const salt = utf8('sealdoc/v1/identity');
  const signingSeed = hkdf(sha256, seed, salt, utf8('sealdoc/v1/identity/ed25519'), 32);
  const agreementSecret = hkdf(sha256, seed, salt, utf8('sealdoc/v1/identity/x25519'), 32);
  const signingPublicKey = ed25519.getPublicKey(signingSeed);
  return {
    signingPublicKey: toHex(signingPublicKey),
    agreementPublicKey: toHex(x25519.getPublicKey(agreementSecret)),
    memberId: toHex(sha256(new Uint8Array([...utf8('sealdoc/v1/member-id'), ...signingPublicKey]))),
  };
}

describe('BIP39 (trezor vectors)', () => {
  const full = BIP39_ENGLISH.filter(([entropy]) => entropy.length === 64);

  it('has the 24-word vectors', () => assert.equal(full.length, 8));

  it('entropy -> mnemonic for every 24-word vector', () => {
    for (const [entropy, mnemonic] of full) assert.equal(generateMnemonic(hex(entropy)), mnemonic);
  });

  it('mnemonic -> seed -> identity for every 24-word vector', () => {
    for (const [, mnemonic, seed] of full) {
      const id = identityFromMnemonic(mnemonic, { passphrase: BIP39_PASSPHRASE });
      const want = expectedKeys(hex(seed));
      assert.equal(toHex(id.signingPublicKey), want.signingPublicKey);
      assert.equal(toHex(id.agreementPublicKey), want.agreementPublicKey);
      assert.equal(toHex(id.memberId), want.memberId);
    }
  });

  it('seedFromMnemonic gives the vectors\' seeds, and identityFromSeed the same identity', () => {
    for (const [, mnemonic, seed] of full) {
      assert.equal(toHex(seedFromMnemonic(mnemonic, { passphrase: BIP39_PASSPHRASE })), seed);
      const id = identityFromSeed(hex(seed));
      assert.equal(toHex(id.memberId), expectedKeys(hex(seed)).memberId);
    }
    assert.throws(() => identityFromSeed(new Uint8Array(63)), { name: 'CryptoInputError' });
    assert.throws(() => seedFromMnemonic('abandon abandon'), { name: 'MnemonicError', code: 'bad-length' });
  });

  it('the BIP39 library agrees with every vector, 12 to 24 words', () => {
    for (const [entropy, mnemonic, seed] of BIP39_ENGLISH) {
      assert.equal(entropyToMnemonic(hex(entropy), wordlist), mnemonic);
      assert.equal(toHex(mnemonicToSeedSync(mnemonic, BIP39_PASSPHRASE)), seed);
    }
  });

  it('refuses the shorter vectors: a Sealdoc phrase has 24 words', () => {
    for (const [entropy, mnemonic] of BIP39_ENGLISH.filter(([e]) => e.length !== 64)) {
      assert.throws(() => identityFromMnemonic(mnemonic), { name: 'MnemonicError', code: 'bad-length' }, entropy);
    }
  });
});

describe('identity derivation (Sealdoc vectors, docs/identity.md)', () => {
  const vectors = [
    {
      words: ABANDON_ART,
      passphrase: '',
      memberId: 'a7489057347ef77ff31ee31194deb976c6fa5ae7d9b0c3b30849c0e10fb47fb3',
      signingPublicKey: 'd1a7c5415c1fbe6165f6661acb34e0d4f65e6fb92dad51f10dfa7ad64a39a9c1',
      agreementPublicKey: 'c695fee87589a4ce57482b48ff5b305d649d1bdafe7bdcf077ed5ff201c94c64',
    },
    {
      words: LEGAL_TITLE,
      passphrase: '',
      memberId: 'e73e1d6a70de4b6d7e03c59eaea0821af2249304023f338a87d3fad92c7ed3fb',
      signingPublicKey: 'd6d754c0b5636a288322a7ce8e1378828cde01d3650cce6f7b6b0b991a70c7ec',
      agreementPublicKey: 'dad13a282a2360562ce2cb932c2b5e2df2ce067e42e49a3c91edfb3921ceb808',
    },
    {
      words: LEGAL_TITLE,
      passphrase: 'TREZOR',
      memberId: 'bfe8d340ab30fa717b684ee4a32d940fab4bc2e7e576793cbd3c9782485253ba',
      signingPublicKey: '24958bf170f1a8d41dc7390bcbee782956542fa51af495c2a3742b2880a716e8',
      agreementPublicKey: '170b658d7f25c522f0a3ed0c399734526024e29068e589e6926cd7cd9d4d3c42',
    },
  ];

  it('matches the fixed vectors', () => {
    for (const v of vectors) {
      const id = identityFromMnemonic(v.words, { passphrase: v.passphrase });
      assert.equal(toHex(id.memberId), v.memberId);
      assert.equal(toHex(id.signingPublicKey), v.signingPublicKey);
      assert.equal(toHex(id.agreementPublicKey), v.agreementPublicKey);
    }
  });

  it('matches the documented intermediate keys', () => {
    const seed = mnemonicToSeedSync(ABANDON_ART, '');
    const salt = utf8('sealdoc/v1/identity');
    assert.equal(toHex(hkdf(sha256, seed, salt, utf8('sealdoc/v1/identity/ed25519'), 32)), 'e1bc5355dfe2b78148fe02321185f46a6d4b80a5538b58489cca727f77ac7828');
    assert.equal(toHex(hkdf(sha256, seed, salt, utf8('sealdoc/v1/identity/x25519'), 32)), '5dfb41df62c749bb254621463bc94f38a26d1fb88744db10367562a55b0db983');
  });

  it('is deterministic and forgives case and spacing', () => {
    const a = identityFromMnemonic(LEGAL_TITLE);
    const b = identityFromMnemonic(`  ${LEGAL_TITLE.toUpperCase().replaceAll(' ', '  \n')} `);
    const c = identityFromMnemonic(LEGAL_TITLE.split(' '));
    assert.deepEqual(a.memberId, b.memberId);
    assert.deepEqual(a.memberId, c.memberId);
  });

  it('a different BIP39 passphrase gives a different identity', () => {
    assert.notDeepEqual(identityFromMnemonic(LEGAL_TITLE).memberId, identityFromMnemonic(LEGAL_TITLE, { passphrase: 'x' }).memberId);
  });

  it('memberIdOf computes the id of any signing key', () => {
    const id = identityFromMnemonic(ABANDON_ART);
    assert.deepEqual(memberIdOf(id.signingPublicKey), id.memberId);
    assert.throws(() => memberIdOf(new Uint8Array(32)), CryptoInputError, 'the identity point is of small order');
  });

  it('generates fresh 24-word phrases that validate', () => {
    const a = generateMnemonic();
    const b = generateMnemonic();
    assert.equal(a.split(' ').length, 24);
    assert.notEqual(a, b);
    validateMnemonic(a);
  });
});

describe('recovery phrase errors', () => {
  const words = LEGAL_TITLE.split(' ');

  it('an unknown word names its position, not the word', () => {
    const bad = [...words];
    bad[6] = 'worthh';
    assert.throws(() => identityFromMnemonic(bad), (e: unknown) => {
      assert.ok(e instanceof MnemonicError);
      assert.equal(e.code, 'unknown-word');
      assert.equal(e.index, 6);
      assert.doesNotMatch(e.message, /worthh/);
      return true;
    });
  });

  it('words are checked one by one as they are typed', () => {
    for (const w of words) assert.ok(isMnemonicWord(w), w);
    assert.ok(isMnemonicWord(' Abandon '));
    for (const w of ['worthh', '', 'aban', 'zoo zoo']) assert.ok(!isMnemonicWord(w), w);
  });

  it('a wrong checksum is a typed error', () => {
    const swapped = [...words];
    [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
    assert.throws(() => validateMnemonic(swapped), { code: 'bad-checksum' });
    const last = [...words];
    last[23] = 'zoo';
    assert.throws(() => identityFromMnemonic(last), { code: 'bad-checksum' });
  });

  it('a wrong length is a typed error', () => {
    assert.throws(() => validateMnemonic(words.slice(0, 23)), { code: 'bad-length' });
    assert.throws(() => validateMnemonic([...words, 'zoo']), { code: 'bad-length' });
    assert.throws(() => validateMnemonic(''), { code: 'bad-length' });
  });

  it('fuzz: random text is refused with a MnemonicError, never a crash', () => {
    const word = fc.oneof(fc.constantFrom(...wordlist), fc.string({ maxLength: 9 }));
    fc.assert(
      fc.property(fc.array(word, { maxLength: 30 }), (list) => {
        try {
          validateMnemonic(list.join(' '));
        } catch (e) {
          assert.ok(e instanceof MnemonicError, String(e));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a non-string argument is a CryptoInputError', () => {
    assert.throws(() => identityFromMnemonic(42 as unknown as string), CryptoInputError);
  });
});

describe('identity secrets', () => {
  it('are not visible on the object', () => {
    const id = identityFromMnemonic(ABANDON_ART);
    assert.deepEqual(Object.keys(id).sort(), ['agreementPublicKey', 'memberId', 'signingPublicKey']);
    const json = JSON.stringify(id);
    const seedBytes = Array.from(hex('e1bc5355dfe2b78148fe02321185f46a6d4b80a5538b58489cca727f77ac7828')).join(',');
    assert.ok(!json.replace(/"\d+":/g, '').includes(seedBytes));
  });

  it('are gone after wipe()', async () => {
    const id = identityFromMnemonic(ABANDON_ART);
    await signMessage(id, 'test', new Uint8Array(1));
    id.wipe();
    assert.equal(id.wiped, true);
    await assert.rejects(signMessage(id, 'test', new Uint8Array(1)), CryptoInputError);
  });
});

describe('domain-separated signatures', () => {
  it('bind the context: each of many contexts (more than are kept encoded) verifies under its own alone; an empty, overlong or non-string context is refused', async () => {
    const id = identityFromMnemonic(ABANDON_ART);
    const message = new Uint8Array([1, 2, 3]);
    const contexts = Array.from({ length: 40 }, (_, i) => `context-${i}`);
    const signatures = await Promise.all(contexts.map((c) => signMessage(id, c, message)));
    for (const [i, c] of contexts.entries()) {
      assert.equal(await verifyMessage(id.signingPublicKey, c, message, signatures[i]!), true, c);
      assert.equal(await verifyMessage(id.signingPublicKey, c, message, signatures[(i + 1) % contexts.length]!), false, c);
    }
    for (const bad of ['', 'x'.repeat(256), 42 as unknown as string]) {
      await assert.rejects(signMessage(id, bad, message), CryptoInputError);
      await assert.rejects(verifyMessage(id.signingPublicKey, bad, message, signatures[0]!), CryptoInputError);
    }
  });
});
