// `lockwarden update` changes only what it reports: the lockfile inventories before and after
// differ by exactly the updated, added and removed versions it prints, bundled dependencies
// included. On npm/cli's own lockfile (tap bundles ink, treport, react...) and on a project whose
// many aliases send it down Arborist's full resolution.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLockfile } from '../../src/lockfile/read-lockfile.js';
import { startFakeRegistry } from '../helpers/fake-registry.js';
import { makePackument } from '../helpers/make-packument.js';
import { packumentsFromLockfile, pointLockfileAt } from '../helpers/registry-from-lockfile.js';
import { runCliCaptured } from '../helpers/run-cli-captured.js';

const NOW = new Date('2026-12-07T12:00:00.000Z');
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86400000);
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const npmCli = path.resolve(projectRoot, '../shared/lockfiles/npm__cli');

let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-update-inventory-'));
  writeFileSync(
    path.join(work, 'policy.json'),
    JSON.stringify({ id: 'ci', coolingOffDays: 7, typosquatting: false, semverHonesty: 'off' }),
  );
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function update(dir: string, registryUrl: string, extra: string[] = []) {
  const args = ['--registry', registryUrl, '--cache-dir', path.join(dir, '.cache'), '--policy'];
  return runCliCaptured(['update', dir, '--json', ...extra, ...args, path.join(work, 'policy.json')], {
    env: { PATH: process.env.PATH, HOME: work },
    cwd: work,
    now: () => NOW,
  });
}

/** name@version → the lockfile locations holding it, and whether every copy is bundled. */
async function inventory(dir: string) {
  const inv = await readLockfile(dir);
  return new Map(
    inv.entries.map((e) => [
      `${e.name}@${e.version}`,
      { keys: e.locations.map((l) => l.key), bundled: e.bundled },
    ]),
  );
}

interface Report {
  updated: { name: string; from: string; to: string }[];
  added: { name: string; version: string }[];
  removed: { name: string; version: string }[];
}

/** Gone from the lockfile: exactly what was updated from or removed; new: exactly what was updated to or added. */
function expectOnlyReportedChanges(
  before: Map<string, unknown>,
  after: Map<string, unknown>,
  report: Report,
) {
  const gone = [...before.keys()].filter((k) => !after.has(k)).sort();
  const fresh = [...after.keys()].filter((k) => !before.has(k)).sort();
  expect(gone).toEqual(
    [
      ...report.updated.map((u) => `${u.name}@${u.from}`),
      ...report.removed.map((r) => `${r.name}@${r.version}`),
    ].sort(),
  );
  expect(fresh).toEqual(
    [
      ...report.updated.map((u) => `${u.name}@${u.to}`),
      ...report.added.map((a) => `${a.name}@${a.version}`),
    ].sort(),
  );
}

describe.runIf(existsSync(npmCli))("update on npm/cli's lockfile", () => {
  it('keeps tap’s bundled dependencies and every entry it did not mean to change', {
    timeout: 300_000,
  }, async () => {
    const dir = path.join(mkdtempSync(path.join(work, 'npm-cli-')), 'cli');
    cpSync(npmCli, dir, { recursive: true });
    // Every pinned version as the lockfile records it, published long ago; then newer releases:
    // semver one allowed and one inside the cooling-off window, tap a new release (bundling the
    // same packages, so its bundle is read from the new tarball), and a newer ink, which only tap
    // bundles and so must not move.
    const packuments = packumentsFromLockfile(path.join(dir, 'package-lock.json'), {
      publishedAt: daysAgo(400),
      extra: {
        semver: [
          { version: '7.6.4', publishedAt: daysAgo(60) },
          { version: '7.7.0', publishedAt: daysAgo(2) },
        ],
        tap: [{ version: '16.3.11', publishedAt: daysAgo(30) }],
        ink: [{ version: '3.2.1', publishedAt: daysAgo(30) }],
      },
    });
    const registry = await startFakeRegistry({ shape: 'public', packuments });
    try {
      pointLockfileAt(path.join(dir, 'package-lock.json'), registry.url, packuments);
      const raw = (file: string) =>
        JSON.parse(readFileSync(file, 'utf8')).packages as Record<string, Record<string, unknown>>;
      const bundleOf = (packages: Record<string, Record<string, unknown>>) =>
        Object.entries(packages)
          .filter(([k, v]) => k.startsWith('node_modules/tap/node_modules/') && v.inBundle)
          .map(([k, v]) => `${k}@${v.version}`)
          .sort();
      const rawBefore = raw(path.join(dir, 'package-lock.json'));
      const before = await inventory(dir);

      const r = await update(dir, registry.url);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report.updated).toEqual([
        { name: 'semver', from: '7.6.3', to: '7.6.4' },
        { name: 'tap', from: '16.3.10', to: '16.3.11' },
      ]);
      expect(report.added).toEqual([]);
      expect(report.removed).toEqual([]);
      expect(
        report.skipped.map((s: { name: string; version: string }) => `${s.name}@${s.version}`),
      ).toContain('semver@7.7.0');

      const after = await inventory(dir);
      expectOnlyReportedChanges(before, after, report);
      // tap's five bundled dependencies and everything under them, at the same places.
      const rawAfter = raw(path.join(dir, 'package-lock.json'));
      expect(bundleOf(rawAfter)).toEqual(bundleOf(rawBefore));
      expect(bundleOf(rawAfter)).toHaveLength(163);
      expect(rawAfter['node_modules/tap']!.bundleDependencies).toEqual([
        'ink',
        'treport',
        '@types/react',
        '@isaacs/import-jsx',
        'react',
      ]);
      expect(after.get('ink@3.2.0')).toEqual(before.get('ink@3.2.0'));
      // Nothing else moved: every location that held a version still holds it.
      for (const [key, entry] of Object.entries(rawBefore)) {
        if (['node_modules/semver', 'node_modules/tap'].includes(key)) continue;
        expect(rawAfter[key]?.version, key).toBe(entry.version);
      }
    } finally {
      await registry.close();
    }
  });
});

describe('update through a full resolution', () => {
  it('reads bundles from the tarballs, loses no entry and holds back a bundler that bundles a blocked version', {
    timeout: 300_000,
  }, async () => {
    // 30 aliases: more names than the in-place pass hands to Arborist one by one, so Arborist
    // resolves the whole tree afresh, which starts without the lockfile's bundles.
    const aliases = Array.from({ length: 30 }, (_, i) => `alias-${i}`);
    const bundle = (innerVersion: string) => ({
      'node_modules/inner/package.json': JSON.stringify({
        name: 'inner',
        version: innerVersion,
        dependencies: { deep: '^3.0.0' },
      }),
      'node_modules/deep/package.json': JSON.stringify({ name: 'deep', version: '3.0.0' }),
    });
    const packuments = [
      makePackument({
        name: 'target',
        versions: [
          { version: '1.0.0', publishedAt: daysAgo(400) },
          { version: '1.1.0', publishedAt: daysAgo(60) },
        ],
      }),
      // bund stays; bund-moves 1.1.0 bundles inner 1.2.0; bund-young 1.1.0 bundles inner 1.3.0,
      // published two days ago: audit would block it, so bund-young is held back.
      ...['bund', 'bund-moves', 'bund-young'].map((name) =>
        makePackument({
          name,
          versions: ['1.0.0', ...(name === 'bund' ? [] : ['1.1.0'])].map((version) => ({
            version,
            publishedAt: daysAgo(version === '1.0.0' ? 400 : 30),
            dependencies: { inner: '^1.0.0' },
            extra: { bundleDependencies: ['inner'] },
            files: bundle(version === '1.0.0' ? '1.0.0' : name === 'bund-young' ? '1.3.0' : '1.2.0'),
          })),
        }),
      ),
      // On the registry too, newer than bundled: a bundle's contents never move on their own.
      makePackument({
        name: 'inner',
        versions: ['1.0.0', '1.2.0', '1.3.0'].map((version) => ({
          version,
          publishedAt: daysAgo(version === '1.3.0' ? 2 : 400),
          dependencies: { deep: '^3.0.0' },
        })),
      }),
      makePackument({ name: 'deep', versions: [{ version: '3.0.0', publishedAt: daysAgo(400) }] }),
    ];
    const registry = await startFakeRegistry({ shape: 'public', packuments });
    try {
      const dir = mkdtempSync(path.join(work, 'full-'));
      const dependencies: Record<string, string> = {
        bund: '^1.0.0',
        'bund-moves': '^1.0.0',
        'bund-young': '^1.0.0',
      };
      for (const a of aliases) dependencies[a] = 'npm:target@^1.0.0';
      const entry = (name: string, version: string, more: Record<string, unknown> = {}) => ({
        version,
        resolved: `${registry.url}${name}/-/${name}-${version}.tgz`,
        integrity: registry.served(name)!.versions[version]!.dist!.integrity,
        ...more,
      });
      const packages: Record<string, unknown> = {
        '': { name: 'app', version: '1.0.0', dependencies },
      };
      for (const name of ['bund', 'bund-moves', 'bund-young']) {
        packages[`node_modules/${name}`] = entry(name, '1.0.0', {
          bundleDependencies: ['inner'],
          dependencies: { inner: '^1.0.0' },
        });
        packages[`node_modules/${name}/node_modules/inner`] = {
          version: '1.0.0',
          inBundle: true,
          dependencies: { deep: '^3.0.0' },
        };
        packages[`node_modules/${name}/node_modules/deep`] = { version: '3.0.0', inBundle: true };
      }
      for (const a of aliases)
        packages[`node_modules/${a}`] = { ...entry('target', '1.0.0'), name: 'target' };
      writeFileSync(
        path.join(dir, 'package.json'),
        JSON.stringify({ name: 'app', version: '1.0.0', dependencies }, null, 2),
      );
      writeFileSync(
        path.join(dir, 'package-lock.json'),
        JSON.stringify(
          { name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages },
          null,
          2,
        ),
      );
      const before = await inventory(dir);

      const r = await update(dir, registry.url);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report.updated).toEqual([
        { name: 'bund-moves', from: '1.0.0', to: '1.1.0' },
        { name: 'target', from: '1.0.0', to: '1.1.0' },
      ]);
      // bund keeps inner 1.0.0 in its bundle; bund-moves 1.1.0's tarball bundles 1.2.0.
      expect(report.added).toEqual([{ name: 'inner', version: '1.2.0' }]);
      expect(report.removed).toEqual([]);
      expect(report.skipped).toEqual([
        expect.objectContaining({
          name: 'bund-young',
          version: '1.1.0',
          rule: 'cooling-off',
          effect: 'block',
        }),
        expect.objectContaining({ name: 'inner', version: '1.3.0', rule: 'cooling-off' }),
      ]);
      expect(report.skipped[0].reason).toMatch(/^cooling-off \(bundles inner@1\.3\.0: /);
      const after = await inventory(dir);
      expectOnlyReportedChanges(before, after, report);
      const lock = JSON.parse(readFileSync(path.join(dir, 'package-lock.json'), 'utf8')).packages;
      // The bundler that stayed keeps its bundle; the one that moved has its new tarball's.
      expect(lock['node_modules/bund/node_modules/inner']).toMatchObject({
        version: '1.0.0',
        inBundle: true,
      });
      expect(lock['node_modules/bund/node_modules/deep']).toMatchObject({ version: '3.0.0', inBundle: true });
      expect(lock['node_modules/bund-moves/node_modules/inner']).toMatchObject({
        version: '1.2.0',
        inBundle: true,
      });
      expect(lock['node_modules/bund-moves/node_modules/deep']).toMatchObject({
        version: '3.0.0',
        inBundle: true,
      });
      expect(lock['node_modules/alias-7']).toMatchObject({ name: 'target', version: '1.1.0' });
      expect(lock['node_modules/bund-young']).toMatchObject({ version: '1.0.0' });
      expect(lock['node_modules/bund-young/node_modules/inner']).toMatchObject({
        version: '1.0.0',
        inBundle: true,
      });
    } finally {
      await registry.close();
    }
  });
});
