#!/usr/bin/env node
/**
 * sealdoc-relay: runs a relay. SQLite by default (a file, no set-up), or PostgreSQL for
 * several relay nodes behind a load balancer. Logs one JSON object per line on stdout, with
 * codes and counts only: no envelope content, no key, no signature.
 *
 *   sealdoc-relay [--port 8787] [--host 127.0.0.1] [--db ./data/relay.sqlite | --postgres URL | --memory]
 *                 [--tls-cert cert.pem --tls-key key.pem] [--retain-snapshots N] [--trust-proxy] [limits and quotas]
 *
 * `--retain-snapshots N` turns retention on: what a snapshot covers is dropped once N later
 * snapshots of the document are stored (default: keep everything). Limits and quotas (see
 * `--help`) bound what any client, and any one identity, can cost the relay.
 * @module
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MemoryRelayStore } from './memory-store.js';
import { startRelay } from './server.js';
import { SqliteRelayStore } from './sqlite-store.js';
import type { RelayStore } from './store.js';
import { DEFAULT_LIMITS, DEFAULT_QUOTAS, type RelayLimits, type RelayQuotas } from './limits.js';

// Flags that set a limit or a quota: --flag-name N.
const LIMIT_FLAGS = {
  'max-frame-bytes': ['limits', 'maxFrameBytes', 'largest frame accepted'],
  'frames-per-second': ['limits', 'framesPerSecond', 'frames a connection (and an identity) may send per second'],
  'max-connections': ['limits', 'maxConnections', 'connections at once'],
  'connections-per-identity': ['limits', 'connectionsPerIdentity', 'connections one identity may hold'],
  'connections-per-address': ['limits', 'connectionsPerAddress', 'connections one network address may hold'],
  'groups-per-address-per-second': ['limits', 'groupsPerAddressPerSecond', 'groups one network address may create per second'],
  'groups-per-second': ['limits', 'groupsPerSecond', 'groups all addresses together may create per second'],
  'high-water-bytes': ['limits', 'highWaterBytes', 'bytes queued for a connection before it gets no more'],
  'quota-groups': ['quotas', 'groupsPerIdentity', 'groups one identity may create'],
  'quota-documents': ['quotas', 'documentsPerIdentity', 'documents one identity may start'],
  'quota-bytes': ['quotas', 'bytesPerIdentity', 'bytes one identity may store'],
} as const;
type LimitFlag = keyof typeof LIMIT_FLAGS;

const USAGE = `usage: sealdoc-relay [--port 8787] [--host 127.0.0.1] [--db ./data/relay.sqlite | --postgres URL | --memory]
                     [--tls-cert cert.pem --tls-key key.pem] [--retain-snapshots N] [--trust-proxy]
  --trust-proxy                 behind a reverse proxy: count each client by the last X-Forwarded-For address
limits and quotas (defaults in parentheses):
${Object.entries(LIMIT_FLAGS)
  .map(([flag, [group, name, what]]) => `  --${flag} N`.padEnd(32) + `${what} (${(group === 'limits' ? DEFAULT_LIMITS : DEFAULT_QUOTAS)[name as never]})`)
  .join('\n')}`;

const log = (fields: Record<string, unknown>) => console.log(JSON.stringify({ time: new Date().toISOString(), ...fields }));

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        port: { type: 'string', default: process.env.PORT ?? '8787' },
        host: { type: 'string', default: '127.0.0.1' },
        db: { type: 'string' },
        postgres: { type: 'string' },
        memory: { type: 'boolean', default: false },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'retain-snapshots': { type: 'string' },
        'trust-proxy': { type: 'boolean', default: false },
        ...(Object.fromEntries(Object.keys(LIMIT_FLAGS).map((flag) => [flag, { type: 'string' }])) as Record<LimitFlag, { type: 'string' }>),
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const port = Number(args.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be 0 to 65535\n${USAGE}`);
    process.exit(2);
  }
  const count = (name: LimitFlag | 'retain-snapshots', min: number): number | undefined => {
    const text = args[name];
    if (text === undefined) return undefined;
    const n = Number(text);
    if (/^\d+$/.test(text) && Number.isSafeInteger(n) && n >= min) return n;
    console.error(`--${name} must be a whole number, at least ${min}\n${USAGE}`);
    process.exit(2);
  };
  const retainSnapshots = count('retain-snapshots', 0);
  const limits: Partial<RelayLimits> = {};
  const quotas: Partial<RelayQuotas> = {};
  for (const [flag, [group, name]] of Object.entries(LIMIT_FLAGS)) {
    const value = count(flag as LimitFlag, flag === 'max-frame-bytes' ? 1024 : 1);
    if (value !== undefined) (group === 'limits' ? (limits as Record<string, number>) : (quotas as Record<string, number>))[name] = value;
  }
  if ([args.db !== undefined, args.postgres !== undefined, args.memory].filter(Boolean).length > 1) {
    console.error(`choose one of --db, --postgres, --memory\n${USAGE}`);
    process.exit(2);
  }
  if (!!args['tls-cert'] !== !!args['tls-key']) {
    console.error(`--tls-cert and --tls-key go together\n${USAGE}`);
    process.exit(2);
  }
  let store: RelayStore;
  let storage: string;
  if (args.memory) {
    store = new MemoryRelayStore();
    storage = 'memory';
  } else if (args.postgres) {
    const { PostgresRelayStore } = await import('./postgres-store.js');
    store = await PostgresRelayStore.connect(args.postgres);
    storage = 'postgres'; // the URL may hold a password: never logged
  } else {
    const path = args.db ?? './data/relay.sqlite';
    store = SqliteRelayStore.open(path);
    storage = `sqlite:${path}`;
  }
  const server = await startRelay({
    store,
    port,
    host: args.host,
    trustProxy: args['trust-proxy'],
    limits,
    quotas,
    ...(retainSnapshots !== undefined ? { retention: { afterSnapshots: retainSnapshots } } : {}),
    ...(args['tls-cert'] && args['tls-key'] ? { tls: { cert: readFileSync(args['tls-cert']), key: readFileSync(args['tls-key']) } } : {}),
    log: (event) => log(event as unknown as Record<string, unknown>),
  });
  log({ event: 'listening', url: server.url, port: server.port, storage, retention: retainSnapshots === undefined ? 'keep everything' : `after ${retainSnapshots} later snapshots` });
  const stop = async (signal: string) => {
    log({ event: 'stopping', signal });
    // Whatever a flood holds up, the process is gone within 5 s (acknowledged envelopes are committed already).
    setTimeout(() => {
      log({ event: 'stopped', signal, forced: true });
      process.exit(0);
    }, 4500).unref();
    await server.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  log({ event: 'failed', error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
