// Contract tests of the registry side of `lockwarden serve`, in process (app.callback(), no port),
// in front of a loopback fake upstream, with a pinned clock.
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { makePackument, makeTarball, tarballUrl } from '../helpers/make-packument.js';
import { daysAgo, NOW } from '../helpers/make-policy.js';
import { type ProxyHarness, startProxyHarness } from '../helpers/proxy-harness.js';

const ABBREVIATED = 'application/vnd.npm.install-v1+json';
const day = 86_400_000;

function leftPad() {
  return makePackument({
    name: 'left-pad',
    versions: [
      { version: '1.0.0', publishedAt: new Date(daysAgo(40)) },
      { version: '1.1.0', publishedAt: new Date(daysAgo(20)) },
      { version: '1.2.0-beta.1', publishedAt: new Date(daysAgo(10)) },
      { version: '1.2.0', publishedAt: new Date(daysAgo(2)) },
    ],
    distTags: { latest: '1.2.0', next: '1.2.0' },
  });
}

function scoped() {
  return makePackument({
    name: '@acme/util',
    versions: [
      { version: '2.0.0', publishedAt: new Date(daysAgo(30)) },
      { version: '2.1.0', publishedAt: new Date(daysAgo(1)) },
    ],
  });
}

const STRICT = { id: 'strict', coolingOffDays: 7, typosquatting: true, block: ['evil-pkg'] };
const ALERTS = { id: 'watch', action: 'alert', coolingOffDays: 7, typosquatting: true, block: ['evil-pkg'] };

let h: ProxyHarness;
afterEach(async () => {
  await h?.close();
});

async function start(extra: Parameters<typeof startProxyHarness>[0] = {}) {
  h = await startProxyHarness({
    packuments: [
      leftPad(),
      scoped(),
      makePackument({
        name: 'evil-pkg',
        versions: [{ version: '1.0.0', publishedAt: new Date(daysAgo(100)) }],
      }),
      makePackument({
        name: 'fresh-only',
        versions: [{ version: '0.1.0', publishedAt: new Date(daysAgo(1)) }],
      }),
    ],
    filePolicies: [STRICT, ALERTS],
    ...extra,
  });
  return h;
}

describe('packuments in block mode', () => {
  it('hides versions that violate the policy, repairs dist-tags and rewrites tarballs', async () => {
    await start();
    const res = await h.request({ url: '/strict/left-pad' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const doc = res.json();
    expect(Object.keys(doc.versions)).toEqual(['1.0.0', '1.1.0', '1.2.0-beta.1']);
    expect(Object.keys(doc.time)).toEqual(['created', 'modified', '1.0.0', '1.1.0', '1.2.0-beta.1']);
    // `next` pointed at a stable version, so it stays on stable versions when it moves down.
    expect(doc['dist-tags']).toEqual({ latest: '1.1.0', next: '1.1.0' });
    expect(doc.versions['1.1.0'].dist.tarball).toBe(
      'http://127.0.0.1:4880/strict/left-pad/-/left-pad-1.1.0.tgz',
    );
    expect(doc.versions['1.1.0'].dist.integrity).toBe(leftPad().versions['1.1.0']!.dist!.integrity);
    expect(res.headers.etag).toMatch(/^"lw-/);
  });

  it('serves the abbreviated document on the install Accept header, from either upstream shape', async () => {
    for (const shape of ['public', 'mirror'] as const) {
      await start({ shape });
      const res = await h.request({
        url: '/strict/left-pad',
        headers: { accept: `${ABBREVIATED}; q=1.0, application/json; q=0.8, */*` },
      });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe(ABBREVIATED);
      const doc = res.json();
      expect(Object.keys(doc).sort()).toEqual(['dist-tags', 'modified', 'name', 'versions']);
      expect(Object.keys(doc.versions)).toEqual(['1.0.0', '1.1.0', '1.2.0-beta.1']);
      expect(doc.versions['1.0.0'].readme).toBeUndefined();
      expect(doc.versions['1.0.0'].dist.tarball).toBe(
        'http://127.0.0.1:4880/strict/left-pad/-/left-pad-1.0.0.tgz',
      );
      // The engine still saw the full document: the full one is what gets fetched.
      expect(
        h.registry.requests
          .filter((r) => r.path === '/left-pad')
          .every((r) => r.headers.accept === 'application/json'),
      ).toBe(true);
      await h.close();
    }
    h = undefined as unknown as ProxyHarness;
  });

  it('answers scoped names in all three spellings with the same document', async () => {
    await start();
    const bodies = [];
    for (const path of ['/strict/@acme%2futil', '/strict/@acme%2Futil', '/strict/@acme/util']) {
      const res = await h.request({ url: path });
      expect(res.status).toBe(200);
      bodies.push(res.text);
    }
    expect(new Set(bodies).size).toBe(1);
    const doc = JSON.parse(bodies[0]!);
    expect(Object.keys(doc.versions)).toEqual(['2.0.0']);
    expect(doc.versions['2.0.0'].dist.tarball).toBe(
      'http://127.0.0.1:4880/strict/@acme/util/-/util-2.0.0.tgz',
    );
  });

  it('keeps the consumer label in tarball URLs and in the audit log', async () => {
    await start();
    const res = await h.request({
      url: '/strict~api-image/left-pad',
      headers: { 'user-agent': 'npm/11.0.0 node/v20' },
    });
    expect(res.status).toBe(200);
    expect(res.json().versions['1.1.0'].dist.tarball).toBe(
      'http://127.0.0.1:4880/strict~api-image/left-pad/-/left-pad-1.1.0.tgz',
    );
    const { entries } = await h.service.audit.query({});
    expect(entries).toEqual([
      expect.objectContaining({
        policy: 'strict',
        label: 'api-image',
        source: 'registry',
        package: 'left-pad',
        version: '1.2.0',
        rule: 'cooling-off',
        outcome: 'hidden',
        userAgent: 'npm/11.0.0 node/v20',
        time: NOW.toISOString(),
      }),
    ]);
    expect(entries[0]!.reason).toMatch(/^left-pad@1\.2\.0 was published 2 days ago \(cooling-off 7 days\)/);
  });

  it('keeps at most 8 serialized bodies per package however many labels and hosts clients invent', async () => {
    await start();
    const first = await h.request({ url: '/strict/left-pad' });
    const bytesAfterOne = h.service.packages.stats().bytes;
    for (let i = 0; i < 50; i++) {
      const res = await h.request({
        url: `/strict~label-${i}/left-pad`,
        headers: { 'accept-encoding': 'gzip' },
      });
      expect(res.status).toBe(200);
      expect(res.json().versions['1.1.0'].dist.tarball).toBe(
        `http://127.0.0.1:4880/strict~label-${i}/left-pad/-/left-pad-1.1.0.tgz`,
      );
    }
    for (let i = 0; i < 20; i++) {
      const res = await h.request({ url: '/strict/left-pad', headers: { host: `h${i}.example.test` } });
      expect(res.json().versions['1.0.0'].dist.tarball).toBe(
        `http://h${i}.example.test/strict/left-pad/-/left-pad-1.0.0.tgz`,
      );
    }
    const stored = (await h.service.policies.get('strict'))!;
    const { state } = await h.service.packages.lookup(stored, 'left-pad');
    if (state.kind !== 'ok') throw new Error(`expected left-pad to be served, got ${state.kind}`);
    expect(state.variants.size).toBe(8);
    expect(state.templates.size).toBe(1);
    const bodyBytes = Buffer.byteLength(first.text);
    expect(h.service.packages.stats().bytes).toBeLessThanOrEqual(bytesAfterOne + 8 * (bodyBytes + 200));
    // The unlabelled body was evicted and is rebuilt with the same bytes and ETag.
    const again = await h.request({ url: '/strict/left-pad' });
    expect(again.text).toBe(first.text);
    expect(again.headers.etag).toBe(first.headers.etag);
  });

  it('logs a repeated refusal once per policy, label, package, rule and user agent within the window', async () => {
    await start();
    const npm = { 'user-agent': 'npm/11.0.0' };
    for (let i = 0; i < 20; i++) {
      const res = await h.request({ url: '/strict/evil-pkg', headers: npm });
      expect(res.status).toBe(403);
      expect((await h.request({ url: '/strict/left-pad/-/left-pad-1.2.0.tgz', headers: npm })).status).toBe(
        403,
      );
    }
    const blocked = async () => (await h.service.audit.query({ outcome: 'blocked' })).entries;
    expect((await blocked()).map((e) => `${e.package}@${e.version} ${e.rule}`)).toEqual([
      'left-pad@1.2.0 cooling-off',
      'evil-pkg@null blocklist',
    ]);
    await h.request({ url: '/strict/evil-pkg', headers: { 'user-agent': 'pnpm/10.0.0' } });
    await h.request({ url: '/strict~ci/evil-pkg', headers: npm });
    expect(await blocked()).toHaveLength(4);
    h.clock.advance(61 * 60_000);
    await h.request({ url: '/strict/evil-pkg', headers: npm });
    expect(await blocked()).toHaveLength(5);
  });

  it('logs hidden versions once per label within the dedupe window', async () => {
    await start();
    for (let i = 0; i < 5; i++) await h.request({ url: '/strict/left-pad' });
    await h.request({ url: '/strict~other-label/left-pad' });
    expect((await h.service.audit.query({})).entries.map((e) => e.label)).toEqual(['other-label', null]);
    // A refreshed evaluation with the same hidden versions does not log again within the hour...
    h.clock.advance(20 * 60_000);
    await h.request({ url: '/strict/left-pad' });
    await h.request({ url: '/strict/left-pad' });
    expect((await h.service.audit.query({})).entries).toHaveLength(2);
    // ...and does after it.
    h.clock.advance(60 * 60_000);
    await h.request({ url: '/strict/left-pad' });
    await h.request({ url: '/strict/left-pad' });
    expect((await h.service.audit.query({})).entries).toHaveLength(3);
  });

  it('logs hidden versions again after the policy is edited, even when the same versions stay hidden', async () => {
    await start({ filePolicies: [] });
    expect((await h.admin('POST', '/policies', { id: 'team', coolingOffDays: 7 })).status).toBe(201);
    await h.request({ url: '/team/left-pad' });
    expect((await h.admin('PUT', '/policies/team', { id: 'team', coolingOffDays: 5 })).status).toBe(200);
    await h.request({ url: '/team/left-pad' });
    const reasons = (await h.service.audit.query({ outcome: 'hidden' })).entries.map((e) => e.reason);
    expect(reasons).toEqual([
      expect.stringMatching(/cooling-off 5 days/),
      expect.stringMatching(/cooling-off 7 days/),
    ]);
  });

  it('caps the labels and user agents logged per event, so invented ones cannot flood the audit log', async () => {
    await start({ app: { audit: { maxLabelsPerEvent: 3 } } });
    for (let i = 0; i < 10; i++) {
      await h.request({ url: `/strict~label-${i}/left-pad` });
      await h.request({ url: `/strict~label-${i}/evil-pkg`, headers: { 'user-agent': `bot/${i}` } });
    }
    const entries = async () => (await h.service.audit.query({})).entries;
    const count = async (outcome: string) => (await entries()).filter((e) => e.outcome === outcome).length;
    expect(await count('hidden')).toBe(3);
    expect(await count('blocked')).toBe(3);
    const health = await h.request({ url: '/-/lockwarden/v1/health' });
    expect(health.json()).toMatchObject({ audit: { suppressed: 14 } });
    // Other packages and versions have their own allowance...
    await h.request({ url: '/strict~label-x/left-pad/-/left-pad-1.2.0.tgz' });
    expect(await count('blocked')).toBe(4);
    // ...and the window starts over.
    h.clock.advance(61 * 60_000);
    await h.request({ url: '/strict~label-new/evil-pkg' });
    expect(await count('blocked')).toBe(5);
  });

  it('answers 304 to a matching If-None-Match and changes the ETag when the policy changes', async () => {
    await start({ filePolicies: [] });
    const created = await h.admin('POST', '/policies', { id: 'team', coolingOffDays: 7 });
    expect(created.status).toBe(201);
    const first = await h.request({ url: '/team/left-pad' });
    const etag = String(first.headers.etag);
    const again = await h.request({ url: '/team/left-pad', headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.raw.length).toBe(0);

    const updated = await h.admin('PUT', '/policies/team', { coolingOffDays: 1 });
    expect(updated.status).toBe(200);
    const after = await h.request({ url: '/team/left-pad', headers: { 'if-none-match': etag } });
    expect(after.status).toBe(200);
    expect(after.headers.etag).not.toBe(etag);
    expect(Object.keys(after.json().versions)).toContain('1.2.0');
    expect(after.json()['dist-tags'].latest).toBe('1.2.0');
  });

  it('gzips for clients that accept it, from cached bytes', async () => {
    await start();
    const plain = await h.request({ url: '/strict/left-pad' });
    const zipped = await h.request({
      url: '/strict/left-pad',
      headers: { 'accept-encoding': 'gzip, deflate' },
    });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.raw.length).toBeLessThan(plain.raw.length);
    expect(zipped.text).toBe(plain.text);
    expect(zipped.headers.etag).toBe(plain.headers.etag);
  });

  it('does no upstream fetch and no evaluation for warm requests; concurrent cold requests share one fetch', async () => {
    await start();
    await Promise.all(Array.from({ length: 12 }, () => h.request({ url: '/strict/left-pad' })));
    expect(h.registry.requests.filter((r) => r.path === '/left-pad')).toHaveLength(1);
    const before = h.service.packages.stats();
    for (let i = 0; i < 20; i++) await h.request({ url: '/strict/left-pad' });
    const after = h.service.packages.stats();
    expect(after.evaluations).toBe(before.evaluations);
    expect(after.evaluations).toBe(1);
    expect(h.registry.requests.filter((r) => r.path === '/left-pad')).toHaveLength(1);
  });

  it('shows a version once its cooling-off has passed (re-evaluation after the TTL)', async () => {
    await start();
    expect(Object.keys((await h.request({ url: '/strict/left-pad' })).json().versions)).not.toContain(
      '1.2.0',
    );
    h.clock.advance(6 * day);
    const res = await h.request({ url: '/strict/left-pad' });
    expect(Object.keys(res.json().versions)).toContain('1.2.0');
    expect(res.json()['dist-tags'].latest).toBe('1.2.0');
  });
});

describe('dependency prefetch', () => {
  const app = () =>
    makePackument({
      name: 'app-lib',
      versions: [
        { version: '1.0.0', publishedAt: new Date(daysAgo(30)), dependencies: { 'left-pad': '^1.0.0' } },
        // Hidden: its dependencies are not what a client will resolve.
        { version: '2.0.0', publishedAt: new Date(daysAgo(1)), dependencies: { 'fresh-only': '*' } },
      ],
    });

  it('fetches and evaluates the dependencies of the latest allowed version before the client asks', async () => {
    await start({
      packuments: [
        app(),
        leftPad(),
        makePackument({
          name: 'fresh-only',
          versions: [{ version: '0.1.0', publishedAt: new Date(daysAgo(1)) }],
        }),
      ],
    });
    expect((await h.request({ url: '/strict/app-lib' })).json()['dist-tags'].latest).toBe('1.0.0');
    // The poll's default 1 s is what a loaded machine can exceed; prefetching has no timer of its own.
    await expect.poll(() => h.service.packages.stats().evaluations, { timeout: 10_000 }).toBe(2);
    expect(h.registry.requests.map((r) => r.path)).toEqual(['/app-lib', '/left-pad']);
    const before = h.service.packages.stats();
    expect((await h.request({ url: '/strict/left-pad' })).status).toBe(200);
    expect(h.service.packages.stats()).toMatchObject({
      evaluations: before.evaluations,
      hits: before.hits + 1,
    });
    // Prefetching logs nothing: only what clients ask for is in the audit log.
    expect((await h.service.audit.query({ package: 'left-pad' })).entries).toHaveLength(1);
  });

  it('follows the version each range resolves to, not the latest, and stops after three levels', async () => {
    const pkg = (name: string, versions: Array<[string, Record<string, string>]>) =>
      makePackument({
        name,
        versions: versions.map(([version, dependencies]) => ({
          version,
          publishedAt: new Date(daysAgo(60)),
          dependencies,
        })),
      });
    await start({
      packuments: [
        pkg('root-lib', [['1.0.0', { mid: '^1.0.0', aliased: 'npm:leaf-c@^1.0.0', gitdep: 'github:o/r' }]]),
        // Latest is 2.x; the client resolves ^1.0.0 to 1.0.0, whose dependencies differ.
        pkg('mid', [
          ['1.0.0', { 'leaf-a': '^1.0.0' }],
          ['2.0.0', { 'leaf-b': '^1.0.0' }],
        ]),
        pkg('leaf-a', [['1.0.0', { 'deep-1': '^1.0.0' }]]),
        pkg('leaf-b', [['1.0.0', {}]]),
        pkg('leaf-c', [['1.0.0', {}]]),
        pkg('deep-1', [['1.0.0', { 'deep-2': '^1.0.0' }]]),
        pkg('deep-2', [['1.0.0', {}]]),
      ],
    });
    await h.request({ url: '/strict/root-lib' });
    await expect.poll(() => h.service.packages.stats().evaluations, { timeout: 10_000 }).toBe(5);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.registry.requests.map((r) => r.path).sort()).toEqual([
      '/deep-1',
      '/leaf-a',
      '/leaf-c',
      '/mid',
      '/root-lib',
    ]);
  });

  it('leaves out optional peer dependencies, which clients do not install of their own', async () => {
    await start({
      packuments: [
        makePackument({
          name: 'framework',
          versions: [
            {
              version: '1.0.0',
              publishedAt: new Date(daysAgo(60)),
              extra: {
                peerDependencies: { 'peer-needed': '^1.0.0', 'peer-optional': '^1.0.0' },
                peerDependenciesMeta: { 'peer-optional': { optional: true } },
              },
            },
          ],
        }),
        makePackument({
          name: 'peer-needed',
          versions: [{ version: '1.0.0', publishedAt: new Date(daysAgo(60)) }],
        }),
        makePackument({
          name: 'peer-optional',
          versions: [{ version: '1.0.0', publishedAt: new Date(daysAgo(60)) }],
        }),
      ],
    });
    await h.request({ url: '/strict/framework' });
    await expect.poll(() => h.service.packages.stats().evaluations, { timeout: 10_000 }).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.registry.requests.map((r) => r.path).sort()).toEqual(['/framework', '/peer-needed']);
  });

  it('can be turned off', async () => {
    await start({ packuments: [app(), leftPad()], app: { cache: { prefetchConcurrency: 0 } } });
    await h.request({ url: '/strict/app-lib' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(h.registry.requests.map((r) => r.path)).toEqual(['/app-lib']);
  });
});

describe('package-level refusals', () => {
  it('refuses a typosquat the upstream does not know with 403 and the reason npm prints', async () => {
    await start();
    const res = await h.request({ url: '/strict/expres' });
    expect(res.status).toBe(403);
    expect(res.json().error).toMatch(
      /^expres looks like express \(35M weekly downloads\).*; blocked by policy strict$/,
    );
    expect((await h.service.audit.query({ rule: 'typosquatting' })).entries).toEqual([
      expect.objectContaining({ package: 'expres', version: null, outcome: 'blocked' }),
    ]);
  });

  it('lifts a package-level block only for the versions an allow entry with a range names', async () => {
    const expres = makePackument({
      name: 'expres',
      versions: [
        { version: '1.0.0', publishedAt: new Date(daysAgo(60)) },
        { version: '1.1.0', publishedAt: new Date(daysAgo(30)) },
      ],
    });
    await start({
      packuments: [expres],
      filePolicies: [STRICT, { id: 'pinned', typosquatting: true, allow: ['expres@1.0.0'] }],
    });
    const pinned = await h.request({ url: '/pinned/expres' });
    expect(pinned.status).toBe(200);
    expect(Object.keys(pinned.json().versions)).toEqual(['1.0.0']);
    expect(pinned.json()['dist-tags']).toEqual({ latest: '1.0.0' });
    expect((await h.request({ url: '/pinned/expres/-/expres-1.0.0.tgz' })).status).toBe(200);
    const other = await h.request({ url: '/pinned/expres/-/expres-1.1.0.tgz' });
    expect(other.status).toBe(403);
    expect(other.json().error).toMatch(/^expres looks like express .*; blocked by policy pinned$/);
    // Without the allow entry every version falls to the same package-level finding: one 403 with it.
    const strict = await h.request({ url: '/strict/expres' });
    expect(strict.status).toBe(403);
    expect(strict.json().error).toMatch(/^expres looks like express .*; blocked by policy strict$/);
  });

  it('passes a 404 for an unknown name that looks like nothing', async () => {
    await start();
    const res = await h.request({ url: '/strict/no-such-thing-here' });
    expect(res.status).toBe(404);
    expect(res.json().error).toBe('no-such-thing-here is not in the upstream registry');
  });

  it('refuses a blocklisted package and a package with no allowed version', async () => {
    await start();
    const evil = await h.request({ url: '/strict/evil-pkg' });
    expect(evil.status).toBe(403);
    expect(evil.json().error).toBe('evil-pkg is on the block list ("evil-pkg"); blocked by policy strict');
    const fresh = await h.request({ url: '/strict/fresh-only' });
    expect(fresh.status).toBe(403);
    expect(fresh.json().error).toMatch(
      /^no version of fresh-only is allowed by policy strict: fresh-only@0\.1\.0 was published 24 hours ago \(cooling-off 7 days\)/,
    );
    const tarball = await h.request({ url: '/strict/evil-pkg/-/evil-pkg-1.0.0.tgz' });
    expect(tarball.status).toBe(403);
    expect(h.registry.requests.some((r) => r.path.endsWith('.tgz'))).toBe(false);
  });

  it('refuses a whole package in alert mode only for the block list', async () => {
    await start();
    expect((await h.request({ url: '/watch/evil-pkg' })).status).toBe(403);
    const fresh = await h.request({ url: '/watch/fresh-only' });
    expect(fresh.status).toBe(200);
    expect(Object.keys(fresh.json().versions)).toEqual(['0.1.0']);
  });

  it('answers 404 for an unknown policy', async () => {
    await start();
    const res = await h.request({ url: '/nope/left-pad' });
    expect(res.status).toBe(404);
    expect(res.json().error).toBe('no policy "nope" on this lockwarden service');
  });
});

describe('tarballs', () => {
  it('streams an allowed tarball from upstream, bytes untouched', async () => {
    await start();
    const res = await h.request({ url: '/strict/left-pad/-/left-pad-1.1.0.tgz' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.raw.equals(makeTarball(leftPad().versions['1.1.0']!))).toBe(true);
  });

  it('refuses a blocked version at the tarball without asking upstream for it', async () => {
    await start();
    const res = await h.request({ url: '/strict~ci/left-pad/-/left-pad-1.2.0.tgz' });
    expect(res.status).toBe(403);
    expect(res.json().error).toMatch(
      /^left-pad@1\.2\.0 was published 2 days ago .*; blocked by policy strict$/,
    );
    expect(h.registry.requests.map((r) => r.path)).not.toContain('/left-pad/-/left-pad-1.2.0.tgz');
    expect((await h.service.audit.query({ outcome: 'blocked' })).entries).toEqual([
      expect.objectContaining({ package: 'left-pad', version: '1.2.0', label: 'ci', rule: 'cooling-off' }),
    ]);
  });

  it('in alert mode serves everything, rewrites tarballs, and logs violating downloads as alerts', async () => {
    await start();
    const doc = (await h.request({ url: '/watch/left-pad' })).json();
    expect(Object.keys(doc.versions)).toEqual(['1.0.0', '1.1.0', '1.2.0-beta.1', '1.2.0']);
    expect(doc['dist-tags'].latest).toBe('1.2.0');
    expect(doc.versions['1.2.0'].dist.tarball).toBe(
      'http://127.0.0.1:4880/watch/left-pad/-/left-pad-1.2.0.tgz',
    );
    const tgz = await h.request({ url: '/watch/left-pad/-/left-pad-1.2.0.tgz' });
    expect(tgz.status).toBe(200);
    expect(tgz.raw.equals(makeTarball(leftPad().versions['1.2.0']!))).toBe(true);
    const ok = await h.request({ url: '/watch/left-pad/-/left-pad-1.0.0.tgz' });
    expect(ok.status).toBe(200);
    expect((await h.service.audit.query({})).entries).toEqual([
      expect.objectContaining({
        policy: 'watch',
        package: 'left-pad',
        version: '1.2.0',
        outcome: 'alert',
        rule: 'cooling-off',
      }),
    ]);
  });

  it('answers 404 for versions upstream does not have and for malformed file names', async () => {
    await start();
    expect((await h.request({ url: '/strict/left-pad/-/left-pad-9.9.9.tgz' })).status).toBe(404);
    const wrong = await h.request({ url: '/strict/left-pad/-/right-pad-1.0.0.tgz' });
    expect(wrong.status).toBe(404);
    expect(wrong.json().error).toMatch(/not a tarball name of left-pad/);
  });
});

describe('per-version documents, dist-tags, pass-through and writes', () => {
  it('serves allowed versions and tags consistently with the packument', async () => {
    await start();
    const v = await h.request({ url: '/strict/left-pad/1.1.0' });
    expect(v.status).toBe(200);
    expect(v.json()).toMatchObject({ name: 'left-pad', version: '1.1.0' });
    expect(v.json().dist.tarball).toBe('http://127.0.0.1:4880/strict/left-pad/-/left-pad-1.1.0.tgz');
    const latest = await h.request({ url: '/strict~lbl/left-pad/latest' });
    expect(latest.json().version).toBe('1.1.0');
    const hidden = await h.request({ url: '/strict/left-pad/1.2.0' });
    expect(hidden.status).toBe(403);
    expect(hidden.json().error).toMatch(/cooling-off 7 days/);
    const tags = await h.request({ url: '/strict/-/package/left-pad/dist-tags' });
    expect(tags.json()).toEqual({ latest: '1.1.0', next: '1.1.0' });
    const scopedTags = await h.request({ url: '/strict/-/package/@acme%2futil/dist-tags' });
    expect(scopedTags.json()).toEqual({ latest: '2.0.0' });
  });

  it('answers /<name>/<tag> for <name> whatever the tag is called, even when a package has that name', async () => {
    await start();
    // Packages named like tags: the old grammar read `left-pad/latest` as package `latest`.
    h.registry.addPackument(
      makePackument({ name: 'latest', versions: [{ version: '9.0.0', publishedAt: new Date(daysAgo(90)) }] }),
    );
    h.registry.addPackument(
      makePackument({ name: 'beta', versions: [{ version: '8.0.0', publishedAt: new Date(daysAgo(90)) }] }),
    );
    const cases: Array<[string, number, string | RegExp]> = [
      ['/strict/left-pad/latest', 200, '1.1.0'],
      ['/strict/left-pad/next', 200, '1.1.0'],
      ['/strict~latest/left-pad/latest', 200, '1.1.0'],
      ['/strict/@acme/util/latest', 200, '2.0.0'],
      ['/strict/@acme%2futil/latest', 200, '2.0.0'],
      ['/strict/left-pad/beta', 404, /left-pad has no version or dist-tag "beta"/],
      ['/strict/left-pad/left-pad', 404, /left-pad has no version or dist-tag "left-pad"/],
      ['/strict/left-pad/9.9.9', 404, /left-pad has no version or dist-tag "9.9.9"$/],
      ['/strict/left-pad/tag~with!odd(chars)', 404, /left-pad has no version or dist-tag/],
      ['/strict/fresh-only/latest', 403, /fresh-only@0.1.0 .*cooling-off 7 days/],
    ];
    for (const [url, status, expected] of cases) {
      const res = await h.request({ url });
      expect(res.status, url).toBe(status);
      if (status === 200)
        expect(res.json(), url).toMatchObject({
          name: url.includes('acme') ? '@acme/util' : 'left-pad',
          version: expected,
        });
      else expect(res.json().error, url).toMatch(expected);
    }
    expect(h.registry.requests.some((r) => r.path === '/latest' || r.path === '/beta')).toBe(false);
    // The label never names the package; it is recorded as the label.
    await h.request({ url: '/strict~lodash/fresh-only/latest' });
    expect((await h.service.audit.query({ package: 'fresh-only' })).entries[0]).toMatchObject({
      label: 'lodash',
    });
    const badLabel = await h.request({ url: '/strict~no%20spaces/left-pad' });
    expect(badLabel.status).toBe(404);
    expect(badLabel.json().error).toMatch(/is not a consumer label/);
  });

  it('puts the reason of a refusal in the body, the npm-notice header and the status text; bun is redirected to it, yarn 1 (tarballs) to a location that spells it', async () => {
    await start();
    const base = await h.listen();
    for (const path of [
      '/strict/evil-pkg',
      '/strict/left-pad/1.2.0',
      '/strict/left-pad/-/left-pad-1.2.0.tgz',
    ]) {
      const res = await fetch(`${base}${path}`, { headers: { 'user-agent': 'npm/11.0.0' } });
      expect(res.status, path).toBe(403);
      const reason = ((await res.json()) as { error: string }).error;
      expect(reason).toMatch(/blocked by policy strict|cooling-off 7 days/);
      expect(res.headers.get('npm-notice')).toBe(reason);
      expect(res.statusText).toBe(reason);
    }
    const bun = await fetch(`${base}/strict/left-pad/-/left-pad-1.2.0.tgz`, {
      headers: { 'user-agent': 'Bun/1.4.5 npm/? node/v24' },
      redirect: 'manual',
    });
    expect(bun.status).toBe(302);
    const location = bun.headers.get('location')!;
    expect(location).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/strict\/-\/refused\/left-pad\/1\.2\.0\/left-pad@1\.2\.0-was-published-2-days-ago-cooling-off-7-days/,
    );
    const landed = await fetch(location, { headers: { 'user-agent': 'Bun/1.4.5' }, redirect: 'manual' });
    expect(landed.status).toBe(403);
    expect(landed.statusText).toMatch(/^left-pad@1\.2\.0 was published 2 days ago/);
    // The slug is never echoed: the verdict is evaluated again.
    const forged = await fetch(`${base}/strict/-/refused/left-pad/1.1.0/you-have-been-hacked`);
    expect(forged.status).toBe(404);
    expect(await forged.text()).not.toMatch(/hacked/);
    const scoped = await fetch(`${base}/strict/@acme%2futil`, {
      headers: { 'user-agent': 'Bun/1.4.5' },
      redirect: 'manual',
    });
    expect(scoped.status).toBe(200);
    // yarn 1 prints a refused tarball's redirect target, not its status text: the reason goes there.
    const yarn1 = 'yarn/1.22.22 npm/? node/v20.20.2 linux x64';
    const tarball = await fetch(`${base}/strict/left-pad/-/left-pad-1.2.0.tgz`, {
      headers: { 'user-agent': yarn1 },
      redirect: 'manual',
    });
    expect(tarball.status).toBe(302);
    expect(tarball.headers.get('cache-control')).toBe('no-store');
    const yarnLocation = tarball.headers.get('location')!;
    expect(yarnLocation).toMatch(
      /^http:lockwarden:refused\/left-pad@1\.2\.0-was-published-2-days-ago-cooling-off-7-days.*-blocked-by-policy-strict$/,
    );
    // A client that follows it anyway (another tool with yarn's user agent) goes nowhere off-host:
    // WHATWG URL parsing (fetch, bun) fails on it, alone or against an https service's URL, and
    // against an http one it is a path on the service itself.
    expect(() => new URL(yarnLocation)).toThrow();
    expect(
      () => new URL(yarnLocation, 'https://lockwarden.example/strict/left-pad/-/left-pad-1.2.0.tgz'),
    ).toThrow();
    expect(new URL(yarnLocation, `${base}/strict/left-pad/-/left-pad-1.2.0.tgz`).origin).toBe(
      new URL(base).origin,
    );
    // Its documents print the body's `error` already; yarn 4 and npm keep the 403.
    for (const [path, ua] of [
      ['/strict/left-pad/1.2.0', yarn1],
      ['/strict/evil-pkg', yarn1],
      ['/strict/left-pad/-/left-pad-1.2.0.tgz', 'yarn/4.18.0 npm/? node/v20.20.2 linux x64'],
    ]) {
      const res = await fetch(`${base}${path!}`, { headers: { 'user-agent': ua! }, redirect: 'manual' });
      expect(res.status, `${path} ${ua}`).toBe(403);
    }
  });

  it('refuses publish, unpublish and dist-tag changes as read-only', async () => {
    await start();
    for (const [method, url] of [
      ['PUT', '/strict/left-pad'],
      ['DELETE', '/strict/left-pad/-rev/1-abc'],
      ['PUT', '/strict/-/package/left-pad/dist-tags/latest'],
      ['DELETE', '/strict/left-pad/-/left-pad-1.0.0.tgz'],
      ['PUT', '/strict/-/user/org.couchdb.user:me'],
    ] as const) {
      const res = await h.request({ method, url, body: '{}' });
      expect([405, 400]).toContain(res.status);
      if (res.status === 405)
        expect(res.json().error).toMatch(/read-only: publish, unpublish, dist-tag and user changes/);
    }
    expect(h.registry.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('passes audit and search requests through to the upstream only', async () => {
    await start();
    const res = await h.request({
      method: 'POST',
      url: '/strict/-/npm/v1/security/advisories/bulk',
      body: { 'left-pad': ['1.1.0'] },
    });
    expect(res.status).toBe(404);
    const search = await h.request({ url: '/strict~ci/-/v1/search?text=pad&size=2' });
    expect(search.status).toBe(404);
    expect(h.registry.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /-/npm/v1/security/advisories/bulk',
      'GET /-/v1/search?text=pad&size=2',
    ]);
  });

  it('serves documents that describe what they serve: modified, _rev, license, attestations', async () => {
    const doc = leftPad();
    doc._rev = '7-0123456789abcdef0123456789abcdef';
    for (const m of Object.values(doc.versions)) {
      m.license = 'MIT';
      m.dist!.attestations = {
        url: `http://127.0.0.1:9/-/npm/v1/attestations/left-pad@${m.version}`,
        provenance: { predicateType: 'https://slsa.dev/provenance/v1' },
      };
    }
    await start({ packuments: [doc, scoped()] });
    const full = (await h.request({ url: '/strict~ci/left-pad' })).json();
    expect(full.time.modified).toBe(full.time['1.2.0-beta.1']);
    expect(full.time.modified).not.toBe(doc.time.modified);
    expect(full._rev).toMatch(/^7-[0-9a-f]{32}$/);
    expect(full._rev).not.toBe(doc._rev);
    expect(full.versions['1.1.0'].dist.attestations.url).toBe(
      'http://127.0.0.1:4880/strict~ci/-/npm/v1/attestations/left-pad@1.1.0',
    );
    const abbreviated = (
      await h.request({ url: '/strict/left-pad', headers: { accept: ABBREVIATED } })
    ).json();
    expect(abbreviated.modified).toBe(full.time.modified);
    expect(abbreviated.versions['1.1.0'].license).toBe('MIT');
    expect(abbreviated.versions['1.1.0'].dist.attestations.url).toBe(
      'http://127.0.0.1:4880/strict/-/npm/v1/attestations/left-pad@1.1.0',
    );
    const manifest = (await h.request({ url: '/strict/left-pad/1.1.0' })).json();
    expect(manifest.dist.attestations.url).toBe(
      'http://127.0.0.1:4880/strict/-/npm/v1/attestations/left-pad@1.1.0',
    );

    h.registry.fault({
      kind: 'status',
      status: 200,
      match: (r) => r.path.startsWith('/-/npm/v1/attestations/'),
      body: JSON.stringify({ attestations: [{ predicateType: 'https://slsa.dev/provenance/v1' }] }),
    });
    const served = await h.request({ url: '/strict/-/npm/v1/attestations/left-pad@1.1.0' });
    expect(served.status).toBe(200);
    expect(served.json().attestations).toHaveLength(1);
    const hidden = await h.request({ url: '/strict/-/npm/v1/attestations/left-pad@1.2.0' });
    expect(hidden.status).toBe(403);
    expect(hidden.json().error).toMatch(/cooling-off 7 days/);
    const scopedRes = await h.request({ url: '/strict/-/npm/v1/attestations/@acme%2futil@2.0.0' });
    expect(scopedRes.status).toBe(200);
    expect(h.registry.requests.filter((r) => r.path.includes('attestations')).map((r) => r.path)).toEqual([
      '/-/npm/v1/attestations/left-pad@1.1.0',
      '/-/npm/v1/attestations/@acme%2futil@2.0.0',
    ]);
  });

  it('counts the upstream bytes of a package no document was served for (a tarball-only lookup)', async () => {
    await start();
    expect((await h.request({ url: '/strict/left-pad/-/left-pad-1.1.0.tgz' })).status).toBe(200);
    const upstreamBytes = JSON.stringify(leftPad()).length;
    expect(h.service.packages.stats().bytes).toBeGreaterThanOrEqual(upstreamBytes);
  });

  it('counts a served gzip in the cache budget once it is made', async () => {
    await start();
    expect((await h.request({ url: '/strict/left-pad' })).status).toBe(200);
    const before = h.service.packages.stats().bytes;
    const gzipped = await h.request({ url: '/strict/left-pad', headers: { 'accept-encoding': 'gzip' } });
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(h.service.packages.stats().bytes - before).toBe(gzipped.raw.length);
  });

  it('leaves no upstream URL in a manifest served alone, whatever its dist holds', async () => {
    await start();
    // A tarball that is not a string: the attestation URL must still lead to the proxy.
    const doc = {
      name: 'left-pad',
      'dist-tags': { latest: '1.1.0' },
      versions: {
        '1.1.0': {
          name: 'left-pad',
          version: '1.1.0',
          dist: {
            tarball: 7,
            attestations: { url: 'http://127.0.0.1:9/-/npm/v1/attestations/left-pad@1.1.0' },
          },
        },
      },
      time: { '1.1.0': '2020-01-01T00:00:00.000Z' },
    };
    h.registry.fault({ kind: 'garbage', body: JSON.stringify(doc) });
    const expected = {
      tarball: 7,
      attestations: { url: 'http://127.0.0.1:4880/strict/-/npm/v1/attestations/left-pad@1.1.0' },
    };
    const abbreviated = await h.request({ url: '/strict/left-pad', headers: { accept: ABBREVIATED } });
    expect(abbreviated.json().versions['1.1.0'].dist).toEqual(expected);
    const manifest = (await h.request({ url: '/strict/left-pad/1.1.0' })).json();
    expect(manifest.dist).toEqual(expected);
  });

  it('rewrites search results to the latest served version and leaves out refused packages', async () => {
    await start();
    const result = (name: string, version: string) => ({
      package: { name, version, date: '2026-11-20T00:00:00.000Z', description: name },
      score: { final: 1 },
    });
    h.registry.fault({
      kind: 'status',
      status: 200,
      match: (r) => r.path === '/-/v1/search',
      body: JSON.stringify({
        objects: [
          result('left-pad', '1.2.0'),
          result('evil-pkg', '1.0.0'),
          result('@acme/util', '2.0.0'),
          result('fresh-only', '0.1.0'),
          result('not-in-upstream', '1.0.0'),
        ],
        total: 40,
        time: 'now',
      }),
    });
    const res = await h.request({ url: '/strict/-/v1/search?text=pad' });
    expect(res.status).toBe(200);
    const body = res.json();
    expect(
      body.objects.map(
        (o: { package: { name: string; version: string } }) => `${o.package.name}@${o.package.version}`,
      ),
    ).toEqual(['left-pad@1.1.0', '@acme/util@2.0.0']);
    expect(body.objects[0].package.date).toBe(leftPad().time['1.1.0']);
    expect(body.total).toBe(37);
  });

  it('filters compressed search results too, and refuses an encoding it cannot read', async () => {
    await start();
    const results = JSON.stringify({
      objects: [
        { package: { name: 'left-pad', version: '1.2.0', date: '2026-11-20T00:00:00.000Z' }, score: {} },
      ],
      total: 1,
      time: 'now',
    });
    // An upstream (or a CDN in front of it) may compress whatever the proxy asked for.
    for (const [encoding, body] of [
      ['gzip', gzipSync(results)],
      ['br', brotliCompressSync(results)],
    ] as const) {
      h.registry.clearFaults();
      h.registry.fault({
        kind: 'status',
        status: 200,
        match: (r) => r.path === '/-/v1/search',
        headers: { 'content-encoding': encoding },
        body,
      });
      const res = await h.request({ url: '/strict/-/v1/search?text=pad' });
      expect(res.status, encoding).toBe(200);
      expect(res.headers['content-encoding'], encoding).toBeUndefined();
      expect(res.json().objects.map((o: { package: { version: string } }) => o.package.version)).toEqual([
        '1.1.0',
      ]);
    }
    h.registry.clearFaults();
    h.registry.fault({
      kind: 'status',
      status: 200,
      match: (r) => r.path === '/-/v1/search',
      headers: { 'content-encoding': 'zstd' },
      body: Buffer.from('not readable here'),
    });
    const refused = await h.request({ url: '/strict/-/v1/search?text=pad' });
    expect(refused.status).toBe(502);
    expect(refused.json().error).toContain('zstd');
    // Compressed bytes that are not what they claim are no search results either.
    h.registry.clearFaults();
    h.registry.fault({
      kind: 'status',
      status: 200,
      match: (r) => r.path === '/-/v1/search',
      headers: { 'content-encoding': 'gzip' },
      body: Buffer.from('not gzip'),
    });
    expect((await h.request({ url: '/strict/-/v1/search?text=pad' })).status).toBe(502);
  });

  it('routes by host name when a wildcard domain is configured', async () => {
    await start({ app: { domain: 'npm.example.test' } });
    const res = await h.request({ url: '/left-pad', headers: { host: 'strict-web.npm.example.test' } });
    expect(res.status).toBe(200);
    expect(res.json().versions['1.1.0'].dist.tarball).toBe(
      'http://strict-web.npm.example.test/left-pad/-/left-pad-1.1.0.tgz',
    );
    await h.request({
      url: '/left-pad/-/left-pad-1.2.0.tgz',
      headers: { host: 'strict-web.npm.example.test' },
    });
    expect((await h.service.audit.query({ outcome: 'blocked' })).entries[0]).toMatchObject({
      policy: 'strict',
      label: 'web',
    });
    const plain = await h.request({ url: '/left-pad', headers: { host: 'watch.npm.example.test' } });
    expect(Object.keys(plain.json().versions)).toContain('1.2.0');
  });

  it('uses the public URL for tarball links when one is configured', async () => {
    await start({ app: { publicUrl: 'https://npm.internal.test/proxy' } });
    const doc = (await h.request({ url: '/strict/left-pad' })).json();
    expect(doc.versions['1.0.0'].dist.tarball).toBe(
      'https://npm.internal.test/proxy/strict/left-pad/-/left-pad-1.0.0.tgz',
    );
    expect(tarballUrl('x/', 'a', '1')).toBe('x/a/-/a-1.tgz');
  });

  it('answers /-/ping and the health endpoint without a token', async () => {
    await start();
    expect((await h.request({ url: '/-/ping' })).json()).toEqual({});
    expect((await h.request({ url: '/strict/-/ping' })).json()).toEqual({});
    const health = await h.request({ url: '/-/lockwarden/v1/health' });
    expect(health.status).toBe(200);
    expect(health.json()).toMatchObject({
      status: 'ok',
      upstream: h.registry.url,
      policies: ['strict', 'watch'],
    });
  });
});
