import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDownloadsSource } from '../../src/sources/downloads-source.js';
import { createHttpClient, type HttpClient, type HttpResult } from '../../src/sources/http-client.js';
import type { DownloadsSource, PopularList } from '../../src/sources/types.js';
import { type FakeDownloads, startFakeDownloads } from '../helpers/fake-downloads.js';
import { closedPortUrl } from '../helpers/fake-upstream.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const HOUR = 3_600_000;
const POPULAR: PopularList = {
  asOf: '2026-02-01',
  packages: [
    { name: 'left-padder', monthlyDownloads: 43_000_000 },
    { name: '@acme/widget', monthlyDownloads: 4_300 },
  ],
};

let api: FakeDownloads;
let cacheDir: string;
let http: HttpClient;
let delays: number[];

function source(opts: { url?: string; now?: Date; popular?: PopularList } = {}): DownloadsSource {
  return createDownloadsSource({
    url: opts.url ?? api.url,
    http,
    cacheDir,
    popular: opts.popular ?? POPULAR,
    now: () => opts.now ?? NOW,
  });
}

beforeEach(async () => {
  api = await startFakeDownloads({ counts: { 'left-padder': 9_000_000, tiny: 12, '@acme/widget': 800 } });
  cacheDir = await mkdtemp(join(tmpdir(), 'lw-downloads-'));
  delays = [];
  http = createHttpClient({
    // The client's own (long) timeouts: no test here waits for them, and a short one fired on a
    // loaded machine before a healthy answer was read, so a retry added a request to the counts.
    retries: 2,
    sleep: async (ms) => {
      delays.push(ms);
    },
  });
});

afterEach(async () => {
  await http.close();
  await api.close();
  await rm(cacheDir, { recursive: true, force: true });
});

describe('downloads API', () => {
  it('keeps a count far above the floor for days, and asks again for one near it', async () => {
    await source().getWeeklyDownloads(['left-padder', 'tiny']);
    const asked = api.requests.length;
    const threeDaysLater = new Date(NOW.getTime() + 72 * HOUR);
    const res = await source({ now: threeDaysLater }).getWeeklyDownloads(['left-padder', 'tiny'], {
      keepIfAtLeast: 2000,
    });
    expect(res.get('left-padder')).toEqual({ status: 'ok', value: { count: 9_000_000, origin: 'api' } });
    expect(api.requests.slice(asked).map((r) => r.path)).toEqual(['/downloads/point/last-week/tiny']);
    const eightDaysLater = new Date(NOW.getTime() + 192 * HOUR);
    await source({ now: eightDaysLater }).getWeeklyDownloads(['left-padder'], { keepIfAtLeast: 2000 });
    expect(api.requests.at(-1)!.path).toBe('/downloads/point/last-week/left-padder');
  });

  it('gives a hanging API its own short deadline, and says which popular list it could not use', async () => {
    api.fault({ kind: 'delay', ms: 60_000 });
    const client = createHttpClient({ retries: 0 });
    try {
      // The API answers after a minute, past this test's timeout: the result naming the 200 ms
      // deadline is what shows the short deadline ended the wait (not a wall-clock bound, which a
      // loaded machine can exceed).
      const res = await createDownloadsSource({
        url: api.url,
        http: client,
        popular: POPULAR,
        timeoutMs: 200,
      }).getWeeklyDownloads(['tiny', 'left-padder']);
      expect(res.get('tiny')).toMatchObject({
        status: 'unavailable',
        reason: expect.stringMatching(/200 ms deadline/),
      });
      expect(res.get('left-padder')).toMatchObject({ status: 'ok', value: { origin: 'snapshot' } });
    } finally {
      await client.close();
    }
  });

  it('after a lookup got no answer, answers at once and asks again in the background only', async () => {
    // An HTTP client whose answers the test hands out: what a caller waits for is then exact.
    const asked: string[] = [];
    const answer: Array<(r: HttpResult) => void> = [];
    const scripted: HttpClient = {
      request: (req) => {
        asked.push(req.url);
        return new Promise((resolve) => answer.push(resolve));
      },
      stats: () => ({ requests: 0, bytes: 0, retries: 0 }),
      health: () => [],
      close: async () => {},
    };
    // Settled within a few turns of the event loop, with no I/O: it did not wait for the API.
    const atOnce = <T>(p: Promise<T>) =>
      Promise.race([
        p,
        new Promise<never>((_, reject) =>
          setImmediate(() => setImmediate(() => reject(new Error('waited for the API')))),
        ),
      ]);
    const ok = (counts: Record<string, number>): HttpResult => ({
      status: 'response',
      statusCode: 200,
      headers: {},
      url: api.url,
      body: Buffer.from(
        JSON.stringify(Object.fromEntries(Object.entries(counts).map(([n, c]) => [n, { downloads: c }]))),
      ),
    });
    const downloads = createDownloadsSource({
      url: api.url,
      http: scripted,
      popular: POPULAR,
      now: () => NOW,
    });

    const first = downloads.getWeeklyDownloads(['left-padder', 'tiny']);
    await vi.waitFor(() => expect(answer).toHaveLength(1));
    answer[0]!({
      status: 'unavailable',
      source: 'downloads API',
      reason: 'downloads API: no answer within the 5000 ms deadline',
    });
    expect((await first).get('left-padder')).toMatchObject({ status: 'ok', value: { origin: 'snapshot' } });

    // The API is down: no caller waits for it again, and one lookup at a time goes out.
    const second = await atOnce(downloads.getWeeklyDownloads(['left-padder', 'tiny']));
    expect(second.get('left-padder')).toMatchObject({ status: 'ok', value: { origin: 'snapshot' } });
    expect(second.get('tiny')).toMatchObject({
      status: 'unavailable',
      reason: expect.stringMatching(
        /5000 ms deadline \(not asked again until it answers; asking in the background\)/,
      ),
    });
    expect(asked).toHaveLength(2);
    await atOnce(downloads.getWeeklyDownloads(['tiny', 'other']));
    expect(asked).toHaveLength(2);

    // It answers the background lookup (settled without I/O: no cache here): the next caller asks
    // it again, and gets its figures.
    answer[1]!(ok({ 'left-padder': 9_000_000, tiny: 12 }));
    await new Promise((resolve) => setImmediate(resolve));
    const next = downloads.getWeeklyDownloads(['tiny']);
    await vi.waitFor(() => expect(answer).toHaveLength(3));
    answer[2]!(ok({ tiny: 13 }));
    expect((await next).get('tiny')).toMatchObject({ status: 'ok', value: { count: 13, origin: 'api' } });
  });

  it('reads one unscoped name in the single shape', async () => {
    const res = await source().getWeeklyDownloads(['tiny']);
    expect(res.get('tiny')).toEqual({ status: 'ok', value: { count: 12, origin: 'api' } });
    expect(api.requests.map((r) => r.path)).toEqual(['/downloads/point/last-week/tiny']);
  });

  it('batches 129 unscoped names into 2 requests and maps nulls to zero', async () => {
    const names = Array.from({ length: 127 }, (_, i) => `pkg-${String(i).padStart(3, '0')}`);
    names.forEach((n, i) => {
      api.setCount(n, i * 10);
    });
    const all = [...names, 'left-padder', 'never-downloaded'];
    const res = await source().getWeeklyDownloads(all);
    expect(api.requests).toHaveLength(2);
    expect(
      api
        .askedNames()
        .map((n) => n.length)
        .sort((a, b) => a - b),
    ).toEqual([1, 128]);
    expect([...res.keys()]).toEqual(all);
    expect(res.get('pkg-042')).toEqual({ status: 'ok', value: { count: 420, origin: 'api' } });
    expect(res.get('left-padder')).toEqual({ status: 'ok', value: { count: 9_000_000, origin: 'api' } });
    expect(res.get('never-downloaded')).toEqual({ status: 'ok', value: { count: 0, origin: 'api' } });
  });

  it('asks for scoped names one by one, unencoded', async () => {
    const res = await source().getWeeklyDownloads(['@acme/widget', '@acme/other', 'tiny']);
    expect(api.requests.map((r) => r.path).sort()).toEqual([
      '/downloads/point/last-week/@acme/other',
      '/downloads/point/last-week/@acme/widget',
      '/downloads/point/last-week/tiny',
    ]);
    expect(res.get('@acme/widget')).toEqual({ status: 'ok', value: { count: 800, origin: 'api' } });
    expect(res.get('@acme/other')).toEqual({ status: 'ok', value: { count: 0, origin: 'api' } });
  });

  it('asks once per name however often it is listed', async () => {
    const res = await source().getWeeklyDownloads(['tiny', 'tiny', 'tiny']);
    expect(res.size).toBe(1);
    expect(api.requests).toHaveLength(1);
  });

  it('treats a 404 without the API’s "package not found" shape as a failure, not as zero', async () => {
    api.fault({ kind: 'status', status: 404, body: '{"error":"Not found"}' });
    const res = await source({ popular: { asOf: '2026-02-01', packages: [] } }).getWeeklyDownloads(['tiny']);
    expect(res.get('tiny')).toEqual({
      status: 'unavailable',
      source: 'downloads API',
      reason: `downloads API ${api.url}downloads/point/last-week/tiny: unexpected HTTP 404 (Not found)`,
    });
  });

  it('waits as told by Retry-After on 429 and retries', async () => {
    api.fault({ kind: 'status', status: 429, headers: { 'retry-after': '1' }, times: 1 });
    const res = await source().getWeeklyDownloads(['tiny']);
    expect(res.get('tiny')).toMatchObject({ status: 'ok', value: { count: 12 } });
    expect(delays).toEqual([1000]);
    expect(api.requests).toHaveLength(2);
  });

  it('reuses cached counts for 12 hours, then asks again', async () => {
    await source().getWeeklyDownloads(['tiny', '@acme/widget']);
    expect(api.requests).toHaveLength(2);
    const warm = source({ now: new Date(NOW.getTime() + 11 * HOUR) });
    const res = await warm.getWeeklyDownloads(['tiny', '@acme/widget']);
    expect(res.get('tiny')).toEqual({ status: 'ok', value: { count: 12, origin: 'api' } });
    expect(api.requests).toHaveLength(2);
    expect(warm.stats().cacheHits).toBe(2);
    await source({ now: new Date(NOW.getTime() + 13 * HOUR) }).getWeeklyDownloads(['tiny']);
    expect(api.requests).toHaveLength(3);
  });

  it('reports invalid names as unavailable without asking', async () => {
    const res = await source().getWeeklyDownloads(['../x', 'a,b']);
    expect(res.get('../x')).toMatchObject({
      status: 'unavailable',
      reason: expect.stringContaining('not a valid'),
    });
    expect(res.get('a,b')).toMatchObject({ status: 'unavailable' });
    expect(api.requests).toHaveLength(0);
  });
});

describe('when the API fails', () => {
  it('falls back to the snapshot for popular names and names the failure for others', async () => {
    const down = await closedPortUrl();
    const res = await source({ url: down }).getWeeklyDownloads(['left-padder', '@acme/widget', 'tiny']);
    expect(res.get('left-padder')).toEqual({
      status: 'ok',
      value: { count: 10_000_000, origin: 'snapshot', asOf: '2026-02-01' },
    });
    expect(res.get('@acme/widget')).toEqual({
      status: 'ok',
      value: { count: 1_000, origin: 'snapshot', asOf: '2026-02-01' },
    });
    // Whether the bulk lookup's own retries or the breaker they open answers last depends on how
    // the two lookups' attempts interleave; either way the reason names the API and the failure.
    expect(res.get('tiny')).toEqual({
      status: 'unavailable',
      source: 'downloads API',
      reason: expect.stringMatching(
        new RegExp(
          `^downloads API ${down.slice(0, -1)}(/downloads/point/last-week/left-padder,tiny: connection refused \\(after 3 attempts\\)| unreachable: 5 requests in a row failed, the last with "connection refused")`,
        ),
      ),
    });
  });

  it('reports garbage as invalid JSON', async () => {
    api.fault({ kind: 'garbage', body: '<html>oops</html>' });
    const res = await source().getWeeklyDownloads(['tiny', 'left-padder']);
    expect(res.get('tiny')).toMatchObject({
      status: 'unavailable',
      reason: expect.stringContaining('invalid JSON from downloads API'),
    });
    expect(res.get('left-padder')).toMatchObject({ status: 'ok', value: { origin: 'snapshot' } });
  });

  it('retries 5xx and does not cache failures', async () => {
    api.fault({ kind: 'status', status: 500, times: 3 });
    const first = await source().getWeeklyDownloads(['tiny']);
    expect(first.get('tiny')).toMatchObject({
      status: 'unavailable',
      reason: expect.stringContaining('HTTP 500'),
    });
    expect(api.requests).toHaveLength(3);
    const second = await source().getWeeklyDownloads(['tiny']);
    expect(second.get('tiny')).toEqual({ status: 'ok', value: { count: 12, origin: 'api' } });
  });
});
