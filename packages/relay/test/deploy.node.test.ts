// Packaging for servers: the Dockerfile, the systemd unit, deploy/compose.yaml and the proxy
// configurations. Without Docker or systemd, what they would run is run here: the unit's
// ExecStart and the image's CMD, each from its own file, with the paths mapped to this
// repository's build; each must serve /healthz and stop within its time on SIGTERM.
// With SEALDOC_DOCKER_TESTS=1 the image is built and run by Docker too (CI has no Docker).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const UNIT = 'deploy/sealdoc-relay.service';
const COMPOSE = 'deploy/compose.yaml';
/** The relay exits within this long after SIGTERM (docs/protocol.md, "Shutdown"). */
const SHUTDOWN_MS = 5000;

// ---------------------------------------------------------------------------------------------
// Reading the files

/** A systemd unit: section -> key -> values in order (a key may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let section: Map<string, string[]> | undefined;
  for (const line of text.replace(/\\\n/g, ' ').split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(t);
    if (header) {
      section = new Map();
      sections.set(header[1]!, section);
      continue;
    }
    const eq = t.indexOf('=');
    assert.ok(section && eq > 0, `unit line outside a section or without "=": ${t}`);
    const key = t.slice(0, eq).trim();
    section.set(key, [...(section.get(key) ?? []), t.slice(eq + 1).trim()]);
  }
  return sections;
}

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** A Dockerfile's stages, with line continuations joined and comments dropped. */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
  for (const line of lines.join('\n').replace(/\\\n/g, ' ').split('\n')) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (op === 'FROM') {
      const [image, as, name] = rest.split(/\s+/);
      const from = image!.replace(/\$\{(\w+)\}/g, (_, n: string) => args.get(n) ?? '');
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (op === 'ARG' && stages.length === 0) {
      const [k, v] = rest.split('=');
      args.set(k!, v ?? '');
    } else {
      assert.ok(stages.length > 0, `${op} before FROM`);
      stages.at(-1)!.instructions.push({ op, args: rest });
    }
  }
  return { args, stages };
}

const all = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op).map((i) => i.args);
const last = (stage: Stage, op: string) => all(stage, op).at(-1);

/** ENV a=b c="d e": the variables a stage sets. */
function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const text of all(stage, 'ENV')) {
    for (const m of text.matchAll(/(\w+)=("([^"]*)"|\S*)/g)) env[m[1]!] = m[3] ?? m[2]!;
  }
  return env;
}

/** COPY [--from=x] src... dst, the sources relative to the context or to stage x's root. */
function copies(stage: Stage): { from: string | undefined; sources: string[]; dest: string }[] {
  return all(stage, 'COPY').map((text) => {
    const words = text.split(/\s+/);
    const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
    const paths = words.filter((w) => !w.startsWith('--'));
    return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
  });
}

/** A JSON-form CMD, ENTRYPOINT or HEALTHCHECK CMD (the shell form runs differently: not used). */
function execForm(text: string, what: string): string[] {
  const json = text.slice(text.indexOf('['));
  const argv = JSON.parse(json) as unknown;
  assert.ok(Array.isArray(argv) && argv.every((a) => typeof a === 'string'), `${what} in JSON (exec) form, so that the relay gets SIGTERM itself`);
  return argv as string[];
}

/** Whether .dockerignore leaves `path` out of the build context. */
function ignored(path: string, patterns: string[]): boolean {
  const toRegExp = (p: string) =>
    new RegExp(
      '^' +
        p
          .replace(/^\/+|\/+$/g, '')
          .split(/(\*\*\/|\*)/)
          .map((part) => (part === '**/' ? '(?:.*/)?' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
          .join('') +
        '$',
    );
  const parts = path.replace(/\/+$/, '').split('/');
  let out = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const re = toRegExp(negate ? raw.slice(1) : raw);
    // A pattern leaves out a path when it matches the path or one of its directories.
    for (let i = 1; i <= parts.length; i++) if (re.test(parts.slice(0, i).join('/'))) out = !negate;
  }
  return out;
}

type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };

/**
 * The YAML that compose.yaml is written in: block mappings and sequences, flow sequences of
 * scalars, plain and quoted scalars (numbers, booleans, null), comments. Enough to check its structure without a YAML
 * package; where PyYAML is installed, the test compares this reading with PyYAML's.
 */
function parseYaml(text: string): Yaml {
  const lines = text
    .split('\n')
    .map((raw) => raw.replace(/\s+#.*$|^\s*#.*$/, ''))
    .filter((l) => l.trim() !== '')
    .map((l) => ({ indent: l.length - l.trimStart().length, text: l.trim() }));
  let i = 0;
  const scalar = (s: string): Yaml => {
    if (/^\[.*\]$/.test(s)) return s.slice(1, -1).trim() === '' ? [] : s.slice(1, -1).split(',').map((x) => scalar(x.trim()));
    if (/^".*"$/.test(s)) return JSON.parse(s) as string;
    if (/^'.*'$/.test(s)) return s.slice(1, -1).replace(/''/g, "'");
    if (/^-?\d+$/.test(s)) return Number(s);
    if (/^(true|false)$/.test(s)) return s === 'true';
    if (/^(null|~|)$/.test(s)) return null;
    return s;
  };
  const block = (indent: number): Yaml => {
    if (lines[i]!.text.startsWith('- ')) {
      const list: Yaml[] = [];
      while (i < lines.length && lines[i]!.indent === indent && lines[i]!.text.startsWith('- ')) list.push(scalar(lines[i++]!.text.slice(2).trim()));
      return list;
    }
    const map: Record<string, Yaml> = {};
    while (i < lines.length && lines[i]!.indent === indent) {
      const m = /^("[^"]+"|[^:]+):(?:\s+(.*))?$/.exec(lines[i]!.text);
      assert.ok(m, `${COMPOSE}: cannot read "${lines[i]!.text}"`);
      const key = scalar(m[1]!) as string;
      i++;
      if (m[2] !== undefined) map[key] = scalar(m[2]);
      else if (i < lines.length && (lines[i]!.indent > indent || (lines[i]!.indent === indent && lines[i]!.text.startsWith('- ')))) map[key] = block(lines[i]!.indent);
      else map[key] = null;
    }
    assert.ok(i >= lines.length || lines[i]!.indent < indent, `${COMPOSE}: indentation at "${lines[i]?.text}"`);
    return map;
  };
  return block(0);
}

// ---------------------------------------------------------------------------------------------
// Running a command as its service would

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

function healthz(port: number): Promise<number> {
  return new Promise((resolve) => {
    const request = get({ host: '127.0.0.1', port, path: '/healthz', timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', () => resolve(0));
    request.on('timeout', () => request.destroy());
  });
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function launch(argv: string[], cwd: string, env: Record<string, string>): Running {
  const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => output, exited };
}

/** Waits until /healthz answers 200 (or the process ends, or 20 s pass). */
async function healthy(running: Running, port: number): Promise<void> {
  let ended = false;
  void running.exited.then(() => (ended = true));
  const until = Date.now() + 20_000;
  while (Date.now() < until && !ended) {
    if ((await healthz(port)) === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`no /healthz on port ${port}${ended ? ' (the process ended)' : ''}:\n${running.output()}`);
}

/** SIGTERM, then the time until the process is gone; it must exit 0 within `withinMs`. */
async function stops(running: Running, withinMs: number): Promise<number> {
  const start = Date.now();
  running.child.kill('SIGTERM');
  const timer = setTimeout(() => running.child.kill('SIGKILL'), withinMs + 2000);
  const { code, signal } = await running.exited;
  clearTimeout(timer);
  const ms = Date.now() - start;
  assert.equal(signal, null, `killed by ${signal}:\n${running.output()}`);
  assert.equal(code, 0, running.output());
  assert.ok(ms < withinMs, `stopped after ${ms} ms, more than ${withinMs} ms`);
  return ms;
}

/** A throw-away certificate for localhost: fullchain.pem and privkey.pem in `dir`/certs. */
function selfSigned(dir: string): string {
  const certs = join(dir, 'certs');
  mkdirSync(certs, { recursive: true });
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(certs, 'privkey.pem'), '-out', join(certs, 'fullchain.pem')], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  return certs;
}

const durationMs = (text: string): number => {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|min)?$/.exec(text.trim());
  assert.ok(m, `a duration: ${text}`);
  return Number(m[1]) * ({ ms: 1, s: 1000, min: 60_000 }[m[2] ?? 's'] ?? 1000);
};

/** Every environment variable the relay reads, as `sealdoc-relay --help` lists them. */
let helpVariables: Set<string> | undefined;
function variablesInHelp(): Set<string> {
  if (helpVariables) return helpVariables;
  const help = spawnSync(process.execPath, [join(ROOT, 'packages/relay/bin/sealdoc-relay.js'), '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  helpVariables = new Set(help.stdout.match(/\b(?:SEALDOC_[A-Z_]+|DATABASE_URL|PORT)\b/g) ?? []);
  return helpVariables;
}

const relayVariables = (env: Record<string, unknown>) => Object.keys(env).filter((k) => k.startsWith('SEALDOC_') || k === 'DATABASE_URL');
const cleanEnv = (): Record<string, string> => ({ PATH: process.env.PATH ?? '/usr/bin:/bin' });

// ---------------------------------------------------------------------------------------------

describe('the systemd unit (deploy/sealdoc-relay.service)', () => {
  const unit = parseUnit(read(UNIT));
  const service = unit.get('Service');
  const one = (key: string) => service?.get(key)?.at(-1);

  it('is sandboxed, restarts on failure and is given the relay’s 5 s to stop', () => {
    assert.ok(service, '[Service]');
    assert.ok(one('DynamicUser') === 'yes' || (one('User') ?? 'root') !== 'root', 'DynamicUser=yes or a User of its own');
    const expected: Record<string, string> = {
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      NoNewPrivileges: 'yes',
      PrivateDevices: 'yes',
      Restart: 'on-failure',
    };
    for (const [key, value] of Object.entries(expected)) assert.equal(one(key), value, key);
    assert.deepEqual(one('RestrictAddressFamilies')?.split(/\s+/).sort(), ['AF_INET', 'AF_INET6', 'AF_UNIX']);
    assert.ok(service.get('SystemCallFilter')?.includes('@system-service'), 'SystemCallFilter=@system-service');
    assert.equal(one('CapabilityBoundingSet'), '', 'no capability');
    assert.equal(durationMs(one('TimeoutStopSec')!), SHUTDOWN_MS);
    // V8's JIT makes written pages executable: Node aborts under MemoryDenyWriteExecute.
    assert.notEqual(one('MemoryDenyWriteExecute'), 'yes');
    assert.ok(Number(one('LimitNOFILE')) > 10_000, 'more descriptors than the relay’s 10,000 connections');
  });

  it('writes only where it may: its database is under ReadWritePaths', () => {
    const argv = one('ExecStart')!.split(/\s+/);
    const db = argv[argv.indexOf('--db') + 1]!;
    const writable = [...(service!.get('ReadWritePaths') ?? []).flatMap((v) => v.split(/\s+/)), ...(service!.get('StateDirectory') ?? []).map((d) => `/var/lib/${d}`)];
    assert.ok(writable.some((dir) => db.startsWith(`${dir}/`)), `${db} under ${writable.join(', ')}`);
    assert.ok(!/postgres(ql)?:\/\//.test(read(UNIT).replace(/^#.*$/gm, '')), 'no database URL (a password) in the unit: EnvironmentFile');
  });

  it('its ExecStart serves /healthz and stops within TimeoutStopSec on SIGTERM', { timeout: 60_000 }, async () => {
    const argv = one('ExecStart')!.replace(/^[-@:+!]+/, '').split(/\s+/);
    assert.match(argv[0]!, /\/node$/, 'runs node');
    const install = /^(\/\S+?)\/packages\/relay\/bin\/sealdoc-relay\.js$/.exec(argv[1]!)?.[1];
    assert.ok(install, `the relay's bin in a clone: ${argv[1]}`);
    const state = mkdtempSync(join(tmpdir(), 'sealdoc-unit-'));
    try {
      const port = await freePort();
      const portAt = argv.indexOf('--port');
      assert.ok(portAt > 0, '--port in ExecStart');
      const mapped = argv.map((word, i) => {
        if (i === 0) return process.execPath;
        if (i === portAt + 1) return String(port);
        return word.replace(install, ROOT.replace(/\/$/, '')).replace('/var/lib/sealdoc-relay', state);
      });
      const env = cleanEnv();
      for (const assignment of service!.get('Environment') ?? []) {
        const [k, ...v] = assignment.replace(/^"|"$/g, '').split('=');
        env[k!] = v.join('=');
      }
      const cwd = (one('WorkingDirectory') ?? '/').replace('/var/lib/sealdoc-relay', state);
      const running = launch(mapped, cwd, env);
      await healthy(running, port);
      assert.ok(existsSync(join(state, 'relay.sqlite')), 'the SQLite file is in the state directory');
      if (/kill -HUP/.test(one('ExecReload') ?? '')) {
        // `systemctl reload` must not end the relay (SIGHUP is a clean exit to systemd: no restart).
        running.child.kill('SIGHUP');
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(await healthz(port), 200, `the relay survives ExecReload's SIGHUP:\n${running.output()}`);
      }
      await stops(running, durationMs(one('TimeoutStopSec')!));
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });

  it('passes systemd-analyze verify, and its security exposure is low', (t) => {
    if (spawnSync('systemd-analyze', ['--version']).error) return t.skip('systemd-analyze is not installed here');
    const dir = mkdtempSync(join(tmpdir(), 'sealdoc-verify-'));
    try {
      // verify checks that the binary exists: node is where this test's node is.
      const path = join(dir, 'sealdoc-relay.service');
      writeFileSync(path, read(UNIT).replace(/\/usr\/bin\/node/g, process.execPath));
      const verify = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
      assert.equal(verify.status, 0, verify.stderr);
      assert.ok(!verify.stderr.includes('sealdoc-relay.service'), verify.stderr);
      const security = spawnSync('systemd-analyze', ['security', '--offline=true', path], { encoding: 'utf8' });
      const level = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(security.stdout)?.[1];
      if (level === undefined) return t.diagnostic('systemd-analyze security --offline is not supported by this systemd');
      assert.ok(Number(level) <= 2, `exposure ${level} (0 safest, 10 none)`);
      t.diagnostic(`systemd-analyze security: exposure ${level}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Node indeed aborts under MemoryDenyWriteExecute (the kernel’s PR_SET_MDWE)', (t) => {
    if (spawnSync('cc', ['--version']).error) return t.skip('no C compiler to make the probe');
    const dir = mkdtempSync(join(tmpdir(), 'sealdoc-mdwe-'));
    try {
      writeFileSync(
        join(dir, 'mdwe.c'),
        `#include <sys/prctl.h>
#include <unistd.h>
int main(int argc, char **argv) {
  (void)argc;
  if (prctl(65 /* PR_SET_MDWE */, 1 /* PR_MDWE_REFUSE_EXEC_GAIN */, 0, 0, 0) != 0) return 99;
  execv(argv[1], argv + 1);
  return 98;
}
`,
      );
      const cc = spawnSync('cc', ['-o', join(dir, 'mdwe'), join(dir, 'mdwe.c')], { encoding: 'utf8' });
      if (cc.status !== 0) return t.skip(`the probe does not compile: ${cc.stderr}`);
      const program = 'let s = 0; for (let i = 0; i < 1e7; i++) s += i; console.log(s)';
      const jit = spawnSync(join(dir, 'mdwe'), [process.execPath, '-e', program], { encoding: 'utf8' });
      if (jit.status === 99) return t.skip('this kernel has no PR_SET_MDWE (Linux 6.3+)');
      assert.ok(jit.status !== 0 || jit.signal !== null, 'node ran with write-xor-execute memory: MemoryDenyWriteExecute=yes may be set');
      const jitless = spawnSync(join(dir, 'mdwe'), [process.execPath, '--jitless', '-e', program], { encoding: 'utf8' });
      assert.equal(jitless.status, 0, `the probe itself works (node --jitless runs): ${jitless.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the Dockerfile', () => {
  const { stages } = parseDockerfile(read('Dockerfile'));
  const final = stages.at(-1)!;
  const stageRoot = (name: string) => {
    const stage = stages.find((s) => s.name === name);
    assert.ok(stage, `stage ${name}`);
    return last(stage, 'WORKDIR')!;
  };
  const workdir = last(final, 'WORKDIR') ?? '/';
  const dockerignore = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('builds in stages; the last runs as a user, holds only the relay’s production files, checks /healthz', () => {
    assert.ok(stages.length >= 2, 'multi-stage');
    const user = last(final, 'USER');
    assert.ok(user && !/^(root|0)(:|$)/.test(user), `USER ${user}`);
    for (const copy of copies(final)) {
      assert.ok(copy.from, `the final stage copies from a build stage, not the context: ${copy.sources.join(' ')}`);
      for (const source of copy.sources) assert.match(source, /\/(node_modules|packages\/(crypto|protocol|relay)\/(package\.json|dist|bin))$/, source);
    }
    assert.ok(!all(final, 'RUN').some((r) => /npm (ci|install)/.test(r)), 'no install in the final stage');
    const health = last(final, 'HEALTHCHECK');
    assert.ok(health, 'HEALTHCHECK');
    assert.match(health, /\/healthz/);
    const volumes = all(final, 'VOLUME').flatMap((v) => (v.startsWith('[') ? (JSON.parse(v) as string[]) : v.split(/\s+/)));
    assert.ok(volumes.includes(posix.join(workdir, 'data')), `VOLUME ${workdir}/data, where ./data/relay.sqlite lands`);
    for (const name of relayVariables(stageEnv(final))) assert.ok(variablesInHelp().has(name), `${name} is not a variable sealdoc-relay reads (--help)`);
  });

  it('copies what exists: context files .dockerignore keeps, build outputs this repository has', () => {
    for (const stage of stages) {
      for (const copy of copies(stage)) {
        for (const source of copy.sources) {
          if (copy.from === undefined) {
            assert.ok(existsSync(join(ROOT, source)), `${source} in the context`);
            assert.ok(!ignored(source, dockerignore), `${source} is left out by .dockerignore`);
          } else {
            const inRepo = posix.relative(stageRoot(copy.from), source);
            assert.ok(!inRepo.startsWith('..'), `${source} under stage ${copy.from}'s WORKDIR`);
            assert.ok(existsSync(join(ROOT, inRepo)), `${inRepo} (built by npm run build)`);
          }
        }
      }
    }
    for (const left of ['node_modules', 'packages/relay/node_modules', 'packages/relay/dist', '.git', 'deploy/.env', 'deploy/certs/privkey.pem']) assert.ok(ignored(left, dockerignore), `.dockerignore leaves out ${left}`);
  });

  /** The final stage's files as links to this repository's build, its command and environment. */
  function imageLayout(): { dir: string; command: string[]; env: Record<string, string>; portVariable: string } {
    const dir = mkdtempSync(join(tmpdir(), 'sealdoc-image-'));
    for (const copy of copies(final)) {
      const target = join(dir, posix.relative(workdir, posix.resolve(workdir, copy.dest)));
      mkdirSync(dirname(target), { recursive: true });
      symlinkSync(join(ROOT, posix.relative(stageRoot(copy.from!), copy.sources[0]!)), target);
    }
    mkdirSync(join(dir, 'data'));
    const env = { ...cleanEnv(), ...stageEnv(final) };
    const exposed = last(final, 'EXPOSE')!.split(/\s+/)[0]!.replace(/\/tcp$/, '');
    const portVariable = Object.keys(env).find((k) => env[k] === exposed && /PORT$/.test(k));
    assert.ok(portVariable, `an ENV sets the port ${exposed} the image EXPOSEs`);
    const entrypoint = last(final, 'ENTRYPOINT');
    const command = [...(entrypoint ? execForm(entrypoint, 'ENTRYPOINT') : []), ...execForm(last(final, 'CMD')!, 'CMD')];
    assert.equal(command[0], 'node');
    return { dir, command: [process.execPath, ...command.slice(1)], env, portVariable };
  }

  it('its CMD, run outside Docker as the image lays it out, serves /healthz, passes its HEALTHCHECK and stops within 5 s', { timeout: 60_000 }, async () => {
    const image = imageLayout();
    try {
      const port = await freePort();
      const env = { ...image.env, [image.portVariable]: String(port) };
      const running = launch(image.command, image.dir, env);
      await healthy(running, port);
      assert.ok(existsSync(join(image.dir, 'data/relay.sqlite')), 'the SQLite file is in the volume');

      const check = execForm(last(final, 'HEALTHCHECK')!.replace(/^.*?\bCMD\s+/, 'CMD '), 'HEALTHCHECK');
      const probe = () => spawnSync(process.execPath, check.slice(1), { env, encoding: 'utf8', timeout: 10_000 });
      assert.equal(check[0], 'node');
      assert.equal(probe().status, 0, 'HEALTHCHECK passes');
      await stops(running, SHUTDOWN_MS);
      assert.equal(probe().status, 1, 'HEALTHCHECK fails once the relay is gone');
    } finally {
      rmSync(image.dir, { recursive: true, force: true });
    }
  });

  it('two nodes behind nginx with deploy/nginx.conf: wss upgrade, 1012 passed on, the other node takes over (where nginx and openssl are installed)', { timeout: 60_000 }, async (t) => {
    if (spawnSync('nginx', ['-v']).error || spawnSync('openssl', ['version']).error) return t.skip('nginx or openssl is not installed here');
    const image = imageLayout();
    const nodes: Running[] = [];
    let nginx: Running | undefined;
    try {
      const certs = selfSigned(image.dir);
      const [p1, p2, http, https] = [await freePort(), await freePort(), await freePort(), await freePort()];
      for (const [i, port] of [p1!, p2!].entries()) {
        nodes.push(launch(image.command, image.dir, { ...image.env, [image.portVariable]: String(port), SEALDOC_DB: `./data/node${i + 1}.sqlite` }));
        await healthy(nodes[i]!, port);
      }
      const conf = read('deploy/nginx.conf')
        .replaceAll('/etc/nginx/certs', certs)
        .replace('relay1:8787', `127.0.0.1:${p1}`)
        .replace('relay2:8787', `127.0.0.1:${p2}`)
        .replace(/^\s*listen \[::\]:\d+.*$/gm, '')
        .replace(/listen 80;/, `listen 127.0.0.1:${http};`)
        .replace(/listen 443 ssl;/, `listen 127.0.0.1:${https} ssl;`);
      writeFileSync(join(image.dir, 'nginx.conf'), conf);
      nginx = launch(['nginx', '-p', image.dir, '-c', join(image.dir, 'nginx.conf'), '-g', `pid ${join(image.dir, 'nginx.pid')}; error_log stderr; daemon off;`], image.dir, cleanEnv());
      const status = (path: string) =>
        new Promise<number>((resolve) => {
          const request = httpsGet({ host: '127.0.0.1', port: https, path, rejectUnauthorized: false, timeout: 2000 }, (r) => (r.resume(), resolve(r.statusCode ?? 0)));
          request.on('error', () => resolve(0));
          request.on('timeout', () => request.destroy());
        });
      for (let i = 0; i < 100 && (await status('/healthz')) !== 200; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await status('/healthz'), 200, `through nginx: ${nginx.output()}`);
      assert.equal(await status('/metrics'), 404, 'nginx does not show /metrics');
      const open = () =>
        new Promise<WebSocket>((resolve, reject) => {
          const socket = new WebSocket(`wss://127.0.0.1:${https}/`, { rejectUnauthorized: false });
          socket.once('open', () => resolve(socket));
          socket.once('error', reject);
        });
      // least_conn: two sockets, one on each node.
      const sockets = [await open(), await open()];
      const closes = sockets.map((s) => new Promise<number>((resolve) => s.once('close', (code) => resolve(code))));
      await stops(nodes[0]!, SHUTDOWN_MS);
      assert.equal(await Promise.race([...closes, new Promise((r) => setTimeout(() => r('none'), 3000))]), 1012, 'the stopping node’s client is told to reconnect elsewhere (1012), through nginx');
      for (let i = 0; i < 3; i++) (await open()).close();
      sockets.forEach((s) => s.terminate());
    } finally {
      nginx?.child.kill('SIGTERM');
      await nginx?.exited;
      for (const node of nodes) if (node.child.exitCode === null) await stops(node, SHUTDOWN_MS).catch(() => node.child.kill('SIGKILL'));
      rmSync(image.dir, { recursive: true, force: true });
    }
  });

  it('builds and runs in Docker, healthy (SEALDOC_DOCKER_TESTS=1)', { timeout: 900_000 }, async (t) => {
    if (process.env.SEALDOC_DOCKER_TESTS !== '1') return t.skip('set SEALDOC_DOCKER_TESTS=1 where Docker runs');
    const docker = (...args: string[]) => spawnSync('docker', args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
    const tag = `sealdoc-relay:test-${process.pid}`;
    const build = docker('build', '-t', tag, '.');
    assert.equal(build.status, 0, build.stderr);
    const run = docker('run', '-d', '-v', `sealdoc-test-data-${process.pid}:/app/data`, tag);
    assert.equal(run.status, 0, run.stderr);
    const id = run.stdout.trim();
    try {
      assert.equal(docker('run', '--rm', '--entrypoint', 'id', tag, '-u').stdout.trim() === '0', false, 'not root');
      let status = '';
      for (let i = 0; i < 120 && status !== 'healthy'; i++) {
        status = docker('inspect', '--format', '{{.State.Health.Status}}', id).stdout.trim();
        if (status === 'unhealthy') break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      assert.equal(status, 'healthy', docker('logs', id).stdout);
      const start = Date.now();
      assert.equal(docker('stop', '--time', '10', id).status, 0);
      assert.ok(Date.now() - start < SHUTDOWN_MS + 1000, `docker stop took ${Date.now() - start} ms`);
      assert.equal(docker('inspect', '--format', '{{.State.ExitCode}}', id).stdout.trim(), '0');
    } finally {
      docker('rm', '-f', id);
      docker('volume', 'rm', `sealdoc-test-data-${process.pid}`);
      docker('rmi', tag);
    }
  });
});

describe('deploy/compose.yaml and the proxy configurations', () => {
  const compose = parseYaml(read(COMPOSE)) as Record<string, Record<string, Record<string, Yaml>>>;
  const services = compose.services!;
  const relays = Object.entries(services).filter(([, s]) => s.build !== undefined);

  it('reads the same with PyYAML, where it is installed', (t) => {
    const py = spawnSync('python3', ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], { input: read(COMPOSE), encoding: 'utf8' });
    if (py.status !== 0) return t.skip('python3 with PyYAML is not installed here');
    assert.deepEqual(parseYaml(read(COMPOSE)), JSON.parse(py.stdout));
  });

  it('runs PostgreSQL, two relay nodes built from the Dockerfile, and a proxy in front', () => {
    assert.ok(Object.values(services).some((s) => /^postgres:/.test(s.image as string)), 'a postgres service');
    assert.equal(relays.length, 2, 'two relay nodes');
    const help = variablesInHelp();
    for (const [name, relay] of relays) {
      const build = relay.build as Record<string, string>;
      assert.ok(existsSync(join(ROOT, 'deploy', build.context!, build.dockerfile ?? 'Dockerfile')), `${name}: its Dockerfile`);
      const env = relay.environment as Record<string, string>;
      assert.match(env.DATABASE_URL ?? '', /^postgres:\/\/[^@]+@postgres:5432\//, `${name}: DATABASE_URL names the postgres service`);
      assert.ok(!/:[^$@/]+@/.test(env.DATABASE_URL!.replace(/\$\{[^}]+\}/g, '')), `${name}: no password written in the file`);
      assert.equal(env.SEALDOC_TRUST_PROXY, 'true', `${name}: behind the proxy, --trust-proxy`);
      for (const variable of relayVariables(env)) assert.ok(help.has(variable), `${name}: ${variable} is not a variable sealdoc-relay reads (--help)`);
      assert.equal(relay.ports, undefined, `${name}: reached through the proxy only`);
      assert.ok(durationMs(relay.stop_grace_period as string) >= SHUTDOWN_MS, `${name}: stop_grace_period leaves the relay its 5 s`);
    }
  });

  it('the proxy mounts deploy/nginx.conf, which balances the two nodes with the WebSocket upgrade passed through', () => {
    const proxy = Object.values(services).find((s) => /^nginx:/.test(s.image as string));
    assert.ok(proxy, 'an nginx service');
    assert.ok((proxy.ports as string[]).some((p) => /:443$/.test(p)), 'publishes 443');
    const mounts = (proxy.volumes as string[]).map((v) => v.split(':'));
    const conf = mounts.find(([, inside]) => inside === '/etc/nginx/nginx.conf');
    assert.ok(conf && existsSync(join(ROOT, 'deploy', conf[0]!)), 'mounts a config file that exists');
    const nginx = read(posix.join('deploy', conf[0]!));
    const exposed = last(parseDockerfile(read('Dockerfile')).stages.at(-1)!, 'EXPOSE')!.split(/\s+/)[0];
    const upstream = [...nginx.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map((m) => [m[1], m[2]]);
    assert.deepEqual(upstream.map(([host]) => host).sort(), relays.map(([name]) => name).sort(), 'upstream servers are the relay services');
    for (const [, port] of upstream) assert.equal(port, exposed, 'at the port the image exposes');
    for (const directive of [/proxy_http_version 1\.1;/, /proxy_set_header Upgrade \$http_upgrade;/, /proxy_set_header Connection \$connection_upgrade;/, /proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/, /ssl_certificate\s+\/etc\/nginx\/certs\//])
      assert.match(nginx, directive);
    // Longer than the relay's 5 s heartbeat, or live but quiet links would be cut.
    for (const m of nginx.matchAll(/proxy_read_timeout\s+(\S+);/g)) assert.ok(durationMs(m[1]!) > 5000, `proxy_read_timeout ${m[1]}`);
    assert.ok(mounts.some(([, inside]) => inside === '/etc/nginx/certs'), 'mounts the certificates');
  });

  it('nginx -t accepts deploy/nginx.conf (where nginx and openssl are installed)', (t) => {
    if (spawnSync('nginx', ['-v']).error || spawnSync('openssl', ['version']).error) return t.skip('nginx or openssl is not installed here');
    const dir = mkdtempSync(join(tmpdir(), 'sealdoc-nginx-'));
    try {
      // The service names resolve only inside compose's network.
      const conf = read('deploy/nginx.conf').replaceAll('/etc/nginx/certs', selfSigned(dir)).replace(/\b(relay\d+):/g, '127.0.0.1:');
      writeFileSync(join(dir, 'nginx.conf'), conf);
      const test = spawnSync('nginx', ['-t', '-p', dir, '-c', join(dir, 'nginx.conf'), '-g', `pid ${join(dir, 'nginx.pid')}; error_log stderr;`], { encoding: 'utf8' });
      assert.equal(test.status, 0, test.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Caddy with deploy/Caddyfile serves wss:// to the relay and passes 1012 on (where caddy is installed)', { timeout: 60_000 }, async (t) => {
    if (spawnSync('caddy', ['version']).error) return t.skip('caddy is not installed here');
    const dir = mkdtempSync(join(tmpdir(), 'sealdoc-caddy-'));
    let relay: Running | undefined;
    let caddy: Running | undefined;
    try {
      const [port, http, https] = [await freePort(), await freePort(), await freePort()];
      relay = launch([process.execPath, join(ROOT, 'packages/relay/bin/sealdoc-relay.js'), '--port', String(port), '--db', join(dir, 'relay.sqlite'), '--trust-proxy'], dir, cleanEnv());
      await healthy(relay, port);
      // Other ports than 80 and 443, a certificate from Caddy's own local authority, nothing outside `dir`.
      const options = `{\n\tadmin off\n\thttp_port ${http}\n\thttps_port ${https}\n\tskip_install_trust\n\tstorage file_system ${join(dir, 'caddy')}\n}\n`;
      writeFileSync(join(dir, 'Caddyfile'), options + read('deploy/Caddyfile').replaceAll('127.0.0.1:8787', `127.0.0.1:${port}`));
      caddy = launch(['caddy', 'run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], dir, { ...cleanEnv(), HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir });
      // By the site's name: Caddy answers an empty 200 to a host no site matches.
      const answer = (path: string) =>
        new Promise<{ status: number; body: string }>((resolve) => {
          const request = httpsGet({ host: 'localhost', port: https, path, rejectUnauthorized: false, timeout: 2000 }, (r) => {
            let body = '';
            r.on('data', (chunk: Buffer) => (body += chunk.toString()));
            r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
          });
          request.on('error', () => resolve({ status: 0, body: '' }));
          request.on('timeout', () => request.destroy());
        });
      for (let i = 0; i < 100 && (await answer('/healthz')).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
      const health = await answer('/healthz');
      assert.equal(health.status, 200, `through Caddy: ${caddy.output()}`);
      assert.ok(health.body.length > 0, 'the relay answered, not Caddy');
      assert.equal((await answer('/metrics')).status, 404, 'Caddy does not show /metrics');
      const socket = await new Promise<WebSocket>((resolve, reject) => {
        const s = new WebSocket(`wss://localhost:${https}/`, { rejectUnauthorized: false });
        s.once('open', () => resolve(s));
        s.once('error', reject);
      });
      const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
      await stops(relay, SHUTDOWN_MS);
      assert.equal(await Promise.race([closed, new Promise((r) => setTimeout(() => r('none'), 3000))]), 1012, 'the relay’s 1012 reaches the client through Caddy');
    } finally {
      caddy?.child.kill('SIGTERM');
      await caddy?.exited;
      if (relay && relay.child.exitCode === null) relay.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('caddy validate accepts deploy/Caddyfile (where caddy is installed)', (t) => {
    if (spawnSync('caddy', ['version']).error) return t.skip('caddy is not installed here');
    const check = spawnSync('caddy', ['validate', '--config', join(ROOT, 'deploy/Caddyfile'), '--adapter', 'caddyfile'], { encoding: 'utf8', env: { ...cleanEnv(), HOME: tmpdir() } });
    assert.equal(check.status, 0, check.stderr);
  });
});
