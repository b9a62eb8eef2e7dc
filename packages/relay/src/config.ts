/**
 * The relay command's configuration: flags, environment variables and defaults, in that order
 * of precedence (a flag wins over its variable, a variable over the default). Every flag has
 * one variable, `SEALDOC_` and the flag's name in capitals (`--max-frame-bytes` and
 * `SEALDOC_MAX_FRAME_BYTES`), except the PostgreSQL URL, read from `DATABASE_URL` as most
 * platforms set it, so that a password need not be in the command line. Pure: given the
 * arguments and the environment, {@link parseConfig} returns the configuration or throws a
 * {@link ConfigError} that names where the bad value came from.
 * @module
 */
import { parseArgs } from 'node:util';
import { DEFAULT_LIMITS, DEFAULT_QUOTAS, type RelayLimits, type RelayQuotas } from './limits.js';

/** Log levels, quietest last. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where the relay keeps what it stores. */
export type StorageConfig = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string } | { kind: 'memory' };

/** What the relay command runs with. */
export interface RelayConfig {
  port: number;
  host: string;
  storage: StorageConfig;
  tls?: { cert: string; key: string };
  retainSnapshots?: number;
  /** Worker threads that check envelope signatures (RelayOptions.verifyThreads); the relay's default when absent. */
  verifyThreads?: number;
  trustProxy: boolean;
  limits: Partial<RelayLimits>;
  quotas: Partial<RelayQuotas>;
  logLevel: LogLevel;
  /** Serve /metrics on this port (on `metricsHost`) instead of the relay's. */
  metricsPort?: number;
  metricsHost: string;
  /** /metrics asks for `Authorization: Bearer <token>`. */
  metricsToken?: string;
}

/** A value the relay cannot run with; `source` is the flag (`--port`) or the variable (`SEALDOC_PORT`) it came from. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Kind = 'port' | 'count' | 'text' | 'switch' | 'level';

interface Setting {
  flag: string;
  /** Its variable (undefined: none of its own, as --postgres, read from DATABASE_URL). */
  env: string | undefined;
  kind: Kind;
  /** Shown after the flag: N, PATH, URL. */
  value?: string;
  what: string;
  default?: string;
  /** Smallest accepted (counts). */
  min?: number;
  /** Largest accepted (counts). */
  max?: number;
  /** Where a limit or a quota goes. */
  into?: readonly ['limits' | 'quotas', string];
}

const envName = (flag: string) => `SEALDOC_${flag.toUpperCase().replaceAll('-', '_')}`;

const LIMITS: readonly (readonly [string, 'limits' | 'quotas', string, string])[] = [
  ['max-frame-bytes', 'limits', 'maxFrameBytes', 'largest frame accepted'],
  ['frames-per-second', 'limits', 'framesPerSecond', 'frames a connection (and an identity) may send per second'],
  ['max-connections', 'limits', 'maxConnections', 'connections at once'],
  ['connections-per-identity', 'limits', 'connectionsPerIdentity', 'connections one identity may hold'],
  ['connections-per-address', 'limits', 'connectionsPerAddress', 'connections one network address may hold'],
  ['groups-per-address-per-second', 'limits', 'groupsPerAddressPerSecond', 'groups one network address may create per second'],
  ['groups-per-second', 'limits', 'groupsPerSecond', 'groups all addresses together may create per second'],
  ['high-water-bytes', 'limits', 'highWaterBytes', 'bytes queued for a connection before it gets no more'],
  ['quota-groups', 'quotas', 'groupsPerIdentity', 'groups one identity may create'],
  ['quota-documents', 'quotas', 'documentsPerIdentity', 'documents one identity may start'],
  ['quota-bytes', 'quotas', 'bytesPerIdentity', 'bytes one identity may store'],
];

/** Every setting, in the order `--help` lists them. */
export const SETTINGS: readonly Setting[] = [
  { flag: 'port', env: 'SEALDOC_PORT', kind: 'port', value: 'N', what: 'port to listen on (0: any free one; PORT is read too, after SEALDOC_PORT)', default: '8787' },
  { flag: 'host', env: 'SEALDOC_HOST', kind: 'text', value: 'ADDR', what: 'interface to listen on (0.0.0.0: every one)', default: '127.0.0.1' },
  { flag: 'db', env: 'SEALDOC_DB', kind: 'text', value: 'PATH', what: 'SQLite file (the default storage)', default: './data/relay.sqlite' },
  { flag: 'postgres', env: undefined, kind: 'text', value: 'URL', what: 'PostgreSQL instead of SQLite; prefer DATABASE_URL (a flag shows in `ps`)' },
  { flag: 'memory', env: 'SEALDOC_MEMORY', kind: 'switch', what: 'keep everything in memory (lost on exit; for tests)' },
  { flag: 'cert', env: 'SEALDOC_TLS_CERT', kind: 'text', value: 'PATH', what: 'PEM certificate: serve wss:// and https:// (alias --tls-cert; reloaded on SIGHUP)' },
  { flag: 'key', env: 'SEALDOC_TLS_KEY', kind: 'text', value: 'PATH', what: 'PEM private key of --cert (alias --tls-key)' },
  { flag: 'retain-snapshots', env: 'SEALDOC_RETAIN_SNAPSHOTS', kind: 'count', value: 'N', min: 0, what: 'drop what a snapshot covers once N later snapshots are stored', default: 'keep everything' },
  { flag: 'verify-threads', env: 'SEALDOC_VERIFY_THREADS', kind: 'count', value: 'N', min: 0, max: 64, what: 'worker threads that check envelope signatures (0: on the main thread; at most 64)', default: 'one per core but one, 1 to 4' },
  { flag: 'trust-proxy', env: 'SEALDOC_TRUST_PROXY', kind: 'switch', what: 'behind a reverse proxy: count each client by the last X-Forwarded-For address' },
  { flag: 'log-level', env: 'SEALDOC_LOG_LEVEL', kind: 'level', value: 'LEVEL', what: `${LOG_LEVELS.join(', ')}`, default: 'info' },
  { flag: 'metrics-port', env: 'SEALDOC_METRICS_PORT', kind: 'port', value: 'N', what: 'serve /metrics on this port only (not on the relay port)' },
  { flag: 'metrics-host', env: 'SEALDOC_METRICS_HOST', kind: 'text', value: 'ADDR', what: 'interface of --metrics-port', default: '127.0.0.1' },
  { flag: 'metrics-token', env: 'SEALDOC_METRICS_TOKEN', kind: 'text', value: 'TOKEN', what: '/metrics asks for "Authorization: Bearer TOKEN" (prefer the variable)' },
  ...LIMITS.map(([flag, group, name, what]): Setting => ({
    flag,
    env: envName(flag),
    kind: 'count',
    value: 'N',
    min: flag === 'max-frame-bytes' ? 1024 : 1,
    what,
    default: String((group === 'limits' ? DEFAULT_LIMITS : DEFAULT_QUOTAS)[name as never]),
    into: [group, name] as const,
  })),
];

/** Flags that are other names of a setting's flag. */
const ALIASES: Readonly<Record<string, string>> = { 'tls-cert': 'cert', 'tls-key': 'key' };

/** The command's usage: every flag, its variable and its default. */
export const USAGE = `usage: sealdoc-relay [options]
       sealdoc-relay backup --out FILE [--db PATH] [--force]   (an online copy of the SQLite store; backup --help)
Each option is a flag or an environment variable; a flag wins over its variable, a variable
over the default. PostgreSQL: set DATABASE_URL=postgres://user:password@host/db (recommended
over --postgres, which shows the password to anyone who can list processes).
Endpoints: WebSocket on /, /healthz (alive), /readyz (database reachable and writable), /metrics (Prometheus).
Signals: SIGHUP reloads the TLS certificate and key; SIGTERM or SIGINT: clients are told to
reconnect elsewhere (close code 1012) and the relay exits within 5 s.
${SETTINGS.map((s) => {
  const left = `  --${s.flag}${s.value ? ` ${s.value}` : ''}`.padEnd(36);
  const env = (s.env ?? (s.flag === 'postgres' ? 'DATABASE_URL' : '')).padEnd(40);
  return `${left}${env}${s.what}${s.default ? ` (default ${s.default})` : ''}`;
}).join('\n')}
  --help                              prints this`;

/** A value as its setting reads it; throws a {@link ConfigError} naming `source`. */
function read(setting: Setting, text: string, source: string): string | number | boolean {
  switch (setting.kind) {
    case 'port': {
      const n = Number(text);
      if (/^\d+$/.test(text) && n <= 65535) return n;
      throw new ConfigError(source, `${source} must be a port, 0 to 65535`);
    }
    case 'count': {
      const n = Number(text);
      const min = setting.min ?? 0;
      const max = setting.max ?? Number.MAX_SAFE_INTEGER;
      if (/^\d+$/.test(text) && Number.isSafeInteger(n) && n >= min && n <= max) return n;
      throw new ConfigError(source, `${source} must be a whole number, at least ${min}${setting.max === undefined ? '' : ` and at most ${max}`}`);
    }
    case 'switch': {
      const t = text.toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(t)) return true;
      if (['0', 'false', 'no', 'off'].includes(t)) return false;
      throw new ConfigError(source, `${source} must be true or false`);
    }
    case 'level':
      if ((LOG_LEVELS as readonly string[]).includes(text)) return text;
      throw new ConfigError(source, `${source} must be one of ${LOG_LEVELS.join(', ')}`);
    case 'text':
      if (text.length > 0) return text;
      throw new ConfigError(source, `${source} must not be empty`);
  }
}

// Variables whose emptiness is a mistake, not "unset": the metrics token (empty, /metrics would be open).
const SECRET_VARIABLES = ['SEALDOC_METRICS_TOKEN'];

/**
 * The configuration from the command's arguments and the environment. Throws a
 * {@link ConfigError} for an unknown flag, a bad value, or settings that do not go together.
 * Never puts a URL or a token in an error's message.
 */
export function parseConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): RelayConfig & { help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const s of SETTINGS) options[s.flag] = { type: s.kind === 'switch' ? 'boolean' : 'string' };
  for (const alias of Object.keys(ALIASES)) options[alias] = { type: 'string' };
  let flags: Record<string, string | boolean | undefined>;
  try {
    flags = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as typeof flags;
  } catch (error) {
    // A stray argument is not echoed: it may be a URL with a password, or a token.
    if ((error as { code?: string }).code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
      throw new ConfigError('arguments', 'an argument that is no flag was given (not shown here: it may hold a secret); values go after their flag, or in the environment');
    const message = (error as Error).message;
    throw new ConfigError(/'(--?[\w-]+)/.exec(message)?.[1] ?? 'arguments', message.split('\n')[0]!);
  }
  if (flags.help) return { ...defaults(), help: true };
  for (const [alias, name] of Object.entries(ALIASES)) {
    if (flags[alias] === undefined) continue;
    if (flags[name] !== undefined) throw new ConfigError(`--${alias}`, `--${alias} is another name of --${name}: give one`);
    flags[name] = flags[alias];
  }
  // A protection whose secret did not reach the environment must not silently turn into none.
  for (const name of SECRET_VARIABLES) if (env[name] === '') throw new ConfigError(name, `${name} is set but empty: give it a value, or unset it`);
  // Each setting's value, with where it came from: the flag, else its variable.
  const given = new Map<string, { value: string | number | boolean; source: string }>();
  for (const s of SETTINGS) {
    const flag = flags[s.flag];
    if (flag !== undefined) {
      given.set(s.flag, { value: typeof flag === 'boolean' ? flag : read(s, flag, `--${s.flag}`), source: `--${s.flag}` });
      continue;
    }
    const names = s.flag === 'port' ? ['SEALDOC_PORT', 'PORT'] : s.flag === 'postgres' ? ['DATABASE_URL'] : s.env ? [s.env] : [];
    const name = names.find((n) => env[n] !== undefined && env[n] !== '');
    if (name) given.set(s.flag, { value: read(s, env[name]!, name), source: name });
  }
  const value = <T>(flag: string): T | undefined => given.get(flag)?.value as T | undefined;
  const source = (flag: string) => given.get(flag)?.source ?? `--${flag}`;

  const config = defaults();
  if (given.has('port')) config.port = value<number>('port')!;
  if (given.has('host')) config.host = value<string>('host')!;
  config.storage = storage(given);
  const cert = value<string>('cert');
  const key = value<string>('key');
  if ((cert === undefined) !== (key === undefined)) throw new ConfigError(source(cert === undefined ? 'key' : 'cert'), '--cert and --key (SEALDOC_TLS_CERT and SEALDOC_TLS_KEY) go together');
  if (cert !== undefined && key !== undefined) config.tls = { cert, key };
  const retain = value<number>('retain-snapshots');
  if (retain !== undefined) config.retainSnapshots = retain;
  const verifyThreads = value<number>('verify-threads');
  if (verifyThreads !== undefined) config.verifyThreads = verifyThreads;
  config.trustProxy = value<boolean>('trust-proxy') ?? false;
  config.logLevel = value<LogLevel>('log-level') ?? 'info';
  const metricsPort = value<number>('metrics-port');
  if (metricsPort !== undefined) config.metricsPort = metricsPort;
  config.metricsHost = value<string>('metrics-host') ?? '127.0.0.1';
  const token = value<string>('metrics-token');
  if (token !== undefined) config.metricsToken = token;
  for (const s of SETTINGS) {
    const n = value<number>(s.flag);
    if (!s.into || n === undefined) continue;
    (config[s.into[0]] as Record<string, number>)[s.into[1]] = n;
  }
  return { ...config, help: false };
}

function defaults(): RelayConfig {
  return { port: 8787, host: '127.0.0.1', storage: { kind: 'sqlite', path: './data/relay.sqlite' }, trustProxy: false, limits: {}, quotas: {}, logLevel: 'info', metricsHost: '127.0.0.1' };
}

/** SQLite, PostgreSQL or memory: one of them, chosen by flags first; by the environment only when no flag chose. */
function storage(given: ReadonlyMap<string, { value: string | number | boolean; source: string }>): StorageConfig {
  const chosen = (['db', 'postgres', 'memory'] as const).filter((f) => given.has(f) && given.get(f)!.value !== false);
  const byFlag = chosen.filter((f) => given.get(f)!.source.startsWith('--'));
  const from = byFlag.length > 0 ? byFlag : chosen;
  if (from.length > 1) {
    const names = from.map((f) => given.get(f)!.source);
    throw new ConfigError(names[1]!, `choose one of ${names.join(', ')} (--db, --postgres or DATABASE_URL, --memory)`);
  }
  const [kind] = from;
  if (kind === 'memory') return { kind: 'memory' };
  if (kind === 'postgres') return { kind: 'postgres', url: given.get('postgres')!.value as string };
  return { kind: 'sqlite', path: kind === 'db' ? (given.get('db')!.value as string) : './data/relay.sqlite' };
}
