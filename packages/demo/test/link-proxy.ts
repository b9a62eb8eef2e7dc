/**
 * A TCP proxy between a browser and the demo, for the status tests: it forwards bytes both ways
 * and can be told to go silent, as a laptop whose Wi-Fi dropped: on the connections open,
 * nothing goes either way and no socket closes (what was held goes on once the link is back, as
 * TCP retransmits it), and a new connection fails at once (no route to the host). It can also
 * refuse WebSocket upgrades (the relay down while the page is still served), or send them to
 * another server (a relay that refuses this device).
 * @module
 */
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** A running proxy. */
export interface LinkProxy {
  /** http://127.0.0.1:port/ : the demo's address through the proxy. */
  readonly url: string;
  /** WebSocket upgrades seen so far (attempts to reach the relay), refused ones included. */
  readonly upgrades: number;
  /** Stops forwarding both ways on the connections open (sockets stay open, what arrives is held); new connections are cut at once. */
  silence(): void;
  /** Forwards again, what was held first. */
  resume(): void;
  /** While on, WebSocket upgrades are cut at once (the relay is down; the page is still served). */
  refuseUpgrades(on: boolean): void;
  /** Sends new WebSocket upgrades to `port` (another server), or back to the demo (undefined). */
  upgradesTo(port: number | undefined): void;
  close(): Promise<void>;
}

/** A piece of a stream held while the link is silent: bytes, or the stream's end. */
type Held = { to: Socket; data: Buffer | 'end' };

/** Starts a proxy on a free port in front of the server at `port` on 127.0.0.1. */
export async function startLinkProxy(port: number): Promise<LinkProxy> {
  let silent = false;
  let refusing = false;
  let upgradePort: number | undefined;
  let upgrades = 0;
  const held: Held[] = [];
  const sockets = new Set<Socket>();
  const pass = (to: Socket, data: Buffer | 'end') => {
    if (silent) held.push({ to, data });
    else if (data === 'end') to.destroy();
    else if (!to.destroyed) to.write(data);
  };

  const server = createServer((client) => {
    if (silent) return void client.destroy(); // no route: the attempt fails at once
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    // The first bytes say where the connection goes: an upgrade to a WebSocket is the relay.
    client.once('data', (first) => {
      const upgrade = /^upgrade:\s*websocket/im.test(first.toString('latin1'));
      if (upgrade) upgrades++;
      if (upgrade && refusing) return void client.destroy();
      const upstream = connect(upgrade && upgradePort !== undefined ? upgradePort : port, '127.0.0.1');
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      pass(upstream, first);
      client.on('data', (data) => pass(upstream, data));
      upstream.on('data', (data) => pass(client, data));
      // A close does not get through a silent link either; it does once the link is back.
      client.on('error', () => undefined).on('close', () => pass(upstream, 'end'));
      upstream.on('error', () => undefined).on('close', () => pass(client, 'end'));
    });
    client.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}/`,
    get upgrades() {
      return upgrades;
    },
    silence() {
      silent = true;
    },
    resume() {
      silent = false;
      for (const { to, data } of held.splice(0)) pass(to, data);
    },
    refuseUpgrades(on) {
      refusing = on;
    },
    upgradesTo(to) {
      upgradePort = to;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
