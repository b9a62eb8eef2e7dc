/**
 * The relay on the network: a WebSocket server (ws) for clients, `/healthz` over HTTP(S) for
 * load balancers, TLS when given a certificate.
 * @module
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { forwardedAddress } from './address.js';
import { Relay, type RelayOptions } from './relay.js';

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
  /** Other HTTP requests (a demo app's pages); /healthz is the relay's. */
  http?: (request: IncomingMessage, response: ServerResponse) => void;
}

/** A running relay. */
export interface RelayServer {
  readonly relay: Relay;
  readonly server: Server;
  /** The port it listens on (useful with port 0). */
  readonly port: number;
  /** ws:// or wss:// URL of the relay. */
  readonly url: string;
  /** Stops accepting, closes every connection, then resolves. The store stays open. */
  close(): Promise<void>;
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
  const relay = new Relay(options);
  const handler = (request: IncomingMessage, response: ServerResponse) => {
    if (request.url === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ok: true, ...relay.stats }));
    } else if (options.http) options.http(request, response);
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
      send: (frame) => socket.send(frame),
      close: (code, reason) => socket.close(code, reason),
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
    socket.on('pong', () => receiving.whole(partial));
    socket.on('message', (data, isBinary) => {
      if (!isBinary) return socket.close(1003, 'binary frames only');
      const chunks = Array.isArray(data) ? data : [data instanceof ArrayBuffer ? Buffer.from(data) : data];
      const frame = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      receiving.whole(partial);
      connection.receive(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
    });
    // A half-open link (no bytes either way) is noticed by its silence: a ping every 5 s, and a
    // socket that answered nothing (no pong, no frame) since the last one is dropped.
    let heard = true;
    const markHeard = () => (heard = true);
    socket.on('pong', markHeard);
    socket.on('message', markHeard);
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
  await relay.ready;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8787, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';
  return {
    relay,
    server,
    port,
    url: `${options.tls ? 'wss' : 'ws'}://${host}:${port}`,
    close: async () => {
      relay.close();
      for (const socket of wss.clients) socket.terminate();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Half-sent requests and idle keep-alive sockets would hold server.close open.
      server.closeAllConnections();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await closed;
    },
  };
}
