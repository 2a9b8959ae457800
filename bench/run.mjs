// Runs a TypeScript benchmark entry: bundles it (and the test fakes it imports) with esbuild into
// bench/.build/, then imports it. Benchmarks measure the built CLI in lib/ (npm run build).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const entry = process.argv[2];
if (!entry) {
  console.error('usage: node bench/run.mjs <entry.ts> [args...]');
  process.exit(2);
}
const root = path.resolve(import.meta.dirname, '..');
// A benchmark of a stale build measures code that is no longer there: rebuild when any source
// is newer than the built CLI.
const built = path.join(root, 'lib/src/cli/main.js');
const newestSource = ['src', 'server']
  .flatMap((dir) => readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true }))
  .filter((e) => e.isFile() && e.name.endsWith('.ts'))
  .reduce((max, e) => Math.max(max, statSync(path.join(e.parentPath, e.name)).mtimeMs), 0);
if (!existsSync(built) || statSync(built).mtimeMs < newestSource) {
  console.error('lib/ is older than the sources: running npm run build ...');
  execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}
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
