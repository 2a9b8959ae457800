// The built Action gating pull requests of pnpm, yarn (classic and Berry) and bun projects: the
// lockfiles are written by the real clients against a loopback registry, committed as a base and
// a head commit, and the Action (no `lockfile` input: it finds them) checks what the PR changed.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { LOCKFILE_OF, type LockClient, lockWithClient, tempParent } from '../helpers/lock-with-clients.js';
import { git } from '../helpers/make-action-repo.js';
import { makePackument } from '../helpers/make-packument.js';
import {
  type BundleRun,
  parseAnnotations,
  REPO_ROOT,
  runActionBundle,
} from '../helpers/run-action-bundle.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'action');
const TOKEN = 'ghs_e2e_token';
const ADMIN_TOKEN = 'lockwarden-admin-e2e-token';
// The bundle reads the real clock, so publish times are relative to it: far from the thresholds.
const ago = (days: number) => new Date(Date.now() - days * 86_400_000);

const manifest = (dependencies: Record<string, string>) =>
  JSON.stringify({ name: 'web-app', version: '1.0.0', private: true, dependencies }, null, 2);
const BASE = manifest({ 'left-pad': '1.3.0', ms: '2.1.2' });
const HEAD = manifest({ 'left-pad': '1.3.1', ms: '2.1.2', lodahs: '1.0.0', 'new-dep': '2.0.0' });
/** A head that adds a dependency whose tarball bundles a version published a day ago. */
const BUNDLER_HEAD = manifest({ 'left-pad': '1.3.0', ms: '2.1.2', 'acme-bundler': '1.0.0' });

/** Where each client's lockfile begins the entry of a name@version. */
const ENTRY_LINE: Record<Exclude<LockClient, 'npm'>, (name: string, version: string) => RegExp> = {
  pnpm: (n, v) => new RegExp(`^  '?${n}@${v.replaceAll('.', '\\.')}'?:$`),
  'yarn-classic': (n, v) => new RegExp(`^"?${n}@${v.replaceAll('.', '\\.')}"?:$`),
  'yarn-berry': (n, v) => new RegExp(`^"${n}@npm:${v.replaceAll('.', '\\.')}":$`),
  bun: (n, v) => new RegExp(`^    "${n}": \\["${n}@${v.replaceAll('.', '\\.')}"`),
};

let registry: FakeRegistry;
let downloads: FakeDownloads;
let github: FakeGitHubRepoApi;
let parent: string;
const repos = new Map<LockClient, { dir: string; baseSha: string; headSha: string }>();

/** A repository whose base commit has the client's lockfile of BASE, and head that of HEAD. */
async function makeRepo(
  client: LockClient,
  head = HEAD,
): Promise<{ dir: string; baseSha: string; headSha: string }> {
  const dir = mkdtempSync(path.join(parent, `repo-${client}-`));
  git(dir, ['init', '--quiet', '--initial-branch=main']);
  mkdirSync(path.join(dir, '.github'));
  cpSync(path.join(FIXTURES, 'policy-block.yml'), path.join(dir, '.github', 'lockwarden.yml'));
  const shas: string[] = [];
  for (const [label, pkg] of [
    ['base', BASE],
    ['head', head],
  ] as const) {
    const locked = await lockWithClient(client, { files: { 'package.json': pkg } }, registry.url, parent);
    for (const file of ['package.json', LOCKFILE_OF[client]]) {
      writeFileSync(path.join(dir, file), readFileSync(path.join(locked, file)));
    }
    git(dir, ['add', '--all']);
    git(dir, ['commit', '--quiet', '--message', label]);
    shas.push(git(dir, ['rev-parse', 'HEAD']));
  }
  return { dir, baseSha: shas[0]!, headSha: shas[1]! };
}

function run(
  client: LockClient,
  inputs: Record<string, string>,
  repo = repos.get(client)!,
): Promise<BundleRun> {
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

const CLIENTS = ['pnpm', 'yarn-classic', 'yarn-berry', 'bun'] as const;

beforeAll(async () => {
  ensureActionBundle();
  registry = await startFakeRegistry({
    packuments: [
      makePackument({
        name: 'left-pad',
        versions: [
          { version: '1.3.0', publishedAt: ago(900) },
          { version: '1.3.1', publishedAt: ago(1) },
        ],
      }),
      makePackument({ name: 'ms', versions: [{ version: '2.1.2', publishedAt: ago(700) }] }),
      makePackument({ name: 'new-dep', versions: [{ version: '2.0.0', publishedAt: ago(300) }] }),
      makePackument({ name: 'lodahs', versions: [{ version: '1.0.0', publishedAt: ago(200) }] }),
      makePackument({
        name: 'acme-bundler',
        versions: [
          {
            version: '1.0.0',
            publishedAt: ago(300),
            dependencies: { 'acme-inner': '1.0.0' },
            extra: { bundleDependencies: ['acme-inner'] },
            files: {
              'node_modules/acme-inner/package.json': JSON.stringify({
                name: 'acme-inner',
                version: '1.1.0',
              }),
            },
          },
        ],
      }),
      makePackument({
        name: 'acme-inner',
        versions: [
          { version: '1.0.0', publishedAt: ago(300) },
          { version: '1.1.0', publishedAt: ago(1) },
        ],
      }),
    ],
  });
  downloads = await startFakeDownloads();
  github = await startFakeGitHubRepoApi({ requireToken: TOKEN });
  parent = await tempParent();
  for (const client of CLIENTS) repos.set(client, await makeRepo(client));
}, 300_000);

afterAll(async () => {
  await Promise.all([registry?.close(), downloads?.close(), github?.close()]);
  if (parent) rmSync(parent, { recursive: true, force: true });
});

describe.each(CLIENTS)('a pull request of a %s project', (client) => {
  let result: BundleRun;
  let lockText: string;
  beforeAll(async () => {
    lockText = readFileSync(path.join(repos.get(client)!.dir, LOCKFILE_OF[client]), 'utf8');
    result = await run(client, { policy: '.github/lockwarden.yml', sarif: 'lockwarden.sarif' });
  });

  const lineOf = (name: string, version: string) => {
    const index = lockText.split('\n').findIndex((l) => ENTRY_LINE[client](name, version).test(l));
    if (index === -1) throw new Error(`${name}@${version} has no entry line in ${LOCKFILE_OF[client]}`);
    return String(index + 1);
  };

  it('is gated: the step fails on the blocked packages', () => {
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    expect(result.outputs).toMatchObject({ blocked: '2', alerts: '0', unavailable: '0', checked: '3' });
  });

  it('annotates the line where each blocked entry begins', () => {
    const errors = parseAnnotations(result, 'error').filter((a) => a.file !== undefined);
    expect(errors.map(({ title, file, line }) => ({ title, file, line }))).toEqual(
      [
        { title: 'lockwarden: cooling-off', file: LOCKFILE_OF[client], line: lineOf('left-pad', '1.3.1') },
        { title: 'lockwarden: typosquatting', file: LOCKFILE_OF[client], line: lineOf('lodahs', '1.0.0') },
      ].sort((a, b) => Number(a.line) - Number(b.line)),
    );
  });

  it('lists the changes against the same lockfile at the base commit, and writes SARIF', () => {
    expect(result.summary).toContain('Updated the following: left-pad 1.3.0 → 1.3.1');
    expect(result.summary).toContain('Added the following: lodahs 1.0.0, new-dep 2.0.0');
    expect(result.summary).toContain(`**${LOCKFILE_OF[client]}**: 1 updated, 2 added`);
    const sarif = JSON.parse(readFileSync(result.outputs.sarif!, 'utf8'));
    const uris = sarif.runs[0].results.map(
      (r: { locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }) =>
        r.locations[0]!.physicalLocation.artifactLocation.uri,
    );
    expect(uris).toEqual([LOCKFILE_OF[client], LOCKFILE_OF[client]]);
  });
});

describe('inputs', () => {
  it('`lockfile: yarn.lock` with scope all checks every entry of that lockfile', async () => {
    const result = await run('yarn-classic', {
      policy: '.github/lockwarden.yml',
      lockfile: 'yarn.lock',
      scope: 'all',
    });
    expect(result.code).toBe(1);
    expect(result.outputs).toMatchObject({ blocked: '2', checked: '4' });
  });
});

describe('service mode on a pnpm pull request', () => {
  let service: LockwardenService;
  let server: Server;
  let serviceUrl: string;
  let closeSources: () => Promise<void>;

  beforeAll(async () => {
    const config = await resolveSourceConfig({
      flags: { registry: registry.url, downloadsUrl: downloads.url, noCache: true },
      env: {},
      cwd: parent,
    });
    const sources = createSources(config);
    closeSources = sources.close;
    service = await createApp({
      dataDir: mkdtempSync(path.join(tmpdir(), 'lockwarden-formats-service-')),
      sources,
      popular: createPopularIndex(readPopularList()),
      adminToken: ADMIN_TOKEN,
      filePolicies: [
        { policy: await readPolicyFile(path.join(FIXTURES, 'policy-block.yml')), file: 'policy-block.yml' },
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

  it('gives the verdicts of inline mode on the same lines', async () => {
    const inline = await run('pnpm', { policy: '.github/lockwarden.yml' });
    const viaService = await run('pnpm', {
      'service-url': serviceUrl,
      'policy-id': 'team',
      'service-token': ADMIN_TOKEN,
    });
    expect(viaService.stderr).toBe('');
    expect(viaService.code).toBe(1);
    const strip = (r: BundleRun) => ({
      ...(JSON.parse(readFileSync(r.outputs.report!, 'utf8')) as Report),
      generatedAt: '',
    });
    expect(strip(viaService)).toEqual(strip(inline));
    expect(parseAnnotations(viaService, 'error').filter((a) => a.file)).toEqual(
      parseAnnotations(inline, 'error').filter((a) => a.file),
    );
  });

  it('reads what an added pnpm entry bundles, as inline mode does', async () => {
    const repo = await makeRepo('pnpm', BUNDLER_HEAD);
    const inline = await run('pnpm', { policy: '.github/lockwarden.yml' }, repo);
    const viaService = await run(
      'pnpm',
      { 'service-url': serviceUrl, 'policy-id': 'team', 'service-token': ADMIN_TOKEN },
      repo,
    );
    const strip = (r: BundleRun) => ({
      ...(JSON.parse(readFileSync(r.outputs.report!, 'utf8')) as Report),
      generatedAt: '',
    });
    const report = strip(viaService);
    expect(
      report.findings.map((f) => `${f.effect} ${f.rule} ${f.name}@${f.version} ${f.evidence?.bundled}`),
    ).toEqual(['block cooling-off acme-bundler@1.0.0 acme-inner@1.1.0']);
    expect(report.warnings).toEqual([]);
    expect(report).toEqual(strip(inline));
    expect(viaService.code).toBe(1);
  });

  it('against a service that predates the bundles flag, the entries that declare bundles are unavailable, not passed; the others are not', async () => {
    // A service from before the flag: it never sees `bundles` and answers without bundlesChecked.
    const old = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      let body: string | undefined;
      if (chunks.length > 0) {
        const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          packages?: { bundles?: string }[];
        };
        for (const p of parsed.packages ?? []) delete p.bundles;
        body = JSON.stringify(parsed);
      }
      const headers = { ...req.headers } as Record<string, string>;
      delete headers['content-length'];
      delete headers.host;
      const answer = await fetch(new URL(req.url!, serviceUrl), {
        method: req.method!,
        headers,
        ...(body === undefined ? {} : { body }),
      });
      const json = (await answer.json()) as { bundlesChecked?: number };
      delete json.bundlesChecked;
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(json));
    });
    await new Promise<void>((resolve) => old.listen(0, '127.0.0.1', resolve));
    try {
      const oldUrl = `http://127.0.0.1:${(old.address() as AddressInfo).port}/`;
      const repo = await makeRepo('pnpm', BUNDLER_HEAD);
      const viaOld = await run(
        'pnpm',
        { 'service-url': oldUrl, 'policy-id': 'team', 'service-token': ADMIN_TOKEN, scope: 'all' },
        repo,
      );
      const report = JSON.parse(readFileSync(viaOld.outputs.report!, 'utf8')) as Report;
      // Every pnpm entry was flagged; only the bundler is reported (policy onUnavailable: alert).
      expect(report.summary.checked).toBeGreaterThan(1);
      expect(report.findings.map((f) => `${f.effect} ${f.outcome} ${f.rule} ${f.name}@${f.version}`)).toEqual(
        ['alert unavailable not-on-registry acme-bundler@1.0.0'],
      );
      expect(report.findings[0]!.message).toContain(`the service at ${oldUrl} did not read what it bundles`);
      expect(report.warnings).toEqual([expect.stringContaining('predates it), so the entries that declare')]);
      expect(viaOld.code).toBe(0);
    } finally {
      old.closeAllConnections();
      await new Promise<void>((resolve) => old.close(() => resolve()));
    }
  });
});
