import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createRequestMetrics } from '../../server/request-metrics.js';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The same observations through prom-client's own Counter and Histogram. */
function reference(observations: ReadonlyArray<[string, number, number]>): client.Registry {
  const registry = new client.Registry();
  const requests = new client.Counter({
    name: 'lockwarden_http_requests_total',
    help: 'Requests answered, by route kind and status',
    labelNames: ['route', 'status'],
    registers: [registry],
  });
  const seconds = new client.Histogram({
    name: 'lockwarden_http_request_duration_seconds',
    help: 'Time to answer a request (headers and body sent or handed to the socket), by route kind',
    labelNames: ['route'],
    buckets: BUCKETS,
    registers: [registry],
  });
  for (const [route, status, s] of observations) {
    requests.inc({ route, status: String(status) });
    seconds.observe({ route }, s);
  }
  return registry;
}

const cases: Array<{ name: string; observations: Array<[string, number, number]> }> = [
  { name: 'no requests', observations: [] },
  { name: 'one request', observations: [['packument', 200, 0.0004]] },
  {
    name: 'bucket edges, above the last bucket, several routes and statuses',
    observations: [
      ['packument', 200, 0.001],
      ['packument', 200, 0.0010001],
      ['packument', 304, 0.0025],
      ['tarball', 200, 10],
      ['tarball', 502, 12.5],
      ['packument', 403, 0],
      ['admin', 401, 0.3],
      ['packument', 200, 0.07],
    ],
  },
];

describe('request metrics', () => {
  it.each(cases)('prints what prom-client prints for the same requests: $name', async ({ observations }) => {
    const registry = new client.Registry();
    const metrics = createRequestMetrics(registry);
    for (const [route, status, s] of observations) metrics.request(route as 'packument', status, s);
    expect(await registry.metrics()).toBe(await reference(observations).metrics());
  });

  it('counts requests made between two reads once', async () => {
    const registry = new client.Registry();
    const metrics = createRequestMetrics(registry);
    const all: Array<[string, number, number]> = [];
    for (const batch of [3, 0, 2]) {
      for (let i = 0; i < batch; i++) {
        metrics.request('packument', 200, 0.002 * i);
        all.push(['packument', 200, 0.002 * i]);
      }
      expect(await registry.metrics()).toBe(await reference(all).metrics());
    }
  });
});
