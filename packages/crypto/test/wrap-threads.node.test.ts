// The wrap pool in Node (worker_threads running node:crypto): a large op whose wraps the workers
// made verifies and unwraps on every backend; the calling thread makes ranges of it too, from the
// first op on, without waiting for the workers to start; small ops stay on it; a worker that
// exits or stops answering mid-op fails the op with a typed error, builds nothing, and the pool
// recovers; idle workers keep no process alive, busy ones keep it until the op is done; and
// hundreds of ops through the workers beside seals on the main thread, in a process that
// collects garbage at almost every allocation, never deadlock (a pool did, on Node 20, before
// the JWK export of generateKeyPairSync's keys was removed).
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { HpkeError, hpkeOpen, newDeviceKeys, WrapWorkerError } from '@sealdoc/crypto';
import { _configureWrapWorkers, _resetWrapWorkers, _wrapInWorkers, _wrapWorkers } from '../dist/wrap-pool.js';
import { checkUnwraps, makeGroup, removeFirst, workerLostMidOp, type Group } from './wrap-pool-helpers.js';

const MEMBERS = 600;
const poolSize = Math.min(2, availableParallelism());
const skip = availableParallelism() < 2 ? 'one core: Node makes no wrap workers' : false;

describe('wrap workers (Node, worker_threads)', { skip }, () => {
  let group: Group;
  const settings = _configureWrapWorkers({});

  before(async () => {
    _resetWrapWorkers();
    group = await makeGroup(MEMBERS);
  });
  afterEach(() => {
    _configureWrapWorkers(settings);
  });
  after(() => {
    _resetWrapWorkers();
  });

  it(`a removal among ${MEMBERS} members is wrapped by ${poolSize} workers; it verifies and every member unwraps the same secret on every backend`, async () => {
    _configureWrapWorkers({ minWraps: 256 });
    const before = _wrapWorkers().ops;
    const op = await removeFirst(group);
    assert.equal(_wrapWorkers().ops, before + 1);
    assert.equal(_wrapWorkers().workers.length, poolSize);
    for (const backend of ['auto', 'webcrypto', 'noble'] as const) await checkUnwraps(group, op, backend);
  });

  it('an op below the threshold (512 wraps by default) stays on the calling thread', async () => {
    assert.equal(_configureWrapWorkers({}).minWraps, 512);
    _configureWrapWorkers({ minWraps: MEMBERS });
    const before = _wrapWorkers().ops;
    const op = await removeFirst(group);
    assert.equal(_wrapWorkers().ops, before);
    await checkUnwraps(group, op, 'auto');
  });

  it('the calling thread takes part: the first op starts without waiting for the workers, later ones share their ranges with them, and every wrap unwraps', async () => {
    _resetWrapWorkers();
    _configureWrapWorkers({ minWraps: 256 });
    const first = _wrapWorkers();
    assert.equal(first.workers.length, 0);
    const op = await removeFirst(group);
    assert.equal(_wrapWorkers().ops, first.ops + 1);
    assert.ok(_wrapWorkers().wrapsHere > first.wrapsHere, 'the first op waited for the workers');
    for (const backend of ['auto', 'noble'] as const) await checkUnwraps(group, op, backend);
    // The workers come up meanwhile (perhaps after the first op); then an op is shared between
    // them and this thread.
    for (const until = Date.now() + 10_000; _wrapWorkers().workers.length < poolSize && Date.now() < until; ) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(_wrapWorkers().workers.length, poolSize);
    const here = _wrapWorkers().wrapsHere;
    await checkUnwraps(group, await removeFirst(group), 'auto');
    const made = _wrapWorkers().wrapsHere - here;
    assert.ok(made > 0, 'this thread made none of the wraps');
    assert.ok(made < MEMBERS - 1, 'the workers made none of the wraps');
  });

  it('a worker that exits mid-op fails the op with WrapWorkerError worker-failed, nothing is built, and the next op has a full pool again', async () => {
    _configureWrapWorkers({ minWraps: 256 });
    await workerLostMidOp(group, () => _wrapWorkers<Worker>().workers[0]!.terminate(), 'worker-failed', poolSize);
  });

  it('a worker terminated in the middle of a large range fails the op and leaves the process running', () => {
    // Ranges of 342 wraps, from which a worker used to make its keys ahead on libuv's pool: a
    // key-pair job completing in a terminating worker aborted the whole process on Node 20.
    const child = `
      const { WrapWorkerError } = await import('@sealdoc/crypto');
      const { _configureWrapWorkers, _wrapInWorkers, _wrapWorkers } = await import(${JSON.stringify(new URL('../dist/wrap-pool.js', import.meta.url).href)});
      _configureWrapWorkers({ minWraps: 1 });
      const recipients = new Uint8Array(4096 * 64);
      for (let i = 0; i < 4096; i++) recipients[i * 64 + 32] = 9; // the X25519 base point: a valid key
      const secret = new Uint8Array(32).fill(3);
      await _wrapInWorkers(secret, new Uint8Array([1]), recipients.subarray(0, 64 * 64)); // the pool is up
      let lost = 0;
      for (let op = 0; op < 5; op++) {
        const wrapping = _wrapInWorkers(secret, new Uint8Array([2]), recipients);
        await new Promise((resolve) => setTimeout(resolve, 20));
        await _wrapWorkers().workers[0]?.terminate();
        lost += await wrapping.then(() => 0, (e) => (e instanceof WrapWorkerError ? 1 : Promise.reject(e)));
      }
      console.log('alive', lost > 0);
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8', timeout: 120_000, cwd: new URL('..', import.meta.url) });
    assert.equal(run.signal, null, `the process ended by ${run.signal} (${run.stderr})`);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'alive true');
  });

  it('a worker that does not answer in time fails the op with WrapWorkerError worker-timeout and is replaced', async () => {
    _configureWrapWorkers({ minWraps: 256 });
    await removeFirst(group);
    _configureWrapWorkers({ minWraps: 256, taskMs: 1 });
    await assert.rejects(removeFirst(group), (error: unknown) => error instanceof WrapWorkerError && error.code === 'worker-timeout');
    _configureWrapWorkers({ minWraps: 256, taskMs: settings.taskMs });
    const ops = _wrapWorkers().ops;
    await checkUnwraps(group, await removeFirst(group), 'auto');
    assert.equal(_wrapWorkers().ops, ops + 1);
    assert.equal(_wrapWorkers().workers.length, poolSize);
  });

  it('every wrap the workers make has an ephemeral key of its own and opens only with its device\'s info', async () => {
    _configureWrapWorkers({ minWraps: 256 });
    const keys = Array.from({ length: 600 }, () => newDeviceKeys());
    const recipients = new Uint8Array(600 * 64);
    keys.forEach((k, i) => {
      recipients.set(k.memberId, i * 64);
      recipients.set(k.agreementPublicKey, i * 64 + 32);
    });
    const secret = new Uint8Array(32).fill(5);
    const info = new Uint8Array([7, 7]);
    const ops = _wrapWorkers().ops;
    const wraps = (await _wrapInWorkers(secret, info, recipients))!;
    assert.equal(_wrapWorkers().ops, ops + 1);
    const encs = new Set<string>();
    for (let i = 0; i < 600; i++) encs.add(Buffer.from(wraps.subarray(i * 80, i * 80 + 32)).toString('hex'));
    assert.equal(encs.size, 600);
    for (const i of [0, 299, 599]) {
      const wrap = { enc: wraps.subarray(i * 80, i * 80 + 32), ciphertext: wraps.subarray(i * 80 + 32, i * 80 + 80) };
      assert.deepEqual(await hpkeOpen(keys[i]!, wrap, { info: new Uint8Array([...info, ...keys[i]!.memberId]) }), secret);
      await assert.rejects(hpkeOpen(keys[i]!, wrap, { info: new Uint8Array([...info, ...keys[(i + 1) % 600]!.memberId]) }), (e: unknown) => e instanceof HpkeError && e.code === 'open-failed');
    }
  });

  it('a low-order recipient key in any range (a worker\'s or the calling thread\'s) is HpkeError bad-key, and the workers stay', async () => {
    _configureWrapWorkers({ minWraps: 256 });
    const recipients = new Uint8Array(600 * 64);
    for (let i = 0; i < 600; i++) recipients[i * 64 + 32] = 9; // the base point: a valid key
    recipients.fill(0, 450 * 64 + 32, 450 * 64 + 64); // the zero point: low order
    const failures = _wrapWorkers().failures;
    await assert.rejects(_wrapInWorkers(new Uint8Array(32).fill(1), new Uint8Array([1]), recipients), (e: unknown) => e instanceof HpkeError && e.code === 'bad-key');
    assert.equal(_wrapWorkers().failures, failures);
    assert.equal(_wrapWorkers().workers.length, poolSize);
  });

  it('a script whose last act is a large removal waits for its wraps, then exits at once with its workers idle', () => {
    const child = `
      const { createGroup, Keyring, MembershipLog, newDeviceKeys, removeMember, unlockEpochSecrets } = await import('@sealdoc/crypto');
      const { _configureWrapWorkers, _wrapWorkers } = await import(${JSON.stringify(new URL('../dist/wrap-pool.js', import.meta.url).href)});
      _configureWrapWorkers({ minWraps: 256 });
      const admin = newDeviceKeys();
      const members = Array.from({ length: 400 }, newDeviceKeys);
      const create = await createGroup(admin, { members: members.map((keys) => ({ keys, role: 'writer' })) });
      const log = await MembershipLog.fromOps([create]);
      const keyring = new Keyring();
      await unlockEpochSecrets(log, admin, keyring);
      const op = await removeMember(log, { signer: admin, keyring }, members[0].memberId, null);
      console.log(_wrapWorkers().ops, op.length > 400 * 80);
    `;
    const started = Date.now();
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8', timeout: 60_000, cwd: new URL('..', import.meta.url) });
    assert.equal(run.signal, null, `killed after 60 s: idle workers kept the process alive (${run.stderr})`);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), '2 true'); // the create op and the removal
    // The idle timer (a minute) does not hold it either.
    assert.ok(Date.now() - started < 45_000);
  });

  it('hundreds of ops through the workers beside seals on the main thread, collecting garbage at almost every allocation, do not deadlock', () => {
    const child = `
      const { _native } = await import(${JSON.stringify(new URL('../dist/native.node.js', import.meta.url).href)});
      const { _configureWrapWorkers, _wrapInWorkers } = await import(${JSON.stringify(new URL('../dist/wrap-pool.js', import.meta.url).href)});
      _configureWrapWorkers({ minWraps: 1 });
      const pk = new Uint8Array(32);
      pk[0] = 9; // the X25519 base point: a valid public key
      const secret = new Uint8Array(32).fill(7);
      const recipients = new Uint8Array(300 * 64);
      for (let i = 0; i < 300; i++) recipients.set(pk, i * 64 + 32);
      let seals = 0;
      for (let op = 0; op < 200; op++) {
        const wrapping = _wrapInWorkers(secret, new Uint8Array([op & 255]), recipients);
        for (let i = 0; i < 20; i++, seals++) _native.seal(pk, secret, new Uint8Array([1]), new Uint8Array(0));
        const wraps = await wrapping;
        if (!wraps || wraps.length !== 300 * 80) throw new Error('op ' + op + ': no wraps');
      }
      console.log('done', seals);
    `;
    const run = spawnSync(process.execPath, ['--max-semi-space-size=1', '--input-type=module', '-e', child], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(run.signal, null, `the process was killed after 120 s: it hung (${run.stderr})`);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'done 4000');
  });
});
