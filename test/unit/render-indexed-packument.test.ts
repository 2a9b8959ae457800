// The proxy serves indexed documents spliced from the upstream's bytes; what it serves must parse
// to exactly what filtering and abbreviating the parsed document gives.
import { describe, expect, it } from 'vitest';
import { abbreviatePackument } from '../../src/policy/abbreviate-packument.js';
import { filterPackument } from '../../src/policy/filter-packument.js';
import { renderIndexedPackument } from '../../src/policy/render-indexed-packument.js';
import {
  manifestField,
  packumentIndexOf,
  parsePackument,
} from '../../src/sources/parse-registry-document.js';
import type { Packument } from '../../src/sources/types.js';

const rewrites = {
  rewriteTarball: (name: string, version: string) => `http://127.0.0.1:1/p/${name}/-/x-${version}.tgz`,
  rewriteAttestations: (name: string, version: string) =>
    `http://127.0.0.1:1/p/-/npm/v1/attestations/${name}@${version}`,
};

function parsed(text: string, depth?: number) {
  const result = parsePackument(Buffer.from(text), 'p', depth);
  if (!result.ok) throw new Error(result.reason);
  return result.value;
}

function viaParse(text: string, keep: (v: string) => boolean, abbreviated: boolean): unknown {
  const { packument } = filterPackument(parsed(text), { keep, ...rewrites });
  return JSON.parse(JSON.stringify(abbreviated ? abbreviatePackument(packument) : packument));
}

function viaIndex(text: string, keep: (v: string) => boolean, abbreviated: boolean): unknown {
  const packument = parsed(text, 200);
  const index = packumentIndexOf(packument);
  expect(index).toBeDefined();
  const filtered = filterPackument(packument, { keep }).packument;
  return JSON.parse(renderIndexedPackument(index!, filtered, { ...rewrites, abbreviated }).toString('utf8'));
}

const full = {
  _id: 'p',
  _rev: '12-0123456789abcdef0123456789abcdef',
  name: 'p',
  description: 'a "package"',
  'dist-tags': { latest: '2.0.0', next: '3.0.0-rc.1', odd: 7 },
  versions: {
    '1.0.0': {
      name: 'p',
      version: '1.0.0',
      dependencies: { q: '^1.0.0' },
      scripts: { postinstall: 'node build.js', test: 'x' },
      license: 'MIT',
      readme: 'dropped when abbreviated',
      dist: { tarball: 'http://127.0.0.1:2/p/-/p-1.0.0.tgz', integrity: 'sha512-a', shasum: 'ab' },
    },
    '1.1.0': {
      version: '1.1.0',
      hasInstallScript: false,
      scripts: { install: 'x' },
      dist: {
        tarball: 'http://127.0.0.1:2/p/-/p-1.1.0.tgz',
        attestations: {
          url: 'http://127.0.0.1:2/-/npm/v1/attestations/p@1.1.0',
          provenance: { predicateType: 'x' },
        },
      },
      bin: { p: 'cli.js' },
      engines: { node: '>=18' },
      deprecated: 'use 2',
    },
    '1.2.0': { version: '1.2.0', dist: 'not an object', os: ['linux'] },
    '1.3.0': 'not an object either',
    __proto__: { version: '__proto__', dist: { tarball: 'http://127.0.0.1:2/x.tgz' } },
    '2.0.0': {
      version: '2.0.0',
      peerDependencies: { r: '*' },
      peerDependenciesMeta: { r: { optional: true } },
      dist: {},
    },
    '3.0.0-rc.1': { version: '3.0.0-rc.1', dist: { tarball: 'http://127.0.0.1:2/p/-/p-3.0.0-rc.1.tgz' } },
  },
  time: {
    created: '2019-01-01T00:00:00.000Z',
    modified: '2024-06-01T00:00:00.000Z',
    '1.0.0': '2019-01-01T00:00:00.000Z',
    '1.1.0': '2020-01-01T00:00:00.000Z',
    '2.0.0': '2024-05-01T00:00:00.000Z',
    '3.0.0-rc.1': '2024-06-01T00:00:00.000Z',
  },
  modified: '2024-06-01T00:00:00.000Z',
  readme: 'text with \u00e9 and \\ and "quotes"',
  users: { someone: true },
};
// JSON.stringify would make `__proto__` the prototype, not a key: spell it into the text.
const fullText = JSON.stringify(full).replace(
  '"1.3.0":"not an object either"',
  (m) => `${m},"__proto__":{"version":"__proto__","dist":{"tarball":"http://127.0.0.1:2/x.tgz"}}`,
);

const cases: Array<[string, string, (v: string) => boolean]> = [
  ['nothing hidden', fullText, () => true],
  [
    'the latest and a prerelease hidden (tags moved, times and _rev recomputed)',
    fullText,
    (v) => v !== '2.0.0' && v !== '3.0.0-rc.1',
  ],
  ['all but one hidden', fullText, (v) => v === '1.0.0'],
  ['pretty-printed upstream', JSON.stringify(full, null, 2), (v) => v !== '1.1.0'],
  [
    'fields the parse drops or adds (no name, time and modified unusable)',
    '{"versions":{"1.0.0":{"dist":{"tarball":"http://127.0.0.1:2/a"}}},"time":"soon","modified":5,"dist-tags":[]}',
    () => true,
  ],
  ['no versions field', '{"name":"p","dist-tags":{"latest":"1.0.0"}}', () => true],
  [
    'escapes in keys and URLs',
    String.raw`{"name":"p","versions":{"1.0.0-\u00e9":{"ver\u0073ion":"1.0.0-\u00e9","dist":{"tarball":"http:\/\/127.0.0.1:2\/p.tgz"}}},"time":{"1.0.0-\u00e9":"2020-01-01T00:00:00.000Z"}}`,
    () => true,
  ],
];

/** Wraps each lazy manifest getter of an indexed packument to count how often it is read. */
function countManifestReads(packument: Packument): () => number {
  let reads = 0;
  const versions = packument.versions;
  for (const key of Object.keys(versions)) {
    const { get } = Object.getOwnPropertyDescriptor(versions, key)!;
    expect(get).toBeTypeOf('function');
    Object.defineProperty(versions, key, {
      enumerable: true,
      configurable: true,
      get: () => {
        reads++;
        return get!();
      },
    });
  }
  return () => reads;
}

describe('manifestField', () => {
  it('reads one field of a version from the index, parsing no manifest', () => {
    const packument = parsed(fullText, 200);
    const reads = countManifestReads(packument);
    expect(manifestField(packument, '1.0.0', 'license')).toBe('MIT');
    expect(manifestField(packument, '1.1.0', 'bin')).toEqual({ p: 'cli.js' });
    expect(manifestField(packument, '1.1.0', 'license')).toBeUndefined();
    expect(manifestField(packument, '9.9.9', 'license')).toBeUndefined();
    expect(reads()).toBe(0);
    // A parsed document answers the same from its manifests.
    const plain = parsed(fullText);
    expect(manifestField(plain, '1.0.0', 'license')).toBe('MIT');
    expect(manifestField(plain, '9.9.9', 'license')).toBeUndefined();
  });
});

describe('renderIndexedPackument', () => {
  for (const [what, text, keep] of cases) {
    it(`full document: ${what}`, () => {
      expect(viaIndex(text, keep, false)).toEqual(viaParse(text, keep, false));
    });
    it(`abbreviated document: ${what}`, () => {
      expect(viaIndex(text, keep, true)).toEqual(viaParse(text, keep, true));
    });
  }

  it('passes the kept versions through as the upstream wrote them, but for their dist', () => {
    const text =
      '{"name":"p","versions":{"1.0.0":{ "z" : 1.50 ,"dist":{"tarball":"http://127.0.0.1:2/a"}, "a":"\\u0041"}}}';
    const packument = parsed(text, 200);
    const filtered = filterPackument(packument, { keep: () => true }).packument;
    const out = renderIndexedPackument(packumentIndexOf(packument)!, filtered, {
      ...rewrites,
      abbreviated: false,
    });
    expect(out.toString()).toBe(
      '{"name":"p","versions":{"1.0.0":{ "z" : 1.50 ,"dist":{"tarball":"http://127.0.0.1:1/p/p/-/x-1.0.0.tgz"}, "a":"\\u0041"}}}',
    );
  });

  it('leaves manifests unparsed while filtering', () => {
    const packument = parsed(fullText, 200);
    const reads = countManifestReads(packument);
    const filtered = filterPackument(packument, { keep: (v) => v !== '2.0.0' }).packument;
    renderIndexedPackument(packumentIndexOf(packument)!, filtered, { ...rewrites, abbreviated: true });
    renderIndexedPackument(packumentIndexOf(packument)!, filtered, { ...rewrites, abbreviated: false });
    expect(reads()).toBe(0);
    // Read when asked, once: the same object every time.
    const manifest = filtered.versions['1.0.0'];
    expect(manifest?.dependencies).toEqual({ q: '^1.0.0' });
    expect(filtered.versions['1.0.0']).toBe(manifest);
    expect(packument.versions['1.0.0']).toBe(manifest);
    expect(reads()).toBe(3);
  });
});
