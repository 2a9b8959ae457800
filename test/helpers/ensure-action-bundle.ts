// End-to-end tests run the bundle the runner runs. `npm test` on a fresh clone has none yet (and
// dist/ is not tracked), so the tests build it when it is missing or older than its sources.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { BUNDLE, REPO_ROOT } from './run-action-bundle.js';

const SOURCES = ['src', 'data', 'scripts/build-action.mjs', 'package-lock.json'];

function newestMtimeMs(entry: string): number {
  const info = statSync(entry, { throwIfNoEntry: false });
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const child of readdirSync(entry)) newest = Math.max(newest, newestMtimeMs(path.join(entry, child)));
  return newest;
}

/** Builds dist/index.js when it is missing or stale; returns whether it built. */
export function ensureActionBundle(): boolean {
  const bundle = statSync(BUNDLE, { throwIfNoEntry: false });
  const sources = Math.max(...SOURCES.map((s) => newestMtimeMs(path.join(REPO_ROOT, s))));
  if (bundle && bundle.mtimeMs >= sources) return false;
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'build-action.mjs')], {
    cwd: REPO_ROOT,
    stdio: 'pipe',
  });
  return true;
}
