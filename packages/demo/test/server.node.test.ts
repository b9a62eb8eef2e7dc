// The demo's server: the app's files with a content security policy, nothing from outside
// its public folder, the relay on the same port.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import fc from 'fast-check';
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
    req.setTimeout(3000, () => req.destroy(new Error(`no answer to GET ${path}`)));
    req.end();
  });
}

/** Sends `raw` as it is and resolves with the status code of the answer (undefined: closed without one). */
function rawRequest(port: number, raw: Uint8Array): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let head = '';
    const done = (status: number | undefined) => {
      socket.destroy();
      resolve(status);
    };
    socket.setTimeout(3000, () => done(undefined));
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (match) done(Number(match[1]));
    });
    socket.on('error', () => done(undefined));
    socket.on('close', () => done(undefined));
    socket.end(raw);
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

  it('answers a path it cannot decode with 400, and stays up (GET /%E0 once killed it)', async () => {
    for (const path of ['/%E0', '/%', '/%zz', '/%C0%AF', '/%ED%A0%80', '/a%00b', '/%00']) {
      assert.equal((await get(demo, path)).status, 400, path);
    }
    assert.equal((await get(demo, '/healthz')).status, 200);
  });

  it('fuzzed: any method, path and headers get an answer below 500 (or the parser closes the socket), and the server stays up', async () => {
    const token = fc.stringMatching(/^[A-Za-z!#$%&'*+.^_`|~0-9-]{1,12}$/);
    const method = fc.oneof(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'PROPFIND'), token);
    const pathByte = fc.integer({ min: 0, max: 255 }).map((b) => (b >= 0x21 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0').toUpperCase()}`));
    const path = fc.oneof(
      fc.array(pathByte, { maxLength: 60 }).map((parts) => `/${parts.join('')}`),
      fc.array(fc.integer({ min: 0x21, max: 0xff }), { maxLength: 60 }).map((bytes) => `/${String.fromCharCode(...bytes)}`),
      fc.constantFrom('*', '//', '/..', 'http://x/%E0', '/%', '/\\..\\'),
    );
    const header = fc.tuple(token, fc.array(fc.integer({ min: 0x20, max: 0xff }), { maxLength: 40 })).map(([name, value]) => `${name}: ${String.fromCharCode(...value)}\r\n`);
    const garbage = fc.uint8Array({ maxLength: 200 });
    await fc.assert(
      fc.asyncProperty(method, path, fc.array(header, { maxLength: 6 }), fc.boolean(), garbage, async (m, p, headers, junk, bytes) => {
        const text = `${m} ${p} HTTP/1.1\r\nHost: x\r\n${headers.join('')}\r\n`;
        const raw = junk ? bytes : Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
        const status = await rawRequest(demo.relay.port, raw);
        assert.ok(status === undefined || status < 500, `${JSON.stringify(text)} got ${status}`);
      }),
      { numRuns: 300 },
    );
    assert.equal((await get(demo, '/healthz')).status, 200);
  });
});
