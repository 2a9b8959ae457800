import { randomBytes } from 'node:crypto';
import { brotliCompressSync, constants, deflateSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  backoffDelay,
  createHttpClient,
  type HttpClient,
  parseRetryAfter,
} from '../../src/sources/http-client.js';
import type { SourceStats } from '../../src/sources/types.js';
import { type FakeServer, startFakeServer } from '../helpers/fake-upstream.js';

const payload = Buffer.from(
  JSON.stringify({ hello: 'world', list: Array.from({ length: 500 }, (_, i) => i) }),
);

let server: FakeServer | undefined;
let client: HttpClient | undefined;

afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

describe('createHttpClient', () => {
  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const)('decodes %s bodies and counts wire bytes', async (encoding, compress) => {
    server = await startFakeServer((_req, res) => {
      const body = compress(payload);
      res.writeHead(200, { 'content-encoding': encoding, 'content-length': String(body.length) });
      res.end(body);
    });
    client = createHttpClient();
    const stats: SourceStats = { requests: 0, bytes: 0, cacheHits: 0, errors: 0 };
    const res = await client.request({ url: `${server.url}doc`, source: 'test', stats });
    expect(res.status).toBe('response');
    if (res.status !== 'response') return;
    expect(res.body.equals(payload)).toBe(true);
    expect(stats.requests).toBe(1);
    expect(stats.bytes).toBe(compress(payload).length);
    expect(server.requests[0]?.headers['accept-encoding']).toMatch(/gzip/);
  });

  it('stops a compression bomb at the decoded size limit', async () => {
    const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024));
    server = await startFakeServer((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end(bomb);
    });
    client = createHttpClient({ maxBodyBytes: 1024 * 1024 });
    const res = await client.request({ url: `${server.url}bomb`, source: 'test' });
    expect(bomb.length).toBeLessThan(100 * 1024);
    expect(res).toEqual({
      status: 'unavailable',
      source: 'test',
      reason: expect.stringMatching(
        /^test http:\/\/127\.0\.0\.1:\d+\/bomb: document too large \(over 1\.\d MB; limit 1\.0 MB\)$/,
      ),
      cause: expect.stringMatching(/^document too large/),
    });
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', (b: Buffer) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } })],
  ] as const)(
    'decodes large %s bodies (off the event loop) and stops bombs there too',
    async (encoding, compress) => {
      // Random bytes barely compress, so this body takes the thread-pool path (over 128 KB on the wire).
      const large = randomBytes(1024 * 1024);
      const bomb = Buffer.concat([
        compress(Buffer.concat([randomBytes(600 * 1024), Buffer.alloc(16 * 1024 * 1024)])),
      ]);
      server = await startFakeServer((req, res) => {
        res.writeHead(200, { 'content-encoding': encoding });
        res.end(req.url === '/bomb' ? bomb : compress(large));
      });
      client = createHttpClient({ maxBodyBytes: 8 * 1024 * 1024, retries: 0 });
      const res = await client.request({ url: `${server.url}large`, source: 'test' });
      expect(res.status === 'response' && res.body.equals(large)).toBe(true);
      expect(bomb.length).toBeGreaterThan(128 * 1024);
      expect(await client.request({ url: `${server.url}bomb`, source: 'test' })).toMatchObject({
        status: 'unavailable',
        reason: expect.stringMatching(/document too large \(over 8\.0 MB; limit 8\.0 MB\)$/),
      });
    },
  );

  it('refuses a body whose declared length is over the limit without an unhandled error', async () => {
    const unhandled: unknown[] = [];
    const onError = (err: unknown) => unhandled.push(err);
    process.on('uncaughtException', onError);
    try {
      server = await startFakeServer((_req, res) => {
        // Headers first, then a body that keeps coming: the client must drop it mid-stream.
        res.writeHead(200, { 'content-length': String(4 * 1024 * 1024) });
        res.write(Buffer.alloc(64 * 1024));
        setTimeout(() => res.end(Buffer.alloc(4 * 1024 * 1024 - 64 * 1024)), 50).unref();
      });
      client = createHttpClient({ maxBodyBytes: 1024 * 1024, retries: 0 });
      expect(await client.request({ url: `${server.url}big`, source: 'test' })).toMatchObject({
        status: 'unavailable',
        reason: expect.stringMatching(/too large/),
      });
      // Let the destroyed body's events run before looking.
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 100));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('uncaughtException', onError);
    }
  });

  it('reports a body that is not valid gzip', async () => {
    server = await startFakeServer((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end('this is not gzip');
    });
    client = createHttpClient({ retries: 0 });
    const res = await client.request({ url: `${server.url}x`, source: 'test' });
    expect(res).toMatchObject({
      status: 'unavailable',
      reason: expect.stringContaining('could not be decompressed'),
    });
  });

  it('never runs more requests at once than allowed', async () => {
    let active = 0;
    let peak = 0;
    server = await startFakeServer(async (_req, res) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((resolve) => setTimeout(resolve, 20));
      active--;
      res.end('{}');
    });
    client = createHttpClient({ maxConcurrency: 2 });
    const url = server.url;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => client!.request({ url: `${url}r${i}`, source: 'test' })),
    );
    expect(results.every((r) => r.status === 'response')).toBe(true);
    expect(peak).toBe(2);
    expect(client.stats().requests).toBe(8);
  });

  it('follows a same-host redirect', async () => {
    server = await startFakeServer((req, res) => {
      if (req.url === '/old') {
        res.writeHead(301, { location: '/new' });
        res.end();
      } else res.end('{"moved":true}');
    });
    client = createHttpClient();
    const res = await client.request({ url: `${server.url}old`, source: 'test' });
    expect(res).toMatchObject({ status: 'response', statusCode: 200, url: `${server.url}new` });
  });

  it('passes non-retryable statuses through for the caller to interpret', async () => {
    server = await startFakeServer((_req, res) => {
      res.writeHead(404);
      res.end('{}');
    });
    client = createHttpClient();
    const res = await client.request({ url: `${server.url}missing`, source: 'test' });
    expect(res).toMatchObject({ status: 'response', statusCode: 404 });
    expect(server.requests).toHaveLength(1);
  });
});

describe('retry timing', () => {
  it.each([
    ['5', 5000],
    ['0', 0],
    ['Sun, 01 Mar 2026 12:00:30 GMT', 30_000],
    ['soon', undefined],
    [undefined, undefined],
  ])('Retry-After %j → %j ms', (value, expected) => {
    expect(parseRetryAfter(value, Date.parse('2026-03-01T12:00:00Z'))).toBe(expected);
  });

  it.each([
    [0, 0, 125],
    [0, 1, 250],
    [1, 0.5, 375],
    [5, 1, 4000],
  ])('backoff for retry %i with random %f is %i ms', (retry, random, expected) => {
    expect(backoffDelay(retry, 250, 4000, () => random)).toBe(expected);
  });
});

describe('circuit breaker per origin', () => {
  it('stops asking an origin after consecutive failures, and a success resets the count', async () => {
    server = await startFakeServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    server.fault({ kind: 'status', status: 503, times: 2 });
    client = createHttpClient({ retries: 0, breakerThreshold: 3, sleep: async () => {} });
    const get = () => client!.request({ url: `${server!.url}doc`, source: 'registry' });
    expect((await get()).status).toBe('unavailable');
    expect((await get()).status).toBe('unavailable');
    expect((await get()).status).toBe('response'); // 2 failures, then a success resets
    server.fault({ kind: 'status', status: 503 });
    for (let i = 0; i < 3; i++) expect((await get()).status).toBe('unavailable');
    const asked = server.requests.length;
    const refused = await get();
    expect(server.requests.length).toBe(asked);
    expect(refused).toEqual({
      status: 'unavailable',
      source: 'registry',
      reason: `registry ${server.url.replace(/\/$/, '')} unreachable: 3 requests in a row failed, the last with "HTTP 503"; not asked again for 30 s`,
      cause: 'unreachable: 3 requests in a row failed, the last with "HTTP 503"; not asked again for 30 s',
    });
  });

  it('asks again after the cool-down', async () => {
    server = await startFakeServer((_req, res) => {
      res.writeHead(200);
      res.end('ok');
    });
    server.fault({ kind: 'status', status: 500, times: 2 });
    // The breakers' clock is injected: on the real one, a loaded machine let the 50 ms cool-down
    // pass before the third request, which then went out as the probe.
    let t = 0;
    client = createHttpClient({
      retries: 0,
      breakerThreshold: 2,
      breakerCooldownMs: 50,
      sleep: async () => {},
      now: () => t,
    });
    const get = () => client!.request({ url: `${server!.url}doc`, source: 'registry' });
    await get();
    await get();
    t = 49;
    expect((await get()).status).toBe('unavailable');
    const asked = server.requests.length;
    t = 50;
    expect((await get()).status).toBe('response');
    expect(server.requests.length).toBe(asked + 1);
  });
});
