// Imports every entry of every exports map of the named packages, as an app that installed
// them would. The packaging test copies this script into a fresh project where the packed
// tarballs are installed, and runs it there with plain Node (no tsx, nothing of the repo):
//   node import-entries.mjs @sealdoc/crypto @sealdoc/core ...
// It prints one JSON object: for each import specifier, the names it exports, or the error.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const results = {};
for (const name of process.argv.slice(2)) {
  // Read from node_modules: a package need not export its package.json.
  const manifest = JSON.parse(readFileSync(join(process.cwd(), 'node_modules', name, 'package.json'), 'utf8'));
  // Subpaths ('.', './node'), or conditions only (then it is the '.' entry).
  const exportsMap = Object.keys(manifest.exports ?? {}).some((key) => key.startsWith('.')) ? manifest.exports : { '.': manifest.exports };
  for (const subpath of Object.keys(exportsMap)) {
    // './package.json' is metadata, and a pattern ('./x/*') names no one module to import.
    if (subpath === './package.json' || subpath.includes('*')) continue;
    const specifier = subpath === '.' ? name : `${name}/${subpath.slice(2)}`;
    try {
      results[specifier] = { names: Object.keys(await import(specifier)) };
    } catch (error) {
      results[specifier] = { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
    }
  }
}
console.log(JSON.stringify(results));
