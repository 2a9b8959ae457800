// Packuments and per-version manifests from the npm registry the user's npm is configured with.
// Public registries answer the abbreviated Accept header, ETags and gzip; mirrors may ignore all
// three. Either way callers get a result value: ok (maybe from cache), not-found, or unavailable.

import { LockwardenError } from '../errors.js';
import { type CacheEntry, createDiskCache } from './disk-cache.js';
import { createFactCache, type VersionRecord } from './fact-cache.js';
import { createHttpClient, type HttpClient } from './http-client.js';
import { assertValidPackageName, encodePackageName, explainInvalidVersionSegment } from './package-name.js';
import { type ParseResult, parseManifest, parsePackument } from './parse-registry-document.js';
import { matchesIntegrity } from './tarball-integrity.js';
import type {
  Manifest,
  ManifestResult,
  Packument,
  PackumentResult,
  RegistrySource,
  SourceStats,
} from './types.js';

export interface RegistrySourceOptions {
  /** Registry base URL; a trailing slash is added when missing. */
  url: string;
  /** Bearer token (beats `authorization`). */
  token?: string;
  /** A ready `authorization` header (npm's `_auth`, `username`/`_password`, or a Bearer token). */
  authorization?: string;
  /** Directory for the on-disk cache; no disk cache when omitted. */
  cacheDir?: string;
  http?: HttpClient;
  now?: () => Date;
  /** Within this age a cached document is used without asking the registry. */
  freshnessMs?: number;
  /**
   * Given (the proxy): packuments are indexed, not parsed whole (parse-registry-document.ts), and
   * ones nested deeper than this are unavailable.
   */
  maxDocumentDepth?: number;
  /** The setting that names this registry, for the hint on a 401 or 403 (default: `.npmrc`). */
  credentialsFrom?: string;
}

const SOURCE = 'registry';
const ABBREVIATED_ACCEPT = 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*';
const FULL_ACCEPT = 'application/json';
const DEFAULT_FRESHNESS_MS = 5 * 60 * 1000;

type DocResult<T> =
  | { status: 'ok'; value: T; fromCache: 'fresh' | 'revalidated' | 'stale' | false }
  | { status: 'not-found' }
  | { status: 'unavailable'; source: string; reason: string };

export function createRegistrySource(options: RegistrySourceOptions): RegistrySource {
  // Credentials in the URL (`https://user:pass@host/`) become a header: the URL itself shows up
  // in messages, logs and the service's health output.
  const parsedUrl = new URL(normalizeRegistryUrl(options.url));
  const basicAuth =
    parsedUrl.username || parsedUrl.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(parsedUrl.username)}:${decodeURIComponent(parsedUrl.password)}`).toString('base64')}`
      : undefined;
  parsedUrl.username = '';
  parsedUrl.password = '';
  const url = parsedUrl.href;
  const origin = parsedUrl.origin;
  const http = options.http ?? createHttpClient();
  const cache = options.cacheDir ? createDiskCache(options.cacheDir) : undefined;
  const now = options.now ?? (() => new Date());
  const factCache = options.cacheDir ? createFactCache(options.cacheDir, url, now) : undefined;
  const freshnessMs = options.freshnessMs ?? DEFAULT_FRESHNESS_MS;
  const namespace = `registry:${url}`;
  const stats: SourceStats = { requests: 0, bytes: 0, cacheHits: 0, errors: 0 };
  const inFlight = new Map<string, Promise<unknown>>();

  function dedupe<T>(key: string, run: () => Promise<T>): Promise<T> {
    const existing = inFlight.get(key);
    if (existing) return existing as Promise<T>;
    const promise = run().finally(() => inFlight.delete(key));
    inFlight.set(key, promise);
    return promise;
  }

  async function fetchDocument<T>(req: {
    /** Cache keys to consult, best first; the first one is the key this response is stored under. */
    keys: string[];
    /** Picks the key a fetched document belongs under (a mirror answers full for an abbreviated ask). */
    storeKey: (value: T) => string;
    path: string;
    accept: string;
    parse: (body: Buffer) => ParseResult<T>;
    /** Ask upstream even when the cached copy is fresh (a version the copy lacks was asked for). */
    revalidate?: boolean;
  }): Promise<DocResult<T>> {
    const docUrl = url + req.path;
    // Defence in depth: the validated name cannot leave the registry, but the check is cheap.
    if (new URL(docUrl).origin !== origin)
      throw new LockwardenError('EINVALIDNAME', `refusing to request ${docUrl}`);
    const nowMs = now().getTime();
    const cached = await readBest(req.keys, nowMs);
    const parseCached = (): T | undefined => {
      if (!cached) return undefined;
      const parsed = req.parse(cached.entry.body);
      return parsed.ok ? parsed.value : undefined;
    };
    if (cached && !req.revalidate && nowMs - cached.entry.fetchedAtMs < freshnessMs) {
      const value = parseCached();
      if (value !== undefined) {
        stats.cacheHits++;
        return { status: 'ok', value, fromCache: 'fresh' };
      }
    }
    const headers: Record<string, string> = { accept: req.accept, ...authHeader() };
    // An ETag only validates the representation it came with.
    if (cached?.entry.etag && cached.key === req.keys[0]) headers['if-none-match'] = cached.entry.etag;
    const res = await http.request({ url: docUrl, source: SOURCE, headers, stats });

    const staleOr = (reason: string): DocResult<T> => {
      const value = parseCached();
      if (value !== undefined) {
        stats.cacheHits++;
        return { status: 'ok', value, fromCache: 'stale' };
      }
      return { status: 'unavailable', source: SOURCE, reason };
    };
    if (res.status === 'unavailable') return staleOr(res.reason);
    if (res.statusCode === 304 && cached) {
      const value = parseCached();
      if (value !== undefined) {
        stats.cacheHits++;
        void cache?.write(namespace, cached.key, { ...cached.entry, fetchedAtMs: nowMs });
        return { status: 'ok', value, fromCache: 'revalidated' };
      }
    }
    if (res.statusCode === 404) return { status: 'not-found' };
    if (res.statusCode !== 200) {
      stats.errors++;
      const hint =
        res.statusCode === 401 || res.statusCode === 403
          ? options.credentialsFrom
            ? ` (the registry refused access; check the credentials for the registry set by ${options.credentialsFrom})`
            : ' (the registry refused access; check the auth token for it in .npmrc)'
          : '';
      return staleOr(`${SOURCE} ${docUrl}: unexpected HTTP ${res.statusCode}${hint}`);
    }
    const parsed = req.parse(res.body);
    if (!parsed.ok) {
      stats.errors++;
      return staleOr(`${SOURCE} ${docUrl}: ${parsed.reason} from registry`);
    }
    void cache?.write(namespace, req.storeKey(parsed.value), {
      body: res.body,
      fetchedAtMs: nowMs,
      ...(res.headers.etag ? { etag: res.headers.etag } : {}),
    });
    return { status: 'ok', value: parsed.value, fromCache: false };
  }

  /** The registry's credentials, for requests to its own origin only. */
  function authHeader(): { authorization?: string } {
    const value = options.token ? `Bearer ${options.token}` : options.authorization || basicAuth;
    return value ? { authorization: value } : {};
  }

  /** The first fresh entry among `keys`, else the most recently fetched one (read lazily: documents are big). */
  async function readBest(keys: string[], nowMs: number) {
    if (!cache) return undefined;
    let best: { key: string; entry: CacheEntry } | undefined;
    for (const key of keys) {
      const entry = await cache.read(namespace, key);
      if (!entry) continue;
      if (nowMs - entry.fetchedAtMs < freshnessMs) return { key, entry };
      if (!best || entry.fetchedAtMs > best.entry.fetchedAtMs) best = { key, entry };
    }
    return best;
  }

  return {
    url,
    async getPackument(name, opts) {
      const full = opts.full;
      assertValidPackageName(name, 'registry lookup');
      const fullKey = `full:${name}`;
      const abbrKey = `abbreviated:${name}`;
      const revalidate = opts.revalidate === true;
      return dedupe(
        `${full ? fullKey : abbrKey}${revalidate ? ':revalidate' : ''}`,
        async (): Promise<PackumentResult> => {
          const result = await fetchDocument<Packument>({
            revalidate,
            // A full document also answers an abbreviated question.
            keys: full ? [fullKey] : [abbrKey, fullKey],
            storeKey: (doc) => (doc.time ? fullKey : abbrKey),
            path: encodePackageName(name),
            accept: full ? FULL_ACCEPT : ABBREVIATED_ACCEPT,
            parse: (body) => parsePackument(body, name, options.maxDocumentDepth),
          });
          if (result.status !== 'ok') return result;
          return {
            status: 'ok',
            packument: result.value,
            abbreviated: result.value.time === undefined,
            fromCache: result.fromCache,
          };
        },
      );
    },
    async getManifest(name, version) {
      assertValidPackageName(name, 'registry lookup');
      const why = explainInvalidVersionSegment(version);
      if (why !== undefined) {
        throw new LockwardenError(
          'EINVALIDNAME',
          `registry lookup: ${JSON.stringify(version)} is not a usable version of ${name}: ${why}`,
        );
      }
      const key = `manifest:${name}@${version}`;
      return dedupe(key, async (): Promise<ManifestResult> => {
        const result = await fetchDocument<Manifest>({
          keys: [key],
          storeKey: () => key,
          path: `${encodePackageName(name)}/${encodeURIComponent(version)}`,
          accept: FULL_ACCEPT,
          parse: parseManifest,
        });
        return result.status === 'ok' ? { status: 'ok', manifest: result.value } : result;
      });
    },
    async getTarball(name, version, opts) {
      assertValidPackageName(name, 'tarball');
      const why = explainInvalidVersionSegment(version);
      if (why !== undefined) {
        throw new LockwardenError('EINVALIDNAME', `tarball: ${JSON.stringify(version)} of ${name}: ${why}`);
      }
      // A document's dist.tarball may name any host; bytes (and credentials) only come from here.
      let tarUrl = `${url}${name}/-/${name.replace(/^@[^/]+\//, '')}-${encodeURIComponent(version)}.tgz`;
      if (opts.tarballUrl) {
        try {
          if (new URL(opts.tarballUrl).origin === origin) tarUrl = new URL(opts.tarballUrl).href;
        } catch {
          // unparseable: the registry's own path is used
        }
      }
      // The same credentials as the registry's documents: tarUrl is on its origin (checked above).
      const headers: Record<string, string> = { accept: 'application/octet-stream', ...authHeader() };
      const res = await http.request({
        url: tarUrl,
        source: SOURCE,
        headers,
        stats,
        maxBodyBytes: opts.maxBytes,
      });
      if (res.status === 'unavailable') return res;
      if (res.statusCode === 404) return { status: 'not-found' };
      if (res.statusCode !== 200) {
        stats.errors++;
        return {
          status: 'unavailable',
          source: SOURCE,
          reason: `${SOURCE} ${tarUrl}: unexpected HTTP ${res.statusCode}`,
        };
      }
      if (opts.integrity && !matchesIntegrity(res.body, opts.integrity)) {
        stats.errors++;
        return {
          status: 'unavailable',
          source: SOURCE,
          reason: `${SOURCE} ${tarUrl}: the tarball does not match the integrity the registry published`,
        };
      }
      return { status: 'ok', bytes: res.body };
    },
    async ping() {
      // Not counted in `stats`: those are the documents and tarballs asked for.
      const started = performance.now();
      const res = await http.request({
        url: `${url}-/ping`,
        source: SOURCE,
        headers: { accept: 'application/json', ...authHeader() },
      });
      if (res.status === 'unavailable') return { ok: false, reason: res.reason };
      return { ok: true, statusCode: res.statusCode, ms: Math.round(performance.now() - started) };
    },
    ...(factCache
      ? {
          facts: {
            get: async (name: string, version: string) => factCache.get(name, version),
            put: (name: string, version: string, record: VersionRecord) =>
              factCache.put(name, version, record),
          },
        }
      : {}),
    stats: () => ({ ...stats }),
  };
}

/** `http://host/path` → `http://host/path/`; throws ECONFIG for anything that is not an http(s) URL. */
export function normalizeRegistryUrl(raw: string, what = 'registry URL'): string {
  let parsed: URL;
  try {
    parsed = new URL(raw.trim());
  } catch {
    throw new LockwardenError('ECONFIG', `${what} ${JSON.stringify(raw)} is not a valid URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new LockwardenError('ECONFIG', `${what} ${JSON.stringify(raw)} must be http:// or https://`);
  }
  parsed.search = '';
  parsed.hash = '';
  const href = parsed.href;
  return href.endsWith('/') ? href : `${href}/`;
}
