// The real npm, pnpm, yarn (classic) and bun clients against `lockwarden serve` in front of a loopback fake upstream.
// Every client run gets a fresh cache, an empty user config and the registry from the env
// (test/helpers/client-sandbox.ts), so nothing here can reach a real registry.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bunBinary } from '../helpers/bun-binary.js';
import { clientSandbox, writeYarnBerryRc } from '../helpers/client-sandbox.js';
import { makePackument } from '../helpers/make-packument.js';
import { daysAgo, NOW } from '../helpers/make-policy.js';
import { type ProxyHarness, startProxyHarness } from '../helpers/proxy-harness.js';

// Explicit paths: the aliased pnpm 12 and yarn 4 packages link the same bin names as pnpm 10 and
// yarn 1, so node_modules/.bin says nothing about which version runs.
const PNPM = resolve('node_modules/pnpm/bin/pnpm.cjs');
const PNPM12 = resolve('node_modules/pnpm12/bin/pnpm.mjs');
const YARN = resolve('node_modules/yarn/bin/yarn.js');
const YARN4 = resolve('node_modules/yarn4/bin/yarn.js');
const BUN = bunBinary();
let h: ProxyHarness;
let base: string;
const { project, clientEnv, run, cleanup } = clientSandbox();

const leftPad = makePackument({
  name: 'left-pad',
  versions: [
    { version: '1.0.0', publishedAt: new Date(daysAgo(60)) },
    { version: '1.1.0', publishedAt: new Date(daysAgo(30)) },
    { version: '1.2.0', publishedAt: new Date(daysAgo(2)) },
  ],
});
/** Old enough for every policy here: its download is what a refusal elsewhere cuts off. */
const slowDep = makePackument({
  name: 'slow-dep',
  versions: [{ version: '1.0.0', publishedAt: new Date(daysAgo(400)) }],
});
const isOdd = makePackument({
  name: '@acme/is-odd',
  versions: [
    { version: '3.0.0', publishedAt: new Date(daysAgo(90)), dependencies: { 'left-pad': '^1.0.0' } },
    { version: '3.0.1', publishedAt: new Date(daysAgo(3)), dependencies: { 'left-pad': '^1.0.0' } },
  ],
});

beforeAll(async () => {
  h = await startProxyHarness({
    packuments: [leftPad, isOdd, slowDep],
    filePolicies: [
      { id: 'strict', coolingOffDays: 7, typosquatting: true },
      { id: 'watch', action: 'alert', coolingOffDays: 7, typosquatting: true },
    ],
    now: NOW,
  });
  base = await h.listen();
});

afterAll(async () => {
  await h?.close();
  await cleanup();
});

async function installedVersion(dir: string, name: string): Promise<string> {
  return JSON.parse(await readFile(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version;
}

describe('npm through the proxy', () => {
  it('hides a young version: npm install gets the newest allowed one', async () => {
    const dir = await project();
    const res = await run(
      'npm',
      ['install', 'left-pad', '@acme/is-odd'],
      dir,
      await clientEnv(`${base}/strict/`),
    );
    expect(res.code, res.stderr).toBe(0);
    expect(await installedVersion(dir, 'left-pad')).toBe('1.1.0');
    expect(await installedVersion(dir, '@acme/is-odd')).toBe('3.0.0');
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
    expect(pkg.dependencies).toEqual({ '@acme/is-odd': '^3.0.0', 'left-pad': '^1.1.0' });
    const lock = JSON.parse(await readFile(join(dir, 'package-lock.json'), 'utf8'));
    expect(lock.packages['node_modules/left-pad'].resolved).toBe(
      `${base}/strict/left-pad/-/left-pad-1.1.0.tgz`,
    );
  }, 300_000);

  it('refuses a typosquat with the reason visible in npm output', async () => {
    const dir = await project();
    const res = await run('npm', ['install', 'expres'], dir, await clientEnv(`${base}/strict/`));
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/403/);
    expect(res.stderr).toMatch(/expres looks like express/);
  }, 300_000);

  it('npm ci from a lockfile pinned to a blocked version fails at the tarball with the reason', async () => {
    const dir = await project({ dependencies: { 'left-pad': '1.2.0' } });
    const manifest = leftPad.versions['1.2.0']!;
    await writeFile(
      join(dir, 'package-lock.json'),
      JSON.stringify({
        name: 'app',
        version: '1.0.0',
        lockfileVersion: 3,
        requires: true,
        packages: {
          '': { name: 'app', version: '1.0.0', dependencies: { 'left-pad': '1.2.0' } },
          'node_modules/left-pad': {
            version: '1.2.0',
            resolved: `${base}/strict~ci-job/left-pad/-/left-pad-1.2.0.tgz`,
            integrity: manifest.dist!.integrity,
          },
        },
      }),
    );
    const res = await run('npm', ['ci'], dir, await clientEnv(`${base}/strict~ci-job/`));
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/403/);
    expect(res.stderr).toMatch(/left-pad@1\.2\.0 was published 2 days ago \(cooling-off 7 days\)/);
    expect(h.registry.requests.map((r) => r.path)).not.toContain('/left-pad/-/left-pad-1.2.0.tgz');
    expect((await h.service.audit.query({ label: 'ci-job', outcome: 'blocked' })).entries).toEqual([
      expect.objectContaining({ package: 'left-pad', version: '1.2.0', rule: 'cooling-off' }),
    ]);
  }, 300_000);

  it('alert mode installs everything and the audit log holds the alerts', async () => {
    const dir = await project();
    const res = await run(
      'npm',
      ['install', 'left-pad', '@acme/is-odd'],
      dir,
      await clientEnv(`${base}/watch/`),
    );
    expect(res.code, res.stderr).toBe(0);
    expect(await installedVersion(dir, 'left-pad')).toBe('1.2.0');
    expect(await installedVersion(dir, '@acme/is-odd')).toBe('3.0.1');
    const alerts = (await h.service.audit.query({ policy: 'watch', outcome: 'alert' })).entries;
    expect(alerts.map((e) => `${e.package}@${e.version} ${e.rule}`).sort()).toEqual([
      '@acme/is-odd@3.0.1 cooling-off',
      'left-pad@1.2.0 cooling-off',
    ]);
    expect(alerts[0]!.userAgent).toMatch(/^npm\//);
  }, 300_000);
});

describe('pnpm through the proxy', () => {
  it('resolves to the newest allowed version and fails on a blocked package', async () => {
    const dir = await project();
    const env = await clientEnv(`${base}/strict~pnpm-ci/`);
    await writeFile(join(dir, '.npmrc'), `registry=${base}/strict~pnpm-ci/\n`);
    const res = await run(process.execPath, [PNPM, 'add', 'left-pad', '@acme/is-odd'], dir, env);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(await installedVersion(dir, 'left-pad')).toBe('1.1.0');
    expect(await installedVersion(dir, '@acme/is-odd')).toBe('3.0.0');
    const refused = await run(process.execPath, [PNPM, 'add', 'expres'], dir, env);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(/403/);
    // pnpm prints the status text of a refused request.
    expect(refused.stdout + refused.stderr).toMatch(/expres looks like express .*blocked by policy strict/);
    const logged = (await h.service.audit.query({ label: 'pnpm-ci', package: 'expres' })).entries;
    expect(logged[0]).toMatchObject({
      rule: 'typosquatting',
      outcome: 'blocked',
      userAgent: expect.stringMatching(/pnpm/),
    });
  }, 300_000);
});

describe('pnpm 12 through the proxy', () => {
  // pnpm 12 wraps its error reports at 80 columns without a terminal (COLUMNS does not change it),
  // breaking URLs after a '/': unwrap, so the assertions read each message as one line.
  const unwrap = (text: string) =>
    text.replace(/\n[ \t]+/g, (_m, at: number) => (text[at - 1] === '/' ? '' : ' '));
  const pnpm12 = async (args: string[], dir: string, env: NodeJS.ProcessEnv) => {
    const res = await run(process.execPath, [PNPM12, ...args], dir, env);
    return { ...res, stdout: unwrap(res.stdout), stderr: unwrap(res.stderr) };
  };
  /** pnpm 12 has its own age gate (a day by default); off, so the proxy is what decides. */
  const configure = (dir: string, registry: string) =>
    Promise.all([
      writeFile(join(dir, '.npmrc'), `registry=${registry}\n`),
      writeFile(join(dir, 'pnpm-workspace.yaml'), 'minimumReleaseAge: 0\n'),
    ]);

  it('add resolves <name>/<dist-tag> for the package asked for, with its own age gate off', async () => {
    // A package named like the tag: the old path grammar served it for `left-pad/latest`.
    h.registry.addPackument(
      makePackument({
        name: 'latest',
        versions: [{ version: '7.0.0', publishedAt: new Date(daysAgo(400)) }],
      }),
    );
    const dir = await project();
    const registry = `${base}/strict~pnpm12/`;
    await configure(dir, registry);
    const res = await pnpm12(['add', 'left-pad', '@acme/is-odd'], dir, await clientEnv(registry));
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(await installedVersion(dir, 'left-pad')).toBe('1.1.0');
    expect(await installedVersion(dir, '@acme/is-odd')).toBe('3.0.0');
    expect(JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')).dependencies).toEqual({
      '@acme/is-odd': '^3.0.0',
      'left-pad': '^1.1.0',
    });
    const refused = await pnpm12(['add', 'expres'], dir, await clientEnv(registry));
    expect(refused.code).not.toBe(0);
    // pnpm 12 prints the status text of a refused document request.
    expect(refused.stdout + refused.stderr).toMatch(
      /403 expres looks like express .*blocked by policy strict/,
    );
  }, 300_000);

  it('a frozen lockfile pinned to blocked versions fails at the refused tarball, and the service stays up', async () => {
    const dir = await project({
      dependencies: { 'left-pad': '1.2.0', '@acme/is-odd': '3.0.1', 'slow-dep': '1.0.0' },
    });
    // The lockfile is written through the alert policy, which serves the young versions.
    await configure(dir, `${base}/watch/`);
    const locked = await pnpm12(['install'], dir, await clientEnv(`${base}/watch/`));
    expect(locked.code, locked.stdout + locked.stderr).toBe(0);
    await rm(join(dir, 'node_modules'), { recursive: true, force: true });
    const registry = `${base}/strict~pnpm12-ci/`;
    await configure(dir, registry);
    // The allowed package's tarball is answered late upstream, so its download is still waiting
    // in the service when pnpm gets the 403 and aborts the others; the upstream's answer then
    // arrives for a client that is gone, which killed the service before (issue 17).
    const slowTarball = (r: { path: string }) => r.path.endsWith('/slow-dep-1.0.0.tgz');
    h.registry.fault({ kind: 'delay', ms: 1_500, match: slowTarball });
    const asked = h.registry.requests.length;
    // pnpm aborts its other in-flight downloads when one is refused: run it a few times.
    for (let i = 0; i < 3; i++) {
      const pinned = await pnpm12(['install', '--frozen-lockfile'], dir, await clientEnv(registry));
      expect(pinned.code).not.toBe(0);
      expect(pinned.stdout + pinned.stderr).toMatch(
        /HTTP 403 for \S+strict~pnpm12-ci\/\S+-(?:1\.2\.0|3\.0\.1)\.tgz/,
      );
    }
    h.registry.clearFaults();
    // The stalled download was under way each time (else nothing was cut off).
    expect(h.registry.requests.slice(asked).filter(slowTarball).length).toBeGreaterThan(0);
    expect((await fetch(`${base}/-/ping`)).status).toBe(200);
    const after = await project();
    const ok = await run('npm', ['install', 'left-pad'], after, await clientEnv(`${base}/strict/`));
    expect(ok.code, ok.stderr).toBe(0);
    expect(
      (await h.service.audit.query({ label: 'pnpm12-ci', outcome: 'blocked' })).entries.length,
    ).toBeGreaterThan(0);
  }, 300_000);
});

describe('yarn (classic) through the proxy', () => {
  it('resolves to the newest allowed version, fails on a blocked package and on a pinned blocked tarball, with the reasons', async () => {
    const dir = await project();
    const registry = `${base}/strict~yarn-ci/`;
    const env = await clientEnv(registry);
    const yarn = (args: string[]) =>
      run(
        process.execPath,
        [YARN, ...args, '--registry', registry, '--non-interactive', '--no-progress'],
        dir,
        env,
      );
    const res = await yarn(['add', 'left-pad', '@acme/is-odd']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(await installedVersion(dir, 'left-pad')).toBe('1.1.0');
    expect(await installedVersion(dir, '@acme/is-odd')).toBe('3.0.0');
    const lock = await readFile(join(dir, 'yarn.lock'), 'utf8');
    expect(lock).toContain(`${registry}left-pad/-/left-pad-1.1.0.tgz`);

    const refused = await yarn(['add', 'expres']);
    expect(refused.code).not.toBe(0);
    // yarn prints the service's reason.
    expect(refused.stdout + refused.stderr).toMatch(/expres looks like express .*blocked by policy strict/);
    expect((await h.service.audit.query({ label: 'yarn-ci', package: 'expres' })).entries[0]).toMatchObject({
      rule: 'typosquatting',
      outcome: 'blocked',
      userAgent: expect.stringMatching(/^yarn\//),
    });

    // A lockfile pinned to the young version goes straight to its tarball, which is refused.
    await writeFile(
      join(dir, 'yarn.lock'),
      lock.replace(/left-pad@\^1\.1\.0:\n {2}version "1\.1\.0"\n {2}resolved "[^"]+"/, (entry) =>
        entry
          .replace('version "1.1.0"', 'version "1.2.0"')
          .replace(/left-pad-1\.1\.0\.tgz[^"]*/, 'left-pad-1.2.0.tgz'),
      ),
    );
    expect(await readFile(join(dir, 'yarn.lock'), 'utf8')).toContain('left-pad-1.2.0.tgz');
    await rm(join(dir, 'node_modules'), { recursive: true, force: true });
    const pinned = await yarn(['install', '--frozen-lockfile']);
    expect(pinned.code).not.toBe(0);
    // yarn 1 prints no status text of a tarball's 403, but the target of a redirect it cannot
    // follow: the reason is there.
    expect(pinned.stdout + pinned.stderr).toMatch(
      /left-pad-1\.2\.0\.tgz\S*: Invalid URI "http:lockwarden:refused\/left-pad@1\.2\.0-was-published-2-days-ago-cooling-off-7-days-.*-blocked-by-policy-strict"/,
    );
    expect(
      (await h.service.audit.query({ label: 'yarn-ci', package: 'left-pad', outcome: 'blocked' })).entries[0],
    ).toMatchObject({ version: '1.2.0', rule: 'cooling-off' });
  }, 300_000);
});

describe('yarn 4 through the proxy', () => {
  it('resolves to the newest allowed version and prints the reason of a refusal', async () => {
    const dir = await project();
    const registry = `${base}/strict~yarn4-ci/`;
    await writeYarnBerryRc(dir, registry);
    await writeFile(join(dir, 'yarn.lock'), '');
    const env = await clientEnv(registry);
    const yarn4 = (args: string[]) => run(process.execPath, [YARN4, ...args], dir, env);
    const res = await yarn4(['add', 'left-pad', '@acme/is-odd']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(await installedVersion(dir, 'left-pad')).toBe('1.1.0');
    expect(await installedVersion(dir, '@acme/is-odd')).toBe('3.0.0');
    const refused = await yarn4(['add', 'expres']);
    expect(refused.code).not.toBe(0);
    // yarn 4 prints the status text.
    expect(refused.stdout + refused.stderr).toMatch(
      /403 \(expres looks like express .*blocked by policy strict/,
    );
    expect((await h.service.audit.query({ label: 'yarn4-ci', package: 'expres' })).entries[0]).toMatchObject({
      rule: 'typosquatting',
      outcome: 'blocked',
      // yarn 4 sends its HTTP library's user agent.
      userAgent: expect.stringMatching(/^got /),
    });
  }, 300_000);
});

describe('bun through the proxy', () => {
  it('resolves to the newest allowed version and fails on a blocked package', async () => {
    const dir = await project();
    const env = await clientEnv(`${base}/strict~bun-ci/`);
    const res = await run(BUN, ['add', 'left-pad', '@acme/is-odd'], dir, env);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(await installedVersion(dir, 'left-pad')).toBe('1.1.0');
    expect(await installedVersion(dir, '@acme/is-odd')).toBe('3.0.0');
    const refused = await run(BUN, ['add', 'expres'], dir, env);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(/403/);
    // bun prints only the URL it ended at: it is redirected to one that spells out the reason.
    expect(refused.stdout + refused.stderr).toMatch(/-\/refused\/expres\/-\/expres-looks-like-express-/);
    expect((await h.service.audit.query({ label: 'bun-ci', package: 'expres' })).entries[0]).toMatchObject({
      rule: 'typosquatting',
      outcome: 'blocked',
      userAgent: expect.stringMatching(/^Bun\//i),
    });
  }, 300_000);
});

describe('lockfiles written against the upstream: lockfile-source', () => {
  it('lockwarden audit names the upstream host of npm and bun lockfiles that would bypass the proxy', async () => {
    const { runCli } = await import('../../src/cli/main.js');
    const { PassThrough } = await import('node:stream');
    const audit = async (dir: string, lockfile: string, policy: Record<string, unknown>) => {
      const file = join(dir, 'policy.json');
      await writeFile(
        file,
        JSON.stringify({ id: 'src', coolingOffDays: 0, typosquatting: false, ...policy }),
      );
      const stdout = new PassThrough();
      let out = '';
      stdout.on('data', (c: Buffer) => (out += c));
      const code = await runCli(
        ['audit', dir, '--lockfile', lockfile, '--json', '--policy', file, '--registry', `${base}/strict/`],
        { stdout, stderr: new PassThrough(), env: { PATH: process.env.PATH }, cwd: dir, now: () => NOW },
      );
      return {
        code,
        findings: JSON.parse(out).findings as Array<{ name: string; rule: string; observed: unknown }>,
      };
    };
    const upstreamOrigin = new URL(h.registry.url).origin;
    for (const [client, lockfile] of [
      ['npm', 'package-lock.json'],
      ['bun', 'bun.lock'],
    ] as const) {
      const dir = await project({ dependencies: { 'left-pad': '1.1.0' } });
      // Installed straight from the upstream, as a developer without the proxy would.
      const env = await clientEnv(h.registry.url);
      const res =
        client === 'npm'
          ? await run('npm', ['install', '--omit-lockfile-registry-resolved=false'], dir, env)
          : await run(BUN, ['install'], dir, env);
      expect(res.code, res.stdout + res.stderr).toBe(0);
      const found = await audit(dir, lockfile, {});
      expect(found.code, client).toBe(1);
      expect(
        found.findings.map((f) => [f.name, f.rule, f.observed]),
        client,
      ).toEqual([['left-pad', 'lockfile-source', upstreamOrigin]]);
      // Once the upstream is one of the policy's registries, the lockfile passes.
      expect((await audit(dir, lockfile, { registries: [h.registry.url] })).code, client).toBe(0);
    }
  }, 300_000);
});
