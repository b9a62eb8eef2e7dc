import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import { BACKUP_SCRYPT_DEFAULT, BACKUP_SCRYPT_MIN, BackupError, CryptoInputError, openBackup, sealBackup } from '@sealdoc/crypto';
import { errorCode, flipBit, utf8 } from './helpers.js';

// Tests seal at the floor cost (the weakest a file may claim) to keep each key derivation
// near a third of a second; the default cost is checked once.
const FAST = { scrypt: BACKUP_SCRYPT_MIN };
const PASSPHRASE = 'correct horse battery staple';
const PAYLOAD = utf8('{"identity":"…","documents":["plans"]}');

const backupErrorCode = (promise: Promise<unknown>) => errorCode(promise, BackupError);

/** Recomputes the trailing checksum, as an attacker who edits the file would. */
function withChecksum(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  out.set(sha256(out.subarray(0, out.length - 32)), out.length - 32);
  return out;
}

describe('backup container', () => {
  it('round-trips and records its parameters', async () => {
    const progress: number[] = [];
    const file = await sealBackup(PAYLOAD, PASSPHRASE, { ...FAST, onProgress: (f) => progress.push(f) });
    assert.deepEqual(Array.from(file.subarray(0, 9)), [0x53, 0x44, 0x42, 0x4b, 1, 1, 15, 8, 1]);
    assert.deepEqual(await openBackup(file, PASSPHRASE), PAYLOAD);
    assert.ok(progress.length > 0 && progress[progress.length - 1] === 1, 'progress reaches 1');
  });

  it('uses N = 2^17 by default', async () => {
    const file = await sealBackup(new Uint8Array(0), PASSPHRASE);
    assert.deepEqual(Array.from(file.subarray(6, 9)), [BACKUP_SCRYPT_DEFAULT.logN, 8, 1]);
    assert.deepEqual(await openBackup(file, PASSPHRASE), new Uint8Array(0));
  });

  it('normalizes the passphrase (NFC and NFD open alike)', async () => {
    const file = await sealBackup(PAYLOAD, 'caf\u00e9', FAST);
    assert.deepEqual(await openBackup(file, 'cafe\u0301'), PAYLOAD);
  });

  it('a wrong passphrase is a typed error that does not echo it', async () => {
    const file = await sealBackup(PAYLOAD, PASSPHRASE, FAST);
    await assert.rejects(openBackup(file, 'wrong horse'), (e: unknown) => {
      assert.ok(e instanceof BackupError);
      assert.equal(e.code, 'wrong-passphrase');
      assert.doesNotMatch(e.message, /horse/);
      return true;
    });
  });

  it('refuses weak, hostile and empty settings', async () => {
    assert.equal(await backupErrorCode(sealBackup(PAYLOAD, PASSPHRASE, { scrypt: { logN: 14, r: 8, p: 1 } })), 'weak-parameters');
    assert.equal(await backupErrorCode(sealBackup(PAYLOAD, PASSPHRASE, { scrypt: { logN: 15, r: 4, p: 1 } })), 'weak-parameters');
    assert.equal(await backupErrorCode(sealBackup(PAYLOAD, PASSPHRASE, { scrypt: { logN: 24, r: 8, p: 1 } })), 'too-costly');
    assert.equal(await backupErrorCode(sealBackup(PAYLOAD, '', FAST)), 'empty-passphrase');
    await assert.rejects(sealBackup('text' as unknown as Uint8Array, PASSPHRASE, FAST), CryptoInputError);
  });

  it('exhaustive tamper test: every single-bit flip is refused with a typed error', async () => {
    const file = await sealBackup(PAYLOAD, PASSPHRASE, FAST);
    const codes = new Set<string>();
    for (let bit = 0; bit < file.length * 8; bit++) codes.add(await backupErrorCode(openBackup(flipBit(file, bit), PASSPHRASE)));
    // The checksum catches accidental damage before the slow key derivation; flips of the
    // magic, version and KDF bytes are reported as what they are.
    assert.deepEqual([...codes].sort(), ['corrupted', 'malformed', 'unsupported-kdf', 'unsupported-version']);
  });

  it('deliberate tampering with the checksum fixed up is still refused, field by field', async () => {
    const file = await sealBackup(PAYLOAD, PASSPHRASE, FAST);
    const expectations: [string, number, string][] = [
      ['log2 N lowered', 6 * 8, 'weak-parameters'],
      ['log2 N raised', 6 * 8 + 4, 'too-costly'],
      ['p raised to 17', 8 * 8 + 4, 'too-costly'],
      ['salt', 9 * 8 + 3, 'wrong-passphrase'],
      ['nonce', 25 * 8 + 5, 'wrong-passphrase'],
      ['commitment', 49 * 8, 'wrong-passphrase'],
      ['ciphertext', 81 * 8 + 7, 'tampered'],
      ['tag', (file.length - 33) * 8, 'tampered'],
    ];
    for (const [field, bit, code] of expectations) {
      assert.equal(await backupErrorCode(openBackup(withChecksum(flipBit(file, bit)), PASSPHRASE)), code, field);
    }
  });

  it('fuzz: random and truncated files are BackupErrors, never crashes', async () => {
    const file = await sealBackup(PAYLOAD, PASSPHRASE, FAST);
    for (let n = 0; n < file.length; n++) await backupErrorCode(openBackup(file.subarray(0, n), PASSPHRASE));
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        await backupErrorCode(openBackup(bytes, PASSPHRASE));
      }),
      { numRuns: 300 },
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (tail) => {
        await backupErrorCode(openBackup(new Uint8Array([...file.subarray(0, 9), ...tail]), PASSPHRASE));
      }),
      { numRuns: 300 },
    );
  });
});
