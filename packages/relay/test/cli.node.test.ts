// The sealdoc-relay command: arguments, /healthz, TLS, logs without secrets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { MAX_FRAME_BYTES, decodeWire } from '@sealdoc/protocol';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function run(args: string[], onLine: (event: Record<string, unknown>, lines: string[]) => boolean) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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

  it('with --postgres, never logs the URL (it may hold a password)', async () => {
    const { child, done } = run(['--port', '0', '--postgres', 'postgres://someone:s3cret-pass@127.0.0.1:1/none'], () => false);
    const lines = await done.catch((e: Error) => [e.message]);
    child.kill('SIGKILL');
    assert.ok(lines.join('\n').includes('failed'), lines.join('\n'));
    assert.ok(!lines.join('\n').includes('s3cret-pass'), 'the password was logged');
  });
});
