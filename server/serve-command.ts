// `lockwarden serve`: flags and environment in, a running service out. Prints the line to paste
// (`NPM_CONFIG_REGISTRY=...`) for every policy, and the admin token once when it was generated.
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Logger, pino } from 'pino';
import { readPolicyFile } from '../src/engine/read-policy-file.js';
import { isLockwardenError, LockwardenError } from '../src/errors.js';
import { createPopularIndex } from '../src/policy/popular-index.js';
import type { Policy } from '../src/policy/types.js';
import { createSources, resolveSourceConfig } from '../src/sources/create-sources.js';
import { createCachedLookup } from '../src/sources/http-dispatcher.js';
import { MAX_DOCUMENT_DEPTH } from '../src/sources/parse-registry-document.js';
import { normalizeRegistryUrl } from '../src/sources/registry-source.js';
import { TOOL_VERSION } from '../src/version.js';
import { AUDIT_DEFAULTS, CACHE_DEFAULTS, createApp, type LockwardenService } from './create-app.js';
import type { StoredPolicy } from './policy-store.js';
import { displayUrl } from './redact-url.js';
import { warmUp } from './warm-up.js';

export const DEFAULT_PORT = 4880;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_DATA_DIR = '.lockwarden-data';

export interface ServeIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Stops the service (tests); SIGINT/SIGTERM do the same when omitted. */
  signal?: AbortSignal;
  /** Called once the port is open, with the address (tests and embedding). */
  onListening?: (info: { url: string; service: LockwardenService }) => void;
}

const USAGE = `Usage: lockwarden serve [options]

Runs the policy service and npm registry proxy. Point a client at a policy with
  NPM_CONFIG_REGISTRY=http://<host>:<port>/<policy-id>/
or, to record a consumer label (an image or job name) in the audit log,
  NPM_CONFIG_REGISTRY=http://<host>:<port>/<policy-id>~<label>/

Options (environment variable in brackets):
  --port N                 port to listen on (default ${DEFAULT_PORT}) [LOCKWARDEN_PORT]
  --host ADDR              address to bind (default ${DEFAULT_HOST}; 0.0.0.0 in containers) [LOCKWARDEN_HOST]
  --data DIR               state directory: policies, audit log, cache (default ./${DEFAULT_DATA_DIR}) [LOCKWARDEN_DATA_DIR]
  --database-url URL       keep policies, tokens and the audit log in PostgreSQL (postgres://...), shared
                           by every replica on it; --data then holds the package cache only [LOCKWARDEN_DATABASE_URL]
  --upstream URL           registry to proxy (default: the registry npm is configured with) [LOCKWARDEN_UPSTREAM]
  --upstream-token TOKEN   token for the upstream (default: npm's token for it) [LOCKWARDEN_UPSTREAM_TOKEN]
  --policy FILE            load a policy file (JSON/YAML, as for \`lockwarden audit\`); repeatable;
                           such policies are read-only in the admin API [LOCKWARDEN_POLICY, comma-separated]
  --public-url URL         base URL clients use, for tarball links and printed lines [LOCKWARDEN_PUBLIC_URL]
  --domain DOMAIN          also route <policy>[-<label>].DOMAIN host names [LOCKWARDEN_DOMAIN]
  --tarball-origin URL     another origin tarballs may come from; repeatable
  --timeout MS             deadline of each upstream request, body included: documents and facts (default
                           60000), tarballs and pass-through (default 300000) [LOCKWARDEN_TIMEOUT]
  --advisories SOURCE      advisories for policies with \`vulnerabilities\`: registry (the upstream's bulk
                           endpoint, default) or osv (LOCKWARDEN_OSV_URL) [LOCKWARDEN_ADVISORIES]
  --trust-proxy            trust X-Forwarded-Proto/Host from a reverse proxy
  --cache-ttl SECONDS      re-evaluate a package after this long (default ${CACHE_DEFAULTS.ttlMs / 1000}) [LOCKWARDEN_CACHE_TTL]
  --cache-max-mb N         memory for cached documents (default ${CACHE_DEFAULTS.maxBytes / 1024 / 1024})
  --audit-max-entries N    audit log entries kept (default ${AUDIT_DEFAULTS.maxEntries}) [LOCKWARDEN_AUDIT_MAX_ENTRIES]
  --audit-max-age-days N   audit log retention in days, 0 = forever (default ${AUDIT_DEFAULTS.maxAgeDays}) [LOCKWARDEN_AUDIT_MAX_AGE_DAYS]
  --no-prefetch            do not fetch the dependencies of a requested package ahead of the client
  --check-token TOKEN      a token for the check API only (CI); repeatable [LOCKWARDEN_CHECK_TOKEN, comma-separated]
  --allow-private-webhooks let webhooks go to loopback, link-local and private addresses [LOCKWARDEN_ALLOW_PRIVATE_WEBHOOKS=1]
  --metrics-token TOKEN    /metrics then needs "Authorization: Bearer TOKEN" (or the admin token) [LOCKWARDEN_METRICS_TOKEN]
  --reset-admin-token      generate and print a new admin token
  --log-level LEVEL        fatal, error, warn, info, debug, silent (default info) [LOCKWARDEN_LOG_LEVEL]
  -h, --help               show this help

The admin token comes from LOCKWARDEN_ADMIN_TOKEN, or is generated on first start and printed once.
It manages policies and reads the audit log; give CI a check token instead (issue one per
pipeline with POST /-/lockwarden/v1/check-tokens, or configure them with --check-token).
In production set --public-url: without it tarball links follow each request's Host header.
`;

export async function runServe(argv: string[], io: ServeIo): Promise<number> {
  let settings: ServeSettings;
  try {
    const parsed = parseServeArgs(argv, io.env, io.cwd);
    if (parsed === 'help') {
      io.stdout.write(USAGE);
      return 0;
    }
    settings = parsed;
  } catch (err) {
    return fail(io, err);
  }

  const logger = pino(
    { level: settings.logLevel, base: { service: 'lockwarden' } },
    pino.destination({ fd: 2, sync: false }),
  );
  let service: LockwardenService | undefined;
  let sources: Awaited<ReturnType<typeof createSources>> | undefined;
  let server: Server | undefined;
  try {
    const filePolicies: Array<{ policy: Policy; file: string }> = [];
    for (const file of settings.policyFiles) filePolicies.push({ policy: await readPolicyFile(file), file });
    const config = await resolveSourceConfig({
      flags: {
        ...(settings.upstream ? { registry: settings.upstream } : {}),
        cacheDir: resolve(settings.dataDir, 'cache'),
        ...(settings.timeoutMs === undefined ? {} : { timeoutMs: settings.timeoutMs }),
        ...(settings.advisories === undefined ? {} : { advisories: settings.advisories }),
      },
      env: io.env,
      cwd: io.cwd,
    });
    const upstreamToken = settings.upstreamToken;
    if (upstreamToken) config.registryToken = upstreamToken;
    // --cache-ttl bounds every copy: the document cache's and the one on disk beneath it.
    config.registryFreshnessMs = settings.cacheTtlMs;
    // The proxy indexes documents and splices what it serves from them (index-packument.ts): one
    // nested too deeply, or that a splice could read differently, is an upstream failure.
    config.maxDocumentDepth = MAX_DOCUMENT_DEPTH;
    // One name cache for the sources and the proxy's tarball and pass-through requests: the
    // upstream's host is looked up once, and a host that does not exist fails both at once (for a
    // second; a transient lookup failure is not kept, so each side's retries look it up again).
    const lookup = createCachedLookup();
    config.http = { ...config.http, lookup };
    sources = createSources(config);
    const popular = createPopularIndex(sources.popular);
    service = await createApp({
      dataDir: settings.dataDir,
      sources,
      popular,
      ...(upstreamToken
        ? { upstreamToken }
        : config.registryAuthorization
          ? { upstreamAuthorization: config.registryAuthorization }
          : {}),
      ...(config.registryUrl ? { upstreamUrl: config.registryUrl } : {}),
      ...(config.http.network ? { network: config.http.network } : {}),
      upstreamLookup: lookup,
      ...(settings.tarballOrigins.length > 0 ? { tarballOrigins: settings.tarballOrigins } : {}),
      ...(settings.timeoutMs === undefined ? {} : { upstreamTimeoutMs: settings.timeoutMs }),
      ...(io.env.LOCKWARDEN_ADMIN_TOKEN ? { adminToken: io.env.LOCKWARDEN_ADMIN_TOKEN } : {}),
      resetAdminToken: settings.resetAdminToken,
      ...(settings.databaseUrl ? { databaseUrl: settings.databaseUrl } : {}),
      ...(settings.checkTokens.length > 0 ? { checkTokens: settings.checkTokens } : {}),
      filePolicies,
      ...(settings.publicUrl ? { publicUrl: settings.publicUrl } : {}),
      ...(settings.domain ? { domain: settings.domain } : {}),
      trustProxy: settings.trustProxy,
      allowPrivateWebhooks: settings.allowPrivateWebhooks,
      ...(settings.metricsToken ? { metricsToken: settings.metricsToken } : {}),
      logger,
      version: settings.version,
      cache: {
        ttlMs: settings.cacheTtlMs,
        maxBytes: settings.cacheMaxBytes,
        ...(settings.prefetch ? {} : { prefetchConcurrency: 0 }),
      },
      audit: { maxEntries: settings.auditMaxEntries, maxAgeDays: settings.auditMaxAgeDays },
    });
    server = createServer({ keepAliveTimeout: 65_000 }, service.app.callback());
    server.headersTimeout = 30_000;
    server.requestTimeout = 120_000;
    const listening = server;
    await new Promise<void>((resolveListen, rejectListen) => {
      listening.once('error', rejectListen);
      listening.listen(settings.port, settings.host, () => {
        listening.off('error', rejectListen);
        resolveListen();
      });
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : settings.port;
    const shownHost =
      settings.host === '0.0.0.0' || settings.host === '::'
        ? 'localhost'
        : settings.host.includes(':')
          ? `[${settings.host}]`
          : settings.host;
    const base = (settings.publicUrl ?? `http://${shownHost}:${port}`).replace(/\/+$/, '');
    const upstreamShown = displayUrl(sources.registry.url);
    printBanner(io.stdout, {
      base,
      service,
      upstream: upstreamShown,
      policies: await service.policies.list(),
    });
    logger.info({ url: base, upstream: upstreamShown, dataDir: settings.dataDir }, 'listening');
    // Not awaited: a slow upstream must not hold up the start (warm-up.ts says what it does).
    warmUp({
      registry: sources.registry,
      popular,
      logger,
      ...(io.signal ? { signal: io.signal } : {}),
    }).catch((err) => logger.warn({ err }, 'warm-up failed'));
    io.onListening?.({ url: base, service });
    await waitForStop(io.signal, logger);
    return 0;
  } catch (err) {
    return fail(io, err, logger);
  } finally {
    if (server) await closeServer(server);
    await service?.close();
    await sources?.close();
    logger.flush();
  }
}

interface ServeSettings {
  port: number;
  host: string;
  dataDir: string;
  upstream?: string;
  upstreamToken?: string;
  /** --timeout: deadline of each upstream request (the sources' and the proxy's tarballs and pass-through). */
  timeoutMs?: number;
  /** --advisories: `registry` or `osv` (checked with the other source settings). */
  advisories?: string;
  policyFiles: string[];
  publicUrl?: string;
  domain?: string;
  tarballOrigins: string[];
  trustProxy: boolean;
  cacheTtlMs: number;
  cacheMaxBytes: number;
  auditMaxEntries: number;
  auditMaxAgeDays: number;
  resetAdminToken: boolean;
  databaseUrl?: string;
  checkTokens: string[];
  allowPrivateWebhooks: boolean;
  metricsToken?: string;
  prefetch: boolean;
  logLevel: string;
  version: string;
}

export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv, cwd: string): ServeSettings | 'help' {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        data: { type: 'string' },
        upstream: { type: 'string' },
        'upstream-token': { type: 'string' },
        policy: { type: 'string', multiple: true },
        'public-url': { type: 'string' },
        domain: { type: 'string' },
        'tarball-origin': { type: 'string', multiple: true },
        'trust-proxy': { type: 'boolean' },
        'cache-ttl': { type: 'string' },
        'cache-max-mb': { type: 'string' },
        'audit-max-entries': { type: 'string' },
        'audit-max-age-days': { type: 'string' },
        'database-url': { type: 'string' },
        'reset-admin-token': { type: 'boolean' },
        'check-token': { type: 'string', multiple: true },
        'no-prefetch': { type: 'boolean' },
        'allow-private-webhooks': { type: 'boolean' },
        'metrics-token': { type: 'string' },
        'log-level': { type: 'string' },
        timeout: { type: 'string' },
        advisories: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new LockwardenError('EUSAGE', `${(err as Error).message}; see lockwarden serve --help`);
  }
  if (values.help) return 'help';
  const str = (flag: string, envName?: string): string | undefined => {
    const v = values[flag];
    if (typeof v === 'string' && v !== '') return v;
    const e = envName ? env[envName] : undefined;
    return e === undefined || e === '' ? undefined : e;
  };
  const int = (
    flag: string,
    envName: string | undefined,
    fallback: number,
    min: number,
    max: number,
  ): number => {
    const raw = str(flag, envName);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      const from = typeof values[flag] === 'string' ? `--${flag}` : envName;
      throw new LockwardenError(
        'EUSAGE',
        `${from}: expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
      );
    }
    return n;
  };
  const url = (flag: string, envName: string | undefined, what: string): string | undefined => {
    const raw = str(flag, envName);
    return raw === undefined ? undefined : normalizeRegistryUrl(raw, `${what} (--${flag})`);
  };

  const policyFiles = [
    ...((values.policy as string[] | undefined) ?? []),
    ...(values.policy
      ? []
      : (env.LOCKWARDEN_POLICY ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)),
  ].map((f) => resolve(cwd, f));
  const logLevel = str('log-level', 'LOCKWARDEN_LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new LockwardenError(
      'EUSAGE',
      `--log-level: expected fatal, error, warn, info, debug, trace or silent, got ${JSON.stringify(logLevel)}`,
    );
  }
  const domain = str('domain', 'LOCKWARDEN_DOMAIN');
  if (domain !== undefined && !/^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(domain)) {
    throw new LockwardenError(
      'EUSAGE',
      `--domain: expected a DNS name like npm.example.com, got ${JSON.stringify(domain)}`,
    );
  }
  const databaseUrl = str('database-url', 'LOCKWARDEN_DATABASE_URL');
  const metricsToken = str('metrics-token', 'LOCKWARDEN_METRICS_TOKEN');
  if (databaseUrl !== undefined && !/^postgres(?:ql)?:\/\//.test(databaseUrl)) {
    throw new LockwardenError(
      'EUSAGE',
      `--database-url: expected postgres://user:password@host:5432/database, got a value starting ${JSON.stringify(databaseUrl.slice(0, 12))}`,
    );
  }
  const publicUrl = url('public-url', 'LOCKWARDEN_PUBLIC_URL', 'public URL');
  const upstream = url('upstream', 'LOCKWARDEN_UPSTREAM', 'upstream registry URL');
  const upstreamToken = str('upstream-token', 'LOCKWARDEN_UPSTREAM_TOKEN');
  const timeoutMs =
    str('timeout', 'LOCKWARDEN_TIMEOUT') === undefined
      ? undefined
      : int('timeout', 'LOCKWARDEN_TIMEOUT', 0, 1, 3_600_000);
  const advisories = str('advisories', 'LOCKWARDEN_ADVISORIES');
  return {
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(advisories === undefined ? {} : { advisories }),
    port: int('port', 'LOCKWARDEN_PORT', DEFAULT_PORT, 0, 65_535),
    host: str('host', 'LOCKWARDEN_HOST') ?? DEFAULT_HOST,
    dataDir: resolve(cwd, str('data', 'LOCKWARDEN_DATA_DIR') ?? DEFAULT_DATA_DIR),
    ...(upstream ? { upstream } : {}),
    ...(upstreamToken ? { upstreamToken } : {}),
    policyFiles,
    ...(publicUrl ? { publicUrl: publicUrl.replace(/\/+$/, '') } : {}),
    ...(domain ? { domain } : {}),
    tarballOrigins: ((values['tarball-origin'] as string[] | undefined) ?? []).map((o) =>
      normalizeRegistryUrl(o, 'tarball origin (--tarball-origin)'),
    ),
    trustProxy: values['trust-proxy'] === true,
    cacheTtlMs: int('cache-ttl', 'LOCKWARDEN_CACHE_TTL', CACHE_DEFAULTS.ttlMs / 1000, 0, 86_400) * 1000,
    cacheMaxBytes:
      int('cache-max-mb', undefined, CACHE_DEFAULTS.maxBytes / 1024 / 1024, 1, 1_000_000) * 1024 * 1024,
    auditMaxEntries: int(
      'audit-max-entries',
      'LOCKWARDEN_AUDIT_MAX_ENTRIES',
      AUDIT_DEFAULTS.maxEntries,
      1,
      100_000_000,
    ),
    auditMaxAgeDays: int(
      'audit-max-age-days',
      'LOCKWARDEN_AUDIT_MAX_AGE_DAYS',
      AUDIT_DEFAULTS.maxAgeDays,
      0,
      36_500,
    ),
    resetAdminToken: values['reset-admin-token'] === true,
    ...(databaseUrl ? { databaseUrl } : {}),
    checkTokens: [
      ...((values['check-token'] as string[] | undefined) ?? []),
      ...(env.LOCKWARDEN_CHECK_TOKEN ?? '').split(','),
    ]
      .map((t) => t.trim())
      .filter(Boolean),
    allowPrivateWebhooks:
      values['allow-private-webhooks'] === true ||
      /^(1|true|yes)$/i.test(env.LOCKWARDEN_ALLOW_PRIVATE_WEBHOOKS ?? ''),
    ...(metricsToken ? { metricsToken } : {}),
    prefetch: values['no-prefetch'] !== true,
    logLevel,
    version: TOOL_VERSION,
  };
}

function printBanner(
  out: NodeJS.WritableStream,
  info: { base: string; service: LockwardenService; upstream: string; policies: readonly StoredPolicy[] },
): void {
  const lines = [`lockwarden serve: listening on ${info.base}/ (upstream ${info.upstream})`];
  if (info.service.adminToken.generated) {
    lines.push(
      '',
      `Admin token (shown once; store it now, or set LOCKWARDEN_ADMIN_TOKEN): ${info.service.adminToken.generated}`,
    );
  }
  lines.push('', 'Install through a policy by setting:');
  for (const p of info.policies) {
    const from = p.origin.kind === 'file' ? ` (from ${p.origin.file})` : '';
    lines.push(
      `  NPM_CONFIG_REGISTRY=${info.base}/${p.policy.id}/    # ${p.policy.name}, ${p.policy.action} mode${from}`,
    );
  }
  const example = info.policies[0]?.policy.id ?? '<policy-id>';
  lines.push(
    `Add a consumer label for the audit log after "~": NPM_CONFIG_REGISTRY=${info.base}/${example}~<label>/`,
  );
  lines.push('');
  out.write(`${lines.join('\n')}\n`);
}

function waitForStop(signal: AbortSignal | undefined, logger: Logger): Promise<void> {
  return new Promise((resolveStop) => {
    if (signal) {
      if (signal.aborted) return resolveStop();
      signal.addEventListener('abort', () => resolveStop(), { once: true });
      return;
    }
    const stop = (name: string) => {
      logger.info({ signal: name }, 'stopping');
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolveStop();
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolveClose) => {
    server.close(() => resolveClose());
    server.closeIdleConnections();
    // Requests still streaming get a few seconds, then their connections are cut.
    setTimeout(() => server.closeAllConnections(), 5_000).unref();
  });
}

function fail(io: ServeIo, err: unknown, logger?: Logger): number {
  if (isLockwardenError(err)) {
    io.stderr.write(`lockwarden serve: ${err.message}\n`);
    return err.exitCode;
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE' || code === 'EACCES') {
    io.stderr.write(`lockwarden serve: cannot listen: ${(err as Error).message}; choose another --port\n`);
    return 2;
  }
  logger?.fatal({ err }, 'lockwarden serve failed');
  io.stderr.write(`lockwarden serve: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}
