// The service's check API (the Action's service mode) reads what an entry flagged
// `"bundles": "unlisted"` (one of a pnpm, yarn or bun lockfile) bundles, from its tarball, and
// judges it as inline mode's audit does; an entry without the flag is judged by name and version.
import { afterEach, describe, expect, it } from 'vitest';
import { CHECK_MAX_BUNDLER_READS } from '../../server/admin-routes.js';
import type { RecordedRequest } from '../helpers/fake-upstream.js';
import { makePackument } from '../helpers/make-packument.js';
import { daysAgo } from '../helpers/make-policy.js';
import { type ProxyHarness, startProxyHarness } from '../helpers/proxy-harness.js';

let h: ProxyHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const packuments = () => [
  // bund's tarball carries inner 1.3.0, published two days ago: inside the 7-day cooling-off.
  makePackument({
    name: 'bund',
    versions: [
      {
        version: '1.0.0',
        publishedAt: new Date(daysAgo(300)),
        extra: { bundleDependencies: ['inner'] },
        files: { 'node_modules/inner/package.json': JSON.stringify({ name: 'inner', version: '1.3.0' }) },
      },
    ],
  }),
  makePackument({
    name: 'inner',
    versions: [
      { version: '1.0.0', publishedAt: new Date(daysAgo(300)) },
      { version: '1.3.0', publishedAt: new Date(daysAgo(2)) },
    ],
  }),
];

describe('POST /policies/:id/check with bundles', () => {
  it('judges what a flagged entry bundles and says so; an entry without the flag by its name and version', async () => {
    h = await startProxyHarness({
      packuments: packuments(),
      filePolicies: [{ id: 'strict', coolingOffDays: 7 }],
    });
    const flagged = await h.admin('POST', '/policies/strict/check', {
      packages: [{ name: 'bund', version: '1.0.0', bundles: 'unlisted' }],
    });
    expect(flagged.status).toBe(200);
    const body = flagged.json();
    expect(body.bundlesChecked).toBe(1);
    expect(body.verdicts[0].decision).toBe('block');
    expect(
      body.verdicts[0].findings.map((f: { rule: string; message: string }) => [f.rule, f.message]),
    ).toEqual([
      [
        'cooling-off',
        expect.stringMatching(/^bund@1\.0\.0 bundles inner@1\.3\.0: inner@1\.3\.0 was published /),
      ],
    ]);
    expect(h.registry.requests.filter((r) => r.path.endsWith('.tgz')).map((r) => r.path)).toEqual([
      '/bund/-/bund-1.0.0.tgz',
    ]);

    const plain = await h.admin('POST', '/policies/strict/check', {
      packages: [{ name: 'bund', version: '1.0.0' }],
    });
    expect(plain.json().bundlesChecked).toBe(0);
    expect(plain.json().verdicts[0].decision).toBe('allow');
  });

  it("judges only what the tarball carries beyond the request's own packages: an edited npm inBundle list hides nothing, an honest one is not reported twice", async () => {
    h = await startProxyHarness({
      packuments: packuments(),
      filePolicies: [{ id: 'strict', coolingOffDays: 7 }],
    });
    const check = (inner: string) =>
      h!.admin('POST', '/policies/strict/check', {
        packages: [
          { name: 'bund', version: '1.0.0', bundles: 'unlisted' },
          { name: 'inner', version: inner },
        ],
      });
    // The lockfile claims inner@1.0.0 is bundled; the tarball carries inner@1.3.0.
    const edited = (await check('1.0.0')).json();
    expect(edited.verdicts.map((v: { decision: string }) => v.decision)).toEqual(['block', 'allow']);
    expect(edited.verdicts[0].findings[0].evidence).toEqual({ bundled: 'inner@1.3.0' });
    // Listed as it is: inner@1.3.0's own verdict blocks it, and bund carries no second finding.
    const honest = (await check('1.3.0')).json();
    expect(honest.verdicts.map((v: { decision: string }) => v.decision)).toEqual(['allow', 'block']);
  });

  it('refuses a bundles field it does not know', async () => {
    h = await startProxyHarness({ packuments: packuments() });
    const res = await h.admin('POST', '/policies/default/check', {
      packages: [{ name: 'bund', version: '1.0.0', bundles: 'listed' }],
    });
    expect(res.status).toBe(400);
    expect(res.json().error).toContain('packages[0].bundles: expected "unlisted" or nothing');
  });

  it.each(['block', 'alert'] as const)(
    'reads at most CHECK_MAX_BUNDLER_READS bundler tarballs cold per request: the bundlers beyond are unavailable (onUnavailable %s), never a pass, and a later check reads them',
    async (onUnavailable) => {
      const count = CHECK_MAX_BUNDLER_READS + 2;
      const names = Array.from({ length: count }, (_, i) => `bund-${i}`);
      h = await startProxyHarness({
        packuments: [...packuments(), ...names.map((name) => bundlerOf(name, '1.0.0'))],
        filePolicies: [{ id: 'strict', coolingOffDays: 7, onUnavailable }],
      });
      const packages = names.map((name) => ({ name, version: '1.0.0', bundles: 'unlisted' }));
      const first = (await h.admin('POST', '/policies/strict/check', { packages })).json();
      expect(tarballs(h.registry.requests)).toHaveLength(CHECK_MAX_BUNDLER_READS);
      const unread = first.verdicts.filter((v: { decision: string }) => v.decision !== 'allow');
      expect(unread).toHaveLength(2);
      for (const v of unread) {
        expect(v.decision).toBe(onUnavailable);
        expect(v.findings).toEqual([
          expect.objectContaining({
            rule: 'not-on-registry',
            outcome: 'unavailable',
            message: expect.stringContaining(
              `one check reads the tarballs of at most ${CHECK_MAX_BUNDLER_READS} bundlers not read before`,
            ),
          }),
        ]);
      }
      // The lists read are kept: the next check reads only the two left, and every bundler passes.
      const second = (await h.admin('POST', '/policies/strict/check', { packages })).json();
      expect(tarballs(h.registry.requests)).toHaveLength(count);
      expect(second.verdicts.map((v: { decision: string }) => v.decision)).toEqual(names.map(() => 'allow'));
    },
  );

  it("shares the service-wide limiter of tarball reads with the proxy's bundle check: concurrent checks and downloads never read more at once", async () => {
    const names = ['a', 'b', 'c', 'd', 'e'].map((l) => `bund-${l}`);
    h = await startProxyHarness({
      packuments: [...packuments(), ...names.map((name) => bundlerOf(name, '1.0.0'))],
      filePolicies: [{ id: 'strict', coolingOffDays: 7 }],
      app: { bundles: { concurrency: 1 } },
    });
    // Each tarball takes a while to come, so reads that are let through together overlap.
    h.registry.fault({ kind: 'delay', ms: 40, match: (r) => r.path.endsWith('.tgz') });
    const check = (pair: string[]) =>
      h!.admin('POST', '/policies/strict/check', {
        packages: pair.map((name) => ({ name, version: '1.0.0', bundles: 'unlisted' })),
      });
    const answers = await Promise.all([
      check(names.slice(0, 2)),
      check(names.slice(2, 4)),
      h.request({ url: `/strict/${names[4]}/-/${names[4]}-1.0.0.tgz` }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const read = tarballs(h.registry.requests);
    expect(read).toHaveLength(5);
    // At any moment, at most one tarball request was open.
    const overlapping = read.filter((r, i) =>
      read.some((o, j) => j !== i && o.receivedAt < r.finishedAt! && r.receivedAt < o.finishedAt!),
    );
    expect(overlapping.map((r) => r.path)).toEqual([]);
  });
});

/** A bundler whose tarball carries `inner` at `innerVersion`. */
function bundlerOf(name: string, innerVersion: string) {
  return makePackument({
    name,
    versions: [
      {
        version: '1.0.0',
        publishedAt: new Date(daysAgo(300)),
        extra: { bundleDependencies: ['inner'] },
        files: {
          'node_modules/inner/package.json': JSON.stringify({ name: 'inner', version: innerVersion }),
        },
      },
    ],
  });
}

const tarballs = (requests: readonly RecordedRequest[]) => requests.filter((r) => r.path.endsWith('.tgz'));
