// sendBinary (ws-send.ts): a message written in one buffer arrives as ws would have sent it,
// whatever its size (7-bit, 16-bit and 64-bit lengths; the large ones through ws), in order
// with what ws itself sends on the connection (its own messages, pings); after the close it
// sends nothing and throws nothing, as ws does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { sendBinary } from '../dist/ws-send.js';

async function pair(): Promise<{ server: WebSocket; client: WebSocket; received: Buffer[]; pings: number[]; close(): Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  const received: Buffer[] = [];
  const pings: number[] = [];
  client.on('message', (data, isBinary) => {
    assert.equal(isBinary, true);
    received.push(data as Buffer);
  });
  client.on('ping', () => pings.push(received.length));
  await new Promise<void>((resolve) => client.once('open', () => resolve()));
  const server = await accepted;
  return {
    server,
    client,
    received,
    pings,
    close: async () => {
      client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

const message = (size: number, seed: number) => Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed) & 255);

test('messages of every length arrive whole and in order, mixed with what ws sends itself', async () => {
  const { server, received, pings, close } = await pair();
  try {
    const sizes = [0, 1, 125, 126, 127, 300, 65_535 - 1, 16 * 1024, 16 * 1024 + 1, 65_535, 65_536, 1024 * 1024 + 3];
    const expected: Uint8Array[] = [];
    sizes.forEach((size, i) => {
      const m = message(size, i);
      expected.push(m);
      sendBinary(server, m);
      if (i === 3) server.ping();
      if (i % 4 === 1) {
        const own = message(40, 100 + i);
        expected.push(own);
        server.send(own);
      }
    });
    // A view into a larger buffer is sent as the view.
    const backing = message(64, 7);
    expected.push(backing.subarray(10, 50));
    sendBinary(server, backing.subarray(10, 50));
    const until = Date.now() + 10_000;
    while (received.length < expected.length && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.equal(received.length, expected.length);
    received.forEach((r, i) => assert.deepEqual(new Uint8Array(r), expected[i], `message ${i}`));
    assert.deepEqual(pings, [5], 'the ping where ws wrote it: after the fifth message');
    assert.equal(server.bufferedAmount, 0);
  } finally {
    await close();
  }
});

test('after the close nothing is sent, and nothing throws', async () => {
  const { server, client, received, close } = await pair();
  try {
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    server.close(1000, 'bye');
    sendBinary(server, message(10, 1));
    await closed;
    sendBinary(server, message(10, 2));
    assert.deepEqual(received, []);
  } finally {
    await close();
  }
});
