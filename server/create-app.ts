// Wires the service: policies, audit log, package cache, upstream and the Koa app. Tests call
// `createApp(...)` and use `service.app.callback()` without opening a port.
import { createHash, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import Koa, { type Context, type Middleware, type Next } from 'koa';
import compose from 'koa-compose';
import { type Logger, pino } from 'pino';
import { isLockwardenError } from '../src/errors.js';
import type { Policy, PopularIndex } from '../src/policy/types.js';
import type { CachedLookup, NetworkConfig } from '../src/sources/http-dispatcher.js';
import { createSemaphore } from '../src/sources/semaphore.js';
import type { Sources } from '../src/sources/types.js';
import { createAdminAuth } from './admin-auth.js';
import { ADMIN_PREFIX, createAdminRoutes } from './admin-routes.js';
import { type AdminToken, createAdminToken } from './admin-token.js';
import { createAuditFeed } from './audit-feed.js';
import type { AuditLog } from './audit-log.js';
import { createAuditThrottle } from './audit-throttle.js';
import { type BundleCheckOptions, createBundleCheck } from './bundle-check.js';
import { createCheckTokens } from './check-tokens.js';
import { createConsoleApiRoutes } from './console-api-routes.js';
import { loadConsoleAssets } from './console-assets.js';
import { createConsoleRoutes } from './console-routes.js';
import { createConsoleSessions } from './console-sessions.js';
import { createEmbeddedStore } from './embedded-store.js';
import { HttpError, sendError } from './http-error.js';
import { createMetrics, type Metrics, routeKind } from './metrics.js';
import { createPackageCache, type PackageCache } from './package-cache.js';
import { createPolicyStore, type PolicyStore } from './policy-store.js';
import { createPostgresStore } from './postgres-store.js';
import { displayUrl, redactQuery, redactUrlCredentials } from './redact-url.js';
import { createRegistryRoutes } from './registry-routes.js';
import { type StateStore, StoreError } from './state-store.js';
import { createUpstream, type Upstream, UpstreamError, type UpstreamOptions } from './upstream.js';
import type { WebhookDelivery } from './webhook-delivery.js';
import type { WebhookHub } from './webhook-hub.js';
import { addWebhookRoutes } from './webhook-routes.js';
import { startWebhookService } from './webhook-service.js';

export interface CreateAppOptions {
  /** Directory for policies.json, audit/, admin-token.json and check-tokens.json. */
  dataDir: string;
  /**
   * PostgreSQL for policies, check tokens, settings and the audit log, shared by every replica on
   * it (`postgres://...`); the embedded store in `dataDir` when omitted. `dataDir` still holds the
   * package cache.
   */
  databaseUrl?: string;
  /** Where state lives (tests); overrides `databaseUrl`. */
  store?: (defaults: { now: () => Date; logger: Logger; audit: AuditSettings }) => Promise<StateStore>;
  /** Fact sources; the registry source is the upstream packuments come from. */
  sources: Sources;
  popular: PopularIndex;
  /** Token for tarball and pass-through requests to the upstream registry. */
  upstreamToken?: string;
  /** The `authorization` header npm's configuration gives for the upstream (when no token is set). */
  upstreamAuthorization?: string;
  /** The upstream as configured, `user:password@` included (sent as Basic auth); the registry source's URL otherwise. */
  upstreamUrl?: string;
  /** npm's proxy and TLS settings for the upstream. */
  network?: NetworkConfig;
  /** The name cache the sources' HTTP client uses, shared with the proxy's upstream requests. */
  upstreamLookup?: CachedLookup;
  /** Extra origins tarballs may come from (registries with a separate download host). */
  tarballOrigins?: string[];
  /** Deadline of each tarball or pass-through request to the upstream, redirects and body included. */
  upstreamTimeoutMs?: number;
  /** Per-attempt timeouts and retries of those requests (tests make them short and deterministic). */
  upstreamTuning?: Pick<
    UpstreamOptions,
    'connectTimeoutMs' | 'headersTimeoutMs' | 'retries' | 'backoffBaseMs' | 'sleep' | 'random'
  >;
  now?: () => Date;
  /** Fixed admin token (LOCKWARDEN_ADMIN_TOKEN); otherwise generated once and stored hashed. */
  adminToken?: string;
  resetAdminToken?: boolean;
  /** Tokens that may call the check API only (LOCKWARDEN_CHECK_TOKEN, --check-token). */
  checkTokens?: readonly string[];
  /** Policies from `--policy` files; read-only through the API. */
  filePolicies?: ReadonlyArray<{ policy: Policy; file: string }>;
  /** Base URL clients use (`https://npm.example.com`); derived from the request when omitted. */
  publicUrl?: string;
  /** Wildcard domain for `<policy>[-<label>].<domain>` host routing. */
  domain?: string;
  /** Trust X-Forwarded-Proto/Host from a reverse proxy. */
  trustProxy?: boolean;
  logger?: Logger;
  version?: string;
  cache?: Partial<{
    ttlMs: number;
    maxStaleMs: number;
    failureTtlMs: number;
    maxBytes: number;
    maxEntries: number;
    prefetchConcurrency: number;
  }>;
  /** Limits of the bundled-dependency check of tarballs (bundle-check.ts). */
  bundles?: Pick<BundleCheckOptions, 'maxBundled' | 'maxTarballBytes' | 'maxUnpackedBytes' | 'concurrency'>;
  audit?: Partial<AuditSettings>;
  /** `--allow-private-webhooks`: webhooks may go to loopback, link-local and private addresses. */
  allowPrivateWebhooks?: boolean;
  /** How often the outbox is polled for due messages (default 1 s); 0: never (tests call runOnce). */
  webhookPollMs?: number;
  /** `--metrics-token`: `/metrics` then needs it (or the admin token) as a bearer token. */
  metricsToken?: string;
}

export interface AuditSettings {
  maxEntries: number;
  maxAgeDays: number;
  dedupeMs: number;
  maxLabelsPerEvent: number;
}

export interface LockwardenService {
  app: Koa;
  policies: PolicyStore;
  audit: AuditLog;
  store: StateStore;
  packages: PackageCache;
  upstream: Upstream;
  adminToken: AdminToken;
  logger: Logger;
  webhooks: { hub: WebhookHub; delivery: WebhookDelivery };
  metrics: Metrics;
  /** Commits the audit log, closes the store and upstream connections (not the sources: the caller owns them). */
  close(): Promise<void>;
}

export const CACHE_DEFAULTS = {
  ttlMs: 60_000,
  maxStaleMs: 10 * 60_000,
  failureTtlMs: 5_000,
  maxBytes: 512 * 1024 * 1024,
  maxEntries: 20_000,
  prefetchConcurrency: 4,
};
export const AUDIT_DEFAULTS: AuditSettings = {
  maxEntries: 100_000,
  maxAgeDays: 90,
  dedupeMs: 60 * 60_000,
  /** Distinct labels and user agents logged per package version and rule per dedupe window. */
  maxLabelsPerEvent: 32,
};

export async function createApp(options: CreateAppOptions): Promise<LockwardenService> {
  const now = options.now ?? (() => new Date());
  const logger = options.logger ?? pino({ level: 'silent' });
  const onCorrupt = (file: string, movedTo: string, reason: string) =>
    logger.error(
      { file, movedTo, reason },
      'state file was not valid JSON; moved it aside and started empty',
    );
  const startedAt = now();

  const auditSettings = { ...AUDIT_DEFAULTS, ...options.audit };
  const onAuditError = (err: unknown) => logger.error({ err }, 'audit log commit failed; will retry');
  const store = options.store
    ? await options.store({ now, logger, audit: auditSettings })
    : options.databaseUrl
      ? await createPostgresStore({
          url: options.databaseUrl,
          now,
          audit: { maxEntries: auditSettings.maxEntries, maxAgeDays: auditSettings.maxAgeDays },
          onError: (err) => logger.error({ err }, 'database error'),
        })
      : await createEmbeddedStore({
          dataDir: options.dataDir,
          now,
          audit: { maxEntries: auditSettings.maxEntries, maxAgeDays: auditSettings.maxAgeDays },
          onAuditError,
          onCorrupt,
          onMigrated: (file, entries, movedTo) =>
            logger.info({ file, entries, movedTo }, 'moved the audit log into audit/ segments'),
          onSnapshotProblem: (file, reason) =>
            logger.warn(
              { file, reason },
              'audit index snapshot not used or not written; its segment is scanned',
            ),
        });
  const audit = store.audit;
  const policies = await createPolicyStore({
    records: store.policies,
    filePolicies: options.filePolicies ?? [],
    now,
    source: store.kind === 'embedded' ? join(options.dataDir, 'policies.json') : 'the database',
  });
  // Another replica changed a policy: reload, so every replica enforces it within a second.
  const stopWatching = store.onPoliciesChanged(() => {
    policies.reload().catch((err: unknown) => logger.error({ err }, 'reloading policies failed'));
  });
  const auditThrottle = createAuditThrottle({
    windowMs: auditSettings.dedupeMs,
    maxVariantsPerSubject: auditSettings.maxLabelsPerEvent,
    maxKeys: 10_000,
  });
  const checkTokens = createCheckTokens({
    records: store.checkTokens,
    configured: options.checkTokens ?? [],
    now,
  });
  const adminToken = await createAdminToken({
    settings: store.settings,
    ...(options.adminToken === undefined ? {} : { fromEnv: options.adminToken }),
    reset: options.resetAdminToken ?? false,
  });
  const packages = createPackageCache({
    sources: options.sources,
    popular: options.popular,
    now,
    ...CACHE_DEFAULTS,
    ...options.cache,
    onError: (err, name) => logger.error({ err, package: name }, 'package evaluation failed'),
  });
  const upstream = createUpstream({
    url: options.upstreamUrl ?? options.sources.registry.url,
    ...(options.upstreamToken ? { token: options.upstreamToken } : {}),
    ...(options.upstreamAuthorization ? { authorization: options.upstreamAuthorization } : {}),
    ...(options.network ? { network: options.network } : {}),
    ...(options.upstreamLookup ? { lookup: options.upstreamLookup } : {}),
    ...(options.tarballOrigins ? { tarballOrigins: options.tarballOrigins } : {}),
    ...(options.upstreamTimeoutMs === undefined ? {} : { timeoutMs: options.upstreamTimeoutMs }),
    ...options.upstreamTuning,
    userAgent: `lockwarden/${options.version ?? '0'}`,
  });

  const metrics = createMetrics({
    audit,
    packageStats: () => packages.stats(),
    webhookBacklog: () => store.outbox.backlog(),
  });
  const webhooks = await startWebhookService({
    store,
    now,
    logger,
    metrics,
    allowPrivate: options.allowPrivateWebhooks ?? false,
    pollMs: options.webhookPollMs ?? 1_000,
    version: options.version ?? '0',
  });
  const { hub, delivery, findings } = webhooks;

  const app = new Koa({ proxy: options.trustProxy ?? false });
  app.silent = true;
  app.on('error', (err: unknown) => {
    // A client that hangs up mid-download is ordinary traffic, not a fault of the service.
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'UND_ERR_ABORTED')
      logger.debug({ err }, 'client went away during the response');
    else logger.warn({ err }, 'response stream error');
  });

  app.use(async function handleErrors(ctx: Context, next: Next) {
    const started = performance.now();
    try {
      await next();
    } catch (err) {
      if (err instanceof StoreError) {
        const status = err.kind === 'not-found' ? 404 : err.kind === 'conflict' ? 409 : 400;
        sendError(ctx, status, err.message, err.problems ? { problems: err.problems } : undefined);
      } else if (err instanceof HttpError) {
        for (const [k, v] of Object.entries(err.headers ?? {})) ctx.set(k, v);
        sendError(ctx, err.status, err.message, err.extra);
      } else if (err instanceof UpstreamError) {
        sendError(ctx, err.status, err.message);
      } else if (isLockwardenError(err) && (err.code === 'EINVALIDNAME' || err.code === 'EPOLICY')) {
        sendError(ctx, 400, err.message, err.details === undefined ? undefined : { problems: err.details });
      } else {
        logger.error({ err, method: ctx.method, url: redactQuery(ctx.url) }, 'request failed');
        sendError(ctx, 500, 'internal error in lockwarden; the service log has the details');
      }
    }
    metrics.request(routeKind(ctx.path, ADMIN_PREFIX), ctx.status, (performance.now() - started) / 1000);
    if (logger.isLevelEnabled('info')) {
      logger.info(
        {
          method: ctx.method,
          url: redactQuery(ctx.url).slice(0, 512),
          status: ctx.status,
          ms: Math.round((performance.now() - started) * 10) / 10,
          ua: ctx.get('user-agent').slice(0, 128),
        },
        'request',
      );
    }
  });

  app.use(async (ctx, next) => {
    if (ctx.path === '/-/ping') {
      ctx.body = {};
      return;
    }
    if (ctx.path === '/metrics' && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      if (options.metricsToken !== undefined) {
        const presented = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'))?.[1];
        if (
          presented === undefined ||
          (!safeEqual(presented, options.metricsToken) && !adminToken.verify(presented))
        ) {
          ctx.set('www-authenticate', 'Bearer realm="lockwarden metrics"');
          throw new HttpError(
            401,
            '/metrics needs "Authorization: Bearer <metrics token>" (--metrics-token)',
          );
        }
      }
      ctx.set('content-type', metrics.registry.contentType);
      ctx.set('cache-control', 'no-store');
      ctx.body = await metrics.registry.metrics();
      return;
    }
    await next();
  });

  const sessions = await createConsoleSessions({
    settings: store.settings,
    adminFingerprint: adminToken.fingerprint,
    now,
  });
  const feed = createAuditFeed({
    audit,
    onError: (err) => logger.error({ err }, 'reading new audit entries for the console failed'),
  });
  // The console and the admin API live under /-/lockwarden/ (and / redirects a browser there).
  // Registry requests (/<policy>/...) skip their routers: matching a path against every admin and
  // console route was a measurable part of a warm packument's CPU (bench:proxy --only-baseline).
  const serviceRoutes: Middleware[] = [];
  app.use((ctx, next) => (ctx.path === '/' || ctx.path.startsWith('/-/') ? serviceChain(ctx, next) : next()));
  serviceRoutes.push(
    createConsoleRoutes({
      assets: loadConsoleAssets(),
      sessions,
      token: adminToken,
      checkTokens,
      ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
    }),
  );
  const consoleApi = createConsoleApiRoutes({
    auth: createAdminAuth({ token: adminToken, checkTokens, sessions }),
    audit,
    feed,
    policies,
    packages,
    now,
  });
  serviceRoutes.push(consoleApi.routes() as unknown as Middleware);

  // Bundler tarballs are held in memory whole (up to 64 MB each) while read: one limiter for the
  // whole service, shared by the proxy's bundle check and the check API, bounds them together.
  const bundleReads = createSemaphore(options.bundles?.concurrency ?? 2);
  const admin = createAdminRoutes({
    bundleReads,
    sessions,
    policies,
    audit,
    packages,
    token: adminToken,
    checkTokens,
    sources: options.sources,
    popular: options.popular,
    now,
    cacheDir: join(options.dataDir, 'cache'),
    ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
    findings,
    onPolicyChanged: (id, change, revision) => hub.policyChanged(id, change, revision),
    extend: (router, requireToken) =>
      addWebhookRoutes(router, requireToken, {
        store,
        hub,
        delivery,
        allowPrivate: options.allowPrivateWebhooks ?? false,
        now,
        policyExists: async (id) => (await policies.get(id)) !== undefined,
      }),
    health: async () => {
      // Each upstream's breaker: `degraded` while one is open or probing (the service still
      // answers, from cached copies or with the unavailable facts its policies allow).
      const sources = (options.sources.health?.() ?? []).map((h) => ({
        ...h,
        ...(h.lastFailure !== undefined ? { lastFailure: redactUrlCredentials(h.lastFailure) } : {}),
      }));
      return {
        status: sources.some((s) => s.state !== 'closed') ? 'degraded' : 'ok',
        sources,
        version: options.version ?? null,
        startedAt: startedAt.toISOString(),
        upstream: displayUrl(options.sources.registry.url),
        upstreamStats: options.sources.registry.stats(),
        policies: (await policies.list()).map((p) => p.policy.id),
        store: store.describe(),
        audit: { ...audit.stats(), ...auditThrottle.stats() },
        cache: packages.stats(),
        rssBytes: process.memoryUsage.rss(),
      };
    },
  });
  serviceRoutes.push(
    admin.routes() as unknown as Middleware,
    admin.allowedMethods({ throw: false }) as unknown as Middleware,
    async (ctx, next) => {
      if (ctx.path === ADMIN_PREFIX || ctx.path.startsWith(`${ADMIN_PREFIX}/`)) {
        if (ctx.status === 404 && ctx.body === undefined)
          sendError(ctx, 404, `${ctx.path} is not a lockwarden endpoint`);
        return;
      }
      await next();
    },
  );
  const serviceChain = compose(serviceRoutes);
  app.use(
    createRegistryRoutes({
      policies,
      packages,
      audit,
      upstream,
      now,
      ...(options.publicUrl ? { publicUrl: options.publicUrl.replace(/\/+$/, '') } : {}),
      ...(options.domain ? { domain: options.domain } : {}),
      auditThrottle,
      findings,
      bundles: createBundleCheck({
        packages,
        upstream,
        popular: options.popular,
        now,
        ...options.bundles,
        limit: bundleReads,
      }),
    }),
  );

  return {
    app,
    policies,
    audit,
    store,
    packages,
    upstream,
    adminToken,
    logger,
    webhooks: { hub, delivery },
    metrics,
    async close() {
      stopWatching();
      feed.close();
      await webhooks.close();
      metrics.close();
      await store.close();
      await upstream.close();
    },
  };
}

function safeEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}
