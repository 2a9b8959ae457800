// `lockwarden audit` on each client's real lockfile (the `clients/` fixtures, written by the real
// yarn 1, yarn 4, pnpm and bun against a loopback registry), as the lockfile-source rule meets
// them: written against the configured registry, against another one, or with one entry edited to
// fetch a tarball from elsewhere. The configured registry is a fake on 127.0.0.1:0.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import npmDefinitions from '@npmcli/config/lib/definitions/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/engine/report.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { writeProject } from '../helpers/make-lockfile.js';
import { makePackument } from '../helpers/make-packument.js';
import { runCliCaptured } from '../helpers/run-cli-captured.js';

const NOW = new Date('2026-11-22T12:00:00.000Z');
const OLD = new Date('2025-01-01T00:00:00.000Z');
const fixtures = fileURLToPath(new URL('../fixtures/lockfiles/clients/', import.meta.url));
/** The registry the fixtures were written against. */
const WRITTEN_AGAINST = 'http://127.0.0.1:4873/';
const OTHER_REGISTRY = 'https://registry.example.test/';
const EVIL = 'https://tarballs.evil.test';

let work: string;
let registry: FakeRegistry;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-lockfile-sources-'));
  registry = await startFakeRegistry({
    shape: 'public',
    packuments: [
      { name: 'left-pad', versions: ['1.0.0', '1.1.0'] },
      { name: '@acme/is-odd', versions: ['3.0.0'] },
      { name: 'dev-tool', versions: ['2.0.0'] },
    ].map(({ name, versions }) =>
      makePackument({ name, versions: versions.map((version) => ({ version, publishedAt: OLD })) }),
    ),
  });
  writeFileSync(
    path.join(work, 'policy.json'),
    // Cooling-off asks the registry for every entry: the audit runs its usual checks as well.
    JSON.stringify({ id: 'ci', coolingOffDays: 7, typosquatting: false }),
  );
});

afterAll(async () => {
  await registry.close();
  rmSync(work, { recursive: true, force: true });
});

/** A copy of a client's fixture project with its lockfile text passed through `edit`. */
function project(client: string, lockfile: string, edit: (text: string) => string): string {
  const dir = mkdtempSync(path.join(work, `${client}-`));
  cpSync(path.join(fixtures, client), dir, { recursive: true });
  const file = path.join(dir, lockfile);
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
  return dir;
}

async function audit(
  dir: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; report: Report; stderr: string }> {
  const res = await runCliCaptured(
    [
      'audit',
      dir,
      '--json',
      '--policy',
      path.join(work, 'policy.json'),
      '--registry',
      registry.url,
      '--cache-dir',
      path.join(work, 'cache'),
    ],
    {
      // npm's user and global configuration kept off the machine's: only the project's applies.
      env: {
        PATH: process.env.PATH,
        npm_config_userconfig: path.join(work, 'no-user-npmrc'),
        npm_config_globalconfig: path.join(work, 'no-global-npmrc'),
        ...env,
      },
      cwd: dir,
      now: () => NOW,
    },
  );
  return { code: res.code, report: JSON.parse(res.stdout) as Report, stderr: res.stderr };
}

/** 1-based line of the first line of `file` starting with `prefix`. */
function lineOf(dir: string, file: string, prefix: string): number {
  const index = readFileSync(path.join(dir, file), 'utf8')
    .split('\n')
    .findIndex((l) => l.startsWith(prefix));
  expect(index, `${prefix} in ${file}`).toBeGreaterThanOrEqual(0);
  return index + 1;
}

const sourceFindings = (report: Report) =>
  report.findings
    .filter((f) => f.rule === 'lockfile-source')
    .map((f) => ({
      spec: `${f.name}@${f.version}`,
      effect: f.effect,
      observed: f.observed,
      locations: f.locations?.map((l) => `${l.file}:${l.line}`),
    }));

/** pnpm records tarball URLs with `lockfile-include-tarball-url=true`: added to each resolution. */
function withPnpmTarballs(base: string) {
  return (text: string) =>
    text.replace(
      /^ {2}'?((@[^/@\s]+\/)?([^@\s']+))@(\d[^:'\s]*)'?:\n {4}resolution: \{integrity: ([^}]+)\}/gm,
      (_m, name: string, _scope, bare: string, version: string, integrity: string) =>
        `  ${name.startsWith('@') ? `'${name}@${version}'` : `${name}@${version}`}:\n    resolution: {integrity: ${integrity}, tarball: ${base}${name}/-/${bare}-${version}.tgz}`,
    );
}

// Where each client's lockfile keeps an entry's key, for the line a finding points at.
const KEYS: Record<string, Record<string, string>> = {
  'yarn-classic': {
    'left-pad@1.1.0': 'left-pad@^1.0.0, left-pad@^1.1.0:',
    'left-pad@1.0.0': 'left-pad@1.0.0:',
    '@acme/is-odd@3.0.0': '"@acme/is-odd@^3.0.0":',
    'dev-tool@2.0.0': 'dev-tool@^2.0.0:',
  },
  pnpm: {
    'left-pad@1.1.0': '  left-pad@1.1.0:',
    'left-pad@1.0.0': '  left-pad@1.0.0:',
    '@acme/is-odd@3.0.0': "  '@acme/is-odd@3.0.0':",
    'dev-tool@2.0.0': '  dev-tool@2.0.0:',
  },
  bun: {
    'left-pad@1.1.0': '    "left-pad": [',
    'left-pad@1.0.0': '    "pad": [',
    '@acme/is-odd@3.0.0': '    "@acme/is-odd": [',
    'dev-tool@2.0.0': '    "dev-tool": [',
  },
};

describe.each([
  {
    client: 'yarn-classic',
    lockfile: 'yarn.lock',
    urls: (base: string) => (t: string) => t.replaceAll(WRITTEN_AGAINST, base),
  },
  { client: 'pnpm', lockfile: 'pnpm-lock.yaml', urls: withPnpmTarballs },
  {
    client: 'bun',
    lockfile: 'bun.lock',
    urls: (base: string) => (t: string) => t.replaceAll(WRITTEN_AGAINST, base),
  },
])('lockwarden audit on a $lockfile ($client) that records tarball URLs', ({ client, lockfile, urls }) => {
  it('written against the configured registry: no lockfile-source finding', async () => {
    const dir = project(client, lockfile, urls(registry.url));
    const { code, report } = await audit(dir);
    expect(sourceFindings(report)).toEqual([]);
    expect(code).toBe(0);
    expect(report.summary.checked).toBe(4);
  });

  it('written against another registry: each entry is a finding naming that host, on its own line', async () => {
    const dir = project(client, lockfile, urls(OTHER_REGISTRY));
    const { code, report } = await audit(dir);
    expect(code).toBe(1);
    const found = sourceFindings(report);
    expect(found.map((f) => f.spec).sort()).toEqual(Object.keys(KEYS[client]!).sort());
    for (const f of found) {
      expect(f).toMatchObject({ effect: 'block', observed: 'https://registry.example.test' });
      expect(f.locations?.[0]).toBe(`${lockfile}:${lineOf(dir, lockfile, KEYS[client]![f.spec]!)}`);
    }
    const leftPad = report.findings.find((f) => f.rule === 'lockfile-source' && f.version === '1.1.0')!;
    expect(leftPad.message).toMatch(
      /^left-pad@1\.1\.0 is fetched from https:\/\/registry\.example\.test, which is not the configured registry/,
    );
    expect(leftPad.message).toContain(registry.url);
  });

  /** The fixture written against the configured registry, left-pad@1.1.0's URL replaced by `url`. */
  const leftPadFetching = (url: string) =>
    project(client, lockfile, (text) => {
      const written = urls(registry.url)(text);
      const target = `${registry.url}left-pad/-/left-pad-1.1.0.tgz`;
      expect(written).toContain(target);
      return written.replaceAll(target, url);
    });
  /** The one lockfile-source finding then expected: left-pad@1.1.0's, at its entry's line. */
  const leftPadFinding = (dir: string, observed: string) => [
    {
      spec: 'left-pad@1.1.0',
      effect: 'block',
      observed,
      locations: [`${lockfile}:${lineOf(dir, lockfile, KEYS[client]!['left-pad@1.1.0']!)}`],
    },
  ];

  it('one entry edited to fetch a tarball from another host: that entry is a finding naming it', async () => {
    const dir = leftPadFetching(`${EVIL}/payload.tgz`);
    const { code, report, stderr } = await audit(dir);
    expect(stderr).toBe('');
    expect(code).toBe(1);
    expect(sourceFindings(report)).toEqual(leftPadFinding(dir, EVIL));
    // Still checked as the registry package it claims to be, and the odd tarball is said.
    expect(report.skipped.map((s) => s.name)).not.toContain('left-pad');
    expect(report.warnings.join('\n')).toMatch(
      /1 entries resolve to a tarball URL whose package and version cannot be read .* e\.g\. .*\(left-pad@1\.1\.0\) is not a registry tarball URL/,
    );
  });

  // The configured registry's host, so only what the URL names can tell: the install would get
  // the other tarball while cooling-off, advisories and the bundle check judge left-pad@1.1.0.
  it.each([
    ['another package', 'dev-tool/-/dev-tool-2.0.0.tgz', 'dev-tool@2.0.0'],
    ['another version', 'left-pad/-/left-pad-1.0.0.tgz', 'left-pad@1.0.0'],
    ['a scoped package', '@acme/is-odd/-/is-odd-3.0.0.tgz', '@acme/is-odd@3.0.0'],
  ])(
    'one entry edited to fetch %s’s tarball from the configured registry: a finding at that entry',
    async (_what, other, fetched) => {
      const dir = leftPadFetching(`${registry.url}${other}`);
      const { code, report, stderr } = await audit(dir);
      expect(stderr).toBe('');
      expect(code).toBe(1);
      expect(sourceFindings(report)).toEqual(leftPadFinding(dir, fetched));
      const finding = report.findings.find((f) => f.rule === 'lockfile-source')!;
      expect(finding.message).toContain(`left-pad@1.1.0 is fetched from the tarball of ${fetched}`);
      expect(finding.hint).toMatch(/regenerate the entry/);
      expect(report.warnings.join('\n')).not.toMatch(/tarball/);
    },
  );
});

describe('lockwarden audit on a package-lock.json whose entry names another tarball', () => {
  it.each([
    ['another package', 'dev-tool/-/dev-tool-2.0.0.tgz', 'dev-tool@2.0.0'],
    ['another version', 'left-pad/-/left-pad-1.0.0.tgz', 'left-pad@1.0.0'],
    ['a scoped package', '@acme/is-odd/-/is-odd-3.0.0.tgz', '@acme/is-odd@3.0.0'],
    ['its own tarball', 'left-pad/-/left-pad-1.1.0.tgz', null],
  ])('%s on the configured registry', async (_what, other, fetched) => {
    const dir = writeProject(mkdtempSync(path.join(work, 'npm-other-')), {
      name: 'npm-app',
      deps: [
        {
          name: 'left-pad',
          version: '1.1.0',
          resolved: `${registry.url}${other}`,
          integrity: 'sha512-leftpad==',
        },
        {
          name: 'dev-tool',
          version: '2.0.0',
          resolved: `${registry.url}dev-tool/-/dev-tool-2.0.0.tgz`,
          integrity: 'sha512-devtool==',
        },
      ],
    });
    const { code, report, stderr } = await audit(dir);
    expect(stderr).toBe('');
    expect(sourceFindings(report)).toEqual(
      fetched === null
        ? []
        : [
            {
              spec: 'left-pad@1.1.0',
              effect: 'block',
              observed: fetched,
              locations: [
                `package-lock.json:${lineOf(dir, 'package-lock.json', '    "node_modules/left-pad": {')}`,
              ],
            },
          ],
    );
    expect(report.warnings.join('\n')).not.toMatch(/tarball/);
    expect(code).toBe(fetched === null ? 0 : 1);
  });
});

describe('lockwarden audit on a yarn 1 lockfile', () => {
  it('an entry pinned only by its #<sha1> fragment (before yarn 1.10) is pinned: no "no integrity" finding', async () => {
    const dir = project('yarn-classic', 'yarn.lock', (text) =>
      text
        .replaceAll(WRITTEN_AGAINST, registry.url)
        // The entry as yarn 1.9 wrote it: the fragment, no integrity line.
        .replace(/(left-pad-1\.1\.0\.tgz#[0-9a-f]{40}"\n) {2}integrity [^\n]+\n/, '$1'),
    );
    const lock = readFileSync(path.join(dir, 'yarn.lock'), 'utf8');
    expect(lock).toMatch(/left-pad-1\.1\.0\.tgz#[0-9a-f]{40}"/);
    expect(lock).not.toMatch(/left-pad-1\.1\.0\.tgz#[0-9a-f]{40}"\n {2}integrity/);
    const { code, report } = await audit(dir);
    expect(sourceFindings(report)).toEqual([]);
    expect(code).toBe(0);
  });
});

describe('lockwarden audit on a yarn 4 (Berry) lockfile', () => {
  it('records no tarball URL for registry entries: fetched from the configured registry, no finding', async () => {
    const dir = project('yarn-berry', 'yarn.lock', (text) => text);
    expect(readFileSync(path.join(dir, 'yarn.lock'), 'utf8')).not.toMatch(/https?:\/\//);
    const { code, report } = await audit(dir);
    expect(sourceFindings(report)).toEqual([]);
    expect(report.summary.checked).toBe(4);
    expect(code).toBe(0);
  });

  // Berry binds a tarball URL into the resolution where the registry's layout does not give it
  // (`::__archiveUrl=`), and fetches from it; an edited resolution can name any URL.
  const KEY = '"left-pad@npm:^1.0.0, left-pad@npm:^1.1.0":';
  const RESOLUTION = 'resolution: "left-pad@npm:1.1.0"';
  const archiveUrl = (url: string) =>
    `resolution: "left-pad@npm:1.1.0::__archiveUrl=${encodeURIComponent(url)}"`;
  it.each([
    [
      'an __archiveUrl on the configured registry',
      () => archiveUrl(`${registry.url}left-pad/-/left-pad-1.1.0.tgz`),
      null,
    ],
    [
      'an __archiveUrl on another registry',
      () => archiveUrl(`${OTHER_REGISTRY}left-pad/-/left-pad-1.1.0.tgz`),
      'https://registry.example.test',
    ],
    ['a resolution edited to a URL', () => `resolution: "left-pad@${EVIL}/payload.tgz"`, EVIL],
  ])('%s', async (_what, resolution, host) => {
    const dir = project('yarn-berry', 'yarn.lock', (text) => {
      expect(text).toContain(RESOLUTION);
      return text.replace(RESOLUTION, resolution());
    });
    const { code, report } = await audit(dir);
    expect(sourceFindings(report)).toEqual(
      host === null
        ? []
        : [
            {
              spec: 'left-pad@1.1.0',
              effect: 'block',
              observed: host,
              locations: [`yarn.lock:${lineOf(dir, 'yarn.lock', KEY)}`],
            },
          ],
    );
    expect(report.skipped.map((s) => s.name)).not.toContain('left-pad');
    expect(code).toBe(host === null ? 0 : 1);
  });
});

// npm rewrites some lockfile URLs to the configured registry at install time
// (`replace-registry-host`): those pass, the others are fetched as written and must not.
describe('lockwarden audit on a package-lock.json under npm’s replace-registry-host', () => {
  // npm's default registry, from npm's own definitions (never written down in this repository).
  const npmDefault = new URL(
    (npmDefinitions.definitions as Record<string, { default?: unknown }>).registry!.default as string,
  );
  const npmDefaultHost = `${npmDefault.protocol}//${npmDefault.host}`;

  it.each<[string, string | undefined, NodeJS.ProcessEnv, string[]]>([
    [
      'unset: npm rewrites its default registry only',
      undefined,
      {},
      ['dev-tool@2.0.0 https://old.example.test'],
    ],
    [
      'never: nothing is rewritten, so npm’s default registry is another host',
      'never',
      {},
      [`left-pad@1.1.0 ${npmDefaultHost}`, 'dev-tool@2.0.0 https://old.example.test'],
    ],
    ['always: every URL goes to the configured registry', 'always', {}, []],
    [
      'a host name: that host is rewritten instead',
      'old.example.test',
      {},
      [`left-pad@1.1.0 ${npmDefaultHost}`],
    ],
    [
      'the environment over the project .npmrc',
      'always',
      { npm_config_replace_registry_host: 'never' },
      [`left-pad@1.1.0 ${npmDefaultHost}`, 'dev-tool@2.0.0 https://old.example.test'],
    ],
  ])('%s', async (_what, setting, env, expected) => {
    const dir = writeProject(mkdtempSync(path.join(work, 'npm-')), {
      name: 'npm-app',
      deps: [
        {
          name: 'left-pad',
          version: '1.1.0',
          resolved: `${npmDefault.origin}/left-pad/-/left-pad-1.1.0.tgz`,
          integrity: 'sha512-leftpad==',
        },
        {
          name: 'dev-tool',
          version: '2.0.0',
          resolved: 'https://old.example.test/dev-tool/-/dev-tool-2.0.0.tgz',
          integrity: 'sha512-devtool==',
        },
        {
          name: '@acme/is-odd',
          version: '3.0.0',
          resolved: `${registry.url}@acme/is-odd/-/is-odd-3.0.0.tgz`,
          integrity: 'sha512-isodd==',
        },
      ],
    });
    if (setting !== undefined) writeFileSync(path.join(dir, '.npmrc'), `replace-registry-host=${setting}\n`);
    const { code, report, stderr } = await audit(dir, env);
    expect(stderr).toBe('');
    const found = report.findings.filter((f) => f.rule === 'lockfile-source');
    expect(found.map((f) => `${f.name}@${f.version} ${f.observed}`).sort()).toEqual([...expected].sort());
    for (const f of found) {
      expect(f.locations?.[0]).toMatchObject({
        file: 'package-lock.json',
        line: lineOf(dir, 'package-lock.json', `    "node_modules/${f.name}": {`),
      });
    }
    expect(code).toBe(expected.length > 0 ? 1 : 0);
  });
});

// A name@version is reported once, but each copy is fetched from its own URL: editing a nested
// copy behind an untouched first one must not get past the rule.
describe('lockwarden audit when one copy of a package is edited and another is not', () => {
  it('bun.lock: the edited copy is a finding at its own line only', async () => {
    const dir = project('bun', 'bun.lock', (text) =>
      text
        .replaceAll(WRITTEN_AGAINST, registry.url)
        .replace(
          `"dev-tool/left-pad": ["left-pad@1.0.0", "${registry.url}left-pad/-/left-pad-1.0.0.tgz"`,
          `"dev-tool/left-pad": ["left-pad@1.0.0", "${EVIL}/left-pad/-/left-pad-1.0.0.tgz"`,
        ),
    );
    const { code, report } = await audit(dir);
    expect(sourceFindings(report)).toEqual([
      {
        spec: 'left-pad@1.0.0',
        effect: 'block',
        observed: EVIL,
        locations: [`bun.lock:${lineOf(dir, 'bun.lock', '    "dev-tool/left-pad": [')}`],
      },
    ]);
    expect(code).toBe(1);
  });

  it('package-lock.json: a nested copy edited behind the hoisted one is a finding at its line', async () => {
    const dir = writeProject(mkdtempSync(path.join(work, 'npm-nested-')), {
      name: 'npm-app',
      rootDependencies: { 'left-pad': '1.0.0', 'dev-tool': '2.0.0' },
      deps: [
        {
          name: 'left-pad',
          version: '1.0.0',
          resolved: `${registry.url}left-pad/-/left-pad-1.0.0.tgz`,
          integrity: 'sha512-leftpad==',
        },
        {
          name: 'dev-tool',
          version: '2.0.0',
          dependencies: { 'left-pad': '1.0.0' },
          resolved: `${registry.url}dev-tool/-/dev-tool-2.0.0.tgz`,
          integrity: 'sha512-devtool==',
        },
        {
          name: 'left-pad',
          version: '1.0.0',
          location: 'node_modules/dev-tool/node_modules/left-pad',
          resolved: `${EVIL}/left-pad/-/left-pad-1.0.0.tgz`,
          integrity: 'sha512-evil==',
        },
      ],
    });
    const { code, report } = await audit(dir);
    expect(sourceFindings(report)).toEqual([
      {
        spec: 'left-pad@1.0.0',
        effect: 'block',
        observed: EVIL,
        locations: [
          `package-lock.json:${lineOf(dir, 'package-lock.json', '    "node_modules/dev-tool/node_modules/left-pad": {')}`,
        ],
      },
    ]);
    expect(code).toBe(1);
  });
});
