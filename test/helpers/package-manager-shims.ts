// A directory of `pnpm`, `yarn` and `bun` commands that run this project's copies of the real
// clients (Yarn 4 or Yarn 1 as `yarn`, by the lockfile generation), to put first on PATH: what
// `lockwarden update` finds there is what it runs.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bunBinary } from './bun-binary.js';
import type { LockClient } from './lock-with-clients.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

export function packageManagerShims(parent: string, client: LockClient): string {
  const bin = mkdtempSync(path.join(parent, `bin-${client}-`));
  const shim = (name: string, target: string[]) => {
    const file = path.join(bin, name);
    writeFileSync(file, `#!/bin/sh\nexec ${target.map((t) => `'${t}'`).join(' ')} "$@"\n`);
    chmodSync(file, 0o755);
  };
  shim('pnpm', [process.execPath, path.join(ROOT, 'node_modules/pnpm/bin/pnpm.cjs')]);
  shim('yarn', [
    process.execPath,
    path.join(
      ROOT,
      client === 'yarn-berry' ? 'node_modules/yarn4/bin/yarn.js' : 'node_modules/yarn/bin/yarn.js',
    ),
  ]);
  shim('bun', [bunBinary()]);
  return bin;
}
