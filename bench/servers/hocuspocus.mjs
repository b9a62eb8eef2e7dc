// A plain Hocuspocus server for bench:relay, in a process of its own: in memory by default, or
// with its SQLite extension (`--sqlite FILE`). No hooks, no authentication: what `npx
// @hocuspocus/cli` would run. Prints one JSON line {"event":"listening","port":N} once it listens.
import { Server } from '@hocuspocus/server';

const at = process.argv.indexOf('--sqlite');
const extensions = [];
if (at !== -1) {
  const { SQLite } = await import('@hocuspocus/extension-sqlite');
  extensions.push(new SQLite({ database: process.argv[at + 1] }));
}
const server = new Server({ port: 0, address: '127.0.0.1', quiet: true, stopOnSignals: true, extensions });
await server.listen();
console.log(JSON.stringify({ event: 'listening', port: server.address.port }));
