import { describe, expect, it } from 'vitest';
import { filterPackument } from '../../src/policy/filter-packument.js';
import type { Packument } from '../../src/sources/types.js';

/** A packument with the given versions (publish times one day apart) and dist-tags. */
function buildPackument(name: string, versions: string[], distTags: Record<string, string>): Packument {
  const v: Packument['versions'] = {};
  const time: Record<string, string> = {
    created: '2024-01-01T00:00:00.000Z',
    modified: '2024-03-01T00:00:00.000Z',
  };
  versions.forEach((version, i) => {
    v[version] = {
      name,
      version,
      dist: {
        tarball: `http://127.0.0.1:9/${name}/-/${name}-${version}.tgz`,
        integrity: `sha512-${version}`,
      },
    };
    time[version] = new Date(Date.UTC(2024, 0, 2 + i)).toISOString();
  });
  return { _id: name, name, 'dist-tags': distTags, versions: v, time };
}

const keepAllBut =
  (...hidden: string[]) =>
  (version: string) =>
    !hidden.includes(version);

describe('filterPackument: versions and time', () => {
  it('removes hidden versions from versions and time, keeps created/modified', () => {
    const doc = buildPackument('pkg', ['1.0.0', '1.1.0', '2.0.0'], { latest: '2.0.0' });
    const { packument, removed } = filterPackument(doc, { keep: keepAllBut('2.0.0') });
    expect(Object.keys(packument.versions)).toEqual(['1.0.0', '1.1.0']);
    expect(Object.keys(packument.time ?? {})).toEqual(['created', 'modified', '1.0.0', '1.1.0']);
    expect(removed).toEqual(['2.0.0']);
  });

  it('does not modify the input document', () => {
    const doc = buildPackument('pkg', ['1.0.0', '2.0.0'], { latest: '2.0.0' });
    const before = JSON.stringify(doc);
    filterPackument(doc, { keep: keepAllBut('2.0.0'), rewriteTarball: () => 'http://127.0.0.1:1/x.tgz' });
    expect(JSON.stringify(doc)).toBe(before);
  });

  it('drops manifests that are not objects', () => {
    const doc = buildPackument('pkg', ['1.0.0'], { latest: '1.0.0' });
    (doc.versions as Record<string, unknown>)['1.0.1'] = null;
    (doc.versions as Record<string, unknown>)['1.0.2'] = 'garbage';
    const { packument, removed } = filterPackument(doc, { keep: () => true });
    expect(Object.keys(packument.versions)).toEqual(['1.0.0']);
    expect(removed).toEqual(['1.0.1', '1.0.2']);
  });

  it('treats a version named __proto__ as an ordinary key', () => {
    const doc = JSON.parse(
      '{"name":"evil","dist-tags":{"latest":"1.0.0","__proto__":"__proto__"},' +
        '"versions":{"1.0.0":{"name":"evil","version":"1.0.0","dist":{"tarball":"http://127.0.0.1:9/a.tgz"}},' +
        '"__proto__":{"name":"evil","version":"__proto__","polluted":true,"dist":{"tarball":"http://127.0.0.1:9/b.tgz"}}},' +
        '"time":{"1.0.0":"2024-01-01T00:00:00.000Z","__proto__":"2024-01-02T00:00:00.000Z"}}',
    ) as Packument;
    const kept = filterPackument(doc, {
      keep: () => true,
      rewriteTarball: (_n, v) => `http://proxy/${v}.tgz`,
    });
    expect(Object.keys(kept.packument.versions)).toEqual(['1.0.0', '__proto__']);
    expect(ownValue(kept.packument.versions, '__proto__')?.dist?.tarball).toBe('http://proxy/__proto__.tgz');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(ownValue(JSON.parse(JSON.stringify(kept.packument)).versions, '__proto__')?.version).toBe(
      '__proto__',
    );

    const hidden = filterPackument(doc, { keep: (v) => v !== '__proto__' });
    expect(Object.keys(hidden.packument.versions)).toEqual(['1.0.0']);
    expect(Object.keys(hidden.packument.time ?? {})).toEqual(['1.0.0']);
    expect(hidden.packument['dist-tags']).toEqual(Object.assign(Object.create(null), { latest: '1.0.0' }));
    expect(hidden.distTagChanges).toEqual([
      expect.objectContaining({ tag: '__proto__', from: '__proto__', to: null }),
    ]);
  });

  it('rewrites dist.tarball of kept versions and leaves other dist fields untouched', () => {
    const doc = buildPackument('@scope/pkg', ['1.0.0'], { latest: '1.0.0' });
    const calls: string[] = [];
    const { packument } = filterPackument(doc, {
      keep: () => true,
      rewriteTarball: (name, version, original) => {
        calls.push(`${name}@${version} ${original}`);
        return `http://127.0.0.1:4873/strict/${name}/-/pkg-${version}.tgz`;
      },
    });
    expect(packument.versions['1.0.0']?.dist).toEqual({
      tarball: 'http://127.0.0.1:4873/strict/@scope/pkg/-/pkg-1.0.0.tgz',
      integrity: 'sha512-1.0.0',
    });
    expect(calls).toEqual(['@scope/pkg@1.0.0 http://127.0.0.1:9/@scope/pkg/-/@scope/pkg-1.0.0.tgz']);
  });

  it('leaves manifests without a tarball as they are', () => {
    const doc: Packument = { name: 'p', versions: { '1.0.0': { name: 'p', version: '1.0.0' } } };
    const { packument } = filterPackument(doc, { keep: () => true, rewriteTarball: () => 'x' });
    expect(packument.versions['1.0.0']).toEqual({ name: 'p', version: '1.0.0' });
  });
});

describe('filterPackument: dist-tag repair', () => {
  const cases: Array<{
    title: string;
    versions: string[];
    tags: Record<string, string>;
    hidden: string[];
    expected: Record<string, string>;
    changes?: Array<{ tag: string; from: string; to: string | null }>;
  }> = [
    {
      title: 'latest moves down to the highest kept stable version',
      versions: ['1.0.0', '1.1.0', '1.2.0-beta.1', '1.2.0'],
      tags: { latest: '1.2.0' },
      hidden: ['1.2.0'],
      expected: { latest: '1.1.0' },
      changes: [{ tag: 'latest', from: '1.2.0', to: '1.1.0' }],
    },
    {
      title: 'latest never moves up to a higher kept version',
      versions: ['1.0.0', '2.0.0', '3.0.0'],
      tags: { latest: '2.0.0' },
      hidden: ['2.0.0', '1.0.0'],
      expected: {},
      changes: [{ tag: 'latest', from: '2.0.0', to: null }],
    },
    {
      title: 'latest skips a kept prerelease below it',
      versions: ['1.0.0', '2.0.0-rc.1', '2.0.0'],
      tags: { latest: '2.0.0' },
      hidden: ['2.0.0'],
      expected: { latest: '1.0.0' },
    },
    {
      title: 'tags on kept versions are untouched',
      versions: ['1.0.0', '2.0.0-beta.1', '2.0.0-beta.2'],
      tags: { latest: '1.0.0', next: '2.0.0-beta.1' },
      hidden: ['2.0.0-beta.2'],
      expected: { latest: '1.0.0', next: '2.0.0-beta.1' },
      changes: [],
    },
    {
      title: 'a prerelease tag moves down within its major, prereleases allowed',
      versions: ['1.0.0', '2.0.0-beta.1', '2.0.0-beta.2'],
      tags: { latest: '1.0.0', next: '2.0.0-beta.2' },
      hidden: ['2.0.0-beta.2'],
      expected: { latest: '1.0.0', next: '2.0.0-beta.1' },
    },
    {
      title: 'a tag with nothing allowed in its major below it is removed',
      versions: ['1.0.0', '2.0.0-beta.1'],
      tags: { latest: '1.0.0', next: '2.0.0-beta.1' },
      hidden: ['2.0.0-beta.1'],
      expected: { latest: '1.0.0' },
      changes: [{ tag: 'next', from: '2.0.0-beta.1', to: null }],
    },
    {
      title: 'a stable maintenance tag does not move to a prerelease',
      versions: ['3.0.0', '3.1.0-rc.1', '3.1.0', '4.0.0'],
      tags: { latest: '4.0.0', 'v3-lts': '3.1.0' },
      hidden: ['3.1.0'],
      expected: { latest: '4.0.0', 'v3-lts': '3.0.0' },
    },
    {
      title: 'non-semver keys are compared loosely (0.14.0beta sorts below 0.14.0)',
      versions: ['0.13.0', '0.14.0beta', '0.14.0'],
      tags: { latest: '0.14.0', beta: '0.14.0beta' },
      hidden: ['0.14.0'],
      expected: { latest: '0.13.0', beta: '0.14.0beta' },
    },
    {
      title: 'a tag on a removed version that is not semver at all is removed with a reason',
      versions: ['1.0.0', 'banana'],
      tags: { latest: '1.0.0', odd: 'banana' },
      hidden: ['banana'],
      expected: { latest: '1.0.0' },
      changes: [{ tag: 'odd', from: 'banana', to: null }],
    },
    {
      title: 'unparseable kept versions are never chosen as a repair target',
      versions: ['1.0.0', 'x.y', '2.0.0'],
      tags: { latest: '2.0.0' },
      hidden: ['2.0.0'],
      expected: { latest: '1.0.0' },
    },
  ];

  it.each(cases)('$title', ({ versions, tags, hidden, expected, changes }) => {
    const doc = buildPackument('pkg', versions, tags);
    const result = filterPackument(doc, { keep: keepAllBut(...hidden) });
    expect({ ...result.packument['dist-tags'] }).toEqual(expected);
    if (changes) {
      expect(result.distTagChanges.map(({ tag, from, to }) => ({ tag, from, to }))).toEqual(changes);
    }
    for (const change of result.distTagChanges) expect(change.reason).toMatch(/\S/);
  });

  it('says why a tag was removed', () => {
    const doc = buildPackument('pkg', ['1.0.0-alpha', '1.0.0'], { latest: '1.0.0' });
    const { distTagChanges } = filterPackument(doc, { keep: keepAllBut('1.0.0') });
    expect(distTagChanges).toEqual([
      { tag: 'latest', from: '1.0.0', to: null, reason: 'no allowed stable version below 1.0.0' },
    ]);
  });
});

/** An own property read that works for the key `__proto__` too. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary document fields
function ownValue(obj: object, key: string): any {
  return Object.getOwnPropertyDescriptor(obj, key)?.value;
}

describe('filterPackument: the served document describes itself', () => {
  const withRev = (doc: Packument) => ({ ...doc, _rev: '42-0123456789abcdef0123456789abcdef' });

  it.each([
    { hidden: [], modified: '2024-03-01T00:00:00.000Z', rev: '42-0123456789abcdef0123456789abcdef' },
    { hidden: ['2.0.0'], modified: '2024-01-03T00:00:00.000Z', rev: /^42-[0-9a-f]{32}$/ },
    { hidden: ['1.1.0', '2.0.0'], modified: '2024-01-02T00:00:00.000Z', rev: /^42-[0-9a-f]{32}$/ },
  ])('hiding $hidden: time.modified $modified, _rev $rev', ({ hidden, modified, rev }) => {
    const doc = withRev(buildPackument('pkg', ['1.0.0', '1.1.0', '2.0.0'], { latest: '2.0.0' }));
    const { packument } = filterPackument(doc, { keep: keepAllBut(...hidden) });
    expect(packument.time?.modified).toBe(modified);
    expect(packument._rev).toMatch(rev);
  });

  it('gives different revisions to different sets of hidden versions, the same to the same', () => {
    const doc = { ...buildPackument('pkg', ['1.0.0', '1.1.0', '2.0.0'], { latest: '2.0.0' }), _rev: '3-abc' };
    const a = filterPackument(doc, { keep: keepAllBut('2.0.0') }).packument._rev;
    const b = filterPackument(doc, { keep: keepAllBut('1.1.0') }).packument._rev;
    expect(a).not.toBe(b);
    expect(filterPackument(doc, { keep: keepAllBut('2.0.0') }).packument._rev).toBe(a);
  });

  it('recomputes an abbreviated top-level modified from time, or drops it when there is no time', () => {
    const full = {
      ...buildPackument('pkg', ['1.0.0', '2.0.0'], { latest: '2.0.0' }),
      modified: '2024-03-01T00:00:00.000Z',
    };
    expect(filterPackument(full, { keep: keepAllBut('2.0.0') }).packument.modified).toBe(
      '2024-01-02T00:00:00.000Z',
    );
    const { time: _time, ...abbreviated } = full;
    expect(filterPackument(abbreviated, { keep: keepAllBut('2.0.0') }).packument).not.toHaveProperty(
      'modified',
    );
    expect(filterPackument(abbreviated, { keep: () => true }).packument.modified).toBe(
      '2024-03-01T00:00:00.000Z',
    );
  });

  it('rewrites attestation URLs of kept versions', () => {
    const doc = buildPackument('pkg', ['1.0.0'], { latest: '1.0.0' });
    doc.versions['1.0.0']!.dist!.attestations = {
      url: 'http://127.0.0.1:9/-/npm/v1/attestations/pkg@1.0.0',
      provenance: { predicateType: 'https://slsa.dev/provenance/v1' },
    };
    const { packument } = filterPackument(doc, {
      keep: () => true,
      rewriteAttestations: (name, version) => `http://proxy/p/-/npm/v1/attestations/${name}@${version}`,
    });
    expect(packument.versions['1.0.0']!.dist!.attestations).toEqual({
      url: 'http://proxy/p/-/npm/v1/attestations/pkg@1.0.0',
      provenance: { predicateType: 'https://slsa.dev/provenance/v1' },
    });
    expect(packument.versions['1.0.0']!.dist!.tarball).toBe('http://127.0.0.1:9/pkg/-/pkg-1.0.0.tgz');
  });
});
