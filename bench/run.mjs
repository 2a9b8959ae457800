// Runs a TypeScript benchmark entry: bundles it (and the test fakes it imports) with esbuild into
// bench/.build/, then imports it. Benchmarks measure the built CLI in lib/ (npm run build).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { ensureBuilt } from './ensure-built.mjs';

const entry = process.argv[2];
if (!entry) {
  console.error('usage: node bench/run.mjs <entry.ts> [args...]');
  process.exit(2);
}
const root = path.resolve(import.meta.dirname, '..');
ensureBuilt();
const outfile = path.join(root, 'bench/.build', `${path.basename(entry, '.ts')}.mjs`);
await build({
  entryPoints: [path.resolve(root, entry)],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
process.argv.splice(2, 1);
await import(pathToFileURL(outfile).href);
