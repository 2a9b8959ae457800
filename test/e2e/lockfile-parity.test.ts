// Parity: one package.json locked by the real npm, pnpm, yarn classic, yarn Berry and bun clients
// against a loopback registry gets the same findings from `lockwarden audit`, with planted
// cooling-off, typosquatting and blocklist violations, each reported on its own lockfile's lines.
// And a dependency that bundles a blocked version: npm's lockfile lists the bundled copy, the
// others do not (audit reads the bundler's tarball for them); every client's audit blocks it.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import type { Report } from '../../src/engine/report.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import {
  LOCK_CLIENTS,
  LOCKFILE_OF,
  type LockClient,
  type LockProject,
  lockWithClient,
  tempParent,
} from '../helpers/lock-with-clients.js';
import { makePackument } from '../helpers/make-packument.js';
import { daysAgo, NOW } from '../helpers/make-policy.js';

const at = (days: number) => new Date(daysAgo(days));
const PACKUMENTS = [
  makePackument({
    name: 'left-pad',
    versions: [
      { version: '1.0.0', publishedAt: at(400) },
      { version: '1.1.0', publishedAt: at(200) },
      // Published two days before NOW: inside the 7-day cooling-off.
      { version: '1.2.0', publishedAt: at(2) },
    ],
  }),
  makePackument({
    name: '@acme/is-odd',
    versions: [{ version: '3.0.0', publishedAt: at(300), dependencies: { 'left-pad': '^1.0.0' } }],
  }),
  // One letter away from express, which is in the embedded popular list.
  makePackument({ name: 'expres', versions: [{ version: '1.0.0', publishedAt: at(100) }] }),
  makePackument({ name: 'evil-pkg', versions: [{ version: '1.0.0', publishedAt: at(100) }] }),
  makePackument({
    name: 'dev-tool',
    versions: [
      {
        version: '2.0.0',
        publishedAt: at(90),
        dependencies: { '@acme/is-odd': '^3.0.0', 'left-pad': '1.0.0', 'evil-pkg': '^1.0.0' },
      },
    ],
  }),
];

// acme-bundler's tarball carries acme-inner 1.3.0, published two days before NOW, although its
// manifest asks for 1.0.0: clients that resolve bundled dependencies from the registry as well
// (yarn, bun) lock the old one, and only the tarball brings the young one.
const BUNDLER = makePackument({
  name: 'acme-bundler',
  versions: [
    {
      version: '1.0.0',
      publishedAt: at(200),
      dependencies: { 'acme-inner': '1.0.0' },
      extra: { bundleDependencies: ['acme-inner'] },
      files: {
        'node_modules/acme-inner/package.json': JSON.stringify({ name: 'acme-inner', version: '1.3.0' }),
      },
    },
  ],
});
const INNER = makePackument({
  name: 'acme-inner',
  versions: [
    { version: '1.0.0', publishedAt: at(300) },
    { version: '1.3.0', publishedAt: at(2) },
  ],
});
const BUNDLER_PROJECT: LockProject = {
  files: {
    'package.json': JSON.stringify({
      name: 'bundling-app',
      version: '1.0.0',
      private: true,
      dependencies: { 'acme-bundler': '^1.0.0' },
    }),
  },
};

const PROJECT: LockProject = {
  files: {
    'package.json': JSON.stringify(
      {
        name: 'app',
        version: '1.0.0',
        private: true,
        dependencies: {
          // ^1.2.0, not ^1.1.0: pnpm prefers versions the project already has, npm the newest.
          'left-pad': '^1.2.0',
          '@acme/is-odd': '^3.0.0',
          expres: '^1.0.0',
          pad: 'npm:left-pad@1.0.0',
          'local-thing': 'file:vendor/local-thing',
        },
        devDependencies: { 'dev-tool': '^2.0.0' },
      },
      null,
      2,
    ),
    'vendor/local-thing/package.json': JSON.stringify({ name: 'local-thing', version: '0.1.0' }),
    'packages/util/package.json': JSON.stringify({
      name: 'util',
      version: '0.0.1',
      dependencies: { '@acme/is-odd': '^3.0.0' },
    }),
  },
  workspaces: ['packages/*'],
};

const POLICY = {
  id: 'parity',
  coolingOffDays: 7,
  typosquatting: true,
  block: [{ package: 'evil-pkg', reason: 'planted for the parity test' }],
  onUnavailable: 'block',
};

let registry: FakeRegistry;
let parent: string;
const dirs = new Map<LockClient, string>();
const bundlerDirs = new Map<LockClient, string>();

beforeAll(async () => {
  registry = await startFakeRegistry({ shape: 'public', packuments: [...PACKUMENTS, BUNDLER, INNER] });
  parent = await tempParent();
  writeFileSync(path.join(parent, 'policy.json'), JSON.stringify(POLICY));
  // One at a time: five installers at once would only fight over the shared cores.
  for (const client of LOCK_CLIENTS)
    dirs.set(client, await lockWithClient(client, PROJECT, registry.url, parent));
  for (const client of LOCK_CLIENTS)
    bundlerDirs.set(client, await lockWithClient(client, BUNDLER_PROJECT, registry.url, parent));
}, 300_000);

afterAll(async () => {
  await registry?.close();
  if (parent) rmSync(parent, { recursive: true, force: true });
});

async function audit(dir: string): Promise<{ code: number; report: Report; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const cacheDir = path.join(parent, `cache-${path.basename(dir)}`);
  mkdirSync(cacheDir, { recursive: true });
  const code = await runCli(
    [
      'audit',
      dir,
      '--json',
      '--registry',
      registry.url,
      '--policy',
      path.join(parent, 'policy.json'),
      '--cache-dir',
      cacheDir,
    ],
    { stdout, stderr, env: { PATH: process.env.PATH }, cwd: parent, now: () => NOW },
  );
  const text = Buffer.concat(out).toString();
  return { code, report: JSON.parse(text) as Report, stderr: Buffer.concat(err).toString() };
}

describe('the same project locked by five clients', () => {
  it.each(LOCK_CLIENTS)('%s: the client wrote the lockfile lockwarden reads', (client) => {
    const dir = dirs.get(client)!;
    const text = readFileSync(path.join(dir, LOCKFILE_OF[client]), 'utf8');
    if (client === 'yarn-berry') expect(text).toContain('__metadata:');
    if (client === 'yarn-classic') expect(text).toContain('# yarn lockfile v1');
    if (client === 'pnpm') expect(text).toContain("lockfileVersion: '9.0'");
    expect(text).toContain('expres');
  });

  it('gets the same findings from lockwarden audit, on each lockfile’s own lines', async () => {
    const results = new Map<LockClient, string[]>();
    const checked = new Map<LockClient, number>();
    for (const client of LOCK_CLIENTS) {
      const dir = dirs.get(client)!;
      const { code, report, stderr } = await audit(dir);
      expect(code, `${client}: ${stderr}`).toBe(1);
      results.set(client, report.findings.map((f) => `${f.outcome} ${f.rule} ${f.name}@${f.version}`).sort());
      checked.set(client, report.summary.checked);
      const lines = readFileSync(path.join(dir, LOCKFILE_OF[client]), 'utf8').split('\n');
      for (const f of report.findings) {
        expect(f.locations?.length, `${client} ${f.name}`).toBeGreaterThan(0);
        for (const l of f.locations ?? []) {
          expect(l.file).toBe(LOCKFILE_OF[client]);
          expect(lines[l.line - 1], `${client}: ${f.name}@${f.version} at line ${l.line}`).toContain(f.name);
        }
      }
      expect(report.skipped.map((s) => s.name).sort(), client).toEqual(['local-thing', 'util']);
    }
    const expected = [
      'block blocklist evil-pkg@1.0.0',
      'block cooling-off left-pad@1.2.0',
      'block typosquatting expres@1.0.0',
    ];
    for (const client of LOCK_CLIENTS) expect(results.get(client), client).toEqual(expected);
    // The same name@version everywhere: left-pad 1.0.0 and 1.2.0, is-odd, expres, evil-pkg, dev-tool.
    expect(new Set(checked.values())).toEqual(new Set([6]));
  });
});

describe('a dependency that bundles a blocked version, locked by five clients', () => {
  it('is blocked by lockwarden audit whichever client wrote the lockfile', async () => {
    for (const client of LOCK_CLIENTS) {
      const dir = bundlerDirs.get(client)!;
      const { code, report, stderr } = await audit(dir);
      expect(code, `${client}: ${stderr}`).toBe(1);
      const blocks = report.findings.filter((f) => f.effect === 'block');
      // Every block is acme-inner 1.3.0: as an entry of its own (npm lists bundled copies), or
      // inside acme-bundler's tarball.
      for (const f of blocks) {
        const about = f.evidence?.bundled ?? `${f.name}@${f.version}`;
        expect(`${f.rule} ${about}`, client).toBe('cooling-off acme-inner@1.3.0');
      }
      const lines = readFileSync(path.join(dir, LOCKFILE_OF[client]), 'utf8').split('\n');
      const onBundler = blocks.filter((f) => f.name === 'acme-bundler');
      if (client === 'npm') {
        // The bundled copy is an entry: its finding is at its own line, the bundler has none.
        expect(onBundler, client).toEqual([]);
        expect(blocks.map((f) => `${f.name}@${f.version}`)).toContain('acme-inner@1.3.0');
      } else {
        expect(
          onBundler.map((f) => f.message),
          client,
        ).toEqual([expect.stringMatching(/^acme-bundler@1\.0\.0 bundles acme-inner@1\.3\.0: /)]);
      }
      for (const f of blocks)
        for (const l of f.locations ?? [])
          expect(lines[l.line - 1], `${client}: ${f.name} at line ${l.line}`).toContain(f.name);
    }
  });
});
