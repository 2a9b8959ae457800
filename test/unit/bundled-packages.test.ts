import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  BUNDLED_MANIFEST,
  type BundledFacts,
  bundledPackagesFrom,
  bundleFinding,
  declaresBundles,
  judgeBundledPackages,
  listBundledPackages,
} from '../../src/engine/bundled-packages.js';
import type { Finding, Verdict } from '../../src/policy/types.js';
import { scanTarball } from '../../src/sources/unpack-tarball.js';
import { makePackument, makeTarball } from '../helpers/make-packument.js';
import { daysAgo, EMPTY_POPULAR, makePolicy, NOW } from '../helpers/make-policy.js';

describe('declaresBundles', () => {
  it.each([
    [{ bundleDependencies: ['a'] }, true],
    [{ bundledDependencies: ['a'] }, true],
    [{ bundleDependencies: true }, true],
    [{ bundleDependencies: [] }, false],
    [{ bundleDependencies: false }, false],
    [{}, false],
  ])('%j → %s', (manifest, expected) => {
    expect(declaresBundles(manifest)).toBe(expected);
  });
});

describe('BUNDLED_MANIFEST', () => {
  it.each([
    ['node_modules/a/package.json', true],
    ['node_modules/@s/a/package.json', true],
    ['node_modules/a/node_modules/@s/b/package.json', true],
    ['package.json', false],
    ['node_modules/a/lib/package.json', false],
    ['node_modules/package.json', false],
    ['lib/node_modules/a/package.json', false],
  ])('%s → %s', (path, expected) => {
    expect(BUNDLED_MANIFEST.test(path)).toBe(expected);
  });

  it('does not backtrack on a long hostile path (the test timeout is the bound)', () => {
    expect(BUNDLED_MANIFEST.test(`${'node_modules/@x/'.repeat(5_000)}package.jso`)).toBe(false);
  });
});

describe('bundledPackagesFrom', () => {
  it('lists each bundled name@version once, nested ones included, skips what no registry could hold and reports what cannot be read', () => {
    const found = bundledPackagesFrom(
      new Map(
        Object.entries({
          'package.json': JSON.stringify({ name: 'bundler', version: '1.0.0' }),
          'node_modules/a/package.json': JSON.stringify({ name: 'a', version: '1.0.0' }),
          'node_modules/a/node_modules/@s/b/package.json': JSON.stringify({ name: '@s/b', version: '2.0.0' }),
          'node_modules/c/node_modules/a/package.json': JSON.stringify({ name: 'a', version: '1.0.0' }),
          'node_modules/bad-json/package.json': '{',
          'node_modules/bad-name/package.json': JSON.stringify({ name: '../x', version: '1.0.0' }),
          'node_modules/bad-version/package.json': JSON.stringify({ name: 'bad-version', version: 'latest' }),
          'node_modules/array/package.json': '[]',
        }),
      ),
    );
    expect(found).toEqual({
      packages: [
        { name: 'a', version: '1.0.0' },
        { name: '@s/b', version: '2.0.0' },
      ],
      unreadable: ['node_modules/bad-json/package.json', 'node_modules/array/package.json'],
    });
  });
});

describe('bundleFinding', () => {
  it("puts the bundled package's finding on the bundler version, naming what it bundles", () => {
    const finding: Finding = {
      name: 'evil',
      version: '1.0.0',
      rule: 'blocklist',
      outcome: 'block',
      effect: 'block',
      scope: 'package',
      message: 'evil is on the block list',
      hint: 'remove evil from block',
      evidence: { entry: 'evil' },
    };
    expect(
      bundleFinding({ name: 'carrier', version: '2.0.0' }, { name: 'evil', version: '1.0.0' }, finding),
    ).toEqual({
      ...finding,
      name: 'carrier',
      version: '2.0.0',
      scope: 'version',
      message: 'carrier@2.0.0 bundles evil@1.0.0: evil is on the block list',
      evidence: { bundled: 'evil@1.0.0' },
    });
  });
});

describe('listBundledPackages', () => {
  const tarballWith = (files: Record<string, string>) =>
    makeTarball(
      makePackument({
        name: 'bundler',
        versions: [{ version: '1.0.0', publishedAt: new Date(daysAgo(9)), files }],
      }).versions['1.0.0']!,
    );
  const manifest = (name: string) => JSON.stringify({ name, version: '1.0.0' });

  it('reads the bundled manifests of a gzipped tarball', async () => {
    const list = await listBundledPackages(
      tarballWith({ 'node_modules/a/package.json': manifest('a'), 'node_modules/a/index.js': '' }),
    );
    expect(list).toEqual({
      packages: [{ name: 'a', version: '1.0.0' }],
      unreadable: [],
      overLimit: false,
    });
  });

  it('stops keeping manifests past the limit and says the list is incomplete', async () => {
    const files = Object.fromEntries(
      ['a', 'b', 'c', 'd', 'e'].map((n) => [`node_modules/${n}/package.json`, manifest(n)]),
    );
    const list = await listBundledPackages(tarballWith(files), { maxBundled: 3 });
    expect(list.overLimit).toBe(true);
    // One more than judged: enough to know the archive is over the limit.
    expect(list.packages).toHaveLength(4);
  });

  it('fails on an archive that unpacks past the limit (a small gzip bomb), without inflating it whole', async () => {
    const bomb = tarballWith({ 'zeros.bin': '\u0000'.repeat(4 * 1024 * 1024) });
    expect(bomb.length).toBeLessThan(64 * 1024);
    await expect(listBundledPackages(bomb, { maxUnpackedBytes: 1024 * 1024 })).rejects.toThrow(
      /unpacks to more than 1 MB/,
    );
  });

  it('stops at the end marker, whatever follows it (16 MB of zeros, past the 4 MB limit, here)', async () => {
    const tar = gunzipSync(tarballWith({ 'node_modules/a/package.json': manifest('a') }));
    const trailing = gzipSync(Buffer.concat([tar, Buffer.alloc(16 * 1024 * 1024)]));
    const list = await listBundledPackages(trailing, { maxUnpackedBytes: 4 * 1024 * 1024 });
    expect(list.packages).toEqual([{ name: 'a', version: '1.0.0' }]);
  });

  it('fails on an archive of more entries than the limit, empty ones included', async () => {
    const files = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`f${i}.txt`, '']));
    await expect(
      scanTarball(tarballWith(files), () => false, {
        maxUnpackedBytes: 1e9,
        maxFileBytes: 1e6,
        maxWanted: 10,
        maxKeptBytes: 1e6,
        maxEntries: 100,
      }),
    ).rejects.toThrow(/more than 100 entries/);
  });

  it('refuses an archive compressed twice (gzip or zstd inside), which tar would inflate uncounted', async () => {
    const inner = tarballWith({ 'node_modules/a/package.json': manifest('a') });
    await expect(listBundledPackages(gzipSync(inner))).rejects.toThrow(/compressed twice/);
    const zstdMagic = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(1024)]);
    await expect(listBundledPackages(zstdMagic)).rejects.toThrow(/compressed twice/);
    await expect(listBundledPackages(gzipSync(zstdMagic))).rejects.toThrow(/compressed twice/);
  });

  it('reads manifests stored as any kind of regular file (tar type 7), in any case', async () => {
    const tar = gunzipSync(tarballWith({ 'NODE_MODULES/evil/Package.json': manifest('evil') }));
    // Mark every regular file as a contiguous file (type 7), then fix each header's checksum.
    for (let at = 0; at + 512 <= tar.length; at += 512) {
      if (tar[at + 156] !== 0x30) continue;
      const size = Number.parseInt(tar.subarray(at + 124, at + 135).toString('ascii'), 8);
      tar[at + 156] = 0x37;
      tar.fill(0x20, at + 148, at + 156);
      let sum = 0;
      for (let i = at; i < at + 512; i++) sum += tar[i]!;
      tar.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, at + 148, 'ascii');
      at += Math.ceil(size / 512) * 512;
    }
    expect((await listBundledPackages(gzipSync(tar))).packages).toEqual([{ name: 'evil', version: '1.0.0' }]);
  });

  it('fails on bytes that are not a tar archive', async () => {
    await expect(listBundledPackages(Buffer.from('not a tarball at all'))).rejects.toThrow(/tar archive/);
  });
});

describe('judgeBundledPackages', () => {
  const policy = makePolicy({ coolingOffDays: 7, block: ['evil'] });
  const ctx = { policy, now: NOW, popular: EMPTY_POPULAR };
  const bundler = { name: 'carrier', version: '2.0.0' };
  const list = (...packages: Array<[string, string]>) => ({
    packages: packages.map(([name, version]) => ({ name, version })),
    unreadable: [] as string[],
    overLimit: false,
  });
  const verdict = (name: string, version: string, decision: 'allow' | 'alert' | 'block'): Verdict => ({
    name,
    version,
    decision,
    notices: [],
    findings:
      decision === 'allow'
        ? []
        : [
            {
              name,
              version,
              rule: 'cooling-off',
              outcome: decision,
              effect: decision,
              scope: 'version',
              message: `${name}@${version} is young`,
              hint: 'wait',
            },
          ],
  });
  const known = (name: string, versions: Record<string, 'allow' | 'alert' | 'block'>): BundledFacts => ({
    kind: 'known',
    evaluation: {
      packageFindings: [],
      packageVerdict: { name, version: null, decision: 'allow', findings: [], notices: [] },
      packageDecision: 'allow',
      versions: new Map(Object.entries(versions).map(([v, d]) => [v, verdict(name, v, d)])),
    },
  });
  const facts: Record<string, BundledFacts> = {
    ok: known('ok', { '1.0.0': 'allow' }),
    young: known('young', { '1.0.0': 'block' }),
    watched: known('watched', { '1.0.0': 'alert' }),
    down: { kind: 'unavailable', reason: 'registry timed out' },
    ghost: { kind: 'unknown-name' },
  };
  const judge = (l: ReturnType<typeof list>, extra = {}) =>
    judgeBundledPackages(bundler, l, async (name) => facts[name] ?? { kind: 'unknown-name' }, {
      ...ctx,
      ...extra,
    });

  it('passes what the policy allows', async () => {
    expect(await judge(list(['ok', '1.0.0']))).toEqual({ kind: 'ok', alerts: [] });
  });

  it('blocks the bundler for a blocked bundled version, with the finding on the bundler', async () => {
    const judged = await judge(list(['ok', '1.0.0'], ['young', '1.0.0']));
    expect(judged).toMatchObject({
      kind: 'blocked',
      findings: [
        {
          name: 'carrier',
          version: '2.0.0',
          rule: 'cooling-off',
          message: 'carrier@2.0.0 bundles young@1.0.0: young@1.0.0 is young',
        },
      ],
    });
  });

  it('carries alerts, and a block wins over an outage', async () => {
    expect(await judge(list(['watched', '1.0.0']))).toMatchObject({
      kind: 'ok',
      alerts: [{ rule: 'cooling-off' }],
    });
    expect(await judge(list(['down', '1.0.0'], ['young', '1.0.0']))).toMatchObject({ kind: 'blocked' });
    expect(await judge(list(['down', '1.0.0']))).toEqual({
      kind: 'unavailable',
      message: 'could not judge what carrier@2.0.0 bundles: down@1.0.0 (registry timed out)',
    });
  });

  it("passes a version or name the registry does not have: the bundler's own copy, as audit says", async () => {
    expect(await judge(list(['ok', '9.9.9']))).toEqual({ kind: 'ok', alerts: [] });
    expect(await judge(list(['ghost', '1.0.0']))).toEqual({ kind: 'ok', alerts: [] });
  });

  it('applies the package-level lists to a bundled name the registry does not know', async () => {
    expect(await judge(list(['evil', '1.0.0']))).toMatchObject({
      kind: 'blocked',
      findings: expect.arrayContaining([expect.objectContaining({ rule: 'blocklist' })]),
    });
  });

  it('does not judge an incomplete or unreadable list: unavailable, never a pass', async () => {
    expect(await judge({ ...list(['ok', '1.0.0']), overLimit: true }, { maxBundled: 1 })).toEqual({
      kind: 'unavailable',
      message:
        'carrier@2.0.0 bundles more than 1 package manifests (or more than 16 MB of them), more than lockwarden judges for one tarball',
    });
    expect(
      await judge({ ...list(['ok', '1.0.0']), unreadable: ['node_modules/x/package.json'] }),
    ).toMatchObject({
      kind: 'unavailable',
      message: expect.stringContaining('node_modules/x/package.json'),
    });
  });
});
