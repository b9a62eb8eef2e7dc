// When the WebSocket transport tries again, against sockets scripted by the test: at once when
// the browser says the network is back or the page is shown again (not at the end of its wait),
// an attempt the network swallows given up after connectTimeoutMs, and a relay that turns it
// away for its load (busy) given a long outage's wait. The schedule itself: reconnect.node.test.ts.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeWire } from '@sealdoc/protocol';
import { TransportError, WebSocketTransport, type WebSocketLike } from '@sealdoc/core';
import { eventually, identity } from './helpers.js';

/** What each scripted socket does once created: fail at once, never answer, or open and say `busy`. */
type Script = 'refused' | 'silent' | 'busy';

/** Attempts made (their times), and a WebSocket constructor that plays `script`. */
function scripted(script: Script) {
  const attempts: number[] = [];
  class Scripted implements WebSocketLike {
    binaryType = 'blob';
    readyState = 0;
    onopen: ((event: unknown) => void) | null = null;
    onmessage: ((event: { data: unknown }) => void) | null = null;
    onclose: ((event: unknown) => void) | null = null;
    onerror: ((event: unknown) => void) | null = null;
    constructor(_url: string) {
      attempts.push(performance.now());
      if (script === 'refused') setTimeout(() => this.#closed(1006), 0);
      if (script === 'busy')
        setTimeout(() => {
          this.readyState = 1;
          this.onopen?.({});
          const frame = encodeWire({ type: 'error', ref: 0, code: 'busy', message: 'full' });
          this.onmessage?.({ data: frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) });
          setTimeout(() => this.#closed(1013), 20);
        }, 0);
    }
    send(): void {}
    close(): void {
      setTimeout(() => this.#closed(1000), 0);
    }
    #closed(code: number): void {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.onclose?.({ code, reason: '' });
    }
  }
  return { attempts, WebSocket: Scripted };
}

// The browser's window, as far as the transport listens to it.
const scope = new EventTarget();
const document = Object.assign(new EventTarget(), { visibilityState: 'visible' as 'visible' | 'hidden' });
Object.assign(globalThis, { addEventListener: scope.addEventListener.bind(scope), removeEventListener: scope.removeEventListener.bind(scope), document });

let transport: WebSocketTransport | undefined;
afterEach(async () => {
  await transport?.disconnect();
  transport = undefined;
});

describe('WebSocketTransport: when it tries again', () => {
  it("tries at once on the browser's online event, and when the page is shown again, rather than at the end of its wait", async () => {
    const { attempts, WebSocket } = scripted('refused');
    transport = new WebSocketTransport({ url: 'ws://relay.invalid', identity: identity('alice'), WebSocket, backoff: { minMs: 20_000, quickMaxMs: 20_000 } });
    void transport.connect();
    await eventually(() => attempts.length === 1);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(attempts.length, 1, 'waiting (10 to 20 s)');
    scope.dispatchEvent(new Event('online'));
    assert.equal(attempts.length, 2, 'tried at once');
    await new Promise((r) => setTimeout(r, 100));
    scope.dispatchEvent(new Event('offline'));
    assert.equal(attempts.length, 2, 'nothing to try while the network is gone');
    document.visibilityState = 'hidden';
    document.dispatchEvent(new Event('visibilitychange'));
    assert.equal(attempts.length, 2, 'a page hidden tries nothing');
    document.visibilityState = 'visible';
    document.dispatchEvent(new Event('visibilitychange'));
    assert.equal(attempts.length, 3, 'shown again: tried at once');
    await transport.disconnect();
    scope.dispatchEvent(new Event('online'));
    assert.equal(attempts.length, 3, 'disconnected: it listens no more');
  });

  it('gives up an attempt the network swallows after connectTimeoutMs, says why, and tries again', async () => {
    const { attempts, WebSocket } = scripted('silent');
    transport = new WebSocketTransport({ url: 'ws://relay.invalid', identity: identity('alice'), WebSocket, connectTimeoutMs: 150, backoff: { minMs: 10, quickMaxMs: 10 } });
    const errors: string[] = [];
    transport.events.on('error', ({ error }) => errors.push((error as TransportError).code));
    void transport.connect();
    await eventually(() => attempts.length === 3, 2000);
    const gap = attempts[2]! - attempts[1]!;
    assert.ok(gap >= 140 && gap < 600, `${Math.round(gap)} ms between attempts`);
    assert.ok(errors.includes('closed'));
    assert.equal(transport.status, 'connecting');
  });

  it('a relay that turns it away for its load (busy) gets a long outage\'s wait, not the quick one', async () => {
    const { attempts, WebSocket } = scripted('busy');
    transport = new WebSocketTransport({ url: 'ws://relay.invalid', identity: identity('alice'), WebSocket, backoff: { minMs: 10, quickMaxMs: 20, maxMs: 1000 } });
    void transport.connect().catch(() => undefined);
    await eventually(() => attempts.length === 1);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(attempts.length, 1, 'no quick retry (it would be within 20 ms)');
    await eventually(() => attempts.length === 2, 1500);
    const gap = attempts[1]! - attempts[0]!;
    assert.ok(gap >= 500, `${Math.round(gap)} ms: half of maxMs at least`);
  });
});
