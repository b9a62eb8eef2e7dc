// core's WebSocketTransport against a real relay, in Node: status and presence, typed errors
// for bad calls, the relay's refusals as RelayError events, reconnection with backoff and jitter.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { RELAY_PEER, RelayError, TransportError, WebSocketTransport, type WebSocketLike } from '@sealdoc/core';
import { encodeWire } from '@sealdoc/protocol';
import { MemoryRelayStore, startRelay } from '@sealdoc/relay';
import { eventually, identity } from './clients.js';

const Ws = WebSocket as unknown as new (url: string) => WebSocketLike;

function code(fn: () => void): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof TransportError, String(error));
    return error.code;
  }
  return 'no error';
}

describe('WebSocketTransport (Node, against a relay)', () => {
  it('goes offline -> connecting -> online, reports the relay as its one peer, and says why a call is refused', async () => {
    const store = new MemoryRelayStore();
    const server = await startRelay({ store, port: 0 });
    const transport = new WebSocketTransport({ url: server.url, identity: identity('alice'), WebSocket: Ws });
    try {
      const statuses: string[] = [];
      const peers: string[] = [];
      transport.events.on('status', ({ status }) => statuses.push(status));
      transport.events.on('peer', ({ peer, present }) => peers.push(`${peer}:${present}`));
      assert.equal(transport.status, 'offline');
      assert.deepEqual(transport.peers(), []);
      assert.equal(code(() => transport.send(encodeWire({ type: 'list-groups', ref: 1 }))), 'offline');
      await transport.connect();
      assert.deepEqual(statuses, ['connecting', 'online']);
      assert.deepEqual(transport.peers(), [RELAY_PEER]);
      assert.equal(code(() => transport.send('text' as unknown as Uint8Array)), 'bad-message');
      assert.equal(code(() => transport.send(Uint8Array.of(1, 250))), 'bad-message', 'bytes that are no message');
      assert.equal(code(() => transport.send(new Uint8Array(transport.maxMessageBytes + 1))), 'too-large');
      assert.equal(code(() => transport.send(encodeWire({ type: 'list-groups', ref: 1 }), 'someone')), 'unknown-peer');

      // What the relay refuses comes back as a RelayError event with its code.
      const errors: Error[] = [];
      transport.events.on('error', ({ error }) => errors.push(error));
      transport.send(encodeWire({ type: 'fetch-ops', groupId: new Uint8Array(16).fill(9), fromIndex: 0 }));
      await eventually(() => errors.length > 0, 5000, 'the refusal');
      assert.ok(errors[0] instanceof RelayError);
      assert.equal((errors[0] as RelayError).code, 'unknown-group');

      await transport.disconnect();
      assert.equal(transport.status, 'offline');
      assert.deepEqual(peers, [`${RELAY_PEER}:true`, `${RELAY_PEER}:false`]);
    } finally {
      await transport.disconnect();
      await server.close();
      await store.close();
    }
  });

  it('reconnects while wanted, waiting longer each time (doubling, with jitter, up to the maximum); comes online when the relay is back', async () => {
    // A relay that is not there: every socket closes at once.
    const attempts: number[] = [];
    let relayUrl: string | undefined;
    class Flaky implements WebSocketLike {
      binaryType = 'arraybuffer';
      readyState = 0;
      onopen: ((event: unknown) => void) | null = null;
      onmessage: ((event: { data: unknown }) => void) | null = null;
      onclose: ((event: unknown) => void) | null = null;
      onerror: ((event: unknown) => void) | null = null;
      readonly #real: WebSocketLike | undefined;
      constructor(url: string) {
        attempts.push(performance.now());
        if (relayUrl) {
          // The relay is back: a real socket, which this one stands in for.
          const real = new Ws(relayUrl);
          real.binaryType = 'arraybuffer';
          real.onopen = (e) => ((this.readyState = 1), this.onopen?.(e));
          real.onmessage = (e) => this.onmessage?.(e);
          real.onclose = (e) => ((this.readyState = 3), this.onclose?.(e));
          real.onerror = (e) => this.onerror?.(e);
          this.#real = real;
          return;
        }
        void url;
        setTimeout(() => ((this.readyState = 3), this.onclose?.({})), 0);
      }
      send(data: Uint8Array): void {
        this.#real?.send(data);
      }
      close(c?: number, reason?: string): void {
        this.#real?.close(c, reason);
      }
    }
    const transport = new WebSocketTransport({ url: 'ws://nowhere.invalid', identity: identity('alice'), WebSocket: Flaky, backoff: { minMs: 40, maxMs: 320 } });
    const store = new MemoryRelayStore();
    let server: Awaited<ReturnType<typeof startRelay>> | undefined;
    try {
      const online = transport.connect();
      await eventually(() => attempts.length >= 7, 10_000, 'seven attempts');
      assert.equal(transport.status, 'connecting');
      const gaps = attempts.slice(1, 7).map((t, i) => t - attempts[i]!);
      // Wait n is min(max, min * 2^n) times a factor in [0.5, 1]; timers may only run late.
      gaps.forEach((gap, n) => {
        const nominal = Math.min(320, 40 * 2 ** n);
        assert.ok(gap >= nominal * 0.5 - 2, `wait ${n}: ${gap.toFixed(1)} ms, at least half of ${nominal}`);
        assert.ok(gap <= nominal + 60, `wait ${n}: ${gap.toFixed(1)} ms, at most ${nominal} (+ timer slack)`);
      });
      assert.ok(gaps[4]! <= 320 + 60 && gaps[5]! <= 320 + 60, 'capped at the maximum');
      // Jitter: the waits are not exactly the nominal ones.
      assert.ok(gaps.some((gap, n) => Math.abs(gap - Math.min(320, 40 * 2 ** n)) > 1), 'jittered');

      server = await startRelay({ store, port: 0 });
      relayUrl = server.url;
      await online;
      assert.equal(transport.status, 'online');
    } finally {
      await transport.disconnect();
      await server?.close();
      await store.close();
    }
  });
});
