// The real npm client through `lockwarden serve` with the vulnerabilities rule: vulnerable versions
// are hidden, so `npm install <pkg>` resolves to the fixed one (through the fast lane when the
// fix is young); a package with no unaffected version is a 403 naming the advisory.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientEnv, installedVersion, runClient } from '../helpers/client-env.js';
import type { FakeAdvisory } from '../helpers/fake-registry.js';
import { makePackument } from '../helpers/make-packument.js';
import { daysAgo, NOW } from '../helpers/make-policy.js';
import { type ProxyHarness, startProxyHarness } from '../helpers/proxy-harness.js';

const at = (days: number) => new Date(daysAgo(days));
const PACKUMENTS = [
  // 1.1.0 is vulnerable; 1.1.1, a day old, fixes it.
  makePackument({
    name: 'vuln-pad',
    versions: [
      { version: '1.0.0', publishedAt: at(300) },
      { version: '1.1.0', publishedAt: at(100) },
      { version: '1.1.1', publishedAt: at(1) },
    ],
  }),
  // The newest release is the vulnerable one: the older line is what npm gets.
  makePackument({
    name: 'tail-vuln',
    versions: [
      { version: '1.0.0', publishedAt: at(300) },
      { version: '1.4.2', publishedAt: at(200) },
      { version: '2.0.0', publishedAt: at(100) },
    ],
  }),
  makePackument({
    name: 'all-vuln',
    versions: [
      { version: '0.9.0', publishedAt: at(300) },
      { version: '1.0.0', publishedAt: at(200) },
    ],
  }),
];
const ADVISORIES: FakeAdvisory[] = [
  {
    name: 'vuln-pad',
    id: 2001,
    ghsa: 'GHSA-vvvv-pppp-2222',
    severity: 'high',
    title: 'ReDoS in vuln-pad',
    vulnerable_versions: '<1.1.1',
  },
  {
    name: 'tail-vuln',
    id: 2002,
    ghsa: 'GHSA-tttt-vvvv-3333',
    severity: 'critical',
    title: 'RCE in tail-vuln 2',
    vulnerable_versions: '>=2.0.0',
  },
  {
    name: 'all-vuln',
    id: 2003,
    ghsa: 'GHSA-aaaa-vvvv-4444',
    severity: 'moderate',
    title: 'Path traversal in all-vuln',
    vulnerable_versions: '*',
  },
];

let h: ProxyHarness;
let base: string;
const temps: string[] = [];

beforeAll(async () => {
  h = await startProxyHarness({
    packuments: PACKUMENTS,
    registryOptions: { advisories: ADVISORIES },
    filePolicies: [
      { id: 'sec', coolingOffDays: 7, vulnerabilities: { minSeverity: 'moderate' } },
      {
        id: 'sec-slow',
        coolingOffDays: 7,
        vulnerabilities: { minSeverity: 'moderate' },
        securityFixes: 'normal',
      },
    ],
    now: NOW,
  });
  base = await h.listen();
});

afterAll(async () => {
  await h?.close();
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});

async function project(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lockwarden-e2e-'));
  temps.push(dir);
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', private: true }),
  );
  return dir;
}

describe('npm through the proxy with vulnerabilities on', () => {
  it('resolves npm install to the fixed versions: the young fix through the fast lane, the older line past a vulnerable latest', async () => {
    const dir = await project();
    const res = await runClient(
      'npm',
      ['install', 'vuln-pad', 'tail-vuln'],
      dir,
      await clientEnv(`${base}/sec~e2e/`, temps),
    );
    expect(res.code, res.stderr).toBe(0);
    expect(await installedVersion(dir, 'vuln-pad')).toBe('1.1.1');
    expect(await installedVersion(dir, 'tail-vuln')).toBe('1.4.2');
    const alerts = (await h.service.audit.query({ policy: 'sec', package: 'vuln-pad', outcome: 'alert' }))
      .entries;
    expect(alerts.map((e) => `${e.version} ${e.rule}`)).toContain('1.1.1 cooling-off');
    expect(alerts.find((e) => e.version === '1.1.1')?.reason).toMatch(
      /vuln-pad 1\.1\.1 is 24 hours old; allowed early: it fixes GHSA-vvvv-pppp-2222 \(high\) that affects 1\.1\.0/,
    );
  });

  it('refuses a package with no unaffected version with a 403 naming the advisory', async () => {
    const dir = await project();
    const res = await runClient('npm', ['install', 'all-vuln'], dir, await clientEnv(`${base}/sec/`, temps));
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/403/);
    expect(res.stderr).toMatch(/GHSA-aaaa-vvvv-4444 \(moderate\)/);
  });

  it('npm ci of a lockfile pinned to a vulnerable version fails at the tarball, naming the advisory', async () => {
    const dir = await project();
    const registry = `${base}/sec~ci/`;
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { 'vuln-pad': '1.1.0' } }),
    );
    await writeFile(
      join(dir, 'package-lock.json'),
      JSON.stringify({
        name: 'app',
        version: '1.0.0',
        lockfileVersion: 3,
        requires: true,
        packages: {
          '': { name: 'app', version: '1.0.0', dependencies: { 'vuln-pad': '1.1.0' } },
          'node_modules/vuln-pad': {
            version: '1.1.0',
            resolved: `${registry}vuln-pad/-/vuln-pad-1.1.0.tgz`,
            integrity: PACKUMENTS[0]!.versions['1.1.0']!.dist!.integrity,
          },
        },
      }),
    );
    const res = await runClient('npm', ['ci'], dir, await clientEnv(registry, temps));
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/403/);
    expect(res.stderr).toMatch(
      /vuln-pad@1\.1\.0 has advisory GHSA-vvvv-pppp-2222 \(high\): ReDoS in vuln-pad; fixed in 1\.1\.1/,
    );
    expect((await h.service.audit.query({ label: 'ci', outcome: 'blocked' })).entries).toEqual([
      expect.objectContaining({ package: 'vuln-pad', version: '1.1.0', rule: 'vulnerabilities' }),
    ]);
  });

  it('holds the young fix back under securityFixes: normal (nothing left: 403)', async () => {
    const dir = await project();
    const res = await runClient(
      'npm',
      ['install', 'vuln-pad'],
      dir,
      await clientEnv(`${base}/sec-slow/`, temps),
    );
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/403/);
    expect(res.stderr).toMatch(/no version of vuln-pad is allowed by policy sec-slow/);
  });
});
