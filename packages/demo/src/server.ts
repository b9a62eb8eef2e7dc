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

/** The public file a request path names, or undefined when it names none (the app then serves its page). */
function publicFile(url: string | undefined): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(new URL(url ?? '/', 'http://x').pathname);
  } catch {
    return undefined; // not a URL, or a percent-escape that is no UTF-8: the caller answers 400
  }
  if (path.includes('\0')) return undefined;
  const file = normalize(join(PUBLIC, path === '/' ? 'index.html' : path));
  const inside = file.startsWith(PUBLIC) && !file.slice(PUBLIC.length).split(sep).includes('..');
  return inside && TYPES[file.slice(file.lastIndexOf('.'))] ? file : join(PUBLIC, 'index.html');
}

/**
 * Serves the app's files; any other path is the app (it reads its own fragment). Never
 * throws: a request it cannot read gets a 4xx, a file it cannot read a 500.
 */
async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { ...HEADERS, allow: 'GET, HEAD' }).end();
    return;
  }
  const file = publicFile(request.url);
  if (!file) {
    response.writeHead(400, { ...HEADERS, 'content-type': 'text/plain' }).end('Bad request\n');
    return;
  }
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    response.writeHead(500, { ...HEADERS, 'content-type': 'text/plain' });
    response.end('The demo app is not built: run npm start (it builds first).\n');
    return;
  }
  response.writeHead(200, { ...HEADERS, 'content-type': TYPES[file.slice(file.lastIndexOf('.'))]!, 'cache-control': 'no-cache' });
  response.end(request.method === 'HEAD' ? undefined : body);
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
      http: (request, response) =>
        void serve(request, response).catch(() => {
          // The socket went away mid-answer: nothing to tell anyone.
          if (!response.headersSent) response.writeHead(500).end();
        }),
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
