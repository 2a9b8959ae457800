// The proxy judges what a bundler's tarball carries before serving it: a version hidden from every
// document must not arrive inside another package. In process, in front of a loopback fake.
import { afterEach, describe, expect, it } from 'vitest';
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

  it('serves a bundler whose bundled packages the registry does not know (private ones)', async () => {
    await start([bundler('private-carrier', [['internal-only-thing', '3.0.0']])]);
    expect((await h.request({ url: `/strict${tarballPath('private-carrier')}` })).status).toBe(200);
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

  it('reads the list once per tarball: later downloads stream with one upstream request', async () => {
    await start([bundler('carrier', [['left-pad', '1.1.0']]), leftPad()]);
    for (let i = 0; i < 3; i++)
      expect((await h.request({ url: `/strict${tarballPath('carrier')}` })).status).toBe(200);
    // One read for the list, then one stream per download.
    expect(h.registry.requests.filter((r) => r.path === tarballPath('carrier'))).toHaveLength(4);
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
      /^could not read what carrier@1\.0\.0 bundles: .*integrity.*; lockwarden serves no unchecked tarballs$/,
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
      /^crowded@1\.0\.0 bundles 3 packages, more than the 2 lockwarden judges/,
    );
    // Not one bundled document was asked for.
    expect(h.registry.requests.map((r) => r.path)).not.toContain('/left-pad');
  });
});
