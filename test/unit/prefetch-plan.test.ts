// What the proxy fetches ahead of a client: the dependency ranges of a manifest, the version a
// client resolving each range gets, and the bounds on one request's chain (depth and count).
import { describe, expect, it } from 'vitest';
import type { PackageState, Slot } from '../../server/evaluate-package-state.js';
import { createPackagePrefetcher } from '../../server/package-prefetcher.js';
import type { StoredPolicy } from '../../server/policy-store.js';
import {
  dependencyRanges,
  MAX_PREFETCH_DEPTH,
  MAX_PREFETCH_PER_CHAIN,
  servedVersionFor,
} from '../../server/prefetch-plan.js';
import type { Manifest } from '../../src/sources/types.js';

describe('dependencyRanges', () => {
  const cases: Array<{ title: string; manifest: Manifest | undefined; expected: string[] }> = [
    { title: 'no manifest', manifest: undefined, expected: [] },
    {
      title: 'dependencies, optional ones and peers, each name once (the first field wins)',
      manifest: {
        dependencies: { a: '^1.0.0', b: '' },
        optionalDependencies: { c: '~2.1.0', a: '^9.0.0' },
        peerDependencies: { react: '>=18' },
      } as unknown as Manifest,
      expected: ['a ^1.0.0', 'b *', 'c ~2.1.0', 'react >=18'],
    },
    {
      title: 'optional peers left out (clients resolve none of their own)',
      manifest: {
        peerDependencies: { sass: '*', react: '^18' },
        peerDependenciesMeta: { sass: { optional: true } },
      } as unknown as Manifest,
      expected: ['react ^18'],
    },
    {
      title: 'npm: aliases followed to the real name and range',
      manifest: {
        dependencies: { 'string-width-cjs': 'npm:string-width@^4.2.0', old: 'npm:@scope/new', tag: 'latest' },
      } as unknown as Manifest,
      expected: ['string-width ^4.2.0', '@scope/new *', 'tag latest'],
    },
    {
      title: 'git, file, URL and GitHub specs skipped, invalid names skipped',
      manifest: {
        dependencies: {
          g: 'git+https://example.test/x.git',
          f: 'file:../f',
          u: 'https://example.test/u.tgz',
          gh: 'owner/repo',
          rel: './local',
          'Bad Name': '^1.0.0',
          ok: '1.x',
          n: 5,
        },
      } as unknown as Manifest,
      expected: ['ok 1.x'],
    },
    {
      title: 'not an object: nothing',
      manifest: { dependencies: ['a'], optionalDependencies: null } as unknown as Manifest,
      expected: [],
    },
  ];
  it.each(cases)('$title', ({ manifest, expected }) => {
    expect(dependencyRanges(manifest).map((d) => `${d.name} ${d.range}`)).toEqual(expected);
  });

  it('stops at 64 dependencies of one package', () => {
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`dep-${i}`, '^1.0.0']));
    expect(dependencyRanges({ dependencies: many } as unknown as Manifest)).toHaveLength(64);
  });
});

describe('servedVersionFor', () => {
  const versions = ['1.0.0', '1.2.0', '1.3.0-beta.1', '2.0.0', '2.1.0'];
  const cases: Array<{ range: string; distTags: Record<string, string>; expected: string | undefined }> = [
    { range: '^1.0.0', distTags: { latest: '2.1.0' }, expected: '1.2.0' },
    // npm prefers `latest` when it satisfies the range, even over a newer served version.
    { range: '>=1.0.0', distTags: { latest: '2.0.0' }, expected: '2.0.0' },
    { range: '*', distTags: { latest: '1.0.0' }, expected: '1.0.0' },
    // A latest the policy hides is not in `versions`: the newest served one satisfying.
    { range: '*', distTags: { latest: '3.0.0' }, expected: '2.1.0' },
    { range: 'beta', distTags: { latest: '2.1.0', beta: '1.3.0-beta.1' }, expected: '1.3.0-beta.1' },
    { range: '^1.3.0-beta.0', distTags: { latest: '2.1.0' }, expected: '1.3.0-beta.1' },
    { range: '^3.0.0', distTags: { latest: '2.1.0' }, expected: undefined },
    { range: 'no-such-tag', distTags: { latest: '2.1.0' }, expected: undefined },
    { range: '1.x', distTags: {}, expected: '1.2.0' },
  ];
  it.each(cases)('$range with tags $distTags: $expected', ({ range, distTags, expected }) => {
    expect(servedVersionFor(versions, distTags, range)).toBe(expected);
  });
});

describe('a chain of prefetches', () => {
  const stored = { cacheKey: 'p@1' } as unknown as StoredPolicy;
  /** Every package has one version, 1.0.0, depending on `fanOut` children named after it. */
  const packageState = (name: string, fanOut: number): Extract<PackageState, { kind: 'ok' }> =>
    ({
      kind: 'ok',
      name,
      packument: {
        name,
        'dist-tags': { latest: '1.0.0' },
        versions: {
          '1.0.0': {
            name,
            version: '1.0.0',
            dependencies: Object.fromEntries(
              Array.from({ length: fanOut }, (_, i) => [`${name}-${i}`, '^1.0.0']),
            ),
          },
        },
      },
      hidden: new Map(),
      distTagChanges: [],
    }) as unknown as Extract<PackageState, { kind: 'ok' }>;

  async function run(fanOut: number, concurrency = 4) {
    const fetched: string[] = [];
    let settled!: () => void;
    const done = new Promise<void>((resolve) => {
      settled = resolve;
    });
    let active = 0;
    const prefetcher = createPackagePrefetcher({
      concurrency,
      has: () => false,
      refresh: async (_stored, name) => {
        active++;
        fetched.push(name);
        await new Promise((resolve) => setImmediate(resolve));
        active--;
        // The last job settles after its own schedule() ran: nothing is queued then.
        setImmediate(() => setImmediate(() => active === 0 && settled()));
        return { state: packageState(name, fanOut) } as Slot;
      },
      counters: { prefetched: 0 },
    });
    prefetcher.schedule(stored, packageState('root', fanOut), '1.0.0', 0, { left: MAX_PREFETCH_PER_CHAIN });
    await done;
    return fetched;
  }

  it(`fetches at most ${MAX_PREFETCH_PER_CHAIN} packages for one request, however wide the tree`, async () => {
    // 64 children each, three levels: 64 + 4,096 + 262,144 without the bound.
    const fetched = await run(64);
    expect(fetched).toHaveLength(MAX_PREFETCH_PER_CHAIN);
    expect(new Set(fetched).size).toBe(fetched.length);
  });

  it(`follows a chain ${MAX_PREFETCH_DEPTH} levels below the package asked for, no deeper`, async () => {
    const fetched = await run(2);
    // 2 + 4 + 8 packages; the fourth level (root-0-0-0-0, ...) is never fetched.
    expect(fetched).toHaveLength(2 + 4 + 8);
    expect(Math.max(...fetched.map((n) => n.split('-').length - 1))).toBe(MAX_PREFETCH_DEPTH);
  });

  it('fetches nothing when turned off, and nothing for a version the policy hides', async () => {
    const fetched: string[] = [];
    const off = createPackagePrefetcher({
      concurrency: 0,
      has: () => false,
      refresh: async (_s, name) => {
        fetched.push(name);
        return { state: packageState(name, 1) } as Slot;
      },
      counters: { prefetched: 0 },
    });
    off.schedule(stored, packageState('root', 3), '1.0.0', 0, { left: 10 });
    const on = createPackagePrefetcher({
      concurrency: 4,
      has: () => false,
      refresh: async (_s, name) => {
        fetched.push(name);
        return { state: packageState(name, 1) } as Slot;
      },
      counters: { prefetched: 0 },
    });
    const hidden = packageState('root', 3);
    hidden.hidden.set('1.0.0', {} as never);
    on.schedule(stored, hidden, '1.0.0', 0, { left: 10 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(fetched).toEqual([]);
  });
});
