// The proxy judges what a bundler's tarball carries before serving it: a version hidden from every
// document must not arrive inside another package. In process, in front of a loopback fake.
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeServer } from '../helpers/fake-upstream.js';
import { makePackument, makeTarball } from '../helpers/make-packument.js';
import { daysAgo } from '../helpers/make-policy.js';
import { type ProxyHarness, startProxyHarness } from '../helpers/proxy-harness.js';

const STRICT = { id: 'strict', coolingOffDays: 7, block: ['evil-pkg'] };
const WATCH = { id: 'watch', action: 'alert', coolingOffDays: 7, block: ['evil-pkg'] };
const OPEN = { id: 'open', coolingOffDays: 0 };

/** A bundler version whose tarball carries these packages under node_modules/. */
function bundler(name: string, bundled: Array<[string, string]>, nested?: [string, string]) {
  const files: Record<string, string> = {};
  for (const [dep, version] of bundled)
    files[`node_modules/${dep}/package.json`] = JSON.stringify({ name: dep, version });
  if (nested)
    files[`node_modules/${bundled[0]![0]}/node_modules/${nested[0]}/package.json`] = JSON.stringify({
      name: nested[0],
      version: nested[1],
    });
  return makePackument({
    name,
    versions: [
      {
        version: '1.0.0',
        publishedAt: new Date(daysAgo(60)),
        dependencies: Object.fromEntries(bundled.map(([dep, version]) => [dep, version])),
        extra: { bundleDependencies: bundled.map(([dep]) => dep) },
        files,
      },
    ],
  });
}

const leftPad = () =>
  makePackument({
    name: 'left-pad',
    versions: [
      { version: '1.1.0', publishedAt: new Date(daysAgo(20)) },
      { version: '1.2.0', publishedAt: new Date(daysAgo(2)) },
    ],
  });
const evil = () =>
  makePackument({ name: 'evil-pkg', versions: [{ version: '1.0.0', publishedAt: new Date(daysAgo(100)) }] });

let h: ProxyHarness;
afterEach(async () => {
  await h?.close();
});

async function start(packuments: ReturnType<typeof makePackument>[], extra = {}) {
  h = await startProxyHarness({ packuments, filePolicies: [STRICT, WATCH, OPEN], ...extra });
  return h;
}

const tarballPath = (name: string) => `/${name}/-/${name}-1.0.0.tgz`;

describe('bundled dependencies at the proxy', () => {
  it('refuses a bundler whose tarball carries a blocked package, naming it, and logs the refusal', async () => {
    await start([bundler('carrier', [['evil-pkg', '1.0.0']]), evil()]);
    const res = await h.request({ url: `/strict~ci${tarballPath('carrier')}` });
    expect(res.status).toBe(403);
    expect(res.json().error).toMatch(
      /^carrier@1\.0\.0 bundles evil-pkg@1\.0\.0: .*evil-pkg.*; blocked by policy strict$/,
    );
    expect((await h.service.audit.query({ outcome: 'blocked' })).entries).toEqual([
      expect.objectContaining({ package: 'carrier', version: '1.0.0', label: 'ci', rule: 'blocklist' }),
    ]);
    // The same tarball under a policy that allows what it bundles: served, bytes untouched.
    const open = await h.request({ url: `/open${tarballPath('carrier')}` });
    expect(open.status).toBe(200);
    expect(open.raw.equals(makeTarball(bundler('carrier', [['evil-pkg', '1.0.0']]).versions['1.0.0']!))).toBe(
      true,
    );
  });

  it('judges each bundled version as its own packument would, nested ones included', async () => {
    await start([
      bundler('fresh-carrier', [['left-pad', '1.2.0']]),
      bundler('old-carrier', [['left-pad', '1.1.0']]),
      bundler('deep-carrier', [['left-pad', '1.1.0']], ['evil-pkg', '1.0.0']),
      leftPad(),
      evil(),
    ]);
    const fresh = await h.request({ url: `/strict${tarballPath('fresh-carrier')}` });
    expect(fresh.status).toBe(403);
    expect(fresh.json().error).toMatch(
      /^fresh-carrier@1\.0\.0 bundles left-pad@1\.2\.0: left-pad@1\.2\.0 was published 2 days ago/,
    );
    expect((await h.request({ url: `/strict${tarballPath('old-carrier')}` })).status).toBe(200);
    const deep = await h.request({ url: `/strict${tarballPath('deep-carrier')}` });
    expect(deep.status).toBe(403);
    expect(deep.json().error).toMatch(/bundles evil-pkg@1\.0\.0/);
  });

  it('serves a bundler whose bundled package the registry does not have: its own copy, as npm bundles its unpublished workspaces', async () => {
    await start([
      bundler('private-carrier', [['internal-only-thing', '3.0.0']]),
      bundler('own-copy', [['left-pad', '9.0.0']]),
      leftPad(),
    ]);
    expect((await h.request({ url: `/strict${tarballPath('private-carrier')}` })).status).toBe(200);
    expect((await h.request({ url: `/strict${tarballPath('own-copy')}` })).status).toBe(200);
  });

  it('in alert mode serves the bundler and logs the bundled finding as an alert', async () => {
    await start([bundler('fresh-carrier', [['left-pad', '1.2.0']]), leftPad()]);
    expect((await h.request({ url: `/watch${tarballPath('fresh-carrier')}` })).status).toBe(200);
    expect((await h.service.audit.query({ policy: 'watch' })).entries).toEqual([
      expect.objectContaining({
        package: 'fresh-carrier',
        version: '1.0.0',
        outcome: 'alert',
        rule: 'cooling-off',
        reason: expect.stringMatching(/^fresh-carrier@1\.0\.0 bundles left-pad@1\.2\.0: /),
      }),
    ]);
  });

  it('refuses in alert mode too what the block list names, as for its own packument', async () => {
    await start([bundler('carrier', [['evil-pkg', '1.0.0']]), evil()]);
    expect((await h.request({ url: `/watch${tarballPath('carrier')}` })).status).toBe(403);
  });

  it('serves the bytes it judged, and remembers the list: one upstream request per download', async () => {
    await start([bundler('carrier', [['left-pad', '1.1.0']]), leftPad()]);
    const expected = makeTarball(bundler('carrier', [['left-pad', '1.1.0']]).versions['1.0.0']!);
    for (let i = 0; i < 3; i++) {
      const res = await h.request({ url: `/strict${tarballPath('carrier')}` });
      expect(res.status).toBe(200);
      expect(res.raw.equals(expected)).toBe(true);
    }
    // The first download is the read that was judged; the later ones stream, as any tarball.
    expect(h.registry.requests.filter((r) => r.path === tarballPath('carrier'))).toHaveLength(3);
  });

  it('answers 502 when the bundled packages cannot be read, never serving unchecked bytes', async () => {
    const carrier = bundler('carrier', [['left-pad', '1.1.0']]);
    // Bytes that do not match the document's integrity: not what a client would accept either.
    await start([carrier, leftPad()], {
      registryOptions: { tarballs: { 'carrier@1.0.0': makeTarball(leftPad().versions['1.1.0']!) } },
    });
    const res = await h.request({ url: `/strict${tarballPath('carrier')}` });
    expect(res.status).toBe(502);
    expect(res.json().error).toMatch(
      /^could not read what carrier@1\.0\.0 bundles: the tarball does not match the digest its document published; lockwarden serves no unchecked tarballs$/,
    );
  });

  it('answers 502 when a bundled package cannot be judged (its document unavailable)', async () => {
    await start([bundler('carrier', [['left-pad', '1.1.0']]), leftPad()], { retries: 0 });
    h.registry.fault({ kind: 'status', status: 500, match: (req) => req.path === '/left-pad' });
    const res = await h.request({ url: `/strict${tarballPath('carrier')}` });
    expect(res.status).toBe(502);
    expect(res.json().error).toMatch(
      /^could not judge what carrier@1\.0\.0 bundles: left-pad@1\.1\.0 \(upstream registry failed/,
    );
  });

  it('does not judge (or serve) a tarball bundling more packages than the limit', async () => {
    await start(
      [
        bundler('crowded', [
          ['left-pad', '1.1.0'],
          ['b-one', '1.0.0'],
          ['b-two', '1.0.0'],
        ]),
        leftPad(),
      ],
      { app: { bundles: { maxBundled: 2 }, cache: { prefetchConcurrency: 0 } } },
    );
    const res = await h.request({ url: `/strict${tarballPath('crowded')}` });
    expect(res.status).toBe(502);
    expect(res.json().error).toMatch(
      /^crowded@1\.0\.0 bundles more than 2 package manifests \(or more than 16 MB of them\), more than lockwarden judges for one tarball; lockwarden serves no unchecked tarballs$/,
    );
    // Not one bundled document was asked for.
    expect(h.registry.requests.map((r) => r.path)).not.toContain('/left-pad');
  });

  it('answers HEAD like GET: 200 with the length and no body, 403 for a blocked bundler', async () => {
    await start([
      bundler('carrier', [['left-pad', '1.1.0']]),
      bundler('fresh-carrier', [['left-pad', '1.2.0']]),
      leftPad(),
    ]);
    const ok = await h.request({ method: 'HEAD', url: `/strict${tarballPath('carrier')}` });
    expect(ok.status).toBe(200);
    expect(Number(ok.headers['content-length'])).toBe(
      makeTarball(bundler('carrier', [['left-pad', '1.1.0']]).versions['1.0.0']!).length,
    );
    expect((await h.request({ method: 'HEAD', url: `/strict${tarballPath('fresh-carrier')}` })).status).toBe(
      403,
    );
  });

  it('shares one read between concurrent downloads of a bundler', async () => {
    await start([bundler('carrier', [['left-pad', '1.1.0']]), leftPad()]);
    const both = await Promise.all([1, 2].map(() => h.request({ url: `/strict${tarballPath('carrier')}` })));
    expect(both.map((r) => r.status)).toEqual([200, 200]);
    expect(both[0]!.raw.equals(both[1]!.raw)).toBe(true);
    // One read, judged once, served to both.
    expect(h.registry.requests.filter((r) => r.path === tarballPath('carrier'))).toHaveLength(1);
  });

  it('drops a queued read once every download that asked for it has left, and reads afresh for the next', async () => {
    await start(
      [bundler('carrier', [['left-pad', '1.1.0']]), bundler('second', [['left-pad', '1.1.0']]), leftPad()],
      {
        app: { bundles: { concurrency: 1 }, cache: { prefetchConcurrency: 0 } },
      },
    );
    const base = await h.listen();
    const tarballRequests = (name: string) =>
      h.registry.requests.filter((r) => r.path === tarballPath(name)).length;
    // The first bundler's read holds the one slot while its upstream is slow.
    h.registry.fault({ kind: 'delay', ms: 1_000, match: (r) => r.path === tarballPath('carrier') });
    const first = fetch(`${base}/strict${tarballPath('carrier')}`);
    await expect.poll(() => tarballRequests('carrier'), { timeout: 10_000 }).toBe(1);
    // The second waits for that slot (or finds its client gone first: it is never read either way).
    const leaving = new AbortController();
    const second = fetch(`${base}/strict${tarballPath('second')}`, { signal: leaving.signal }).catch(
      (err) => err,
    );
    await expect
      .poll(() => h.registry.requests.some((r) => r.path === '/second'), { timeout: 10_000 })
      .toBe(true);
    leaving.abort();
    expect(await second).toBeInstanceOf(Error);
    expect((await first).status).toBe(200);
    // The slot was free from here on: a read still queued would have gone out at once.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(tarballRequests('second')).toBe(0);
    // Not a failure of the tarball: the next download reads it and is served.
    const again = await fetch(`${base}/strict${tarballPath('second')}`);
    expect(again.status).toBe(200);
    expect(tarballRequests('second')).toBe(1);
  });

  it('remembers nothing for a document without integrity or shasum: changed bytes are judged again', async () => {
    const withoutDigests = (doc: ReturnType<typeof bundler>) => {
      const dist = doc.versions['1.0.0']!.dist!;
      delete dist.integrity;
      delete dist.shasum;
      return doc;
    };
    await start([withoutDigests(bundler('carrier', [['left-pad', '1.1.0']])), leftPad(), evil()]);
    expect((await h.request({ url: `/strict${tarballPath('carrier')}` })).status).toBe(200);
    h.registry.addPackument(withoutDigests(bundler('carrier', [['evil-pkg', '1.0.0']])));
    const res = await h.request({ url: `/strict${tarballPath('carrier')}` });
    expect(res.status).toBe(403);
    expect(res.json().error).toMatch(/bundles evil-pkg@1\.0\.0/);
  });

  it('reads the bundler from a --tarball-origin host it is redirected to, as the tarball is served', async () => {
    const carrier = bundler('carrier', [['left-pad', '1.1.0']]);
    const bytes = makeTarball(carrier.versions['1.0.0']!);
    const cdn = await startFakeServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(bytes);
    });
    try {
      await start([carrier, leftPad()], { app: { tarballOrigins: [cdn.url] } });
      h.registry.fault({
        kind: 'status',
        status: 302,
        headers: { location: `${cdn.url}blob/carrier.tgz` },
        match: (r) => r.path.endsWith('.tgz'),
      });
      const res = await h.request({ url: `/strict${tarballPath('carrier')}` });
      expect(res.status).toBe(200);
      expect(res.raw.equals(bytes)).toBe(true);
      expect(cdn.requests.map((r) => r.path)).toEqual(['/blob/carrier.tgz']);
    } finally {
      await cdn.close();
    }
  });

  it("sends bun to a refusal page that says the bundled package's reason", async () => {
    await start([bundler('fresh-carrier', [['left-pad', '1.2.0']]), leftPad()]);
    const res = await h.request({
      url: `/strict${tarballPath('fresh-carrier')}`,
      headers: { 'user-agent': 'Bun/1.2.0' },
    });
    expect(res.status).toBeGreaterThanOrEqual(300);
    expect(res.status).toBeLessThan(400);
    const page = await h.request({ url: new URL(String(res.headers.location)).pathname });
    expect(page.status).toBe(403);
    expect(page.json().error).toMatch(
      /^fresh-carrier@1\.0\.0 bundles left-pad@1\.2\.0: left-pad@1\.2\.0 was published 2 days ago/,
    );
  });

  it('names only the bundled version when its package is refused as a whole', async () => {
    await start([
      bundler('carrier', [['young', '1.0.0']]),
      makePackument({
        name: 'young',
        versions: [
          { version: '1.0.0', publishedAt: new Date(daysAgo(2)) },
          { version: '1.0.1', publishedAt: new Date(daysAgo(1)) },
        ],
      }),
    ]);
    expect((await h.request({ url: '/strict/young' })).status).toBe(403);
    const res = await h.request({ url: `/strict${tarballPath('carrier')}` });
    expect(res.status).toBe(403);
    expect(res.json().error).toMatch(
      /^carrier@1\.0\.0 bundles young@1\.0\.0: young@1\.0\.0 was published 2 days ago/,
    );
    expect(res.json().error).not.toContain('1.0.1');
  });

  it('checks a shasum where the document has no integrity, and treats an unusable integrity as none', async () => {
    const carrier = bundler('carrier', [['left-pad', '1.1.0']]);
    delete carrier.versions['1.0.0']!.dist!.integrity;
    await start([carrier, leftPad()], {
      registryOptions: { tarballs: { 'carrier@1.0.0': makeTarball(leftPad().versions['1.1.0']!) } },
    });
    const res = await h.request({ url: `/strict${tarballPath('carrier')}` });
    expect(res.status).toBe(502);
    expect(res.json().error).toMatch(/does not match the digest its document published/);
    await h.close();

    const unusable = (doc: ReturnType<typeof bundler>) => {
      const dist = doc.versions['1.0.0']!.dist!;
      dist.integrity = 'md5-AAAA';
      delete dist.shasum;
      return doc;
    };
    await start([unusable(bundler('carrier', [['left-pad', '1.1.0']])), leftPad(), evil()]);
    expect((await h.request({ url: `/strict${tarballPath('carrier')}` })).status).toBe(200);
    // Nothing says which bytes these are: the next download is read and judged again.
    h.registry.addPackument(unusable(bundler('carrier', [['evil-pkg', '1.0.0']])));
    expect((await h.request({ url: `/strict${tarballPath('carrier')}` })).status).toBe(403);
  });

  it("bun's refusal page judges the tarball again when no list is remembered", async () => {
    const noDigest = bundler('fresh-carrier', [['left-pad', '1.2.0']]);
    delete noDigest.versions['1.0.0']!.dist!.integrity;
    delete noDigest.versions['1.0.0']!.dist!.shasum;
    await start([noDigest, leftPad()]);
    const res = await h.request({
      url: `/strict${tarballPath('fresh-carrier')}`,
      headers: { 'user-agent': 'Bun/1.2.0' },
    });
    const page = await h.request({ url: new URL(String(res.headers.location)).pathname });
    expect(page.status).toBe(403);
    expect(page.json().error).toMatch(/^fresh-carrier@1\.0\.0 bundles left-pad@1\.2\.0: /);
  });
});
