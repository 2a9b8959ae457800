// `/metrics` in the Prometheus text format (prom-client), one registry per service so tests and
// embedders can run several. Requests are counted by route kind (never by path: package names
// would make every package its own series), verdicts by policy, rule and outcome, and upstream
// requests timed through undici's diagnostics channels, which see every request of the process's
// undici (fact sources and the proxy's upstream alike) without touching the HTTP layer.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import client from 'prom-client';
import type { AuditLog } from './audit-log.js';
import { createRequestMetrics } from './request-metrics.js';
import type { FindingEvent } from './webhook-hub.js';
import type { OutboxMessage } from './webhook-outbox.js';

export type RouteKind = 'packument' | 'tarball' | 'registry-other' | 'admin' | 'metrics' | 'ping' | 'console';

/** What kind of route a path is, for request metrics. */
export function routeKind(path: string, adminPrefix: string): RouteKind {
  if (path === '/metrics') return 'metrics';
  if (path === '/-/ping') return 'ping';
  if (path === adminPrefix || path.startsWith(`${adminPrefix}/`)) return 'admin';
  if (path === '/-/lockwarden' || path.startsWith('/-/lockwarden/')) return 'console';
  const special = path.indexOf('/-/');
  if (special !== -1) return path.endsWith('.tgz') ? 'tarball' : 'registry-other';
  return 'packument';
}

export interface MetricsOptions {
  audit: AuditLog;
  packageStats: () => { hits: number; misses: number };
  webhookBacklog: () => Promise<number>;
}

export interface Metrics {
  readonly registry: client.Registry;
  request(kind: RouteKind, status: number, seconds: number): void;
  verdicts(events: readonly FindingEvent[]): void;
  webhookAttempt(m: OutboxMessage, ok: boolean, dead: boolean, ms: number): void;
  close(): void;
}

interface UndiciRequest {
  origin?: string | URL;
  method?: string;
  headers?: string[] | string;
}

/** Requests the webhook dispatcher sends carry `webhook-id`; they are timed as deliveries instead. */
function isWebhookRequest(r: UndiciRequest): boolean {
  const h = r.headers;
  if (Array.isArray(h)) return h.some((v, i) => i % 2 === 0 && v.toLowerCase() === 'webhook-id');
  return typeof h === 'string' && /(^|\r\n)webhook-id:/i.test(h);
}

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'lockwarden_' });

  const requests = createRequestMetrics(registry);
  const verdicts = new client.Counter({
    name: 'lockwarden_verdicts_total',
    help: 'Findings acted on (blocked, hidden, alert), by policy, rule and outcome',
    labelNames: ['policy', 'rule', 'outcome'] as const,
    registers: [registry],
  });
  const upstream = new client.Histogram({
    name: 'lockwarden_upstream_request_duration_seconds',
    help: 'Outbound requests (registry, downloads API, GitHub), from start to the end of the response, by origin, method and status',
    labelNames: ['origin', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const seenHits = { hits: 0, misses: 0 };
  const cacheHits = new client.Counter({
    name: 'lockwarden_package_cache_hits_total',
    help: 'Package lookups answered from the evaluated-package cache',
    registers: [registry],
    collect() {
      const { hits } = options.packageStats();
      if (hits > seenHits.hits) this.inc(hits - seenHits.hits);
      seenHits.hits = hits;
    },
  });
  const cacheMisses = new client.Counter({
    name: 'lockwarden_package_cache_misses_total',
    help: 'Package lookups that had to fetch or evaluate',
    registers: [registry],
    collect() {
      const { misses } = options.packageStats();
      if (misses > seenHits.misses) this.inc(misses - seenHits.misses);
      seenHits.misses = misses;
    },
  });
  void cacheHits;
  void cacheMisses;
  new client.Gauge({
    name: 'lockwarden_audit_commit_seconds',
    help: 'Duration of the last audit log commit (write and fsync, or the INSERT): how far the durable log lags what was recorded',
    registers: [registry],
    collect() {
      this.set(options.audit.stats().lastCommitMs / 1000);
    },
  });
  new client.Gauge({
    name: 'lockwarden_audit_pending_entries',
    help: 'Audit entries recorded and not yet committed',
    registers: [registry],
    collect() {
      this.set(options.audit.stats().pending);
    },
  });
  new client.Gauge({
    name: 'lockwarden_webhook_backlog',
    help: 'Webhook messages waiting for delivery (due now or retrying later), every replica',
    registers: [registry],
    async collect() {
      this.set(await options.webhookBacklog());
    },
  });
  const deliveries = new client.Counter({
    name: 'lockwarden_webhook_deliveries_total',
    help: 'Webhook delivery attempts by result (delivered, failed and retried, dead: failed for the last time)',
    labelNames: ['result', 'type'] as const,
    registers: [registry],
  });
  const deliverySeconds = new client.Histogram({
    name: 'lockwarden_webhook_delivery_duration_seconds',
    help: 'Webhook delivery attempts, from connect to the receiver answering',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const started = new WeakMap<object, number>();
  const onCreate = (message: unknown) => {
    const r = (message as { request: UndiciRequest }).request;
    if (!isWebhookRequest(r)) started.set(r, performance.now());
  };
  const finish = (request: UndiciRequest, status: string) => {
    const t = started.get(request);
    if (t === undefined) return;
    started.delete(request);
    let origin = '';
    try {
      origin = new URL(String(request.origin)).origin;
    } catch {
      origin = 'unknown';
    }
    upstream.observe({ origin, method: request.method ?? 'GET', status }, (performance.now() - t) / 1000);
  };
  const statusOf = new WeakMap<object, number>();
  const onHeaders = (message: unknown) => {
    const m = message as { request: UndiciRequest; response: { statusCode: number } };
    statusOf.set(m.request, m.response.statusCode);
  };
  const onTrailers = (message: unknown) => {
    const r = (message as { request: UndiciRequest }).request;
    finish(r, String(statusOf.get(r) ?? 0));
  };
  const onError = (message: unknown) => finish((message as { request: UndiciRequest }).request, 'error');
  subscribe('undici:request:create', onCreate);
  subscribe('undici:request:headers', onHeaders);
  subscribe('undici:request:trailers', onTrailers);
  subscribe('undici:request:error', onError);

  return {
    registry,
    request: requests.request,
    verdicts(events) {
      for (const e of events) verdicts.inc({ policy: e.policy, rule: e.finding.rule, outcome: e.outcome });
    },
    webhookAttempt(m, ok, dead, ms) {
      deliveries.inc({ result: ok ? 'delivered' : dead ? 'dead' : 'failed', type: m.type });
      deliverySeconds.observe(ms / 1000);
    },
    close() {
      unsubscribe('undici:request:create', onCreate);
      unsubscribe('undici:request:headers', onHeaders);
      unsubscribe('undici:request:trailers', onTrailers);
      unsubscribe('undici:request:error', onError);
    },
  };
}
