#!/usr/bin/env node
/**
 * `npm start`: the relay and the demo app on http://localhost:8787 (PORT to change it), SQLite
 * in ./data (SEALDOC_DATA to move it).
 * @module
 */
import { resolve } from 'node:path';
import { startDemo } from './server.js';

const port = Number(process.env.PORT ?? 8787);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error('PORT must be a number from 0 to 65535');
  process.exit(2);
}
const dataDir = resolve(process.env.SEALDOC_DATA ?? 'data');

startDemo({ port, dataDir, host: process.env.HOST ?? '127.0.0.1' })
  .then((demo) => {
    console.log(`Sealdoc demo: open ${demo.url.replace('127.0.0.1', 'localhost')} (data in ${dataDir}; Ctrl-C to stop)`);
    const stop = () => void demo.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  })
  .catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    console.error(/EADDRINUSE/.test(message) ? `Port ${port} is in use: set PORT to another one (PORT=8788 npm start).` : `The demo could not start: ${message}`);
    process.exit(1);
  });
