// Shared by the benchmarks: a benchmark of a stale build measures code that is no longer there, so
// `npm run build` runs first when any source is newer than the built CLI and service in lib/.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const BUILT = ['lib/src/cli/main.js', 'lib/server/create-app.js', 'lib/cli/main.js'];

export function ensureBuilt(log = (message) => console.error(message)) {
  const newestSource = ['src', 'server']
    .flatMap((dir) => readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .reduce((max, e) => Math.max(max, statSync(path.join(e.parentPath, e.name)).mtimeMs), 0);
  const stale = BUILT.some((file) => {
    const full = path.join(root, file);
    return !existsSync(full) || statSync(full).mtimeMs < newestSource;
  });
  if (!stale) return;
  log('lib/ is older than the sources: running npm run build ...');
  execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}
