// An audit with a popularity floor while the downloads API is down: a host that hangs or does not
// resolve costs the audit one short wait and a bounded number of requests, and no registry fact
// becomes unavailable because of it.

import type { LookupAddress } from 'node:dns';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAudit } from '../../src/engine/run-audit.js';
import { createPopularIndex } from '../../src/policy/popular-index.js';
import { createSources, type SourceConfig } from '../../src/sources/create-sources.js';
import { createHttpClient } from '../../src/sources/http-client.js';
import { createCachedLookup } from '../../src/sources/http-dispatcher.js';
import { readPopularList } from '../../src/sources/popular-list.js';
import { type FakeDownloads, startFakeDownloads } from '../helpers/fake-downloads.js';
import { type FakeRegistry, startFakeRegistry } from '../helpers/fake-registry.js';
import { writeProject } from '../helpers/make-lockfile.js';
import { makePackument } from '../helpers/make-packument.js';
import { makePolicy, NOW } from '../helpers/make-policy.js';

const COUNT = 300;
const names = Array.from({ length: COUNT }, (_, i) =>
  i % 10 === 0 ? `@outage/pkg-${i}` : `outage-pkg-${i}`,
);
let work: string;
let project: string;
let registry: FakeRegistry;
let hanging: FakeDownloads;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'lockwarden-outage-'));
  project = writeProject(path.join(work, 'app'), {
    name: 'app',
    deps: names.map((name) => ({ name, version: '1.0.0' })),
  });
  registry = await startFakeRegistry({
    shape: 'public',
    packuments: names.map((name) =>
      makePackument({
        name,
        versions: [{ version: '1.0.0', publishedAt: new Date(NOW.getTime() - 90 * 86400000) }],
      }),
    ),
  });
  hanging = await startFakeDownloads({});
  hanging.fault({ kind: 'delay', ms: 600_000 });
});

afterAll(async () => {
  await Promise.all([registry.close(), hanging.close()]);
  rmSync(work, { recursive: true, force: true });
});

async function audit(downloadsUrl: string, resolveHost?: (host: string) => Promise<LookupAddress[]>) {
  const config: SourceConfig = {
    registryUrl: registry.url,
    npm: { cwd: project, env: {} },
    downloadsUrl,
    githubApiUrl: 'http://127.0.0.1:9/',
    gitBaseUrl: 'http://127.0.0.1:9',
    cacheDir: mkdtempSync(path.join(work, 'cache-')),
    http: {},
  };
  const http = createHttpClient(resolveHost ? { lookup: createCachedLookup({ resolve: resolveHost }) } : {});
  const sources = createSources(config, { http, now: () => NOW });
  try {
    const { report } = await runAudit({
      dir: project,
      policy: makePolicy({ coolingOffDays: 7, minWeeklyDownloads: 1000, onUnavailable: 'block' }),
      sources,
      popular: createPopularIndex(readPopularList()),
      now: NOW,
    });
    return { report };
  } finally {
    await sources.close();
  }
}

describe('downloads API down during an audit with a popularity floor', () => {
  it('hanging: one short wait, a bounded number of requests, no registry fact lost', async () => {
    const before = hanging.requests.length;
    const { report } = await audit(hanging.url);
    const unavailable = report.findings.filter((f) => f.outcome === 'unavailable');
    expect(unavailable.filter((f) => f.source === 'registry')).toEqual([]);
    expect(unavailable.filter((f) => f.rule === 'popularity')).toHaveLength(COUNT);
    expect(report.unavailable).toEqual([
      expect.objectContaining({
        source: 'downloads API',
        facts: ['weekly downloads'],
        packages: expect.any(Array),
      }),
    ]);
    // 300 names are 3 bulk lookups and 30 scoped ones: the breaker stops the rest being asked.
    expect(hanging.requests.length - before).toBeLessThanOrEqual(20);
    // The downloads API's own deadline (5 s) bounds it, not the HTTP layer's minute (said by the
    // cause; the request count above bounds how many waits there were: a wall-clock bound here is
    // what a loaded machine exceeds).
    expect(report.unavailable[0]!.cause).toMatch(/within the 5000 ms deadline$/);
  });

  it('not resolving: no request at all after the failed lookups, no registry fact lost', async () => {
    const lookups: string[] = [];
    const { report } = await audit('http://downloads.invalid/', async (host) => {
      lookups.push(host);
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    });
    const unavailable = report.findings.filter((f) => f.outcome === 'unavailable');
    expect(unavailable.filter((f) => f.source === 'registry')).toEqual([]);
    expect(unavailable.filter((f) => f.rule === 'popularity')).toHaveLength(COUNT);
    expect(report.unavailable[0]).toMatchObject({
      source: 'downloads API',
      cause: 'host name could not be resolved',
    });
    // Failed lookups are cached: the host is looked up a handful of times, not once per request.
    expect(lookups.length).toBeLessThanOrEqual(5);
  });
});
