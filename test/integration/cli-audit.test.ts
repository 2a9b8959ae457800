// `lockwarden audit --json` end to end in-process: a generated lockfile, fake registry, downloads API
// and GitHub API on loopback, an injected clock. Asserts the exact findings.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import type { Report } from '../../src/engine/report.js';
import { readCacheUsage } from '../../src/sources/cache-maintenance.js';
import { type FakeDownloads, startFakeDownloads } from '../helpers/fake-downloads.js';
import { type FakeGitHub, startFakeGitHub } from '../helpers/fake-github.js';
import { type FakeRegistry, type RegistryShape, startFakeRegistry } from '../helpers/fake-registry.js';
import { closedPortUrl, type FakeServer, startFakeServer } from '../helpers/fake-upstream.js';
import { writeProject } from '../helpers/make-lockfile.js';
import { makePackument } from '../helpers/make-packument.js';

const NOW = new Date('2026-11-22T12:00:00.000Z');
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86400000);
const gh = (repo: string) => `git+https://github.com/${repo}.git`;

const PACKUMENTS = [
  makePackument({
    name: 'good-pkg',
    versions: [{ version: '2.0.0', publishedAt: daysAgo(30), repository: gh('acme/good') }],
  }),
  makePackument({
    name: 'young-pkg',
    versions: [
      { version: '1.0.0', publishedAt: daysAgo(90), repository: gh('acme/young') },
      { version: '1.1.0', publishedAt: daysAgo(2), repository: gh('acme/young') },
    ],
  }),
  makePackument({
    name: 'tiny-pkg',
    versions: [{ version: '1.0.0', publishedAt: daysAgo(60), repository: gh('acme/tiny') }],
  }),
  makePackument({
    name: 'untagged-pkg',
    versions: ['1.0.0', '1.1.0', '1.2.0'].map((version, i) => ({
      version,
      publishedAt: daysAgo(60 - i * 10),
      repository: gh('acme/untagged'),
    })),
  }),
  makePackument({
    name: 'expres',
    versions: [{ version: '1.0.0', publishedAt: daysAgo(400), repository: gh('acme/expres') }],
  }),
  makePackument({
    name: 'vetted-pkg',
    versions: [{ version: '0.0.1', publishedAt: daysAgo(1), repository: gh('acme/vetted') }],
  }),
  makePackument({
    name: 'evil-pkg',
    versions: [{ version: '1.0.0', publishedAt: daysAgo(300), repository: gh('acme/evil') }],
  }),
  makePackument({
    name: 'gitlab-pkg',
    versions: [
      {
        version: '1.0.0',
        publishedAt: daysAgo(300),
        repository: 'git+https://gitlab.com/acme/gitlab-pkg.git',
      },
    ],
  }),
  makePackument({
    name: 'express',
    versions: [{ version: '4.21.2', publishedAt: daysAgo(700), repository: gh('expressjs/express') }],
  }),
  makePackument({
    name: '@acme/thing',
    versions: [{ version: '3.0.0', publishedAt: daysAgo(300), repository: gh('acme/monorepo') }],
  }),
];

const DOWNLOADS: Record<string, number> = {
  'good-pkg': 5000,
  'young-pkg': 5000,
  'tiny-pkg': 12,
  'untagged-pkg': 5000,
  expres: 5000,
  'vetted-pkg': 3,
  'evil-pkg': 5000,
  'gitlab-pkg': 5000,
  '@acme/thing': 5000,
  express: 35_000_000,
};

const REPOS = {
  'acme/good': { tags: ['v2.0.0'] },
  'acme/young': { tags: ['v1.0.0', 'v1.1.0'] },
  'acme/tiny': { tags: ['v1.0.0'] },
  'acme/untagged': { tags: ['v1.0.0', 'v1.1.0'] },
  'acme/expres': { tags: ['1.0.0'] },
  'acme/vetted': { tags: [] },
  'acme/evil': { tags: ['v1.0.0'] },
  'expressjs/express': { tags: ['4.21.1', '4.21.2'] },
  'acme/monorepo': { tags: ['@acme/thing@3.0.0'] },
};

const POLICY = {
  id: 'ci',
  action: 'block',
  coolingOffDays: 7,
  minWeeklyDownloads: 100,
  typosquatting: true,
  suspiciousVersion: true,
  allow: [{ package: 'vetted-pkg', reason: 'reviewed' }],
  block: [{ package: 'evil-pkg', reason: 'malware' }],
  onUnavailable: 'alert',
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await runCli(argv, {
    stdout,
    stderr,
    env: { PATH: process.env.PATH, ...env },
    cwd: process.cwd(),
    now: () => NOW,
  });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

let work: string;
let project: string;
let downloads: FakeDownloads;
let github: FakeGitHub;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-cli-'));
  project = writeProject(path.join(work, 'app'), {
    name: 'app',
    deps: PACKUMENTS.map((p) => ({ name: p.name, version: p['dist-tags'].latest! })).map((d) =>
      d.name === 'young-pkg'
        ? { ...d, version: '1.1.0' }
        : d.name === 'untagged-pkg'
          ? { ...d, version: '1.2.0' }
          : d,
    ),
  });
  writeFileSync(path.join(work, 'policy.json'), JSON.stringify(POLICY));
  downloads = await startFakeDownloads({ counts: DOWNLOADS });
  github = await startFakeGitHub({ repos: REPOS, requireToken: 'test-token' });
});

afterAll(async () => {
  await downloads.close();
  await github.close();
  rmSync(work, { recursive: true, force: true });
});

function baseArgs(registryUrl: string, cacheDir: string): string[] {
  return [
    'audit',
    project,
    '--json',
    '--policy',
    path.join(work, 'policy.json'),
    '--registry',
    registryUrl,
    '--downloads-url',
    downloads.url,
    '--github-api-url',
    github.url,
    '--cache-dir',
    cacheDir,
  ];
}

const summarize = (report: Report) =>
  report.findings.map(
    (f) => `${f.name}@${f.version} ${f.rule} ${f.outcome}${f.target ? ` -> ${f.target}` : ''}`,
  );

describe.each<RegistryShape>(['public', 'mirror'])(
  'lockwarden audit --json against a %s-shaped registry',
  (shape) => {
    let registry: FakeRegistry;
    let cacheDir: string;
    beforeAll(async () => {
      registry = await startFakeRegistry({ shape, packuments: PACKUMENTS });
    });
    afterAll(() => registry.close());
    afterEach(() => rmSync(cacheDir, { recursive: true, force: true }));

    it('reports the exact findings', async () => {
      cacheDir = mkdtempSync(path.join(tmpdir(), 'lockwarden-cache-'));
      const result = await run(baseArgs(registry.url, cacheDir), { GITHUB_TOKEN: 'test-token' });
      expect(result.stderr).toBe('');
      const report = JSON.parse(result.stdout) as Report;
      expect(summarize(report)).toEqual([
        'evil-pkg@1.0.0 blocklist block',
        'young-pkg@1.1.0 cooling-off block',
        'tiny-pkg@1.0.0 popularity block',
        'untagged-pkg@1.2.0 suspicious-version block',
        'expres@1.0.0 typosquatting block -> express',
        'gitlab-pkg@1.0.0 suspicious-version unavailable',
      ]);
      expect(report.summary).toEqual({
        checked: 10,
        allowed: 4,
        blocked: 5,
        alerts: 1,
        unavailable: 1,
        skipped: 0,
        blockedByFindings: 5,
        alertsByFindings: 0,
      });
      expect(report.unavailable).toEqual([
        expect.objectContaining({
          source: 'repository',
          facts: ['repository tags'],
          packages: ['gitlab-pkg@1.0.0'],
        }),
      ]);
      expect(report.exitCode).toBe(1);
      expect(result.code).toBe(1);
      const young = report.findings.find((f) => f.rule === 'cooling-off')!;
      expect(young).toMatchObject({
        threshold: 7,
        observed: 2,
        path: ['app', 'young-pkg'],
        locations: [{ file: 'package-lock.json', key: 'node_modules/young-pkg' }],
        message: 'young-pkg@1.1.0 was published 2 days ago (cooling-off 7 days); it passes on 2026-11-27',
      });
      expect(report.findings.find((f) => f.rule === 'typosquatting')!.message).toMatch(
        /^expres looks like express \(\d+M weekly downloads\): /,
      );
      expect(report.notices).toContainEqual(
        expect.objectContaining({ name: 'vetted-pkg', kind: 'allowed-by-list' }),
      );
    });

    it('a second run is served from the disk cache', async () => {
      cacheDir = mkdtempSync(path.join(tmpdir(), 'lockwarden-cache-'));
      const first = await run(baseArgs(registry.url, cacheDir), { GITHUB_TOKEN: 'test-token' });
      const before = registry.requests.length;
      const second = await run(baseArgs(registry.url, cacheDir), { GITHUB_TOKEN: 'test-token' });
      expect(JSON.parse(second.stdout).findings).toEqual(JSON.parse(first.stdout).findings);
      expect(registry.requests.length - before).toBe(0);
    });
  },
);

describe('sources down, slow or returning garbage', () => {
  let registry: FakeRegistry;
  let cacheDir: string;
  beforeAll(async () => {
    registry = await startFakeRegistry({ shape: 'public', packuments: PACKUMENTS });
  });
  afterAll(() => registry.close());
  afterEach(() => rmSync(cacheDir, { recursive: true, force: true }));

  const policyFile = (overrides: Record<string, unknown>) => {
    const file = path.join(work, `policy-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({ ...POLICY, ...overrides }));
    return file;
  };

  it('registry down: publish times are unavailable, reported per package, exit 0 under onUnavailable alert', async () => {
    cacheDir = mkdtempSync(path.join(tmpdir(), 'lockwarden-cache-'));
    const args = baseArgs(await closedPortUrl(), cacheDir);
    args[args.indexOf('--policy') + 1] = policyFile({
      suspiciousVersion: false,
      minWeeklyDownloads: 0,
      typosquatting: false,
    });
    const result = await run(args, { GITHUB_TOKEN: 'test-token' });
    const report = JSON.parse(result.stdout) as Report;
    // What each entry bundles is unknown too (its manifest says whether it declares bundles): one
    // more unavailable finding per entry, the allowed one included (cli-audit-bundles.test.ts).
    const bundles = report.findings.filter((f) => f.evidence?.fact === 'bundled packages');
    expect(bundles.map((f) => f.name).sort()).toEqual(
      [
        '@acme/thing',
        'expres',
        'express',
        'gitlab-pkg',
        'good-pkg',
        'tiny-pkg',
        'untagged-pkg',
        'vetted-pkg',
        'young-pkg',
      ].sort(),
    );
    const unavailable = report.findings.filter(
      (f) => f.outcome === 'unavailable' && f.evidence?.fact !== 'bundled packages',
    );
    expect(unavailable.map((f) => f.name).sort()).toEqual(
      [
        '@acme/thing',
        'expres',
        'express',
        'gitlab-pkg',
        'good-pkg',
        'tiny-pkg',
        'untagged-pkg',
        'young-pkg',
      ].sort(),
    );
    expect(unavailable[0]!.source).toBe('registry');
    expect(result.code).toBe(1); // evil-pkg is still on the block list
  });

  it('registry down under onUnavailable block: exit 3, kept apart from findings', async () => {
    cacheDir = mkdtempSync(path.join(tmpdir(), 'lockwarden-cache-'));
    const args = baseArgs(await closedPortUrl(), cacheDir);
    args[args.indexOf('--policy') + 1] = policyFile({
      onUnavailable: 'block',
      block: [],
      suspiciousVersion: false,
      minWeeklyDownloads: 0,
      typosquatting: false,
    });
    const result = await run(args);
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout).exitCode).toBe(3);
  });

  it('downloads API down: popular names fall back to the snapshot, others are unavailable', async () => {
    cacheDir = mkdtempSync(path.join(tmpdir(), 'lockwarden-cache-'));
    const args = baseArgs(registry.url, cacheDir);
    args[args.indexOf('--downloads-url') + 1] = await closedPortUrl();
    args[args.indexOf('--policy') + 1] = policyFile({
      suspiciousVersion: false,
      coolingOffDays: 0,
      typosquatting: false,
    });
    const result = await run(args);
    const report = JSON.parse(result.stdout) as Report;
    const popularity = report.findings.filter((f) => f.rule === 'popularity');
    expect(popularity.map((f) => `${f.name} ${f.outcome} ${f.source}`)).toEqual(
      ['@acme/thing', 'expres', 'gitlab-pkg', 'good-pkg', 'tiny-pkg', 'untagged-pkg', 'young-pkg'].map(
        (n) => `${n} unavailable downloads API`,
      ),
    );
    // evil-pkg is blocked by the list before any guardrail runs; vetted-pkg is allowed; express
    // is on the embedded popular list, so its snapshot figure passes the floor.
    expect(popularity.map((f) => f.name)).toEqual([
      '@acme/thing',
      'expres',
      'gitlab-pkg',
      'good-pkg',
      'tiny-pkg',
      'untagged-pkg',
      'young-pkg',
    ]);
    expect(popularity[0]!.message).toContain('downloads API http://127.0.0.1:');
  });

  it('downloads API down: the snapshot figure says it is a snapshot and from when', async () => {
    cacheDir = mkdtempSync(path.join(tmpdir(), 'lockwarden-cache-'));
    const args = [...baseArgs(registry.url, cacheDir), '--only', 'express', '--retries', '0'];
    args[args.indexOf('--downloads-url') + 1] = await closedPortUrl();
    args[args.indexOf('--policy') + 1] = policyFile({
      suspiciousVersion: false,
      coolingOffDays: 0,
      minWeeklyDownloads: 1e12,
    });
    const report = JSON.parse((await run(args)).stdout) as Report;
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({
      name: 'express',
      rule: 'popularity',
      outcome: 'block',
      evidence: { origin: 'snapshot', asOf: '2026-03-01' },
    });
    expect(report.findings[0]!.message).toMatch(
      /^express has [\d,]+ downloads in the last 7 days \(embedded snapshot of 2026-03-01; the downloads API was unreachable\)/,
    );
  });

  it('GitHub API returning garbage: tag checks are unavailable, naming the source', async () => {
    cacheDir = mkdtempSync(path.join(tmpdir(), 'lockwarden-cache-'));
    const garbage: FakeServer = await startFakeServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"not": json');
    });
    try {
      const args = baseArgs(registry.url, cacheDir);
      args[args.indexOf('--github-api-url') + 1] = garbage.url;
      args[args.indexOf('--policy') + 1] = policyFile({
        coolingOffDays: 0,
        minWeeklyDownloads: 0,
        typosquatting: false,
        block: [],
      });
      const result = await run(args, { GITHUB_TOKEN: 'test-token' });
      const report = JSON.parse(result.stdout) as Report;
      expect(report.findings.length).toBeGreaterThan(0);
      expect(
        report.findings.every((f) => f.rule === 'suspicious-version' && f.outcome === 'unavailable'),
      ).toBe(true);
      expect(result.code).toBe(0);
    } finally {
      await garbage.close();
    }
  });

  it('a slow registry times out and says so', async () => {
    cacheDir = mkdtempSync(path.join(tmpdir(), 'lockwarden-cache-'));
    const slow = await startFakeServer(() => {
      /* never answers */
    });
    try {
      const args = [
        ...baseArgs(slow.url, cacheDir),
        '--only',
        'good-pkg',
        '--timeout',
        '300',
        '--retries',
        '0',
      ];
      args[args.indexOf('--policy') + 1] = policyFile({ suspiciousVersion: false, minWeeklyDownloads: 0 });
      const result = await run(args);
      const report = JSON.parse(result.stdout) as Report;
      // The same outage also leaves what good-pkg bundles unknown (judged without asking again).
      expect(report.findings.map((f) => f.evidence?.fact)).toEqual(['publish time', 'bundled packages']);
      expect(report.findings[0]).toMatchObject({
        name: 'good-pkg',
        outcome: 'unavailable',
        source: 'registry',
      });
      expect(report.findings[0]!.message).toMatch(/timed out/);
    } finally {
      await slow.close();
    }
  });

  it('a registry trickling its document 1 byte every 100 ms is unavailable at the deadline', async () => {
    cacheDir = mkdtempSync(path.join(tmpdir(), 'lockwarden-cache-'));
    // Bytes keep coming, so no idle timeout fires; only the total deadline ends the request.
    const trickling = await startFakeServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const t = setInterval(() => res.write(' '), 100);
      res.on('close', () => clearInterval(t));
    });
    try {
      const args = [...baseArgs(trickling.url, cacheDir), '--only', 'good-pkg', '--timeout', '1000'];
      args[args.indexOf('--policy') + 1] = policyFile({ suspiciousVersion: false, minWeeklyDownloads: 0 });
      const result = await run(args);
      const report = JSON.parse(result.stdout) as Report;
      // The same outage also leaves what good-pkg bundles unknown (judged without asking again).
      expect(report.findings.map((f) => f.evidence?.fact)).toEqual(['publish time', 'bundled packages']);
      expect(report.findings[0]).toMatchObject({
        name: 'good-pkg',
        outcome: 'unavailable',
        source: 'registry',
      });
      expect(report.findings[0]!.message).toMatch(/1000 ms deadline/);
      // One deadline for the document, retries included: not one per attempt or per byte. The body
      // never ends, so a deadline per byte would outlast the test; one per attempt shows as a retry
      // (counted: a wall-clock bound here is what a loaded machine can exceed).
      expect(trickling.requests).toHaveLength(1);
    } finally {
      await trickling.close();
    }
  });
});

describe('outages apart from findings in the text report', () => {
  let registry: FakeRegistry;
  let cacheDir: string;
  beforeAll(async () => {
    registry = await startFakeRegistry({ shape: 'public', packuments: PACKUMENTS });
    cacheDir = mkdtempSync(path.join(tmpdir(), 'lockwarden-cache-'));
  });
  afterAll(async () => {
    await registry.close();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  const textArgs = async (extra: string[] = []) => {
    const args = baseArgs(registry.url, cacheDir).filter((a) => a !== '--json');
    args[args.indexOf('--downloads-url') + 1] = await closedPortUrl();
    const policy = path.join(work, 'policy-outage.json');
    writeFileSync(policy, JSON.stringify({ ...POLICY, onUnavailable: 'block', suspiciousVersion: false }));
    args[args.indexOf('--policy') + 1] = policy;
    return [...args, '--retries', '0', ...extra];
  };

  it('groups unavailable facts by source and cause in a few lines, and counts them apart', async () => {
    const result = await run(await textArgs(), { GITHUB_TOKEN: 'test-token' });
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('lockwarden · policy ci (block, onUnavailable: block)');
    // Findings are listed per package; the outage is one line, with no package named.
    expect(result.stdout).toContain('young-pkg@1.1.0  BLOCK');
    expect(result.stdout).not.toMatch(/UNAVAILABLE/);
    const start = lines.indexOf('Facts unavailable for 7 packages (blocked by onUnavailable: block)');
    expect(start).toBeGreaterThan(0);
    expect(lines.slice(start + 1, start + 3)).toEqual([
      '  downloads API: connection refused: weekly downloads of 7 packages',
      '  retry when downloads API is reachable; --verbose lists the packages',
    ]);
    expect(lines.at(-2)).toBe(
      '10 packages: 3 blocked, 0 alerts; facts unavailable for 7 (downloads API: 7), which blocks them',
    );
    expect(result.code).toBe(1);
  });

  it('lists the packages behind each group with --verbose', async () => {
    const result = await run(await textArgs(['--verbose']), { GITHUB_TOKEN: 'test-token' });
    const lines = result.stdout.split('\n');
    const at = lines.indexOf('  downloads API: connection refused: weekly downloads of 7 packages');
    expect(lines.slice(at + 1, at + 4)).toEqual([
      '    @acme/thing@3.0.0, expres@1.0.0, gitlab-pkg@1.0.0, good-pkg@2.0.0, tiny-pkg@1.0.0,',
      '    untagged-pkg@1.2.0, young-pkg@1.1.0',
      '  retry when downloads API is reachable',
    ]);
  });
});

describe('--only', () => {
  it('names a package that is not in the lockfile instead of checking nothing', async () => {
    const result = await run([
      'audit',
      project,
      '--only',
      'good-pkg',
      '--only',
      'no-such-pkg',
      '--registry',
      'http://127.0.0.1:9/',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `lockwarden: --only: "no-such-pkg" is not in ${path.join(project, 'package-lock.json')}; nothing would be checked for it\n`,
    );
  });
});

describe('facts that never change are kept for good', () => {
  it('a warm audit a day later asks the registry nothing for pinned versions, and old documents go', async () => {
    // Mirror-shaped: no ETag, so the documents cannot be revalidated a day later.
    const registry = await startFakeRegistry({ shape: 'mirror', packuments: PACKUMENTS });
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'lockwarden-cache-'));
    try {
      const args = baseArgs(registry.url, cacheDir);
      const cold = await run(args, { GITHUB_TOKEN: 'test-token' });
      const coldReport = JSON.parse(cold.stdout) as Report;
      const coldRequests = registry.requests.length;
      expect(coldRequests).toBeGreaterThan(0);
      const coldUsage = readCacheUsage(cacheDir);
      expect(coldUsage.factBytes).toBeGreaterThan(0);
      expect(coldUsage.factBytes).toBeLessThan(coldUsage.documentBytes);

      const dayLater = new Date(NOW.getTime() + 25 * 3600 * 1000).toISOString();
      const downloadsAsked = downloads.askedNames().length;
      const warm = await run([...args, '--now', dayLater], { GITHUB_TOKEN: 'test-token' });
      // Counts far above the floor (100) are kept for days; those under twice the floor are asked again.
      expect(downloads.askedNames().slice(downloadsAsked)).toEqual([['tiny-pkg', 'vetted-pkg']]);
      const warmReport = JSON.parse(warm.stdout) as Report;
      // Except the look-alike `expres`: not established, so its history is read again each run.
      const lookalikeOnly = (from: number) =>
        registry.requests.slice(from).filter((r) => !/^\/expres(\/|$)/.test(r.url));
      expect(lookalikeOnly(coldRequests)).toEqual([]);
      expect(summarize(warmReport)).toEqual(summarize(coldReport));
      // The documents of the day before were pruned when the run ended; the facts stay.
      const warmUsage = readCacheUsage(cacheDir);
      expect(warmUsage.documentBytes).toBeLessThan(coldUsage.documentBytes / 2);
      expect(warmUsage.factBytes).toBeGreaterThan(0);

      // And a third run still needs nothing from the registry.
      await run([...args, '--now', dayLater], { GITHUB_TOKEN: 'test-token' });
      expect(lookalikeOnly(coldRequests)).toEqual([]);
    } finally {
      await registry.close();
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});

describe('lockwarden cache', () => {
  it('prunes to the limit and clears only its own files', async () => {
    const registry = await startFakeRegistry({ shape: 'public', packuments: PACKUMENTS });
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'lockwarden-cache-'));
    try {
      await run(baseArgs(registry.url, cacheDir), { GITHUB_TOKEN: 'test-token' });
      writeFileSync(path.join(cacheDir, 'not-ours.txt'), 'keep me');
      const before = readCacheUsage(cacheDir);
      expect(before.documentBytes).toBeGreaterThan(0);
      const pruned = await run(['cache', 'prune', '--cache-dir', cacheDir, '--cache-max-mb', '0.001']);
      expect(pruned.code).toBe(0);
      expect(pruned.stdout).toMatch(
        /^lockwarden cache: .*: [\d.]+ MB: documents .* -> .*; \d+ documents and \d+ version facts removed\n$/,
      );
      const after = readCacheUsage(cacheDir);
      expect(after.documentBytes + after.factBytes).toBeLessThanOrEqual(1100);
      const cleared = await run(['cache', 'clear', '--cache-dir', cacheDir]);
      expect(cleared.code).toBe(0);
      expect(readdirSync(cacheDir)).toEqual(['not-ours.txt']);
      expect((await run(['cache', 'shrink'])).code).toBe(2);
      // Pruning a cache that does not exist creates nothing.
      const missing = path.join(cacheDir, 'missing');
      expect((await run(['cache', 'prune', '--cache-dir', missing])).code).toBe(0);
      expect(readdirSync(cacheDir)).toEqual(['not-ours.txt']);
    } finally {
      await registry.close();
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});

describe('usage and configuration errors exit 2', () => {
  it.each([
    [['audit', '--bogus'], /Unknown option '--bogus'/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['check'], /check needs at least one package name/],
    [['check', '../etc/passwd'], /not a valid package spec|expected name or name@version/],
    [
      ['audit', '/nonexistent-dir-for-lockwarden'],
      /^lockwarden: \/nonexistent-dir-for-lockwarden: no such directory\n$/,
    ],
    [['audit', '/etc/hostname'], /\/etc\/hostname: not a directory/],
    [
      ['audit', '.', '--policy', '/nonexistent/policy.json'],
      /\/nonexistent\/policy\.json: cannot read policy file: no such file/,
    ],
  ])('%j', async (argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});

describe('facts that would fail open', () => {
  it('a registry that answers the full request without publish times makes cooling-off unavailable, not a pass', async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'lockwarden-cache-'));
    const noTimes = await startFakeServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          name: 'good-pkg',
          'dist-tags': { latest: '2.0.0' },
          versions: { '2.0.0': {} },
          modified: daysAgo(0.1).toISOString(),
        }),
      );
    });
    try {
      const args = [...baseArgs(noTimes.url, cacheDir), '--only', 'good-pkg'];
      const file = path.join(work, 'policy-no-times.json');
      writeFileSync(
        file,
        JSON.stringify({ id: 'nt', coolingOffDays: 7, typosquatting: false, onUnavailable: 'block' }),
      );
      args[args.indexOf('--policy') + 1] = file;
      const result = await run(args);
      const report = JSON.parse(result.stdout) as Report;
      expect(report.findings).toHaveLength(1);
      expect(report.findings[0]).toMatchObject({
        name: 'good-pkg',
        rule: 'cooling-off',
        outcome: 'unavailable',
        effect: 'block',
      });
      expect(report.findings[0]!.message).toContain('without publish times');
      expect(result.code).toBe(3);
    } finally {
      await noTimes.close();
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('a pinned version missing from a fresh cached document makes lockwarden ask the registry again', async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'lockwarden-cache-'));
    const registry = await startFakeRegistry({
      shape: 'public',
      packuments: [
        makePackument({ name: 'fresh-pkg', versions: [{ version: '1.0.0', publishedAt: daysAgo(100) }] }),
      ],
    });
    try {
      const file = path.join(work, 'policy-fresh.json');
      writeFileSync(file, JSON.stringify({ id: 'fresh', coolingOffDays: 7, typosquatting: false }));
      const dir = writeProject(path.join(work, 'fresh-app-1'), {
        name: 'fresh-app',
        deps: [{ name: 'fresh-pkg', version: '1.0.0' }],
      });
      const argsFor = (d: string) => [
        'audit',
        d,
        '--json',
        '--policy',
        file,
        '--registry',
        registry.url,
        '--cache-dir',
        cacheDir,
      ];
      expect((await run(argsFor(dir))).code).toBe(0);
      // 1.1.0 is published a day ago and a lockfile pins it, within the cache's freshness window.
      registry.addPackument(
        makePackument({
          name: 'fresh-pkg',
          versions: [
            { version: '1.0.0', publishedAt: daysAgo(100) },
            { version: '1.1.0', publishedAt: daysAgo(1) },
          ],
        }),
      );
      const dir2 = writeProject(path.join(work, 'fresh-app-2'), {
        name: 'fresh-app',
        deps: [{ name: 'fresh-pkg', version: '1.1.0' }],
      });
      const result = await run(argsFor(dir2));
      const report = JSON.parse(result.stdout) as Report;
      expect(report.findings.map((f) => `${f.name}@${f.version} ${f.rule} ${f.outcome}`)).toEqual([
        'fresh-pkg@1.1.0 cooling-off block',
      ]);
    } finally {
      await registry.close();
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('a pinned version the registry answers 404 for is a not-on-registry finding that blocks; an outage stays unavailable', async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'lockwarden-cache-'));
    const registry = await startFakeRegistry({
      shape: 'public',
      packuments: [
        makePackument({ name: 'real-pkg', versions: [{ version: '1.0.0', publishedAt: daysAgo(100) }] }),
      ],
    });
    try {
      const file = path.join(work, 'policy-missing.json');
      writeFileSync(file, JSON.stringify({ id: 'missing', coolingOffDays: 7, typosquatting: false }));
      const dir = writeProject(path.join(work, 'missing-app'), {
        name: 'missing-app',
        deps: [
          { name: 'lodahs', version: '4.17.21' },
          { name: 'real-pkg', version: '1.0.0' },
          { name: 'real-pkg-two', version: '2.0.0' },
        ],
      });
      registry.addPackument(
        makePackument({ name: 'real-pkg-two', versions: [{ version: '1.0.0', publishedAt: daysAgo(100) }] }),
      );
      const args = [
        'audit',
        dir,
        '--json',
        '--policy',
        file,
        '--registry',
        registry.url,
        '--cache-dir',
        cacheDir,
      ];
      const result = await run(args);
      const report = JSON.parse(result.stdout) as Report;
      expect(report.findings.map((f) => `${f.name}@${f.version} ${f.rule} ${f.outcome}`)).toEqual([
        'lodahs@4.17.21 not-on-registry block',
        'real-pkg-two@2.0.0 not-on-registry block',
      ]);
      expect(report.findings[0]!.message).toBe(
        'lodahs@4.17.21 is not on the registry: unpublished, or the lockfile was edited (the registry does not know lodahs at all)',
      );
      expect(report.findings[1]!.message).toBe(
        'real-pkg-two@2.0.0 is not on the registry: unpublished, or the lockfile was edited',
      );
      expect(report.summary).toMatchObject({ blocked: 2, unavailable: 0 });
      expect(result.code).toBe(1);

      // The same lockfile against a registry that is down: facts are unavailable, not findings.
      const down = await run([
        'audit',
        dir,
        '--json',
        '--policy',
        file,
        '--registry',
        'http://127.0.0.1:9/',
        '--cache-dir',
        mkdtempSync(path.join(tmpdir(), 'lockwarden-cache-')),
      ]);
      const downReport = JSON.parse(down.stdout) as Report;
      expect(new Set(downReport.findings.map((f) => `${f.rule} ${f.outcome}`))).toEqual(
        // What the entries bundle is unknown too (cli-audit-bundles.test.ts).
        new Set(['cooling-off unavailable', 'not-on-registry unavailable']),
      );
    } finally {
      await registry.close();
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('check resolves the latest version when a ranged list entry needs one, even under a name-only policy', async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'lockwarden-cache-'));
    const registry = await startFakeRegistry({ shape: 'mirror', packuments: PACKUMENTS });
    try {
      const file = path.join(work, 'policy-ranged.json');
      writeFileSync(file, JSON.stringify({ id: 'ranged', typosquatting: true, block: ['evil-pkg@*'] }));
      const result = await run([
        'check',
        'evil-pkg',
        '--json',
        '--policy',
        file,
        '--registry',
        registry.url,
        '--cache-dir',
        cacheDir,
      ]);
      const report = JSON.parse(result.stdout) as Report;
      expect(report.findings.map((f) => `${f.name}@${f.version} ${f.rule}`)).toEqual([
        'evil-pkg@1.0.0 blocklist',
      ]);
      expect(result.code).toBe(1);
    } finally {
      await registry.close();
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});

describe('lockfile sources', () => {
  it('flags entries fetched from another host or without an integrity, naming the host, unless the policy lists it', async () => {
    const registry = await startFakeRegistry({ shape: 'public', packuments: PACKUMENTS });
    try {
      const dir = writeProject(path.join(work, 'sources'), {
        name: 'sources-app',
        deps: [
          {
            name: 'good-pkg',
            version: '2.0.0',
            resolved: `${registry.url}good-pkg/-/good-pkg-2.0.0.tgz`,
            integrity: 'sha512-good',
          },
          {
            name: 'express',
            version: '4.21.2',
            resolved: 'https://user:secret@tarballs.evil.test/express/-/express-4.21.2.tgz',
            integrity: 'sha512-evil',
          },
          { name: '@acme/thing', version: '3.0.0', resolved: `${registry.url}@acme/thing/-/thing-3.0.0.tgz` },
          { name: 'tiny-pkg', version: '1.0.0', integrity: 'sha512-tiny' },
        ],
      });
      const audit = async (policy: Record<string, unknown>) => {
        const file = path.join(work, `sources-${Object.keys(policy).length}.json`);
        writeFileSync(
          file,
          JSON.stringify({ id: 'src', coolingOffDays: 0, typosquatting: false, ...policy }),
        );
        const res = await run([
          'audit',
          dir,
          '--json',
          '--policy',
          file,
          '--registry',
          registry.url,
          '--cache-dir',
          path.join(work, 'sources-cache'),
        ]);
        return { code: res.code, report: JSON.parse(res.stdout) as Report };
      };
      const strict = await audit({});
      expect(strict.code).toBe(1);
      const found = strict.report.findings.filter((f) => f.rule === 'lockfile-source');
      expect(found.map((f) => [f.name, f.effect, f.observed])).toEqual([
        ['@acme/thing', 'block', null],
        ['express', 'block', 'https://tarballs.evil.test'],
      ]);
      expect(found[1]!.message).toMatch(
        /^express@4\.21\.2 is fetched from https:\/\/tarballs\.evil\.test, which is not the configured registry/,
      );
      expect(found[1]!.locations?.[0]).toMatchObject({ file: 'package-lock.json' });
      expect(JSON.stringify(strict.report)).not.toContain('secret');
      expect(found[0]!.message).toMatch(/^@acme\/thing@3\.0\.0 has no integrity in the lockfile/);

      const listed = await audit({ registries: ['https://tarballs.evil.test/'], action: 'alert' });
      expect(listed.code).toBe(0);
      expect(listed.report.findings.map((f) => [f.name, f.rule, f.effect])).toEqual([
        ['@acme/thing', 'lockfile-source', 'alert'],
      ]);
      const off = await audit({ lockfileSource: false, action: 'block' });
      expect(off.code).toBe(0);
      expect(off.report.findings).toEqual([]);
    } finally {
      await registry.close();
    }
  });
});
