// Upstream down, slow or returning garbage: the last good document with a header saying so, or a
// 502/504 with the reason; never an unfiltered document.
import { afterEach, describe, expect, it } from 'vitest';
import { createUpstream, UpstreamError } from '../../server/upstream.js';
import { flushDiskCaches } from '../../src/sources/disk-cache.js';
import type { Sources } from '../../src/sources/types.js';
import { type FakeServer, startFakeServer } from '../helpers/fake-upstream.js';
import { makePackument } from '../helpers/make-packument.js';
import { daysAgo } from '../helpers/make-policy.js';
import { type ProxyHarness, startProxyHarness } from '../helpers/proxy-harness.js';

const day = 86_400_000;
let h: ProxyHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const leftPad = () =>
  makePackument({
    name: 'left-pad',
    versions: [
      { version: '1.0.0', publishedAt: new Date(daysAgo(40)) },
      { version: '1.2.0', publishedAt: new Date(daysAgo(2)) },
    ],
  });

const start = (extra: Parameters<typeof startProxyHarness>[0] = {}) =>
  startProxyHarness({
    packuments: [leftPad()],
    filePolicies: [{ id: 'strict', coolingOffDays: 7 }],
    ...extra,
  });

describe('upstream failures', () => {
  const cold: Array<{
    title: string;
    fault: Parameters<ProxyHarness['registry']['fault']>[0];
    status: number;
    reason: RegExp;
  }> = [
    { title: 'HTTP 500', fault: { kind: 'status', status: 500 }, status: 502, reason: /left-pad: HTTP 500/ },
    { title: 'garbage JSON', fault: { kind: 'garbage' }, status: 502, reason: /invalid JSON/ },
    {
      title: 'a dropped connection',
      fault: { kind: 'reset' },
      status: 502,
      reason: /upstream registry failed for left-pad/,
    },
  ];
  it.each(cold)('cold cache, upstream $title: $status with the reason', async ({ fault, status, reason }) => {
    h = await start();
    h.registry.fault(fault);
    const res = await h.request({ url: '/strict/left-pad' });
    expect(res.status).toBe(status);
    expect(res.json().error).toMatch(reason);
    expect(res.json().error).toMatch(/lockwarden serves no unchecked documents$/);
  });

  it('refuses a document larger than the configured limit with 502, never a crash', async () => {
    h = await start({ maxBodyBytes: 256 * 1024 });
    h.registry.fault({ kind: 'huge', bytes: 1024 * 1024 });
    const res = await h.request({ url: '/strict/left-pad' });
    expect(res.status).toBe(502);
    expect(res.json().error).toMatch(/upstream registry failed for left-pad: .*too large/);
    h.registry.clearFaults();
    h.clock.advance(60_000);
    expect((await h.request({ url: '/strict/left-pad' })).status).toBe(200);
  });

  it('cold cache, upstream too slow: 504', async () => {
    h = await start({ headersTimeoutMs: 100 });
    // Answers after a minute, so only the timeout can decide, however late a loaded machine runs it.
    h.registry.fault({ kind: 'delay', ms: 60_000 });
    const res = await h.request({ url: '/strict/left-pad' });
    expect(res.status).toBe(504);
    expect(res.json().error).toMatch(/upstream registry failed for left-pad: .*time/i);
  });

  it('serves the last good filtered document, saying so in a header, when upstream fails later', async () => {
    h = await start();
    const good = await h.request({ url: '/strict/left-pad' });
    expect(good.status).toBe(200);
    h.registry.fault({ kind: 'status', status: 503 });
    // Past the TTL and the stale window, and past the source's own cache freshness.
    h.clock.advance(day / 2);
    const res = await h.request({ url: '/strict/left-pad' });
    expect(res.status).toBe(200);
    expect(String(res.headers['x-lockwarden-stale'])).toMatch(/upstream registry/);
    expect(res.headers.warning).toBe('110 lockwarden "Response is Stale"');
    expect(Object.keys(res.json().versions)).toEqual(['1.0.0']);
  });

  it('after a restart, serves the copy on disk when upstream is down', async () => {
    h = await start();
    expect((await h.request({ url: '/strict/left-pad' })).status).toBe(200);
    // As a new process finds it: the disk cache reopened from its log, nothing in memory.
    await flushDiskCaches();
    await h.restart();
    h.registry.fault({ kind: 'reset' });
    h.clock.advance(day / 2);
    const res = await h.request({ url: '/strict/left-pad' });
    expect(res.status).toBe(200);
    expect(String(res.headers['x-lockwarden-stale'])).toMatch(/upstream registry unreachable/);
    expect(Object.keys(res.json().versions)).toEqual(['1.0.0']);
  });

  it('never serves a document whose evaluation failed', async () => {
    h = await start({
      filePolicies: [{ id: 'pop', minWeeklyDownloads: 10 }],
      wrapSources: (real): Sources => ({
        ...real,
        downloads: {
          url: real.downloads.url,
          stats: real.downloads.stats,
          getWeeklyDownloads: async () => {
            throw new Error('downloads source exploded');
          },
        },
      }),
    });
    const res = await h.request({ url: '/pop/left-pad' });
    expect(res.status).toBe(502);
    expect(res.json().error).toBe('could not evaluate left-pad under policy pop: downloads source exploded');
    expect(res.text).not.toContain('1.2.0');
  });

  it('answers a failing tarball upstream with 502 and the reason', async () => {
    h = await start();
    await h.request({ url: '/strict/left-pad' });
    h.registry.fault({ kind: 'status', status: 500, match: (r) => r.path.endsWith('.tgz') });
    const res = await h.request({ url: '/strict/left-pad/-/left-pad-1.0.0.tgz' });
    expect(res.status).toBe(502);
    expect(res.json().error).toBe('upstream registry answered HTTP 500 for the tarball of left-pad@1.0.0');
  });

  it('treats an unavailable download count as the policy says (onUnavailable block hides, with the source named)', async () => {
    h = await start({ filePolicies: [{ id: 'pop', minWeeklyDownloads: 10, onUnavailable: 'block' }] });
    h.downloads.fault({ kind: 'status', status: 500 });
    const res = await h.request({ url: '/pop/left-pad' });
    expect(res.status).toBe(403);
    expect(res.json().error).toMatch(/blocked by policy pop$/);
  });
});

describe('a downloads API that does not answer', () => {
  it('costs one deadline: later evaluations fall back at once, one lookup goes out in the background', async () => {
    // The downloads API's deadline is the HTTP layer's here (5 s): long enough for a loaded
    // machine, and each evaluation that waited for it would add as much to this test.
    const names = ['pkg-a', 'pkg-b', 'pkg-c', 'pkg-d', 'pkg-e'];
    h = await start({
      packuments: names.map((name) =>
        makePackument({ name, versions: [{ version: '1.0.0', publishedAt: new Date(daysAgo(40)) }] }),
      ),
      popular: [{ name: 'pkg-e', monthlyDownloads: 4_000_000 }],
      filePolicies: [{ id: 'pop', minWeeklyDownloads: 10 }],
      timeoutMs: 5_000,
    });
    h.downloads.fault({ kind: 'delay', ms: 120_000 });
    for (const name of names) {
      const res = await h.request({ url: `/pop/${name}` });
      // Unavailable counts are alerts under this policy (onUnavailable: alert): served.
      expect(res.status, name).toBe(200);
    }
    // The first evaluation asked and waited; each later one would have asked and waited again.
    // Now they answered without it, and one background lookup (still hanging) went out.
    expect(h.downloads.requests.length).toBe(2);
    const other = await h.sources.downloads.getWeeklyDownloads(['pkg-a']);
    expect(other.get('pkg-a')).toMatchObject({
      status: 'unavailable',
      reason: expect.stringMatching(
        /deadline.*\(not asked again until it answers; asking in the background\)$/,
      ),
    });
    expect(h.downloads.requests.length).toBe(2);
    // A popular name gets the embedded list's figure, said in the finding, and passes.
    const popular = await h.sources.downloads.getWeeklyDownloads(['pkg-e']);
    expect(popular.get('pkg-e')).toMatchObject({ status: 'ok', value: { origin: 'snapshot' } });
  });
});

describe('hostile documents', () => {
  const deep = `{"name":"left-pad","versions":{},"x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;

  it('answers a document nested too deeply with 502 and the reason, never a 500', async () => {
    h = await start();
    h.registry.fault({ kind: 'garbage', body: deep });
    const res = await h.request({ url: '/strict/left-pad' });
    expect(res.status).toBe(502);
    expect(res.json().error).toMatch(
      /upstream registry failed for left-pad: .*nested deeper than 200 levels/,
    );
  });

  it('answers a document a splice could read differently (a duplicate version) with 502, never a served copy', async () => {
    h = await start();
    // JSON.parse keeps the second 1.0.0; serving the bytes must not let a client read one
    // version while the service judged another.
    const twice = `{"name":"left-pad","versions":{"1.0.0":{"version":"1.0.0"},"1.0.0":{"version":"1.0.0","dist":{"tarball":"http://127.0.0.1:1/evil.tgz"}}}}`;
    h.registry.fault({ kind: 'garbage', body: twice });
    const res = await h.request({ url: '/strict/left-pad' });
    expect(res.status).toBe(502);
    expect(res.json().error).toMatch(/upstream registry failed for left-pad: .*duplicate key "1.0.0"/);
  });

  it('keeps serving the last good copy when the upstream turns to one', async () => {
    h = await start();
    expect((await h.request({ url: '/strict/left-pad' })).status).toBe(200);
    h.registry.fault({ kind: 'garbage', body: deep });
    // Past the TTL and the stale window, and past the source's own cache freshness.
    h.clock.advance(day / 2);
    const res = await h.request({ url: '/strict/left-pad' });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json().versions)).toEqual(['1.0.0']);
    expect(String(res.headers['x-lockwarden-stale'])).toMatch(/upstream registry/);
  });
});

describe('/health', () => {
  it("reports each upstream's state: degraded while the downloads API is down, the registry still closed", async () => {
    h = await start({ filePolicies: [{ id: 'pop', minWeeklyDownloads: 10 }] });
    expect((await h.admin('GET', '/health')).json()).toMatchObject({ status: 'ok' });
    h.downloads.fault({ kind: 'status', status: 503 });
    // After the first failed lookup the others answer at once (popular names from the embedded
    // list) and one at a time is asked in the background: the API is reported open at once.
    await h.sources.downloads.getWeeklyDownloads(['a']);
    const degraded = (await h.admin('GET', '/health')).json();
    expect(degraded.status).toBe('degraded');
    expect(degraded.sources).toEqual([
      {
        source: 'downloads API',
        origin: h.downloads.url.replace(/\/$/, ''),
        state: 'open',
        failures: 1,
        lastFailure: 'HTTP 503',
      },
    ]);

    // The registry keeps answering meanwhile (the count is unavailable: an alert under this policy).
    expect((await h.request({ url: '/pop/left-pad' })).status).toBe(200);
    expect((await h.admin('GET', '/health')).json().sources).toContainEqual(
      expect.objectContaining({ source: 'registry', state: 'closed' }),
    );
  });
});

describe('upstream credentials and deadlines', () => {
  it('sends the Basic auth of --upstream user:password@ for tarballs too, and only to the upstream', async () => {
    h = await start({
      // The URL the upstream is given; serve passes --upstream as typed (createApp's upstreamUrl).
      wrapSources: (real): Sources => ({
        ...real,
        registry: { ...real.registry, url: real.registry.url.replace('http://', 'http://ci%40corp:s3cret@') },
      }),
    });
    await h.request({ url: '/strict/left-pad' });
    // A private registry that answers tarball requests without credentials with 401.
    h.registry.fault({
      kind: 'status',
      status: 401,
      match: (r) => r.path.endsWith('.tgz') && !r.headers.authorization,
    });
    const tgz = await h.request({ url: '/strict/left-pad/-/left-pad-1.0.0.tgz' });
    expect(tgz.status).toBe(200);
    const sent = h.registry.requests
      .filter((r) => r.path.endsWith('.tgz'))
      .map((r) => r.headers.authorization);
    expect(sent).toEqual([`Basic ${Buffer.from('ci@corp:s3cret').toString('base64')}`]);
  });

  it('answers 504 for a packument that trickles in past the deadline', async () => {
    h = await start({ timeoutMs: 400 });
    h.registry.fault({ kind: 'trickle', intervalMs: 20 });
    const res = await h.request({ url: '/strict/left-pad' });
    expect(res.status).toBe(504);
    expect(res.json().error).toMatch(/upstream registry failed for left-pad: .*400 ms deadline/);
    // One deadline, no attempt after it. The body never ends, so nothing else could have ended the
    // request (a wall-clock bound here can fail when a loaded machine runs the timer late).
    expect(h.registry.requests.filter((r) => r.path === '/left-pad')).toHaveLength(1);
  });
});

describe('tarball redirects', () => {
  let cdn: FakeServer | undefined;
  afterEach(async () => {
    await cdn?.close();
    cdn = undefined;
  });
  const startCdn = () =>
    startFakeServer((_req, res, recorded) => {
      if (recorded.path === '/again') {
        res.writeHead(302, { location: '/blob/left-pad.tgz' });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.from('tarball bytes from the cdn'));
    });
  const redirectTarballs = (location: string, times?: number) =>
    h!.registry.fault({
      kind: 'status',
      status: 302,
      headers: { location },
      match: (r) => r.path.endsWith('.tgz'),
      ...(times ? { times } : {}),
    });

  it('follows a redirect to a --tarball-origin host, without the upstream token', async () => {
    cdn = await startCdn();
    h = await start({ app: { upstreamToken: 'upstream-secret', tarballOrigins: [cdn.url] } });
    await h.request({ url: '/strict/left-pad' });
    redirectTarballs(`${cdn.url}again`);
    const res = await h.request({ url: '/strict/left-pad/-/left-pad-1.0.0.tgz' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('tarball bytes from the cdn');
    expect(h.registry.requests.find((r) => r.path.endsWith('.tgz'))?.headers.authorization).toBe(
      'Bearer upstream-secret',
    );
    expect(cdn.requests.map((r) => [r.path, r.headers.authorization])).toEqual([
      ['/again', undefined],
      ['/blob/left-pad.tgz', undefined],
    ]);
  });

  it('refuses a redirect to a host that is neither the upstream nor a --tarball-origin', async () => {
    cdn = await startCdn();
    h = await start({ app: { upstreamToken: 'upstream-secret' } });
    await h.request({ url: '/strict/left-pad' });
    redirectTarballs(`${cdn.url.replace('127.0.0.1', 'localhost')}blob/left-pad.tgz`);
    const res = await h.request({ url: '/strict/left-pad/-/left-pad-1.0.0.tgz' });
    expect(res.status).toBe(502);
    expect(res.json().error).toMatch(
      /redirected to http:\/\/localhost:\d+, which is not the upstream registry; allow it with --tarball-origin$/,
    );
    expect(cdn.requests).toHaveLength(0);
  });

  const refused: Array<{ title: string; location: (cdnUrl: string) => string; error: RegExp }> = [
    {
      title: 'a file: URL',
      location: () => 'file:///etc/passwd',
      error: /redirected to a file: URL; only http\(s\) is followed/,
    },
    {
      title: 'a loop',
      location: () => '/strict-loop/left-pad/-/left-pad-1.0.0.tgz',
      error: /redirected more than 3 times; not followed$/,
    },
  ];
  it.each(refused)('answers a redirect to $title with 502 and the reason', async ({ location, error }) => {
    h = await start();
    await h.request({ url: '/strict/left-pad' });
    redirectTarballs(location(''));
    const res = await h.request({ url: '/strict/left-pad/-/left-pad-1.0.0.tgz' });
    expect(res.status).toBe(502);
    expect(res.json().error).toMatch(error);
    expect(h.registry.requests.filter((r) => r.path.endsWith('.tgz')).length).toBeLessThanOrEqual(4);
  });
});

describe('upstream deadline', () => {
  it('covers a whole tarball redirect chain with one deadline, not one per hop', async () => {
    // Each hop answers after 200 ms: three hops fit a 300 ms deadline only if every hop got its own.
    const slow = await startFakeServer((_req, res, recorded) => {
      const next = { '/a.tgz': '/b.tgz', '/b.tgz': '/c.tgz' }[recorded.path];
      const t = setTimeout(() => {
        if (next) res.writeHead(302, { location: next }).end();
        else res.writeHead(200).end('bytes');
      }, 200);
      res.on('close', () => clearTimeout(t));
    });
    const upstream = createUpstream({ url: slow.url, timeoutMs: 300 });
    try {
      const err = await upstream.fetchTarball(`${slow.url}a.tgz`).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UpstreamError);
      expect(err).toMatchObject({
        status: 504,
        message: expect.stringContaining('no response within 300 ms'),
      });
      expect(slow.requests.map((r) => r.path)).not.toContain('/c.tgz');
    } finally {
      await upstream.close();
      await slow.close();
    }
  });
});
