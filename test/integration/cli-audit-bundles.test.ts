// `lockwarden audit` of pnpm, yarn and bun lockfiles, which do not list the packages a dependency
// bundles: the bundler's tarball is read (from a loopback fake registry) and what it carries is
// judged as the proxy and `update` judge it, the finding put on the bundler's own lockfile line.
// What cannot be read is unavailable (onUnavailable), and a warm audit reads no tarball again.
// npm's lockfiles list bundled packages (inBundle), but the tarball is read for them too: an edited
// list must not hide what `npm ci` installs.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/engine/report.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { makeV3LockText } from '../helpers/lockfile-builders.js';
import { type FullPackument, makePackument } from '../helpers/make-packument.js';
import { daysAgo, NOW } from '../helpers/make-policy.js';
import { runCliCaptured } from '../helpers/run-cli-captured.js';

const at = (days: number) => new Date(daysAgo(days));
/** What a bundler's tarball carries: `inner` at this version, and `deep` under it. */
const bundle = (innerVersion: string) => ({
  'node_modules/inner/package.json': JSON.stringify({ name: 'inner', version: innerVersion }),
  'node_modules/inner/node_modules/deep/package.json': JSON.stringify({ name: 'deep', version: '3.0.0' }),
});
const PACKUMENTS: FullPackument[] = [
  // Bundles inner 1.3.0, published two days ago: inside the 7-day cooling-off.
  makePackument({
    name: 'bund',
    versions: [
      {
        version: '1.0.0',
        publishedAt: at(300),
        extra: { bundleDependencies: ['inner'] },
        files: bundle('1.3.0'),
      },
    ],
  }),
  // Bundles inner 1.0.0, old: allowed.
  makePackument({
    name: 'bund-ok',
    versions: [
      {
        version: '1.0.0',
        publishedAt: at(300),
        extra: { bundleDependencies: ['inner'] },
        files: bundle('1.0.0'),
      },
    ],
  }),
  makePackument({
    name: 'inner',
    versions: ['1.0.0', '1.3.0'].map((version) => ({
      version,
      publishedAt: at(version === '1.3.0' ? 2 : 400),
    })),
  }),
  makePackument({ name: 'deep', versions: [{ version: '3.0.0', publishedAt: at(400) }] }),
  makePackument({ name: 'left-pad', versions: [{ version: '1.0.0', publishedAt: at(400) }] }),
  // A bundled manifest that is not JSON: what it is cannot be known.
  makePackument({
    name: 'bund-bad',
    versions: [
      {
        version: '1.0.0',
        publishedAt: at(300),
        extra: { bundleDependencies: ['inner'] },
        files: { 'node_modules/inner/package.json': '{' },
      },
    ],
  }),
  // Served with other bytes than its document's integrity (see TAMPERED).
  makePackument({
    name: 'bund-tampered',
    versions: [
      {
        version: '1.0.0',
        publishedAt: at(300),
        extra: { bundleDependencies: ['inner'] },
        files: bundle('1.0.0'),
      },
    ],
  }),
];
/** Bundlers whose documents publish only the legacy shasum, or no digest at all. */
const LEGACY = [
  // Bundles inner 1.3.0 (blocked); served as published.
  ['bund-sha', '1.3.0', 'shasum'],
  // Bundles inner 1.3.0 by its shasum; served with another valid tarball (bund-ok's, see beforeAll).
  ['bund-sha-swapped', '1.3.0', 'shasum'],
  // Bundles inner 1.0.0 (allowed), and nothing says which bytes are its.
  ['bund-nodigest', '1.0.0', 'none'],
] as const;
for (const [name, inner] of LEGACY) {
  const doc = makePackument({
    name,
    versions: [
      {
        version: '1.0.0',
        publishedAt: at(300),
        extra: { bundleDependencies: ['inner'] },
        files: bundle(inner),
      },
    ],
  });
  PACKUMENTS.push(doc);
}
/** The integrity each lockfile records (what the client computed when it installed). */
const LOCKED_INTEGRITY = new Map(PACKUMENTS.map((p) => [p.name, p.versions['1.0.0']?.dist?.integrity]));
for (const [name, , digest] of LEGACY) {
  const dist = PACKUMENTS.find((p) => p.name === name)!.versions['1.0.0']!.dist!;
  delete dist.integrity;
  if (digest === 'none') delete dist.shasum;
}
const TAMPERED: Record<string, Buffer> = {
  'bund-tampered@1.0.0': Buffer.from('not the tarball the document published'),
};
const PINNED = ['bund', 'bund-ok', 'left-pad'];
const depsOf = (pinned: readonly string[]) => Object.fromEntries(pinned.map((n) => [n, '^1.0.0']));
type Format = 'pnpm-lock.yaml' | 'yarn.lock' | 'bun.lock';
const FORMATS: Format[] = ['pnpm-lock.yaml', 'yarn.lock', 'bun.lock'];

let registry: FakeRegistry;
let work: string;

beforeAll(async () => {
  registry = await startFakeRegistry({ shape: 'public', packuments: PACKUMENTS, tarballs: TAMPERED });
  const okTarball = await fetch(`${registry.url}bund-ok/-/bund-ok-1.0.0.tgz`);
  TAMPERED['bund-sha-swapped@1.0.0'] = Buffer.from(await okTarball.arrayBuffer());
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-audit-bundles-'));
});

afterAll(async () => {
  await registry?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function integrity(name: string): string {
  return LOCKED_INTEGRITY.get(name)!;
}

/** The lockfile each client would write for `pinned` (each at 1.0.0) against the fake registry. */
function lockText(format: Format, pinned: readonly string[]): string {
  const deps = depsOf(pinned);
  const url = (name: string) => `${registry.url}${name}/-/${name}-1.0.0.tgz`;
  if (format === 'pnpm-lock.yaml') {
    const importer = pinned
      .map((n) => `      ${n}:\n        specifier: ${deps[n]}\n        version: 1.0.0\n`)
      .join('');
    const packages = pinned
      .map(
        (n) =>
          `  ${n}@1.0.0:\n    resolution: {integrity: ${integrity(n)}}\n${n.startsWith('bund') ? '    bundledDependencies: [inner]\n' : ''}`,
      )
      .join('\n');
    const snapshots = pinned.map((n) => `  ${n}@1.0.0: {}\n`).join('\n');
    return `lockfileVersion: '9.0'\n\nsettings:\n  autoInstallPeers: true\n  excludeLinksFromLockfile: false\n\nimporters:\n\n  .:\n    dependencies:\n${importer}\npackages:\n\n${packages}\nsnapshots:\n\n${snapshots}`;
  }
  if (format === 'yarn.lock') {
    const blocks = pinned.map(
      (n) => `${n}@${deps[n]}:\n  version "1.0.0"\n  resolved "${url(n)}"\n  integrity ${integrity(n)}\n`,
    );
    return `# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\n${blocks.join('\n')}`;
  }
  const packages = pinned.map((n) => `    "${n}": ["${n}@1.0.0", "${url(n)}", {}, "${integrity(n)}"],`);
  return `{\n  "lockfileVersion": 1,\n  "workspaces": {\n    "": {\n      "name": "app",\n      "dependencies": ${JSON.stringify(deps)},\n    },\n  },\n  "packages": {\n${packages.join('\n\n')}\n  }\n}\n`;
}

function project(format: Format, pinned: readonly string[] = PINNED): string {
  const dir = mkdtempSync(path.join(work, `${format.replace('.', '-')}-`));
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: depsOf(pinned) }),
  );
  writeFileSync(path.join(dir, format), lockText(format, pinned));
  return dir;
}

async function audit(dir: string, cacheDir: string, policy: Record<string, unknown> = {}) {
  const policyFile = path.join(dir, 'policy.json');
  writeFileSync(
    policyFile,
    JSON.stringify({
      id: 'bundles',
      coolingOffDays: 7,
      typosquatting: false,
      onUnavailable: 'block',
      ...policy,
    }),
  );
  mkdirSync(cacheDir, { recursive: true });
  const res = await runCliCaptured(
    // No retries: a fault answers once per request.
    [
      'audit',
      dir,
      '--json',
      '--policy',
      policyFile,
      '--registry',
      registry.url,
      '--cache-dir',
      cacheDir,
      '--retries',
      '0',
    ],
    { env: { PATH: process.env.PATH }, cwd: dir, now: () => NOW },
  );
  if (res.stdout === '') throw new Error(`audit printed no report: ${res.stderr}`);
  return { code: res.code, report: JSON.parse(res.stdout) as Report, stderr: res.stderr };
}

const tarballRequests = () => registry.requests.filter((r) => r.path.endsWith('.tgz'));
const documentRequests = () => registry.requests.filter((r) => !r.path.endsWith('.tgz'));

describe.each(FORMATS)('%s', (format) => {
  it('blocks the bundler whose tarball bundles a blocked version, at its line; an allowed bundle passes; a warm audit reads no tarball', async () => {
    const dir = project(format);
    const cacheDir = path.join(dir, '.cache');
    const tarballsBefore = tarballRequests().length;
    const documentsBefore = documentRequests().length;
    const { code, report, stderr } = await audit(dir, cacheDir);
    expect(code, stderr).toBe(1);
    expect(report.summary.checked).toBe(3);
    expect(report.findings.map((f) => `${f.effect} ${f.outcome} ${f.rule} ${f.name}@${f.version}`)).toEqual([
      'block block cooling-off bund@1.0.0',
    ]);
    const [finding] = report.findings;
    // The proxy's and update's wording: the bundler, the bundled version, its own finding.
    expect(finding!.message).toMatch(
      /^bund@1\.0\.0 bundles inner@1\.3\.0: inner@1\.3\.0 was published 2 days? ago/,
    );
    expect(finding!.evidence).toEqual({ bundled: 'inner@1.3.0' });
    const lines = readFileSync(path.join(dir, format), 'utf8').split('\n');
    expect(finding!.locations).toHaveLength(1);
    expect(finding!.locations![0]!.file).toBe(format);
    expect(lines[finding!.locations![0]!.line - 1]).toMatch(/^\s*"?bund[@"]/);
    // Both bundlers' tarballs were read, once each; left-pad bundles nothing and was not.
    const read = tarballRequests()
      .slice(tarballsBefore)
      .map((r) => r.path);
    expect(read.sort()).toEqual(['/bund-ok/-/bund-ok-1.0.0.tgz', '/bund/-/bund-1.0.0.tgz']);

    // The entries' documents, read for their own facts, said which declare bundles: none twice.
    const documents = documentRequests()
      .slice(documentsBefore)
      .map((r) => r.path)
      .filter((p) => PINNED.includes(p.slice(1)));
    expect(documents.sort()).toEqual(['/bund', '/bund-ok', '/left-pad']);

    // Warm: the same verdicts from the kept facts, without a tarball or a document.
    const requests = registry.requests.length;
    const warm = await audit(dir, cacheDir);
    expect(warm.code).toBe(1);
    expect(warm.report.findings.map((f) => f.message)).toEqual(report.findings.map((f) => f.message));
    expect(registry.requests.length).toBe(requests);
  });

  it('under action alert the bundled block is an alert on the bundler', async () => {
    const dir = project(format);
    const { code, report } = await audit(dir, path.join(dir, '.cache'), { action: 'alert' });
    expect(code).toBe(0);
    expect(report.findings.map((f) => `${f.effect} ${f.rule} ${f.name}@${f.version}`)).toEqual([
      'alert cooling-off bund@1.0.0',
    ]);
  });

  it('a policy that needs no registry facts still reads the bundles: the block list applies inside them, and warm asks nothing', async () => {
    const dir = project(format);
    const cacheDir = path.join(dir, '.cache');
    const policy = { coolingOffDays: 0, block: [{ package: 'deep@>=3.0.0', reason: 'planted' }] };
    const { code, report } = await audit(dir, cacheDir, policy);
    expect(code).toBe(1);
    expect(
      report.findings.map((f) => `${f.effect} ${f.rule} ${f.name}@${f.version} ${f.evidence?.bundled}`),
    ).toEqual(['block blocklist bund@1.0.0 deep@3.0.0', 'block blocklist bund-ok@1.0.0 deep@3.0.0']);
    const requests = registry.requests.length;
    const warm = await audit(dir, cacheDir, policy);
    expect(warm.report.findings).toEqual(report.findings);
    expect(registry.requests.length).toBe(requests);
  });

  it.each(['block', 'alert'] as const)(
    'a tarball that cannot be had is unavailable on its bundler, never a pass (onUnavailable %s)',
    async (onUnavailable) => {
      const dir = project(format);
      registry.fault({ kind: 'status', status: 404, match: (r) => r.path.endsWith('.tgz') });
      try {
        const { code, report, stderr } = await audit(dir, path.join(dir, '.cache'), { onUnavailable });
        expect(code, stderr).toBe(onUnavailable === 'block' ? 3 : 0);
        const unavailable = report.findings.filter((f) => f.outcome === 'unavailable');
        expect(unavailable.map((f) => `${f.effect} ${f.rule} ${f.name}@${f.version}`).sort()).toEqual([
          `${onUnavailable} not-on-registry bund-ok@1.0.0`,
          `${onUnavailable} not-on-registry bund@1.0.0`,
        ]);
        expect(unavailable[0]!.source).toBe('registry');
        expect(unavailable[0]!.message).toMatch(
          /^bundled packages unavailable: could not read the tarball of bund(-ok)?@1\.0\.0: the registry has no tarball for it \(onUnavailable: (block|alert)\)$/,
        );
        expect(report.findings.filter((f) => f.outcome !== 'unavailable')).toEqual([]);
      } finally {
        registry.clearFaults();
      }
    },
  );
});

describe('pnpm-lock.yaml', () => {
  it('reads no tarball for an entry already blocked', async () => {
    const dir = project('pnpm-lock.yaml');
    const before = tarballRequests().length;
    const { report } = await audit(dir, path.join(dir, '.cache'), { block: [{ package: 'bund' }] });
    expect(report.findings.map((f) => `${f.rule} ${f.name}@${f.version}`)).toEqual(['blocklist bund@1.0.0']);
    expect(
      tarballRequests()
        .slice(before)
        .map((r) => r.path),
    ).toEqual(['/bund-ok/-/bund-ok-1.0.0.tgz']);
  });

  it('a bundled package whose facts cannot be had makes its bundler unavailable, with its own finding', async () => {
    const dir = project('pnpm-lock.yaml');
    registry.fault({ kind: 'status', status: 500, match: (r) => r.path === '/inner' });
    try {
      const { code, report } = await audit(dir, path.join(dir, '.cache'));
      expect(code).toBe(3);
      expect(report.findings.map((f) => `${f.outcome} ${f.rule} ${f.name}@${f.version}`).sort()).toEqual([
        'unavailable cooling-off bund-ok@1.0.0',
        'unavailable cooling-off bund@1.0.0',
      ]);
      expect(report.findings[0]!.message).toMatch(
        /^bund(-ok)?@1\.0\.0 bundles inner@1\.[03]\.0: publish time unavailable: /,
      );
    } finally {
      registry.clearFaults();
    }
  });

  it('a tarball that does not match its integrity, or bundles a manifest that cannot be read, is unavailable', async () => {
    const dir = project('pnpm-lock.yaml', ['bund-bad', 'bund-tampered']);
    const { code, report } = await audit(dir, path.join(dir, '.cache'));
    expect(code).toBe(3);
    const messages = report.findings.map((f) => `${f.outcome} ${f.rule} ${f.name}: ${f.message}`).sort();
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatch(
      /^unavailable not-on-registry bund-bad: bundled packages unavailable: bund-bad@1\.0\.0 bundles manifests that cannot be read \(node_modules\/inner\/package\.json\), so what they are is unknown \(onUnavailable: block\)$/,
    );
    expect(messages[1]).toMatch(
      /^unavailable not-on-registry bund-tampered: bundled packages unavailable: could not read the tarball of bund-tampered@1\.0\.0: registry http:\/\/127\.0\.0\.1:\d+\/bund-tampered\/-\/bund-tampered-1\.0\.0\.tgz: the tarball does not match the integrity the registry published \(onUnavailable: block\)$/,
    );
  });

  it('a registry outage: what each entry bundles is unavailable too, without asking the registry again', async () => {
    const dir = project('pnpm-lock.yaml');
    registry.fault({ kind: 'status', status: 500 });
    const before = registry.requests.length;
    try {
      // Under onUnavailable block the outage blocks each entry already: nothing more to judge.
      const { code, report } = await audit(dir, path.join(dir, '.cache'), { onUnavailable: 'alert' });
      expect(code).toBe(0);
      const facts = (name: string) =>
        report.findings.filter((f) => f.name === name).map((f) => `${f.rule} ${f.evidence?.fact}`);
      for (const name of PINNED)
        expect(facts(name).sort(), name).toEqual([
          'cooling-off publish time',
          'not-on-registry bundled packages',
        ]);
      // One document request per entry (its own facts), none for what it bundles.
      expect(
        registry.requests
          .slice(before)
          .map((r) => r.path)
          .sort(),
      ).toEqual(['/bund', '/bund-ok', '/left-pad']);
    } finally {
      registry.clearFaults();
    }
  });
});

describe('documents without an integrity', () => {
  it('a shasum-only tarball is checked against its shasum: as published it is judged and kept; swapped it is unavailable, never judged from the swapped bytes', async () => {
    const dir = project('pnpm-lock.yaml', ['bund-sha', 'bund-sha-swapped']);
    const cacheDir = path.join(dir, '.cache');
    const { code, report } = await audit(dir, cacheDir);
    expect(code).toBe(1);
    const found = report.findings.map((f) => `${f.outcome} ${f.rule} ${f.name}: ${f.message}`).sort();
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^block cooling-off bund-sha: bund-sha@1\.0\.0 bundles inner@1\.3\.0: /);
    expect(found[1]).toMatch(
      /^unavailable not-on-registry bund-sha-swapped: .*could not read the tarball of bund-sha-swapped@1\.0\.0: the tarball does not match the shasum the registry published/,
    );
    // The verified list is kept; the swapped one is read again (a failure is not kept).
    const tarballs = tarballRequests().length;
    const warm = await audit(dir, cacheDir);
    expect(warm.report.findings).toEqual(report.findings);
    expect(
      tarballRequests()
        .slice(tarballs)
        .map((r) => r.path),
    ).toEqual(['/bund-sha-swapped/-/bund-sha-swapped-1.0.0.tgz']);
  });

  it('a tarball no digest vouches for is judged, but its list is not kept: every audit reads it again', async () => {
    const dir = project('pnpm-lock.yaml', ['bund-nodigest']);
    const cacheDir = path.join(dir, '.cache');
    for (let run = 0; run < 2; run++) {
      const tarballs = tarballRequests().length;
      const { report } = await audit(dir, cacheDir);
      expect(report.findings.filter((f) => f.evidence?.bundled !== undefined)).toEqual([]);
      expect(tarballRequests().length, `run ${run}`).toBe(tarballs + 1);
    }
  });
});

describe('npm lockfiles', () => {
  /** A package-lock.json pinning `bundler` at 1.0.0, whose `inBundle` entries are `listed`. */
  function npmProject(bundler: string, listed: Record<string, string>): string {
    const dir = mkdtempSync(path.join(work, 'npm-'));
    const dependencies = { [bundler]: '^1.0.0' };
    writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies }),
    );
    const inBundle = Object.fromEntries(
      Object.entries(listed).map(([at, version]) => [
        `node_modules/${bundler}/node_modules/${at}`,
        { version, inBundle: true },
      ]),
    );
    writeFileSync(
      path.join(dir, 'package-lock.json'),
      makeV3LockText(
        {
          [`node_modules/${bundler}`]: {
            version: '1.0.0',
            resolved: `${registry.url}${bundler}/-/${bundler}-1.0.0.tgz`,
            integrity: integrity(bundler),
            bundleDependencies: ['inner'],
          },
          ...inBundle,
        },
        { name: 'app', version: '1.0.0', dependencies },
      ),
    );
    return dir;
  }

  it('an inBundle list edited to hide a blocked version: the tarball says what npm ci installs, and the bundler is blocked; warm asks nothing', async () => {
    // bund's tarball bundles inner@1.3.0 (2 days old); the lockfile claims inner@1.0.0.
    const dir = npmProject('bund', { inner: '1.0.0', 'inner/node_modules/deep': '3.0.0' });
    const cacheDir = path.join(dir, '.cache');
    const tarballs = tarballRequests().length;
    const { code, report, stderr } = await audit(dir, cacheDir);
    expect(code, stderr).toBe(1);
    expect(
      report.findings.map((f) => `${f.effect} ${f.rule} ${f.name}@${f.version} ${f.evidence?.bundled}`),
    ).toEqual(['block cooling-off bund@1.0.0 inner@1.3.0']);
    const line = report.findings[0]!.locations![0]!;
    expect(readFileSync(path.join(dir, line.file), 'utf8').split('\n')[line.line - 1]).toMatch(
      /"node_modules\/bund"/,
    );
    expect(tarballRequests().length).toBe(tarballs + 1);
    const requests = registry.requests.length;
    const warm = await audit(dir, cacheDir);
    expect(warm.code).toBe(1);
    expect(warm.report.findings).toEqual(report.findings);
    expect(registry.requests.length).toBe(requests);
  });

  it('under a policy that needs no registry facts, the tarball is read all the same: an edited list hides no blocklisted version', async () => {
    const dir = npmProject('bund', { inner: '1.0.0', 'inner/node_modules/deep': '3.0.0' });
    const policy = { coolingOffDays: 0, block: [{ package: 'inner@>=1.3.0', reason: 'planted' }] };
    const { code, report, stderr } = await audit(dir, path.join(dir, '.cache'), policy);
    expect(code, stderr).toBe(1);
    expect(
      report.findings.map((f) => `${f.effect} ${f.rule} ${f.name}@${f.version} ${f.evidence?.bundled}`),
    ).toEqual(['block blocklist bund@1.0.0 inner@1.3.0']);
  });

  it('an honest inBundle list: a blocked bundled version is reported once, at its own entry', async () => {
    const dir = npmProject('bund', { inner: '1.3.0', 'inner/node_modules/deep': '3.0.0' });
    const { code, report } = await audit(dir, path.join(dir, '.cache'));
    expect(code).toBe(1);
    expect(report.findings.map((f) => `${f.effect} ${f.rule} ${f.name}@${f.version}`)).toEqual([
      'block cooling-off inner@1.3.0',
    ]);
  });

  it('an honest inBundle list of allowed versions passes; the tarball is read once, and a warm audit makes no request', async () => {
    const dir = npmProject('bund-ok', { inner: '1.0.0', 'inner/node_modules/deep': '3.0.0' });
    const cacheDir = path.join(dir, '.cache');
    const tarballs = tarballRequests().length;
    const { code, report } = await audit(dir, cacheDir);
    expect(code).toBe(0);
    expect(report.summary.checked).toBe(3);
    expect(report.findings).toEqual([]);
    expect(tarballRequests().length).toBe(tarballs + 1);
    const requests = registry.requests.length;
    const warm = await audit(dir, cacheDir);
    expect(warm.code).toBe(0);
    expect(registry.requests.length).toBe(requests);
  });
});
