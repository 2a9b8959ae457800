// Wires the fact sources from flags and environment. This is the only place in src/sources that
// reads environment variables: everything below receives plain values.
import { LockwardenError } from '../errors.js';
import { pruneCacheIfDue } from './cache-maintenance.js';
import { flushDiskCaches, resolveCacheDir } from './disk-cache.js';
import { createDownloadsSource } from './downloads-source.js';
import { flushFactCaches } from './fact-cache.js';
import { createTagsSource } from './github-tags-source.js';
import { createHttpClient, type HttpClient, type HttpClientOptions } from './http-client.js';
import { loadNpmConfig, type NpmConfigOptions } from './npm-config.js';
import { readPopularList } from './popular-list.js';
import { createRegistryAdvisorySource } from './registry-advisories-source.js';
import { createRegistrySource, normalizeRegistryUrl } from './registry-source.js';
import type { AdvisorySource, PopularList, RegistrySource, Sources, TarballResult } from './types.js';

export interface SourceFlags {
  /** `--registry`: overrides npm's configuration. */
  registry?: string;
  downloadsUrl?: string;
  githubApiUrl?: string;
  githubToken?: string;
  cacheDir?: string;
  /** Disables the on-disk cache. */
  noCache?: boolean;
  /** `--cache-max-mb`: limit of the cache directory in MiB. */
  cacheMaxMb?: number;
  /** Time allowed for each upstream's response headers. */
  timeoutMs?: number;
  /** `--advisories`: `registry` (the bulk endpoint, default) or `osv`. */
  advisories?: string;
}

export interface SourceConfig {
  /** Undefined: resolved from npm's configuration on first use. */
  registryUrl?: string;
  /** Bearer token for the registry (`--upstream-token`); beats `registryAuthorization`. */
  registryToken?: string;
  /** The `authorization` header npm's configuration gives for the registry (token or Basic). */
  registryAuthorization?: string;
  /** `@scope:registry` from npm's configuration: scope -> registry URL (with its credentials). */
  scopeRegistries?: { scope: string; url: string; authorization?: string }[];
  /** Where npm's configuration is read from when `registryUrl` is deferred. */
  npm: NpmConfigOptions;
  downloadsUrl: string;
  githubApiUrl: string;
  githubToken?: string;
  /** Base for `git ls-remote` when there is no GitHub token. */
  gitBaseUrl: string;
  /** Undefined: no disk cache. */
  cacheDir?: string;
  /** How old a cached registry document may be before it is revalidated (`serve --cache-ttl`). */
  registryFreshnessMs?: number;
  /**
   * Set by `serve`: packuments are indexed, not parsed whole (manifests read lazily, served bodies
   * spliced from the upstream's bytes), and ones nested deeper than this are unavailable.
   */
  maxDocumentDepth?: number;
  /** Limit of the cache directory, kept when a run closes its sources (default 1 GiB). */
  cacheMaxBytes?: number;
  /** Where advisories come from: the registry's bulk endpoint (default), or OSV at `osvUrl`. */
  advisories?: 'registry' | 'osv';
  osvUrl?: string;
  http: HttpClientOptions;
}

// The downloads API is a separate service from the registry; its public host may be named.
const DEFAULT_DOWNLOADS_URL = 'https://api.npmjs.org/';
const DEFAULT_GITHUB_API_URL = 'https://api.github.com/';
const DEFAULT_GIT_BASE_URL = 'https://github.com';
const DEFAULT_OSV_URL = 'https://api.osv.dev/';

export async function resolveSourceConfig(opts: {
  flags: SourceFlags;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** False when the policy needs nothing from the registry: its URL is then not checked up front. */
  needsRegistry?: boolean;
  /**
   * The project's `.npmrc` from elsewhere (the Action: the base commit's), replacing the file in
   * `cwd`; `null` when the project has none there.
   */
  projectNpmrc?: NpmConfigOptions['projectNpmrc'];
}): Promise<SourceConfig> {
  const { flags, env, cwd } = opts;
  const npm: NpmConfigOptions = {
    cwd,
    env,
    ...(opts.projectNpmrc !== undefined ? { projectNpmrc: opts.projectNpmrc } : {}),
  };
  // npm's configuration is read in process (no npm child), so always: its proxy and TLS settings
  // apply to every source, not only the registry.
  const npmConfig = await loadNpmConfig(npm);
  let registryUrl: string | undefined;
  if (flags.registry) registryUrl = normalizeRegistryUrl(flags.registry, 'registry URL (--registry)');
  else if (opts.needsRegistry !== false) registryUrl = npmConfig.registry;
  const registryAuthorization = registryUrl ? npmConfig.authorizationFor(registryUrl) : undefined;
  const scopeRegistries = [];
  for (const [scope, url] of npmConfig.scopeRegistries) {
    const authorization = npmConfig.authorizationFor(url);
    scopeRegistries.push({ scope, url, ...(authorization ? { authorization } : {}) });
  }
  // npm's ca/strict-ssl are for its registries: the downloads API and GitHub keep Node's trust.
  const tlsOrigins = [registryUrl, npmConfig.registry, ...npmConfig.scopeRegistries.values()]
    .filter((u): u is string => typeof u === 'string')
    .map((u) => new URL(u).origin);
  const network = {
    ...npmConfig.network,
    ...(Object.keys(npmConfig.network).length > 0 ? { tlsOrigins } : {}),
  };

  const url = (
    what: string,
    flag: string | undefined,
    flagName: string,
    envName: string,
    fallback: string,
  ) => {
    if (flag) return normalizeRegistryUrl(flag, `${what} (${flagName})`);
    const fromEnv = env[envName];
    if (fromEnv) return normalizeRegistryUrl(fromEnv, `${what} (${envName})`);
    return fallback;
  };

  const timeoutMs = flags.timeoutMs;
  if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
    throw new LockwardenError(
      'EUSAGE',
      `--timeout: expected a positive number of milliseconds, got ${timeoutMs}`,
    );
  }
  const githubToken = flags.githubToken || env.GITHUB_TOKEN || undefined;
  const advisories = flags.advisories ?? (env.LOCKWARDEN_ADVISORIES || 'registry');
  if (advisories !== 'registry' && advisories !== 'osv') {
    throw new LockwardenError(
      'EUSAGE',
      `${flags.advisories !== undefined ? '--advisories' : 'LOCKWARDEN_ADVISORIES'}: expected "registry" or "osv", got ${JSON.stringify(advisories)}`,
    );
  }
  return {
    advisories,
    osvUrl: url('OSV URL', undefined, '', 'LOCKWARDEN_OSV_URL', DEFAULT_OSV_URL),
    ...(registryUrl ? { registryUrl } : {}),
    ...(registryAuthorization ? { registryAuthorization } : {}),
    ...(scopeRegistries.length > 0 ? { scopeRegistries } : {}),
    npm,
    downloadsUrl: url(
      'downloads API URL',
      flags.downloadsUrl,
      '--downloads-url',
      'LOCKWARDEN_DOWNLOADS_URL',
      DEFAULT_DOWNLOADS_URL,
    ),
    githubApiUrl: url(
      'GitHub API URL',
      flags.githubApiUrl,
      '--github-api-url',
      'GITHUB_API_URL',
      DEFAULT_GITHUB_API_URL,
    ),
    ...(githubToken ? { githubToken } : {}),
    gitBaseUrl: (env.GITHUB_SERVER_URL || DEFAULT_GIT_BASE_URL).replace(/\/+$/, ''),
    ...(flags.noCache
      ? {}
      : { cacheDir: resolveCacheDir({ env, ...(flags.cacheDir ? { override: flags.cacheDir } : {}) }) }),
    ...cacheLimit(flags.cacheMaxMb, env),
    http: {
      ...(timeoutMs === undefined
        ? {}
        : { timeoutMs, headersTimeoutMs: timeoutMs, bodyTimeoutMs: timeoutMs }),
      ...(Object.keys(network).length > 0 ? { network } : {}),
    },
  };
}

/** `--cache-max-mb` or `LOCKWARDEN_CACHE_MAX_MB`, in bytes. */
export function cacheLimit(flag: number | undefined, env: NodeJS.ProcessEnv): { cacheMaxBytes?: number } {
  const raw = flag ?? (env.LOCKWARDEN_CACHE_MAX_MB ? Number(env.LOCKWARDEN_CACHE_MAX_MB) : undefined);
  if (raw === undefined) return {};
  if (!Number.isFinite(raw) || raw <= 0) {
    throw new LockwardenError(
      'EUSAGE',
      `cache limit (--cache-max-mb or LOCKWARDEN_CACHE_MAX_MB): expected a positive number of MiB, got ${JSON.stringify(String(raw))}`,
    );
  }
  return { cacheMaxBytes: Math.round(raw * 1024 * 1024) };
}

export interface ClosableSources extends Sources {
  /** Closes the shared HTTP agent; call once when the run is over. */
  close(): Promise<void>;
}

export function createSources(
  config: SourceConfig,
  opts: { popular?: PopularList; now?: () => Date; http?: HttpClient } = {},
): ClosableSources {
  const http = opts.http ?? createHttpClient(config.http);
  const popular = opts.popular ?? readPopularList();
  const now = opts.now ?? (() => new Date());
  const cacheDir = config.cacheDir;
  const registryFor = (url: string, authorization: string | undefined, credentialsFrom?: string) =>
    createRegistrySource({
      url,
      http,
      now,
      ...(authorization ? { authorization } : {}),
      ...(credentialsFrom ? { credentialsFrom } : {}),
      ...(cacheDir ? { cacheDir } : {}),
      ...(config.registryFreshnessMs !== undefined ? { freshnessMs: config.registryFreshnessMs } : {}),
      ...(config.maxDocumentDepth !== undefined ? { maxDocumentDepth: config.maxDocumentDepth } : {}),
    });
  const defaultRegistry = config.registryUrl
    ? registryFor(
        config.registryUrl,
        config.registryToken ? `Bearer ${config.registryToken}` : config.registryAuthorization,
      )
    : createDeferredRegistrySource(async () => {
        const npm = await loadNpmConfig(config.npm);
        return registryFor(npm.registry, npm.authorizationFor(npm.registry));
      });
  const advisoriesAt = (url: string, authorization: string | undefined) =>
    createRegistryAdvisorySource({
      registryUrl: url,
      http,
      now,
      ...(authorization ? { authorization } : {}),
      ...(cacheDir ? { cacheDir } : {}),
    });
  const advisories: AdvisorySource =
    config.advisories === 'osv'
      ? // Loaded when first asked: its CVSS calculator is a start-up cost `check` rarely needs.
        createDeferredAdvisorySource('OSV', async () =>
          (await import('./osv-advisories-source.js')).createOsvAdvisorySource({
            url: config.osvUrl ?? DEFAULT_OSV_URL,
            http,
            now,
            ...(cacheDir ? { cacheDir } : {}),
          }),
        )
      : config.registryUrl
        ? advisoriesAt(
            config.registryUrl,
            config.registryToken ? `Bearer ${config.registryToken}` : config.registryAuthorization,
          )
        : createDeferredAdvisorySource('registry advisories', async () => {
            const npm = await loadNpmConfig(config.npm);
            return advisoriesAt(npm.registry, npm.authorizationFor(npm.registry));
          });
  const configured =
    config.scopeRegistries && config.scopeRegistries.length > 0
      ? createScopedRegistrySource(
          defaultRegistry,
          new Map(config.scopeRegistries.map((r) => [r.scope, registryFor(r.url, r.authorization)])),
        )
      : defaultRegistry;
  const downloads = createDownloadsSource({
    url: config.downloadsUrl,
    http,
    popular,
    now,
    ...(cacheDir ? { cacheDir } : {}),
    // --timeout applies as given; otherwise the downloads API's own, shorter deadline.
    ...(config.http.timeoutMs === undefined ? {} : { timeoutMs: config.http.timeoutMs }),
  });
  const downloadsOrigin = new URL(config.downloadsUrl).origin;
  const others: RegistrySource[] = [];
  const registry: RegistrySource = {
    ...configured,
    get url() {
      return configured.url;
    },
    stats: () => sumStats([configured, ...others]),
  };
  return {
    registry,
    registryAt(url, authorization, credentialsFrom) {
      const source = registryFor(url, authorization, credentialsFrom);
      others.push(source);
      return source;
    },
    downloads,
    tags: createTagsSource({
      apiUrl: config.githubApiUrl,
      gitBaseUrl: config.gitBaseUrl,
      http,
      now,
      env: config.npm.env,
      ...(config.cacheDir ? { cacheDir: config.cacheDir } : {}),
      ...(config.githubToken ? { token: config.githubToken } : {}),
    }),
    advisories,
    popular,
    health: () => {
      // The downloads source stops asking after a lookup got no answer, before its breaker has
      // seen enough failures to open: it is as good as open then.
      const downloadsDown = downloads.down?.();
      return http.health().map(({ source, origin, state, failures, lastFailure }) => {
        const quiet = downloadsDown !== undefined && origin === downloadsOrigin && state === 'closed';
        const failure = lastFailure ?? (quiet ? downloadsDown.reason : undefined);
        return {
          source,
          origin,
          state: quiet ? 'open' : state,
          failures,
          ...(failure !== undefined ? { lastFailure: failure } : {}),
        };
      });
    },
    close: async () => {
      flushFactCaches();
      if (cacheDir) {
        try {
          pruneCacheIfDue(cacheDir, {
            now: now(),
            ...(config.cacheMaxBytes === undefined ? {} : { maxBytes: config.cacheMaxBytes }),
          });
        } catch {
          // The cache only saves time: keeping it small must not fail the run.
        }
      }
      await flushDiskCaches();
      await http.close();
    },
  };
}

function tarballOf(
  source: RegistrySource,
  name: string,
  version: string,
  opts: Parameters<NonNullable<RegistrySource['getTarball']>>[2],
): Promise<TarballResult> {
  if (!source.getTarball)
    return Promise.resolve({ status: 'unavailable', source: 'registry', reason: 'tarballs not supported' });
  return source.getTarball(name, version, opts);
}

function sumStats(sources: readonly RegistrySource[]) {
  const total = { requests: 0, bytes: 0, cacheHits: 0, errors: 0 };
  for (const s of sources) {
    const st = s.stats();
    total.requests += st.requests;
    total.bytes += st.bytes;
    total.cacheHits += st.cacheHits;
    total.errors += st.errors;
  }
  return total;
}

/** Packages of a scope with its own `@scope:registry` are asked there, the rest of the default. */
export function createScopedRegistrySource(
  fallback: RegistrySource,
  scoped: Map<string, RegistrySource>,
): RegistrySource {
  const sourceFor = (name: string): RegistrySource => {
    if (!name.startsWith('@')) return fallback;
    return scoped.get(name.slice(0, name.indexOf('/')).toLowerCase()) ?? fallback;
  };
  return {
    get url() {
      return fallback.url;
    },
    getPackument: (name, opts) => sourceFor(name).getPackument(name, opts),
    getManifest: (name, version) => sourceFor(name).getManifest(name, version),
    getTarball: (name, version, opts) => tarballOf(sourceFor(name), name, version, opts),
    ...(fallback.ping ? { ping: () => fallback.ping!() } : {}),
    facts: {
      get: async (name, version) => sourceFor(name).facts?.get(name, version),
      put: (name, version, record) => sourceFor(name).facts?.put(name, version, record),
    },
    stats: () => sumStats([fallback, ...scoped.values()]),
  };
}

/** An advisory source made on first use (the registry's endpoint is looked up like the registry). */
function createDeferredAdvisorySource(
  source: string,
  resolve: () => Promise<AdvisorySource>,
): AdvisorySource {
  let inner: AdvisorySource | undefined;
  let pending: Promise<AdvisorySource> | undefined;
  return {
    source,
    async getAdvisories(versions) {
      pending ??= resolve().then((source) => {
        inner = source;
        return source;
      });
      return (await pending).getAdvisories(versions);
    },
    stats: () => inner?.stats() ?? { requests: 0, bytes: 0, cacheHits: 0, errors: 0 },
  };
}

/** A registry source whose URL is looked up on first use, so runs that never ask do not pay for it. */
function createDeferredRegistrySource(resolve: () => Promise<RegistrySource>): RegistrySource {
  let inner: RegistrySource | undefined;
  let pending: Promise<RegistrySource> | undefined;
  const get = async () => {
    pending ??= resolve().then((source) => {
      inner = source;
      return source;
    });
    return pending;
  };
  return {
    get url() {
      return inner?.url ?? 'the registry npm is configured with';
    },
    getPackument: async (name, o) => (await get()).getPackument(name, o),
    getManifest: async (name, version) => (await get()).getManifest(name, version),
    getTarball: async (name, version, opts) => tarballOf(await get(), name, version, opts),
    facts: {
      get: async (name, version) => (await get()).facts?.get(name, version),
      // Facts are learned from a document, which resolved the registry first.
      put: (name, version, record) => inner?.facts?.put(name, version, record),
    },
    stats: () => inner?.stats() ?? { requests: 0, bytes: 0, cacheHits: 0, errors: 0 },
  };
}
