// `lockwarden update` end to end in-process: real Arborist, a fake registry on loopback, an
// injected clock. Asserts the exact output, the lockfile written and what was skipped.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { makePackument } from '../helpers/make-packument.js';
import { runCliCaptured } from '../helpers/run-cli-captured.js';

const NOW = new Date('2026-12-07T12:00:00.000Z');
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86400000);

const PACKUMENTS = [
  makePackument({
    name: 'left-pad',
    versions: [
      { version: '1.1.0', publishedAt: daysAgo(400) },
      { version: '1.3.0', publishedAt: daysAgo(60) },
      { version: '1.3.1', publishedAt: daysAgo(2) },
    ],
  }),
  makePackument({
    name: 'express',
    versions: [
      { version: '4.18.0', publishedAt: daysAgo(900) },
      { version: '4.19.2', publishedAt: daysAgo(300), dependencies: { 'dep-a': '^1.0.0' } },
      { version: '5.1.0', publishedAt: daysAgo(100) },
      { version: '6.0.0', publishedAt: daysAgo(1) },
    ],
  }),
  makePackument({
    name: 'dep-a',
    versions: [
      { version: '1.0.0', publishedAt: daysAgo(500) },
      { version: '1.1.0', publishedAt: daysAgo(50) },
    ],
  }),
  makePackument({
    name: 'shared-dep',
    versions: [
      { version: '1.0.0', publishedAt: daysAgo(500) },
      { version: '1.0.5', publishedAt: daysAgo(100) },
      { version: '1.1.0', publishedAt: daysAgo(50) },
    ],
  }),
  makePackument({
    name: 'consumer',
    versions: [
      { version: '1.0.0', publishedAt: daysAgo(500), dependencies: { 'shared-dep': '^1.0.0' } },
      { version: '1.0.1', publishedAt: daysAgo(40), dependencies: { 'shared-dep': '^1.0.0' } },
    ],
  }),
  makePackument({
    name: 'dev-tool',
    versions: [
      { version: '1.0.0', publishedAt: daysAgo(500) },
      { version: '1.2.0', publishedAt: daysAgo(30) },
    ],
  }),
  makePackument({
    name: 'evil-pkg',
    versions: [
      { version: '1.0.0', publishedAt: daysAgo(500) },
      { version: '1.0.1', publishedAt: daysAgo(50) },
    ],
  }),
];

const POLICY = {
  id: 'ci',
  action: 'block',
  coolingOffDays: 7,
  typosquatting: false,
  block: [{ package: 'evil-pkg@>=1.0.1', reason: 'compromised release' }],
};

let registry: FakeRegistry;
let work: string;
let project: string;
let cacheDir: string;
let policyFile: string;
let home: string;

async function run(argv: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await runCli(
    [...argv, '--registry', registry.url, '--cache-dir', cacheDir, '--policy', policyFile],
    // HOME: an empty directory, so this machine's ~/.npmrc (omit-lockfile-registry-resolved...) stays out.
    { stdout, stderr, env: { PATH: process.env.PATH, HOME: home }, cwd: work, now: () => NOW },
  );
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

function writeJson(file: string, value: unknown) {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

function readJson(file: string) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** A project pinned to old versions: left-pad 1.1.0, express 4.18.0, evil-pkg 1.0.0. */
function writeApp(dir: string, extra: Record<string, unknown> = {}) {
  const dependencies = { 'left-pad': '^1.1.0', express: '^4.18.0', 'evil-pkg': '^1.0.0' };
  writeJson(path.join(dir, 'package.json'), { name: 'app', version: '1.0.0', dependencies, ...extra });
  writeJson(path.join(dir, 'package-lock.json'), {
    name: 'app',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'app', version: '1.0.0', dependencies, ...extra },
      'node_modules/left-pad': { version: '1.1.0' },
      'node_modules/express': { version: '4.18.0' },
      'node_modules/evil-pkg': { version: '1.0.0' },
    },
  });
}

beforeAll(async () => {
  registry = await startFakeRegistry({ shape: 'public', packuments: PACKUMENTS });
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-update-'));
  policyFile = path.join(work, 'policy.json');
  home = mkdtempSync(path.join(work, 'home-'));
  writeJson(policyFile, POLICY);
});

afterAll(async () => {
  await registry.close();
  rmSync(work, { recursive: true, force: true });
});

beforeEach(() => {
  project = mkdtempSync(path.join(work, 'app-'));
  cacheDir = mkdtempSync(path.join(work, 'cache-'));
});

describe('lockwarden update', () => {
  it('moves pins to the newest allowed versions and names the versions it skipped', async () => {
    writeApp(project);
    const r = await run(['update', project]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'Updated the following:',
        '  express 4.18.0 → 4.19.2',
        '  left-pad 1.1.0 → 1.3.0',
        'Added:',
        '  dep-a 1.1.0',
        'Skipped newer versions:',
        '  evil-pkg 1.0.1: blocklist (is on the block list ("evil-pkg@>=1.0.1": compromised release))',
        '  left-pad 1.3.1: cooling-off (published 2 days ago; passes on 2026-12-12)',
        '',
      ].join('\n'),
    );
    const lock = readJson(path.join(project, 'package-lock.json'));
    expect(lock.packages['node_modules/left-pad'].version).toBe('1.3.0');
    expect(lock.packages['node_modules/express'].version).toBe('4.19.2');
    expect(lock.packages['node_modules/evil-pkg'].version).toBe('1.0.0');
    expect(lock.packages['node_modules/dep-a'].version).toBe('1.1.0');
    // The lockfile names the registry's own tarball, never a lockwarden-internal address.
    expect(lock.packages['node_modules/left-pad'].resolved).toBe(
      `${registry.url}left-pad/-/left-pad-1.3.0.tgz`,
    );
    expect(lock.packages['node_modules/left-pad'].integrity).toMatch(/^sha512-/);

    // What update wrote, audit passes.
    const audit = await run(['audit', project, '--json']);
    expect(audit.code).toBe(0);
    expect(JSON.parse(audit.stdout).summary.blocked).toBe(0);

    // A second run has nothing to do, and says what it is still waiting for.
    const again = await run(['update', project]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(
      'Nothing to update: every pin is at the newest version the policy allows.',
    );
    expect(again.stdout).toContain('left-pad 1.3.1: cooling-off');
  });

  it('--dry-run prints the same and writes nothing', async () => {
    writeApp(project);
    const before = readFileSync(path.join(project, 'package-lock.json'), 'utf8');
    const r = await run(['update', project, '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'Updated the following:\n  express 4.18.0 → 4.19.2\n  left-pad 1.1.0 → 1.3.0\n',
    );
    expect(r.stdout).toContain(
      '  left-pad 1.3.1: cooling-off (published 2 days ago; passes on 2026-12-12)\n',
    );
    expect(r.stdout).toMatch(/Dry run: package-lock.json and package.json were not written.\n$/);
    expect(readFileSync(path.join(project, 'package-lock.json'), 'utf8')).toBe(before);
  });

  it('update <name> moves only that package', async () => {
    writeApp(project);
    const r = await run(['update', 'left-pad', project, '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.updated).toEqual([{ name: 'left-pad', from: '1.1.0', to: '1.3.0' }]);
    expect(json.wrote).toBe(true);
    const lock = readJson(path.join(project, 'package-lock.json'));
    expect(lock.packages['node_modules/express'].version).toBe('4.18.0');
  });

  it('--latest moves a range across majors, to the newest allowed major only', async () => {
    writeApp(project);
    const r = await run(['update', 'express', project, '--latest']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'Moved package.json ranges:',
        '  express ^4.18.0 → ^5.1.0 (package.json)',
        'Updated the following:',
        '  express 4.18.0 → 5.1.0',
        'Skipped newer versions:',
        '  express 6.0.0: cooling-off (published 24 hours ago; passes on 2026-12-13)',
        '',
      ].join('\n'),
    );
    expect(readJson(path.join(project, 'package.json')).dependencies.express).toBe('^5.1.0');
    expect(readJson(path.join(project, 'package-lock.json')).packages[''].dependencies.express).toBe(
      '^5.1.0',
    );
  });

  it('--latest --dry-run leaves package.json alone', async () => {
    writeApp(project);
    const before = readFileSync(path.join(project, 'package.json'), 'utf8');
    const r = await run(['update', project, '--latest', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  express ^4.18.0 → ^5.1.0 (package.json)\n');
    expect(r.stdout).toContain('  express 4.18.0 → 5.1.0\n');
    expect(readFileSync(path.join(project, 'package.json'), 'utf8')).toBe(before);
  });

  it('updates a workspace project, including the workspaces’ own ranges', async () => {
    writeJson(path.join(project, 'package.json'), {
      name: 'mono',
      version: '1.0.0',
      workspaces: ['packages/a'],
    });
    writeJson(path.join(project, 'packages/a/package.json'), {
      name: 'a',
      version: '1.0.0',
      dependencies: { 'left-pad': '^1.1.0', express: '^4.18.0' },
    });
    writeJson(path.join(project, 'package-lock.json'), {
      name: 'mono',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'mono', version: '1.0.0', workspaces: ['packages/a'] },
        'node_modules/a': { resolved: 'packages/a', link: true },
        'packages/a': {
          name: 'a',
          version: '1.0.0',
          dependencies: { 'left-pad': '^1.1.0', express: '^4.18.0' },
        },
        'node_modules/left-pad': { version: '1.1.0' },
        'node_modules/express': { version: '4.18.0' },
      },
    });
    const r = await run(['update', project, '--latest']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  express ^4.18.0 → ^5.1.0 (packages/a/package.json)\n');
    expect(r.stdout).toContain('  express 4.18.0 → 5.1.0\n  left-pad 1.1.0 → 1.3.0\n');
    expect(readJson(path.join(project, 'packages/a/package.json')).dependencies.express).toBe('^5.1.0');
    const lock = readJson(path.join(project, 'package-lock.json'));
    expect(lock.packages['node_modules/left-pad'].version).toBe('1.3.0');
    expect(lock.packages['node_modules/a'].link).toBe(true);
  });

  it('moves in place what every dependent agrees on, and lets npm lay out the rest', async () => {
    // dev-tool: one dependent, same dependencies: swapped in place, keeping dev and taking the new
    // version's tarball and integrity. shared-dep: the root wants ~1.0.0 (1.0.5), consumer wants
    // ^1.0.0 (1.1.0): Arborist resolves it, and like npm keeps one copy, 1.0.5, which both accept.
    const dependencies = { 'shared-dep': '~1.0.0', consumer: '^1.0.0' };
    const devDependencies = { 'dev-tool': '^1.0.0' };
    writeJson(path.join(project, 'package.json'), {
      name: 'app',
      version: '1.0.0',
      dependencies,
      devDependencies,
    });
    writeJson(path.join(project, 'package-lock.json'), {
      name: 'app',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'app', version: '1.0.0', dependencies, devDependencies },
        'node_modules/shared-dep': { version: '1.0.0' },
        'node_modules/consumer': { version: '1.0.0', dependencies: { 'shared-dep': '^1.0.0' } },
        'node_modules/dev-tool': {
          version: '1.0.0',
          resolved: `${registry.url}dev-tool/-/dev-tool-1.0.0.tgz`,
          integrity: registry.served('dev-tool')!.versions['1.0.0']!.dist!.integrity,
          dev: true,
        },
      },
    });
    const r = await run(['update', project, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).updated).toEqual([
      { name: 'consumer', from: '1.0.0', to: '1.0.1' },
      { name: 'dev-tool', from: '1.0.0', to: '1.2.0' },
      { name: 'shared-dep', from: '1.0.0', to: '1.0.5' },
    ]);
    expect(JSON.parse(r.stdout).added).toEqual([]);
    const lock = readJson(path.join(project, 'package-lock.json'));
    expect(lock.packages['node_modules/dev-tool']).toEqual({
      version: '1.2.0',
      resolved: `${registry.url}dev-tool/-/dev-tool-1.2.0.tgz`,
      integrity: registry.served('dev-tool')!.versions['1.2.0']!.dist!.integrity,
      dev: true,
    });
    expect(lock.packages['node_modules/shared-dep'].version).toBe('1.0.5');
    expect(lock.packages['node_modules/consumer'].version).toBe('1.0.1');
    expect(lock.packages['node_modules/consumer/node_modules/shared-dep']).toBeUndefined();
    expect((await run(['audit', project, '--json'])).code).toBe(0);
  });

  it('honours overrides', async () => {
    writeApp(project, { overrides: { 'dep-a': '1.0.0' } });
    const r = await run(['update', project, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).added).toEqual([{ name: 'dep-a', version: '1.0.0' }]);
  });

  it('fails with exit 1 and writes nothing when no allowed version satisfies a range', async () => {
    writeApp(project);
    const pkg = readJson(path.join(project, 'package.json'));
    pkg.dependencies['left-pad'] = '1.3.1';
    writeJson(path.join(project, 'package.json'), pkg);
    const before = readFileSync(path.join(project, 'package-lock.json'), 'utf8');
    const r = await run(['update', project]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the policy allows no version of left-pad matching "1.3.1"');
    expect(r.stderr).toContain('left-pad@1.3.1: cooling-off (published 2 days ago');
    expect(readFileSync(path.join(project, 'package-lock.json'), 'utf8')).toBe(before);
  });

  it('exit 3 and nothing written when the registry cannot answer', async () => {
    writeApp(project);
    const before = readFileSync(path.join(project, 'package-lock.json'), 'utf8');
    registry.fault({ kind: 'status', status: 503 });
    try {
      const r = await run(['update', project, '--retries', '0']);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/cannot update: the packument of \S+ is unavailable .*503/);
    } finally {
      registry.clearFaults();
    }
    expect(readFileSync(path.join(project, 'package-lock.json'), 'utf8')).toBe(before);
  });

  it('rejects a name that is not in the lockfile, and a project without a lockfile', async () => {
    writeApp(project);
    const r = await run(['update', 'nope', project]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nope is not in');
    rmSync(path.join(project, 'package-lock.json'));
    const r2 = await run(['update', project]);
    expect(r2.code).toBe(2);
  });

  // pnpm, yarn and bun resolve their own lockfiles (test/e2e/update-package-managers.test.ts runs
  // them); here, what is refused before any of them runs.
  const writePnpmProject = () => {
    writeJson(path.join(project, 'package.json'), { name: 'app', dependencies: { 'left-pad': '^1.1.0' } });
    writeFileSync(
      path.join(project, 'pnpm-lock.yaml'),
      "lockfileVersion: '9.0'\n\nimporters:\n\n  .:\n    dependencies:\n      left-pad:\n        specifier: ^1.1.0\n        version: 1.1.0\n\npackages:\n\n  left-pad@1.1.0:\n    resolution: {integrity: sha512-x}\n\nsnapshots:\n\n  left-pad@1.1.0: {}\n",
    );
    return readFileSync(path.join(project, 'pnpm-lock.yaml'), 'utf8');
  };

  it('names the package manager a pnpm project needs when it is not on PATH, and writes nothing', async () => {
    const before = writePnpmProject();
    const r = await runCliCaptured(
      ['update', project, '--registry', registry.url, '--cache-dir', cacheDir, '--policy', policyFile],
      { env: { PATH: path.dirname(process.execPath), HOME: home }, cwd: work, now: () => NOW },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'pnpm-lock.yaml: `lockwarden update` resolves it with pnpm itself, and pnpm is not on PATH',
    );
    expect(readFileSync(path.join(project, 'pnpm-lock.yaml'), 'utf8')).toBe(before);
  });

  it('names the file and field of a registry setting pnpm reads and lockwarden does not (its global rc), and writes nothing', async () => {
    const before = writePnpmProject();
    // pnpm's own global rc: pnpm would fetch @corp from there, past the policy.
    const ownHome = mkdtempSync(path.join(work, 'home-'));
    mkdirSync(path.join(ownHome, '.config', 'pnpm'), { recursive: true });
    writeFileSync(path.join(ownHome, '.config', 'pnpm', 'rc'), '@corp:registry=http://127.0.0.1:9/\n');
    const r = await runCliCaptured(
      ['update', project, '--registry', registry.url, '--cache-dir', cacheDir, '--policy', policyFile],
      { env: { PATH: process.env.PATH, HOME: ownHome }, cwd: work, now: () => NOW },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${path.join(ownHome, '.config', 'pnpm', 'rc')} sets @corp:registry, which pnpm reads but \`lockwarden update\` does not`,
    );
    expect(readFileSync(path.join(project, 'pnpm-lock.yaml'), 'utf8')).toBe(before);
  });

  it('refuses a yarn 1 project whose .yarnrc gives a scope its own registry, which would bypass the policy', async () => {
    writeJson(path.join(project, 'package.json'), { name: 'app', dependencies: { '@corp/lib': '^1.0.0' } });
    const before =
      '# yarn lockfile v1\n\n\n"@corp/lib@^1.0.0":\n  version "1.0.0"\n  resolved "http://127.0.0.1:9/@corp/lib/-/lib-1.0.0.tgz"\n';
    writeFileSync(path.join(project, 'yarn.lock'), before);
    writeFileSync(path.join(project, '.yarnrc'), '"@corp:registry" "http://127.0.0.1:9/"\n');
    const r = await run(['update', project]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${path.join(project, '.yarnrc')} sets @corp:registry, which Yarn 1 reads but \`lockwarden update\` does not`,
    );
    expect(readFileSync(path.join(project, 'yarn.lock'), 'utf8')).toBe(before);
  });
});
