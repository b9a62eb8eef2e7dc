// The verify pool (verify-pool.ts) makes the checks verifyEnvelope makes, on worker threads (or
// on the calling thread, for a turn that asks one, or a few while the main thread is mostly
// idle): the same outcome and the same error code for every envelope, whatever the thread.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createGroup, EnvelopeError, generateMnemonic, identityFromMnemonic, Keyring, MembershipLog, sealEnvelope, unlockEpochSecrets, verifyEnvelope, type EnvelopeKind, type VerifyContext } from '@sealdoc/crypto';
import { readEnvelope } from '@sealdoc/crypto';
import { VerifyPool, type VerifyPoolOptions } from '../dist/verify-pool.js';

async function fixture() {
  const [admin, writer, reader, outsider] = Array.from({ length: 4 }, () => identityFromMnemonic(generateMnemonic()));
  const log = await MembershipLog.fromOps([
    await createGroup(admin!, {
      members: [
        { keys: writer!, role: 'writer' as const },
        { keys: reader!, role: 'reader' as const },
      ],
    }),
  ]);
  const seal = async (author: typeof admin, kind: EnvelopeKind, seq = 0) => {
    const keyring = new Keyring();
    // An outsider holds no key of the group: it seals under the admin's keyring, as a stolen key would.
    await unlockEpochSecrets(log, author === outsider ? admin! : author!, keyring);
    return sealEnvelope({ kind, groupId: log.groupId, docId: new Uint8Array(16).fill(3), epoch: log.epoch, seq, head: log.head, author: author!, keyring, plaintext: new Uint8Array(40).fill(seq) });
  };
  const good = await seal(writer, 'update');
  const tampered = good.slice();
  tampered[tampered.length - 1]! ^= 1;
  const tamperedBody = good.slice();
  tamperedBody[200]! ^= 1;
  const cases: [string, Uint8Array][] = [
    ['a writer', good],
    ['the admin', await seal(admin, 'snapshot', 1)],
    ['a flipped signature bit', tampered],
    ['a flipped ciphertext bit', tamperedBody],
    ['a reader', await seal(reader, 'update', 2)],
    ['an outsider', await seal(outsider, 'update', 3)],
    ['a kind not accepted', await seal(writer, 'awareness', 4)],
  ];
  return { log, cases };
}

/** A pool of one thread that never answers (given up after 300 ms): what resolves was checked on the calling thread. */
function silentPool(maxQueued: number, options: VerifyPoolOptions = {}): VerifyPool {
  return new VerifyPool(1, maxQueued, { stallMs: 300, workerUrl: new URL('./fixtures/silent-verify-worker.mjs', import.meta.url), ...options });
}

/** What verifyEnvelope says: 'ok' or the error code. */
async function outcome(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return 'ok';
  } catch (error) {
    assert.ok(error instanceof EnvelopeError, `an EnvelopeError, not ${String(error)}`);
    return error.code;
  }
}

for (const threads of [2, 0]) {
  test(`verify pool with ${threads} threads: the outcome and code of verifyEnvelope for every envelope`, async () => {
    const { log, cases } = await fixture();
    // Only a lone check inline: two in a turn go to the threads, whatever the main thread's load.
    const pool = new VerifyPool(threads, 100_000, { inlineBelow: 0 });
    try {
      const contexts: VerifyContext[] = [log.verifyContext({ kinds: ['update', 'snapshot'] }), log.verifyContext(), log.verifyContext({ docId: new Uint8Array(16).fill(4) })];
      for (const context of contexts)
        for (const [what, bytes] of cases) {
          const expected = await outcome(() => verifyEnvelope(bytes, context));
          // Alone in its turn (checked on the calling thread), and two in a turn (on the threads, when there are).
          const got = await outcome(() => pool.verify(readEnvelope(bytes), context));
          assert.equal(got, expected, what);
          const pair = await Promise.all([0, 1].map(() => outcome(() => pool.verify(readEnvelope(bytes), context))));
          assert.deepEqual(pair, [expected, expected], what);
        }
      // Many at once, answered each to its own request.
      const results = await Promise.all(cases.flatMap(([, bytes]) => Array.from({ length: 20 }, () => outcome(() => pool.verify(readEnvelope(bytes), contexts[0]!)))));
      const expected = await Promise.all(cases.flatMap(([, bytes]) => Array.from({ length: 20 }, () => outcome(() => verifyEnvelope(bytes, contexts[0]!)))));
      assert.deepEqual(results, expected);
      assert.ok(expected.includes('ok') && expected.includes('bad-signature') && expected.includes('not-a-writer') && expected.includes('not-a-member') && expected.includes('wrong-kind'));
      assert.equal(pool.threads, threads);
    } finally {
      await pool.close();
    }
  });
}

test('verify pool: after close it verifies inline, and refuses past its bound', async () => {
  const { log, cases } = await fixture();
  const context = log.verifyContext({ kinds: ['update', 'snapshot'] });
  const [, good] = cases[0]!;
  const pool = new VerifyPool(1);
  await pool.verify(readEnvelope(good), context);
  await pool.close();
  assert.equal(pool.threads, 0);
  await pool.verify(readEnvelope(good), context);
  const bounded = new VerifyPool(1, 2);
  try {
    const all = await Promise.allSettled(Array.from({ length: 5 }, () => bounded.verify(readEnvelope(good), context)));
    assert.deepEqual(
      all.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'rejected', 'rejected', 'rejected'],
    );
    assert.equal((all[2] as PromiseRejectedResult).reason.name, 'VerifyPoolError');
    // A full queue is "busy" (the push is answered busy, by its ref), not a failure of the relay.
    assert.equal((all[2] as PromiseRejectedResult).reason.busy, true);
  } finally {
    await bounded.close();
  }
});

test('verify pool: a thread that stops answering is given up; its requests fail (typed), the checks go on inline', async () => {
  const { log, cases } = await fixture();
  const context = log.verifyContext({ kinds: ['update', 'snapshot'] });
  const [, good] = cases[0]!;
  const pool = silentPool(100, { inlineBelow: 0 });
  try {
    await pool.prepare();
    assert.equal(pool.threads, 1);
    // Two in a turn go to the thread, which never answers.
    const started = performance.now();
    const stuck = await Promise.allSettled([0, 1].map(() => pool.verify(readEnvelope(good), context)));
    const waited = performance.now() - started;
    for (const r of stuck) {
      assert.equal(r.status, 'rejected');
      assert.equal((r as PromiseRejectedResult).reason.name, 'VerifyPoolError');
      assert.match((r as PromiseRejectedResult).reason.message, /stopped answering/);
    }
    assert.ok(waited >= 300 && waited < 5000, `given up after ${waited} ms`);
    assert.equal(pool.threads, 0);
    // The pool serves on, inline, with the same outcomes.
    await Promise.all([0, 1].map(() => pool.verify(readEnvelope(good), context)));
  } finally {
    await pool.close();
  }
});

test('verify pool: while the main thread is mostly idle, a turn of up to 32 checks is made inline; a busier turn goes to the threads', async () => {
  const { log, cases } = await fixture();
  const context = log.verifyContext({ kinds: ['update', 'snapshot'] });
  const [, good] = cases[0]!;
  const [, tampered] = cases[2]!;
  // A thread that never answers: what resolves was checked on this thread.
  const pool = silentPool(1000);
  try {
    await pool.prepare();
    // This test's main thread waits most of the time: 32 checks in a turn are made here, with their outcomes.
    const here = await Promise.all(Array.from({ length: 32 }, (_, i) => outcome(() => pool.verify(readEnvelope(i % 2 ? tampered : good), context))));
    assert.deepEqual(here, Array.from({ length: 32 }, (_, i) => (i % 2 ? 'bad-signature' : 'ok')));
    assert.equal(pool.threads, 1);
    // 33 in a turn go to the thread (which never answers, and is given up).
    const busier = await Promise.allSettled(Array.from({ length: 33 }, () => pool.verify(readEnvelope(good), context)));
    assert.ok(busier.every((r) => r.status === 'rejected' && (r.reason as Error).name === 'VerifyPoolError'));
    assert.equal(pool.threads, 0);
  } finally {
    await pool.close();
  }
});

test('verify pool: a main thread busy more than inlineBelow of the last window hands a turn of two checks to the threads', async () => {
  const { log, cases } = await fixture();
  const context = log.verifyContext({ kinds: ['update', 'snapshot'] });
  const [, good] = cases[0]!;
  const pool = silentPool(100, { inlineBelow: 0.05 });
  try {
    await pool.prepare();
    // Busy for 250 ms, most of the window since the pool was made.
    const until = performance.now() + 250;
    while (performance.now() < until);
    const stuck = await Promise.allSettled([0, 1].map(() => pool.verify(readEnvelope(good), context)));
    assert.ok(stuck.every((r) => r.status === 'rejected' && (r.reason as Error).name === 'VerifyPoolError'));
    // A lone check is still made here.
    await pool.verify(readEnvelope(good), context);
  } finally {
    await pool.close();
  }
});

test('verify pool: inlineBelow is a share from 0 to 1', () => {
  for (const inlineBelow of [-0.1, 1.5, Number.NaN]) assert.throws(() => new VerifyPool(1, 100, { inlineBelow }), RangeError);
});
