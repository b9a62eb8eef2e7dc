// A small TCP load balancer for tests and benches, like the proxy in front of relay nodes in a
// compose file: each incoming connection goes to the next live backend in turn (round-robin),
// bytes are piped both ways untouched (WebSocket upgrade included), and when either side closes
// the other is closed too, so a client whose node dies sees its connection drop and reconnects
// through the balancer to another node. A backend that refuses a connection is passed over (the
// connection tries the next one at once) and left out for `failTimeoutMs` (passive health
// checks, as nginx's max_fails=1 fail_timeout=...).
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface Backend {
  host: string;
  port: number;
}

export interface TcpBalancer {
  port: number;
  url: string;
  /** The backend (index into the list given) a client connection is piped to, by the client's local port. */
  backendOf(clientPort: number): number | undefined;
  /** Connections open now, per backend. */
  open(): number[];
  /** Connections piped so far, per backend. */
  total(): number[];
  close(): Promise<void>;
}

export async function startBalancer(backends: Backend[], options: { failTimeoutMs?: number; host?: string } = {}): Promise<TcpBalancer> {
  const failTimeoutMs = options.failTimeoutMs ?? 2000;
  const host = options.host ?? '127.0.0.1';
  const downUntil = backends.map(() => 0);
  const open = backends.map(() => 0);
  const total = backends.map(() => 0);
  const byClientPort = new Map<number, number>();
  const sockets = new Set<Socket>();
  let next = 0;

  const pipe = (client: Socket, tried: number) => {
    // The next backend not known to be down; when all are, each is tried once anyway.
    let index = -1;
    for (let k = 0; k < backends.length; k++) {
      const i = (next + k) % backends.length;
      if (downUntil[i]! <= Date.now()) {
        index = i;
        break;
      }
    }
    if (index < 0) index = next % backends.length;
    next = (index + 1) % backends.length;
    const backend = connect({ host: backends[index]!.host, port: backends[index]!.port });
    sockets.add(backend);
    backend.setNoDelay(true);
    let connected = false;
    backend.once('connect', () => {
      connected = true;
      if (client.destroyed) return backend.destroy();
      open[index]!++;
      total[index]!++;
      if (client.remotePort !== undefined) byClientPort.set(client.remotePort, index);
      client.pipe(backend);
      backend.pipe(client);
      client.resume();
    });
    backend.on('error', () => {
      if (connected) return client.destroy();
      // Refused (the node is gone): leave it out for a while and try the next one at once.
      downUntil[index] = Date.now() + failTimeoutMs;
      if (tried + 1 < backends.length && !client.destroyed) pipe(client, tried + 1);
      else client.destroy();
    });
    backend.on('close', () => {
      sockets.delete(backend);
      if (connected) open[index]!--;
      if (connected) client.destroy();
    });
    client.on('close', () => backend.destroy());
  };

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    sockets.add(client);
    client.setNoDelay(true);
    client.on('error', () => client.destroy());
    client.on('close', () => {
      sockets.delete(client);
      if (client.remotePort !== undefined) byClientPort.delete(client.remotePort);
    });
    pipe(client, 0);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `ws://${host}:${port}`,
    backendOf: (clientPort) => byClientPort.get(clientPort),
    open: () => [...open],
    total: () => [...total],
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
