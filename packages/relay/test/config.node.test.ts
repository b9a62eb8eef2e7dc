// The relay command's configuration (config.ts): flags over environment over defaults, every
// flag with its variable in --help, bad values refused naming where they came from.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig, SETTINGS, USAGE } from '../src/config.js';

function refused(argv: string[], env: Record<string, string> = {}): ConfigError {
  try {
    parseConfig(argv, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  assert.fail(`accepted ${argv.join(' ')} ${JSON.stringify(env)}`);
}

describe('relay configuration', () => {
  it('defaults, then the environment, then flags', () => {
    const none = parseConfig([], {});
    assert.equal(none.port, 8787);
    assert.equal(none.host, '127.0.0.1');
    assert.deepEqual(none.storage, { kind: 'sqlite', path: './data/relay.sqlite' });
    assert.equal(none.logLevel, 'info');
    assert.equal(none.trustProxy, false);
    assert.deepEqual(none.limits, {});
    const env = { SEALDOC_PORT: '9000', SEALDOC_HOST: '0.0.0.0', SEALDOC_DB: '/var/lib/sealdoc/relay.sqlite', SEALDOC_MAX_FRAME_BYTES: '65536', SEALDOC_QUOTA_BYTES: '1000', SEALDOC_LOG_LEVEL: 'debug', SEALDOC_TRUST_PROXY: 'true', SEALDOC_RETAIN_SNAPSHOTS: '2' };
    const fromEnv = parseConfig([], env);
    assert.equal(fromEnv.port, 9000);
    assert.equal(fromEnv.host, '0.0.0.0');
    assert.deepEqual(fromEnv.storage, { kind: 'sqlite', path: '/var/lib/sealdoc/relay.sqlite' });
    assert.equal(fromEnv.limits.maxFrameBytes, 65536);
    assert.equal(fromEnv.quotas.bytesPerIdentity, 1000);
    assert.equal(fromEnv.logLevel, 'debug');
    assert.equal(fromEnv.trustProxy, true);
    assert.equal(fromEnv.retainSnapshots, 2);
    const flags = parseConfig(['--port', '1234', '--db', 'x.sqlite', '--max-frame-bytes', '2048', '--log-level', 'warn'], env);
    assert.equal(flags.port, 1234);
    assert.deepEqual(flags.storage, { kind: 'sqlite', path: 'x.sqlite' });
    assert.equal(flags.limits.maxFrameBytes, 2048);
    assert.equal(flags.logLevel, 'warn');
    assert.equal(flags.host, '0.0.0.0', 'what no flag sets comes from the environment');
    // PORT, as platforms set it, after SEALDOC_PORT.
    assert.equal(parseConfig([], { PORT: '7000' }).port, 7000);
    assert.equal(parseConfig([], { PORT: '7000', SEALDOC_PORT: '7001' }).port, 7001);
    // An empty variable is unset.
    assert.equal(parseConfig([], { SEALDOC_PORT: '' }).port, 8787);
  });

  it('PostgreSQL from DATABASE_URL; a storage flag wins over the environment', () => {
    const url = 'postgres://relay:pw@db.internal/sealdoc';
    assert.deepEqual(parseConfig([], { DATABASE_URL: url }).storage, { kind: 'postgres', url });
    assert.deepEqual(parseConfig(['--postgres', url], {}).storage, { kind: 'postgres', url });
    assert.deepEqual(parseConfig(['--memory'], { DATABASE_URL: url }).storage, { kind: 'memory' });
    assert.deepEqual(parseConfig(['--db', 'a.sqlite'], { DATABASE_URL: url }).storage, { kind: 'sqlite', path: 'a.sqlite' });
    assert.deepEqual(parseConfig([], { SEALDOC_MEMORY: '1' }).storage, { kind: 'memory' });
    assert.deepEqual(parseConfig([], { SEALDOC_MEMORY: 'false', DATABASE_URL: url }).storage, { kind: 'postgres', url });
    const two = refused([], { DATABASE_URL: url, SEALDOC_DB: 'a.sqlite' });
    assert.match(two.message, /SEALDOC_DB/);
    assert.ok(!two.message.includes('pw'), 'the URL is not in the message');
    assert.match(refused(['--db', 'x', '--memory']).message, /choose one/);
  });

  it('TLS as --cert/--key, with --tls-cert/--tls-key as other names', () => {
    assert.deepEqual(parseConfig(['--cert', 'c.pem', '--key', 'k.pem'], {}).tls, { cert: 'c.pem', key: 'k.pem' });
    assert.deepEqual(parseConfig(['--tls-cert', 'c.pem', '--tls-key', 'k.pem'], {}).tls, { cert: 'c.pem', key: 'k.pem' });
    assert.deepEqual(parseConfig([], { SEALDOC_TLS_CERT: 'c.pem', SEALDOC_TLS_KEY: 'k.pem' }).tls, { cert: 'c.pem', key: 'k.pem' });
    assert.equal(refused(['--cert', 'c.pem']).source, '--cert');
    assert.equal(refused([], { SEALDOC_TLS_KEY: 'k.pem' }).source, 'SEALDOC_TLS_KEY');
    assert.equal(refused(['--cert', 'a', '--tls-cert', 'b', '--key', 'k']).source, '--tls-cert');
  });

  it('metrics on their own port, or behind a token', () => {
    const c = parseConfig(['--metrics-port', '9100'], { SEALDOC_METRICS_TOKEN: 'tok' });
    assert.equal(c.metricsPort, 9100);
    assert.equal(c.metricsHost, '127.0.0.1');
    assert.equal(c.metricsToken, 'tok');
    assert.equal(parseConfig([], {}).metricsPort, undefined);
  });

  it('refuses a bad value naming the flag or the variable it came from', () => {
    const cases: [string[], Record<string, string>, string][] = [
      [['--port', 'abc'], {}, '--port'],
      [['--port', '70000'], {}, '--port'],
      [[], { SEALDOC_PORT: 'abc' }, 'SEALDOC_PORT'],
      [[], { PORT: '-1' }, 'PORT'],
      [['--retain-snapshots', '1.5'], {}, '--retain-snapshots'],
      [[], { SEALDOC_RETAIN_SNAPSHOTS: '-1' }, 'SEALDOC_RETAIN_SNAPSHOTS'],
      [['--max-frame-bytes', '100'], {}, '--max-frame-bytes'],
      [[], { SEALDOC_MAX_FRAME_BYTES: 'lots' }, 'SEALDOC_MAX_FRAME_BYTES'],
      [[], { SEALDOC_QUOTA_GROUPS: '0' }, 'SEALDOC_QUOTA_GROUPS'],
      [[], { SEALDOC_TRUST_PROXY: 'maybe' }, 'SEALDOC_TRUST_PROXY'],
      [['--log-level', 'loud'], {}, '--log-level'],
      [[], { SEALDOC_LOG_LEVEL: 'loud' }, 'SEALDOC_LOG_LEVEL'],
      [['--nope'], {}, '--nope'],
      [['--db'], {}, '--db'],
      [['--verify-threads', '65'], {}, '--verify-threads'],
      [[], { SEALDOC_VERIFY_THREADS: '-1' }, 'SEALDOC_VERIFY_THREADS'],
    ];
    for (const [argv, env, source] of cases) {
      const error = refused(argv, env);
      assert.equal(error.source, source, `${argv.join(' ')} ${JSON.stringify(env)}: ${error.message}`);
      assert.ok(error.message.includes(source), error.message);
    }
    assert.equal(parseConfig(['--verify-threads', '64'], {}).verifyThreads, 64);
    assert.equal(parseConfig([], { SEALDOC_VERIFY_THREADS: '0' }).verifyThreads, 0);
    // A flag that is right makes its bad variable irrelevant: it is not read.
    assert.equal(parseConfig(['--port', '0'], { SEALDOC_PORT: 'abc' }).port, 0);
  });

  it('an empty metrics token is refused, not taken as none (/metrics would be open); a stray argument is not echoed (it may be a URL with its password)', () => {
    assert.equal(refused([], { SEALDOC_METRICS_TOKEN: '' }).source, 'SEALDOC_METRICS_TOKEN');
    const stray = refused(['--memory', 'postgres://root:Hunter2Secret@db/x']);
    assert.ok(!stray.message.includes('Hunter2Secret'), stray.message);
    assert.ok(!stray.message.includes('postgres://'), stray.message);
  });

  it('--help lists every flag with its variable and its default, and the precedence', () => {
    assert.equal(parseConfig(['--help'], { SEALDOC_PORT: 'abc' }).help, true);
    for (const s of SETTINGS) {
      const line = USAGE.split('\n').find((l) => l.startsWith(`  --${s.flag} `) || l === `  --${s.flag}`);
      assert.ok(line, `--${s.flag} listed`);
      assert.ok(line.includes(s.env ?? 'DATABASE_URL'), `--${s.flag} names its variable`);
      if (s.default) assert.ok(line.includes(`default ${s.default}`), `--${s.flag} shows its default`);
      if (s.env) assert.match(s.env, /^SEALDOC_[A-Z_]+$/);
    }
    assert.match(USAGE, /flag wins over its variable, a variable\s+over the default/);
    assert.match(USAGE, /DATABASE_URL/);
    for (const limit of ['--max-frame-bytes', '--quota-bytes', '--connections-per-address', '--retain-snapshots']) assert.ok(USAGE.includes(limit), limit);
  });
});
