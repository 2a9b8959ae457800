// Advisories from the registry's bulk endpoint, the protocol `npm audit` uses:
// `POST <registry>/-/npm/v1/security/advisories/bulk` with `{name: [versions]}` answers
// `{name: [{id, url, title, severity, vulnerable_versions, cvss}]}` for the advisories that
// concern any of those versions. Names go in batches, a few batches at a time.
import semver from 'semver';
import type { Advisory, Fact, Severity } from '../policy/types.js';
import { SEVERITIES } from '../policy/types.js';
import { createAdvisoryCache } from './advisory-cache.js';
import { createHttpClient, type HttpClient } from './http-client.js';
import { createSemaphore } from './semaphore.js';
import type { AdvisorySource, SourceStats } from './types.js';

export const REGISTRY_ADVISORIES = 'registry advisories';

export interface RegistryAdvisorySourceOptions {
  /** The registry's base URL (the endpoint path is appended). */
  registryUrl: string;
  /** The registry's `authorization` header, sent to the registry only. */
  authorization?: string;
  http?: HttpClient;
  cacheDir?: string;
  now?: () => Date;
  /** Package names per request. */
  batchSize?: number;
}

/**
 * 250 names (a few hundred versions, ~20 KB of JSON) per request: a 3,000-entry lockfile is a
 * dozen requests, four at a time, and each answer moves the progress.
 */
const DEFAULT_BATCH = 250;
const IN_FLIGHT = 4;
const ENDPOINT = '-/npm/v1/security/advisories/bulk';

export function createRegistryAdvisorySource(options: RegistryAdvisorySourceOptions): AdvisorySource {
  const base = options.registryUrl.endsWith('/') ? options.registryUrl : `${options.registryUrl}/`;
  const url = base + ENDPOINT;
  const http = options.http ?? createHttpClient();
  const now = options.now ?? (() => new Date());
  const stats: SourceStats = { requests: 0, bytes: 0, cacheHits: 0, errors: 0 };
  const cache = createAdvisoryCache({
    namespace: `advisories:${base}`,
    now,
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
  });
  const inFlight = createSemaphore(IN_FLIGHT);
  const batchSize = options.batchSize ?? DEFAULT_BATCH;

  async function ask(batch: [string, string[]][]): Promise<Map<string, Fact<Advisory[]>>> {
    const res = await inFlight(() =>
      http.request({
        url,
        source: REGISTRY_ADVISORIES,
        method: 'POST',
        idempotent: true, // a query: safe to send again
        body: JSON.stringify(Object.fromEntries(batch)),
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(options.authorization ? { authorization: options.authorization } : {}),
        },
        stats,
      }),
    );
    const all = (fact: Fact<Advisory[]>) => new Map(batch.map(([name]) => [name, fact]));
    const fail = (why: string): Map<string, Fact<Advisory[]>> => {
      stats.errors++;
      return all({
        status: 'unavailable',
        source: REGISTRY_ADVISORIES,
        reason: `${REGISTRY_ADVISORIES} ${url}: ${why}`,
      });
    };
    if (res.status === 'unavailable')
      return all({ status: 'unavailable', source: REGISTRY_ADVISORIES, reason: res.reason });
    if (res.statusCode === 404 || res.statusCode === 405 || res.statusCode === 501)
      return fail(`the registry has no advisory endpoint (HTTP ${res.statusCode}); use --advisories osv`);
    if (res.statusCode !== 200) return fail(`unexpected HTTP ${res.statusCode}`);
    let body: unknown;
    try {
      body = JSON.parse(res.body.toString('utf8'));
    } catch {
      return fail('invalid JSON');
    }
    if (!isObject(body)) return fail('response is not a JSON object');
    const out = new Map<string, Fact<Advisory[]>>();
    for (const [name, versions] of batch) {
      const raw = Object.hasOwn(body, name) ? body[name] : [];
      const parsed = Array.isArray(raw) ? raw.map(readAdvisory) : ['not a list'];
      const bad = parsed.find((a): a is string => typeof a === 'string');
      if (bad !== undefined) {
        out.set(name, {
          status: 'unavailable',
          source: REGISTRY_ADVISORIES,
          reason: `${REGISTRY_ADVISORIES} ${url}: unreadable advisory for ${name}: ${bad}`,
        });
        stats.errors++;
        continue;
      }
      const advisories = parsed as Advisory[];
      await cache.put(name, versions, advisories);
      out.set(name, { status: 'ok', value: advisories });
    }
    return out;
  }

  return {
    source: REGISTRY_ADVISORIES,
    async getAdvisories(requested) {
      const results = new Map<string, Fact<Advisory[]>>();
      const toAsk: [string, string[]][] = [];
      for (const [name, versions] of requested) {
        const unique = [...new Set(versions)].sort();
        const kept = await cache.get(name, unique);
        if (kept) {
          stats.cacheHits++;
          results.set(name, { status: 'ok', value: kept });
        } else toAsk.push([name, unique]);
      }
      toAsk.sort((a, b) => (a[0] < b[0] ? -1 : 1));
      const batches: [string, string[]][][] = [];
      for (let i = 0; i < toAsk.length; i += batchSize) batches.push(toAsk.slice(i, i + batchSize));
      for (const answers of await Promise.all(batches.map(ask)))
        for (const [name, fact] of answers) results.set(name, fact);
      return new Map([...requested.keys()].map((name) => [name, results.get(name)!]));
    },
    stats: () => ({ ...stats }),
  };
}

const GHSA = /GHSA(?:-[0-9a-z]{4}){3}/i;

/** One advisory of the bulk answer, or why it cannot be read. */
export function readAdvisory(raw: unknown): Advisory | string {
  if (!isObject(raw)) return 'not an object';
  const range = raw.vulnerable_versions;
  if (typeof range !== 'string' || semver.validRange(range, { loose: true }) === null)
    return `vulnerable_versions ${JSON.stringify(range)} is not a semver range`;
  const severity = readSeverity(raw.severity);
  if (!severity) return `severity ${JSON.stringify(raw.severity)} is not one of ${SEVERITIES.join(', ')}`;
  const url = typeof raw.url === 'string' ? raw.url : undefined;
  const ghsa =
    (typeof raw.github_advisory_id === 'string' ? raw.github_advisory_id : undefined) ??
    url?.match(GHSA)?.[0];
  const numeric = typeof raw.id === 'number' || typeof raw.id === 'string' ? String(raw.id) : undefined;
  const id = ghsa ?? numeric;
  if (!id) return 'no id';
  const cvss = isObject(raw.cvss) && typeof raw.cvss.score === 'number' ? raw.cvss.score : undefined;
  const advisory: Advisory = {
    id,
    aliases: numeric && numeric !== id ? [numeric] : [],
    severity,
    title: typeof raw.title === 'string' && raw.title.trim() !== '' ? raw.title.trim().slice(0, 300) : id,
    vulnerableVersions: range,
  };
  if (url && /^https?:\/\//.test(url)) advisory.url = url;
  if (cvss !== undefined && cvss > 0 && cvss <= 10) advisory.cvssScore = cvss;
  return advisory;
}

/** The registry's severities; `info` (advisories of no real risk) counts as the lowest. */
export function readSeverity(raw: unknown): Severity | undefined {
  if (typeof raw !== 'string') return undefined;
  const s = raw.toLowerCase();
  if (s === 'info') return 'low';
  if (s === 'medium') return 'moderate';
  return (SEVERITIES as readonly string[]).includes(s) ? (s as Severity) : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
