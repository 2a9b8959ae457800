// The proxy's tarball and pass-through requests (server/upstream.ts) retry a GET or HEAD whose
// attempt failed before any response byte (a reset, no headers in time, a name that did not
// resolve), after a short jittered backoff and within the request's deadline; other methods are
// sent once; when every attempt fails the client gets a 502/504 naming the failure. Backoffs are
// recorded by an injected sleep; per-attempt timeouts are short options, and the hangs they cut
// short last a minute, so only the timeouts can decide.
import type { LookupAddress } from 'node:dns';
import { afterEach, describe, expect, it } from 'vitest';
import { createUpstream, type Upstream, type UpstreamOptions } from '../../server/upstream.js';
import { createCachedLookup } from '../../src/sources/http-dispatcher.js';
import { type FakeServer, type Handler, startFakeServer } from '../helpers/fake-upstream.js';
import { makePackument } from '../helpers/make-packument.js';
import { daysAgo } from '../helpers/make-policy.js';
import { type ProxyHarness, startProxyHarness } from '../helpers/proxy-harness.js';

const BYTES = 'tarball bytes';
const HANG_MS = 60_000;

/** Backoff delays asked for, resolved at once; `random` fixed so the jittered delays are known. */
function recordedBackoff() {
  const waits: number[] = [];
  return {
    waits,
    tuning: {
      sleep: async (ms: number) => {
        waits.push(ms);
      },
      random: () => 0.5,
      backoffBaseMs: 100,
    } satisfies Partial<UpstreamOptions>,
  };
}

/** A fake whose nth request (0-based) gets `behaviour(n)`: answer, reset, or never answer. */
function scripted(behaviour: (n: number) => 'answer' | 'reset' | 'hang'): Handler {
  let n = 0;
  return (_req, res) => {
    const what = behaviour(n++);
    if (what === 'reset') res.socket?.destroy();
    else if (what === 'answer') res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(BYTES);
    else {
      const t = setTimeout(() => res.writeHead(200).end(BYTES), HANG_MS);
      res.on('close', () => clearTimeout(t));
    }
  };
}

const failureOf = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (err: unknown) => err as { status: number; message: string },
  );

describe('upstream retries (createUpstream against a loopback fake)', () => {
  let fake: FakeServer | undefined;
  let upstream: Upstream | undefined;
  afterEach(async () => {
    await upstream?.close();
    await fake?.close();
    upstream = fake = undefined;
  });
  const start = async (handler: Handler, options: Partial<UpstreamOptions> = {}) => {
    fake = await startFakeServer(handler);
    upstream = createUpstream({ url: fake.url, headersTimeoutMs: 150, ...options });
    return { fake, upstream };
  };
  const body = async (res: { body: AsyncIterable<Buffer> }) => {
    let text = '';
    for await (const chunk of res.body) text += chunk.toString();
    return text;
  };

  it.each([
    { first: 'reset' as const, what: 'connection is reset' },
    { first: 'hang' as const, what: 'attempt never gets its headers (headers timeout)' },
  ])('serves a tarball whose first $what, after one short backoff', async ({ first }) => {
    const backoff = recordedBackoff();
    const { fake, upstream } = await start(
      scripted((n) => (n === 0 ? first : 'answer')),
      backoff.tuning,
    );
    const res = await upstream.fetchTarball(`${fake.url}left-pad-1.0.0.tgz`);
    expect(res.statusCode).toBe(200);
    expect(await body(res)).toBe(BYTES);
    expect(fake.requests).toHaveLength(2);
    // Full jitter over the upper half of a 100 ms window, random() = 0.5.
    expect(backoff.waits).toEqual([75]);
  });

  it('serves a tarball after a transient name resolution failure (EAI_AGAIN is not cached)', async () => {
    const backoff = recordedBackoff();
    const lookups: string[] = [];
    const lookup = createCachedLookup({
      resolve: async (host): Promise<LookupAddress[]> => {
        lookups.push(host);
        if (lookups.length === 1)
          throw Object.assign(new Error(`getaddrinfo EAI_AGAIN ${host}`), { code: 'EAI_AGAIN' });
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });
    fake = await startFakeServer(scripted(() => 'answer'));
    const url = `http://registry.test:${fake.port}/`;
    upstream = createUpstream({ url, lookup, ...backoff.tuning });
    const res = await upstream.fetchTarball(`${url}left-pad-1.0.0.tgz`);
    expect(res.statusCode).toBe(200);
    expect(await body(res)).toBe(BYTES);
    expect(lookups).toEqual(['registry.test', 'registry.test']);
    expect(fake.requests).toHaveLength(1);
  });

  it.each(['POST', 'PUT'])('never retries a %s, even one reset before any answer', async (method) => {
    const backoff = recordedBackoff();
    const { fake, upstream } = await start(
      scripted((n) => (n === 0 ? 'reset' : 'answer')),
      backoff.tuning,
    );
    const err = await failureOf(
      upstream.passThrough({
        method,
        path: '-/npm/v1/security/advisories/bulk',
        search: '',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from('{}'),
      }),
    );
    expect(err.status).toBe(502);
    expect(err.message).toMatch(/^upstream registry http:\/\/127\.0\.0\.1:\d+ failed: .+/);
    expect(err.message).not.toMatch(/attempts/);
    expect(fake.requests).toHaveLength(1);
    expect(backoff.waits).toEqual([]);
  });

  it('never retries a PUT whose headers do not come: 504 after one attempt', async () => {
    const { fake, upstream } = await start(
      scripted(() => 'hang'),
      recordedBackoff().tuning,
    );
    const err = await failureOf(
      upstream.passThrough({ method: 'PUT', path: '-/x', search: '', headers: {}, body: Buffer.from('x') }),
    );
    expect(err.status).toBe(504);
    expect(fake.requests).toHaveLength(1);
  });

  it('answers 502 naming the failure when every attempt is reset, after 1 + retries attempts', async () => {
    const backoff = recordedBackoff();
    const { fake, upstream } = await start(
      scripted(() => 'reset'),
      backoff.tuning,
    );
    const err = await failureOf(upstream.fetchTarball(`${fake.url}left-pad-1.0.0.tgz`));
    expect(err.status).toBe(502);
    expect(err.message).toMatch(/failed: .*other side closed.* \(after 3 attempts\)$/);
    expect(fake.requests).toHaveLength(3);
    // The window doubles per retry: 100 ms, then 200 ms.
    expect(backoff.waits).toEqual([75, 150]);
  });

  it('answers 504 when no attempt gets its headers', async () => {
    const { fake, upstream } = await start(
      scripted(() => 'hang'),
      { ...recordedBackoff().tuning, retries: 1 },
    );
    const err = await failureOf(upstream.fetchTarball(`${fake.url}left-pad-1.0.0.tgz`));
    expect(err.status).toBe(504);
    expect(err.message).toMatch(/Headers Timeout.* \(after 2 attempts\)$/);
    expect(fake.requests).toHaveLength(2);
  });

  it('retries only within the deadline: 504 at the deadline, never a hang, however many retries are allowed', async () => {
    const waits: number[] = [];
    const { fake, upstream } = await start(
      scripted(() => 'hang'),
      {
        timeoutMs: 400,
        headersTimeoutMs: 150,
        retries: 50,
        sleep: async (ms) => {
          waits.push(ms);
        },
      },
    );
    const err = await failureOf(upstream.fetchTarball(`${fake.url}left-pad-1.0.0.tgz`));
    expect(err.status).toBe(504);
    // Attempts of 150 ms fit a 400 ms deadline at most three times, whatever the retries allow.
    expect(fake.requests.length).toBeLessThanOrEqual(3);
    expect(waits.length).toBe(fake.requests.length - 1);
  });

  it('does not retry a failure after the headers: the body error reaches the caller', async () => {
    const { fake, upstream } = await start((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setImmediate(() => res.socket?.destroy());
    }, recordedBackoff().tuning);
    const res = await upstream.fetchTarball(`${fake.url}left-pad-1.0.0.tgz`);
    expect(res.statusCode).toBe(200);
    await expect(body(res)).rejects.toThrow();
    expect(fake.requests).toHaveLength(1);
  });
});

describe('upstream retries through the proxy', () => {
  let h: ProxyHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const start = (tuning: Partial<UpstreamOptions>) =>
    startProxyHarness({
      packuments: [
        makePackument({
          name: 'left-pad',
          versions: [{ version: '1.0.0', publishedAt: new Date(daysAgo(40)) }],
        }),
      ],
      filePolicies: [{ id: 'strict', coolingOffDays: 7 }],
      app: { upstreamTuning: { headersTimeoutMs: 150, ...tuning } },
    });
  const isTarball = (r: { path: string }) => r.path.endsWith('.tgz');
  const TARBALL = '/strict/left-pad/-/left-pad-1.0.0.tgz';

  it.each([
    { first: 'reset' as const, fault: { kind: 'reset' as const } },
    { first: 'hang' as const, fault: { kind: 'delay' as const, ms: HANG_MS } },
  ])('serves the tarball to the client when the first upstream attempt is a $first', async ({ fault }) => {
    const backoff = recordedBackoff();
    h = await start(backoff.tuning);
    const direct = await h.request({ url: TARBALL });
    expect(direct.status).toBe(200);
    h.registry.fault({ ...fault, match: isTarball, times: 1 });
    const res = await h.request({ url: TARBALL });
    expect(res.status).toBe(200);
    expect(res.raw.equals(direct.raw)).toBe(true);
    expect(h.registry.requests.filter(isTarball)).toHaveLength(3);
    expect(backoff.waits).toEqual([75]);
  });

  it.each([
    {
      title: 'reset',
      fault: { kind: 'reset' as const },
      status: 502,
      error: /other side closed.*\(after 3 attempts\)$/,
    },
    {
      title: 'without headers',
      fault: { kind: 'delay' as const, ms: HANG_MS },
      status: 504,
      error: /Headers Timeout.*\(after 3 attempts\)$/,
    },
  ])('answers $status with the reason when every attempt is $title', async ({ fault, status, error }) => {
    h = await start(recordedBackoff().tuning);
    await h.request({ url: '/strict/left-pad' });
    h.registry.fault({ ...fault, match: isTarball });
    const res = await h.request({ url: TARBALL });
    expect(res.status).toBe(status);
    expect(res.json().error).toMatch(/^upstream registry http:\/\/127\.0\.0\.1:\d+ failed: /);
    expect(res.json().error).toMatch(error);
    expect(h.registry.requests.filter(isTarball)).toHaveLength(3);
  });

  it('passes a POST through once, never again after a reset', async () => {
    const backoff = recordedBackoff();
    h = await start(backoff.tuning);
    h.registry.fault({ kind: 'reset', match: (r) => r.path.startsWith('/-/npm/v1/security/') });
    const res = await h.request({
      method: 'POST',
      url: '/strict/-/npm/v1/security/advisories/bulk',
      headers: { 'content-type': 'application/json' },
      body: { 'left-pad': ['1.0.0'] },
    });
    expect(res.status).toBe(502);
    expect(h.registry.requests.filter((r) => r.path.startsWith('/-/npm/v1/security/'))).toHaveLength(1);
    expect(backoff.waits).toEqual([]);
  });
});
