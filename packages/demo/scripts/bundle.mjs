// Bundles the demo's browser app (src/app.ts and what it imports) into public/app.js, and
// @sealdoc/crypto's wrap worker into public/wrap-worker.js beside it, where the app's wrap pool
// loads it (new URL('./wrap-worker.js', import.meta.url)).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
await build({
  entryPoints: { app: here('../src/app.ts'), 'wrap-worker': here('../../crypto/dist/wrap-worker.js') },
  outdir: here('../public'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  sourcemap: true,
  minify: true,
  logLevel: 'warning',
});
