// `lockwarden audit` of an npm lockfile whose dependency bundles packages the registry does not
// have (npm bundles versions of its workspaces before publishing them): those copies are the
// bundler's own, not an edited lockfile, so no not-on-registry finding; a regular entry the
// registry does not have still is one.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runAudit } from '../../src/engine/run-audit.js';
import { createSources, type SourceConfig } from '../../src/sources/create-sources.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { makePackument } from '../helpers/make-packument.js';
import { EMPTY_POPULAR, makePolicy, NOW } from '../helpers/make-policy.js';

let work: string;
let registry: FakeRegistry;
const old = new Date(NOW.getTime() - 90 * 86_400_000);

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-bundled-audit-'));
  // `bund` is on the registry; what it bundles (`inner`, `deep`) is not.
  registry = await startFakeRegistry({
    shape: 'public',
    packuments: [makePackument({ name: 'bund', versions: [{ version: '1.0.0', publishedAt: old }] })],
  });
});

afterAll(async () => {
  await registry.close();
  rmSync(work, { recursive: true, force: true });
});

async function audit(dir: string) {
  const config: SourceConfig = {
    registryUrl: registry.url,
    npm: { cwd: dir, env: {} },
    downloadsUrl: 'http://127.0.0.1:9/',
    githubApiUrl: 'http://127.0.0.1:9/',
    gitBaseUrl: 'http://127.0.0.1:9',
    cacheDir: mkdtempSync(path.join(work, 'cache-')),
    http: {},
  };
  const sources = createSources(config, { now: () => NOW });
  try {
    const { report } = await runAudit({
      dir,
      policy: makePolicy({ coolingOffDays: 7 }),
      sources,
      popular: EMPTY_POPULAR,
      now: NOW,
    });
    return report;
  } finally {
    await sources.close();
  }
}

it('passes bundled copies the registry does not list, and still flags a regular entry it does not', async () => {
  const dir = path.join(work, 'app');
  cpSync(path.resolve('test/fixtures/lockfiles/bundled'), dir, { recursive: true });
  const lockfile = path.join(dir, 'package-lock.json');
  const text = readFileSync(lockfile, 'utf8').replaceAll('http://127.0.0.1:4873/', registry.url);
  writeFileSync(lockfile, text);
  const report = await audit(dir);
  const rules = (name: string) => report.findings.filter((f) => f.name === name).map((f) => f.rule);
  expect(rules('inner')).toEqual([]);
  expect(rules('deep')).toEqual([]);
  expect(report.exitCode).toBe(0);

  // The same `inner` as a regular dependency: an entry nothing vouches for.
  const lock = JSON.parse(text);
  lock.packages['node_modules/inner'] = {
    version: '1.0.0',
    resolved: `${registry.url}inner/-/inner-1.0.0.tgz`,
    integrity: 'sha512-aW5uZXI=',
  };
  lock.packages[''].dependencies.inner = '^1.0.0';
  delete lock.packages['node_modules/bund/node_modules/inner'];
  lock.packages['node_modules/bund'].bundleDependencies = [];
  writeFileSync(lockfile, JSON.stringify(lock, null, 2));
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name: 'bundled-app',
      version: '1.0.0',
      dependencies: { bund: '^1.0.0', inner: '^1.0.0' },
    }),
  );
  const regular = await audit(dir);
  expect(regular.findings.filter((f) => f.name === 'inner').map((f) => f.rule)).toContain('not-on-registry');
});

it('does not take an edited lockfile at its word: a "bundled" entry with a tarball URL is judged', async () => {
  // npm writes bundled copies without `resolved`; one with it is fetched from there when the
  // bundler's tarball lacks it, so it is an ordinary pin of a version the registry must have.
  const dir = path.join(work, 'edited');
  cpSync(path.resolve('test/fixtures/lockfiles/bundled'), dir, { recursive: true });
  const lockfile = path.join(dir, 'package-lock.json');
  const lock = JSON.parse(readFileSync(lockfile, 'utf8').replaceAll('http://127.0.0.1:4873/', registry.url));
  lock.packages['node_modules/bund/node_modules/inner'].resolved = `${registry.url}bund/-/bund-1.0.0.tgz`;
  lock.packages['node_modules/bund/node_modules/inner'].integrity = 'sha512-YnVuZA==';
  writeFileSync(lockfile, JSON.stringify(lock, null, 2));
  const report = await audit(dir);
  expect(report.findings.filter((f) => f.name === 'inner').map((f) => f.rule)).toContain('not-on-registry');
  expect(report.exitCode).toBe(1);
});
