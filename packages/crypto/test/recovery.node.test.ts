// Recovery from the phrase in a fresh process: nothing survives but the words and the log.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  addMember,
  createGroup,
  generateMnemonic,
  identityFromMnemonic,
  Keyring,
  MembershipLog,
  removeMember,
  rotateEpoch,
  unlockEpochSecrets,
} from '@sealdoc/crypto';
import { toHex } from './helpers.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/recover.ts', import.meta.url));

function recoverInFreshProcess(words: string, ops: Uint8Array[]) {
  const child = spawnSync(process.execPath, ['--import', 'tsx', SCRIPT], {
    input: JSON.stringify({ words, ops: ops.map(toHex) }),
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as { memberId: string; epochs: number[]; secrets: string[] };
}

describe('recovery from the phrase', () => {
  it('a fresh process with the words and the log recovers exactly the entitled secrets', async () => {
    const words = {
      alice: generateMnemonic(new Uint8Array(32).fill(0xa1)),
      bob: generateMnemonic(new Uint8Array(32).fill(0xb0)),
      carol: generateMnemonic(new Uint8Array(32).fill(0xca)),
    };
    const [alice, bob, carol] = [words.alice, words.bob, words.carol].map((w) => identityFromMnemonic(w));
    const keys = new Keyring();
    const log = await MembershipLog.fromOps([await createGroup(alice!)]);
    await unlockEpochSecrets(log, alice!, keys);
    const by = { signer: alice!, keyring: keys };
    const step = async (op: Promise<Uint8Array>) => {
      await log.append(await op);
      await unlockEpochSecrets(log, alice!, keys);
    };
    await step(addMember(log, by, bob!, 'writer')); // epoch 1
    await step(rotateEpoch(log, by)); // 2
    await step(addMember(log, by, carol!, 'reader')); // 3
    await step(removeMember(log, by, bob!.memberId, null)); // 4
    await step(rotateEpoch(log, by)); // 5

    const expected = { alice: [0, 1, 2, 3, 4, 5], bob: [1, 2, 3], carol: [3, 4, 5] };
    for (const name of ['alice', 'bob', 'carol'] as const) {
      const got = recoverInFreshProcess(words[name], log.ops());
      assert.equal(got.memberId, toHex(identityFromMnemonic(words[name]).memberId));
      assert.deepEqual(got.epochs, expected[name], name);
      assert.deepEqual(got.secrets, got.epochs.map((e) => toHex(keys._secret(log.groupId, e)!)), name);
    }
  });
});
