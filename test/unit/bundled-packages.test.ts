import { describe, expect, it } from 'vitest';
import {
  BUNDLED_MANIFEST,
  bundledPackagesIn,
  bundleFinding,
  declaresBundles,
} from '../../src/engine/bundled-packages.js';
import type { Finding } from '../../src/policy/types.js';

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

describe('bundledPackagesIn', () => {
  const unpacked = (texts: Record<string, string>) => ({
    files: new Set(Object.keys(texts)),
    texts: new Map(Object.entries(texts)),
  });

  it('lists each bundled name@version once, nested ones included, and skips what no registry could hold', () => {
    const found = bundledPackagesIn(
      unpacked({
        'package.json': JSON.stringify({ name: 'bundler', version: '1.0.0' }),
        'node_modules/a/package.json': JSON.stringify({ name: 'a', version: '1.0.0' }),
        'node_modules/a/node_modules/@s/b/package.json': JSON.stringify({ name: '@s/b', version: '2.0.0' }),
        'node_modules/c/node_modules/a/package.json': JSON.stringify({ name: 'a', version: '1.0.0' }),
        'node_modules/bad-json/package.json': '{',
        'node_modules/bad-name/package.json': JSON.stringify({ name: '../x', version: '1.0.0' }),
        'node_modules/bad-version/package.json': JSON.stringify({ name: 'bad-version', version: 'latest' }),
        'node_modules/array/package.json': '[]',
      }),
    );
    expect(found).toEqual([
      { name: 'a', version: '1.0.0', path: 'node_modules/a' },
      { name: '@s/b', version: '2.0.0', path: 'node_modules/a/node_modules/@s/b' },
    ]);
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
