// The service's check API (the Action's service mode) reads what an entry flagged
// `"bundles": "unlisted"` (one of a pnpm, yarn or bun lockfile) bundles, from its tarball, and
// judges it as inline mode's audit does; an entry without the flag is judged by name and version.
import { afterEach, describe, expect, it } from 'vitest';
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

  it('refuses a bundles field it does not know', async () => {
    h = await startProxyHarness({ packuments: packuments() });
    const res = await h.admin('POST', '/policies/default/check', {
      packages: [{ name: 'bund', version: '1.0.0', bundles: 'listed' }],
    });
    expect(res.status).toBe(400);
    expect(res.json().error).toContain('packages[0].bundles: expected "unlisted" or nothing');
  });
});
