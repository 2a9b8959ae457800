// `lockwarden check`'s specs: the plain shapes answered without npm-package-arg give exactly what
// npm-package-arg gives, and everything else is left to it.
import npa from 'npm-package-arg';
import { describe, expect, it } from 'vitest';
import { parseCheckSpecs, plainCheckSpec } from '../../src/cli/parse-check-specs.js';

/** What the check command made of a spec through npm-package-arg alone (before the fast path). */
function throughNpa(raw: string): { name: string; version: string | null } | 'error' {
  try {
    const p = npa(raw);
    if (p.type === 'version') return { name: p.name!, version: p.fetchSpec! };
    if ((p.type === 'tag' || p.type === 'range') && ['', '*', 'latest'].includes(p.rawSpec))
      return { name: p.name!, version: null };
    return 'error';
  } catch {
    return 'error';
  }
}

describe('plainCheckSpec', () => {
  it.each([
    'expres',
    'express@4.21.2',
    'express@latest',
    'express@*',
    '@types/node',
    '@types/node@22.10.1',
    '@babel/core@7.26.0-rc.1',
    'JSONStream@1.3.5',
    'lodash.merge@4.6.2',
    'a@0.0.0',
  ])('%s: answered without npm-package-arg, as npm-package-arg answers', (raw) => {
    const plain = plainCheckSpec(raw);
    expect(plain).toBeDefined();
    expect(plain).toEqual(throughNpa(raw));
  });

  it.each([
    'express@v4.21.2', // loose version: npm-package-arg keeps it as written
    'express@=4.21.2',
    'left-pad@1.3.0+build.7', // semver drops the build: npm-package-arg keeps it
    'express@^4.0.0',
    'express@next',
    'express@npm:other@1.0.0',
    'express@file:../x',
    'express@github:expressjs/express',
    './local',
    'pkg.tgz',
    'pkg.tar.gz',
    'user/repo',
    'git+https://example.invalid/x.git',
    'https://example.invalid/x.tgz',
    '@scope',
    '.hidden',
    '_under',
    'node_modules',
    'has space',
    'http:x',
    '',
  ])('%s: left to npm-package-arg', (raw) => {
    expect(plainCheckSpec(raw)).toBeUndefined();
  });
});

describe('parseCheckSpecs', () => {
  it('answers plain specs and npm-package-arg ones in order', async () => {
    await expect(
      parseCheckSpecs(['a@1.0.0', 'b@v2.0.0', 'c', 'd@=3.0.0', 'e@1.0.0+build.7']),
    ).resolves.toEqual([
      { name: 'a', version: '1.0.0' },
      { name: 'b', version: '2.0.0' }, // a loose version, as the registry writes it
      { name: 'c', version: null },
      { name: 'd', version: '3.0.0' },
      { name: 'e', version: '1.0.0+build.7' }, // build metadata kept as written
    ]);
  });

  it.each([
    ['express@^4.0.0', /give an exact version/],
    ['express@github:expressjs/express', /got a git spec/],
    ['has space', /not a valid package spec/],
  ])('%s: the error npm-package-arg leads to', async (raw, message) => {
    await expect(parseCheckSpecs([raw])).rejects.toThrow(message);
  });

  it('needs at least one spec', async () => {
    await expect(parseCheckSpecs([])).rejects.toThrow(/at least one package name/);
  });
});
