// The reason of a refused tarball in each real client's output: a lockfile written through the
// alert policy (which serves the young version) installed frozen through the block policy, so the
// client asks for the blocked tarball without asking for its document first. npm and yarn 1 are
// covered in proxy-clients.test.ts, pnpm 12 prints no part of the answer (docs/server.md). Then
// a bundler whose tarball carries a blocked package, refused at its tarball with that reason.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bunBinary } from '../helpers/bun-binary.js';
import { clientSandbox, writeYarnBerryRc } from '../helpers/client-sandbox.js';
import { makePackument } from '../helpers/make-packument.js';
import { daysAgo, NOW } from '../helpers/make-policy.js';
import { type ProxyHarness, startProxyHarness } from '../helpers/proxy-harness.js';
import { runNpm } from '../helpers/run-npm.js';

const PNPM = resolve('node_modules/pnpm/bin/pnpm.cjs');
const YARN4 = resolve('node_modules/yarn4/bin/yarn.js');
const BUN = bunBinary();
const REASON = /left-pad@1\.2\.0 was published 2 days ago \(cooling-off 7 days\).*blocked by policy strict/;
let h: ProxyHarness;
let base: string;
const { project, clientEnv, run, cleanup } = clientSandbox();

beforeAll(async () => {
  h = await startProxyHarness({
    packuments: [
      makePackument({
        name: 'left-pad',
        versions: [
          { version: '1.1.0', publishedAt: new Date(daysAgo(30)) },
          { version: '1.2.0', publishedAt: new Date(daysAgo(2)) },
        ],
      }),
      // Old and allowed itself, but its tarball carries the young left-pad.
      makePackument({
        name: 'carrier',
        versions: [
          {
            version: '1.0.0',
            publishedAt: new Date(daysAgo(60)),
            dependencies: { 'left-pad': '1.2.0' },
            extra: { bundleDependencies: ['left-pad'] },
            files: {
              'node_modules/left-pad/package.json': JSON.stringify({ name: 'left-pad', version: '1.2.0' }),
              'node_modules/left-pad/index.js': 'module.exports = "bundled";\n',
            },
          },
        ],
      }),
    ],
    filePolicies: [
      { id: 'strict', coolingOffDays: 7 },
      { id: 'watch', action: 'alert', coolingOffDays: 7 },
    ],
    now: NOW,
  });
  base = await h.listen();
});

afterAll(async () => {
  await h?.close();
  await cleanup();
});

/** The refusal is in the audit log, for this client's label. */
async function logged(label: string) {
  const entries = (await h.service.audit.query({ label, package: 'left-pad', outcome: 'blocked' })).entries;
  expect(entries[0]).toMatchObject({ version: '1.2.0', rule: 'cooling-off' });
}

describe('the reason of a refused tarball in the client output', () => {
  it('pnpm 10 prints the status text', async () => {
    const dir = await project({ dependencies: { 'left-pad': '1.2.0' } });
    await writeFile(join(dir, '.npmrc'), `registry=${base}/watch/\n`);
    const locked = await run(process.execPath, [PNPM, 'install'], dir, await clientEnv(`${base}/watch/`));
    expect(locked.code, locked.stdout + locked.stderr).toBe(0);
    await rm(join(dir, 'node_modules'), { recursive: true, force: true });
    const registry = `${base}/strict~pnpm10-tgz/`;
    await writeFile(join(dir, '.npmrc'), `registry=${registry}\n`);
    const pinned = await run(
      process.execPath,
      [PNPM, 'install', '--frozen-lockfile'],
      dir,
      await clientEnv(registry),
    );
    expect(pinned.code).not.toBe(0);
    expect(pinned.stdout + pinned.stderr).toMatch(/left-pad-1\.2\.0\.tgz/);
    expect(pinned.stdout + pinned.stderr).toMatch(REASON);
    await logged('pnpm10-tgz');
  }, 300_000);

  it('yarn 4 prints the status text', async () => {
    const dir = await project({ dependencies: { 'left-pad': '1.2.0' } });
    const yarnrc = (registry: string) => writeYarnBerryRc(dir, registry);
    await yarnrc(`${base}/watch/`);
    await writeFile(join(dir, 'yarn.lock'), '');
    // yarn 4 makes installs immutable when CI is set (as in .ci/run): this one writes the lockfile.
    const locked = await run(process.execPath, [YARN4, 'install'], dir, {
      ...(await clientEnv(`${base}/watch/`)),
      YARN_ENABLE_IMMUTABLE_INSTALLS: 'false',
    });
    expect(locked.code, locked.stdout + locked.stderr).toBe(0);
    expect(await readFile(join(dir, 'yarn.lock'), 'utf8')).toContain('left-pad@npm:1.2.0');
    // Its lockfile names no registry: the tarball comes from npmRegistryServer once the caches are
    // gone (the project's, and the global mirror in the fresh HOME of a new environment).
    await rm(join(dir, 'node_modules'), { recursive: true, force: true });
    await rm(join(dir, '.yarn', 'cache'), { recursive: true, force: true });
    const registry = `${base}/strict~yarn4-tgz/`;
    await yarnrc(registry);
    const pinned = await run(
      process.execPath,
      [YARN4, 'install', '--immutable'],
      dir,
      await clientEnv(registry),
    );
    expect(pinned.code).not.toBe(0);
    expect(pinned.stdout + pinned.stderr).toMatch(/403/);
    expect(pinned.stdout + pinned.stderr).toMatch(REASON);
    await logged('yarn4-tgz');
  }, 300_000);

  it('bun prints the URL it was redirected to, which spells out the reason', async () => {
    const dir = await project({ dependencies: { 'left-pad': '1.2.0' } });
    const locked = await run(BUN, ['install'], dir, await clientEnv(`${base}/watch/`));
    expect(locked.code, locked.stdout + locked.stderr).toBe(0);
    const lock = await readFile(join(dir, 'bun.lock'), 'utf8');
    expect(lock).toContain(`${base}/watch/left-pad/-/left-pad-1.2.0.tgz`);
    // bun fetches the URL its lockfile records: pointed at the block policy, as docs/server.md says.
    const registry = `${base}/strict~bun-tgz/`;
    await writeFile(join(dir, 'bun.lock'), lock.replaceAll(`${base}/watch/`, registry));
    await rm(join(dir, 'node_modules'), { recursive: true, force: true });
    const pinned = await run(BUN, ['install', '--frozen-lockfile'], dir, await clientEnv(registry));
    expect(pinned.code).not.toBe(0);
    expect(pinned.stdout + pinned.stderr).toMatch(/403/);
    expect(pinned.stdout + pinned.stderr).toMatch(
      /-\/refused\/left-pad\/1\.2\.0\/left-pad@1\.2\.0-was-published-2-days-ago-cooling-off-7-days/,
    );
    await logged('bun-tgz');
  }, 300_000);
});

describe('a bundled package the policy blocks', () => {
  const BUNDLED = /carrier@1\.0\.0 bundles left-pad@1\.2\.0: left-pad@1\.2\.0 was published 2 days ago/;

  it('npm fails on the bundler with the reason; through the alert policy it installs the bundled copy', async () => {
    const dir = await project({ dependencies: { carrier: '1.0.0' } });
    const home = join(dir, '.home');
    const refused = await runNpm(['install'], { cwd: dir, registryUrl: `${base}/strict~npm-bundle/`, home });
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(BUNDLED);
    const blocked = (await h.service.audit.query({ label: 'npm-bundle', outcome: 'blocked' })).entries;
    expect(blocked[0]).toMatchObject({ package: 'carrier', version: '1.0.0', rule: 'cooling-off' });

    const served = await runNpm(['install'], { cwd: dir, registryUrl: `${base}/watch~npm-bundle/`, home });
    expect(served.code, served.stdout + served.stderr).toBe(0);
    const bundled = JSON.parse(
      await readFile(join(dir, 'node_modules/carrier/node_modules/left-pad/package.json'), 'utf8'),
    );
    expect(bundled.version).toBe('1.2.0');
  }, 300_000);

  it('pnpm 10 fails on the bundler with the reason', async () => {
    const dir = await project({ dependencies: { carrier: '1.0.0' } });
    const registry = `${base}/strict~pnpm-bundle/`;
    await writeFile(join(dir, '.npmrc'), `registry=${registry}\n`);
    const res = await run(process.execPath, [PNPM, 'install'], dir, await clientEnv(registry));
    expect(res.code).not.toBe(0);
    expect(res.stdout + res.stderr).toMatch(BUNDLED);
  }, 300_000);
});
