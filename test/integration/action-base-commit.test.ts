// What the Action reads at the pull request's base commit, against real git repositories: the
// base lockfile with its workspaces, so a monorepo's diff lists exactly what the pull request did.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionCore } from '../../src/action/main.js';
import { run } from '../../src/action/main.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { git } from '../helpers/make-action-repo.js';
import { makePackument } from '../helpers/make-packument.js';
import { daysAgo, NOW } from '../helpers/make-policy.js';

// The real lockfiles beside the checkout (present in this project's CI, not on GitHub's runners).
const ORIGAMI = path.resolve(import.meta.dirname, '../../../shared/lockfiles/Financial-Times__origami');
const haveOrigami = existsSync(path.join(ORIGAMI, 'package-lock.json'));

function createRecordingCore(inputs: Record<string, string>) {
  const calls: { fn: string; args: unknown[] }[] = [];
  const summaries: string[] = [];
  const record =
    (fn: string) =>
    (...args: unknown[]) => {
      calls.push({ fn, args });
    };
  const core: ActionCore = {
    getInput: (name) => inputs[name] ?? '',
    setOutput: record('setOutput'),
    setFailed: record('setFailed'),
    setSecret: record('setSecret'),
    error: record('error'),
    warning: record('warning'),
    notice: record('notice'),
    info: record('info'),
    debug: record('debug'),
    writeSummary: async (markdown) => {
      summaries.push(markdown);
    },
  };
  const of = (fn: string) => calls.filter((c) => c.fn === fn).map((c) => c.args);
  return { core, summaries, of, outputs: () => Object.fromEntries(of('setOutput') as [string, string][]) };
}

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
    ],
  });
});

afterAll(async () => {
  await registry?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function prEnv(repo: { dir: string; baseSha: string; headSha: string }, name: string): NodeJS.ProcessEnv {
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
