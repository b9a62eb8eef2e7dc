/**
 * The one conformance suite every peer-to-peer Transport runs (the in-memory hub,
 * BroadcastChannel), in the manner of automerge-repo's network-adapter-tests. The WebSocket
 * transport, whose one peer is a relay, is tested against a real relay instead
 * (packages/relay/test/websocket-transport.node.test.ts). Faults off: the suite checks the
 * contract, the engine's own tests check survival under faults.
 * @module
 */
import { describe } from 'node:test';
import { testWith } from './conformance-fixture.js';
import assert from 'node:assert/strict';
import type { WireMessage } from '@sealdoc/protocol';
import { TransportError, type PeerId, type Transport } from './transport.js';

/** Three fresh transports (not yet connected) that can reach each other, and a way to wait. */
export interface TransportFixture {
  transports: [Transport, Transport, Transport];
  /** Resolves once messages sent so far have been delivered. */
  settle(): Promise<void>;
  teardown?: () => Promise<void>;
}

// The suite's messages: envelopes around the bytes given (a transport never looks inside them).
const envelope = (bytes: Uint8Array): WireMessage => ({ type: 'envelope', envelope: bytes });

/** What `t` receives: who sent each message, and the bytes its envelope carried. */
function inbox(t: Transport) {
  const received: { from: PeerId; data: number[] }[] = [];
  t.events.on('message', ({ from, message }) => received.push({ from, data: message.type === 'envelope' ? [...message.envelope] : [] }));
  return received;
}

async function transportErrorCode(fn: () => void): Promise<string> {
  try {
    fn();
  } catch (error) {
    if (error instanceof TransportError) return error.code;
    throw new Error(`expected a TransportError, got ${String(error)}`);
  }
  throw new Error('expected a TransportError, but the call succeeded');
}

export function transportConformance(name: string, setup: () => Promise<TransportFixture>): void {
  const test = testWith(setup);
  const online = async (f: TransportFixture) => {
    for (const t of f.transports) await t.connect();
    await f.settle();
  };

  describe(`Transport conformance: ${name}`, () => {
    test('connect goes online and reports the other peers', async (f) => {
      const [a, b, c] = f.transports;
      const statuses: string[] = [];
      const seen: string[] = [];
      a.events.on('status', ({ status }) => statuses.push(status));
      a.events.on('peer', ({ peer, present }) => present && seen.push(peer));
      assert.equal(a.status, 'offline');
      await online(f);
      assert.equal(a.status, 'online');
      assert.equal(statuses.at(-1), 'online');
      assert.deepEqual(a.peers().sort(), [b.peerId, c.peerId].sort());
      assert.deepEqual(seen.sort(), [b.peerId, c.peerId].sort());
    });

    test('a broadcast reaches every other peer once, never the sender', async (f) => {
      const [a] = f.transports;
      const [ia, ib, ic] = f.transports.map(inbox);
      await online(f);
      a.send(envelope(new Uint8Array([1, 2, 3])));
      await f.settle();
      assert.deepEqual(ia, []);
      assert.deepEqual(ib, [{ from: a.peerId, data: [1, 2, 3] }]);
      assert.deepEqual(ic, [{ from: a.peerId, data: [1, 2, 3] }]);
    });

    test('a message to one peer reaches that peer only', async (f) => {
      const [a, b] = f.transports;
      const [, ib, ic] = f.transports.map(inbox);
      await online(f);
      a.send(envelope(new Uint8Array([7])), b.peerId);
      await f.settle();
      assert.deepEqual(ib, [{ from: a.peerId, data: [7] }]);
      assert.deepEqual(ic, []);
    });

    test('messages between two peers keep their order; empty messages arrive', async (f) => {
      const [a, b] = f.transports;
      const ib = inbox(b);
      await online(f);
      for (let i = 0; i < 50; i++) a.send(envelope(new Uint8Array([i])), b.peerId);
      a.send(envelope(new Uint8Array(0)), b.peerId);
      await f.settle();
      assert.deepEqual(ib.map((m) => m.data), [...Array.from({ length: 50 }, (_, i) => [i]), []]);
    });

    test('the bytes sent are the bytes received, even if the sender changes its buffer', async (f) => {
      const [a] = f.transports;
      const ib = inbox(f.transports[1]);
      await online(f);
      const data = new Uint8Array([1, 2, 3]);
      a.send(envelope(data));
      data.fill(0);
      // (A message's header takes a few bytes of `maxMessageBytes`.)
      const big = new Uint8Array(Math.min(a.maxMessageBytes - 16, 1024 * 1024)).map((_, i) => i & 255);
      a.send(envelope(big));
      await f.settle();
      assert.deepEqual(ib[0]!.data, [1, 2, 3]);
      assert.equal(ib[1]!.data.length, big.length);
      assert.equal(ib[1]!.data[1000], 1000 & 255);
    });

    test('a peer that disconnects is reported gone, receives nothing, cannot send; it can come back', async (f) => {
      const [a, b] = f.transports;
      const ib = inbox(b);
      const gone: string[] = [];
      a.events.on('peer', ({ peer, present }) => !present && gone.push(peer));
      await online(f);
      await b.disconnect();
      await f.settle();
      assert.equal(b.status, 'offline');
      assert.deepEqual(gone, [b.peerId]);
      assert.ok(!a.peers().includes(b.peerId));
      a.send(envelope(new Uint8Array([1])));
      await f.settle();
      assert.deepEqual(ib, []);
      assert.equal(await transportErrorCode(() => b.send(envelope(new Uint8Array([1])))), 'offline');
      await b.connect();
      await f.settle();
      a.send(envelope(new Uint8Array([2])));
      await f.settle();
      assert.deepEqual(ib, [{ from: a.peerId, data: [2] }]);
    });

    test('bad calls are typed errors', async (f) => {
      const [a] = f.transports;
      await online(f);
      assert.equal(await transportErrorCode(() => a.send('text' as unknown as WireMessage)), 'bad-message');
      assert.equal(await transportErrorCode(() => a.send(envelope(new Uint8Array(a.maxMessageBytes + 1)))), 'too-large');
      assert.equal(await transportErrorCode(() => a.send(envelope(new Uint8Array(1)), 'nobody-by-this-name')), 'unknown-peer');
    });
  });
}
