#!/usr/bin/env node
/**
 * sealdoc-relay: runs a relay. SQLite by default (a file, no set-up), or PostgreSQL
 * (`DATABASE_URL`) for several relay nodes behind a load balancer. Configured by flags and
 * `SEALDOC_*` environment variables (config.ts; `--help` lists them all). Logs one JSON object
 * per line on stdout (logger.ts), with codes and counts only: no envelope content, no key, no
 * signature, no database URL. SIGHUP reloads the TLS certificate; SIGTERM and SIGINT send
 * clients elsewhere and exit within 5 s.
 * @module
 */
import { readFileSync } from 'node:fs';
import { verifyOnCallingThread } from '@sealdoc/crypto';
import { ConfigError, parseConfig, USAGE, type RelayConfig } from './config.js';
import { createLogger, levelOf, type Logger } from './logger.js';
import { MemoryRelayStore } from './memory-store.js';
import { startRelay } from './server.js';
import { SqliteRelayStore } from './sqlite-store.js';
import type { RelayStore } from './store.js';

/** Whatever holds the process up, it is gone within 5 s of SIGTERM (acknowledged envelopes are committed already). */
const EXIT_WITHIN_MS = 4500;

async function openStore(config: RelayConfig): Promise<{ store: RelayStore; storage: string }> {
  const { storage } = config;
  if (storage.kind === 'memory') return { store: new MemoryRelayStore(), storage: 'memory' };
  if (storage.kind === 'postgres') {
    const { PostgresRelayStore } = await import('./postgres-store.js');
    return { store: await PostgresRelayStore.connect(storage.url), storage: 'postgres' }; // the URL may hold a password: never logged
  }
  return { store: SqliteRelayStore.open(storage.path), storage: `sqlite:${storage.path}` };
}

async function main(log: Logger, config: RelayConfig): Promise<void> {
  // This process is the relay's alone: a check it makes on its main thread (a quiet turn's lone
  // check, verify-pool.ts) runs on node:crypto there, not through WebCrypto's thread pool.
  verifyOnCallingThread(true);
  const { store, storage } = await openStore(config);
  const readTls = (tls: { cert: string; key: string }) => ({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) });
  const server = await startRelay({
    store,
    port: config.port,
    host: config.host,
    trustProxy: config.trustProxy,
    limits: config.limits,
    quotas: config.quotas,
    metrics: {
      process: true,
      ...(config.metricsPort !== undefined ? { port: config.metricsPort, host: config.metricsHost } : {}),
      ...(config.metricsToken !== undefined ? { token: config.metricsToken } : {}),
    },
    ...(config.retainSnapshots !== undefined ? { retention: { afterSnapshots: config.retainSnapshots } } : {}),
    ...(config.verifyThreads !== undefined ? { verifyThreads: config.verifyThreads } : {}),
    ...(config.tls ? { tls: readTls(config.tls) } : {}),
    log: (event) => log[levelOf(event)](event),
  });
  log.info({
    event: 'listening',
    url: server.url,
    port: server.port,
    ...(server.metricsPort !== undefined ? { metricsPort: server.metricsPort } : {}),
    storage,
    retention: config.retainSnapshots === undefined ? 'keep everything' : `after ${config.retainSnapshots} later snapshots`,
  });
  // SIGHUP would end the process by default: a service manager's "reload" must not.
  const tls = config.tls;
  process.on('SIGHUP', () => {
    if (!tls) return log.info({ event: 'sighup', detail: 'nothing to reload (no --cert)' });
    try {
      server.reloadTls(readTls(tls));
      log.info({ event: 'tls-reloaded' });
    } catch (error) {
      // The certificate in use stays: a half-written file must not take the relay down.
      log.error({ event: 'tls-reload-failed', detail: error instanceof Error ? error.message : 'unknown' });
    }
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'stopping', signal });
    setTimeout(() => {
      log.warn({ event: 'stopped', signal, forced: true });
      process.exit(0);
    }, EXIT_WITHIN_MS).unref();
    await server.shutdown(2500);
    await store.close();
    log.info({ event: 'stopped', signal });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

if (process.argv[2] === 'backup') process.exit(await (await import('./backup.js')).backupCommand(process.argv.slice(3)));
let config: ReturnType<typeof parseConfig>;
try {
  config = parseConfig(process.argv.slice(2), process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`${error.message}\n${USAGE}`);
  process.exit(2);
}
if (config.help) {
  console.log(USAGE);
  process.exit(0);
}
const log = createLogger(config.logLevel);
main(log, config).catch((error: unknown) => {
  log.fatal({ event: 'failed', error: withoutSecrets(error instanceof Error ? error.message : String(error), config) });
  process.exit(1);
});

/** A driver's message names a host and a port at most; should one quote the URL, its password is cut out. */
function withoutSecrets(text: string, config: RelayConfig): string {
  if (config.storage.kind !== 'postgres') return text;
  const { url } = config.storage;
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // not a URL: the whole text is cut out below
  }
  return [url, password].filter((s) => s.length > 0).reduce((t, secret) => t.split(secret).join('[redacted]'), text);
}
