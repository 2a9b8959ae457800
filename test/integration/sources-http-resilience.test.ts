// The HTTP layer against upstreams that trickle, hang, go down and do not resolve: every request
// ends within its deadline, an outage costs a few attempts, and one origin never slows another.
import type { LookupAddress } from 'node:dns';
import { afterEach, describe, expect, it } from 'vitest';
import { createCircuitBreaker } from '../../src/sources/circuit-breaker.js';
import { createHttpClient, type HttpClient } from '../../src/sources/http-client.js';
import { createCachedLookup } from '../../src/sources/http-dispatcher.js';
import { type FakeServer, startFakeServer } from '../helpers/fake-upstream.js';

const servers: FakeServer[] = [];
let client: HttpClient | undefined;

afterEach(async () => {
  await client?.close();
  client = undefined;
  for (const s of servers.splice(0)) await s.close();
});

async function serve(handler: Parameters<typeof startFakeServer>[0]): Promise<FakeServer> {
  const s = await startFakeServer(handler);
  servers.push(s);
  return s;
}

describe('deadline', () => {
  it('fails a trickling body at the total deadline although bytes keep arriving', async () => {
    const upstream = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write(' ')), 20);
      res.on('close', () => clearInterval(t));
    });
    const backoffs: number[] = [];
    client = createHttpClient({
      timeoutMs: 300,
      bodyTimeoutMs: 1_000,
      retries: 2,
      sleep: async (ms) => void backoffs.push(ms),
    });
    const res = await client.request({ url: `${upstream.url}doc`, source: 'registry' });
    expect(res).toMatchObject({
      status: 'unavailable',
      reason: expect.stringContaining('no complete response within the 300 ms deadline'),
    });
    // Retries never extend a request past its deadline: none is sent, none even waited for. (The
    // body never ends, so without the deadline the request would outlast the test; a wall-clock
    // bound here can fail when a loaded machine fires the timer late.)
    expect(backoffs).toEqual([]);
    expect(upstream.requests).toHaveLength(1);
  });
  it('fails requests whose deadline passes in the origin queue without sending them or opening the breaker', async () => {
    // Two trickling documents hold both slots past the others' deadlines; the upstream is healthy.
    const upstream = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (!req.url?.startsWith('/slow')) return void res.end('{}');
      const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write(' ')), 20);
      res.on('close', () => clearInterval(t));
    });
    client = createHttpClient({ maxConcurrency: 2, breakerThreshold: 3, retries: 0, timeoutMs: 10_000 });
    const slow = [0, 1].map((i) =>
      client!.request({ url: `${upstream.url}slow${i}`, source: 'registry', timeoutMs: 600 }),
    );
    const queued = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        client!.request({ url: `${upstream.url}q${i}`, source: 'registry', timeoutMs: 150 }),
      ),
    );
    for (const r of queued) {
      expect(r).toMatchObject({
        status: 'unavailable',
        reason: expect.stringContaining(
          `deadline passed while waiting for a connection to ${upstream.url.slice(0, -1)}`,
        ),
      });
    }
    await Promise.all(slow);
    // Only the two trickling documents were sent; their two timeouts stay below the threshold,
    // so the healthy upstream still answers.
    expect(upstream.requests.map((r) => r.url)).toEqual(['/slow0', '/slow1']);
    expect(client.health()[0]).toMatchObject({ failures: 2 });
    expect(await client.request({ url: `${upstream.url}after`, source: 'registry' })).toMatchObject({
      status: 'response',
      statusCode: 200,
    });
  });
});

describe('retries', () => {
  it('retries a reset connection of an idempotent request but never a POST that may have arrived', async () => {
    const upstream = await serve((_req, res) => {
      res.end('{}');
    });
    upstream.fault({ kind: 'reset', times: 1 });
    client = createHttpClient({ sleep: async () => {} });
    expect(await client.request({ url: `${upstream.url}a`, source: 'x' })).toMatchObject({
      status: 'response',
      statusCode: 200,
    });
    expect(upstream.requests).toHaveLength(2);
    upstream.fault({ kind: 'reset', times: 1 });
    const post = await client.request({ url: `${upstream.url}b`, source: 'x', method: 'POST', body: '{}' });
    expect(post).toMatchObject({ status: 'unavailable', reason: expect.stringContaining('closed') });
    expect(upstream.requests).toHaveLength(3);
  });
});

describe('circuit breaker', () => {
  it('lets one probe through when half-open, on the injected clock', () => {
    let t = 0;
    const b = createCircuitBreaker({ threshold: 2, cooldownMs: 1_000, now: () => t });
    b.failure('connect timeout');
    expect(b.admit()).toBe('closed');
    b.failure('connect timeout');
    expect(b.snapshot()).toMatchObject({ state: 'open', failures: 2, lastFailure: 'connect timeout' });
    t = 999;
    expect(b.admit()).toBe('refused');
    t = 1_000;
    expect(b.snapshot().state).toBe('half-open');
    expect(b.admit()).toBe('probe');
    // Everyone else waits for the probe's outcome.
    for (let i = 0; i < 9; i++) expect(b.admit()).toBe('refused');
    b.failure('connect timeout');
    expect(b.snapshot()).toMatchObject({ state: 'open', openedAtMs: 1_000 });
    t = 2_000;
    expect(b.admit()).toBe('probe');
    b.success();
    expect(b.snapshot()).toEqual({ state: 'closed', failures: 0, lastFailure: 'connect timeout' });
    expect(b.admit()).toBe('closed');
  });

  it('sends one of ten concurrent requests to a half-open upstream that is still down', async () => {
    let t = 0;
    const upstream = await serve((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    client = createHttpClient({
      retries: 0,
      breakerThreshold: 1,
      breakerCooldownMs: 1_000,
      now: () => t,
      sleep: async () => {},
    });
    await client.request({ url: `${upstream.url}first`, source: 'registry' });
    expect(client.health()).toEqual([
      expect.objectContaining({ origin: upstream.url.slice(0, -1), source: 'registry', state: 'open' }),
    ]);
    t = 5_000;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        client!.request({ url: `${upstream.url}p${i}`, source: 'registry' }),
      ),
    );
    expect(results.every((r) => r.status === 'unavailable')).toBe(true);
    expect(upstream.requests).toHaveLength(2);
  });

  it('fails queued requests and retries at once once a hanging origin opens its breaker', async () => {
    const hanging = await serve(() => new Promise(() => {}));
    client = createHttpClient({
      maxConcurrency: 4,
      headersTimeoutMs: 200,
      retries: 3,
      breakerThreshold: 4,
      sleep: async () => {},
    });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        client!.request({ url: `${hanging.url}d${i}`, source: 'downloads API' }),
      ),
    );
    expect(results.every((r) => r.status === 'unavailable')).toBe(true);
    // The four in flight time out and open the breaker. A slot freed by the first failure does not
    // let a fifth out (it waits while the origin is suspect), so the outage costs one timeout: none
    // of the other 36 requests, nor any retry, goes out. (Counted, not timed: a wall-clock bound
    // here can fail on a loaded machine.) Attempts are counted by the client: how many of the four
    // reach the server before their 200 ms run out depends on the machine (on a loaded one the
    // first connection, undici's parser included, can take longer: none arrived, on main too).
    expect(client.stats().requests).toBe(4);
    expect(hanging.requests.length).toBeLessThanOrEqual(4);
    expect(results.at(-1)).toMatchObject({
      reason: expect.stringMatching(
        /downloads API http:\/\/127\.0\.0\.1:\d+ unreachable: 4 requests in a row failed/,
      ),
    });
  });

  it('holds new attempts while an origin is suspect, until one in flight succeeds or all fail', async () => {
    const t = 0;
    const b = createCircuitBreaker({ threshold: 3, cooldownMs: 1_000, now: () => t });
    expect(b.admit()).toBe('closed');
    expect(b.admit()).toBe('closed');
    expect(b.admit()).toBe('closed');
    b.failure('timeout');
    // One failed, two still in flight: the next attempt waits for them.
    let decided = false;
    const waiting = b.ready().then(() => {
      decided = true;
    });
    await Promise.resolve();
    expect(decided).toBe(false);
    b.success(); // the origin answers: go on
    await waiting;
    expect(b.admit()).toBe('closed');
    // Now all in flight fail: the waiter is released into an open breaker and refused.
    b.failure('timeout');
    decided = false;
    const again = b.ready().then(() => {
      decided = true;
    });
    await Promise.resolve();
    expect(decided).toBe(false);
    b.failure('timeout');
    expect(decided).toBe(false);
    b.failure('timeout');
    await again;
    expect(b.snapshot().state).toBe('open');
    expect(b.admit()).toBe('refused');
    // A deadline passing while it waits releases it too.
    const c = createCircuitBreaker({ threshold: 3, cooldownMs: 1_000, now: () => t });
    c.admit();
    c.admit();
    c.failure('timeout');
    const deadline = new AbortController();
    const held = c.ready(deadline.signal);
    deadline.abort();
    await held;
  });

  it('does not hold a healthy origin after one failure: the requests in flight succeed', async () => {
    const upstream = await serve((req, res) => {
      if (req.url === '/bad') return; // hangs until its deadline
      setTimeout(() => res.end('{}'), 20);
    });
    // Only the hanging request has a short deadline: with a short headers timeout for all, a loaded
    // machine fired it before some of the healthy answers were read.
    client = createHttpClient({ maxConcurrency: 8, retries: 0, breakerThreshold: 3 });
    const first = await client.request({ url: `${upstream.url}bad`, source: 'registry', timeoutMs: 500 });
    expect(first.status).toBe('unavailable');
    const ok = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        client!.request({ url: `${upstream.url}p${i}`, source: 'registry' }),
      ),
    );
    expect(ok.filter((r) => r.status !== 'response')).toEqual([]);
    expect(client.health()[0]).toMatchObject({ state: 'closed', failures: 0 });
  });

  it('does not hold a healthy origin behind a slow request after a 5xx: the origin answered', async () => {
    // One document is slow (held until the end), another answers 500 at once. A 500 proves the
    // origin answers, so new requests go out: before, they waited for the slow one or their deadline.
    let slowArrived!: () => void;
    const arrived = new Promise<void>((resolve) => {
      slowArrived = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const upstream = await serve(async (req, res) => {
      if (req.url === '/slow') {
        slowArrived();
        await released;
        return void res.end('{}');
      }
      if (req.url === '/boom') {
        res.writeHead(500);
        return void res.end();
      }
      res.end('{}');
    });
    client = createHttpClient({ maxConcurrency: 8, retries: 0, breakerThreshold: 5, timeoutMs: 10_000 });
    const slow = client.request({ url: `${upstream.url}slow`, source: 'registry' });
    await arrived;
    const boom = await client.request({ url: `${upstream.url}boom`, source: 'registry' });
    expect(boom.status).toBe('unavailable');
    const fast = await client.request({ url: `${upstream.url}fast`, source: 'registry', timeoutMs: 1_500 });
    release();
    expect(fast).toMatchObject({ status: 'response', statusCode: 200 });
    expect(await slow).toMatchObject({ status: 'response', statusCode: 200 });
  });

  it('keeps another origin fast while one hangs', async () => {
    const hanging = await serve(() => new Promise(() => {}));
    const healthy = await serve((_req, res) => {
      res.end('{}');
    });
    // The hanging origin's requests wait (headers timeout: a minute) until its server goes away:
    // the healthy origin's answers must all come before that, whatever the machine's load (a
    // wall-clock bound here can fail on a loaded machine).
    client = createHttpClient({
      maxConcurrency: 2,
      headersTimeoutMs: 60_000,
      retries: 0,
      breakerThreshold: 2,
    });
    let stuckEnded = 0;
    const stuck = Array.from({ length: 6 }, (_, i) =>
      client!.request({ url: `${hanging.url}d${i}`, source: 'downloads API' }).finally(() => stuckEnded++),
    );
    const ok = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        client!.request({ url: `${healthy.url}p${i}`, source: 'registry' }),
      ),
    );
    expect(ok.every((r) => r.status === 'response')).toBe(true);
    expect(stuckEnded).toBe(0);
    await hanging.close();
    expect((await Promise.all(stuck)).every((r) => r.status === 'unavailable')).toBe(true);
  });
});

describe('name cache', () => {
  it('answers a failed lookup from the cache and runs one lookup per name at a time', async () => {
    let t = 0;
    const asked: string[] = [];
    const lookup = createCachedLookup({
      now: () => t,
      negativeTtlMs: 1_000,
      ttlMs: 5_000,
      resolve: async (host): Promise<LookupAddress[]> => {
        asked.push(host);
        await new Promise((r) => setTimeout(r, 10));
        if (host === 'down.invalid')
          throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });
    const look = (host: string) =>
      new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
        lookup(host, { all: true }, (err, address) => resolve({ err, address })),
      );
    const first = await Promise.all(Array.from({ length: 20 }, () => look('down.invalid')));
    expect(first.every((r) => r.err?.code === 'ENOTFOUND')).toBe(true);
    expect((await look('down.invalid')).err?.code).toBe('ENOTFOUND');
    expect(asked).toEqual(['down.invalid']);
    t = 1_000;
    await look('down.invalid');
    expect(asked).toEqual(['down.invalid', 'down.invalid']);
    expect(await look('up.test')).toEqual({ err: null, address: [{ address: '127.0.0.1', family: 4 }] });
    await look('up.test');
    expect(asked.filter((h) => h === 'up.test')).toHaveLength(1);
  });
});
