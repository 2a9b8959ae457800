// `lockwarden update` on pnpm, yarn (1 and Berry) and bun projects: the real clients lock a project
// against a loopback registry, newer versions are published (one inside the cooling-off window),
// and update runs the project's own client (found on PATH) against lockwarden's loopback proxy.
// The update must take the allowed version, skip the young one and say so, write the client's own
// format with upstream URLs only, and leave a lockfile that audit passes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientSandbox } from '../helpers/client-sandbox.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { LOCKFILE_OF, type LockClient, lockWithClient, tempParent } from '../helpers/lock-with-clients.js';
import { makePackument } from '../helpers/make-packument.js';
import { packageManagerShims } from '../helpers/package-manager-shims.js';
import { runCliCaptured } from '../helpers/run-cli-captured.js';

// The clients read the real clock, so publish times are relative to it.
const NOW = new Date();
const ago = (days: number) => new Date(NOW.getTime() - days * 86_400_000);
const CLIENTS = ['pnpm', 'yarn-classic', 'yarn-berry', 'bun'] as const;
const RAISES_FLOORS = new Set<LockClient>(['bun']);

const leftPad = (versions: [string, number][]) =>
  makePackument({
    name: 'left-pad',
    versions: versions.map(([version, days]) => ({ version, publishedAt: ago(days) })),
  });
const dep = (name: string, versions: [string, number][]) =>
  makePackument({ name, versions: versions.map(([version, days]) => ({ version, publishedAt: ago(days) })) });

let registry: FakeRegistry;
let parent: string;
const sandbox = clientSandbox();

const toolsFor = (client: LockClient) => packageManagerShims(parent, client);

beforeAll(async () => {
  parent = await tempParent();
  // Locked while only the old versions exist.
  registry = await startFakeRegistry({
    shape: 'public',
    packuments: [leftPad([['1.1.0', 400]]), dep('dep-a', [['1.0.0', 400]])],
  });
  writeFileSync(
    path.join(parent, 'policy.json'),
    JSON.stringify({ id: 'ci', coolingOffDays: 7, typosquatting: false, semverHonesty: 'off' }),
  );
});

afterAll(async () => {
  await registry?.close();
  await sandbox.cleanup();
  rmSync(parent, { recursive: true, force: true });
});

async function lockedProject(client: LockClient): Promise<string> {
  const pkg = {
    name: 'app',
    version: '1.0.0',
    private: true,
    dependencies: { 'left-pad': '^1.1.0', 'dep-a': '^1.0.0' },
  };
  return lockWithClient(
    client,
    { files: { 'package.json': JSON.stringify(pkg, null, 2) } },
    registry.url,
    parent,
  );
}

function publishNewer() {
  registry.addPackument(
    leftPad([
      ['1.1.0', 400],
      ['1.3.0', 60],
      ['1.3.1', 2],
    ]),
  );
  registry.addPackument(
    dep('dep-a', [
      ['1.0.0', 400],
      ['1.1.0', 30],
      ['2.0.0', 20],
    ]),
  );
}

async function update(client: LockClient, dir: string, extra: string[] = [], names: string[] = []) {
  const env = await sandbox.clientEnv(registry.url);
  env.PATH = `${toolsFor(client)}${path.delimiter}${env.PATH}`;
  const cacheDir = mkdtempSync(path.join(parent, 'cache-'));
  return runCliCaptured(
    [
      'update',
      ...names,
      dir,
      ...extra,
      '--registry',
      registry.url,
      '--cache-dir',
      cacheDir,
      '--policy',
      path.join(parent, 'policy.json'),
    ],
    { env, cwd: dir, now: () => NOW },
  );
}

/** Every loopback URL the lockfile names is the upstream registry's, never the proxy's. */
function expectUpstreamUrlsOnly(text: string) {
  const origins = new Set([...text.matchAll(/http:\/\/127\.0\.0\.1:\d+/g)].map((m) => m[0]));
  for (const origin of origins) expect(`${origin}/`).toBe(registry.url);
}

describe.each(CLIENTS)('lockwarden update with %s', (client) => {
  let dir: string;
  beforeAll(async () => {
    registry.addPackument(leftPad([['1.1.0', 400]]));
    registry.addPackument(dep('dep-a', [['1.0.0', 400]]));
    dir = await lockedProject(client);
    publishNewer();
  }, 300_000);

  it('--dry-run prints the update and the skipped young version, and writes nothing', {
    timeout: 300_000,
  }, async () => {
    const lockfile = path.join(dir, LOCKFILE_OF[client]);
    const before = readFileSync(lockfile, 'utf8');
    const pkgBefore = readFileSync(path.join(dir, 'package.json'), 'utf8');
    const r = await update(client, dir, ['--dry-run']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        [
          // bun raises the floor of the ranges they update (README): said, never hidden.
          ...(RAISES_FLOORS.has(client)
            ? [
                'Moved package\\.json ranges:',
                '  dep-a \\^1\\.0\\.0 → \\^1\\.1\\.0 \\(package\\.json\\)',
                '  left-pad \\^1\\.1\\.0 → \\^1\\.3\\.0 \\(package\\.json\\)',
              ]
            : []),
          'Updated the following:',
          '  dep-a 1\\.0\\.0 → 1\\.1\\.0',
          '  left-pad 1\\.1\\.0 → 1\\.3\\.0',
          'Skipped newer versions:',
          '  left-pad 1\\.3\\.1: cooling-off \\(published 2 days ago; passes on \\d{4}-\\d\\d-\\d\\d\\)',
          `Dry run: ${LOCKFILE_OF[client].replace('.', '\\.')} and package\\.json were not written\\.`,
          '',
        ].join('\n'),
      ),
    );
    expect(readFileSync(lockfile, 'utf8')).toBe(before);
    expect(readFileSync(path.join(dir, 'package.json'), 'utf8')).toBe(pkgBefore);
    if (!RAISES_FLOORS.has(client)) expect(r.stdout).not.toContain('Moved package.json ranges');
  });

  it('moves to the newest allowed version, says what it skipped, and audit passes', {
    timeout: 300_000,
  }, async () => {
    const r = await update(client, dir, ['--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.updated).toEqual([
      { name: 'dep-a', from: '1.0.0', to: '1.1.0' },
      { name: 'left-pad', from: '1.1.0', to: '1.3.0' },
    ]);
    expect(json.wrote).toBe(true);
    expect(json.ranges.map((m: { name: string; to: string }) => `${m.name} ${m.to}`)).toEqual(
      RAISES_FLOORS.has(client) ? ['dep-a ^1.1.0', 'left-pad ^1.3.0'] : [],
    );
    expect(
      json.skipped.map((s: { name: string; version: string; rule: string }) => [s.name, s.version, s.rule]),
    ).toEqual([['left-pad', '1.3.1', 'cooling-off']]);
    const text = readFileSync(path.join(dir, LOCKFILE_OF[client]), 'utf8');
    expect(text).toContain('1.3.0');
    expect(text).not.toMatch(/left-pad@1\.3\.1|left-pad-1\.3\.1/);
    expectUpstreamUrlsOnly(text);
    const audit = await runCliCaptured(
      ['audit', dir, '--json', '--registry', registry.url, '--policy', path.join(parent, 'policy.json')],
      { env: await sandbox.clientEnv(registry.url), cwd: dir, now: () => NOW },
    );
    expect(JSON.parse(audit.stdout).summary.blocked).toBe(0);
    expect(audit.code).toBe(0);
  });

  it('--latest moves the range across majors', { timeout: 300_000 }, async () => {
    const r = await update(client, dir, ['--latest', '--json'], ['dep-a']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.updated).toEqual([{ name: 'dep-a', from: '1.1.0', to: '2.0.0' }]);
    expect(json.ranges).toEqual([
      {
        file: 'package.json',
        name: 'dep-a',
        from: RAISES_FLOORS.has(client) ? '^1.1.0' : '^1.0.0',
        to: '^2.0.0',
      },
    ]);
    expect(JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).dependencies['dep-a']).toBe(
      '^2.0.0',
    );
    expectUpstreamUrlsOnly(readFileSync(path.join(dir, LOCKFILE_OF[client]), 'utf8'));
  });
});
