// The built Action on a pull request that bumps a package whose minor release removes a .d.ts
// export: the job summary names the breaking change (semverHonesty: alert) or blocks (block).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { type ActionRepo, makeActionRepo } from '../helpers/make-action-repo.js';
import { REPO_ROOT, runActionBundle } from '../helpers/run-action-bundle.js';
import { SEMVER_PACKUMENTS } from '../helpers/semver-packages.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'action');
const TOKEN = 'ghs_e2e_token';

let registry: FakeRegistry;
let downloads: FakeDownloads;
let github: FakeGitHubRepoApi;
let work: string;
let repo: ActionRepo;

function run(inputs: Record<string, string>) {
  const event = JSON.parse(
    readFileSync(path.join(FIXTURES, 'pull_request.json'), 'utf8')
      .replaceAll('__BASE_SHA__', repo.baseSha)
      .replaceAll('__BEFORE_SHA__', repo.baseSha)
      .replaceAll('__HEAD_SHA__', repo.headSha)
      .replaceAll('__API_URL__', github.url),
  );
  return runActionBundle({
    workspace: repo.dir,
    eventName: 'pull_request',
    event,
    repository: 'octo-org/web-app',
    apiUrl: github.url,
    githubToken: TOKEN,
    inputs: { registry: registry.url, ...inputs },
    env: { LOCKWARDEN_DOWNLOADS_URL: downloads.url },
  });
}

beforeAll(async () => {
  ensureActionBundle();
  registry = await startFakeRegistry({ packuments: SEMVER_PACKUMENTS(new Date()) });
  downloads = await startFakeDownloads();
  github = await startFakeGitHubRepoApi({ requireToken: TOKEN });
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-action-semver-'));
  repo = makeActionRepo({
    dir: path.join(work, 'repo'),
    base: {
      deps: [
        { name: 'lib-x', version: '2.3.0' },
        { name: 'additive-pkg', version: '1.0.0' },
        { name: 'async-pkg', version: '1.0.0' },
      ],
    },
    head: {
      deps: [
        { name: 'lib-x', version: '2.4.0' },
        { name: 'additive-pkg', version: '1.1.0' },
        { name: 'async-pkg', version: '1.1.0' },
      ],
    },
    files: {
      '.github/semver-alert.yml': 'id: team\ncoolingOffDays: 7\ntyposquatting: false\n',
      '.github/semver-block.yml': 'id: team\ncoolingOffDays: 7\ntyposquatting: false\nsemverHonesty: block\n',
    },
  });
});

afterAll(async () => {
  await Promise.all([registry?.close(), downloads?.close(), github?.close()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

// Needs the standard library's types in the bundle: without them Promise and Set are both `any`.
const ASYNC_MESSAGE =
  'async-pkg 1.0.0 → 1.1.0 narrows the type of load(source) in "async-pkg" (types: index.d.ts): Promise<string> → Set<string>: a breaking change in a minor release';
const MESSAGE =
  'lib-x 2.3.0 → 2.4.0 removes export parseOptions from "lib-x/utils" (types: dist/utils.d.ts): a breaking change in a minor release';

describe('the Action on a PR that bumps a dishonest minor', () => {
  it('shows the semver finding in the job summary and passes under alert', async () => {
    const r = await run({ policy: '.github/semver-alert.yml' });
    expect(r.code).toBe(0);
    expect(r.summary).toMatch(/\| lib-x \| 2\.4\.0 \| semver-honesty \(alert\) \|/);
    expect(r.summary).toContain(MESSAGE);
    // The summary is Markdown: its table cells escape < and >.
    expect(r.summary).toContain(ASYNC_MESSAGE.replaceAll('<', '&lt;').replaceAll('>', '&gt;'));
    const report = JSON.parse(readFileSync(r.outputs.report!, 'utf8')) as Report;
    expect(report.findings.map((f) => `${f.name}@${f.version}:${f.rule}:${f.effect}`)).toEqual([
      'async-pkg@1.1.0:semver-honesty:alert',
      'lib-x@2.4.0:semver-honesty:alert',
    ]);
    expect(report.findings[0]!.locations?.[0]?.file).toBe('package-lock.json');
  });

  it('fails the step under semverHonesty: block', async () => {
    const r = await run({ policy: '.github/semver-block.yml' });
    expect(r.code).toBe(1);
    expect(r.summary).toContain(MESSAGE);
  });
});

describe('service mode on the same PR', () => {
  const ADMIN_TOKEN = 'admin-e2e-semver';
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
    const policyFile = path.join(work, 'service-policy.yml');
    writeFileSync(policyFile, readFileSync(path.join(repo.dir, '.github/semver-alert.yml')));
    service = await createApp({
      dataDir: mkdtempSync(path.join(work, 'service-')),
      sources,
      popular: createPopularIndex(readPopularList()),
      adminToken: ADMIN_TOKEN,
      filePolicies: [{ policy: await readPolicyFile(policyFile), file: 'service-policy.yml' }],
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

  it('gives the same semver findings as inline mode, and the service logs them', async () => {
    const inline = await run({ policy: '.github/semver-alert.yml' });
    const viaService = await run({
      'service-url': serviceUrl,
      'policy-id': 'team',
      'service-token': ADMIN_TOKEN,
    });
    expect(viaService.stderr).toBe('');
    expect(viaService.code).toBe(0);
    expect(viaService.summary).toContain(MESSAGE);
    const read = (r: typeof inline) => {
      const report = JSON.parse(readFileSync(r.outputs.report!, 'utf8')) as Report;
      return { ...report, generatedAt: '' };
    };
    expect(read(viaService).findings).toEqual(read(inline).findings);
    expect(read(viaService).findings.map((f) => f.rule)).toEqual(['semver-honesty', 'semver-honesty']);
    const logged = await service.audit.query({ policy: 'team' });
    expect(logged.entries.map((e) => `${e.package}@${e.version}:${e.rule}:${e.outcome}`).sort()).toEqual([
      'async-pkg@1.1.0:semver-honesty:alert',
      'lib-x@2.4.0:semver-honesty:alert',
    ]);
  });
});
