// Reads the real lockfiles kept beside the checkout (../shared/lockfiles, present in CI) and
// checks the inventory against INDEX.md and against an independent walk of the raw JSON.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readLockfile } from '../../src/lockfile/read-lockfile.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const sharedDir = path.resolve(projectRoot, '../shared/lockfiles');
const indexFile = path.join(sharedDir, 'INDEX.md');
const present = existsSync(indexFile);

interface IndexRow {
  dir: string;
  lockfileVersion: number;
  uniqueNameVersions: number;
}

/** The rows of the INDEX.md table, with columns found by their header text. */
function readIndexRows(): IndexRow[] {
  const rows = readFileSync(indexFile, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  const header = rows[0]!;
  const column = (name: string) => {
    const index = header.findIndex((cell) => cell.startsWith(name));
    if (index === -1) throw new Error(`INDEX.md has no "${name}" column`);
    return index;
  };
  const dirColumn = column('dir');
  const versionColumn = column('lockfileVersion');
  const uniqueColumn = column('unique name@version');
  const number = (cell: string) => Number(cell.replace(/[*,]/g, ''));
  return rows
    .filter((cells) => cells[dirColumn]?.startsWith('`'))
    .map((cells) => ({
      dir: cells[dirColumn]!.replaceAll('`', ''),
      lockfileVersion: number(cells[versionColumn]!),
      uniqueNameVersions: number(cells[uniqueColumn]!),
    }));
}

interface RawEntry {
  version?: string;
  name?: string;
  resolved?: string;
  inBundle?: boolean;
  link?: boolean;
  dependencies?: Record<string, RawEntry>;
}

/**
 * What the inventory should hold, straight from the JSON: every copy installed from a registry
 * tarball (or shipped inside one), by real name. Workspace folders and links are not packages.
 */
function expectedFromJson(text: string): { ids: Set<string>; copies: number } {
  const lock = JSON.parse(text) as {
    packages?: Record<string, RawEntry>;
    dependencies?: Record<string, RawEntry>;
  };
  const ids = new Set<string>();
  let copies = 0;
  const add = (name: string, version: string) => {
    // lockfileVersion 1 writes an alias as version `npm:<real name>@<version>`.
    const alias = /^npm:(.+)@([^@]+)$/.exec(version);
    ids.add(alias ? `${alias[1]}@${alias[2]}` : `${name}@${version}`);
    copies++;
  };
  if (lock.packages) {
    for (const [key, entry] of Object.entries(lock.packages)) {
      const at = key.lastIndexOf('node_modules/');
      if (at === -1 || entry.link) continue;
      if (!(entry.resolved?.startsWith('http') || entry.inBundle)) continue;
      add(entry.name ?? key.slice(at + 'node_modules/'.length), entry.version!);
    }
  } else {
    const pending = [lock.dependencies ?? {}];
    for (let deps = pending.pop(); deps !== undefined; deps = pending.pop()) {
      for (const [name, entry] of Object.entries(deps)) {
        add(name, entry.version!);
        if (entry.dependencies) pending.push(entry.dependencies);
      }
    }
  }
  return { ids, copies };
}

/** Warnings INDEX.md describes in its observations. */
const EXPECTED_WARNINGS: Record<string, RegExp[]> = {
  'Financial-Times__origami': [
    /^37 missing dependency edges \(stale entries\?\) e\.g\. /,
    /^10 invalid dependency edges /,
  ],
  'facebook__create-react-app': [/^2 invalid dependency edges /],
};

describe.skipIf(!present)('readLockfile on real lockfiles', () => {
  const rows = present ? readIndexRows() : [];

  it('finds the seven lockfiles in INDEX.md', () => {
    expect(rows).toHaveLength(7);
  });

  it.each(rows.map((row) => ({ ...row, name: row.dir })))(
    'reads $name',
    async ({ dir, lockfileVersion, uniqueNameVersions }) => {
      const projectDir = path.join(sharedDir, dir);
      const started = performance.now();
      const inventory = await readLockfile(projectDir);
      const elapsedMs = performance.now() - started;
      console.info(`readLockfile ${dir}: ${inventory.entries.length} entries in ${elapsedMs.toFixed(0)} ms`);

      const text = readFileSync(inventory.file, 'utf8');
      const expected = expectedFromJson(text);
      expect(inventory.lockfileVersion).toBe(lockfileVersion);
      // INDEX.md counts bundled copies too: they are registry name@versions like any other.
      expect(inventory.entries).toHaveLength(uniqueNameVersions);
      expect(new Set(inventory.entries.map((e) => `${e.name}@${e.version}`))).toEqual(expected.ids);
      expect(inventory.entries.reduce((sum, e) => sum + e.locations.length, 0)).toBe(expected.copies);

      const lines = text.split('\n');
      for (const entry of inventory.entries) {
        expect(entry.locations.length).toBeGreaterThanOrEqual(1);
        expect(entry.path[0]).toBe(inventory.root);
        expect(entry.path.length).toBeGreaterThanOrEqual(2);
        for (const { line, key } of entry.locations) {
          const needle = lockfileVersion === 1 ? key.split('node_modules/').pop()! : key;
          expect(lines[line - 1], `${entry.name}@${entry.version} at ${key}`).toContain(
            `${JSON.stringify(needle)}: {`,
          );
        }
      }
      for (const pattern of EXPECTED_WARNINGS[dir] ?? []) {
        expect(
          inventory.warnings.some((w) => pattern.test(w)),
          `${pattern} in ${inventory.warnings.join('\n')}`,
        ).toBe(true);
      }
    },
    180_000,
  );
});
