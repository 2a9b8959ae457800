// The vulnerabilities rule end to end in-process: `lockwarden audit` against a fake registry with
// the bulk advisory endpoint (or without it, as on the mirror), and against a fake OSV.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import type { Report } from '../../src/engine/report.js';
import { type FakeOsv, type OsvRecord, startFakeOsv } from '../helpers/fake-osv.js';
import { type FakeAdvisory, type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { closedPortUrl } from '../helpers/fake-upstream.js';
import { writeProject } from '../helpers/make-lockfile.js';
import { makePackument } from '../helpers/make-packument.js';

const NOW = new Date('2026-11-22T12:00:00.000Z');
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86400000);

const PACKUMENTS = [
  makePackument({
    name: 'left-pad',
    versions: [
      { version: '1.3.0', publishedAt: daysAgo(300) },
      { version: '1.3.1', publishedAt: daysAgo(200) },
      { version: '1.3.2', publishedAt: daysAgo(1) },
    ],
  }),
  makePackument({
    name: 'lodash',
    versions: [
      { version: '4.17.20', publishedAt: daysAgo(600) },
      { version: '4.17.21', publishedAt: daysAgo(500) },
    ],
  }),
  makePackument({
    name: 'minimist',
    versions: [
      { version: '1.2.5', publishedAt: daysAgo(900) },
      { version: '1.2.6', publishedAt: daysAgo(800) },
    ],
  }),
  makePackument({ name: 'safe-pkg', versions: [{ version: '1.0.0', publishedAt: daysAgo(100) }] }),
];

const ADVISORIES: FakeAdvisory[] = [
  {
    name: 'left-pad',
    id: 1001,
    ghsa: 'GHSA-2222-3333-4444',
    severity: 'high',
    title: 'Padding overflow in left-pad',
    vulnerable_versions: '<1.3.2',
  },
  {
    name: 'lodash',
    id: 1002,
    ghsa: 'GHSA-35jh-r3h4-6jhm',
    severity: 'critical',
    title: 'Command injection in lodash',
    vulnerable_versions: '<4.17.21',
    cvss: { score: 9.8, vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' },
  },
  {
    name: 'minimist',
    id: 1003,
    ghsa: 'GHSA-xvch-5gv4-984h',
    severity: 'moderate',
    title: 'Prototype pollution in minimist',
    vulnerable_versions: '<1.2.6',
  },
];

// The same advisories as OSV records.
const OSV_RECORDS: OsvRecord[] = ADVISORIES.map((a) => ({
  id: a.ghsa,
  modified: '2026-11-01T00:00:00Z',
  summary: a.title,
  aliases: [`CVE-2026-${a.id}`],
  database_specific: { severity: a.severity.toUpperCase() },
  ...(a.cvss ? { severity: [{ type: 'CVSS_V3', score: a.cvss.vectorString }] } : {}),
  affected: [
    {
      package: { ecosystem: 'npm', name: a.name },
      ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: a.vulnerable_versions.slice(1) }] }],
    },
  ],
}));

const POLICY = {
  id: 'sec',
  action: 'block',
  coolingOffDays: 7,
  typosquatting: false,
  vulnerabilities: { minSeverity: 'moderate' },
  allow: [
    { advisory: 'GHSA-xvch-5gv4-984h', reason: 'CLI parsing of trusted input only', expires: '2027-06-30' },
  ],
  onUnavailable: 'alert',
};

let work: string;
let project: string;
let registry: FakeRegistry;
let osv: FakeOsv;

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
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
    cwd: work,
    now: () => NOW,
  });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

function writePolicy(name: string, overrides: Record<string, unknown> = {}): string {
  const file = path.join(work, name);
  writeFileSync(file, JSON.stringify({ ...POLICY, ...overrides }));
  return file;
}

function audit(registryUrl: string, policyFile: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const cacheDir = mkdtempSync(path.join(work, 'cache-'));
  return run(
    [
      'audit',
      project,
      '--json',
      '--policy',
      policyFile,
      '--registry',
      registryUrl,
      '--cache-dir',
      cacheDir,
      ...extra,
    ],
    env,
  );
}

const summarize = (report: Report) =>
  report.findings.map((f) => `${f.name}@${f.version} ${f.rule} ${f.outcome}`);

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-vuln-'));
  project = writeProject(path.join(work, 'app'), {
    name: 'app',
    deps: [
      { name: 'left-pad', version: '1.3.2', integrity: PACKUMENTS[0]!.versions['1.3.2']!.dist!.integrity! },
      { name: 'lodash', version: '4.17.20', dependencies: { 'safe-pkg': '^1.0.0' } },
      { name: 'minimist', version: '1.2.5', dev: true },
      { name: 'safe-pkg', version: '1.0.0' },
    ],
  });
  registry = await startFakeRegistry({ shape: 'public', packuments: PACKUMENTS, advisories: ADVISORIES });
  osv = await startFakeOsv(OSV_RECORDS);
});

afterAll(async () => {
  await Promise.all([registry.close(), osv.close()]);
  rmSync(work, { recursive: true, force: true });
});

function expectVerdicts(report: Report) {
  expect(summarize(report)).toEqual([
    'lodash@4.17.20 vulnerabilities block',
    'left-pad@1.3.2 cooling-off alert',
  ]);
  const lodash = report.findings[0]!;
  expect(lodash.message).toBe(
    'lodash@4.17.20 has advisory GHSA-35jh-r3h4-6jhm (critical): Command injection in lodash; fixed in 4.17.21',
  );
  expect(lodash.evidence).toMatchObject({
    advisory: 'GHSA-35jh-r3h4-6jhm',
    severity: 'critical',
    firstFixed: '4.17.21',
    cvssScore: 9.8,
  });
  expect(lodash.locations?.[0]?.file).toBe('package-lock.json');
  expect(report.findings[1]!.message).toBe(
    'left-pad 1.3.2 is 24 hours old; allowed early: it fixes GHSA-2222-3333-4444 (high) that affects 1.3.1',
  );
  const accepted = report.notices.filter((n) => n.kind === 'allowed-by-list');
  expect(accepted.map((n) => n.message)).toEqual([
    'advisory GHSA-xvch-5gv4-984h (moderate) of minimist@1.2.5 allowed by entry "GHSA-xvch-5gv4-984h" (CLI parsing of trusted input only), until 2027-06-30',
  ]);
  expect(report.exitCode).toBe(1);
}

describe('lockwarden audit with vulnerabilities', () => {
  it('blocks a vulnerable version with its advisory, lets the young fix through and accepts an allow-listed advisory (registry bulk endpoint)', async () => {
    const before = registry.requests.length;
    const policy = writePolicy('policy.json');
    const { code, stdout } = await audit(registry.url, policy);
    expect(code).toBe(1);
    expectVerdicts(JSON.parse(stdout) as Report);
    const bulk = registry.requests.slice(before).filter((r) => r.path.includes('/security/advisories/bulk'));
    // The pinned versions, then the version before the young left-pad 1.3.2.
    expect(bulk.map((r) => r.method)).toEqual(['POST', 'POST']);
  });

  it('renders the findings as text', async () => {
    const cacheDir = mkdtempSync(path.join(work, 'cache-'));
    const policy = writePolicy('policy-text.json');
    const { code, stdout } = await run([
      'audit',
      project,
      '--policy',
      policy,
      '--registry',
      registry.url,
      '--cache-dir',
      cacheDir,
    ]);
    expect(code).toBe(1);
    expect(stdout).toContain('vulnerabilities (1)');
    expect(stdout).toContain(
      'lodash@4.17.20 has advisory GHSA-35jh-r3h4-6jhm (critical): Command injection in lodash; fixed in 4.17.21',
    );
    expect(stdout).toContain('update to lodash@4.17.21 or later');
  });

  it('holds the young fix back under securityFixes: normal', async () => {
    const { stdout } = await audit(
      registry.url,
      writePolicy('policy-normal.json', { securityFixes: 'normal' }),
    );
    expect(summarize(JSON.parse(stdout) as Report)).toEqual([
      'left-pad@1.3.2 cooling-off block',
      'lodash@4.17.20 vulnerabilities block',
    ]);
  });

  it('reads the same verdicts from OSV (--advisories osv, LOCKWARDEN_OSV_URL), one batch for every name', async () => {
    const batches = osv.batches.length;
    const { code, stdout } = await audit(
      registry.url,
      writePolicy('policy-osv.json'),
      ['--advisories', 'osv'],
      {
        LOCKWARDEN_OSV_URL: osv.url,
      },
    );
    expect(code).toBe(1);
    expectVerdicts(JSON.parse(stdout) as Report);
    expect(osv.batches.slice(batches)).toEqual([4]);
  });

  it('reports an advisory source that cannot answer as unavailable, grouped, and follows onUnavailable', async () => {
    const mirror = await startFakeRegistry({ shape: 'mirror', packuments: PACKUMENTS });
    try {
      const { code, stdout } = await audit(
        mirror.url,
        writePolicy('policy-alert.json', { coolingOffDays: 0 }),
      );
      const report = JSON.parse(stdout) as Report;
      expect(code).toBe(0);
      expect(report.unavailable).toEqual([
        {
          source: 'registry advisories',
          cause: 'the registry has no advisory endpoint (HTTP 404); use --advisories osv',
          facts: ['advisories'],
          effect: 'alert',
          packages: ['left-pad@1.3.2', 'lodash@4.17.20', 'minimist@1.2.5', 'safe-pkg@1.0.0'],
        },
      ]);
    } finally {
      await mirror.close();
    }
    const down = await closedPortUrl();
    const blocked = await audit(
      registry.url,
      writePolicy('policy-block.json', { coolingOffDays: 0, onUnavailable: 'block' }),
      ['--advisories', 'osv', '--retries', '0'],
      {
        LOCKWARDEN_OSV_URL: down,
      },
    );
    const report = JSON.parse(blocked.stdout) as Report;
    expect(blocked.code).toBe(3);
    expect(report.unavailable.map((g) => [g.source, g.effect, g.packages.length])).toEqual([
      ['OSV', 'block', 4],
    ]);
  });

  it('rejects an unknown --advisories value', async () => {
    const { code, stderr } = await audit(registry.url, writePolicy('p2.json'), ['--advisories', 'nvd']);
    expect(code).toBe(2);
    expect(stderr).toContain('--advisories: expected "registry" or "osv", got "nvd"');
  });
});

describe('lockwarden audit --sbom', () => {
  it('writes a CycloneDX 1.6 document that the official schema accepts, with purls, hashes, relations, verdicts and advisories', async () => {
    const file = path.join(work, 'out', 'sbom.cdx.json');
    const { code } = await audit(registry.url, writePolicy('policy-sbom.json'), ['--sbom', file]);
    expect(code).toBe(1);
    const text = readFileSync(file, 'utf8');
    const validator = new Validation.JsonStrictValidator(Spec.Version.v1dot6);
    expect(await validator.validate(text)).toBeNull();
    const sbom = JSON.parse(text);
    expect(sbom).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.6', version: 1 });
    expect(sbom.serialNumber).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    const byName = new Map(sbom.components.map((c: { name: string }) => [c.name, c]));
    expect([...byName.keys()].sort()).toEqual(['left-pad', 'lodash', 'minimist', 'safe-pkg']);
    const prop = (name: string, key: string) =>
      (byName.get(name) as { properties: { name: string; value: string }[] }).properties
        .filter((p) => p.name === key)
        .map((p) => p.value);
    expect(byName.get('lodash')).toMatchObject({
      purl: 'pkg:npm/lodash@4.17.20',
      version: '4.17.20',
      scope: 'required',
    });
    expect(prop('lodash', 'lockwarden:verdict')).toEqual(['block']);
    expect(prop('lodash', 'lockwarden:finding:vulnerabilities')[0]).toMatch(
      /^block: lodash@4\.17\.20 has advisory GHSA-35jh-r3h4-6jhm/,
    );
    expect(prop('left-pad', 'lockwarden:verdict')).toEqual(['alert']);
    expect(prop('safe-pkg', 'lockwarden:verdict')).toEqual(['allow']);
    expect(prop('minimist', 'cdx:npm:package:development')).toEqual(['true']);
    const sri = PACKUMENTS[0]!.versions['1.3.2']!.dist!.integrity!;
    expect((byName.get('left-pad') as { hashes: unknown }).hashes).toEqual([
      { alg: 'SHA-512', content: Buffer.from(sri.slice('sha512-'.length), 'base64').toString('hex') },
    ]);
    const deps = new Map(
      sbom.dependencies.map((d: { ref: string; dependsOn: string[] }) => [d.ref, d.dependsOn]),
    );
    expect(deps.get('pkg:npm/lodash@4.17.20')).toEqual(['pkg:npm/safe-pkg@1.0.0']);
    expect(deps.get('root-component')).toEqual(
      expect.arrayContaining(['pkg:npm/lodash@4.17.20', 'pkg:npm/left-pad@1.3.2']),
    );
    expect(sbom.vulnerabilities).toEqual([
      expect.objectContaining({
        id: 'GHSA-35jh-r3h4-6jhm',
        ratings: [{ severity: 'critical', score: 9.8 }],
        affects: [{ ref: 'pkg:npm/lodash@4.17.20' }],
        recommendation: 'Update to 4.17.21 or later',
      }),
    ]);
  });

  it('is refused for check, and a file it cannot write is a clear error', async () => {
    const check = await run(['check', 'lodash@4.17.20', '--sbom', path.join(work, 'x.json')]);
    expect(check.code, check.stderr).toBe(2);
    expect(check.stderr).toContain('--sbom describes a lockfile: use it with audit');
    const blocker = path.join(work, 'not-a-dir');
    writeFileSync(blocker, '');
    const res = await audit(registry.url, writePolicy('policy-sbom2.json'), [
      '--sbom',
      path.join(blocker, 'sbom.json'),
    ]);
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/--sbom .*not-a-dir\/sbom\.json: cannot write/);
  });
});

describe('a 3,000-entry lockfile', () => {
  it('asks the bulk endpoint in 12 batches of at most 250 names, and a warm run asks nothing', async () => {
    const big = writeProject(path.join(work, 'big'), {
      name: 'big',
      deps: Array.from({ length: 3000 }, (_, i) => ({ name: `pkg-${i}`, version: '1.0.0' })),
    });
    const bulk = await startFakeRegistry({ shape: 'mirror', packuments: [], advisories: [] });
    try {
      const cacheDir = mkdtempSync(path.join(work, 'cache-'));
      const policy = writePolicy('policy-big.json', { coolingOffDays: 0 });
      const args = [
        'audit',
        big,
        '--json',
        '--policy',
        policy,
        '--registry',
        bulk.url,
        '--cache-dir',
        cacheDir,
      ];
      const cold = await run(args);
      expect(cold.code, cold.stderr).toBe(0);
      expect((JSON.parse(cold.stdout) as Report).summary.checked).toBe(3000);
      const posts = bulk.requests.filter((r) => r.method === 'POST');
      expect(posts).toHaveLength(12);
      const warm = await run(args);
      expect(warm.code).toBe(0);
      expect(bulk.requests.filter((r) => r.method === 'POST')).toHaveLength(12);
    } finally {
      await bulk.close();
    }
  });
});
