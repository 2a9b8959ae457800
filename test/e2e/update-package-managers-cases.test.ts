// `lockwarden update` with pnpm, yarn and bun, beyond the single project: workspace projects (the
// workspace's own dependency moves to the newest allowed version, the young one is skipped and
// said, semver honesty at its default compares the update), semver honesty under `block` (the
// dishonest minor is held back and the package manager resolves again without it), and a newer
// version whose tarball bundles a package the policy blocks (held back the same way: these
// lockfiles do not list bundled packages, so the tarball is read for them).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientSandbox } from '../helpers/client-sandbox.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { LOCKFILE_OF, type LockClient, lockWithClient, tempParent } from '../helpers/lock-with-clients.js';
import { makePackument } from '../helpers/make-packument.js';
import { packageManagerShims } from '../helpers/package-manager-shims.js';
import { runCliCaptured } from '../helpers/run-cli-captured.js';
import { SEMVER_PACKUMENTS } from '../helpers/semver-packages.js';

const NOW = new Date();
const ago = (days: number) => new Date(NOW.getTime() - days * 86_400_000);
const leftPad = (versions: [string, number][]) =>
  makePackument({
    name: 'left-pad',
    versions: versions.map(([version, days]) => ({ version, publishedAt: ago(days) })),
  });

let registry: FakeRegistry;
let parent: string;
const sandbox = clientSandbox();

beforeAll(async () => {
  parent = await tempParent();
  registry = await startFakeRegistry({ shape: 'public', packuments: [leftPad([['1.1.0', 400]])] });
  writeFileSync(
    path.join(parent, 'policy-semver.json'),
    JSON.stringify({ id: 'ci', coolingOffDays: 7, typosquatting: false, semverHonesty: 'block' }),
  );
  writeFileSync(
    path.join(parent, 'policy.json'),
    // semverHonesty at its default (alert): the updates' tarballs are compared too.
    JSON.stringify({ id: 'ci', coolingOffDays: 7, typosquatting: false }),
  );
});
afterAll(async () => {
  await registry?.close();
  await sandbox.cleanup();
  rmSync(parent, { recursive: true, force: true });
});

const tools = (client: LockClient) => packageManagerShims(parent, client);

/** `lockwarden update dir` with the client's shims first on PATH, against the fake registry. */
async function runUpdate(client: LockClient, dir: string, policyFile: string, extra: string[] = []) {
  const env = await sandbox.clientEnv(registry.url);
  env.PATH = `${tools(client)}${path.delimiter}${env.PATH}`;
  return runCliCaptured(
    [
      'update',
      dir,
      ...extra,
      '--registry',
      registry.url,
      '--cache-dir',
      mkdtempSync(path.join(parent, 'cache-')),
      '--policy',
      path.join(parent, policyFile),
    ],
    { env, cwd: dir, now: () => NOW },
  );
}

describe.each(['pnpm', 'yarn-classic', 'yarn-berry', 'bun'] as const)(
  'update of a %s workspace project',
  (client) => {
    it('moves the workspace’s dependency and skips the young version', { timeout: 300_000 }, async () => {
      registry.addPackument(leftPad([['1.1.0', 400]]));
      const dir = await lockWithClient(
        client,
        {
          files: {
            'package.json': JSON.stringify({ name: 'mono', version: '1.0.0', private: true }, null, 2),
            'packages/a/package.json': JSON.stringify(
              { name: 'a', version: '1.0.0', dependencies: { 'left-pad': '^1.1.0' } },
              null,
              2,
            ),
          },
          workspaces: ['packages/*'],
        },
        registry.url,
        parent,
      );
      registry.addPackument(
        leftPad([
          ['1.1.0', 400],
          ['1.3.0', 60],
          ['1.3.1', 2],
        ]),
      );
      const r = await runUpdate(client, dir, 'policy.json');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Updated the following:\n  left-pad 1.1.0 → 1.3.0\n');
      expect(r.stdout).toMatch(
        /Skipped newer versions:\n {2}left-pad 1\.3\.1: cooling-off \(published 2 days ago/,
      );
      const text = readFileSync(path.join(dir, LOCKFILE_OF[client]), 'utf8');
      expect(text).toContain('1.3.0');
      expect(text).not.toContain('1.3.1');
    });
  },
);

describe('update of a pnpm project under semverHonesty: block', () => {
  it('holds the dishonest minor back and says why', { timeout: 300_000 }, async () => {
    const libX = SEMVER_PACKUMENTS(NOW).find((p) => p.name === 'lib-x')!;
    const old = { ...libX, versions: { '2.3.0': libX.versions['2.3.0']! } };
    registry.addPackument(old);
    const dir = await lockWithClient(
      'pnpm',
      {
        files: {
          'package.json': JSON.stringify({
            name: 'app',
            version: '1.0.0',
            dependencies: { 'lib-x': '^2.3.0' },
          }),
        },
      },
      registry.url,
      parent,
    );
    registry.addPackument(libX);
    const before = readFileSync(path.join(dir, 'pnpm-lock.yaml'), 'utf8');
    const r = await runUpdate('pnpm', dir, 'policy-semver.json', ['--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.updated).toEqual([]);
    expect(json.skipped).toEqual([
      expect.objectContaining({ name: 'lib-x', version: '2.4.0', rule: 'semver-honesty', effect: 'block' }),
    ]);
    expect(json.skipped[0].reason).toContain('removes export parseOptions');
    expect(json.wrote).toBe(false);
    expect(readFileSync(path.join(dir, 'pnpm-lock.yaml'), 'utf8')).toBe(before);
  });
});

describe.each(['pnpm', 'yarn-classic', 'bun'] as const)(
  'update of a %s project whose own config names another registry',
  (client) => {
    // The proxy's URL (with its secret path) reaches the tool through the environment or a private
    // rc file, never its command line; the project's config files must not outrank it.
    it('still resolves through lockwarden’s registry', { timeout: 300_000 }, async () => {
      registry.addPackument(leftPad([['1.1.0', 400]]));
      const dir = await lockWithClient(
        client,
        {
          files: {
            'package.json': JSON.stringify({
              name: 'app',
              version: '1.0.0',
              dependencies: { 'left-pad': '^1.1.0' },
            }),
          },
        },
        registry.url,
        parent,
      );
      registry.addPackument(
        leftPad([
          ['1.1.0', 400],
          ['1.3.0', 60],
        ]),
      );
      const elsewhere = 'http://127.0.0.1:9/';
      writeFileSync(path.join(dir, '.npmrc'), `registry=${elsewhere}\n`);
      writeFileSync(path.join(dir, '.yarnrc'), `registry "${elsewhere}"\n--registry "${elsewhere}"\n`);
      writeFileSync(path.join(dir, 'bunfig.toml'), `[install]\nregistry = "${elsewhere}"\n`);
      const r = await runUpdate(client, dir, 'policy.json');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('left-pad 1.1.0 → 1.3.0');
      expect(readFileSync(path.join(dir, LOCKFILE_OF[client]), 'utf8')).not.toContain('127.0.0.1:9/');
    });
  },
);

describe.each(['pnpm', 'yarn-classic', 'yarn-berry', 'bun'] as const)(
  'update of a %s project whose newest version bundles a young package',
  (client) => {
    const carrier = (versions: Array<[string, number, boolean]>) =>
      makePackument({
        name: 'carrier',
        versions: versions.map(([version, days, bundles]) => ({
          version,
          publishedAt: ago(days),
          ...(bundles
            ? {
                // Listed in bundleDependencies only: no tool resolves it from the registry.
                extra: { bundleDependencies: ['left-pad'] },
                files: {
                  'node_modules/left-pad/package.json': JSON.stringify({
                    name: 'left-pad',
                    version: '1.3.1',
                  }),
                },
              }
            : {}),
        })),
      });

    it('holds the bundler back and moves to the newest version that bundles nothing blocked', {
      timeout: 300_000,
    }, async () => {
      registry.addPackument(carrier([['1.0.0', 400, false]]));
      const dir = await lockWithClient(
        client,
        {
          files: {
            'package.json': JSON.stringify({
              name: 'app',
              version: '1.0.0',
              dependencies: { carrier: '^1.0.0' },
            }),
          },
        },
        registry.url,
        parent,
      );
      registry.addPackument(
        leftPad([
          ['1.1.0', 400],
          ['1.3.1', 2],
        ]),
      );
      registry.addPackument(
        carrier([
          ['1.0.0', 400, false],
          ['1.0.5', 60, false],
          ['1.1.0', 60, true],
        ]),
      );
      const r = await runUpdate(client, dir, 'policy.json');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('carrier 1.0.0 → 1.0.5');
      expect(r.stdout).toMatch(/carrier 1\.1\.0: .*bundles left-pad@1\.3\.1/);
      const text = readFileSync(path.join(dir, LOCKFILE_OF[client]), 'utf8');
      expect(text).toContain('1.0.5');
      expect(text).not.toMatch(/carrier@1\.1\.0|carrier@npm:1\.1\.0|carrier-1\.1\.0/);
    });
  },
);
