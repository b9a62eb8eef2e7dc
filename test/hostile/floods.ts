// The floods of `npm run hostile`: each runs against a real relay process (SQLite in a
// temporary folder) while a hostile client floods it from a process of its own (attacker.ts),
// as a host of its own (it connects from 127.0.0.2), and an honest pair of members works: a writer pushes a small edit every 50 ms and a reader
// receives it. What is measured: the relay's peak resident memory, the honest edit's latency
// (push to delivery, p99), whether the relay is still alive and serving, and how long SIGTERM
// takes to stop it with the flood still running.
import { spawn } from 'node:child_process';
import { get } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { createGroup, generateMnemonic, identityFromMnemonic, Keyring, MembershipLog, readEnvelopeHeader, sealEnvelope, signMessage, unlockEpochSecrets, type Identity } from '@sealdoc/crypto';
import { decodeWire, encodeWire, HELLO_CONTEXT, type WireMessage } from '@sealdoc/protocol';
import { startRelayProcess } from '../support/relay-process.js';

export const FLOODS = ['have-flood', 'ops-flood', 'group-churn', 'idle-sockets', 'push-flood', 'partial-frames', 'covers-flood', 'big-group', 'long-log-readers'] as const;
export type Flood = (typeof FLOODS)[number];

/** One flood's figures, as `npm run hostile -- --json` prints them. */
export interface FloodResult {
  scenario: Flood;
  peak_rss_mb: number;
  honest_p99_ms: number;
  alive: boolean;
  sigterm_ms: number;
  /** Honest edits sent, and delivered to the other member. */
  honest_sent: number;
  honest_delivered: number;
}

/** What must hold under every flood (issue "The relay holds against any key pair"). */
export const FLOOD_BOUNDS = { peak_rss_mb: 512, honest_p99_ms: 1000, sigterm_ms: 5000 };

const ATTACKER = fileURLToPath(new URL('./attacker.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A member's connection with a handler for what it receives. */
async function member(url: string, who: Identity, onMessage: (m: WireMessage) => void): Promise<WebSocket> {
  const socket = new WebSocket(url, { handshakeTimeout: 10_000 });
  let welcomed!: () => void;
  const welcome = new Promise<void>((resolve) => (welcomed = resolve));
  socket.on('message', (data: Buffer) => {
    const frame = decodeWire(new Uint8Array(data));
    for (const m of frame.type === 'batch' ? frame.messages : [frame]) {
      if (m.type === 'challenge')
        void signMessage(who, HELLO_CONTEXT, m.nonce).then((signature) => socket.send(encodeWire({ type: 'hello', signingPublicKey: who.signingPublicKey, signature })));
      else if (m.type === 'welcome') welcomed();
      else onMessage(m);
    }
  });
  const failed = new Promise<never>((_, reject) => socket.on('error', reject));
  failed.catch(() => undefined);
  await Promise.race([new Promise<void>((resolve) => socket.once('open', () => resolve())), failed]);
  const timer = setTimeout(() => socket.emit('error', new Error('no welcome for an honest member')), 10_000);
  await Promise.race([welcome, failed]).finally(() => clearTimeout(timer));
  return socket;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.POSITIVE_INFINITY;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const healthy = (port: number) =>
  new Promise<boolean>((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/healthz', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });

/** Runs one flood for `seconds` of honest work and returns its figures. */
export async function runFlood(flood: Flood, options: { seconds: number; scale?: number }): Promise<FloodResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sealdoc-hostile-'));
  // Retention on for the flood that attacks it.
  const relay = await startRelayProcess(['--port', '0', '--db', join(dir, 'relay.sqlite'), ...(flood === 'covers-flood' ? ['--retain-snapshots', '0'] : [])]);
  const attacker = spawn(process.execPath, ['--import', 'tsx', ATTACKER, flood, relay.url, String(options.scale ?? 1)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let attackerOutput = '';
  attacker.stderr!.on('data', (c: Buffer) => (attackerOutput += c.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      attacker.stdout!.on('data', (c: Buffer) => c.toString().includes('ready') && resolve());
      attacker.once('exit', (code) => reject(new Error(`the attacker exited (${code}): ${attackerOutput}`)));
      setTimeout(() => reject(new Error(`the attacker was not ready in 120 s: ${attackerOutput}`)), 120_000).unref();
    });
    await sleep(500); // the flood is under way

    const honest = await honestWork(relay.url, options.seconds).catch((error: unknown) => ({ latencies: [Number.POSITIVE_INFINITY], sent: 0, delivered: 0, lastDelivery: 0, error }));
    const alive = relay.child.exitCode === null && (await healthy(relay.port)) && performance.now() - honest.lastDelivery < 3000;
    const peak = relay.peakRssMb();
    const sigterm = await relay.stop('SIGTERM');
    return {
      scenario: flood,
      peak_rss_mb: Math.round(peak * 10) / 10,
      honest_p99_ms: Math.round(percentile(honest.latencies, 99) * 10) / 10,
      alive,
      sigterm_ms: Math.round(sigterm),
      honest_sent: honest.sent,
      honest_delivered: honest.delivered,
    };
  } finally {
    attacker.kill('SIGKILL');
    if (relay.child.exitCode === null) await relay.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The honest pair at work for `seconds`: a group of their own; the writer pushes an edit every
 * 50 ms, the reader is subscribed. What never arrives counts as late as it is at the end.
 */
async function honestWork(url: string, seconds: number): Promise<{ latencies: number[]; sent: number; delivered: number; lastDelivery: number }> {
  // The honest pair: a group of their own; the writer pushes, the reader is subscribed.
  const [writerId, readerId] = [identityFromMnemonic(generateMnemonic()), identityFromMnemonic(generateMnemonic())];
  const ops = [await createGroup(writerId, { members: [{ keys: readerId, role: 'writer' }] })];
  const log = await MembershipLog.fromOps(ops);
  const keyring = new Keyring();
  await unlockEpochSecrets(log, writerId, keyring);
  const docId = crypto.getRandomValues(new Uint8Array(16));
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let lastDelivery = 0;
  const writer = await member(url, writerId, () => undefined);
  writer.send(encodeWire({ type: 'ops', groupId: log.groupId, fromIndex: 0, ops }));
  let caughtUp = false;
  const reader = await member(url, readerId, (m) => {
    if (m.type === 'caught-up') caughtUp = true;
    if (m.type !== 'deliver') return;
    const seq = readEnvelopeHeader(m.envelope).seq;
    const t0 = sentAt.get(seq);
    if (t0 === undefined) return;
    sentAt.delete(seq);
    latencies.push(performance.now() - t0);
    lastDelivery = performance.now();
  });
  for (let i = 0; i < 100 && !caughtUp; i++) {
    reader.send(encodeWire({ type: 'subscribe', groupId: log.groupId, docId, cursor: 0 }));
    await sleep(100);
  }
  const plaintext = new Uint8Array([0, 0]);
  let seq = 0;
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    const envelope = await sealEnvelope({ kind: 'update', groupId: log.groupId, docId, epoch: 0, seq, head: log.head, author: writerId, keyring, plaintext });
    sentAt.set(seq, performance.now());
    writer.send(encodeWire({ type: 'push', ref: seq + 1, envelope }));
    seq++;
    await sleep(50);
  }
  await sleep(1500);
  // What never arrived counts as late as it is now.
  for (const t0 of sentAt.values()) latencies.push(performance.now() - t0);
  writer.terminate();
  reader.terminate();
  return { latencies, sent: seq, delivered: seq - sentAt.size, lastDelivery };
}

/** Whether a result is within the bounds; the reasons when not. */
export function floodFailures(r: FloodResult): string[] {
  const out: string[] = [];
  if (!(r.peak_rss_mb <= FLOOD_BOUNDS.peak_rss_mb)) out.push(`peak RSS ${r.peak_rss_mb} MB > ${FLOOD_BOUNDS.peak_rss_mb}`);
  if (!(r.honest_p99_ms <= FLOOD_BOUNDS.honest_p99_ms)) out.push(`honest p99 ${r.honest_p99_ms} ms > ${FLOOD_BOUNDS.honest_p99_ms}`);
  if (!r.alive) out.push('the relay is not alive and serving');
  if (!(r.sigterm_ms <= FLOOD_BOUNDS.sigterm_ms)) out.push(`SIGTERM took ${r.sigterm_ms} ms > ${FLOOD_BOUNDS.sigterm_ms}`);
  return out;
}
