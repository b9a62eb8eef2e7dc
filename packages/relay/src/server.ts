/**
 * The relay on the network: a WebSocket server (ws) for clients; over HTTP(S), `/healthz`
 * (alive), `/readyz` (the store can be read and written: 503 when not, or when shutting down)
 * and `/metrics` (Prometheus, metrics.ts); TLS when given a certificate, reloaded in place.
 * A graceful shutdown tells every client to reconnect elsewhere (close code 1012, "service
 * restart") and lets the store's commits under way finish.
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { forwardedAddress } from './address.js';
import { SERVICE_RESTART } from './connections.js';
import { RelayMetrics } from './metrics.js';
import { Relay, type RelayOptions } from './relay.js';
import { describe } from './report.js';
import { RelayStoreError } from './store.js';
import { sendBinary } from './ws-send.js';

/** Options of {@link startRelay}. */
export interface RelayServerOptions extends RelayOptions {
  /** Port (0: any free one). Default 8787. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1 (set 0.0.0.0 to serve others). */
  host?: string;
  /** PEM certificate and key: serve wss:// and https://. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** How often a silent socket is pinged (default 5 s); one that answered nothing since the last ping is dropped. */
  heartbeatMs?: number;
  /**
   * The relay sits behind a reverse proxy that appends the client's address to
   * X-Forwarded-For: per-address limits count that address instead of the proxy's (default
   * false: set it only behind such a proxy, since a client can write the header itself).
   */
  trustProxy?: boolean;
  /** Other HTTP requests (a demo app's pages); /healthz, /readyz and /metrics are the relay's. */
  http?: (request: IncomingMessage, response: ServerResponse) => void;
  /**
   * /metrics (default: on the relay's port, to anyone who reaches it). `token`: asks for
   * `Authorization: Bearer <token>`; `port` (and `host`, default 127.0.0.1): served there
   * instead, on plain HTTP; `process`: the process's own metrics too. `false`: no /metrics.
   */
  metrics?: false | { token?: string; port?: number; host?: string; process?: boolean };
}


/** A running relay. */
export interface RelayServer {
  readonly relay: Relay;
  readonly server: Server;
  /** The port it listens on (useful with port 0). */
  readonly port: number;
  /** ws:// or wss:// URL of the relay. */
  readonly url: string;
  /** The relay's metrics (undefined with `metrics: false`). */
  readonly metrics: RelayMetrics | undefined;
  /** The port /metrics is served on when it has its own. */
  readonly metricsPort: number | undefined;
  /** Stops accepting, closes every connection, then resolves. The store stays open. */
  close(): Promise<void>;
  /**
   * Stops accepting (and /readyz answers 503), tells every client to reconnect elsewhere
   * (close code 1012), waits up to `graceMs` (default 2 s) for them to close and for the store's
   * calls under way to finish, then closes what is left. The store stays open.
   */
  shutdown(graceMs?: number): Promise<void>;
  /** Serves a new certificate and key to new connections; open ones keep theirs. Throws when they do not make a key pair. */
  reloadTls(tls: { cert: string | Buffer; key: string | Buffer }): void;
}

const READY_TIMEOUT_MS = 2000;

/** Whether `header` is `Bearer <token>` (compared in constant time). */
function bearer(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const HEARTBEAT_MS = 5000;

/**
 * Bytes of frames on their way in, per connection and in all: bounded, since a connection can
 * announce a large frame and send it slowly. Counted from the raw socket's data until a frame
 * (or a pong) is whole, which is close enough: a chunk holding the end of one frame and the
 * start of the next is counted once.
 */
class Receiving {
  #total = 0;
  readonly #open = new Set<Incoming>();
  constructor(readonly max: number) {}

  open(socket: { terminate(): void }): Incoming {
    const p = { socket, bytes: 0, since: 0 };
    this.#open.add(p);
    return p;
  }

  add(p: Incoming, n: number): void {
    if (p.bytes === 0) p.since = Date.now();
    p.bytes += n;
    this.#total += n;
    // Past the bound, the connections holding most are dropped.
    while (this.#total > this.max) {
      let largest: Incoming | undefined;
      for (const q of this.#open) if (!largest || q.bytes > largest.bytes) largest = q;
      if (!largest || largest.bytes === 0) break;
      this.close(largest);
      largest.socket.terminate();
    }
  }

  /** A frame (or a pong) arrived whole: nothing of it is held any more. */
  whole(p: Incoming): void {
    this.#total -= p.bytes;
    p.bytes = 0;
  }

  /** Whether a frame has been on its way in for longer than `ms`. */
  tooSlow(p: Incoming, ms: number): boolean {
    return p.bytes > 0 && Date.now() - p.since > ms;
  }

  close(p: Incoming): void {
    this.whole(p);
    this.#open.delete(p);
  }
}

/** A connection's frame on its way in: its bytes so far, since when. */
interface Incoming {
  socket: { terminate(): void };
  bytes: number;
  since: number;
}

/** Starts a relay server; resolves once it listens. */
export async function startRelay(options: RelayServerOptions): Promise<RelayServer> {
  const metricsOptions = options.metrics === false ? undefined : (options.metrics ?? {});
  let relay: Relay | undefined;
  const metrics = metricsOptions ? new RelayMetrics(() => relay!.stats, { process: metricsOptions.process ?? false }) : undefined;
  relay = new Relay(
    metrics
      ? {
          ...options,
          store: metrics.timed(options.store),
          log: (event) => {
            metrics.observe(event);
            options.log?.(event);
          },
        }
      : options,
  );
  // Set by shutdown(): /readyz answers 503, and connections are closed as "service restart".
  let stopping = false;
  const plain = (response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) => {
    response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    response.end(`${text}\n`);
  };
  const serveMetrics = (request: IncomingMessage, response: ServerResponse) => {
    if (metricsOptions?.token !== undefined && !bearer(request.headers.authorization, metricsOptions.token)) return plain(response, 401, 'unauthorized', { 'www-authenticate': 'Bearer' });
    metrics!.scrape().then(
      ({ contentType, body }) => {
        response.writeHead(200, { 'content-type': contentType });
        response.end(body);
      },
      () => plain(response, 500, 'metrics failed'),
    );
  };
  // One probe at a time, its outcome shared by every request that came while it ran: anyone
  // may ask /readyz, and each probe costs the relay a pooled connection.
  let probing: Promise<string | undefined> | undefined;
  const probe = async (): Promise<string | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Error('late');
    try {
      await Promise.race([relay.ready.then(() => options.store.probe?.()), new Promise((_, reject) => (timer = setTimeout(() => reject(late), READY_TIMEOUT_MS)))]);
      return undefined;
    } catch (error) {
      // A short reason, never the error's text (it may name the database's host).
      options.log?.({ event: 'error', connection: 0, detail: `not ready: ${describe(error)}` });
      return error === late ? `database did not answer within ${READY_TIMEOUT_MS} ms` : error instanceof RelayStoreError && error.code === 'closed' ? 'database closed' : 'database not reachable or not writable';
    } finally {
      clearTimeout(timer);
    }
  };
  const ready = async (response: ServerResponse) => {
    if (stopping) return plain(response, 503, 'shutting down');
    probing ??= probe().finally(() => (probing = undefined));
    const reason = await probing;
    if (reason === undefined) plain(response, 200, 'ready');
    else plain(response, 503, reason);
  };
  const handler = (request: IncomingMessage, response: ServerResponse) => {
    const path = request.url?.split('?')[0];
    if (path === '/healthz') {
      // Alive, and nothing more: the counters are /metrics's, which an operator may protect.
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ok: true }));
    } else if (path === '/readyz') void ready(response);
    else if (path === '/metrics' && metrics && metricsOptions?.port === undefined) serveMetrics(request, response);
    else if (options.http) options.http(request, response);
    else {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('Sealdoc relay: connect with a WebSocket\n');
    }
  };
  const server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler) : createHttpServer(handler);
  const wss = new WebSocketServer({ server, maxPayload: relay.maxFrameBytes, perMessageDeflate: false });
  const receiving = new Receiving(relay.limits.maxReceivingBytes);
  wss.on('connection', (socket, request) => {
    // Not read from (the relay paused it: its queue is full): its silence proves nothing then.
    let paused = false;
    const address = options.trustProxy ? forwardedAddress(request.headers['x-forwarded-for'], request.socket.remoteAddress) : request.socket.remoteAddress;
    const connection = relay.accept({
      address,
      request,
      send: (frame) => {
        metrics?.sent(frame.byteLength);
        sendBinary(socket, frame);
      },
      close: (code, reason) => (stopping ? socket.close(SERVICE_RESTART, 'relay restarting: connect again') : socket.close(code, reason)),
      terminate: () => socket.terminate(),
      pause: () => {
        paused = true;
        socket.pause();
      },
      resume: () => {
        paused = false;
        socket.resume();
      },
      get bufferedAmount() {
        return socket.bufferedAmount;
      },
    });
    // Frames not whole yet are held in memory: counted on the raw socket, before they are.
    // Until its hello is verified a connection may send a few KiB, and after it no frame
    // takes longer than the frame timeout, nor all of them together more than their bound.
    let before = 0;
    const partial = receiving.open(socket);
    request.socket.on('data', (chunk: Buffer) => {
      if (!connection.authenticated && (before += chunk.length) > relay.limits.maxBytesBeforeHello) return socket.terminate();
      receiving.add(partial, chunk.length);
    });
    // A half-open link (no bytes either way) is noticed by its silence: a ping every 5 s, and a
    // socket that answered nothing (no pong, no frame) since the last one is dropped.
    let heard = true;
    socket.on('pong', () => {
      heard = true;
      receiving.whole(partial);
    });
    socket.on('message', (data, isBinary) => {
      heard = true;
      if (!isBinary) return socket.close(1003, 'binary frames only');
      const chunks = Array.isArray(data) ? data : [data instanceof ArrayBuffer ? Buffer.from(data) : data];
      const frame = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      receiving.whole(partial);
      metrics?.received(frame.byteLength);
      connection.receive(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
    });
    const heartbeat = setInterval(() => {
      if (paused) return;
      if (receiving.tooSlow(partial, relay.limits.frameTimeoutMs)) return socket.terminate();
      if (!heard) return socket.terminate();
      heard = false;
      socket.ping();
    }, options.heartbeatMs ?? HEARTBEAT_MS);
    socket.on('close', () => {
      clearInterval(heartbeat);
      receiving.close(partial);
      connection.closed();
    });
    socket.on('error', () => socket.terminate());
  });
  await Promise.all([relay.ready, relay.prepare()]);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8787, options.host ?? '127.0.0.1', () => resolve());
  });
  let metricsServer: Server | undefined;
  if (metrics && metricsOptions?.port !== undefined) {
    const separate = createHttpServer((request, response) => (request.url?.split('?')[0] === '/metrics' ? serveMetrics(request, response) : plain(response, 404, 'not found')));
    metricsServer = separate;
    await new Promise<void>((resolve, reject) => {
      separate.once('error', reject);
      separate.listen(metricsOptions.port, metricsOptions.host ?? '127.0.0.1', () => resolve());
    });
  }
  const { port } = server.address() as AddressInfo;
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';
  const closeAll = async () => {
    relay.close();
    for (const socket of wss.clients) socket.terminate();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Half-sent requests and idle keep-alive sockets would hold server.close open.
    server.closeAllConnections();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await closed;
    if (metricsServer) {
      const m = metricsServer;
      const closedMetrics = new Promise<void>((resolve) => m.close(() => resolve()));
      m.closeAllConnections();
      await closedMetrics;
    }
  };
  return {
    relay,
    server,
    port,
    url: `${options.tls ? 'wss' : 'ws'}://${host}:${port}`,
    metrics,
    metricsPort: metricsServer ? (metricsServer.address() as AddressInfo).port : undefined,
    close: closeAll,
    shutdown: async (graceMs = 2000) => {
      stopping = true;
      const deadline = Date.now() + graceMs;
      // No new connection; then every client is told (after what is queued for it) to go elsewhere.
      server.close();
      server.closeIdleConnections();
      relay.close();
      while (wss.clients.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      // Commits under way finish (their clients will push again elsewhere and get a duplicate's ack).
      if (metrics) await Promise.race([metrics.settled(), new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())))]);
      await closeAll();
    },
    reloadTls: (tls) => {
      if (!options.tls) throw new Error('this relay serves no TLS');
      (server as HttpsServer).setSecureContext({ cert: tls.cert, key: tls.key });
    },
  };
}
