// What anyone on the network may ask the relay over HTTP costs it little and tells nothing:
// /readyz probes the database one probe at a time, shared by the requests that come while it
// runs (and on PostgreSQL without drawing a transaction id); /healthz says
// alive and nothing more (the counters are /metrics's, which an operator may protect).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { MemoryRelayStore, startRelay } from '@sealdoc/relay';

const fetchText = (url: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    get(url, (response) => {
      let body = '';
      response.on('data', (c: Buffer) => (body += c.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });

describe('the relay over HTTP, to anyone', () => {
  it('a flood of /readyz costs the database one probe at a time; /healthz shows no counters', async () => {
    const store = new MemoryRelayStore();
    let probes = 0;
    store.probe = async () => {
      probes++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    };
    const server = await startRelay({ store, port: 0, metrics: { token: 'a-long-secret' } });
    const http = server.url.replace('ws://', 'http://');
    try {
      const answers = await Promise.all(Array.from({ length: 200 }, () => fetchText(`${http}/readyz`)));
      assert.ok(answers.every((a) => a.status === 200 && a.body.trim() === 'ready'));
      assert.ok(probes < 20, `${probes} probes for 200 requests at once`);
      const health = await fetchText(`${http}/healthz`);
      assert.deepEqual(JSON.parse(health.body), { ok: true });
      assert.equal((await fetchText(`${http}/metrics`)).status, 401);
    } finally {
      await server.close();
      await store.close();
    }
  });
});
