// `lockwarden update` resolves with the user's npm settings: the project's .npmrc names the
// registry, a scoped registry, a token per host and omit-lockfile-registry-resolved, and both
// fake registries refuse requests without their own token. Arborist fetches a remote tarball
// dependency itself, so it must get the credentials too; no token may reach the other host.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { makePackument } from '../helpers/make-packument.js';
import { runCliCaptured } from '../helpers/run-cli-captured.js';

const NOW = new Date('2026-12-07T12:00:00.000Z');
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86400000);
const PUBLIC_TOKEN = 'tok-public-registry';
const CORP_TOKEN = 'tok-corp-registry';

let publicRegistry: FakeRegistry;
let corpRegistry: FakeRegistry;
let work: string;

const hostKey = (r: FakeRegistry) => `//127.0.0.1:${r.port}/`;

beforeAll(async () => {
  publicRegistry = await startFakeRegistry({
    shape: 'public',
    packuments: [
      makePackument({
        name: 'left-pad',
        versions: [
          { version: '1.1.0', publishedAt: daysAgo(400) },
          { version: '1.3.0', publishedAt: daysAgo(60) },
        ],
      }),
      makePackument({ name: 'remote-dep', versions: [{ version: '1.0.0', publishedAt: daysAgo(300) }] }),
    ],
  });
  corpRegistry = await startFakeRegistry({
    shape: 'public',
    packuments: [
      makePackument({
        name: '@corp/lib',
        versions: [
          { version: '2.0.0', publishedAt: daysAgo(400) },
          { version: '2.1.0', publishedAt: daysAgo(30) },
        ],
      }),
    ],
  });
  for (const [registry, token] of [
    [publicRegistry, PUBLIC_TOKEN],
    [corpRegistry, CORP_TOKEN],
  ] as const) {
    registry.fault({
      kind: 'status',
      status: 401,
      body: '{"error":"authentication required"}',
      match: (req) => req.headers.authorization !== `Bearer ${token}`,
    });
  }
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-update-npmrc-'));
});

afterAll(async () => {
  await Promise.all([publicRegistry?.close(), corpRegistry?.close()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

function writeJson(file: string, value: unknown) {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

describe('lockwarden update with the project’s npm configuration', () => {
  it('uses the registry, the scoped registry and each host’s token, and omits resolved URLs', async () => {
    const project = mkdtempSync(path.join(work, 'app-'));
    const home = mkdtempSync(path.join(work, 'home-'));
    const remote = `${publicRegistry.url}remote-dep/-/remote-dep-1.0.0.tgz`;
    // remote-dep is new in package.json: Arborist fetches its tarball to read its manifest.
    const dependencies = { 'left-pad': '^1.1.0', '@corp/lib': '^2.0.0', 'remote-dep': remote };
    const locked = { 'left-pad': '^1.1.0', '@corp/lib': '^2.0.0' };
    writeJson(path.join(project, 'package.json'), { name: 'app', version: '1.0.0', dependencies });
    writeJson(path.join(project, 'package-lock.json'), {
      name: 'app',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'app', version: '1.0.0', dependencies: locked },
        'node_modules/left-pad': { version: '1.1.0' },
        'node_modules/@corp/lib': { version: '2.0.0' },
      },
    });
    writeFileSync(
      path.join(project, '.npmrc'),
      [
        `registry=${publicRegistry.url}`,
        `@corp:registry=${corpRegistry.url}`,
        `${hostKey(publicRegistry)}:_authToken=${PUBLIC_TOKEN}`,
        `${hostKey(corpRegistry)}:_authToken=\${CORP_NPM_TOKEN}`,
        'omit-lockfile-registry-resolved=true',
        '',
      ].join('\n'),
    );
    const policyFile = path.join(project, 'lockwarden.policy.json');
    writeJson(policyFile, { id: 'ci', coolingOffDays: 7, typosquatting: false, semverHonesty: 'off' });

    const r = await runCliCaptured(['update', project, '--json', '--cache-dir', path.join(work, 'cache')], {
      env: { PATH: process.env.PATH, HOME: home, CORP_NPM_TOKEN: CORP_TOKEN },
      cwd: project,
      now: () => NOW,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.updated).toEqual([
      { name: '@corp/lib', from: '2.0.0', to: '2.1.0' },
      { name: 'left-pad', from: '1.1.0', to: '1.3.0' },
    ]);
    expect(result.added).toEqual([{ name: 'remote-dep', version: '1.0.0' }]);

    const lock = JSON.parse(readFileSync(path.join(project, 'package-lock.json'), 'utf8'));
    // omit-lockfile-registry-resolved: registry packages carry no URL; the remote one keeps its own.
    expect(lock.packages['node_modules/left-pad']).toMatchObject({ version: '1.3.0' });
    expect(lock.packages['node_modules/left-pad'].resolved).toBeUndefined();
    expect(lock.packages['node_modules/@corp/lib'].version).toBe('2.1.0');
    expect(lock.packages['node_modules/@corp/lib'].resolved).toBeUndefined();
    expect(lock.packages['node_modules/remote-dep'].resolved).toBe(remote);

    // Every request carried its host's token, and only that one.
    expect(publicRegistry.requests.length).toBeGreaterThan(0);
    expect(corpRegistry.requests.some((r) => r.path.includes('@corp'))).toBe(true);
    for (const r of publicRegistry.requests) expect(r.headers.authorization).toBe(`Bearer ${PUBLIC_TOKEN}`);
    for (const r of corpRegistry.requests) expect(r.headers.authorization).toBe(`Bearer ${CORP_TOKEN}`);
    // The remote tarball was fetched by Arborist (pacote), with the public registry's token.
    expect(publicRegistry.requests.some((r) => r.path === '/remote-dep/-/remote-dep-1.0.0.tgz')).toBe(true);
  });

  it('names the URL Arborist could not fetch, without credentials, and writes nothing', async () => {
    const project = mkdtempSync(path.join(work, 'app-'));
    const home = mkdtempSync(path.join(work, 'home-'));
    // On the corp host, for which this .npmrc has no token.
    const remote = `${corpRegistry.url}remote-dep/-/remote-dep-1.0.0.tgz`;
    writeJson(path.join(project, 'package.json'), {
      name: 'app',
      version: '1.0.0',
      dependencies: { 'remote-dep': remote },
    });
    const lockfile = {
      name: 'app',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: { '': { name: 'app', version: '1.0.0' } },
    };
    writeJson(path.join(project, 'package-lock.json'), lockfile);
    writeFileSync(
      path.join(project, '.npmrc'),
      `registry=${publicRegistry.url}\n${hostKey(publicRegistry)}:_authToken=${PUBLIC_TOKEN}\n`,
    );
    writeJson(path.join(project, 'lockwarden.policy.json'), { id: 'ci', typosquatting: false });
    const r = await runCliCaptured(['update', project, '--cache-dir', path.join(work, 'cache')], {
      env: { PATH: process.env.PATH, HOME: home },
      cwd: project,
      now: () => NOW,
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      `cannot update: ${remote} answered HTTP 401 (check the credentials your npm configuration has for that host); nothing was written`,
    );
    expect(JSON.parse(readFileSync(path.join(project, 'package-lock.json'), 'utf8'))).toEqual(lockfile);
  });
});
