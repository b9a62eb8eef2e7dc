// core's WebSocketTransport against a real relay, in Node: status and presence, typed errors
// for bad calls, the relay's refusals as RelayError events, reconnection with backoff and jitter.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect as connectTcp, type AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { RELAY_PEER, RelayError, TransportError, WebSocketTransport, type WebSocketLike } from '@sealdoc/core';
import type { WireMessage } from '@sealdoc/protocol';
import { toHex } from '@sealdoc/crypto';
import { MemoryRelayStore, startRelay } from '@sealdoc/relay';
import { eventually, identity, Team } from './clients.js';

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
      assert.equal(code(() => transport.send({ type: 'list-groups', ref: 1 })), 'offline');
      await transport.connect();
      assert.deepEqual(statuses, ['connecting', 'online']);
      assert.deepEqual(transport.peers(), [RELAY_PEER]);
      assert.equal(code(() => transport.send('text' as unknown as WireMessage)), 'bad-message');
      assert.equal(code(() => transport.send(Uint8Array.of(1, 250) as unknown as WireMessage)), 'bad-message', 'bytes that are no message');
      assert.equal(code(() => transport.send({ type: 'envelope', envelope: new Uint8Array(transport.maxMessageBytes + 1) })), 'too-large');
      assert.equal(code(() => transport.send({ type: 'list-groups', ref: 1 }, 'someone')), 'unknown-peer');

      // What the relay refuses comes back as a RelayError event with its code.
      const errors: Error[] = [];
      transport.events.on('error', ({ error }) => errors.push(error));
      transport.send({ type: 'fetch-ops', groupId: new Uint8Array(16).fill(9), fromIndex: 0 });
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

  it('a relay that does not admit the client (its authenticate hook): auth-failed with the reason, and the client stops retrying', async () => {
    const store = new MemoryRelayStore();
    const seen: string[] = [];
    const server = await startRelay({
      store,
      port: 0,
      authenticate: ({ memberId }, request) => {
        seen.push(toHex(memberId));
        const token = new URL((request as { url: string }).url, 'http://relay').searchParams.get('token');
        if (token === 'boom') throw new Error('the session store is down');
        return token === 'good' || 'your session has expired';
      },
    });
    let sockets = 0;
    const Counting = class extends (WebSocket as unknown as new (url: string) => WebSocketLike) {
      constructor(url: string) {
        super(url);
        sockets++;
      }
    } as unknown as new (url: string) => WebSocketLike;
    try {
      const refused = new WebSocketTransport({ url: `${server.url}/?token=bad`, identity: identity('alice'), WebSocket: Counting, backoff: { minMs: 10, maxMs: 20 } });
      const errors: string[] = [];
      refused.events.on('error', ({ error }) => errors.push(`${(error as RelayError).code}: ${error.message}`));
      await assert.rejects(refused.connect(), (e: Error) => e instanceof RelayError && e.code === 'auth-failed' && /session has expired/.test(e.message));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(sockets, 1, 'no retry');
      assert.equal(refused.status, 'offline');
      assert.deepEqual(errors, ['auth-failed: your session has expired']);
      assert.deepEqual(seen, [toHex(identity('alice').memberId)], 'the hook learns who it is, once its hello verified');

      const broken = new WebSocketTransport({ url: `${server.url}/?token=boom`, identity: identity('bob'), WebSocket: Ws });
      await assert.rejects(broken.connect(), (e: Error) => e instanceof RelayError && e.code === 'auth-failed' && !/session store/.test(e.message));

      const admitted = new WebSocketTransport({ url: `${server.url}/?token=good`, identity: identity('carol'), WebSocket: Ws });
      await admitted.connect();
      assert.equal(admitted.status, 'online');
      await admitted.disconnect();
    } finally {
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

  it('a half-open link (socket open, no bytes either way) is noticed by both ends: the client goes back to connecting and reconnects, the relay drops the socket', async () => {
    const store = new MemoryRelayStore();
    const server = await startRelay({ store, port: 0, heartbeatMs: 100 });
    // A proxy that can go silent both ways, as a laptop whose Wi-Fi dropped.
    let frozen = false;
    const proxy = createServer((client) => {
      const upstream = connectTcp(server.port, '127.0.0.1');
      client.on('data', (d) => !frozen && upstream.write(d));
      upstream.on('data', (d) => !frozen && client.write(d));
      // Frozen, not even a close gets through (a half-open link); it does once the link is back.
      const end = () => {
        if (!frozen) return void (client.destroy(), upstream.destroy());
        const later = setInterval(() => !frozen && (clearInterval(later), client.destroy(), upstream.destroy()), 20);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
    const port = (proxy.address() as AddressInfo).port;
    const transport = new WebSocketTransport({ url: `ws://127.0.0.1:${port}`, identity: identity('alice'), WebSocket: Ws, backoff: { minMs: 20, maxMs: 100 }, heartbeat: { intervalMs: 100, timeoutMs: 400 } });
    const statuses: string[] = [];
    transport.events.on('status', ({ status }) => statuses.push(status));
    const errors: string[] = [];
    transport.events.on('error', ({ error }) => errors.push((error as TransportError).code));
    try {
      await transport.connect();
      await eventually(() => server.relay.stats.connections === 1, 2000, 'connected');
      // Idle but alive: pings keep it up.
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(transport.status, 'online');
      frozen = true;
      const frozeAt = performance.now();
      await eventually(() => transport.status !== 'online', 2000, 'the client notices');
      assert.ok(performance.now() - frozeAt < 1000, 'within the timeout (and a heartbeat)');
      assert.ok(errors.includes('closed'), 'told why');
      await eventually(() => server.relay.stats.connections === 0, 2000, 'the relay drops the silent socket');
      frozen = false;
      await eventually(() => transport.status === 'online', 3000, 'back online once the link is');
      assert.deepEqual(statuses.slice(0, 3), ['connecting', 'online', 'connecting']);
    } finally {
      await transport.disconnect();
      await server.close();
      await store.close();
      proxy.close();
    }
  });

  it('pending counts what was sent and not yet acknowledged as stored', async () => {
    // A store whose writes wait until the test lets them go.
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    class SlowStore extends MemoryRelayStore {
      override async putEnvelopes(...args: Parameters<MemoryRelayStore['putEnvelopes']>) {
        await gate;
        return super.putEnvelopes(...args);
      }
    }
    const store = new SlowStore();
    const server = await startRelay({ store, port: 0 });
    const team = await Team.create(['alice']);
    const alice = await team.connect('alice', server.url);
    try {
      await alice.sealed.whenSynced;
      const counts: number[] = [];
      alice.sealed.events.on('pending', ({ count }) => counts.push(count));
      alice.doc.getText('t').insert(0, 'hello');
      await alice.sealed.flush();
      await eventually(() => alice.sealed.pending === 1, 2000, 'sent, not yet stored');
      release();
      gate = Promise.resolve();
      await eventually(() => alice.sealed.pending === 0, 2000, 'acknowledged');
      assert.deepEqual(counts.slice(-2), [1, 0]);
    } finally {
      await alice.close();
      await server.close();
    }
  });
});
