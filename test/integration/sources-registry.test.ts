import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLockwardenError } from '../../src/errors.js';
import { flushDiskCaches } from '../../src/sources/disk-cache.js';
import { createHttpClient, type HttpClient, type HttpClientOptions } from '../../src/sources/http-client.js';
import { createRegistrySource, normalizeRegistryUrl } from '../../src/sources/registry-source.js';
import type { RegistrySource } from '../../src/sources/types.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { closedPortUrl } from '../helpers/fake-upstream.js';
import { makePackument } from '../helpers/make-packument.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000);

const lodashLike = makePackument({
  name: 'left-padder',
  versions: [
    { version: '1.0.0', publishedAt: daysAgo(400), repository: 'github:acme/left-padder' },
    { version: '1.1.0', publishedAt: daysAgo(30), repository: 'github:acme/left-padder' },
    { version: '2.0.0-beta.1', publishedAt: daysAgo(2), repository: 'github:acme/left-padder' },
  ],
  targetBytes: 50_000,
});
const scoped = makePackument({
  name: '@acme/widget',
  versions: [{ version: '0.3.0', publishedAt: daysAgo(10), dependencies: { 'left-padder': '^1.0.0' } }],
});

let registry: FakeRegistry;
let cacheDir: string;
let http: HttpClient;
let delays: number[];

function client(overrides: HttpClientOptions = {}): HttpClient {
  return createHttpClient({
    // The client's own (long) timeouts: no test here waits for them, and a short one fired on a
    // loaded machine before a healthy answer was read, so a retry added a request to the counts.
    retries: 2,
    sleep: async (ms) => {
      delays.push(ms);
    },
    ...overrides,
  });
}

/** A source whose answers arrive after its cache writes settle, as the next run would see them. */
function source(
  opts: { now?: Date; freshnessMs?: number; http?: HttpClient; url?: string } = {},
): RegistrySource {
  const inner = createRegistrySource({
    url: opts.url ?? registry.url,
    cacheDir,
    http: opts.http ?? http,
    now: () => opts.now ?? NOW,
    ...(opts.freshnessMs !== undefined ? { freshnessMs: opts.freshnessMs } : {}),
  });
  const settled = async <T>(p: Promise<T>): Promise<T> => {
    const value = await p;
    await flushDiskCaches();
    return value;
  };
  return {
    url: inner.url,
    getPackument: (name, o) => settled(inner.getPackument(name, o)),
    getManifest: (name, version) => settled(inner.getManifest(name, version)),
    stats: () => inner.stats(),
  };
}

beforeEach(async () => {
  registry = await startFakeRegistry({ shape: 'public', packuments: [lodashLike, scoped] });
  cacheDir = await mkdtemp(join(tmpdir(), 'lw-registry-'));
  delays = [];
  http = client();
});

afterEach(async () => {
  await flushDiskCaches();
  await http.close();
  await registry.close();
  await rm(cacheDir, { recursive: true, force: true });
});

describe('public-shaped registry', () => {
  it('returns the full document with per-version times, gzip-compressed on the wire', async () => {
    const src = source();
    const res = await src.getPackument('left-padder', { full: true });
    expect(res.status).toBe('ok');
    if (res.status !== 'ok') return;
    expect(res.abbreviated).toBe(false);
    expect(res.fromCache).toBe(false);
    expect(res.packument.time?.['1.1.0']).toBe(daysAgo(30).toISOString());
    expect(res.packument.versions['1.0.0']?.repository).toEqual({
      type: 'git',
      url: 'git+https://github.com/acme/left-padder.git',
    });
    expect(registry.requests[0]?.headers.accept).toBe('application/json');
    expect(registry.requests[0]?.headers['accept-encoding']).toMatch(/gzip/);
    const jsonBytes = Buffer.byteLength(JSON.stringify(registry.served('left-padder')));
    expect(src.stats().bytes).toBeLessThan(jsonBytes / 2);
    expect(src.stats().requests).toBe(1);
  });

  it('asks for and reports the abbreviated document', async () => {
    const res = await source().getPackument('left-padder', { full: false });
    expect(res.status).toBe('ok');
    if (res.status !== 'ok') return;
    expect(res.abbreviated).toBe(true);
    expect(res.packument.time).toBeUndefined();
    expect(res.packument.modified).toBe(daysAgo(2).toISOString());
    expect(res.packument.versions['1.1.0']?.repository).toBeUndefined();
    expect(registry.requests[0]?.headers.accept).toMatch(/^application\/vnd\.npm\.install-v1\+json/);
  });

  it('encodes a scoped name as @scope%2fname', async () => {
    const res = await source().getPackument('@acme/widget', { full: true });
    expect(res.status).toBe('ok');
    expect(registry.requests[0]?.path).toBe('/@acme%2fwidget');
  });

  it('revalidates with If-None-Match once stale and serves the cached body on 304', async () => {
    const first = await source({ freshnessMs: 60_000 }).getPackument('left-padder', { full: true });
    const later = new Date(NOW.getTime() + 120_000);
    const second = await source({ freshnessMs: 60_000, now: later }).getPackument('left-padder', {
      full: true,
    });
    expect(registry.requests).toHaveLength(2);
    expect(registry.requests[1]?.headers['if-none-match']).toMatch(/^"[0-9a-f]{40}"$/);
    expect(second).toMatchObject({ status: 'ok', fromCache: 'revalidated' });
    if (first.status !== 'ok' || second.status !== 'ok') throw new Error('expected ok');
    expect(second.packument).toEqual(first.packument);
    // The revalidation refreshed the entry: within the window again, no request at all.
    const third = await source({ freshnessMs: 60_000, now: new Date(later.getTime() + 30_000) }).getPackument(
      'left-padder',
      { full: true },
    );
    expect(third).toMatchObject({ status: 'ok', fromCache: 'fresh' });
    expect(registry.requests).toHaveLength(2);
  });

  it('makes no request at all while the disk cache is fresh, across source instances', async () => {
    await source().getPackument('left-padder', { full: false });
    const warm = source({ now: new Date(NOW.getTime() + 60_000) });
    const res = await warm.getPackument('left-padder', { full: false });
    expect(res).toMatchObject({ status: 'ok', fromCache: 'fresh', abbreviated: true });
    expect(registry.requests).toHaveLength(1);
    expect(warm.stats()).toMatchObject({ requests: 0, cacheHits: 1 });
  });

  it('answers an abbreviated request from a fresh cached full document', async () => {
    await source().getPackument('left-padder', { full: true });
    const res = await source().getPackument('left-padder', { full: false });
    expect(res).toMatchObject({ status: 'ok', fromCache: 'fresh', abbreviated: false });
    expect(registry.requests).toHaveLength(1);
  });

  it('shares one request among concurrent callers for the same document', async () => {
    const src = source();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => src.getPackument('left-padder', { full: true })),
    );
    expect(results.every((r) => r.status === 'ok')).toBe(true);
    expect(registry.requests).toHaveLength(1);
  });

  it('handles a 5 MB document (gzip on the wire, parsed once)', async () => {
    const big = makePackument({
      name: 'big-package',
      versions: Array.from({ length: 400 }, (_, i) => ({
        version: `1.0.${i}`,
        publishedAt: daysAgo(400 - i),
      })),
      targetBytes: 5 * 1024 * 1024,
    });
    registry.addPackument(big);
    const src = source();
    const res = await src.getPackument('big-package', { full: true });
    expect(res).toMatchObject({ status: 'ok', abbreviated: false });
    if (res.status !== 'ok') return;
    expect(Object.keys(res.packument.versions)).toHaveLength(400);
    expect(Buffer.byteLength(JSON.stringify(registry.served('big-package')))).toBeGreaterThanOrEqual(
      5 * 1024 * 1024,
    );
    expect(src.stats().bytes).toBeLessThan(2 * 1024 * 1024);
  });

  it('reports an unknown package as not-found', async () => {
    expect(await source().getPackument('no-such-package', { full: false })).toEqual({ status: 'not-found' });
  });
});

describe('mirror-shaped registry', () => {
  it('gets the full document for an abbreviated ask and says so', async () => {
    registry.shape = 'mirror';
    const res = await source().getPackument('left-padder', { full: false });
    expect(res.status).toBe('ok');
    if (res.status !== 'ok') return;
    expect(res.abbreviated).toBe(false);
    expect(Object.keys(res.packument.time ?? {}).sort()).toEqual(['1.0.0', '1.1.0', '2.0.0-beta.1']);
    expect(res.packument.time?.['1.1.0']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
    expect(res.packument['dist-tags']).toEqual({ latest: '1.1.0' });
    expect(registry.requests[0]?.headers.accept).toMatch(/install-v1/);
  });

  it('without an ETag, a stale entry is fetched again unconditionally', async () => {
    registry.shape = 'mirror';
    await source({ freshnessMs: 1000 }).getPackument('left-padder', { full: true });
    const res = await source({ freshnessMs: 1000, now: new Date(NOW.getTime() + 5000) }).getPackument(
      'left-padder',
      { full: true },
    );
    expect(res).toMatchObject({ status: 'ok', fromCache: false });
    expect(registry.requests).toHaveLength(2);
    expect(registry.requests[1]?.headers['if-none-match']).toBeUndefined();
  });
});

describe('failing upstreams', () => {
  it('retries 5xx with backoff and then succeeds', async () => {
    registry.fault({ kind: 'status', status: 503, times: 2 });
    const src = source();
    const res = await src.getPackument('left-padder', { full: true });
    expect(res.status).toBe('ok');
    expect(registry.requests).toHaveLength(3);
    expect(delays).toHaveLength(2);
    expect(delays[1]!).toBeGreaterThanOrEqual(delays[0]!);
    expect(src.stats().requests).toBe(3);
  });

  it('honours Retry-After on 429', async () => {
    registry.fault({ kind: 'status', status: 429, headers: { 'retry-after': '2' }, times: 1 });
    const res = await source().getPackument('left-padder', { full: true });
    expect(res.status).toBe('ok');
    expect(delays).toEqual([2000]);
  });

  it('does not wait for a Retry-After beyond the cap', async () => {
    registry.fault({ kind: 'status', status: 429, headers: { 'retry-after': '3600' } });
    const res = await source().getPackument('left-padder', { full: true });
    expect(res).toEqual({
      status: 'unavailable',
      source: 'registry',
      reason: `registry ${registry.url}left-padder: HTTP 429; asked to retry after 3600 s`,
    });
    expect(registry.requests).toHaveLength(1);
  });

  it('names the source and URL when the registry is down', async () => {
    const down = await closedPortUrl();
    const res = await source({ url: down }).getPackument('left-padder', { full: true });
    expect(res).toEqual({
      status: 'unavailable',
      source: 'registry',
      reason: `registry ${down}left-padder: connection refused (after 3 attempts)`,
    });
  });

  it('gives up on a slow registry after the headers timeout', async () => {
    // Answers after a minute, past the test's own timeout: only the headers timeout can end it (a
    // wall-clock bound on the wait can fail when a loaded machine fires the 100 ms timer late).
    registry.fault({ kind: 'delay', ms: 60_000 });
    const fast = client({ headersTimeoutMs: 100, retries: 0 });
    const res = await source({ http: fast }).getPackument('left-padder', { full: true });
    await fast.close();
    expect(res).toMatchObject({
      status: 'unavailable',
      reason: `registry ${registry.url}left-padder: timed out after 100 ms waiting for response headers`,
    });
  });

  it('gives up on a body that stops arriving', async () => {
    registry.fault({ kind: 'stall-body' });
    const fast = client({ bodyTimeoutMs: 100, retries: 0 });
    const res = await source({ http: fast }).getPackument('left-padder', { full: true });
    await fast.close();
    expect(res).toMatchObject({
      status: 'unavailable',
      reason: expect.stringContaining('timed out after 100 ms'),
    });
  });

  it('reports garbage as invalid JSON from the registry', async () => {
    registry.fault({ kind: 'garbage' });
    const res = await source().getPackument('left-padder', { full: true });
    expect(res).toEqual({
      status: 'unavailable',
      source: 'registry',
      reason: `registry ${registry.url}left-padder: invalid JSON from registry`,
    });
  });

  it.each([
    ['streamed', false],
    ['declared up front', true],
  ])('refuses an oversized body (%s)', async (_label, declareLength) => {
    registry.fault({ kind: 'huge', bytes: 3 * 1024 * 1024, declareLength });
    const small = client({ maxBodyBytes: 1024 * 1024 });
    const res = await source({ http: small }).getPackument('left-padder', { full: true });
    await small.close();
    expect(res).toMatchObject({
      status: 'unavailable',
      reason: expect.stringContaining('document too large'),
    });
    expect(registry.requests).toHaveLength(1);
  });

  it('falls back to the stale cached document when the registry fails', async () => {
    await source().getPackument('left-padder', { full: true });
    registry.fault({ kind: 'status', status: 502 });
    const res = await source({ now: new Date(NOW.getTime() + 86_400_000) }).getPackument('left-padder', {
      full: true,
    });
    expect(res).toMatchObject({ status: 'ok', fromCache: 'stale' });
  });

  it('says to check the token when the registry refuses access', async () => {
    registry.fault({ kind: 'status', status: 401 });
    const res = await source().getPackument('left-padder', { full: true });
    expect(res).toEqual({
      status: 'unavailable',
      source: 'registry',
      reason: `registry ${registry.url}left-padder: unexpected HTTP 401 (the registry refused access; check the auth token for it in .npmrc)`,
    });
  });

  it('sends the configured token as a bearer token', async () => {
    const src = createRegistrySource({ url: registry.url, token: 'npm-secret', http, now: () => NOW });
    await src.getPackument('left-padder', { full: false });
    expect(registry.requests[0]?.headers.authorization).toBe('Bearer npm-secret');
  });

  it('does not follow a redirect to another host', async () => {
    registry.fault({ kind: 'status', status: 302, headers: { location: 'http://127.0.0.2:1/evil' } });
    const res = await source().getPackument('left-padder', { full: true });
    expect(res).toMatchObject({
      status: 'unavailable',
      reason: expect.stringContaining('redirected to another host (http://127.0.0.2:1); not followed'),
    });
    expect(registry.requests).toHaveLength(1);
  });
});

describe('hostile input', () => {
  it('keeps __proto__ and constructor versions as plain keys', async () => {
    const hostile =
      '{"name":"evil","dist-tags":{"latest":"1.0.0","__proto__":"6.6.6"},' +
      '"versions":{"__proto__":{"polluted":true,"version":"6.6.6"},"1.0.0":{"version":"1.0.0"}},' +
      '"time":{"__proto__":"2020-01-01T00:00:00.000Z","1.0.0":"2025-01-01T00:00:00.000Z"}}';
    registry.fault({ kind: 'garbage', body: hostile });
    const res = await source().getPackument('evil', { full: true });
    expect(res.status).toBe('ok');
    if (res.status !== 'ok') return;
    const { versions, time } = res.packument;
    expect(Object.keys(versions)).toEqual(['__proto__', '1.0.0']);
    expect(Object.getPrototypeOf(versions)).toBeNull();
    expect(versions.constructor).toBeUndefined();
    expect(versions.toString).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(time, '__proto__')?.value).toBe('2020-01-01T00:00:00.000Z');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['..'],
    ['.'],
    ['a/b'],
    ['@scope/../x'],
    ['%2e%2e'],
    ['..%2f..%2fetc'],
    [''],
    ['x'.repeat(215)],
    ['.hidden'],
    ['_private'],
    ['@/x'],
    ['@scope/'],
    [' lead'],
    ['new\nline'],
    ['http://127.0.0.2/x'],
  ])('rejects %j before any request', async (name) => {
    const src = source();
    await expect(src.getPackument(name, { full: true })).rejects.toSatisfy(
      (err) => isLockwardenError(err) && err.code === 'EINVALIDNAME',
    );
    expect(registry.requests).toHaveLength(0);
  });
});

describe('getManifest', () => {
  it('reads /<name>/<version>, including scoped names', async () => {
    const src = source();
    const res = await src.getManifest('@acme/widget', '0.3.0');
    expect(res).toMatchObject({ status: 'ok', manifest: { name: '@acme/widget', version: '0.3.0' } });
    expect(registry.requests[0]?.path).toBe('/@acme%2fwidget/0.3.0');
    const plain = await src.getManifest('left-padder', '1.0.0');
    expect(plain).toMatchObject({
      status: 'ok',
      manifest: { repository: { url: expect.stringContaining('acme') } },
    });
  });

  it('reports an unknown version as not-found', async () => {
    expect(await source().getManifest('left-padder', '9.9.9')).toEqual({ status: 'not-found' });
  });

  it.each([['..'], ['1.0.0/../../x'], ['1.0.0?x=1'], ['']])('rejects the version %j', async (version) => {
    await expect(source().getManifest('left-padder', version)).rejects.toSatisfy(
      (err) => isLockwardenError(err) && err.code === 'EINVALIDNAME',
    );
    expect(registry.requests).toHaveLength(0);
  });

  it('falls back to a stale manifest when the registry is down', async () => {
    await source().getManifest('left-padder', '1.1.0');
    registry.fault({ kind: 'reset' });
    const res = await source({ now: new Date(NOW.getTime() + 86_400_000) }).getManifest(
      'left-padder',
      '1.1.0',
    );
    expect(res).toMatchObject({ status: 'ok', manifest: { version: '1.1.0' } });
  });
});

describe('normalizeRegistryUrl', () => {
  it.each([
    ['http://127.0.0.1:4873', 'http://127.0.0.1:4873/'],
    ['http://127.0.0.1:4873/npm', 'http://127.0.0.1:4873/npm/'],
    [' http://127.0.0.1:4873/npm/ ', 'http://127.0.0.1:4873/npm/'],
  ])('%j → %j', (raw, expected) => {
    expect(normalizeRegistryUrl(raw)).toBe(expected);
  });

  it.each([['not a url'], ['ftp://127.0.0.1/'], ['file:///etc/passwd']])('rejects %j with ECONFIG', (raw) => {
    expect(() => normalizeRegistryUrl(raw)).toThrow(/registry URL/);
  });
});

describe('the fake registry itself', () => {
  it.each([['/@acme%2fwidget'], ['/@acme%2Fwidget'], ['/@acme/widget']])(
    'routes %s to the scoped package',
    async (path) => {
      const res = await fetch(new URL(path, registry.url));
      expect(res.status).toBe(200);
      expect(((await res.json()) as { name: string }).name).toBe('@acme/widget');
    },
  );

  it('serves tarballs that match the advertised integrity, at URLs on itself', async () => {
    const doc = registry.served('@acme/widget');
    const dist = doc?.versions['0.3.0']?.dist;
    expect(dist?.tarball).toBe(`${registry.url}@acme/widget/-/widget-0.3.0.tgz`);
    const bytes = Buffer.from(await (await fetch(dist!.tarball!)).arrayBuffer());
    const { createHash } = await import('node:crypto');
    expect(`sha512-${createHash('sha512').update(bytes).digest('base64')}`).toBe(dist?.integrity);
  });
});

describe('credentials in the registry URL', () => {
  it('sends them as basic auth and keeps them out of the URL lockwarden shows', async () => {
    const reg = await startFakeRegistry({
      packuments: [
        makePackument({
          name: 'secret-pkg',
          versions: [{ version: '1.0.0', publishedAt: new Date('2026-01-01T00:00:00Z') }],
        }),
      ],
    });
    try {
      const withCreds = reg.url.replace('http://', 'http://alice:s3cret@');
      const source = createRegistrySource({ url: withCreds });
      expect(source.url).toBe(reg.url);
      expect((await source.getPackument('secret-pkg', { full: true })).status).toBe('ok');
      expect(reg.requests[0]?.headers.authorization).toBe(
        `Basic ${Buffer.from('alice:s3cret').toString('base64')}`,
      );
      await reg.close();
      const down = await source.getPackument('other-pkg', { full: true });
      expect(down.status).toBe('unavailable');
      if (down.status === 'unavailable') expect(down.reason).not.toContain('s3cret');
    } finally {
      await reg.close().catch(() => {});
    }
  });
});

describe('credentials for tarballs', () => {
  it('sends the registry credentials npm has for it (_auth, username/_password) with tarballs too', async () => {
    const reg = await startFakeRegistry({
      packuments: [
        makePackument({
          name: 'private-pkg',
          versions: [{ version: '1.0.0', publishedAt: new Date('2026-01-01T00:00:00Z') }],
        }),
      ],
    });
    try {
      const authorization = `Basic ${Buffer.from('ci:pw').toString('base64')}`;
      const source = createRegistrySource({ url: reg.url, authorization });
      const tarball = await source.getTarball?.('private-pkg', '1.0.0', { maxBytes: 1_000_000 });
      expect(tarball?.status).toBe('ok');
      const asked = reg.requests.filter((r) => r.url.endsWith('.tgz'));
      expect(asked).toHaveLength(1);
      expect(asked[0]?.headers.authorization).toBe(authorization);
    } finally {
      await reg.close();
    }
  });
});
