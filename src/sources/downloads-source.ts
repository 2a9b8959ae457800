// Weekly download counts from the npm downloads API. Unscoped names go in bulk requests of up
// to 128 (the API's limit); scoped names cannot be bulked and are asked one by one. When the API
// cannot be reached, popular packages fall back to the embedded snapshot, marked as such.
import { weeklyFromMonthly } from '../policy/popular-index.js';
import type { Fact, PopularPackage, WeeklyDownloads } from '../policy/types.js';
import { createDiskCache } from './disk-cache.js';
import { createHttpClient, type HttpClient, type HttpResult } from './http-client.js';
import { explainInvalidPackageName } from './package-name.js';
import { createSemaphore } from './semaphore.js';
import type { DownloadsSource, PopularList, SourceStats } from './types.js';

export interface DownloadsSourceOptions {
  /** Base URL of the downloads API (the part before `downloads/point/...`). */
  url: string;
  http?: HttpClient;
  cacheDir?: string;
  popular?: PopularList;
  now?: () => Date;
  /** How long a count from the API is reused without asking again. */
  cacheTtlMs?: number;
  /** Names per bulk request; the public API accepts at most 128. */
  batchSize?: number;
  /** Deadline of one lookup, retries included. */
  timeoutMs?: number;
}

const SOURCE = 'downloads API';
const DEFAULT_TTL_MS = 12 * 60 * 60 * 1000;
/** How long a count far above the caller's floor is kept (`keepIfAtLeast`). */
const KEEP_HIGH_COUNT_MS = 7 * 24 * 60 * 60 * 1000;
const MAX_BATCH = 128;
/**
 * A bulk lookup answers in well under a second when the API is up. A popularity figure is not worth
 * holding an audit up for the HTTP layer's general deadline: one that takes longer leaves the
 * fact unavailable (popular names fall back to the embedded list), and the breaker keeps the
 * rest of the run from asking again.
 */
const DEFAULT_TIMEOUT_MS = 5_000;
/**
 * Lookups in flight at once, fewer than the HTTP layer's pool per origin: the deadline runs from
 * when a request enters the HTTP layer, so a lookup must not spend it queued behind hundreds of
 * scoped names on a busy machine (a healthy API would then look down).
 */
const MAX_IN_FLIGHT = 16;

type Outcome = { count: number } | { failure: string };

export function createDownloadsSource(options: DownloadsSourceOptions): DownloadsSource {
  const url = options.url.endsWith('/') ? options.url : `${options.url}/`;
  const endpoint = `${url}downloads/point/last-week/`;
  const http = options.http ?? createHttpClient();
  const cache = options.cacheDir ? createDiskCache(options.cacheDir) : undefined;
  const now = options.now ?? (() => new Date());
  const ttlMs = options.cacheTtlMs ?? DEFAULT_TTL_MS;
  const batchSize = Math.min(options.batchSize ?? MAX_BATCH, MAX_BATCH);
  const namespace = `downloads:${url}`;
  const stats: SourceStats = { requests: 0, bytes: 0, cacheHits: 0, errors: 0 };
  const inFlight = createSemaphore(MAX_IN_FLIGHT);
  // Built when the API first fails: a run whose figures all come from the API (or that never
  // asks, like `lockwarden check` under a name-only policy) does not pay for a 20,000-entry Map.
  let snapshot: Map<string, number> | undefined;
  const snapshotOf = () =>
    (snapshot ??= new Map(
      (options.popular?.packages ?? []).map((p: PopularPackage | readonly [string, number]) =>
        Array.isArray(p)
          ? [p[0], p[1]]
          : [(p as PopularPackage).name, (p as PopularPackage).monthlyDownloads],
      ),
    ));

  /**
   * Set when a lookup got no answer (no connection, its deadline passed, the breaker refused it),
   * cleared by any answer. While set, lookups do not wait for the API: popular names get the
   * embedded list at once, others an unavailable fact, and one lookup at a time goes out in the
   * background to learn when it is back. An outage then costs one deadline in all, not one per
   * lookup until the HTTP layer's breaker opens (five in a row) and one more per cool-down.
   */
  let down: { reason: string } | undefined;
  let probing = false;

  const toFact = (name: string, outcome: Outcome): Fact<WeeklyDownloads> => {
    if ('count' in outcome) return { status: 'ok', value: { count: outcome.count, origin: 'api' } };
    const monthly = snapshotOf().get(name);
    if (monthly !== undefined && options.popular) {
      return {
        status: 'ok',
        value: { count: weeklyFromMonthly(monthly), origin: 'snapshot', asOf: options.popular.asOf },
      };
    }
    return { status: 'unavailable', source: SOURCE, reason: outcome.failure };
  };

  async function ask(names: string[]): Promise<Map<string, Outcome>> {
    // Scoped names are sent unencoded (`@scope/name`), as the API documents them.
    const requestUrl = endpoint + names.map((n) => (n.startsWith('@') ? n : encodeURIComponent(n))).join(',');
    const res = await inFlight(() =>
      http.request({
        url: requestUrl,
        source: SOURCE,
        stats,
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      }),
    );
    down = res.status === 'unavailable' ? { reason: res.reason } : undefined;
    return interpret(res, names, requestUrl);
  }

  /** One group's lookup and what it learned kept, as `getWeeklyDownloads` does for its callers. */
  async function lookUp(group: string[], nowMs: number): Promise<Map<string, Outcome>> {
    const outcomes = await ask(group);
    for (const [name, outcome] of outcomes) {
      if (!('count' in outcome)) continue;
      await cache?.write(namespace, name, {
        body: Buffer.from(JSON.stringify({ count: outcome.count })),
        fetchedAtMs: nowMs,
      });
    }
    return outcomes;
  }

  /** The background lookup while the API is down; its counts are kept for the next callers. */
  function probe(group: string[], nowMs: number): void {
    if (probing) return;
    probing = true;
    lookUp(group, nowMs)
      .catch(() => {})
      .finally(() => {
        probing = false;
      });
  }

  function interpret(res: HttpResult, names: string[], requestUrl: string): Map<string, Outcome> {
    const all = (outcome: Outcome) => new Map(names.map((n) => [n, outcome]));
    if (res.status === 'unavailable') return all({ failure: res.reason });
    const fail = (why: string) => {
      stats.errors++;
      return all({ failure: `${SOURCE} ${requestUrl}: ${why}` });
    };
    let body: unknown;
    try {
      body = JSON.parse(res.body.toString('utf8'));
    } catch {
      return fail(
        res.statusCode === 200 ? 'invalid JSON from downloads API' : `unexpected HTTP ${res.statusCode}`,
      );
    }
    // The API answers `404 {"error": "package x not found"}` for names it has no data on: a new
    // package has no downloads yet. A 404 without that shape is a wrong URL, not a zero.
    if (res.statusCode === 404 && isObject(body) && /package.*not found/i.test(String(body.error))) {
      return all({ count: 0 });
    }
    if (res.statusCode !== 200) {
      const message = isObject(body) && typeof body.error === 'string' ? ` (${body.error})` : '';
      return fail(`unexpected HTTP ${res.statusCode}${message}`);
    }
    if (!isObject(body)) return fail('response is not a JSON object');
    // One name, or a bulk request of one, comes back in the single shape.
    if (typeof body.downloads === 'number' || typeof body.package === 'string') {
      const count = readCount(body);
      if (names.length !== 1 || count === undefined) return fail('response has no download count');
      return all({ count });
    }
    const out = new Map<string, Outcome>();
    for (const name of names) {
      const entry = Object.hasOwn(body, name) ? body[name] : undefined;
      if (entry === null) out.set(name, { count: 0 });
      else if (isObject(entry) && readCount(entry) !== undefined) out.set(name, { count: readCount(entry)! });
      else {
        stats.errors++;
        out.set(name, { failure: `${SOURCE} ${requestUrl}: response has no entry for ${name}` });
      }
    }
    return out;
  }

  return {
    url,
    async getWeeklyDownloads(requested, opts = {}) {
      const results = new Map<string, Fact<WeeklyDownloads>>();
      const unique = [...new Set(requested)];
      const nowMs = now().getTime();
      const toAsk: string[] = [];
      await Promise.all(
        unique.map(async (name) => {
          const why = explainInvalidPackageName(name);
          if (why !== undefined) {
            results.set(name, {
              status: 'unavailable',
              source: SOURCE,
              reason: `${SOURCE}: ${JSON.stringify(name)} is not a valid npm package name: ${why}`,
            });
            return;
          }
          const cached = await cache?.read(namespace, name);
          const kept = cached ? parseCachedCount(cached.body) : undefined;
          const age = cached ? nowMs - cached.fetchedAtMs : Number.POSITIVE_INFINITY;
          const count =
            kept !== undefined &&
            (age < ttlMs ||
              (opts.keepIfAtLeast !== undefined && kept >= opts.keepIfAtLeast && age < KEEP_HIGH_COUNT_MS))
              ? kept
              : undefined;
          if (count !== undefined) {
            stats.cacheHits++;
            results.set(name, { status: 'ok', value: { count, origin: 'api' } });
          } else {
            toAsk.push(name);
          }
        }),
      );
      toAsk.sort();
      const unscoped = toAsk.filter((n) => !n.startsWith('@'));
      const groups = toAsk.filter((n) => n.startsWith('@')).map((n) => [n]);
      for (let i = 0; i < unscoped.length; i += batchSize) groups.push(unscoped.slice(i, i + batchSize));
      if (down && groups.length > 0) {
        const failure = `${down.reason} (not asked again until it answers; asking in the background)`;
        for (const name of toAsk) results.set(name, toFact(name, { failure }));
        probe(groups[0]!, nowMs);
      } else {
        await Promise.all(
          groups.map(async (group) => {
            for (const [name, outcome] of await lookUp(group, nowMs))
              results.set(name, toFact(name, outcome));
          }),
        );
      }
      // Keep the caller's order.
      return new Map(unique.map((name) => [name, results.get(name)!]));
    },
    down: () => (down ? { ...down } : undefined),
    stats: () => ({ ...stats }),
  };
}

function readCount(entry: Record<string, unknown>): number | undefined {
  const n = entry.downloads;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}

function parseCachedCount(body: Buffer): number | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return isObject(value) ? readCount({ downloads: value.count }) : undefined;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
