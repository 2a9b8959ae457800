#!/usr/bin/env node
// Bundles the GitHub Action (src/action/index.ts) into one file, dist/index.js, that the runner
// executes with no node_modules. Reproducible: the same sources give the same bytes (no
// timestamps, no absolute paths, stable module order), so a release's bundle can be rebuilt
// and compared by anyone.
//
//   node scripts/build-action.mjs [--outfile dist/index.js]
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { NODE_BUNDLE_OPTIONS } from './node-bundle-options.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const opts = { outfile: join(root, 'dist', 'index.js') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--outfile' && argv[i + 1]) opts.outfile = resolve(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]} (use --outfile FILE)`);
  }
  return opts;
}

/**
 * TypeScript's lib files semver-honesty compiles against (src/engine/typescript-libs.ts lists
 * them), with every file they reference (`/// <reference lib="..." />`), as { fileName: text }:
 * the bundle has no node_modules/typescript/lib to read them from.
 */
async function typescriptLibs() {
  const listed = await readFile(join(root, 'src/engine/typescript-libs.ts'), 'utf8');
  const todo = [...new Set([...listed.matchAll(/'(lib\.[\w.]+\.d\.ts)'/g)].map((m) => m[1]))];
  if (todo.length === 0) throw new Error('src/engine/typescript-libs.ts lists no lib files');
  const libDir = dirname(createRequire(join(root, 'package.json')).resolve('typescript'));
  const out = {};
  while (todo.length > 0) {
    const name = todo.shift();
    if (Object.hasOwn(out, name)) continue;
    const text = await readFile(join(libDir, name), 'utf8');
    out[name] = text;
    for (const m of text.matchAll(/^\/\/\/\s*<reference\s+lib="([^"]+)"/gm))
      todo.push(`lib.${m[1].toLowerCase()}.d.ts`);
  }
  // Sorted, so the bundle's bytes do not depend on the order files were found in.
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

// ESM output, because @actions/* ship ESM only; Arborist and its dependencies are CommonJS:
// they call require() on Node built-ins and read __dirname, which an ESM bundle has to provide.
const BANNER = [
  '// lockwarden GitHub Action, bundled by scripts/build-action.mjs. Do not edit: rebuild.',
  "import { createRequire as __lockwardenCreateRequire } from 'node:module';",
  "import { dirname as __lockwardenDirname } from 'node:path';",
  "import { fileURLToPath as __lockwardenFileURLToPath } from 'node:url';",
  'const require = __lockwardenCreateRequire(import.meta.url);',
  'const __filename = __lockwardenFileURLToPath(import.meta.url);',
  'const __dirname = __lockwardenDirname(__filename);',
].join('\n');

export async function buildAction({ outfile }) {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['src/action/index.ts'],
    ...NODE_BUNDLE_OPTIONS,
    banner: { js: BANNER },
    // The TypeScript compiler (semver-honesty) is bundled in, with the lib files it compiles
    // against: the runner has no node_modules.
    plugins: [
      {
        name: 'bundled-typescript',
        setup(b) {
          b.onResolve({ filter: /\/load-typescript\.js$/ }, () => ({
            path: join(root, 'src/engine/load-typescript.bundle.ts'),
          }));
          b.onResolve({ filter: /^lockwarden:typescript-libs$/ }, () => ({
            path: 'typescript-libs',
            namespace: 'lockwarden',
          }));
          b.onLoad({ filter: /.*/, namespace: 'lockwarden' }, async () => ({
            contents: `export default ${JSON.stringify(await typescriptLibs())};`,
            loader: 'js',
          }));
        },
      },
    ],
    // JSON data (the embedded popular-package list) is inlined by the bundler.
    loader: { '.json': 'json' },
    write: false,
    outfile,
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error('esbuild produced no output');
  // esbuild names modules by path relative to absWorkingDir; make sure no absolute path leaked.
  const text = output.text;
  if (text.includes(root))
    throw new Error(`the bundle contains the absolute path ${root}; it would not be reproducible`);
  await mkdir(dirname(outfile), { recursive: true });
  // Written aside and renamed, so a concurrent reader never runs half a bundle.
  const partial = `${outfile}.${process.pid}.partial`;
  await writeFile(partial, output.contents);
  await rename(partial, outfile);
  const inputs = Object.keys(result.metafile.inputs).length;
  return { outfile, bytes: output.contents.length, inputs };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { outfile } = parseArgs(process.argv.slice(2));
  const { bytes, inputs } = await buildAction({ outfile });
  console.log(`${relative(process.cwd(), outfile)}: ${(bytes / 1024).toFixed(0)} KB from ${inputs} modules`);
}
