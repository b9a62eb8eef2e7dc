// One measurement of bench:relay's `inprocess` suite, in a process of its own (relay-inprocess.ts
// starts it): a build of the relay with its SQLite store, driven in this process through fake
// connections (no sockets, no server, no other process), with presealed envelopes pushed at a
// steady rate by the members of DOCS groups of PER_DOC, each subscribed to its group's document.
// Prints one JSON object: pushes made, what the relay accepted and delivered, and the CPU this
// process used per push, its main thread's and all its threads' (Linux: schedstat, exact; NaN
// elsewhere). `--driver-only`: the same pushes handed to nothing, to tell the driver's own cost.
// Usage: node --import tsx bench/relay-inprocess-run.ts [--dist DIR] [--driver-only]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createGroup, Keyring, MembershipLog, newDeviceKeys, sealEnvelope, signMessage, unlockEpochSecrets, verifyOnCallingThread } from '@sealdoc/crypto';
import { decodeWire, encodeWire, HELLO_CONTEXT } from '@sealdoc/protocol';
import type { RelayConnection } from '@sealdoc/relay';
import { clientIdOf, YWriter } from './relay-clients.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const DOCS = env('BENCH_RELAY_DOCS', 20);
const PER_DOC = env('BENCH_RELAY_PER_DOC', 5);
const PUSHES = env('BENCH_RELAY_INPROCESS_PUSHES', 15_000);
const PER_SECOND = env('BENCH_RELAY_INPROCESS_RATE', 1000);
const distAt = process.argv.indexOf('--dist');
const driverOnly = process.argv.includes('--driver-only');

// As the relay's command line does: checks made on the main thread go through Node's native
// Ed25519 (libsodium, or node:crypto's one-shot verify); for another build, in the
// @sealdoc/crypto that build resolves (which may be its own).
verifyOnCallingThread(true);
const relayModule: typeof import('@sealdoc/relay') = distAt === -1 ? await import('@sealdoc/relay') : await import(pathToFileURL(join(process.argv[distAt + 1]!, 'index.js')).href);
if (distAt !== -1) {
  const itsCrypto = createRequire(join(process.argv[distAt + 1]!, 'index.js')).resolve('@sealdoc/crypto');
  ((await import(pathToFileURL(itsCrypto).href)) as typeof import('@sealdoc/crypto')).verifyOnCallingThread(true);
}

/** CPU time of this process's threads so far, in µs: the main thread's and all of them (schedstat: time on a CPU, in ns). */
function cpuUs(): { main: number; all: number } {
  try {
    const of = (tid: string) => Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
    return { main: of(String(process.pid)), all: readdirSync('/proc/self/task').reduce((sum, tid) => sum + of(tid), 0) };
  } catch {
    return { main: Number.NaN, all: Number.NaN };
  }
}

/** A connection that keeps only the last frame it was sent (the driver reads the challenge from it). */
class Connection implements RelayConnection {
  bufferedAmount = 0;
  last: Uint8Array | undefined;
  handlers!: { receive(frame: Uint8Array): void };
  send(frame: Uint8Array): void {
    this.last = frame;
  }
  close(): void {}
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
const dir = mkdtempSync(join(tmpdir(), 'sealdoc-inprocess-'));
const store = relayModule.SqliteRelayStore.open(join(dir, 'relay.db'));
const relay = new relayModule.Relay({ store });
await relay.prepare();

const perClient = Math.ceil(PUSHES / (DOCS * PER_DOC));
const clients: { connection: Connection; frames: Uint8Array[]; next: number }[] = [];
for (let d = 0; d < DOCS; d++) {
  const docId = new Uint8Array(16).fill(d + 1);
  const ids = Array.from({ length: PER_DOC }, () => newDeviceKeys());
  const log = await MembershipLog.fromOps([await createGroup(ids[0]!, { members: ids.slice(1).map((keys) => ({ keys, role: 'writer' as const })) })]);
  for (const [c, id] of ids.entries()) {
    const keyring = new Keyring();
    await unlockEpochSecrets(log, id, keyring);
    const y = new YWriter(clientIdOf(d * PER_DOC + c));
    const frames: Uint8Array[] = [];
    for (let i = 0; i < perClient; i++) {
      const { update, seq } = y.next();
      const envelope = await sealEnvelope({ kind: 'update', groupId: log.groupId, docId, epoch: log.epoch, seq, head: log.head, author: id, keyring, plaintext: update });
      frames.push(encodeWire({ type: 'push', ref: seq + 1, envelope }));
    }
    const connection = new Connection();
    connection.handlers = relay.accept(connection);
    await tick();
    const challenge = decodeWire(connection.last!);
    if (challenge.type !== 'challenge') throw new Error(`expected a challenge, got ${challenge.type}`);
    connection.handlers.receive(encodeWire({ type: 'hello', signingPublicKey: id.signingPublicKey, signature: await signMessage(id, HELLO_CONTEXT, challenge.nonce) }));
    await tick();
    if (c === 0) {
      connection.handlers.receive(encodeWire({ type: 'ops', groupId: log.groupId, fromIndex: 0, ops: log.ops() }));
      await tick();
    }
    connection.handlers.receive(encodeWire({ type: 'subscribe', groupId: log.groupId, docId, cursor: 0 }));
    await tick();
    clients.push({ connection, frames, next: 0 });
  }
}
await new Promise((resolve) => setTimeout(resolve, 300));
if (driverOnly) for (const c of clients) c.connection.handlers = { receive() {} };

// A push every 1/PER_SECOND s, from a client drawn at random (a steady load, as bench:relay's fixed one).
const total = clients.reduce((n, c) => n + c.frames.length, 0);
const start = cpuUs();
const began = performance.now();
let pushed = 0;
await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    const due = Math.min(total, Math.floor(((performance.now() - began) * PER_SECOND) / 1000));
    while (pushed < due) {
      const c = clients[Math.floor(Math.random() * clients.length)]!;
      if (c.next === c.frames.length) continue;
      c.connection.handlers.receive(c.frames[c.next++]!);
      pushed++;
    }
    if (pushed === total) {
      clearInterval(timer);
      resolve();
    }
  }, 1);
});
// What is under way is written and delivered before the CPU is read.
await new Promise((resolve) => setTimeout(resolve, 300));
const used = cpuUs();
const stats = relay.stats;
console.log(
  JSON.stringify({
    pushes: pushed,
    accepted: stats.envelopesAccepted,
    delivered: stats.envelopesDelivered,
    refused: stats.refused,
    main_us_per_push: (used.main - start.main) / pushed,
    all_us_per_push: (used.all - start.all) / pushed,
    seconds: (performance.now() - began) / 1000,
  }),
);
relay.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
