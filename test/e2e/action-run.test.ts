// The built Action (dist/index.js) run as the runner runs it, against loopback fakes of the
// registry, the downloads API, the GitHub API and the lockwarden service.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type LockwardenService } from '../../server/create-app.js';
import { readPolicyFile } from '../../src/engine/read-policy-file.js';
import type { Report } from '../../src/engine/report.js';
import { createPopularIndex } from '../../src/policy/popular-index.js';
import { createSources, resolveSourceConfig } from '../../src/sources/create-sources.js';
import { readPopularList } from '../../src/sources/popular-list.js';
import { ensureActionBundle } from '../helpers/ensure-action-bundle.js';
import { type FakeDownloads, startFakeDownloads } from '../helpers/fake-downloads.js';
import { type FakeGitHubRepoApi, startFakeGitHubRepoApi } from '../helpers/fake-github-repo-api.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { closedPortUrl } from '../helpers/fake-upstream.js';
import {
  type ActionRepo,
  git,
  lineOfKey,
  makeActionRepo,
  readLockText,
} from '../helpers/make-action-repo.js';
import type { ProjectSpec } from '../helpers/make-lockfile.js';
import { makePackument } from '../helpers/make-packument.js';
import {
  type BundleRun,
  parseAnnotations,
  REPO_ROOT,
  runActionBundle,
} from '../helpers/run-action-bundle.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'action');
const REPO = 'octo-org/web-app';
const TOKEN = 'ghs_e2e_token';
const ADMIN_TOKEN = 'lockwarden-admin-e2e-token';
// The bundle reads the real clock, so publish times are relative to it: far from the thresholds.
const DAY_MS = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY_MS);

const BASE: ProjectSpec = {
  deps: [
    { name: 'left-pad', version: '1.3.0' },
    { name: 'ms', version: '2.1.2' },
    { name: 'lodash', version: '4.17.21' },
    { name: 'gone', version: '0.1.0' },
  ],
};
const HEAD: ProjectSpec = {
  deps: [
    { name: 'left-pad', version: '1.3.1' },
    { name: 'ms', version: '2.1.2' },
    { name: 'lodash', version: '4.17.21' },
    { name: 'new-dep', version: '2.0.0' },
    { name: 'lodahs', version: '1.0.0' },
  ],
};

let registry: FakeRegistry;
let downloads: FakeDownloads;
let github: FakeGitHubRepoApi;
let work: string;
let repo: ActionRepo;
let headLock: string;

function packuments() {
  return [
    makePackument({
      name: 'left-pad',
      versions: [
        { version: '1.3.0', publishedAt: ago(900) },
        { version: '1.3.1', publishedAt: ago(1) },
      ],
    }),
    makePackument({ name: 'ms', versions: [{ version: '2.1.2', publishedAt: ago(700) }] }),
    makePackument({ name: 'lodash', versions: [{ version: '4.17.21', publishedAt: ago(1500) }] }),
    makePackument({ name: 'gone', versions: [{ version: '0.1.0', publishedAt: ago(400) }] }),
    makePackument({ name: 'new-dep', versions: [{ version: '2.0.0', publishedAt: ago(300) }] }),
    makePackument({ name: 'lodahs', versions: [{ version: '1.0.0', publishedAt: ago(200) }] }),
  ];
}

function event(file: 'pull_request.json' | 'push.json', r: ActionRepo = repo): unknown {
  const text = readFileSync(path.join(FIXTURES, file), 'utf8')
    .replaceAll('__BASE_SHA__', r.baseSha)
    .replaceAll('__BEFORE_SHA__', r.baseSha)
    .replaceAll('__HEAD_SHA__', r.headSha)
    .replaceAll('__API_URL__', github.url);
  return JSON.parse(text);
}

function run(
  inputs: Record<string, string>,
  opts: {
    workspace?: string;
    registryUrl?: string;
    eventFile?: 'pull_request.json' | 'push.json';
    eventRepo?: ActionRepo;
  } = {},
): Promise<BundleRun> {
  return runActionBundle({
    workspace: opts.workspace ?? repo.dir,
    eventName: opts.eventFile === 'push.json' ? 'push' : 'pull_request',
    event: event(opts.eventFile ?? 'pull_request.json', opts.eventRepo),
    repository: REPO,
    apiUrl: github.url,
    githubToken: TOKEN,
    inputs: { registry: opts.registryUrl ?? registry.url, ...inputs },
    env: { LOCKWARDEN_DOWNLOADS_URL: downloads.url },
  });
}

function readReport(r: BundleRun): Report {
  return JSON.parse(readFileSync(r.outputs.report!, 'utf8')) as Report;
}

const annotations = parseAnnotations;

beforeAll(async () => {
  ensureActionBundle();
  registry = await startFakeRegistry({ packuments: packuments() });
  downloads = await startFakeDownloads();
  github = await startFakeGitHubRepoApi({ requireToken: TOKEN });
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-action-e2e-'));
  repo = makeActionRepo({
    dir: path.join(work, 'repo'),
    base: BASE,
    head: HEAD,
    files: {
      '.github/lockwarden.yml': readFileSync(path.join(FIXTURES, 'policy-block.yml'), 'utf8'),
      '.github/lockwarden-strict.yml': readFileSync(
        path.join(FIXTURES, 'policy-unavailable-block.yml'),
        'utf8',
      ),
      '.github/lockwarden-invalid.yml': readFileSync(path.join(FIXTURES, 'policy-invalid.yml'), 'utf8'),
    },
  });
  headLock = readLockText(repo.dir);
});

afterAll(async () => {
  await Promise.all([registry?.close(), downloads?.close(), github?.close()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('block mode on a pull request', () => {
  let result: BundleRun;
  beforeAll(async () => {
    registry.requests.length = 0;
    result = await run({ policy: '.github/lockwarden.yml', sarif: 'lockwarden.sarif' });
  });

  it('fails the step with the blocked packages', () => {
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    const failure = annotations(result, 'error').find((a) => a.file === undefined);
    expect(failure?.message).toMatch(
      /^lockwarden: 2 of 3 checked packages blocked by policy "team" \(cooling-off, typosquatting\): left-pad@1.3.1, lodahs@1.0.0\./,
    );
  });

  it('annotates the exact lockfile lines', () => {
    const errors = annotations(result, 'error').filter((a) => a.file !== undefined);
    expect(errors.map(({ title, file, line }) => ({ title, file, line }))).toEqual(
      [
        {
          title: 'lockwarden: cooling-off',
          file: 'package-lock.json',
          line: String(lineOfKey(headLock, 'node_modules/left-pad')),
        },
        {
          title: 'lockwarden: typosquatting',
          file: 'package-lock.json',
          line: String(lineOfKey(headLock, 'node_modules/lodahs')),
        },
      ].sort((a, b) => Number(a.line) - Number(b.line)),
    );
    const leftPad = errors.find((a) => a.title === 'lockwarden: cooling-off')!;
    expect(leftPad.message).toContain('left-pad@1.3.1');
    expect(leftPad.message).toContain('To pass:');
    expect(result.stdout).toMatch(
      new RegExp(
        `::error title=lockwarden%3A cooling-off,file=package-lock.json,line=${lineOfKey(headLock, 'node_modules/left-pad')}::`,
      ),
    );
  });

  it('checks only what the pull request added or changed', () => {
    const asked = new Set(registry.requests.map((r) => decodeURIComponent(r.path.slice(1))));
    // The updated entry's two tarballs: semver-honesty (default alert) compares 1.3.0 and 1.3.1.
    expect([...asked].sort()).toEqual([
      'left-pad',
      'left-pad/-/left-pad-1.3.0.tgz',
      'left-pad/-/left-pad-1.3.1.tgz',
      'lodahs',
      'new-dep',
    ]);
  });

  it('sets the outputs and writes the JSON report and SARIF', () => {
    expect(result.outputs).toMatchObject({ blocked: '2', alerts: '0', unavailable: '0', checked: '3' });
    const report = readReport(result);
    expect(report.reportVersion).toBe(1);
    expect(report.policy).toEqual({
      id: 'team',
      name: 'Team policy',
      action: 'block',
      onUnavailable: 'alert',
    });
    expect(report.findings.map((f) => `${f.name}@${f.version}:${f.rule}:${f.outcome}`).sort()).toEqual([
      'left-pad@1.3.1:cooling-off:block',
      'lodahs@1.0.0:typosquatting:block',
    ]);
    expect(result.outputs.sarif).toBe(path.join(repo.dir, 'lockwarden.sarif'));
    const sarif = JSON.parse(readFileSync(result.outputs.sarif!, 'utf8'));
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0].results).toHaveLength(2);
  });

  it('writes the job summary with findings and lockfile changes', () => {
    expect(result.summary).toContain('## ❌ lockwarden: blocked');
    expect(result.summary).toContain('| 3 | 2 | 0 | 0 | 0 |');
    expect(result.summary).toMatch(/\| left-pad \| 1\.3\.1 \| cooling-off \(block\) \|/);
    expect(result.summary).toContain('Updated the following: left-pad 1.3.0 → 1.3.1');
    expect(result.summary).toContain('Added the following: lodahs 1.0.0, new-dep 2.0.0');
    expect(result.summary).toContain('**package-lock.json**: 1 updated, 2 added, 1 removed');
    expect(result.summary).toContain('Removed the following: gone 0.1.0\n');
  });
});

describe('alert mode', () => {
  it('annotates warnings and passes', async () => {
    const result = await run({ policy: '.github/lockwarden.yml', mode: 'alert' });
    expect(result.code).toBe(0);
    expect(annotations(result, 'error')).toEqual([]);
    const warnings = annotations(result, 'warning');
    expect(warnings.map((w) => `${w.title}@${w.line}`).sort()).toEqual(
      [
        `lockwarden: cooling-off@${lineOfKey(headLock, 'node_modules/left-pad')}`,
        `lockwarden: typosquatting@${lineOfKey(headLock, 'node_modules/lodahs')}`,
      ].sort(),
    );
    expect(result.outputs).toMatchObject({ blocked: '0', alerts: '2', checked: '3' });
    expect(result.summary).toContain('## ⚠️ lockwarden: passed with alerts');
  });
});

describe('a pull request that loosens the policy', () => {
  it('is still gated by the base branch policy, and says the policy changed', async () => {
    const policy = readFileSync(path.join(FIXTURES, 'policy-block.yml'), 'utf8');
    const loosened = makeActionRepo({
      dir: path.join(work, 'loosened'),
      base: BASE,
      head: HEAD,
      files: { '.github/lockwarden.yml': policy },
      headFiles: { '.github/lockwarden.yml': `${policy}allow: ["*"]\n` },
    });
    const result = await run(
      { policy: '.github/lockwarden.yml' },
      { workspace: loosened.dir, eventRepo: loosened },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    expect(result.outputs).toMatchObject({ blocked: '2', checked: '3' });
    const message =
      "policy file .github/lockwarden.yml changed in this pull request; the base branch's policy was applied; the new policy takes effect after merge";
    expect(annotations(result, 'warning')).toEqual([
      { title: 'lockwarden: policy file', file: '.github/lockwarden.yml', message },
    ]);
    expect(result.summary).toContain(`> ⚠️ **Policy:** ${message}`);
  });
});

describe('scope all on a push', () => {
  it('checks the whole tree', async () => {
    const result = await run({ policy: '.github/lockwarden.yml' }, { eventFile: 'push.json' });
    expect(result.code).toBe(1);
    expect(result.outputs.checked).toBe('5');
    expect(result.summary).not.toContain('Lockfile changes');
  });

  it('checks the whole tree of a pull request and still lists its changes', async () => {
    const result = await run({ policy: '.github/lockwarden.yml', scope: 'all' });
    expect(result.code).toBe(1);
    expect(result.outputs.checked).toBe('5');
    expect(result.summary).toContain('Updated the following: left-pad 1.3.0 → 1.3.1');
  });
});

describe('a source down', () => {
  it('follows onUnavailable: alert with notices naming the source', async () => {
    const down = await closedPortUrl();
    const result = await run({ policy: '.github/lockwarden.yml' }, { registryUrl: down });
    // Typosquatting needs no registry facts, so lodahs still blocks; cooling-off cannot be decided.
    expect(result.code).toBe(1);
    const notices = annotations(result, 'notice');
    expect(notices.length).toBeGreaterThan(0);
    expect(notices.every((n) => n.file === 'package-lock.json')).toBe(true);
    expect(notices[0]!.message).toMatch(/registry/);
    expect(notices[0]!.message).toMatch(/connection refused/);
    expect(result.outputs.unavailable).toBe('3');
  });

  it('fails under onUnavailable: block saying which source failed', async () => {
    const down = await closedPortUrl();
    const result = await run(
      { policy: '.github/lockwarden-strict.yml', mode: 'alert' },
      { registryUrl: down },
    );
    expect(result.code).toBe(1);
    const failure = annotations(result, 'error').find((a) => a.file === undefined)!;
    expect(failure.message).toMatch(
      /^lockwarden: facts unavailable for .* and policy "team-strict" has onUnavailable: block\. Failed sources: registry/,
    );
    expect(result.summary).toContain('## ❌ lockwarden: facts unavailable');
  });
});

describe('failures that are not verdicts', () => {
  it('names the input that is wrong', async () => {
    const result = await run({ scope: 'everything' });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      '::error::lockwarden: input `scope`: expected "changed" or "all", got "everything"',
    );
    expect(result.summary).toContain('## ❌ lockwarden: could not run');
    expect(result.outputs.checked).toBeUndefined();
  });

  it('names the policy key that is wrong', async () => {
    const result = await run({ policy: '.github/lockwarden-invalid.yml' });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /::error::lockwarden: .*lockwarden-invalid\.yml: invalid policy, 1 problem:%0A {2}coolingOffDays: /,
    );
  });

  it('names the lockfile that is missing', async () => {
    const result = await run({ lockfile: 'apps/web/package-lock.json' });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/::error::lockwarden: .*apps\/web\/package-lock\.json/);
  });
});

describe('a shallow checkout', () => {
  it('reads the base lockfile through the contents API', async () => {
    const shallow = path.join(work, 'shallow');
    execFileSync('git', ['clone', '--quiet', '--depth', '1', `file://${repo.dir}`, shallow]);
    expect(() => git(shallow, ['cat-file', '-e', `${repo.baseSha}^{commit}`])).toThrow();
    const baseLock = git(repo.dir, ['show', `${repo.baseSha}:package-lock.json`]);
    github.setFile(REPO, repo.baseSha, 'package-lock.json', baseLock);
    github.setFile(
      REPO,
      repo.baseSha,
      'package.json',
      git(repo.dir, ['show', `${repo.baseSha}:package.json`]),
    );
    github.setFile(
      REPO,
      repo.baseSha,
      '.github/lockwarden.yml',
      // Byte for byte (the git helper trims): any difference is a policy change.
      readFileSync(path.join(FIXTURES, 'policy-block.yml'), 'utf8'),
    );
    github.requests.length = 0;
    const result = await run({ policy: '.github/lockwarden.yml' }, { workspace: shallow });
    expect(result.code).toBe(1);
    expect(result.outputs.checked).toBe('3');
    expect(github.requests.map((r) => r.path)).toContain(`/repos/${REPO}/contents/package-lock.json`);
    // The policy that gates the pull request is the base commit's, read the same way.
    expect(github.requests.map((r) => r.path)).toContain(`/repos/${REPO}/contents/.github/lockwarden.yml`);
    expect(annotations(result, 'warning')).toEqual([]);
    expect(github.requests.every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });
});

describe('the sticky comment', () => {
  it('creates one comment and updates it on the next push', async () => {
    const first = await run({ policy: '.github/lockwarden.yml', comment: 'true' });
    expect(first.code).toBe(1);
    expect(github.comments(REPO, 42)).toHaveLength(1);
    const second = await run({ policy: '.github/lockwarden.yml', comment: 'true', mode: 'alert' });
    expect(second.code).toBe(0);
    const comments = github.comments(REPO, 42);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toMatch(
      /^<!-- lockwarden:sticky-comment -->\n## ⚠️ lockwarden: passed with alerts/,
    );
    expect(comments[0]!.user.login).toBe('github-actions[bot]');
    // Two Action runs, each comparing the updated entries' declarations against the
    // standard library's types: more than the default 30 s on a loaded machine.
  });

  it("never edits someone else's comment that starts with the marker", async () => {
    const planted = github.addComment(
      REPO,
      43,
      'mallory',
      '<!-- lockwarden:sticky-comment -->\n## ✅ lockwarden: passed',
    );
    const prEvent = { ...(event('pull_request.json') as Record<string, unknown>) };
    const pr = { ...(prEvent.pull_request as Record<string, unknown>), number: 43 };
    const result = await runActionBundle({
      workspace: repo.dir,
      eventName: 'pull_request',
      event: { ...prEvent, number: 43, pull_request: pr },
      repository: REPO,
      apiUrl: github.url,
      githubToken: TOKEN,
      inputs: { registry: registry.url, policy: '.github/lockwarden.yml', comment: 'true' },
      env: { LOCKWARDEN_DOWNLOADS_URL: downloads.url },
    });
    expect(result.code).toBe(1);
    const comments = github.comments(REPO, 43);
    expect(comments).toHaveLength(2);
    expect(comments[0]!.id).toBe(planted.id);
    expect(comments[0]!.body).toBe('<!-- lockwarden:sticky-comment -->\n## ✅ lockwarden: passed');
    expect(comments[1]!.user.login).toBe('github-actions[bot]');
    expect(comments[1]!.body).toMatch(/^<!-- lockwarden:sticky-comment -->\n## ❌ lockwarden: blocked/);
  });
});

describe('service mode', () => {
  let service: LockwardenService;
  let server: Server;
  let serviceUrl: string;
  let closeSources: () => Promise<void>;

  beforeAll(async () => {
    const config = await resolveSourceConfig({
      flags: { registry: registry.url, downloadsUrl: downloads.url, noCache: true },
      env: {},
      cwd: work,
    });
    const sources = createSources(config);
    closeSources = sources.close;
    service = await createApp({
      dataDir: mkdtempSync(path.join(work, 'service-')),
      sources,
      popular: createPopularIndex(readPopularList()),
      adminToken: ADMIN_TOKEN,
      filePolicies: [
        {
          policy: await readPolicyFile(path.join(FIXTURES, 'policy-block.yml')),
          file: 'policy-block.yml',
        },
      ],
    });
    server = createServer(service.app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    serviceUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await service?.close();
    await closeSources?.();
  });

  it('gives the same verdicts as inline mode and is recorded in the audit log', async () => {
    const inline = await run({ policy: '.github/lockwarden.yml' });
    const viaService = await run({
      'service-url': serviceUrl,
      'policy-id': 'team',
      'service-token': ADMIN_TOKEN,
    });
    expect(viaService.stderr).toBe('');
    expect(viaService.code).toBe(1);
    expect(viaService.outputs).toMatchObject({ blocked: '2', alerts: '0', unavailable: '0', checked: '3' });
    const strip = (r: Report) => ({ ...r, generatedAt: '' });
    expect(strip(readReport(viaService))).toEqual(strip(readReport(inline)));
    expect(annotations(viaService, 'error').filter((a) => a.file)).toEqual(
      annotations(inline, 'error').filter((a) => a.file),
    );
    expect(viaService.summary).toContain(`verdicts service ${serviceUrl} (policy team)`);
    const logged = await service.audit.query({ policy: 'team' });
    expect(JSON.stringify(logged)).toContain('lodahs');
    // Two Action runs, each comparing the updated entries' declarations against the
    // standard library's types: more than the default 30 s on a loaded machine.
  });

  it('judges where lockfile entries come from like inline mode, with the base commit .npmrc', async () => {
    // The pull request points lodash at another host, drops ms's integrity, and names that host
    // as the registry in .npmrc: the base commit's .npmrc decides which registry is trusted.
    const foreign = 'http://127.0.0.1:9/';
    const head: ProjectSpec = {
      deps: HEAD.deps.map((d) =>
        d.name === 'lodash'
          ? { ...d, resolved: `${foreign}lodash/-/lodash-4.17.21.tgz`, integrity: 'sha512-bG9kYXNo' }
          : d.name === 'ms'
            ? { ...d, resolved: `${registry.url}ms/-/ms-2.1.2.tgz` }
            : d,
      ),
    };
    const sourced = makeActionRepo({
      dir: path.join(work, 'sourced'),
      base: BASE,
      head,
      files: {
        '.github/lockwarden.yml': readFileSync(path.join(FIXTURES, 'policy-block.yml'), 'utf8'),
        '.npmrc': `registry=${registry.url}\n`,
      },
      headFiles: { '.npmrc': `registry=${foreign}\n` },
    });
    const where = { workspace: sourced.dir, eventRepo: sourced, registryUrl: '' };
    const inline = await run({ policy: '.github/lockwarden.yml' }, where);
    const viaService = await run(
      { 'service-url': serviceUrl, 'policy-id': 'team', 'service-token': ADMIN_TOKEN },
      where,
    );
    expect(viaService.stderr).toBe('');
    const sources = (r: Report) =>
      r.findings.filter((f) => f.rule === 'lockfile-source').map((f) => [f.name, f.observed]);
    expect(sources(readReport(viaService))).toEqual([
      ['lodash', 'http://127.0.0.1:9'],
      ['ms', null],
    ]);
    const strip = (r: Report) => ({ ...r, generatedAt: '' });
    expect(strip(readReport(viaService))).toEqual(strip(readReport(inline)));
    expect(viaService.code).toBe(1);
    expect([viaService.outputs.blocked, viaService.outputs.checked]).toEqual([
      inline.outputs.blocked,
      inline.outputs.checked,
    ]);
    // Two Action runs, each comparing the updated entries' declarations against the
    // standard library's types: more than the default 30 s on a loaded machine.
  });

  it('says which input is wrong when the service refuses', async () => {
    const result = await run({ 'service-url': serviceUrl, 'policy-id': 'team', 'service-token': 'wrong' });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /::error::lockwarden: lockwarden service .*: HTTP 401.*check input `service-token`/,
    );
    const missing = await run({
      'service-url': serviceUrl,
      'policy-id': 'nope',
      'service-token': ADMIN_TOKEN,
    });
    expect(missing.stdout).toMatch(/HTTP 404.*check inputs `policy-id` \("nope"\)/);
  });

  it('applies mode: alert to the service verdicts', async () => {
    const result = await run({
      'service-url': serviceUrl,
      'policy-id': 'team',
      'service-token': ADMIN_TOKEN,
      mode: 'alert',
    });
    expect(result.code).toBe(0);
    expect(result.outputs).toMatchObject({ blocked: '0', alerts: '2' });
    // The dry run is the service's engine's verdict, logged as alerts, not blocks.
    const outcomes = (await service.audit.query({ policy: 'team' })).entries.map((e) => e.outcome);
    expect(outcomes.slice(0, 2)).toEqual(['alert', 'alert']);
  });

  it('refuses to treat verdicts of a service that ignored the dry run as a dry run', async () => {
    // A service that predates dry runs: it ignores `mode` and answers under its own action.
    const old = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        const { packages } = JSON.parse(body) as { packages: { name: string; version: string }[] };
        const verdicts = packages.map((p) => ({ ...p, decision: 'allow', findings: [], notices: [] }));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            policy: { id: 'team', name: 'team', action: 'block', onUnavailable: 'alert' },
            verdicts,
          }),
        );
      });
    });
    await new Promise<void>((resolve) => old.listen(0, '127.0.0.1', resolve));
    try {
      const result = await run({
        'service-url': `http://127.0.0.1:${(old.address() as AddressInfo).port}/`,
        'policy-id': 'team',
        'service-token': ADMIN_TOKEN,
        mode: 'alert',
      });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/evaluated policy "team" with action block although a dry run/);
    } finally {
      await new Promise<void>((resolve) => old.close(() => resolve()));
    }
  });
});
