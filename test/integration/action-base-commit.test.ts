// What the Action reads at the pull request's base commit, against real git repositories: the
// base lockfile with its workspaces, so a monorepo's diff lists exactly what the pull request did.
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/action/main.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { git } from '../helpers/make-action-repo.js';
import { makePackument } from '../helpers/make-packument.js';
import { daysAgo, NOW } from '../helpers/make-policy.js';
import { createRecordingCore } from '../helpers/recording-action-core.js';

// The real lockfiles beside the checkout (present in this project's CI, not on GitHub's runners).
const ORIGAMI = path.resolve(import.meta.dirname, '../../../shared/lockfiles/Financial-Times__origami');
const haveOrigami = existsSync(path.join(ORIGAMI, 'package-lock.json'));

/** Commits the files of `base`, applies `edit` to the working tree and commits that as head. */
function commitPair(dir: string, base: (dir: string) => void, edit: (dir: string) => void) {
  rmSync(dir, { recursive: true, force: true });
  base(dir);
  git(dir, ['init', '--quiet', '--initial-branch=main']);
  git(dir, ['add', '--all']);
  git(dir, ['commit', '--quiet', '--message', 'base']);
  const baseSha = git(dir, ['rev-parse', 'HEAD']);
  edit(dir);
  git(dir, ['add', '--all']);
  git(dir, ['commit', '--quiet', '--message', 'head']);
  return { dir, baseSha, headSha: git(dir, ['rev-parse', 'HEAD']) };
}

const POLICY = 'id: team\ncoolingOffDays: 7\ntyposquatting: false\n';
let work: string;
let registry: FakeRegistry;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-action-base-'));
  registry = await startFakeRegistry({
    packuments: [
      makePackument({
        name: 'accepts',
        versions: [
          { version: '1.3.8', publishedAt: new Date(daysAgo(900)) },
          { version: '1.3.9', publishedAt: new Date(daysAgo(2)) },
        ],
      }),
      makePackument({ name: 'kept', versions: [{ version: '1.0.0', publishedAt: new Date(daysAgo(500)) }] }),
    ],
  });
});

afterAll(async () => {
  await registry?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function prEnv(repo: { dir: string; baseSha: string; headSha: string }, name: string) {
  const eventPath = path.join(work, `${name}-event.json`);
  writeFileSync(
    eventPath,
    JSON.stringify({ pull_request: { number: 3, base: { sha: repo.baseSha }, head: { sha: repo.headSha } } }),
  );
  return {
    HOME: work,
    PATH: process.env.PATH,
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_WORKSPACE: repo.dir,
    GITHUB_REPOSITORY: 'octo/app',
    GITHUB_API_URL: 'http://127.0.0.1:9/',
    RUNNER_TEMP: path.join(work, `${name}-runner-temp`),
    LOCKWARDEN_CACHE_DIR: path.join(work, `${name}-cache`),
    LOCKWARDEN_DOWNLOADS_URL: registry.url,
  };
}

/** The summary's change lines for the one lockfile. */
function changeLines(summary: string): string[] {
  return summary
    .split('\n')
    .filter((l) => /^(?:- )?(Updated|Added|Removed|Same version|Added without)/.test(l.trim()));
}

/** A small workspace monorepo: two workspaces, one registry dependency each. */
function writeMonorepo(dir: string, acceptsVersion: string) {
  const json = (file: string, value: unknown) => {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), `${JSON.stringify(value, null, 2)}\n`);
  };
  const root = { name: 'mono', version: '1.0.0', private: true, workspaces: ['packages/*'] };
  json('package.json', root);
  json('packages/web/package.json', { name: 'web', version: '1.0.0', dependencies: { accepts: '^1.3.8' } });
  json('packages/api/package.json', { name: 'api', version: '1.0.0', dependencies: { kept: '1.0.0' } });
  const tarball = (name: string, version: string) => `${registry.url}${name}/-/${name}-${version}.tgz`;
  json('package-lock.json', {
    name: 'mono',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': root,
      'node_modules/api': { resolved: 'packages/api', link: true },
      'node_modules/web': { resolved: 'packages/web', link: true },
      'node_modules/accepts': {
        version: acceptsVersion,
        resolved: tarball('accepts', acceptsVersion),
        integrity: `sha512-${Buffer.from(acceptsVersion).toString('base64')}`,
      },
      'node_modules/kept': {
        version: '1.0.0',
        resolved: tarball('kept', '1.0.0'),
        integrity: 'sha512-a2VwdA==',
      },
      'packages/api': { name: 'api', version: '1.0.0', dependencies: { kept: '1.0.0' } },
      'packages/web': { name: 'web', version: '1.0.0', dependencies: { accepts: '^1.3.8' } },
    },
  });
  writeFileSync(path.join(dir, 'lockwarden.yml'), POLICY);
}

describe('a workspace monorepo', () => {
  it('a pull request bumping one dependency lists exactly that one change and checks only it', async () => {
    const repo = commitPair(
      path.join(work, 'mono'),
      (dir) => writeMonorepo(dir, '1.3.8'),
      (dir) => writeMonorepo(dir, '1.3.9'),
    );
    const fake = createRecordingCore({ registry: registry.url, scope: 'changed', policy: 'lockwarden.yml' });
    await run({ core: fake.core, env: prEnv(repo, 'mono'), now: () => NOW });
    expect(changeLines(fake.summaries[0]!)).toEqual([
      expect.stringContaining('Updated the following: accepts 1.3.8 → 1.3.9'),
    ]);
    expect(fake.outputs()).toMatchObject({ checked: '1', blocked: '1' });
    expect(fake.of('notice')).toEqual([]);
  });
});

describe.skipIf(!haveOrigami)('a workspace monorepo (the Origami lockfile, 88 workspaces)', () => {
  it('a pull request bumping one dependency lists exactly that one change and checks only it', async () => {
    const repo = commitPair(
      path.join(work, 'origami'),
      (dir) => {
        cpSync(ORIGAMI, dir, { recursive: true });
        writeFileSync(path.join(dir, 'lockwarden.yml'), POLICY);
      },
      (dir) => {
        const file = path.join(dir, 'package-lock.json');
        const lock = JSON.parse(readFileSync(file, 'utf8'));
        const entry = lock.packages['node_modules/accepts'];
        expect(entry.version).toBe('1.3.8');
        entry.version = '1.3.9';
        entry.resolved = entry.resolved.replace('1.3.8', '1.3.9');
        entry.integrity = 'sha512-bmV3IHZlcnNpb24=';
        writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
      },
    );
    const fake = createRecordingCore({
      registry: registry.url,
      scope: 'changed',
      policy: 'lockwarden.yml',
    });
    await run({ core: fake.core, env: prEnv(repo, 'origami'), now: () => NOW });
    const summary = fake.summaries[0]!;
    expect(changeLines(summary)).toEqual([
      expect.stringContaining('Updated the following: accepts 1.3.8 → 1.3.9'),
    ]);
    expect(fake.outputs()).toMatchObject({ checked: '1', blocked: '1' });
    // No workspace is annotated as "not checked": they are the same workspaces as at the base.
    expect(fake.of('notice').filter((n) => String(n[0]).includes('review this dependency by hand'))).toEqual(
      [],
    );
  }, 120_000);
});

describe('files that resolve outside the repository', () => {
  const SECRET = 'root:x:0:0:root:/root:/bin/bash\nSHELL=/bin/secret-runner-value\n';
  it.each([
    { what: 'the lockfile', file: 'package-lock.json', inputs: {} as Record<string, string> },
    { what: 'the package.json beside the lockfile', file: 'package.json', inputs: {} },
    { what: 'a workspace package.json', file: 'packages/web/package.json', inputs: {} },
    { what: 'the policy named by the input', file: 'lockwarden.yml', inputs: { policy: 'lockwarden.yml' } },
    { what: 'the policy found by name', file: 'lockwarden.policy.yml', inputs: {} },
    { what: 'the project .npmrc', file: '.npmrc', inputs: {} },
  ])('$what is refused, naming the path and quoting nothing', async ({ file, inputs }) => {
    const outside = path.join(work, 'runner-secrets');
    writeFileSync(outside, SECRET);
    const repo = commitPair(
      path.join(work, `outside-${file.replace(/\W/g, '-')}`),
      (dir) => writeMonorepo(dir, '1.3.8'),
      (dir) => {
        writeMonorepo(dir, '1.3.9');
        rmSync(path.join(dir, file), { force: true });
        symlinkSync(outside, path.join(dir, file));
      },
    );
    const fake = createRecordingCore({ registry: registry.url, ...inputs });
    // A push: the head's files are what gets read.
    const env = { ...prEnv(repo, `outside-${file.replace(/\W/g, '-')}`), GITHUB_EVENT_NAME: 'push' };
    writeFileSync(env.GITHUB_EVENT_PATH!, JSON.stringify({ before: repo.baseSha, after: repo.headSha }));
    await run({ core: fake.core, env, now: () => NOW });
    const failed = fake.of('setFailed').map((a) => String(a[0]));
    expect(failed).toEqual([
      `lockwarden: ${file}: resolves outside the repository (a symbolic link?); lockwarden reads only files inside the checkout, and did not read it`,
    ]);
    const everything = JSON.stringify([
      fake.of('setFailed'),
      fake.of('error'),
      fake.of('warning'),
      fake.of('info'),
      fake.summaries,
    ]);
    expect(everything).not.toContain('root:x');
    expect(everything).not.toContain('secret-runner-value');
  });

  it('a link that stays inside the repository is followed', async () => {
    const repo = commitPair(
      path.join(work, 'inside-link'),
      (dir) => writeMonorepo(dir, '1.3.8'),
      (dir) => {
        writeMonorepo(dir, '1.3.9');
        writeFileSync(path.join(dir, 'policies.yml'), POLICY);
        rmSync(path.join(dir, 'lockwarden.yml'));
        symlinkSync('policies.yml', path.join(dir, 'lockwarden.yml'));
      },
    );
    const fake = createRecordingCore({ registry: registry.url, policy: 'lockwarden.yml' });
    const env = { ...prEnv(repo, 'inside-link'), GITHUB_EVENT_NAME: 'push' };
    writeFileSync(env.GITHUB_EVENT_PATH!, JSON.stringify({ before: repo.baseSha, after: repo.headSha }));
    await run({ core: fake.core, env, now: () => NOW });
    expect(fake.outputs()).toMatchObject({ blocked: '1' });
  });
});
