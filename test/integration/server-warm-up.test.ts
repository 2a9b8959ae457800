// What `lockwarden serve` does once it listens: one `GET /-/ping` to the upstream with the
// configured credentials, said in the log (reachable, not answering, refusing the credentials).
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { warmUp } from '../../server/warm-up.js';
import { createPopularIndex } from '../../src/policy/popular-index.js';
import { createHttpClient, type HttpClient } from '../../src/sources/http-client.js';
import { createRegistrySource } from '../../src/sources/registry-source.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { closedPortUrl } from '../helpers/fake-upstream.js';

const popular = createPopularIndex({
  asOf: '2026-03-01',
  packages: [{ name: 'react', monthlyDownloads: 1e8 }],
});
let registry: FakeRegistry | undefined;
let http: HttpClient | undefined;

afterEach(async () => {
  await http?.close();
  await registry?.close();
  http = undefined;
  registry = undefined;
});

/** A logger whose lines the test reads back. */
function capturingLogger() {
  const lines: Array<{ level: number; msg: string; [key: string]: unknown }> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

async function warmUpAgainst(url: string, signal?: AbortSignal) {
  http = createHttpClient({ retries: 0 });
  const source = createRegistrySource({ url, token: 's3cret', http });
  const { logger, lines } = capturingLogger();
  await warmUp({ registry: source, popular, logger, ...(signal ? { signal } : {}) });
  return lines;
}

describe('warm-up at start', () => {
  it('asks the upstream once, with its credentials, and says it is reachable (a 404 included)', async () => {
    registry = await startFakeRegistry({});
    const lines = await warmUpAgainst(registry.url);
    const pings = registry.requests.filter((r) => r.path === '/-/ping');
    expect(pings).toHaveLength(1);
    expect(pings[0]!.headers.authorization).toBe('Bearer s3cret');
    expect(lines).toEqual([
      expect.objectContaining({ level: 30, msg: 'upstream registry reachable', status: expect.any(Number) }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('s3cret');
  });

  it('warns when the upstream does not answer, naming why', async () => {
    const lines = await warmUpAgainst(await closedPortUrl());
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        msg: 'the upstream registry did not answer at start: installs get 502s until it does',
        reason: expect.stringMatching(/ECONNREFUSED|refused/i),
      }),
    ]);
  });

  it('warns when the upstream refuses the credentials', async () => {
    registry = await startFakeRegistry({});
    registry.fault({ kind: 'status', status: 401, match: (r) => r.path === '/-/ping' });
    const lines = await warmUpAgainst(registry.url);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        status: 401,
        msg: expect.stringMatching(/refused the configured credentials/),
      }),
    ]);
  });

  it('says nothing when the service is stopping meanwhile', async () => {
    registry = await startFakeRegistry({});
    registry.fault({ kind: 'status', status: 503, match: (r) => r.path === '/-/ping' });
    const stopping = new AbortController();
    stopping.abort();
    expect(await warmUpAgainst(registry.url, stopping.signal)).toEqual([]);
  });
});
