// Bundles the demo's browser app (src/app.ts and what it imports) into public/app.js.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
await build({
  entryPoints: [here('../src/app.ts')],
  outfile: here('../public/app.js'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  sourcemap: true,
  minify: true,
  logLevel: 'warning',
});
