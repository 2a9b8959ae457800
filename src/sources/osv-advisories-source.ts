// Advisories from OSV (`--advisories osv`): one `POST /v1/querybatch` entry per package name (no
// version: the fast lane and the first fixed version need every advisory of the package, not only
// those of the pinned versions), up to 1,000 per request as the API allows; then each advisory's
// record (`GET /v1/vulns/<id>`), kept until OSV reports a newer `modified` for it.
// A CommonJS package whose exports Node cannot name statically: imported whole.
import cvss from 'ae-cvss-calculator';
import semver from 'semver';
import type { Advisory, Fact, Severity } from '../policy/types.js';
import { createAdvisoryCache } from './advisory-cache.js';
import { createDiskCache } from './disk-cache.js';
import { createHttpClient, type HttpClient } from './http-client.js';
import { readSeverity } from './registry-advisories-source.js';
import { createSemaphore } from './semaphore.js';
import type { AdvisorySource, SourceStats } from './types.js';

export const OSV = 'OSV';
const MAX_QUERIES = 1000;
const RECORDS_IN_FLIGHT = 8;

export interface OsvAdvisorySourceOptions {
  /** OSV's base URL (the part before `v1/`). */
  url: string;
  http?: HttpClient;
  cacheDir?: string;
  now?: () => Date;
  /** Queries per batch request (OSV accepts at most 1,000). */
  batchSize?: number;
}

type Outcome = { advisories: Advisory[] } | { failure: string };
type RecordOutcome = { record: unknown } | { failure: string };

export function createOsvAdvisorySource(options: OsvAdvisorySourceOptions): AdvisorySource {
  const base = options.url.endsWith('/') ? options.url : `${options.url}/`;
  const http = options.http ?? createHttpClient();
  const now = options.now ?? (() => new Date());
  const stats: SourceStats = { requests: 0, bytes: 0, cacheHits: 0, errors: 0 };
  const answers = createAdvisoryCache({
    namespace: `osv:${base}`,
    now,
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
  });
  // Records change rarely and are named with their `modified` by every batch answer.
  const records = options.cacheDir ? createDiskCache(options.cacheDir) : undefined;
  const recordNamespace = `osv-record:${base}`;
  const memo = new Map<string, Promise<RecordOutcome>>();
  const inFlight = createSemaphore(RECORDS_IN_FLIGHT);
  const batchSize = Math.min(options.batchSize ?? MAX_QUERIES, MAX_QUERIES);

  const failed = (why: string): { failure: string } => {
    stats.errors++;
    return { failure: why };
  };

  async function record(id: string, modified: string): Promise<RecordOutcome> {
    const key = `${id}\0${modified}`;
    let pending = memo.get(key);
    if (!pending) {
      pending = readRecord(id, modified);
      memo.set(key, pending);
    }
    return pending;
  }

  async function readRecord(id: string, modified: string): Promise<RecordOutcome> {
    const cacheKey = `${id}\0${modified}`;
    const kept = await records?.read(recordNamespace, cacheKey);
    let body: Buffer;
    if (kept) {
      stats.cacheHits++;
      body = kept.body;
    } else {
      const url = `${base}v1/vulns/${encodeURIComponent(id)}`;
      const res = await inFlight(() =>
        http.request({ url, source: OSV, stats, headers: { accept: 'application/json' } }),
      );
      if (res.status === 'unavailable') return { failure: res.reason };
      if (res.statusCode !== 200) return failed(`${OSV} ${url}: unexpected HTTP ${res.statusCode}`);
      body = res.body;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return failed(`${OSV} record ${id}: invalid JSON`);
    }
    if (!kept) await records?.write(recordNamespace, cacheKey, { body, fetchedAtMs: now().getTime() });
    return { record: parsed };
  }

  async function askBatch(names: string[]): Promise<Map<string, Outcome>> {
    const url = `${base}v1/querybatch`;
    const res = await http.request({
      url,
      source: OSV,
      method: 'POST',
      idempotent: true, // a query: safe to send again
      body: JSON.stringify({ queries: names.map((name) => ({ package: { name, ecosystem: 'npm' } })) }),
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      stats,
    });
    const all = (o: Outcome) => new Map(names.map((n) => [n, o]));
    if (res.status === 'unavailable') return all({ failure: res.reason });
    if (res.statusCode !== 200) return all(failed(`${OSV} ${url}: unexpected HTTP ${res.statusCode}`));
    let body: { results?: unknown };
    try {
      body = JSON.parse(res.body.toString('utf8'));
    } catch {
      return all(failed(`${OSV} ${url}: invalid JSON`));
    }
    const results = body?.results;
    if (!Array.isArray(results) || results.length !== names.length)
      return all(failed(`${OSV} ${url}: expected ${names.length} results`));
    const out = new Map<string, Outcome>();
    await Promise.all(
      names.map(async (name, i) => {
        const result = results[i] as {
          vulns?: { id?: unknown; modified?: unknown }[];
          next_page_token?: unknown;
        };
        if (result?.next_page_token) {
          out.set(name, failed(`${OSV} ${url}: more advisories for ${name} than one answer holds`));
          return;
        }
        const advisories: Advisory[] = [];
        for (const vuln of result?.vulns ?? []) {
          if (typeof vuln?.id !== 'string') {
            out.set(name, failed(`${OSV} ${url}: an advisory of ${name} has no id`));
            return;
          }
          const got = await record(vuln.id, typeof vuln.modified === 'string' ? vuln.modified : '');
          if ('failure' in got) {
            out.set(name, got);
            return;
          }
          const advisory = readOsvRecord(got.record, name);
          if (typeof advisory === 'string') {
            out.set(name, failed(`${OSV} record ${vuln.id}: ${advisory}`));
            return;
          }
          if (advisory) advisories.push(advisory);
        }
        await answers.put(name, ['*'], advisories);
        out.set(name, { advisories });
      }),
    );
    return out;
  }

  return {
    source: OSV,
    async getAdvisories(requested) {
      const results = new Map<string, Fact<Advisory[]>>();
      const toAsk: string[] = [];
      for (const name of requested.keys()) {
        const kept = await answers.get(name, ['*']);
        if (kept) {
          stats.cacheHits++;
          results.set(name, { status: 'ok', value: kept });
        } else toAsk.push(name);
      }
      toAsk.sort();
      const batches: string[][] = [];
      for (let i = 0; i < toAsk.length; i += batchSize) batches.push(toAsk.slice(i, i + batchSize));
      for (const outcomes of await Promise.all(batches.map(askBatch))) {
        for (const [name, o] of outcomes)
          results.set(
            name,
            'failure' in o
              ? { status: 'unavailable', source: OSV, reason: o.failure }
              : { status: 'ok', value: o.advisories },
          );
      }
      return new Map([...requested.keys()].map((name) => [name, results.get(name)!]));
    },
    stats: () => ({ ...stats }),
  };
}

const GHSA = /^GHSA-/i;

/**
 * An OSV record as an advisory about `name`: its ranges (SEMVER or ECOSYSTEM events, explicit
 * versions) become one semver range. Undefined when the record concerns another package (an
 * alias); a string says why it cannot be read.
 */
export function readOsvRecord(raw: unknown, name: string): Advisory | string | undefined {
  if (!isObject(raw) || typeof raw.id !== 'string') return 'not an OSV record';
  if (typeof raw.withdrawn === 'string') return undefined;
  const affected = Array.isArray(raw.affected) ? raw.affected.filter(isObject) : [];
  const mine = affected.filter((a) => {
    const pkg = isObject(a.package) ? a.package : {};
    return pkg.ecosystem === 'npm' && pkg.name === name;
  });
  if (mine.length === 0) return undefined;
  const parts: string[] = [];
  let limited = false;
  for (const entry of mine) {
    for (const version of Array.isArray(entry.versions) ? entry.versions : [])
      if (typeof version === 'string' && /^[0-9A-Za-z.+-]+$/.test(version)) parts.push(version);
    for (const range of Array.isArray(entry.ranges) ? entry.ranges.filter(isObject) : []) {
      if (range.type !== 'SEMVER' && range.type !== 'ECOSYSTEM') continue;
      const events = Array.isArray(range.events) ? range.events.filter(isObject) : [];
      const made = rangeFromEvents(events);
      if ('problem' in made) return made.problem;
      if (made.limited) limited = true;
      parts.push(...(made.range === '' ? [] : [made.range]));
    }
  }
  if (parts.length === 0) return `no versions or ranges for ${name}`;
  // A range semver cannot read matches no version: the advisory would silently affect nothing.
  const vulnerableVersions = parts.join(' || ');
  if (semver.validRange(vulnerableVersions, { loose: true }) === null)
    return `affected versions ${JSON.stringify(vulnerableVersions.slice(0, 120))} are not a semver range`;
  const aliases = (Array.isArray(raw.aliases) ? raw.aliases : []).filter(
    (a): a is string => typeof a === 'string',
  );
  const ghsa = GHSA.test(raw.id) ? raw.id : aliases.find((a) => GHSA.test(a));
  const id = ghsa ?? raw.id;
  const score = cvssScore(raw.severity);
  const severity = osvSeverity(raw, score);
  const summary = typeof raw.summary === 'string' && raw.summary.trim() !== '' ? raw.summary.trim() : id;
  const advisory: Advisory = {
    id,
    aliases: [raw.id, ...aliases].filter((a) => a !== id),
    severity,
    title: summary.slice(0, 300),
    vulnerableVersions,
  };
  const references = Array.isArray(raw.references) ? raw.references.filter(isObject) : [];
  const advisoryUrl = references.find((r) => r.type === 'ADVISORY' && typeof r.url === 'string')?.url;
  if (typeof advisoryUrl === 'string' && /^https?:\/\//.test(advisoryUrl)) advisory.url = advisoryUrl;
  if (score !== undefined) advisory.cvssScore = score;
  if (limited) advisory.boundsAreNotFixes = true;
  return advisory;
}

/** `introduced`/`fixed`/`last_affected` events (sorted, as OSV requires) as a semver range. */
function rangeFromEvents(
  events: Record<string, unknown>[],
): { range: string; limited: boolean } | { problem: string } {
  const sets: string[] = [];
  let open: string | undefined;
  let limited = false;
  const valid = (v: unknown): v is string => typeof v === 'string' && /^[0-9A-Za-z.+-]+$/.test(v);
  for (const event of events) {
    if (valid(event.introduced)) open = event.introduced === '0' ? '>=0.0.0-0' : `>=${event.introduced}`;
    else if (open !== undefined && valid(event.fixed)) {
      sets.push(`${open} <${event.fixed}`);
      open = undefined;
    } else if (open !== undefined && valid(event.last_affected)) {
      sets.push(`${open} <=${event.last_affected}`);
      open = undefined;
    } else if (open !== undefined && valid(event.limit)) {
      // Where the record stopped looking, not a fix: the range ends here, but no version is named fixed.
      sets.push(`${open} <${event.limit}`);
      open = undefined;
      limited = true;
    } else return { problem: `unreadable range event ${JSON.stringify(event).slice(0, 80)}` };
  }
  if (open !== undefined) sets.push(open);
  return { range: sets.join(' || '), limited };
}

/** The highest CVSS base score among the record's vectors. */
function cvssScore(raw: unknown): number | undefined {
  let best: number | undefined;
  for (const entry of Array.isArray(raw) ? raw.filter(isObject) : []) {
    if (typeof entry.score !== 'string') continue;
    try {
      const score = cvss.fromVector(entry.score)?.calculateScores().base;
      if (typeof score === 'number' && Number.isFinite(score) && (best === undefined || score > best))
        best = score;
    } catch {
      // An unreadable vector leaves the severity to the record's own label.
    }
  }
  return best;
}

/**
 * The record's own label (GitHub's `database_specific.severity`), else the CVSS band; malicious
 * package reports (`MAL-`) are critical; a record with neither counts as high, so that an unrated
 * advisory is not waved through by a `high` threshold.
 */
function osvSeverity(raw: Record<string, unknown>, score: number | undefined): Severity {
  const specific = isObject(raw.database_specific) ? readSeverity(raw.database_specific.severity) : undefined;
  if (specific) return specific;
  if (score !== undefined)
    return score >= 9 ? 'critical' : score >= 7 ? 'high' : score >= 4 ? 'moderate' : 'low';
  return typeof raw.id === 'string' && raw.id.startsWith('MAL-') ? 'critical' : 'high';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
