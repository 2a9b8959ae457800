// semver-honesty end to end: packages built for the test (real tarballs with .d.ts files) on a
// fake registry, compared through `lockwarden check name@old..new` and `lockwarden update`.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import type { Report } from '../../src/engine/report.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { makePackument } from '../helpers/make-packument.js';
import { SEMVER_PACKUMENTS } from '../helpers/semver-packages.js';

const NOW = new Date('2026-12-07T12:00:00.000Z');

let registry: FakeRegistry;
let work: string;

async function run(argv: string[], policy: Record<string, unknown> = {}) {
  const policyFile = path.join(work, `policy-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(policyFile, JSON.stringify({ id: 'ci', typosquatting: false, ...policy }));
  const cacheDir = mkdtempSync(path.join(work, 'cache-'));
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await runCli(
    [...argv, '--registry', registry.url, '--cache-dir', cacheDir, '--policy', policyFile],
    {
      stdout,
      stderr,
      env: { PATH: process.env.PATH },
      cwd: work,
      now: () => NOW,
    },
  );
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

beforeAll(async () => {
  registry = await startFakeRegistry({ shape: 'mirror', packuments: SEMVER_PACKUMENTS(NOW) });
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-semver-'));
});

afterAll(async () => {
  await registry.close();
  rmSync(work, { recursive: true, force: true });
});

describe('lockwarden check name@old..new', () => {
  it('flags a minor that removes a .d.ts export', async () => {
    const r = await run(['check', 'lib-x@2.3.0..2.4.0', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0); // alert by default
    const report = JSON.parse(r.stdout) as Report;
    expect(report.findings.map((f) => f.message)).toEqual([
      'lib-x 2.3.0 → 2.4.0 removes export parseOptions from "lib-x/utils" (types: dist/utils.d.ts): a breaking change in a minor release',
    ]);
    expect(report.findings[0]).toMatchObject({ rule: 'semver-honesty', effect: 'alert', version: '2.4.0' });
  });

  it('flags a minor that narrows engines.node, and blocks under semverHonesty: block', async () => {
    const r = await run(['check', 'engine-pkg@1.0.0..1.1.0'], { semverHonesty: 'block' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'engine-pkg 1.0.0 → 1.1.0 narrows engines.node >=14 → >=18: a breaking change in a minor release',
    );
  });

  it('passes a minor that only adds exports', async () => {
    const r = await run(['check', 'additive-pkg@1.0.0..1.1.0', '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as Report).findings).toEqual([]);
  });

  it('compares types from the standard library (Promise, Set, Map) as themselves, not as any', async () => {
    const r = await run(['check', 'async-pkg@1.0.0..1.1.0', '--json']);
    expect((JSON.parse(r.stdout) as Report).findings.map((f) => f.message)).toEqual([
      'async-pkg 1.0.0 → 1.1.0 narrows the type of load(source) in "async-pkg" (types: index.d.ts): Promise<string> → Set<string>: a breaking change in a minor release',
    ]);
  });

  it('names parameters made required, properties made required and narrowed types', async () => {
    const r = await run(['check', 'api-pkg@1.0.0..1.0.1', '--json']);
    const messages = (JSON.parse(r.stdout) as Report).findings.map((f) => f.message);
    expect(messages).toEqual([
      'api-pkg 1.0.0 → 1.0.1 adds a required parameter to connect() in "api-pkg" (types: index.d.ts): a breaking change in a patch release',
      'api-pkg 1.0.0 → 1.0.1 makes property Options.timeout required in "api-pkg" (types: index.d.ts): a breaking change in a patch release',
      'api-pkg 1.0.0 → 1.0.1 narrows the type of Mode in "api-pkg" (types: index.d.ts): "fast" | "slow" → "fast": a breaking change in a patch release',
    ]);
  });

  it('compares the export names of JavaScript without types', async () => {
    const r = await run(['check', 'plain-js@1.0.0..1.1.0', '--json']);
    expect((JSON.parse(r.stdout) as Report).findings.map((f) => f.message)).toEqual([
      'plain-js 1.0.0 → 1.1.0 removes export legacy from "plain-js" (js: index.js): a breaking change in a minor release',
    ]);
  });

  it('says nothing about a major, and reports an unreachable tarball as unavailable', async () => {
    const major = await run(['check', 'lib-x@2.3.0..3.0.0', '--json']);
    expect((JSON.parse(major.stdout) as Report).findings).toEqual([]);
    registry.fault({ kind: 'status', status: 500, match: (req) => req.path.endsWith('.tgz') });
    try {
      const r = await run(['check', 'engine-pkg@1.0.0..1.1.0', '--json', '--retries', '0'], {
        semverHonesty: 'block',
        onUnavailable: 'block',
      });
      expect(r.code).toBe(3);
      const f = (JSON.parse(r.stdout) as Report).findings[0]!;
      expect(f).toMatchObject({ rule: 'semver-honesty', outcome: 'unavailable', effect: 'block' });
    } finally {
      registry.clearFaults();
    }
  });
});

describe('lockwarden update with semver honesty', () => {
  function writeApp(dir: string) {
    mkdirSync(dir, { recursive: true });
    const dependencies = { 'lib-x': '^2.3.0', 'additive-pkg': '^1.0.0' };
    writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', dependencies }),
    );
    writeFileSync(
      path.join(dir, 'package-lock.json'),
      JSON.stringify({
        name: 'app',
        version: '1.0.0',
        lockfileVersion: 3,
        requires: true,
        packages: {
          '': { name: 'app', version: '1.0.0', dependencies },
          'node_modules/lib-x': { version: '2.3.0' },
          'node_modules/additive-pkg': { version: '1.0.0' },
        },
      }),
    );
  }

  it('alert: updates and names the breaking change', async () => {
    const dir = path.join(work, 'alert-app');
    writeApp(dir);
    const r = await run(['update', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  additive-pkg 1.0.0 → 1.1.0\n  lib-x 2.3.0 → 2.4.0\n');
    expect(r.stdout).toContain(
      'Semver honesty:\n  lib-x 2.3.0 → 2.4.0 removes export parseOptions from "lib-x/utils" (types: dist/utils.d.ts): a breaking change in a minor release\n',
    );
  });

  it('block: holds the dishonest release back and says why', async () => {
    const dir = path.join(work, 'block-app');
    writeApp(dir);
    const r = await run(['update', dir], { semverHonesty: 'block' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Updated the following:\n  additive-pkg 1.0.0 → 1.1.0\n');
    expect(r.stdout).toContain(
      '  lib-x 2.4.0: semver-honesty (lib-x 2.3.0 → 2.4.0 removes export parseOptions from "lib-x/utils" (types: dist/utils.d.ts): a breaking change in a minor release)',
    );
    const lock = JSON.parse(readFileSync(path.join(dir, 'package-lock.json'), 'utf8'));
    expect(lock.packages['node_modules/lib-x'].version).toBe('2.3.0');
  });
});

describe('lockwarden update under semverHonesty: block, with more dishonest releases than rounds', () => {
  // Every minor after 1.0.0 narrows engines.node: each resolution round holds back the newest one
  // and resolves again; when the rounds run out, a dishonest release must not be written anyway.
  let chain: FakeRegistry;
  beforeAll(async () => {
    const versions = ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0', '1.5.0', '1.6.0', '1.7.0'].map(
      (version, i) => ({
        version,
        publishedAt: new Date(NOW.getTime() - (300 - i) * 86400000),
        extra: { engines: { node: `>=${14 + i}` }, types: 'index.d.ts' },
        files: { 'index.d.ts': 'export declare function run(): void;\n' },
      }),
    );
    chain = await startFakeRegistry({
      shape: 'mirror',
      packuments: [makePackument({ name: 'chain-pkg', versions })],
    });
  });
  afterAll(async () => {
    await chain.close();
  });

  it('writes nothing and exits 1 rather than a release the policy blocks', async () => {
    const dir = path.join(work, 'chain-app');
    mkdirSync(dir, { recursive: true });
    const dependencies = { 'chain-pkg': '^1.0.0' };
    writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', dependencies }),
    );
    const lockText = JSON.stringify({
      name: 'app',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'app', version: '1.0.0', dependencies },
        'node_modules/chain-pkg': { version: '1.0.0' },
      },
    });
    writeFileSync(path.join(dir, 'package-lock.json'), lockText);
    const policyFile = path.join(work, 'policy-chain.json');
    writeFileSync(policyFile, JSON.stringify({ id: 'ci', typosquatting: false, semverHonesty: 'block' }));
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const stdout = new PassThrough().on('data', (c: Buffer) => out.push(c));
    const stderr = new PassThrough().on('data', (c: Buffer) => err.push(c));
    const code = await runCli(
      [
        'update',
        dir,
        '--registry',
        chain.url,
        '--cache-dir',
        mkdtempSync(path.join(work, 'cache-')),
        '--policy',
        policyFile,
      ],
      { stdout, stderr, env: { PATH: process.env.PATH }, cwd: work, now: () => NOW },
    );
    const text = Buffer.concat(out).toString() + Buffer.concat(err).toString();
    const lock = JSON.parse(readFileSync(path.join(dir, 'package-lock.json'), 'utf8'));
    expect(lock.packages['node_modules/chain-pkg'].version).toBe('1.0.0');
    expect(code).toBe(1);
    expect(text).toContain('chain-pkg 1.0.0 → 1.');
    expect(text).toContain('nothing was written');
  }, 120_000);
});
