// The adapter with a recording fake of `@actions/core`: exact annotations, outputs and summary,
// and the three failure kinds kept apart. Facts come from loopback fakes; the clock is fixed.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/action/main.js';
import { escapeMarkdown } from '../../src/action/render-summary.js';
import { type FakeGitHubRepoApi, startFakeGitHubRepoApi } from '../helpers/fake-github-repo-api.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { closedPortUrl } from '../helpers/fake-upstream.js';
import { type ActionRepo, lineOfKey, makeActionRepo, readLockText } from '../helpers/make-action-repo.js';
import { makeLockfile } from '../helpers/make-lockfile.js';
import { makePackument } from '../helpers/make-packument.js';
import { daysAgo, NOW } from '../helpers/make-policy.js';
import { createRecordingCore } from '../helpers/recording-action-core.js';

const createFakeCore = createRecordingCore;

let registry: FakeRegistry;
let github: FakeGitHubRepoApi;
let work: string;
let repo: ActionRepo;
let eventPath: string;
const at = (days: number) => new Date(daysAgo(days));

beforeAll(async () => {
  registry = await startFakeRegistry({
    packuments: [
      makePackument({
        name: 'left-pad',
        versions: [
          { version: '1.3.0', publishedAt: at(900) },
          { version: '1.3.1', publishedAt: at(2) },
        ],
      }),
      makePackument({ name: 'ms', versions: [{ version: '2.1.3', publishedAt: at(3) }] }),
      makePackument({ name: 'kept', versions: [{ version: '1.0.0', publishedAt: at(500) }] }),
    ],
  });
  github = await startFakeGitHubRepoApi({ requireToken: 'right-token' });
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-action-main-'));
  repo = makeActionRepo({
    dir: path.join(work, 'repo'),
    base: {
      deps: [
        { name: 'left-pad', version: '1.3.0' },
        { name: 'kept', version: '1.0.0' },
      ],
    },
    head: {
      deps: [
        { name: 'left-pad', version: '1.3.1' },
        { name: 'kept', version: '1.0.0' },
        { name: 'ms', version: '2.1.3' },
      ],
    },
    files: { 'lockwarden.yml': 'id: team\ncoolingOffDays: 7\ntyposquatting: false\n' },
  });
  eventPath = path.join(work, 'event.json');
  writeFileSync(
    eventPath,
    JSON.stringify({
      number: 5,
      pull_request: { number: 5, base: { sha: repo.baseSha }, head: { sha: repo.headSha } },
    }),
  );
});

afterAll(async () => {
  await Promise.all([registry?.close(), github?.close()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

function env(): NodeJS.ProcessEnv {
  return {
    HOME: work,
    PATH: process.env.PATH,
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_WORKSPACE: repo.dir,
    GITHUB_REPOSITORY: 'octo/app',
    GITHUB_API_URL: github.url,
    RUNNER_TEMP: path.join(work, 'runner-temp'),
    LOCKWARDEN_CACHE_DIR: path.join(work, 'cache'),
    LOCKWARDEN_DOWNLOADS_URL: registry.url,
  };
}

describe('run', () => {
  it('annotates, sets outputs, fails and writes the summary once', async () => {
    const fake = createFakeCore({
      policy: 'lockwarden.yml',
      registry: registry.url,
      'github-token': 'right-token',
    });
    await run({ core: fake.core, env: env(), now: () => NOW });
    const lock = readLockText(repo.dir);
    const leftPadLine = lineOfKey(lock, 'node_modules/left-pad');
    const msLine = lineOfKey(lock, 'node_modules/ms');
    expect(fake.of('error')).toEqual([
      [
        'left-pad@1.3.1 was published 2 days ago (cooling-off 7 days); it passes on 2026-11-27\nTo pass: wait until 2026-11-27, pin an older version, or add "left-pad@1.3.1" to allow with a reason',
        { title: 'lockwarden: cooling-off', file: 'package-lock.json', startLine: leftPadLine },
      ],
      [
        expect.stringContaining('ms@2.1.3 was published 3 days ago'),
        { title: 'lockwarden: cooling-off', file: 'package-lock.json', startLine: msLine },
      ],
    ]);
    expect(fake.outputs()).toEqual({
      blocked: '2',
      alerts: '0',
      unavailable: '0',
      checked: '2',
      report: path.join(work, 'runner-temp', 'lockwarden', 'report.json'),
    });
    expect(fake.of('setFailed')).toEqual([
      [
        'lockwarden: 2 of 2 checked packages blocked by policy "team" (cooling-off): left-pad@1.3.1, ms@2.1.3. See the annotations and the job summary for how to pass.',
      ],
    ]);
    expect(fake.of('setSecret')).toEqual([['right-token']]);
    expect(fake.summaries).toHaveLength(1);
    expect(fake.summaries[0]).toContain('Updated the following: left-pad 1.3.0 → 1.3.1');
    expect(fake.summaries[0]).toContain('Added the following: ms 2.1.3');
    const report = JSON.parse(readFileSync(fake.outputs().report!, 'utf8'));
    expect(report.generatedAt).toBe(NOW.toISOString());
  });

  it('fails on an input error naming the input, with a summary and no outputs', async () => {
    const fake = createFakeCore({ scope: 'some', registry: registry.url });
    await run({ core: fake.core, env: env(), now: () => NOW });
    expect(fake.of('setFailed')).toEqual([
      ['lockwarden: input `scope`: expected "changed" or "all", got "some"'],
    ]);
    expect(fake.of('setOutput')).toEqual([]);
    expect(fake.summaries[0]).toMatch(/^## ❌ lockwarden: could not run/);
  });

  it('reports a crash as a crash, never as a pass', async () => {
    const fake = createFakeCore({ policy: 'lockwarden.yml', registry: registry.url });
    await run({
      core: fake.core,
      env: env(),
      now: () => NOW,
      createEngine: async () => {
        throw new TypeError("Cannot read properties of undefined (reading 'packuments')");
      },
    });
    expect(fake.of('setFailed')).toEqual([
      [
        "lockwarden crashed (this is a bug, not a verdict; please report it): Cannot read properties of undefined (reading 'packuments')",
      ],
    ]);
    expect(fake.summaries[0]).toContain('## ❌ lockwarden: crashed');
    expect(fake.summaries[0]).toContain('the check fails rather than pass unchecked');
    expect(fake.of('debug').some(([m]) => String(m).includes('TypeError'))).toBe(true);
  });

  it('keeps the verdict when the PR comment cannot be posted, and says which input to fix', async () => {
    const fake = createFakeCore({
      policy: 'lockwarden.yml',
      registry: registry.url,
      comment: 'true',
      'github-token': 'wrong-token',
    });
    await run({ core: fake.core, env: env(), now: () => NOW });
    expect(fake.of('setFailed')[0]![0]).toMatch(/2 of 2 checked packages blocked/);
    expect(fake.of('warning')).toEqual([
      [
        expect.stringMatching(
          /^the pull request comment was not posted: GitHub API \(comment on pull request #5\): HTTP 401; input `github-token` is missing or invalid$/,
        ),
      ],
    ]);
  });

  it('warns when the summary cannot be written and still decides', async () => {
    const fake = createFakeCore(
      { policy: 'lockwarden.yml', registry: registry.url, mode: 'alert' },
      { summaryFails: true },
    );
    await run({ core: fake.core, env: env(), now: () => NOW });
    expect(fake.of('setFailed')).toEqual([]);
    expect(fake.of('warning').map(([m]) => m)).toEqual([
      expect.stringContaining('left-pad@1.3.1'),
      expect.stringContaining('ms@2.1.3'),
      'the job summary could not be written: GITHUB_STEP_SUMMARY is not set',
    ]);
  });

  it('annotates the nested `dependencies` entry of a lockfileVersion 1 file', async () => {
    const workspace = path.join(work, 'v1');
    cpSync(path.join(import.meta.dirname, '..', 'fixtures', 'lockfiles', 'v1-nested'), workspace, {
      recursive: true,
    });
    writeFileSync(
      path.join(workspace, 'policy.json'),
      JSON.stringify({
        id: 'v1',
        coolingOffDays: 0,
        typosquatting: false,
        block: [{ package: 'b@2', reason: 'CVE-0000-0001' }],
        // The fixture was written against a registry on this port.
        registries: ['http://127.0.0.1:4873/'],
      }),
    );
    const pushEvent = path.join(work, 'push.json');
    writeFileSync(pushEvent, '{}');
    const fake = createFakeCore({ policy: 'policy.json', registry: await closedPortUrl() });
    await run({
      core: fake.core,
      env: { ...env(), GITHUB_EVENT_NAME: 'push', GITHUB_EVENT_PATH: pushEvent, GITHUB_WORKSPACE: workspace },
      now: () => NOW,
    });
    const lines = readFileSync(path.join(workspace, 'package-lock.json'), 'utf8').split('\n');
    const nestedB =
      lines.findIndex((l, i) => i > lines.findIndex((x) => x.includes('"a": {')) && l.includes('"b": {')) + 1;
    expect(fake.of('error')).toEqual([
      [
        expect.stringContaining('b@2.0.0'),
        { title: 'lockwarden: blocklist', file: 'package-lock.json', startLine: nestedB },
      ],
    ]);
    expect(fake.outputs()).toMatchObject({ blocked: '1' });
  });

  it('finds lockwarden.policy.yml in the working directory when no policy is named', async () => {
    const workspace = path.join(work, 'discovered');
    cpSync(path.join(import.meta.dirname, '..', 'fixtures', 'lockfiles', 'v1-nested'), workspace, {
      recursive: true,
    });
    writeFileSync(
      path.join(workspace, 'lockwarden.policy.yml'),
      'id: found\ncoolingOffDays: 0\ntyposquatting: false\nblock: ["a"]\nregistries: ["http://127.0.0.1:4873/"]\n',
    );
    const pushEvent = path.join(work, 'push.json');
    writeFileSync(pushEvent, '{}');
    const fake = createFakeCore({ registry: await closedPortUrl() });
    await run({
      core: fake.core,
      env: { ...env(), GITHUB_EVENT_NAME: 'push', GITHUB_EVENT_PATH: pushEvent, GITHUB_WORKSPACE: workspace },
      now: () => NOW,
    });
    expect(fake.of('info').map(([m]) => m)).toContain('policy: lockwarden.policy.yml');
    expect(fake.of('setFailed')[0]![0]).toMatch(/blocked by policy "found" \(blocklist\): a@1\.0\.0/);
  });

  it('gates a pull request with the base policy when the pull request loosens it', async () => {
    const strict = 'id: team\ncoolingOffDays: 7\ntyposquatting: false\n';
    const loosened = makeActionRepo({
      dir: path.join(work, 'loosened'),
      base: { deps: [{ name: 'left-pad', version: '1.3.0' }] },
      head: { deps: [{ name: 'left-pad', version: '1.3.1' }] },
      files: { 'lockwarden.yml': strict },
      headFiles: { 'lockwarden.yml': `${strict}action: alert\nallow: ["*"]\n` },
    });
    const prEvent = path.join(work, 'pr-loosened.json');
    writeFileSync(
      prEvent,
      JSON.stringify({
        pull_request: { number: 11, base: { sha: loosened.baseSha }, head: { sha: loosened.headSha } },
      }),
    );
    const fake = createFakeCore({ policy: 'lockwarden.yml', registry: registry.url });
    await run({
      core: fake.core,
      env: { ...env(), GITHUB_EVENT_PATH: prEvent, GITHUB_WORKSPACE: loosened.dir },
      now: () => NOW,
    });
    const message =
      "policy file lockwarden.yml changed in this pull request; the base branch's policy was applied; the new policy takes effect after merge";
    expect(fake.of('warning')).toEqual([
      [message, { title: 'lockwarden: policy file', file: 'lockwarden.yml' }],
    ]);
    expect(fake.of('setFailed')[0]![0]).toMatch(
      /1 of 1 checked packages blocked by policy "team" \(cooling-off\)/,
    );
    expect(fake.summaries[0]).toContain(`> ⚠️ **Policy:** ${message}`);
  });

  it('checks an entry again when its integrity changes, and lists a new git dependency', async () => {
    const GIT = 'git+ssh://git@127.0.0.1/o/g.git#0123456789abcdef0123456789abcdef01234567';
    const head = makeLockfile({ deps: [{ name: 'kept', version: '1.0.0', integrity: 'sha512-b3RoZXI=' }] });
    const rootDeps = { kept: '1.0.0', g: 'git+ssh://git@127.0.0.1/o/g.git' };
    head.packageJson.dependencies = rootDeps;
    const packages = head.lockfile.packages as Record<string, Record<string, unknown>>;
    packages['']!.dependencies = rootDeps;
    packages['node_modules/g'] = { version: '1.0.0', resolved: GIT };
    const resourced = makeActionRepo({
      dir: path.join(work, 'resourced'),
      base: { deps: [{ name: 'kept', version: '1.0.0', integrity: 'sha512-a2VwdA==' }] },
      head: { deps: [] },
      files: { 'lockwarden.yml': 'id: team\ncoolingOffDays: 7\ntyposquatting: false\n' },
      headFiles: {
        'package.json': `${JSON.stringify(head.packageJson, null, 2)}\n`,
        'package-lock.json': `${JSON.stringify(head.lockfile, null, 2)}\n`,
      },
    });
    const prEvent = path.join(work, 'pr-resourced.json');
    writeFileSync(
      prEvent,
      JSON.stringify({
        pull_request: { number: 12, base: { sha: resourced.baseSha }, head: { sha: resourced.headSha } },
      }),
    );
    const fake = createFakeCore({ policy: 'lockwarden.yml', registry: registry.url });
    await run({
      core: fake.core,
      env: { ...env(), GITHUB_EVENT_PATH: prEvent, GITHUB_WORKSPACE: resourced.dir },
      now: () => NOW,
    });
    expect(fake.of('setFailed')).toEqual([]);
    expect(fake.outputs()).toMatchObject({ checked: '1', blocked: '0' });
    expect(fake.of('notice')).toEqual([
      [
        `g comes from ${GIT} (git dependency: fetched from a git host, not from a registry); lockwarden checks registry packages only, so review this dependency by hand`,
        {
          title: 'lockwarden: not checked',
          file: 'package-lock.json',
          startLine: lineOfKey(readLockText(resourced.dir), 'node_modules/g'),
        },
      ],
    ]);
    const summary = fake.summaries[0]!;
    expect(summary).toContain('| 1 | 0 | 0 | 0 | 1 |');
    expect(summary).toContain('Same version, different source (checked again): kept 1.0.0 (integrity)');
    expect(summary).toContain(
      `Added without a registry check (not a registry package; review by hand): g from ${escapeMarkdown(GIT)}`,
    );
  });

  it('passes a pull request that leaves the lockfile alone without checking anything', async () => {
    const project = { deps: [{ name: 'left-pad', version: '1.3.1' }] };
    const same = makeActionRepo({
      dir: path.join(work, 'same'),
      base: project,
      head: project,
      headFiles: { 'README.md': 'docs\n' },
    });
    const prEvent = path.join(work, 'pr-same.json');
    writeFileSync(
      prEvent,
      JSON.stringify({
        pull_request: { number: 9, base: { sha: same.baseSha }, head: { sha: same.headSha } },
      }),
    );
    const fake = createFakeCore({ registry: registry.url });
    await run({
      core: fake.core,
      env: { ...env(), GITHUB_EVENT_PATH: prEvent, GITHUB_WORKSPACE: same.dir },
      now: () => NOW,
    });
    expect(fake.of('setFailed')).toEqual([]);
    expect(fake.outputs()).toMatchObject({ checked: '0', blocked: '0' });
    expect(fake.summaries[0]).toContain('No lockfile entries were added or changed against the base commit.');
  });
});
