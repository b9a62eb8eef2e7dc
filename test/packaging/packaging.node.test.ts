// The packages as an app gets them from the registry: `npm pack` every publishable workspace,
// install the tarballs (and the peer dependencies) into a fresh project outside the repository,
// import every entry of every exports map there with plain Node, and bundle a browser entry
// with esbuild. Also checks what each tarball holds: README, LICENSE, what the exports map
// names, and source maps whose sources are in the tarball too.
//
// It expects dist/ to be built (`npm test` builds first). It needs the npm registry (or npm's
// cache) and nothing else: install scripts are not run (see `install` below).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';

const root = fileURLToPath(new URL('../../', import.meta.url));
const here = fileURLToPath(new URL('./', import.meta.url));
/** npm install on a cold cache, a slow disk: minutes. */
const SLOW = 8 * 60_000;

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  files?: string[];
  exports?: Record<string, Record<string, string>>;
  sideEffects?: boolean | string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  workspaces?: string[];
}
interface Workspace {
  dir: string;
  manifest: Manifest;
}
interface Packed {
  name: string;
  filename: string;
  files: { path: string }[];
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const rootManifest = readJson<Manifest>(join(root, 'package.json'));
const workspaces: Workspace[] = (rootManifest.workspaces ?? []).map((dir) => ({ dir, manifest: readJson<Manifest>(join(root, dir, 'package.json')) }));
const publishable = workspaces.filter((w) => !w.manifest.private);

/**
 * npm, without what an outer `npm test` puts in the environment about this repository (its
 * prefix, workspaces, package): in the fresh project npm must see that project only. The
 * registry, cache and user config it was given stay.
 */
function npm(args: string[], cwd: string): Promise<string> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^npm_(config_(local_prefix|prefix|workspaces?|include_workspace_root|global)$|package_|lifecycle_|command$)/i.test(key)),
  );
  return new Promise((resolvePromise, reject) => {
    execFile('npm', args, { cwd, env, maxBuffer: 64 * 1024 * 1024, shell: process.platform === 'win32' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`npm ${args.join(' ')} (in ${cwd}) failed: ${error.message}\n${stderr}`));
      else resolvePromise(stdout);
    });
  });
}

function node(args: string[], cwd: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(process.execPath, args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`node ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolvePromise(stdout);
    });
  });
}

/** Every file an exports map entry names, e.g. ./dist/node.js and ./dist/node.d.ts. */
function exportTargets(manifest: Manifest): string[] {
  return Object.values(manifest.exports ?? {}).flatMap((conditions) => Object.values(conditions));
}

/** 'node_modules/a/node_modules/yjs/dist/yjs.mjs' -> ['node_modules/a/node_modules/yjs', 'yjs']. */
function packageRoot(input: string): [root: string, name: string] | undefined {
  const match = /^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(input);
  return match ? [match[1]!, match[2]!] : undefined;
}

describe('the packages as published', { timeout: SLOW + 2 * 60_000 }, () => {
  let temp = '';
  let project = '';
  const packed = new Map<string, Packed>();

  before(async () => {
    temp = mkdtempSync(join(tmpdir(), 'sealdoc-packaging-'));
    const tarballs = join(temp, 'tarballs');
    project = join(temp, 'app');
    mkdirSync(tarballs);
    mkdirSync(project);

    // One `npm pack` for every publishable workspace; --json lists each tarball's files.
    const out = await npm(['pack', '--json', '--pack-destination', tarballs, ...publishable.flatMap((w) => ['--workspace', w.dir])], root);
    for (const p of JSON.parse(out) as Packed[]) packed.set(p.name, p);

    // The peers an app installs beside them, optional ones too (better-sqlite3 for
    // @sealdoc/core/node, pg for the relay's PostgreSQL store), at the versions the repository
    // develops against when it names them (so npm's cache, filled by `npm ci`, serves them).
    const peers = new Map<string, string>();
    for (const { manifest } of publishable) {
      for (const [name, range] of Object.entries(manifest.peerDependencies ?? {})) {
        if (name.startsWith('@sealdoc/')) continue;
        peers.set(name, rootManifest.devDependencies?.[name] ?? range);
      }
    }
    writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'sealdoc-packaging-check', version: '0.0.0', private: true, type: 'module' }, null, 2)}\n`);
    // --ignore-scripts: nothing here opens a database, and better-sqlite3's install script
    // would fetch its prebuilt binary from GitHub (or compile it), beyond the registry. Its
    // JavaScript loads the binary only when a database is opened, so importing works.
    await npm(
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        '--loglevel=error',
        ...[...packed.values()].map((p) => join(tarballs, p.filename)),
        ...[...peers].map(([name, version]) => `${name}@${version}`),
      ],
      project,
    );
  }, { timeout: SLOW });

  after(() => {
    if (temp) rmSync(temp, { recursive: true, force: true });
  });

  it('the demo stays private; every other workspace is packed', () => {
    assert.equal(workspaces.find((w) => w.manifest.name === '@sealdoc/demo')?.manifest.private, true, '@sealdoc/demo is private');
    assert.ok(publishable.length > 0);
    assert.deepEqual([...packed.keys()].sort(), publishable.map((w) => w.manifest.name).sort());
  });

  it('each tarball holds README.md, LICENSE, every file its exports map names, and no tests', () => {
    for (const { manifest } of publishable) {
      const files = new Set(packed.get(manifest.name)!.files.map((f) => f.path));
      const where = `${manifest.name}@${manifest.version}`;
      assert.ok(files.has('README.md'), `${where} ships a README.md`);
      assert.ok(files.has('LICENSE'), `${where} ships a LICENSE`);
      assert.ok(manifest.files?.length, `${where} lists its files`);
      assert.ok(manifest.exports && Object.keys(manifest.exports).length > 0, `${where} has an exports map`);
      for (const [subpath, conditions] of Object.entries(manifest.exports)) {
        assert.ok(subpath.startsWith('.'), `${where}: exports is a map of subpaths ('.', './node')`);
        // TypeScript takes the first condition that matches: `types` comes first.
        assert.equal(Object.keys(conditions)[0], 'types', `${where} exports['${subpath}'] starts with types`);
        assert.match(conditions.types!, /\.d\.ts$/, `${where} exports['${subpath}'].types is a .d.ts`);
      }
      for (const target of exportTargets(manifest)) {
        assert.ok(files.has(posix.normalize(target)), `${where} ships ${target}, which its exports map names`);
      }
      for (const file of files) {
        assert.ok(!/(^|\/)test\/|\.test\.|\.tsbuildinfo$/.test(file), `${where} ships no tests or build info (${file})`);
      }
    }
  });

  it('no tarball has a source map whose sources are not in the tarball', () => {
    let maps = 0;
    for (const { manifest } of publishable) {
      const files = new Set(packed.get(manifest.name)!.files.map((f) => f.path));
      // The installed copy holds exactly the tarball's files.
      const installed = join(project, 'node_modules', manifest.name);
      for (const file of files) {
        if (/\.(js|d\.ts)$/.test(file)) {
          const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(installed, file), 'utf8'))?.[1];
          if (url && !url.startsWith('data:')) {
            const map = posix.join(posix.dirname(file), url);
            assert.ok(files.has(map), `${manifest.name}/${file} points at ${url}, which the tarball does not hold`);
          }
        }
        if (!file.endsWith('.map')) continue;
        maps++;
        const { sources = [], sourceRoot = '' } = readJson<{ sources?: string[]; sourceRoot?: string }>(join(installed, file));
        for (const source of sources) {
          const path = posix.normalize(posix.join(posix.dirname(file), sourceRoot, source));
          assert.ok(!path.startsWith('../') && !posix.isAbsolute(source), `${manifest.name}/${file}: source ${source} is outside the package`);
          assert.ok(files.has(path), `${manifest.name}/${file}: source ${source} (${path}) is not in the tarball`);
        }
      }
    }
    assert.ok(maps > 0, 'some source maps were checked');
  });

  it('npm installed the @sealdoc packages from the tarballs, one copy each', () => {
    const lock = readJson<{ packages: Record<string, { resolved?: string; version?: string }> }>(join(project, 'package-lock.json'));
    for (const { manifest } of publishable) {
      const copies = Object.keys(lock.packages).filter((path) => path.endsWith(`node_modules/${manifest.name}`));
      assert.deepEqual(copies, [`node_modules/${manifest.name}`], `one ${manifest.name}, at the top`);
      const entry = lock.packages[`node_modules/${manifest.name}`]!;
      assert.match(entry.resolved ?? '', /^file:/, `${manifest.name} comes from its tarball, not the registry`);
      assert.equal(entry.version, manifest.version);
    }
  });

  it('every exports map entry imports in Node', async () => {
    // Plain Node in the fresh project: no tsx, no workspace links, nothing of the repository.
    // @sealdoc/ui imports too: lit's `node` export condition brings its DOM shim (custom
    // elements are defined without a browser).
    copyFileSync(join(here, 'import-entries.mjs'), join(project, 'import-entries.mjs'));
    const out = await node(['import-entries.mjs', ...publishable.map((w) => w.manifest.name)], project);
    const results = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, { names?: string[]; error?: string }>;
    const expected = publishable.flatMap(({ manifest }) => Object.keys(manifest.exports ?? {}).map((subpath) => (subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`)));
    assert.deepEqual(Object.keys(results).sort(), expected.sort());
    for (const [specifier, result] of Object.entries(results)) {
      assert.equal(result.error, undefined, `import('${specifier}') failed: ${result.error}`);
      assert.ok(result.names!.length > 0, `${specifier} exports something`);
    }
  });

  it('a browser bundle of @sealdoc/core (and its testing hub), @sealdoc/ui and yjs holds one Yjs and keeps the elements', async () => {
    const entry = join(project, 'browser-entry.js');
    writeFileSync(
      entry,
      [
        "import * as Y from 'yjs';",
        "import { Group, SealedDoc } from '@sealdoc/core';",
        "import { MemoryHub } from '@sealdoc/core/testing';", // browser tests use the hub: no node: import there
        "import '@sealdoc/ui';",
        'const doc = new Y.Doc();',
        "doc.getText('t').insert(0, 'hi');",
        'console.log(Group.name, SealedDoc.name, MemoryHub.name, doc.getText("t").toString());',
        '',
      ].join('\n'),
    );
    // The repository's esbuild; every import is resolved from the fresh project's node_modules.
    const result = await build({
      absWorkingDir: project,
      entryPoints: [entry],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      write: false,
      outfile: join(project, 'out', 'bundle.js'),
      metafile: true,
      logLevel: 'silent',
    });
    const metafile: Metafile = result.metafile;
    const inputs = Object.keys(metafile.inputs).map((input) => (isAbsolute(input) ? relative(project, input) : input).split('\\').join('/'));
    assert.ok(inputs.every((input) => !resolve(project, input).startsWith(root)), 'nothing bundled from the repository');

    const roots = new Map<string, Set<string>>();
    for (const input of inputs) {
      const found = packageRoot(input);
      if (!found) continue;
      const [at, name] = found;
      roots.set(name, (roots.get(name) ?? new Set()).add(at));
    }
    assert.deepEqual([...(roots.get('yjs') ?? [])], ['node_modules/yjs'], 'exactly one copy of yjs');
    const yjsModules = inputs.filter((input) => input.startsWith('node_modules/yjs/'));
    assert.equal(yjsModules.length, 1, `one yjs module, not its ESM and CJS builds both: ${yjsModules.join(', ')}`);
    for (const name of ['@sealdoc/core', '@sealdoc/crypto', '@sealdoc/protocol', '@sealdoc/ui', 'y-protocols', 'lib0', 'lit', 'lit-html', 'lit-element', '@lit/reactive-element']) {
      assert.ok((roots.get(name)?.size ?? 0) <= 1, `at most one copy of ${name}: ${[...(roots.get(name) ?? [])].join(', ')}`);
    }

    // Importing @sealdoc/ui defines its elements: `sideEffects` must keep every module that does.
    const bundle = result.outputFiles.find((file) => file.path.endsWith('.js'))!.text;
    const ui = join(project, 'node_modules', '@sealdoc', 'ui');
    const tags = packed
      .get('@sealdoc/ui')!
      .files.filter((f) => f.path.endsWith('.js'))
      .flatMap((f) => [...readFileSync(join(ui, f.path), 'utf8').matchAll(/customElements\.define\(\s*['"]([a-z0-9-]+)['"]/g)].map((m) => m[1]!));
    assert.ok(tags.length > 0, '@sealdoc/ui defines elements');
    for (const tag of tags) assert.match(bundle, new RegExp(`customElements\\.define\\(\\s*['"]${tag}['"]`), `the bundle defines <${tag}>`);
  });
});
