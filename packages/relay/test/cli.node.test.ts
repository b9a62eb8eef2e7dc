// The sealdoc-relay command: arguments and environment, /healthz, TLS and its reload on
// SIGHUP, a graceful SIGTERM, logs without secrets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { MAX_FRAME_BYTES, decodeWire } from '@sealdoc/protocol';
import { createInvitation, encodeInvitation, generateMnemonic, invitationId, toHex } from '@sealdoc/crypto';
import { DOC_ID, eventually, identity, Team } from './clients.js';
import { freshSchema, postgresAvailable } from './postgres.js';
import { envelopeMaker, RawClient } from './raw-client.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function run(args: string[], onLine: (event: Record<string, unknown>, lines: string[]) => boolean, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const lines: string[] = [];
  const done = new Promise<string[]>((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (onLine(JSON.parse(line) as Record<string, unknown>, lines)) resolve(lines);
      }
    });
    child.once('exit', (code) => (code === 0 ? resolve(lines) : reject(new Error(`exit ${code}: ${lines.join('\n')}`))));
  });
  return { child, done };
}

describe('sealdoc-relay', () => {
  it('refuses bad arguments with its usage and code 2', () => {
    const bad = [['--port', 'abc'], ['--db', 'x', '--memory'], ['--tls-cert', 'c.pem'], ['--nope'], ['--retain-snapshots', '-1'], ['--retain-snapshots', '1.5'], ['--max-frame-bytes', 'lots']];
    for (const args of bad) {
      try {
        execFileSync(process.execPath, [CLI, ...args], { stdio: 'pipe' });
        assert.fail(`accepted ${args.join(' ')}`);
      } catch (error) {
        const e = error as { status: number; stderr: Buffer };
        assert.equal(e.status, 2, args.join(' '));
        assert.match(e.stderr.toString(), /usage: sealdoc-relay/);
      }
    }
    assert.match(execFileSync(process.execPath, [CLI, '--help']).toString(), /usage: sealdoc-relay/);
  });

  it('the command npm links is a file in the repository, not a build output: a fresh clone’s first install links it', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { bin: Record<string, string> };
    const bin = fileURLToPath(new URL(`../${pkg.bin['sealdoc-relay']}`, import.meta.url));
    assert.ok(!/\/dist\//.test(bin), 'npm links bins before `prepare` builds dist/');
    assert.ok(execFileSync('git', ['ls-files', '--error-unmatch', bin], { cwd: dirname(bin) }).toString().trim().length > 0, 'tracked by git');
    assert.match(execFileSync(process.execPath, [bin, '--help']).toString(), /usage: sealdoc-relay/);
    // npm links what the lockfile records, not what package.json says.
    const lock = JSON.parse(readFileSync(new URL('../../../package-lock.json', import.meta.url), 'utf8')) as { packages: Record<string, { bin?: Record<string, string> }> };
    assert.equal(lock.packages['packages/relay']?.bin?.['sealdoc-relay'], pkg.bin['sealdoc-relay']!.replace(/^\.\//, ''));
  });

  it('serves wss and /healthz over TLS, logs JSON lines without the database password, stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdoc-cli-'));
    try {
      const cert = join(dir, 'cert.pem');
      const key = join(dir, 'key.pem');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
      const { child, done } = run(['--port', '0', '--db', join(dir, 'relay.sqlite'), '--tls-cert', cert, '--tls-key', key, '--retain-snapshots', '3'], (e) => e.event === 'listening');
      const [line] = await done;
      const listening = JSON.parse(line!) as { url: string; port: number; storage: string; retention: string };
      assert.equal(listening.retention, 'after 3 later snapshots');
      assert.match(listening.url, /^wss:\/\/127\.0\.0\.1:\d+$/);
      const health = await new Promise<string>((resolve, reject) =>
        get(`https://127.0.0.1:${listening.port}/healthz`, { rejectUnauthorized: false }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve(body));
        }).on('error', reject),
      );
      assert.equal((JSON.parse(health) as { ok: boolean }).ok, true);
      const socket = new WebSocket(listening.url, { rejectUnauthorized: false });
      const first = await new Promise<Uint8Array>((resolve) => socket.once('message', (data: Buffer) => resolve(new Uint8Array(data))));
      const challenge = decodeWire(first);
      assert.equal(challenge.type, 'challenge');
      assert.equal((challenge as { maxFrameBytes: number }).maxFrameBytes, MAX_FRAME_BYTES);
      socket.close();
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads SEALDOC_* variables, a flag winning over its variable; a bad variable is refused by name with code 2', () => {
    const refuse = (args: string[], env: Record<string, string>, name: string) => {
      try {
        execFileSync(process.execPath, [CLI, ...args], { stdio: 'pipe', env: { ...process.env, ...env } });
        assert.fail(`accepted ${JSON.stringify(env)}`);
      } catch (error) {
        const e = error as { status: number; stderr: Buffer };
        assert.equal(e.status, 2, name);
        assert.match(e.stderr.toString(), new RegExp(`^${name} `));
        assert.match(e.stderr.toString(), /usage: sealdoc-relay/);
      }
    };
    refuse([], { SEALDOC_PORT: 'abc' }, 'SEALDOC_PORT');
    refuse([], { SEALDOC_MAX_FRAME_BYTES: '10' }, 'SEALDOC_MAX_FRAME_BYTES');
    refuse([], { SEALDOC_LOG_LEVEL: 'chatty' }, 'SEALDOC_LOG_LEVEL');
    refuse(['--log-level', 'chatty'], {}, '--log-level');
    const help = execFileSync(process.execPath, [CLI, '--help']).toString();
    for (const text of ['SEALDOC_PORT', 'DATABASE_URL', '--cert', 'SEALDOC_TLS_CERT', '--metrics-token', '--log-level', 'SEALDOC_QUOTA_BYTES']) assert.ok(help.includes(text), text);
  });

  it('runs on what the environment says: port, memory storage, frame limit, log level', async () => {
    const { child, done } = run([], (e) => e.event === 'listening', { SEALDOC_PORT: '0', SEALDOC_MEMORY: 'true', SEALDOC_MAX_FRAME_BYTES: '4096', SEALDOC_LOG_LEVEL: 'debug' });
    try {
      const lines = await done;
      const listening = JSON.parse(lines.at(-1)!) as { port: number; storage: string; level: string; time: string };
      assert.equal(listening.storage, 'memory');
      assert.equal(listening.level, 'info');
      assert.match(listening.time, /^\d{4}-\d\d-\d\dT/);
      const socket = new WebSocket(`ws://127.0.0.1:${listening.port}`);
      const challenge = decodeWire(await new Promise<Uint8Array>((resolve) => socket.once('message', (data: Buffer) => resolve(new Uint8Array(data)))));
      assert.equal((challenge as { maxFrameBytes: number }).maxFrameBytes, 4096);
      socket.close();
      // A service manager's reload (SIGHUP) does not end a relay without TLS.
      child.kill('SIGHUP');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(child.exitCode, null, 'still running');
      assert.equal(child.signalCode, null, 'still running');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('on SIGHUP serves a new certificate to new connections and keeps the open ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdoc-cli-'));
    try {
      const pair = (name: string) => {
        execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`), '-days', '1', '-subj', `/CN=${name}`], { stdio: 'ignore' });
      };
      pair('first');
      pair('second');
      const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
      copyFileSync(join(dir, 'first.pem'), cert);
      copyFileSync(join(dir, 'first.key'), key);
      const events: Record<string, unknown>[] = [];
      const { child, done } = run(['--port', '0', '--memory', '--cert', cert, '--key', key], (e) => (events.push(e), e.event === 'listening'));
      try {
        const listening = JSON.parse((await done).at(-1)!) as { port: number; url: string };
        const presented = () =>
          new Promise<string>((resolve, reject) => {
            const socket = connectTls({ host: '127.0.0.1', port: listening.port, rejectUnauthorized: false }, () => {
              resolve(String(socket.getPeerCertificate().subject.CN));
              socket.end();
            });
            socket.on('error', reject);
          });
        assert.equal(await presented(), 'first');
        const open = new WebSocket(listening.url, { rejectUnauthorized: false });
        let closed = false;
        open.on('close', () => (closed = true));
        await new Promise((resolve) => open.once('message', resolve));
        copyFileSync(join(dir, 'second.pem'), cert);
        copyFileSync(join(dir, 'second.key'), key);
        child.kill('SIGHUP');
        await eventually(() => events.some((e) => e.event === 'tls-reloaded'), 5000, 'the reload');
        assert.equal(await presented(), 'second');
        // The connection opened under the first certificate still answers.
        const pong = new Promise((resolve) => open.once('pong', resolve));
        open.ping();
        await pong;
        assert.equal(closed, false);
        // A broken pair is refused and the certificate in use stays.
        copyFileSync(join(dir, 'first.key'), key);
        child.kill('SIGHUP');
        await eventually(() => events.some((e) => e.event === 'tls-reload-failed'), 5000, 'the refused reload');
        assert.equal(await presented(), 'second');
        open.close();
      } finally {
        child.kill('SIGKILL');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on SIGTERM tells clients to reconnect elsewhere (1012), loses nothing acknowledged, and exits within 5 s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdoc-cli-'));
    try {
      const db = join(dir, 'relay.sqlite');
      const team = await Team.create(['alice']);
      let { child, done } = run(['--port', '0', '--db', db], (e) => e.event === 'listening');
      const { port } = JSON.parse((await done).at(-1)!) as { port: number };
      const url = `ws://127.0.0.1:${port}`;
      const alice = await RawClient.connect(url, identity('alice'));
      alice.send({ type: 'commit-ops', ref: 1, groupId: team.groupId, fromIndex: 0, ops: team.ops });
      await alice.next('ack');
      const seal = await envelopeMaker(identity('alice'), team.ops, DOC_ID);
      const envelopes = await Promise.all(Array.from({ length: 400 }, (_, seq) => seal(seq)));
      for (const [seq, envelope] of envelopes.entries()) alice.send({ type: 'push', ref: 100 + seq, envelope });
      await eventually(() => alice.received.filter((m) => m.type === 'ack').length >= 20, 10_000, 'some acks');
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      const started = Date.now();
      child.kill('SIGTERM');
      assert.equal(await alice.closed(), 1012);
      assert.equal(await exited, 0);
      assert.ok(Date.now() - started < 5000, `exited in ${Date.now() - started} ms`);
      const acked = new Map<number, number>();
      for (const m of alice.received) if (m.type === 'ack' && m.ref >= 100) acked.set(m.ref - 100, m.cursor);

      ({ child, done } = run(['--port', '0', '--db', db], (e) => e.event === 'listening'));
      try {
        const again = JSON.parse((await done).at(-1)!) as { port: number };
        const reader = await RawClient.connect(`ws://127.0.0.1:${again.port}`, identity('alice'));
        reader.send({ type: 'subscribe', groupId: team.groupId, docId: DOC_ID, cursor: 0 });
        await reader.next('caught-up', 10_000);
        const stored = new Map<number, Uint8Array>();
        for (const m of reader.received) if (m.type === 'deliver') stored.set(m.cursor, m.envelope);
        for (const [seq, cursor] of acked) assert.deepEqual(stored.get(cursor), envelopes[seq], `acknowledged envelope ${seq} is there`);
        reader.close();
      } finally {
        child.kill('SIGKILL');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('logs no key, envelope body, invite secret, database password or metrics token, at the most verbose level', async (t) => {
    if (!(await postgresAvailable())) return t.skip('PostgreSQL did not answer (it runs under CI=true)');
    const schema = await freshSchema();
    const databaseUrl = new URL(schema.url);
    databaseUrl.password = 'db-pass-8f3a1c'; // trust authentication: accepted and ignored
    const token = 'metrics-token-5d2e9b';
    const out: string[] = [];
    const { child, done } = run(['--port', '0', '--log-level', 'trace'], (e) => e.event === 'listening', { DATABASE_URL: databaseUrl.toString(), SEALDOC_METRICS_TOKEN: token });
    child.stderr.on('data', (chunk: Buffer) => out.push(chunk.toString()));
    try {
      const lines = await done;
      const { port } = JSON.parse(lines.at(-1)!) as { port: number };
      const url = `ws://127.0.0.1:${port}`;
      const team = await Team.create(['alice', 'bob']);
      const alice = await RawClient.connect(url, identity('alice'));
      alice.send({ type: 'commit-ops', ref: 1, groupId: team.groupId, fromIndex: 0, ops: team.ops });
      await alice.next('ack');
      const seal = await envelopeMaker(identity('alice'), team.ops, DOC_ID);
      const envelope = await seal(0);
      alice.send({ type: 'push', ref: 2, envelope });
      await alice.next('ack');
      const forged = await seal(1);
      forged[forged.length - 1]! ^= 1;
      alice.send({ type: 'push', ref: 3, envelope: forged });
      await alice.next('error');
      const invitation = createInvitation(team.groupId, 'writer');
      alice.send({ type: 'invite-open', ref: 4, groupId: team.groupId, inviteId: invitationId(invitation), expiresAt: Date.now() + 60_000 });
      await alice.next('ack');
      const scrape = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(scrape.status, 200);
      const scraped = await scrape.text();
      for (const name of ['sealdoc_relay_connections', 'sealdoc_relay_envelopes_accepted_total', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds']) assert.match(scraped, new RegExp(`^${name} `, 'm'), name);
      assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: 'Bearer wrong-token' } })).status, 401);
      alice.close();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await new Promise((resolve) => setTimeout(resolve, 50));
      const log = [...lines, ...out].join('\n');
      assert.ok(lines.length >= 6, `a verbose log: ${log}`);
      for (const line of lines) JSON.parse(line);
      const body = envelope.subarray(envelope.length - 96, envelope.length - 64); // ciphertext, before the signature
      // Alice's recovery phrase, as clients.ts's identity('alice') makes it: the root of her keys.
      const entropy = new Uint8Array(32);
      for (let i = 0; i < 'alice'.length; i++) entropy[i % 32]! ^= 'alice'.charCodeAt(i);
      const secrets: [string, Uint8Array | string][] = [
        ['database password', 'db-pass-8f3a1c'],
        ['database URL', databaseUrl.toString()],
        ['metrics token', token],
        ['invite secret', invitation.secret],
        ['invite code', encodeInvitation(invitation)],
        ['envelope body', body],
        ['signature', envelope.subarray(envelope.length - 64)],
        ['recovery phrase', generateMnemonic(entropy)],
        ['recovery phrase words', generateMnemonic(entropy).split(' ').slice(0, 3).join(' ')],
      ];
      for (const [what, secret] of secrets) {
        const forms = typeof secret === 'string' ? [secret] : [toHex(secret), Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('base64url')];
        for (const form of forms) assert.ok(!log.includes(form), `${what} in the log`);
      }
    } finally {
      child.kill('SIGKILL');
      await schema.drop();
    }
  });

  it('with --postgres, never logs the URL (it may hold a password)', async () => {
    const { child, done } = run(['--port', '0', '--postgres', 'postgres://someone:s3cret-pass@127.0.0.1:1/none'], () => false);
    const lines = await done.catch((e: Error) => [e.message]);
    child.kill('SIGKILL');
    assert.ok(lines.join('\n').includes('failed'), lines.join('\n'));
    assert.ok(!lines.join('\n').includes('s3cret-pass'), 'the password was logged');
  });
});
