#!/usr/bin/env node
// Bundles the command line (src/cli/main.ts, and the service it starts) into lib/cli/, which
// bin/lockwarden.js loads. Why: `lockwarden check <name>` is a start-up cost, and most of it was
// Node.js loading modules: ~250 files resolved one by one, and every CommonJS dependency scanned
// by cjs-module-lexer to be imported from ESM (npm run bench:check has the figures). One bundle,
// split at each dynamic import(), loads what `check` needs as a few files and nothing else:
// audit, update, serve and the lockfile parsers are chunks loaded only when they run.
//
// Bundled: our code and the light dependencies the check path runs (zod, semver, undici,
// @npmcli/config, npm-package-arg...). Left to node_modules, as before: the heavy ones only other
// commands load (Arborist, pacote, TypeScript, koa, pg, pino...), which also keeps their
// resolution of their own files, workers and binaries exactly as their authors test it.
// The data files (data/*.json) stay JSON, imported from beside the bundle: JSON.parse reads them
// about twice as fast as V8 parses the same data as a JavaScript literal.
//
//   node scripts/build-cli.mjs [--outdir lib/cli]
import { rename, rm, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { NODE_BUNDLE_OPTIONS } from './node-bundle-options.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Dependencies bundled in (with what they import); every other package is loaded from node_modules. */
export const BUNDLED = new Set([
  'zod',
  'semver',
  'undici',
  'npm-package-arg',
  'hosted-git-info',
  'validate-npm-package-name',
  '@npmcli/config',
  'ini',
  'ae-cvss-calculator',
  'ipaddr.js',
  'minimatch',
]);

/** `@scope/name/sub/path` -> `@scope/name`; `name/sub` -> `name`. */
function packageOf(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

// CommonJS dependencies inside an ESM bundle call require() on Node.js built-ins.
const BANNER = [
  '// lockwarden command line, bundled by scripts/build-cli.mjs. Do not edit: rebuild.',
  "import { createRequire as __lockwardenCreateRequire } from 'node:module';",
  'const require = __lockwardenCreateRequire(import.meta.url);',
].join('\n');

export async function buildCli({ outdir }) {
  const partial = `${outdir}.${process.pid}.partial`;
  await rm(partial, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    // The webhook sender thread (server/webhook-sender.ts) loads `webhook-sender-worker.js` from
    // beside the chunk that starts it: every chunk sits in outdir.
    entryPoints: { main: 'src/cli/main.ts', 'webhook-sender-worker': 'server/webhook-sender-worker.ts' },
    ...NODE_BUNDLE_OPTIONS,
    splitting: true,
    banner: { js: BANNER },
    chunkNames: '[name]-[hash]',
    plugins: [
      {
        name: 'lockwarden-cli-externals',
        setup(b) {
          // The shipped data, read from the package's data/ directory at run time (every chunk
          // sits in outdir, so one relative path serves whichever chunk imports it).
          b.onResolve({ filter: /\/data\/[\w-]+\.json$/ }, (args) => ({
            path: relative(outdir, resolve(args.resolveDir, args.path)).split('\\').join('/'),
            namespace: 'lockwarden-data',
          }));
          b.onLoad({ filter: /.*/, namespace: 'lockwarden-data' }, (args) => ({
            contents: [
              "import { readFileSync } from 'node:fs';",
              `export default JSON.parse(readFileSync(new URL(${JSON.stringify(args.path)}, import.meta.url), 'utf8'));`,
            ].join('\n'),
            loader: 'js',
          }));
          // zod registers its English messages itself; its other 47 locales (a third of zod's
          // code) are exported for z.config(z.locales.xx()), which lockwarden never calls.
          b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
            args.importer.includes('/node_modules/zod/')
              ? {
                  path: 'english-only',
                  namespace: 'lockwarden-zod-locales',
                  pluginData: { dir: resolve(args.resolveDir, '../locales') },
                }
              : undefined,
          );
          b.onLoad({ filter: /.*/, namespace: 'lockwarden-zod-locales' }, (args) => ({
            contents: "export { default as en } from './en.js';",
            resolveDir: args.pluginData.dir,
            loader: 'js',
          }));
          // @npmcli/config reads a package.json and maps workspaces only for a project nested in
          // a workspace: those two (with @npmcli/git, glob...) load from node_modules when it
          // does, resolved from @npmcli/config as its own require() would, not on every start.
          b.onResolve({ filter: /^@npmcli\/(package-json|map-workspaces)$/ }, (args) =>
            args.importer.includes('/node_modules/@npmcli/config/')
              ? { path: args.path, namespace: 'lockwarden-config-lazy' }
              : undefined,
          );
          b.onLoad({ filter: /.*/, namespace: 'lockwarden-config-lazy' }, (args) => ({
            contents: `module.exports = require('node:module').createRequire(require.resolve('@npmcli/config'))(${JSON.stringify(args.path)});`,
            loader: 'js',
          }));
          // undici's index loads all of undici: fetch, WebSocket, EventSource, its caches and mocks,
          // two thirds of its 1 MB in the bundle, and the largest part of a cold `check`'s start-up
          // (npm run bench:check). The HTTP layer (src/sources) takes only its dispatchers, which
          // are loaded from undici's own files here. The service's imports (server/) keep the whole
          // index; the files both load are one copy in the bundle.
          b.onResolve({ filter: /^undici$/ }, (args) =>
            args.importer.startsWith(join(root, 'src', 'sources'))
              ? { path: 'undici-dispatchers', namespace: 'lockwarden-undici' }
              : undefined,
          );
          b.onLoad({ filter: /.*/, namespace: 'lockwarden-undici' }, () => ({
            contents: [
              "import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';",
              "import api from 'undici/lib/api/index.js';",
              "import Agent from 'undici/lib/dispatcher/agent.js';",
              "import EnvHttpProxyAgent from 'undici/lib/dispatcher/env-http-proxy-agent.js';",
              // What undici's index does: request(), stream()... become methods of every dispatcher.
              'Object.assign(Dispatcher.prototype, api);',
              'export { Agent, Dispatcher, EnvHttpProxyAgent };',
            ].join('\n'),
            resolveDir: root,
            loader: 'js',
          }));
          // undici's Client loads its HTTP/2 code (and Node.js's http2 module) at start-up, for a
          // connection that negotiates h2 over TLS ALPN, which only allowH2 asks for and lockwarden
          // never sets. A cold `check` paid ~7 ms for it (CPU profile). Here Client gets a function
          // that loads it on the first h2 connection instead: esbuild runs a bundled CommonJS
          // module when it is first required, so nothing changes but when it loads.
          b.onResolve({ filter: /^\.\/client-h2\.js$/ }, (args) =>
            args.importer.includes('/node_modules/undici/lib/dispatcher/client.js')
              ? { path: resolve(args.resolveDir, args.path), namespace: 'lockwarden-undici-h2' }
              : undefined,
          );
          b.onLoad({ filter: /.*/, namespace: 'lockwarden-undici-h2' }, (args) => ({
            contents: [
              'let connectH2;',
              'module.exports = function lazyConnectH2(client, socket) {',
              `  connectH2 ??= require(${JSON.stringify(args.path)});`,
              '  return connectH2(client, socket);',
              '};',
            ].join('\n'),
            resolveDir: dirname(args.path),
            loader: 'js',
          }));
          b.onResolve({ filter: /^[^./]/ }, (args) => {
            if (isBuiltin(args.path) || args.importer.includes('/node_modules/')) return undefined;
            if (!BUNDLED.has(packageOf(args.path))) return { path: args.path, external: true };
            return undefined;
          });
        },
      },
    ],
    outdir: partial,
  });
  // Replaced whole, so no chunk of an older build is left behind.
  await rm(outdir, { recursive: true, force: true });
  await rename(partial, outdir);
  return {
    outdir,
    files: Object.keys(result.metafile.outputs).length,
    inputs: Object.keys(result.metafile.inputs).length,
    // Output paths relative to the repository, as esbuild names them (under the partial name).
    metafile: result.metafile,
    partial: relative(root, partial).split('\\').join('/'),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  let outdir = join(root, 'lib', 'cli');
  let metafileOut;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--outdir' && args[i + 1]) outdir = resolve(args[++i]);
    else if (args[i] === '--metafile' && args[i + 1]) metafileOut = resolve(args[++i]);
    else throw new Error(`unknown argument ${args[i]} (use --outdir DIR, --metafile FILE)`);
  }
  const { files, inputs, metafile, partial } = await buildCli({ outdir });
  // esbuild's metafile with the outputs named as in outdir (test/e2e/cli-bundle.test.ts reads it).
  if (metafileOut) {
    const rename = (p) => (p.startsWith(`${partial}/`) ? p.slice(partial.length + 1) : p);
    const outputs = Object.fromEntries(
      Object.entries(metafile.outputs).map(([p, o]) => [
        rename(p),
        { ...o, imports: o.imports.map((i) => ({ ...i, path: rename(i.path) })) },
      ]),
    );
    await writeFile(metafileOut, JSON.stringify({ ...metafile, outputs }));
  }
  console.log(`${relative(process.cwd(), outdir)}: ${files} files from ${inputs} modules`);
}
