// One HTTP client for every fact source and the Action: undici over the shared dispatcher (npm's
// proxy and TLS settings, a name cache), a queue and a circuit breaker per origin, a total
// deadline per request, retries with backoff, decompression and a body-size limit. Failures come back as values that
// name the source and the URL, so one slow or broken upstream never throws through the engine.
//
// Why not undici's interceptors (undici 7.30) for the parts they cover:
// - redirect: it follows a hop before its caller sees it, so a redirect to another host would
//   already have been sent; here no fact source leaves the origin it asked, checked per hop.
// - retry: its attempts are dispatched beneath the per-origin queue and circuit breaker (a retry
//   must ask the breaker, and must not hold a queue slot while it backs off); it retries by
//   method, where a POST here is sent again only when it never reached the server; and it waits
//   out a long Retry-After up to its cap, where we fail at once.
// - dedupe and DNS: identical documents in flight are shared a level up (the registry source runs
//   one fetch per package, disk cache and parse included); the name cache is http-dispatcher.ts's.
// - decompress: marked experimental (each process prints an ExperimentalWarning on first use, so
//   every CLI run would). `npm run bench:http` (2,000 gzip documents, 32 at a time, 2-core machine
//   shared with other jobs, medians of 5 rounds per run): one zlib call per body took 0.71x and
//   0.90x the interceptor's CPU time in two runs (load average 28 and 19); wall time was equal in
//   the first and 33% longer in the second, the interceptor decoding on the thread pool's second
//   core. Kept for the CPU time and the warning; worth measuring again once the interceptor is
//   stable. The size limit is applied here either way.

import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { type BreakerSnapshot, type CircuitBreaker, createCircuitBreaker } from './circuit-breaker.js';
import type { CachedLookup } from './http-dispatcher.js';
import type { NetworkConfig } from './network-config.js';
import { describeNetworkError, describeTimeout, isConnectError, isTimeoutError } from './network-errors.js';
import { readBody, TooLargeError, tooLarge } from './read-body.js';
import { createSemaphore } from './semaphore.js';
import type { SourceStats } from './types.js';

/**
 * Milliseconds on a monotonic clock, for deadlines. Not `performance.now()`: the first touch of the
 * global `performance` loads perf_hooks, ~4 ms of a `lockwarden check`'s start-up (CPU profile).
 */
function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export interface HttpClientOptions {
  /** Requests in flight at once to one origin; each origin has its own queue and connection pool. */
  maxConcurrency?: number;
  /**
   * Total deadline of one request, from the first attempt to the last body byte, backoff and
   * retries included: a trickling body fails on time however often a byte arrives.
   */
  timeoutMs?: number;
  /** Time allowed per attempt until the response headers arrive. */
  headersTimeoutMs?: number;
  /** Longest silence allowed between two chunks of the body. */
  bodyTimeoutMs?: number;
  /** Time allowed to open a connection (name lookup included); short, so a retry fits the deadline. */
  connectTimeoutMs?: number;
  /** Retries after the first attempt (network errors, timeouts, 5xx, 429) within the deadline. */
  retries?: number;
  /** First backoff delay; doubles per retry, with jitter. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A `Retry-After` above this is not waited for: the request fails at once. */
  retryAfterCapMs?: number;
  /**
   * After this many attempts to one origin in a row fail (name resolution, connect, timeout, 5xx),
   * every further attempt to it (queued requests and retries included) fails at once for
   * `breakerCooldownMs`, naming the last failure; then one probe decides. 0 disables.
   */
  breakerThreshold?: number;
  breakerCooldownMs?: number;
  /** Decoded bodies above this fail with 'document too large'. */
  maxBodyBytes?: number;
  userAgent?: string;
  /** Proxy and TLS settings, as npm's configuration gives them. */
  network?: NetworkConfig;
  /** Injected so tests can record backoff delays instead of sleeping through them. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** The breakers' clock, injected like `sleep`. */
  now?: () => number;
  /** Name cache (shared between clients of one process); a fresh one per client by default. */
  lookup?: CachedLookup;
}

export interface HttpRequest {
  url: string;
  /** Names the upstream in failure reasons (`registry`, `downloads API`, `GitHub API`). */
  source: string;
  /** GET by default; only idempotent methods are retried after the request may have reached the server. */
  method?: 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /**
   * A POST that only reads (the advisory queries) is safe to send again: without this, one 503 or
   * reset from the advisory endpoint would make every package's advisories unavailable for the run.
   */
  idempotent?: boolean;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Counters of the calling source, incremented per attempt. */
  stats?: SourceStats;
  maxBodyBytes?: number;
  /** Overrides the client's deadline for this request. */
  timeoutMs?: number;
  /** False: a redirect is returned as the response (same-origin redirects are followed otherwise). */
  followRedirects?: boolean;
  /**
   * Whether a status is worth retrying. Defaults to 5xx and 429; sources with their own
   * meaning for a status (GitHub's exhausted rate limit) return false to handle it themselves.
   */
  shouldRetry?: (statusCode: number, headers: HttpHeaders) => boolean;
}

export type HttpHeaders = Record<string, string | undefined>;

export type HttpResult =
  | { status: 'response'; statusCode: number; headers: HttpHeaders; body: Buffer; url: string }
  /** `reason` names the source and URL; `cause` is the failure alone. */
  | { status: 'unavailable'; source: string; reason: string; cause?: string };

/** What /health and reports say about one upstream origin. */
export interface OriginHealth extends BreakerSnapshot {
  origin: string;
  /** The source that last asked it (`registry`, `downloads API`, ...). */
  source: string;
}

export interface HttpClient {
  request(req: HttpRequest): Promise<HttpResult>;
  /** Totals over every source sharing this client. */
  stats(): { requests: number; bytes: number; retries: number };
  /** Each origin asked so far, with its breaker's state. */
  health(): OriginHealth[];
  close(): Promise<void>;
}

const DEFAULTS = {
  maxConcurrency: 32,
  timeoutMs: 60_000,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  connectTimeoutMs: 5_000,
  retries: 2,
  backoffBaseMs: 250,
  backoffMaxMs: 4_000,
  retryAfterCapMs: 10_000,
  breakerThreshold: 5,
  breakerCooldownMs: 30_000,
  maxBodyBytes: 64 * 1024 * 1024,
};

const MAX_REDIRECTS = 3;

export { KEEP_ALIVE_TIMEOUT_THRESHOLD_MS } from './network-config.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const opts = { ...DEFAULTS, ...stripUndefined(options) };
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  // undici and the dispatcher load on the first request: loading undici is about a quarter of a
  // `lockwarden check`'s start-up, and a run answered from the cache sends nothing. Requests go
  // through the dispatcher's own request() (undici's top-level request() is that method plus URL
  // parsing), so only http-dispatcher.ts imports undici, and the CLI bundle can load the part of
  // undici a request needs (scripts/build-cli.mjs).
  let connection: Promise<{ dispatcher: Dispatcher }> | undefined;
  // Once connected, attempts take it without awaiting a promise.
  let connected: Awaited<NonNullable<typeof connection>> | undefined;
  const connect = () => {
    connection ??= import('./http-dispatcher.js').then(({ createCachedLookup, createDispatcher }) => ({
      dispatcher: createDispatcher({
        connections: opts.maxConcurrency,
        connectTimeoutMs: Math.min(opts.connectTimeoutMs, opts.timeoutMs),
        headersTimeoutMs: opts.headersTimeoutMs,
        bodyTimeoutMs: opts.bodyTimeoutMs,
        lookup: options.lookup ?? createCachedLookup(),
        ...(options.network ? { network: options.network } : {}),
      }),
    }));
    connection.then(
      (c) => {
        connected = c;
      },
      () => {},
    );
    return connection;
  };
  const totals = { requests: 0, bytes: 0, retries: 0 };
  const origins = new Map<
    string,
    { breaker: CircuitBreaker; limit: ReturnType<typeof createSemaphore>; source: string }
  >();
  const originFor = (origin: string, source: string) => {
    let o = origins.get(origin);
    if (!o) {
      o = {
        breaker: createCircuitBreaker({
          threshold: opts.breakerThreshold,
          cooldownMs: opts.breakerCooldownMs,
          now,
        }),
        limit: createSemaphore(opts.maxConcurrency),
        source,
      };
      origins.set(origin, o);
    }
    o.source = source;
    return o;
  };

  async function attempt(
    req: HttpRequest,
    url: string,
    deadlineAt: number,
    deadlineMs: number,
  ): Promise<AttemptResult> {
    const { dispatcher } = connected ?? (await connect());
    totals.requests++;
    if (req.stats) req.stats.requests++;
    const maxBodyBytes = req.maxBodyBytes ?? opts.maxBodyBytes;
    // Our own timers: undici's run on a coarse (about one second) clock and restart on every
    // chunk, so they stay only as a backstop. One timer per attempt watches the deadline (through
    // the whole body), the wait for headers and the silence between chunks: a chunk only notes the
    // time, and the timer, when it fires early, sleeps again until the nearest limit. Re-arming a
    // timer per chunk and a second one for the deadline were a measurable part of a cold audit's
    // CPU time (bench/http-decode-bench.mjs --baseline).
    const controller = new AbortController();
    let timedOut: 'headers' | 'body' | 'deadline' | undefined;
    let body: Readable | undefined;
    const abort = (why: 'headers' | 'body' | 'deadline') => {
      timedOut = why;
      controller.abort();
      body?.destroy(new Error(`${why} timeout`));
    };
    const headersBy = monotonicMs() + opts.headersTimeoutMs;
    /** When the last chunk (or the headers) arrived; undefined while the headers are awaited. */
    let lastDataAt: number | undefined;
    const watch = () => {
      const t = monotonicMs();
      const idleBy = lastDataAt === undefined ? headersBy : lastDataAt + opts.bodyTimeoutMs;
      // Within a millisecond counts as reached: timers keep whole milliseconds from the loop's clock.
      if (deadlineAt - t < 1) abort('deadline');
      else if (idleBy - t < 1) abort(lastDataAt === undefined ? 'headers' : 'body');
      else timer = setTimeout(watch, Math.min(deadlineAt, idleBy) - t);
    };
    // run() does not start an attempt with less than 1 ms left.
    let timer = setTimeout(watch, Math.max(1, Math.min(deadlineAt, headersBy) - monotonicMs()));
    try {
      const target = new URL(url);
      const res = await dispatcher.request({
        origin: target.origin,
        path: `${target.pathname}${target.search}`,
        method: req.method ?? 'GET',
        signal: controller.signal,
        headers: {
          'accept-encoding': 'gzip, deflate, br',
          'user-agent': opts.userAgent ?? 'lockwarden',
          ...req.headers,
        },
        ...(req.body !== undefined ? { body: req.body } : {}),
      });
      body = res.body;
      // Destroying an unfinished undici body emits an 'error' (RequestAbortedError); with no
      // listener that ends the process. Reads below see errors through their own iteration.
      body.on('error', () => {});
      lastDataAt = monotonicMs();
      const headers = flattenHeaders(res.headers);
      const declared = Number(headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBodyBytes) {
        res.body.destroy();
        return { kind: 'final', reason: tooLarge(declared, maxBodyBytes) };
      }
      const decoded = await readBody(res.body, headers['content-encoding'], maxBodyBytes, (n) => {
        lastDataAt = monotonicMs();
        totals.bytes += n;
        if (req.stats) req.stats.bytes += n;
      });
      return { kind: 'response', statusCode: res.statusCode, headers, body: decoded };
    } catch (err) {
      if (err instanceof TooLargeError) return { kind: 'final', reason: err.message };
      if (timedOut)
        return {
          kind: 'network',
          reason: describeTimeout(timedOut, opts, deadlineMs),
          sent: true,
          timedOut: true,
        };
      return {
        kind: 'network',
        reason: describeNetworkError(err, opts),
        sent: !isConnectError(err),
        timedOut: isTimeoutError(err),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  async function run(req: HttpRequest): Promise<HttpResult> {
    const startOrigin = new URL(req.url).origin;
    const deadlineMs = req.timeoutMs ?? opts.timeoutMs;
    const deadlineAt = monotonicMs() + deadlineMs;
    const method = req.method ?? 'GET';
    const idempotent = req.idempotent ?? IDEMPOTENT.has(method);
    const fail = (reason: string): HttpResult => {
      if (req.stats) req.stats.errors++;
      return {
        status: 'unavailable',
        source: req.source,
        reason: `${req.source} ${req.url}: ${reason}`,
        cause: reason,
      };
    };
    const refused = (origin: string, snapshot: BreakerSnapshot): HttpResult => {
      if (req.stats) req.stats.errors++;
      const cause = `${snapshot.failures} requests in a row failed, the last with "${snapshot.lastFailure}"; not asked again for ${Math.round(opts.breakerCooldownMs / 1000)} s`;
      return {
        status: 'unavailable',
        source: req.source,
        reason: `${req.source} ${origin} unreachable: ${cause}`,
        cause: `unreachable: ${cause}`,
      };
    };
    const shouldRetry = req.shouldRetry ?? ((code: number) => code === 429 || code >= 500);
    let url = req.url;
    let redirects = 0;
    for (let retry = 0; ; retry++) {
      const origin = new URL(url).origin;
      const o = originFor(origin, req.source);
      // The breaker is asked after the queue: requests that waited while the origin went down
      // fail at once instead of each paying for their own timeout.
      // A request whose deadline passes while it waits for a slot is not sent (it would be aborted
      // at once) and says nothing about the origin's health: no breaker failure, or a few slow
      // documents holding the slots would open the breaker for everyone.
      const waitedOut = (): AttemptResult => ({
        kind: 'final',
        reason: `deadline passed while waiting for a connection to ${origin} (${deadlineMs} ms deadline, ${opts.maxConcurrency} requests in flight)`,
      });
      // The deadline's signal for waiting (for a slot, or on a suspect origin) is made only when a
      // request has to wait: most never do, and a controller and a timer per request showed in a
      // cold audit's CPU time.
      let queueDeadline: AbortController | undefined;
      let queueTimer: ReturnType<typeof setTimeout> | undefined;
      const queueSignal = () => {
        if (!queueDeadline) {
          const controller = new AbortController();
          queueTimer = setTimeout(() => controller.abort(), Math.max(0, deadlineAt - monotonicMs()));
          queueDeadline = controller;
        }
        return queueDeadline.signal;
      };
      const result = await o
        .limit<AttemptResult>(
          async () => {
            if (o.breaker.suspect()) await o.breaker.ready(queueSignal());
            if (deadlineAt - monotonicMs() < 1) return waitedOut();
            if (o.breaker.admit() === 'refused') return { kind: 'refused' };
            let r: AttemptResult;
            try {
              r = await attempt(req, url, deadlineAt, deadlineMs);
            } catch (error) {
              o.breaker.failure(String(error), { timedOut: false });
              throw error;
            }
            if (r.kind === 'network') o.breaker.failure(r.reason, { timedOut: r.timedOut });
            else if (r.kind === 'response' && r.statusCode >= 500)
              o.breaker.failure(`HTTP ${r.statusCode}`, { timedOut: false });
            else o.breaker.success();
            return r;
          },
          { signal: queueSignal, onGiveUp: waitedOut },
        )
        .finally(() => {
          if (queueTimer !== undefined) clearTimeout(queueTimer);
        });
      let retryReason: string;
      let waitMs: number | undefined;
      if (result.kind === 'refused') return refused(origin, o.breaker.snapshot());
      if (result.kind === 'final') return fail(result.reason);
      if (result.kind === 'network') {
        retryReason = result.reason;
        if (result.sent && !idempotent) return fail(retryReason);
      } else if (req.followRedirects !== false && isRedirect(result.statusCode) && result.headers.location) {
        const next = new URL(result.headers.location, url);
        // A fact source never follows an upstream to another host.
        if (next.origin !== startOrigin) {
          return fail(`redirected to another host (${next.origin}); not followed`);
        }
        if (++redirects > MAX_REDIRECTS) return fail(`more than ${MAX_REDIRECTS} redirects`);
        url = next.href;
        retry--; // a redirect is not a retry
        continue;
      } else if (idempotent && shouldRetry(result.statusCode, result.headers)) {
        retryReason = `HTTP ${result.statusCode}`;
        const retryAfterMs = parseRetryAfter(result.headers['retry-after']);
        if (retryAfterMs !== undefined) {
          if (retryAfterMs > opts.retryAfterCapMs) {
            return fail(
              `HTTP ${result.statusCode}; asked to retry after ${Math.ceil(retryAfterMs / 1000)} s`,
            );
          }
          waitMs = retryAfterMs;
        }
      } else {
        return {
          status: 'response',
          statusCode: result.statusCode,
          headers: result.headers,
          body: result.body,
          url,
        };
      }
      const after = retry === 0 ? '' : ` (after ${retry + 1} attempts)`;
      if (retry >= opts.retries) return fail(`${retryReason}${after}`);
      const wait = waitMs ?? backoffDelay(retry, opts.backoffBaseMs, opts.backoffMaxMs, random);
      // A retry that cannot finish before the deadline is not started.
      if (monotonicMs() + wait >= deadlineAt) return fail(`${retryReason}${after}`);
      totals.retries++;
      await sleep(wait);
    }
  }

  return {
    request: run,
    stats: () => ({ ...totals }),
    health: () => [...origins].map(([origin, o]) => ({ origin, source: o.source, ...o.breaker.snapshot() })),
    close: async () => {
      if (connection) await (await connection).dispatcher.close();
    },
  };
}

type AttemptResult =
  | { kind: 'response'; statusCode: number; headers: HttpHeaders; body: Buffer }
  /** `sent`: the request may have reached the server (only idempotent ones are sent again). */
  | { kind: 'network'; reason: string; sent: boolean; timedOut: boolean }
  | { kind: 'final'; reason: string }
  | { kind: 'refused' };

/** Full jitter over an exponentially growing window: spreads retries of many clients apart. */
export function backoffDelay(retry: number, baseMs: number, maxMs: number, random: () => number): number {
  const window = Math.min(maxMs, baseMs * 2 ** retry);
  return Math.round(window / 2 + (random() * window) / 2);
}

/** `Retry-After` as milliseconds: either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, nowMs = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

function isRedirect(code: number): boolean {
  return code === 301 || code === 302 || code === 303 || code === 307 || code === 308;
}

function flattenHeaders(raw: Record<string, string | string[] | undefined>): HttpHeaders {
  const out: HttpHeaders = {};
  for (const [k, v] of Object.entries(raw)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
