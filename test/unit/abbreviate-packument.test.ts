import { describe, expect, it } from 'vitest';
import { abbreviatePackument } from '../../src/policy/abbreviate-packument.js';
import type { Manifest, Packument } from '../../src/sources/types.js';

function buildManifest(overrides: Partial<Manifest> = {}): Manifest {
  return {
    name: 'pkg',
    version: '1.0.0',
    description: 'a package',
    readme: 'long readme '.repeat(100),
    repository: { type: 'git', url: 'git+https://github.com/o/pkg.git' },
    gitHead: 'abc',
    _npmUser: { name: 'someone' },
    maintainers: [{ name: 'someone' }],
    scripts: { test: 'vitest' },
    dependencies: { a: '^1.0.0' },
    devDependencies: { vitest: '^4.0.0' },
    dist: { tarball: 'http://127.0.0.1:9/pkg/-/pkg-1.0.0.tgz', integrity: 'sha512-x', shasum: 'abc' },
    ...overrides,
  };
}

function buildPackument(overrides: Partial<Packument> = {}): Packument {
  return {
    _id: 'pkg',
    name: 'pkg',
    'dist-tags': { latest: '1.0.0' },
    versions: { '1.0.0': buildManifest() },
    time: { '1.0.0': '2024-12-04T23:03:58.786000+00:00', '0.9.0': '2024-01-01T00:00:00.000Z' },
    readme: 'top-level readme',
    maintainers: [],
    ...overrides,
  };
}

describe('abbreviatePackument', () => {
  it('keeps only the top-level install fields', () => {
    const out = abbreviatePackument(buildPackument());
    expect(Object.keys(out).sort()).toEqual(['dist-tags', 'modified', 'name', 'versions']);
    expect(out['dist-tags']).toEqual({ latest: '1.0.0' });
  });

  it('keeps install fields per version and drops the rest', () => {
    const manifest = buildManifest({
      peerDependencies: { react: '*' },
      peerDependenciesMeta: { react: { optional: true } },
      optionalDependencies: { fsevents: '*' },
      bundleDependencies: ['a'],
      bin: { pkg: 'cli.js' },
      directories: { bin: './bin' },
      engines: { node: '>=18' },
      os: ['linux'],
      cpu: ['x64'],
      deprecated: 'use other',
      _hasShrinkwrap: false,
      funding: 'https://example.invalid/fund',
      acceptDependencies: { a: '^2' },
    });
    const out = abbreviatePackument(buildPackument({ versions: { '1.0.0': manifest } }));
    const v = out.versions['1.0.0'] ?? {};
    expect(Object.keys(v).sort()).toEqual(
      [
        '_hasShrinkwrap',
        'acceptDependencies',
        'bin',
        'bundleDependencies',
        'cpu',
        'dependencies',
        'deprecated',
        'devDependencies',
        'directories',
        'dist',
        'engines',
        'funding',
        'name',
        'optionalDependencies',
        'os',
        'peerDependencies',
        'peerDependenciesMeta',
        'version',
      ].sort(),
    );
    expect(v.dist).toEqual(manifest.dist);
  });

  const installScriptCases: Array<{
    scripts: Record<string, string> | undefined;
    flag?: boolean;
    expected: boolean | undefined;
  }> = [
    { scripts: { postinstall: 'node x.js' }, expected: true },
    { scripts: { preinstall: 'x' }, expected: true },
    { scripts: { install: 'node-gyp rebuild' }, expected: true },
    { scripts: { test: 'x', prepare: 'y' }, expected: undefined },
    { scripts: undefined, expected: undefined },
    { scripts: { test: 'x' }, flag: true, expected: true },
  ];
  it.each(installScriptCases)(
    'hasInstallScript from scripts $scripts (flag $flag)',
    ({ scripts, flag, expected }) => {
      const manifest = buildManifest({ scripts, ...(flag === undefined ? {} : { hasInstallScript: flag }) });
      const out = abbreviatePackument(buildPackument({ versions: { '1.0.0': manifest } }));
      expect(out.versions['1.0.0']?.hasInstallScript).toBe(expected);
    },
  );

  const modifiedCases: Array<{ title: string; doc: Partial<Packument>; expected: string | undefined }> = [
    {
      title: 'time.modified when present',
      doc: { time: { modified: '2025-01-01T00:00:00.000Z', '1.0.0': '2026-01-01T00:00:00.000Z' } },
      expected: '2025-01-01T00:00:00.000Z',
    },
    {
      title: 'newest entry of a mirror-shaped time map (microsecond timestamps)',
      doc: { time: { '1.0.0': '2024-12-04T23:03:58.786000+00:00', '0.9.0': '2024-01-01T00:00:00.000Z' } },
      expected: '2024-12-04T23:03:58.786Z',
    },
    { title: 'absent without time', doc: { time: undefined }, expected: undefined },
    { title: 'garbage time values are skipped', doc: { time: { '1.0.0': 'soon' } }, expected: undefined },
  ];
  it.each(modifiedCases)('modified: $title', ({ doc, expected }) => {
    expect(abbreviatePackument(buildPackument(doc)).modified).toBe(expected);
  });

  it('survives __proto__ versions and non-object manifests', () => {
    const doc = JSON.parse(
      '{"name":"evil","dist-tags":{"latest":"1.0.0"},"versions":{"__proto__":{"name":"evil","version":"__proto__","x":1},"1.0.0":null}}',
    ) as Packument;
    const out = abbreviatePackument(doc);
    expect(Object.keys(out.versions)).toEqual(['__proto__']);
    expect(ownValue(JSON.parse(JSON.stringify(out)).versions, '__proto__')).toEqual({
      name: 'evil',
      version: '__proto__',
    });
  });
});

/** An own property read that works for the key `__proto__` too. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary document fields
function ownValue(obj: object, key: string): any {
  return Object.getOwnPropertyDescriptor(obj, key)?.value;
}

describe('abbreviatePackument: license', () => {
  it('keeps the per-version license', () => {
    const out = abbreviatePackument(
      buildPackument({ versions: { '1.0.0': buildManifest({ license: 'MIT' }) } }),
    );
    expect(out.versions['1.0.0']!.license).toBe('MIT');
  });
});
