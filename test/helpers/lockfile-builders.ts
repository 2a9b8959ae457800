// Builders for lockfile tests: inventories for diffing, and throwaway project directories.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LockfileEntry, LockfileInventory } from '../../src/lockfile/lockfile-inventory.js';

export function makeLockfileEntry(
  overrides: Partial<LockfileEntry> & { name: string; version: string },
): LockfileEntry {
  return {
    locations: [{ file: 'package-lock.json', line: 1, key: `node_modules/${overrides.name}` }],
    path: ['app', overrides.name],
    dev: false,
    optional: false,
    peer: false,
    bundled: false,
    ...overrides,
  };
}

/** An inventory from `name@version` specs (scoped names work: `@s/a@1.0.0`). */
export function makeInventory(
  specs: string[],
  overrides: Partial<LockfileInventory> = {},
): LockfileInventory {
  const entries = specs.map((spec) => {
    const at = spec.lastIndexOf('@');
    return makeLockfileEntry({ name: spec.slice(0, at), version: spec.slice(at + 1) });
  });
  return {
    file: '/project/package-lock.json',
    lockfileVersion: 3,
    root: 'app',
    entries,
    skipped: [],
    warnings: [],
    ...overrides,
  };
}

/** lockfileVersion 3 text with a root entry named `app` and the given `packages` entries. */
export function makeV3LockText(
  packages: Record<string, unknown>,
  rootEntry: Record<string, unknown> = { name: 'app', version: '1.0.0' },
): string {
  return `${JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': rootEntry, ...packages } }, null, 2)}\n`;
}

/** Temp project directories, removed by `cleanup()` (call it in afterEach). */
export function createTempProjects() {
  const dirs: string[] = [];
  return {
    async write(files: Record<string, string | undefined>): Promise<string> {
      const dir = await mkdtemp(path.join(tmpdir(), 'lockwarden-test-lockfile-'));
      dirs.push(dir);
      for (const [name, text] of Object.entries(files)) {
        if (text === undefined) continue;
        await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
        await writeFile(path.join(dir, name), text);
      }
      return dir;
    },
    async cleanup(): Promise<void> {
      await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}
