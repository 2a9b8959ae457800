// What the Action reads at the pull request's base commit, against real git repositories: the
// base lockfile with its workspaces, so a monorepo's diff lists exactly what the pull request did.
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import npmDefinitions from '@npmcli/config/lib/definitions/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/action/main.js';
import { startFakeGitHubRepoApi } from '../helpers/fake-github-repo-api.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { git } from '../helpers/make-action-repo.js';
import { makePackument } from '../helpers/make-packument.js';
import { daysAgo, NOW } from '../helpers/make-policy.js';
import { createRecordingCore } from '../helpers/recording-action-core.js';

// The real lockfiles beside the checkout (present in this project's CI, not on GitHub's runners).
const ORIGAMI = path.resolve(import.meta.dirname, '../../../shared/lockfiles/Financial-Times__origami');
const haveOrigami = existsSync(path.join(ORIGAMI, 'package-lock.json'));

/** Commits the files of `base`, applies `edit` to the working tree and commits that as head. */
function commitPair(dir: string, base: (dir: string) => void, edit: (dir: string) => void) {
  rmSync(dir, { recursive: true, force: true });
  base(dir);
  git(dir, ['init', '--quiet', '--initial-branch=main']);
  git(dir, ['add', '--all']);
  git(dir, ['commit', '--quiet', '--message', 'base']);
  const baseSha = git(dir, ['rev-parse', 'HEAD']);
  edit(dir);
  git(dir, ['add', '--all']);
  git(dir, ['commit', '--quiet', '--message', 'head']);
  return { dir, baseSha, headSha: git(dir, ['rev-parse', 'HEAD']) };
}

const POLICY = 'id: team\ncoolingOffDays: 7\ntyposquatting: false\n';
let work: string;
let registry: FakeRegistry;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-action-base-'));
  registry = await startFakeRegistry({
    packuments: [
      makePackument({
        name: 'accepts',
        versions: [
          { version: '1.3.8', publishedAt: new Date(daysAgo(900)) },
          { version: '1.3.9', publishedAt: new Date(daysAgo(2)) },
        ],
      }),
      makePackument({ name: 'kept', versions: [{ version: '1.0.0', publishedAt: new Date(daysAgo(500)) }] }),
      ...['a', 'b', 'd'].map((name) =>
        makePackument({ name, versions: [{ version: '1.0.0', publishedAt: new Date(daysAgo(500)) }] }),
      ),
      makePackument({ name: 'c', versions: [{ version: '2.0.0', publishedAt: new Date(daysAgo(500)) }] }),
    ],
  });
});

afterAll(async () => {
  await registry?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function prEnv(repo: { dir: string; baseSha: string; headSha: string }, name: string) {
  const eventPath = path.join(work, `${name}-event.json`);
  writeFileSync(
    eventPath,
    JSON.stringify({ pull_request: { number: 3, base: { sha: repo.baseSha }, head: { sha: repo.headSha } } }),
  );
  return {
    HOME: work,
    PATH: process.env.PATH,
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_WORKSPACE: repo.dir,
    GITHUB_REPOSITORY: 'octo/app',
    GITHUB_API_URL: 'http://127.0.0.1:9/',
    RUNNER_TEMP: path.join(work, `${name}-runner-temp`),
    LOCKWARDEN_CACHE_DIR: path.join(work, `${name}-cache`),
    LOCKWARDEN_DOWNLOADS_URL: registry.url,
  };
}

/** The summary's change lines for the one lockfile. */
function changeLines(summary: string): string[] {
  return summary
    .split('\n')
    .filter((l) => /^(?:- )?(Updated|Added|Removed|Same version|Added without)/.test(l.trim()));
}

/** A small workspace monorepo: two workspaces, one registry dependency each. */
function writeMonorepo(dir: string, acceptsVersion: string) {
  const json = (file: string, value: unknown) => {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), `${JSON.stringify(value, null, 2)}\n`);
  };
  const root = { name: 'mono', version: '1.0.0', private: true, workspaces: ['packages/*'] };
  json('package.json', root);
  json('packages/web/package.json', { name: 'web', version: '1.0.0', dependencies: { accepts: '^1.3.8' } });
  json('packages/api/package.json', { name: 'api', version: '1.0.0', dependencies: { kept: '1.0.0' } });
  const tarball = (name: string, version: string) => `${registry.url}${name}/-/${name}-${version}.tgz`;
  json('package-lock.json', {
    name: 'mono',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': root,
      'node_modules/api': { resolved: 'packages/api', link: true },
      'node_modules/web': { resolved: 'packages/web', link: true },
      'node_modules/accepts': {
        version: acceptsVersion,
        resolved: tarball('accepts', acceptsVersion),
        integrity: `sha512-${Buffer.from(acceptsVersion).toString('base64')}`,
      },
      'node_modules/kept': {
        version: '1.0.0',
        resolved: tarball('kept', '1.0.0'),
        integrity: 'sha512-a2VwdA==',
      },
      'packages/api': { name: 'api', version: '1.0.0', dependencies: { kept: '1.0.0' } },
      'packages/web': { name: 'web', version: '1.0.0', dependencies: { accepts: '^1.3.8' } },
    },
  });
  writeFileSync(path.join(dir, 'lockwarden.yml'), POLICY);
}

describe('a workspace monorepo', () => {
  it('a pull request bumping one dependency lists exactly that one change and checks only it', async () => {
    const repo = commitPair(
      path.join(work, 'mono'),
      (dir) => writeMonorepo(dir, '1.3.8'),
      (dir) => writeMonorepo(dir, '1.3.9'),
    );
    const fake = createRecordingCore({ registry: registry.url, scope: 'changed', policy: 'lockwarden.yml' });
    await run({ core: fake.core, env: prEnv(repo, 'mono'), now: () => NOW });
    expect(changeLines(fake.summaries[0]!)).toEqual([
      expect.stringContaining('Updated the following: accepts 1.3.8 → 1.3.9'),
    ]);
    expect(fake.outputs()).toMatchObject({ checked: '1', blocked: '1' });
    expect(fake.of('notice')).toEqual([]);
  });
});

/** The summary from its lockfile changes on. */
function changeSection(summary: string): string {
  const at = summary.indexOf('### Lockfile changes');
  expect(at).toBeGreaterThan(-1);
  return summary.slice(at);
}

/** The same monorepo with a yarn classic lockfile, which names no workspaces. */
function writeYarnClassicMonorepo(dir: string, acceptsVersion: string, workspaces: unknown) {
  const json = (file: string, value: unknown) => {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), `${JSON.stringify(value, null, 2)}\n`);
  };
  json('package.json', { name: 'mono', version: '1.0.0', private: true, workspaces });
  json('packages/web/package.json', { name: 'web', version: '1.0.0', dependencies: { accepts: '^1.3.8' } });
  json('packages/api/package.json', { name: 'api', version: '1.0.0', dependencies: { kept: '1.0.0' } });
  // Not a workspace: the negated pattern (when there is one) leaves it out, and no glob reaches it.
  json('tools/package.json', { name: 'tools', version: '1.0.0' });
  const tarball = (name: string, version: string) => `${registry.url}${name}/-/${name}-${version}.tgz`;
  writeFileSync(
    path.join(dir, 'yarn.lock'),
    [
      '# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.',
      '# yarn lockfile v1',
      '',
      '',
      'accepts@^1.3.8:',
      `  version "${acceptsVersion}"`,
      `  resolved "${tarball('accepts', acceptsVersion)}"`,
      `  integrity sha512-${Buffer.from(acceptsVersion).toString('base64')}`,
      '',
      'kept@1.0.0:',
      '  version "1.0.0"',
      `  resolved "${tarball('kept', '1.0.0')}"`,
      '  integrity sha512-a2VwdA==',
      '',
    ].join('\n'),
  );
  writeFileSync(path.join(dir, 'lockwarden.yml'), POLICY);
}

describe('a yarn classic workspace monorepo (yarn.lock names no workspaces)', () => {
  it.each([
    { form: 'an array', workspaces: ['packages/*'] },
    {
      form: '{ packages } with a negation',
      workspaces: { packages: ['./packages/*', '!packages/none', 'tools-x/*'] },
    },
  ])(
    'workspaces as $form: a pull request bumping one dependency lists exactly that change',
    async ({ form, workspaces }) => {
      const name = `yarn-classic-${form.replace(/\W/g, '-')}`;
      const repo = commitPair(
        path.join(work, name),
        (dir) => writeYarnClassicMonorepo(dir, '1.3.8', workspaces),
        (dir) => writeYarnClassicMonorepo(dir, '1.3.9', workspaces),
      );
      const fake = createRecordingCore({
        registry: registry.url,
        scope: 'changed',
        policy: 'lockwarden.yml',
      });
      await run({ core: fake.core, env: prEnv(repo, name), now: () => NOW });
      const summary = fake.summaries[0]!;
      expect(changeLines(summary)).toEqual([
        expect.stringContaining('Updated the following: accepts 1.3.8 → 1.3.9'),
      ]);
      expect(changeSection(summary)).not.toMatch(/\bweb\b|\bapi\b|\btools\b/);
      expect(fake.outputs()).toMatchObject({ checked: '1', blocked: '1' });
      expect(fake.of('notice')).toEqual([]);
    },
  );

  it('a workspace the pull request adds is listed as added, and only that one', async () => {
    const workspaces = ['packages/*'];
    const repo = commitPair(
      path.join(work, 'yarn-classic-new-workspace'),
      (dir) => writeYarnClassicMonorepo(dir, '1.3.8', workspaces),
      (dir) => {
        writeYarnClassicMonorepo(dir, '1.3.9', workspaces);
        mkdirSync(path.join(dir, 'packages/docs'));
        writeFileSync(path.join(dir, 'packages/docs/package.json'), '{"name":"docs","version":"1.0.0"}\n');
      },
    );
    const fake = createRecordingCore({ registry: registry.url, scope: 'changed', policy: 'lockwarden.yml' });
    await run({ core: fake.core, env: prEnv(repo, 'yarn-classic-new-workspace'), now: () => NOW });
    const changes = changeSection(fake.summaries[0]!);
    expect(changes).toContain('Updated the following: accepts 1.3.8 → 1.3.9');
    expect(changes).toMatch(/\bdocs\b/);
    expect(changes).not.toMatch(/\bweb\b|\bapi\b/);
  });
});

describe('a yarn classic workspace monorepo in a shallow checkout', () => {
  it.each([
    { truncated: false, warned: false },
    { truncated: true, warned: true },
  ])('lists the base files through the trees API (truncated: $truncated)', async ({ truncated, warned }) => {
    const name = `yarn-classic-shallow-${truncated}`;
    const workspaces = ['packages/*', '!packages/api'];
    const repo = commitPair(
      path.join(work, name),
      (dir) => writeYarnClassicMonorepo(dir, '1.3.8', workspaces),
      (dir) => writeYarnClassicMonorepo(dir, '1.3.9', workspaces),
    );
    const shallow = path.join(work, `${name}-shallow`);
    execFileSync('git', ['clone', '--quiet', '--depth', '1', `file://${repo.dir}`, shallow]);
    expect(() => git(shallow, ['cat-file', '-e', `${repo.baseSha}^{commit}`])).toThrow();
    const github = await startFakeGitHubRepoApi({ requireToken: 'ghs_test' });
    try {
      for (const file of git(repo.dir, ['ls-tree', '-r', '--name-only', repo.baseSha]).split('\n')) {
        // Byte for byte (the git helper trims its output).
        const text = execFileSync('git', ['show', `${repo.baseSha}:${file}`], {
          cwd: repo.dir,
          encoding: 'utf8',
        });
        github.setFile('octo/app', repo.baseSha, file, text);
      }
      if (truncated) github.truncateTree('octo/app', repo.baseSha);
      const fake = createRecordingCore({
        registry: registry.url,
        scope: 'changed',
        policy: 'lockwarden.yml',
        'github-token': 'ghs_test',
      });
      const env = { ...prEnv({ ...repo, dir: shallow }, name), GITHUB_API_URL: github.url };
      await run({ core: fake.core, env, now: () => NOW });
      const summary = fake.summaries[0]!;
      const paths = github.requests.map((r) => r.path);
      expect(paths).toContain(`/repos/octo/app/git/trees/${repo.baseSha}`);
      expect(paths).toContain('/repos/octo/app/contents/packages/web/package.json');
      // The negated workspace is not one: its package.json is not read.
      expect(paths.filter((p) => p.includes('packages/api'))).toEqual([]);
      expect(changeLines(summary)).toEqual([
        expect.stringContaining('Updated the following: accepts 1.3.8 → 1.3.9'),
      ]);
      expect(summary.includes('cut the base commit')).toBe(warned);
      expect(summary).not.toContain('policy file lockwarden.yml changed');
    } finally {
      await github.close();
    }
  });
});

describe.skipIf(!haveOrigami)('a workspace monorepo (the Origami lockfile, 88 workspaces)', () => {
  it('a pull request bumping one dependency lists exactly that one change and checks only it', async () => {
    const repo = commitPair(
      path.join(work, 'origami'),
      (dir) => {
        cpSync(ORIGAMI, dir, { recursive: true });
        writeFileSync(path.join(dir, 'lockwarden.yml'), POLICY);
      },
      (dir) => {
        const file = path.join(dir, 'package-lock.json');
        const lock = JSON.parse(readFileSync(file, 'utf8'));
        const entry = lock.packages['node_modules/accepts'];
        expect(entry.version).toBe('1.3.8');
        entry.version = '1.3.9';
        entry.resolved = entry.resolved.replace('1.3.8', '1.3.9');
        entry.integrity = 'sha512-bmV3IHZlcnNpb24=';
        writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
      },
    );
    const fake = createRecordingCore({
      registry: registry.url,
      scope: 'changed',
      policy: 'lockwarden.yml',
    });
    await run({ core: fake.core, env: prEnv(repo, 'origami'), now: () => NOW });
    const summary = fake.summaries[0]!;
    expect(changeLines(summary)).toEqual([
      expect.stringContaining('Updated the following: accepts 1.3.8 → 1.3.9'),
    ]);
    expect(fake.outputs()).toMatchObject({ checked: '1', blocked: '1' });
    // No workspace is annotated as "not checked": they are the same workspaces as at the base.
    expect(fake.of('notice').filter((n) => String(n[0]).includes('review this dependency by hand'))).toEqual(
      [],
    );
  });
});

describe('files that resolve outside the repository', () => {
  const SECRET = 'root:x:0:0:root:/root:/bin/bash\nSHELL=/bin/secret-runner-value\n';
  it.each([
    { what: 'the lockfile', file: 'package-lock.json', inputs: {} as Record<string, string> },
    { what: 'the package.json beside the lockfile', file: 'package.json', inputs: {} },
    { what: 'a workspace package.json', file: 'packages/web/package.json', inputs: {} },
    { what: 'the policy named by the input', file: 'lockwarden.yml', inputs: { policy: 'lockwarden.yml' } },
    { what: 'the policy found by name', file: 'lockwarden.policy.yml', inputs: {} },
    { what: 'the project .npmrc', file: '.npmrc', inputs: {} },
  ])('$what is refused, naming the path and quoting nothing', async ({ file, inputs }) => {
    const outside = path.join(work, 'runner-secrets');
    writeFileSync(outside, SECRET);
    const repo = commitPair(
      path.join(work, `outside-${file.replace(/\W/g, '-')}`),
      (dir) => writeMonorepo(dir, '1.3.8'),
      (dir) => {
        writeMonorepo(dir, '1.3.9');
        rmSync(path.join(dir, file), { force: true });
        symlinkSync(outside, path.join(dir, file));
      },
    );
    const fake = createRecordingCore({ registry: registry.url, ...inputs });
    // A push: the head's files are what gets read.
    const env = { ...prEnv(repo, `outside-${file.replace(/\W/g, '-')}`), GITHUB_EVENT_NAME: 'push' };
    writeFileSync(env.GITHUB_EVENT_PATH!, JSON.stringify({ before: repo.baseSha, after: repo.headSha }));
    await run({ core: fake.core, env, now: () => NOW });
    const failed = fake.of('setFailed').map((a) => String(a[0]));
    expect(failed).toEqual([
      `lockwarden: ${file}: resolves outside the repository (a symbolic link?); lockwarden reads only files inside the checkout, and did not read it`,
    ]);
    const everything = JSON.stringify([
      fake.of('setFailed'),
      fake.of('error'),
      fake.of('warning'),
      fake.of('info'),
      fake.summaries,
    ]);
    expect(everything).not.toContain('root:x');
    expect(everything).not.toContain('secret-runner-value');
  });

  it('a link that stays inside the repository is followed', async () => {
    const repo = commitPair(
      path.join(work, 'inside-link'),
      (dir) => writeMonorepo(dir, '1.3.8'),
      (dir) => {
        writeMonorepo(dir, '1.3.9');
        writeFileSync(path.join(dir, 'policies.yml'), POLICY);
        rmSync(path.join(dir, 'lockwarden.yml'));
        symlinkSync('policies.yml', path.join(dir, 'lockwarden.yml'));
      },
    );
    const fake = createRecordingCore({ registry: registry.url, policy: 'lockwarden.yml' });
    const env = { ...prEnv(repo, 'inside-link'), GITHUB_EVENT_NAME: 'push' };
    writeFileSync(env.GITHUB_EVENT_PATH!, JSON.stringify({ before: repo.baseSha, after: repo.headSha }));
    await run({ core: fake.core, env, now: () => NOW });
    expect(fake.outputs()).toMatchObject({ blocked: '1' });
  });
});

// npm's replace-registry-host decides which package-lock.json URLs npm fetches from the
// configured registry; it is read with the base commit's .npmrc, like the registry itself.
/** `${NAME}` as npm writes a variable in `.npmrc`. */
const v = (name: string) => `\${${name}}`;

describe("npm's replace-registry-host in the lockfile-source rule", () => {
  const OLD = 'https://old.example.test/';
  // npm's own default registry (what `npmjs` rewrites), from its definitions: never written here.
  const DEFAULT = new URL(
    (npmDefinitions.definitions as Record<string, { default?: unknown }>).registry!.default as string,
  );
  /** The monorepo with `kept` recorded at the old registry's URL (or npm's default registry's). */
  const atOldRegistry = (dir: string, npmrc?: string, at: 'old' | 'default' = 'old') => {
    writeMonorepo(dir, '1.3.8');
    const file = path.join(dir, 'package-lock.json');
    const url = at === 'old' ? OLD : `${DEFAULT.origin}/`;
    writeFileSync(file, readFileSync(file, 'utf8').replace(`${registry.url}kept/`, `${url}kept/`));
    if (npmrc !== undefined) writeFileSync(path.join(dir, '.npmrc'), npmrc);
  };

  it.each([
    {
      what: "the base's setting rewrites the old host: it passes",
      base: 'replace-registry-host=old.example.test\n',
      head: undefined,
      hosts: [],
    },
    {
      what: 'a pull request setting `always` for itself does not make it pass',
      base: undefined,
      head: 'replace-registry-host=always\n',
      hosts: ['https://old.example.test'],
    },
    {
      what: "the base's `always` lets it pass",
      base: 'replace-registry-host=always\n',
      head: undefined,
      hosts: [],
    },
    // The pull request's own install uses its .npmrc: a rewrite counts only if it does too.
    {
      what: 'a pull request setting `never` for itself is judged as its install would fetch',
      base: 'replace-registry-host=old.example.test\n',
      head: 'replace-registry-host=never\n',
      hosts: ['https://old.example.test'],
    },
    // npm reads both as `never`; a plain ini parse saw another key, or a list, and took the base's.
    {
      what: 'a pull request adding `never` under a key with an unset variable is judged as its install would fetch',
      base: 'replace-registry-host=always\n',
      head: `replace-registry-host=always\nreplace-registry-host${v('LW_UNSET?')}=never\n`,
      hosts: ['https://old.example.test'],
    },
    {
      what: 'a pull request setting `never` as a list `[]` is judged as its install would fetch',
      base: 'replace-registry-host=always\n',
      head: 'replace-registry-host[]=never\n',
      hosts: ['https://old.example.test'],
    },
    // Where it matters without a base setting: npm's default rewrites its own registry's URLs.
    {
      what: 'a pull request setting `never` as a list `[]`, over npm’s default',
      base: undefined,
      head: 'replace-registry-host[]=never\n',
      at: 'default' as const,
      hosts: ['default'],
    },
    {
      what: 'a pull request setting `never` under a key with an unset variable, over npm’s default',
      base: undefined,
      head: `replace-registry-host${v('LW_UNSET?')}=never\n`,
      at: 'default' as const,
      hosts: ['default'],
    },
    {
      what: 'a pull request removing the base’s `always` is judged under npm’s default',
      base: 'replace-registry-host=always\n',
      head: null,
      hosts: ['https://old.example.test'],
    },
  ])('$what', async ({ what, base, head, hosts, ...row }) => {
    const name = `rrh-${what.replace(/\W+/g, '-').slice(0, 40)}`;
    const repo = commitPair(
      path.join(work, name),
      (dir) => atOldRegistry(dir, base, 'at' in row ? row.at : 'old'),
      (dir) => {
        if (head === null) rmSync(path.join(dir, '.npmrc'));
        else if (head !== undefined) writeFileSync(path.join(dir, '.npmrc'), head);
        writeFileSync(path.join(dir, 'README.md'), 'a change\n');
      },
    );
    const fake = createRecordingCore({ registry: registry.url, scope: 'all', policy: 'lockwarden.yml' });
    const env = prEnv(repo, name);
    await run({ core: fake.core, env, now: () => NOW });
    const report = JSON.parse(
      readFileSync(path.join(env.RUNNER_TEMP, 'lockwarden', 'report.json'), 'utf8'),
    ) as { findings: { name: string; rule: string; observed: unknown }[] };
    expect(
      report.findings.filter((f) => f.rule === 'lockfile-source').map((f) => [f.name, f.observed]),
    ).toEqual(hosts.map((h) => ['kept', h === 'default' ? DEFAULT.origin : h]));
    expect(fake.outputs()).toMatchObject({ blocked: String(hosts.length) });
  });
});

// `scope: changed` checks what the pull request changed; a copy of a name@version the base already
// had is changed when it fetches from a source no base copy did (an entry reports its first copy's).
describe('scope: changed, a nested copy fetched from elsewhere', () => {
  const EVIL = 'https://evil.example.test/c/-/c-2.0.0.tgz';
  const tarball = (name: string, version: string) => `${registry.url}${name}/-/${name}-${version}.tgz`;
  const entry = (name: string, version: string, resolved = tarball(name, version)) => ({
    version,
    resolved,
    integrity: `sha512-${Buffer.from(`${name}@${version}`).toString('base64')}`,
  });
  /** `a` and `b` (and `d`, when given) each with a nested `c@2.0.0`, from where `c` says. */
  const writeProject = (dir: string, c: Record<string, string>) => {
    const deps = Object.fromEntries(Object.keys(c).map((n) => [n, '1.0.0']));
    const root = { name: 'app', version: '1.0.0', dependencies: deps };
    const packages: Record<string, unknown> = { '': root };
    for (const [name, from] of Object.entries(c)) {
      packages[`node_modules/${name}`] = { ...entry(name, '1.0.0'), dependencies: { c: '2.0.0' } };
      packages[`node_modules/${name}/node_modules/c`] = entry('c', '2.0.0', from);
    }
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(root, null, 2)}\n`);
    const lock = { name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
    writeFileSync(path.join(dir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
    writeFileSync(path.join(dir, 'lockwarden.yml'), POLICY);
  };

  it.each([
    {
      what: 'a pull request pointing the non-first copy at an outside host',
      head: { a: 'registry', b: 'outside' },
      copy: 'node_modules/b/node_modules/c',
    },
    {
      what: 'a pull request adding a dependency whose nested copy comes from an outside host',
      head: { a: 'registry', b: 'registry', d: 'outside' },
      copy: 'node_modules/d/node_modules/c',
    },
  ])('$what: blocked at that copy', async ({ what, head, copy }) => {
    const name = `copy-${what.replace(/\W+/g, '-').slice(0, 40)}`;
    const repo = commitPair(
      path.join(work, name),
      (dir) => writeProject(dir, { a: tarball('c', '2.0.0'), b: tarball('c', '2.0.0') }),
      (dir) =>
        writeProject(
          dir,
          Object.fromEntries(
            Object.entries(head).map(([n, from]) => [n, from === 'outside' ? EVIL : tarball('c', '2.0.0')]),
          ),
        ),
    );
    const fake = createRecordingCore({ registry: registry.url, scope: 'changed', policy: 'lockwarden.yml' });
    const env = prEnv(repo, name);
    await run({ core: fake.core, env, now: () => NOW });
    const report = JSON.parse(
      readFileSync(path.join(env.RUNNER_TEMP, 'lockwarden', 'report.json'), 'utf8'),
    ) as {
      findings: {
        name: string;
        rule: string;
        observed: unknown;
        locations?: { key: string; line: number }[];
      }[];
    };
    const lines = readFileSync(path.join(repo.dir, 'package-lock.json'), 'utf8').split('\n');
    const line = lines.findIndex((l) => l.includes(`"${copy}": {`)) + 1;
    expect(
      report.findings
        .filter((f) => f.rule === 'lockfile-source')
        .map((f) => [f.name, f.observed, f.locations?.map((l) => `${l.key}:${l.line}`)]),
    ).toEqual([['c', 'https://evil.example.test', [`${copy}:${line}`]]]);
    expect(fake.outputs()).toMatchObject({ blocked: '1' });
    expect(changeLines(fake.summaries.join('\n'))).toEqual(
      expect.arrayContaining([
        expect.stringContaining('Same version, different source (checked again): c 2.0.0 (resolved)'),
      ]),
    );
  });
});
