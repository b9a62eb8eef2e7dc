/**
 * The demo's server: one port for the relay (WebSocket) and the web app (its static files),
 * SQLite in a local data folder. `npm start` runs it through main.ts.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SqliteRelayStore, startRelay, type RelayLogEvent, type RelayServer } from '@sealdoc/relay';

/** Options of {@link startDemo}. */
export interface DemoOptions {
  /** Port (0: any free one). */
  port: number;
  /** Folder of the relay's SQLite file (created if missing). */
  dataDir: string;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** What the relay reports (codes and counts only). */
  log?: (event: RelayLogEvent) => void;
}

/** A running demo. */
export interface Demo {
  /** http://host:port/ : the app; the relay is at the same address over WebSocket. */
  readonly url: string;
  readonly relay: RelayServer;
  close(): Promise<void>;
}

const PUBLIC = fileURLToPath(new URL('../public/', import.meta.url));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};
// The app loads only its own files and talks only to this server.
const HEADERS = {
  'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

/** Serves the app's files; any other path is the app (it reads its own fragment). */
async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, HEADERS).end();
    return;
  }
  const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
  const file = normalize(join(PUBLIC, path === '/' ? 'index.html' : path));
  const inside = file.startsWith(PUBLIC) && !file.slice(PUBLIC.length).split(sep).includes('..');
  const extension = file.slice(file.lastIndexOf('.'));
  try {
    const body = inside && TYPES[extension] ? await readFile(file) : await readFile(join(PUBLIC, 'index.html'));
    const type = inside && TYPES[extension] ? TYPES[extension]! : TYPES['.html']!;
    response.writeHead(200, { ...HEADERS, 'content-type': type, 'cache-control': 'no-cache' });
    response.end(request.method === 'HEAD' ? undefined : body);
  } catch {
    response.writeHead(500, { ...HEADERS, 'content-type': 'text/plain' });
    response.end('The demo app is not built: run npm start (it builds first).\n');
  }
}

/** Starts the relay and the app on one port. */
export async function startDemo(options: DemoOptions): Promise<Demo> {
  const store = SqliteRelayStore.open(join(options.dataDir, 'relay.sqlite'));
  let relay: RelayServer;
  try {
    relay = await startRelay({
      store,
      port: options.port,
      host: options.host ?? '127.0.0.1',
      http: (request, response) => void serve(request, response),
      ...(options.log ? { log: options.log } : {}),
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  return {
    url: `http://${options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1'}:${relay.port}/`,
    relay,
    close: async () => {
      await relay.close();
      await store.close();
    },
  };
}
