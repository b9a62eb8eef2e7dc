// The demo's server: the app's files with a content security policy, nothing from outside
// its public folder, the relay on the same port.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemo, type Demo } from '@sealdoc/demo';

/** A GET with the path sent as it is (fetch would normalise `..` away). */
function get(demo: Demo, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: demo.relay.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the demo server', () => {
  let demo: Demo;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sealdoc-demo-server-'));
    demo = await startDemo({ port: 0, dataDir: dir });
  });
  after(async () => {
    await demo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the app with a content security policy; any other path is the app; /healthz is the relay', async () => {
    const index = await get(demo, '/');
    assert.equal(index.status, 200);
    assert.match(index.body, /<div id="app">/);
    assert.match(String(index.headers['content-security-policy']), /default-src 'self'/);
    assert.equal(index.headers['x-content-type-options'], 'nosniff');
    assert.match(String((await get(demo, '/style.css')).headers['content-type']), /text\/css/);
    assert.match((await get(demo, '/some/document')).body, /<div id="app">/);
    assert.equal(JSON.parse((await get(demo, '/healthz')).body).ok, true);
  });

  it('never serves a file outside its public folder', async () => {
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/..%2f..%2fpackage.json', '/../src/server.ts', '/%2e%2e%2f%2e%2e%2f%2e%2e%2fpackage.json']) {
      const { body } = await get(demo, path);
      assert.doesNotMatch(body, /"name"|import /, path);
      assert.match(body, /<div id="app">/, path);
    }
  });
});
