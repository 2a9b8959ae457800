// One HTTP client for every fact source: a keep-alive undici Agent, a concurrency cap, timeouts,
// retries with backoff, decompression and a body-size limit. Failures come back as values that
// name the source and the URL, so one slow or broken upstream never throws through the engine.

import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import {
  brotliDecompress,
  brotliDecompressSync,
  gunzip,
  gunzipSync,
  inflate,
  inflateSync,
  type ZlibOptions,
} from 'node:zlib';
import { Agent, request } from 'undici';
import type { SourceStats } from './types.js';

export interface HttpClientOptions {
  /** Requests in flight at once across all sources. */
  maxConcurrency?: number;
  /** Time allowed until the response headers arrive. */
  headersTimeoutMs?: number;
  /** Longest silence allowed between two chunks of the body. */
  bodyTimeoutMs?: number;
  /** Retries after the first attempt (network errors, 5xx, 429). */
  retries?: number;
  /** First backoff delay; doubles per retry, with jitter. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A `Retry-After` above this is not waited for: the request fails at once. */
  retryAfterCapMs?: number;
  /**
   * After this many requests to one origin in a row fail (retries exhausted), further requests to
   * it fail at once for `breakerCooldownMs`, naming the last failure: an upstream that is down
   * costs one timeout per run, not one per package. 0 disables.
   */
  breakerThreshold?: number;
  breakerCooldownMs?: number;
  /** Decoded bodies above this fail with 'document too large'. */
  maxBodyBytes?: number;
  userAgent?: string;
  /** Injected so tests can record backoff delays instead of sleeping through them. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface HttpRequest {
  url: string;
  /** Names the upstream in failure reasons (`registry`, `downloads API`, `GitHub API`). */
  source: string;
  headers?: Record<string, string>;
  /** Counters of the calling source, incremented per attempt. */
  stats?: SourceStats;
  maxBodyBytes?: number;
  /**
   * Whether a status is worth retrying. Defaults to 5xx and 429; sources with their own
   * meaning for a status (GitHub's exhausted rate limit) return false to handle it themselves.
   */
  shouldRetry?: (statusCode: number, headers: HttpHeaders) => boolean;
}

export type HttpHeaders = Record<string, string | undefined>;

export type HttpResult =
  | { status: 'response'; statusCode: number; headers: HttpHeaders; body: Buffer; url: string }
  | { status: 'unavailable'; source: string; reason: string };

export interface HttpClient {
  request(req: HttpRequest): Promise<HttpResult>;
  /** Totals over every source sharing this client. */
  stats(): { requests: number; bytes: number; retries: number };
  close(): Promise<void>;
}

const DEFAULTS = {
  maxConcurrency: 32,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  retries: 2,
  backoffBaseMs: 250,
  backoffMaxMs: 4_000,
  retryAfterCapMs: 10_000,
  breakerThreshold: 8,
  breakerCooldownMs: 30_000,
  maxBodyBytes: 64 * 1024 * 1024,
};

const MAX_REDIRECTS = 3;

/**
 * A connection is not reused within this long of the idle timeout a server announces in its
 * `Keep-Alive` header. undici's default (2 s) is longer than the whole idle window of servers that
 * announce 1 s, and then every request opens a new connection; half a second still leaves a wide
 * margin against the server closing a connection just as a request goes out.
 */
export const KEEP_ALIVE_TIMEOUT_THRESHOLD_MS = 500;

class TooLargeError extends Error {}

export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const opts = { ...DEFAULTS, ...stripUndefined(options) };
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const agent = new Agent({
    keepAliveTimeout: 10_000,
    keepAliveTimeoutThreshold: KEEP_ALIVE_TIMEOUT_THRESHOLD_MS,
    connections: opts.maxConcurrency,
    headersTimeout: opts.headersTimeoutMs,
    bodyTimeout: opts.bodyTimeoutMs,
  });
  const limit = createSemaphore(opts.maxConcurrency);
  const totals = { requests: 0, bytes: 0, retries: 0 };
  const breakers = new Map<string, { failures: number; openedAtMs?: number; lastReason?: string }>();

  async function attempt(req: HttpRequest, url: string): Promise<AttemptResult> {
    totals.requests++;
    if (req.stats) req.stats.requests++;
    const maxBodyBytes = req.maxBodyBytes ?? opts.maxBodyBytes;
    // Our own timers: undici's run on a coarse (about one second) clock, stay as a backstop.
    const controller = new AbortController();
    let timedOut: 'headers' | 'body' | undefined;
    let timer = setTimeout(() => {
      timedOut = 'headers';
      controller.abort();
    }, opts.headersTimeoutMs);
    try {
      const res = await request(url, {
        dispatcher: agent,
        method: 'GET',
        signal: controller.signal,
        headers: {
          'accept-encoding': 'gzip, deflate, br',
          'user-agent': opts.userAgent ?? 'lockwarden',
          ...req.headers,
        },
        headersTimeout: opts.headersTimeoutMs,
        bodyTimeout: opts.bodyTimeoutMs,
      });
      const armBodyTimer = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          timedOut = 'body';
          res.body.destroy(new Error('body timeout'));
        }, opts.bodyTimeoutMs);
      };
      armBodyTimer();
      const headers = flattenHeaders(res.headers);
      const declared = Number(headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBodyBytes) {
        res.body.destroy();
        return { kind: 'final', reason: tooLarge(declared, maxBodyBytes) };
      }
      const body = await readBody(res.body, headers['content-encoding'], maxBodyBytes, (n) => {
        armBodyTimer();
        totals.bytes += n;
        if (req.stats) req.stats.bytes += n;
      });
      return { kind: 'response', statusCode: res.statusCode, headers, body };
    } catch (err) {
      if (err instanceof TooLargeError) return { kind: 'final', reason: err.message };
      if (timedOut === 'headers') return { kind: 'network', reason: describeTimeout('headers', opts) };
      if (timedOut === 'body') return { kind: 'network', reason: describeTimeout('body', opts) };
      return { kind: 'network', reason: describeNetworkError(err, opts) };
    } finally {
      clearTimeout(timer);
    }
  }

  async function run(req: HttpRequest): Promise<HttpResult> {
    const origin = new URL(req.url).origin;
    const breaker = breakers.get(origin) ?? { failures: 0 };
    breakers.set(origin, breaker);
    if (breaker.openedAtMs !== undefined) {
      if (Date.now() - breaker.openedAtMs < opts.breakerCooldownMs) {
        if (req.stats) req.stats.errors++;
        return {
          status: 'unavailable',
          source: req.source,
          reason: `${req.source} ${origin} unreachable: ${breaker.failures} requests in a row failed, the last with "${breaker.lastReason}"; not asked again for ${Math.round(opts.breakerCooldownMs / 1000)} s`,
        };
      }
      // Half-open: let requests through again; one more failure reopens the breaker.
      breaker.openedAtMs = undefined;
      breaker.failures = Math.max(0, opts.breakerThreshold - 1);
    }
    const fail = (reason: string, upstreamFault = false): HttpResult => {
      if (req.stats) req.stats.errors++;
      if (upstreamFault && opts.breakerThreshold > 0) {
        breaker.failures++;
        breaker.lastReason = reason;
        if (breaker.failures >= opts.breakerThreshold) breaker.openedAtMs = Date.now();
      }
      return { status: 'unavailable', source: req.source, reason: `${req.source} ${req.url}: ${reason}` };
    };
    const shouldRetry = req.shouldRetry ?? ((code: number) => code === 429 || code >= 500);
    let url = req.url;
    let redirects = 0;
    for (let retry = 0; ; retry++) {
      const result = await limit(() => attempt(req, url));
      let retryReason: string;
      let waitMs: number | undefined;
      if (result.kind === 'final') return fail(result.reason);
      if (result.kind === 'network') {
        retryReason = result.reason;
      } else if (isRedirect(result.statusCode) && result.headers.location) {
        const next = new URL(result.headers.location, url);
        // A fact source never follows an upstream to another host.
        if (next.origin !== new URL(url).origin) {
          return fail(`redirected to another host (${next.origin}); not followed`);
        }
        if (++redirects > MAX_REDIRECTS) return fail(`more than ${MAX_REDIRECTS} redirects`);
        url = next.href;
        retry--; // a redirect is not a retry

        continue;
      } else if (shouldRetry(result.statusCode, result.headers)) {
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
        breaker.failures = 0;
        return {
          status: 'response',
          statusCode: result.statusCode,
          headers: result.headers,
          body: result.body,
          url,
        };
      }
      if (retry >= opts.retries) {
        return fail(retry === 0 ? retryReason : `${retryReason} (after ${retry + 1} attempts)`, true);
      }
      totals.retries++;
      await sleep(waitMs ?? backoffDelay(retry, opts.backoffBaseMs, opts.backoffMaxMs, random));
    }
  }

  return {
    request: run,
    stats: () => ({ ...totals }),
    close: () => agent.close(),
  };
}

type AttemptResult =
  | { kind: 'response'; statusCode: number; headers: HttpHeaders; body: Buffer }
  | { kind: 'network'; reason: string }
  | { kind: 'final'; reason: string };

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

/**
 * Compressed bodies up to this size are decoded in one synchronous call: a decoding stream costs
 * more per document in bookkeeping (pipeline, abort signals, a callback per 16 KB) than the
 * inflate itself, and a cold audit decodes thousands of documents. Larger ones (JSON inflates to
 * about ten times its gzip size) are decoded in the thread pool so the event loop, which may be
 * serving a proxy's clients, is held up for a millisecond or two at most.
 */
const SYNC_DECODE_MAX_BYTES = 128 * 1024;

interface Codec {
  sync(raw: Buffer, options: ZlibOptions): Buffer;
  async(raw: Buffer, options: ZlibOptions): Promise<Buffer>;
}

const CODECS: Record<string, Codec> = {
  gzip: { sync: gunzipSync, async: promisify(gunzip) },
  'x-gzip': { sync: gunzipSync, async: promisify(gunzip) },
  deflate: { sync: inflateSync, async: promisify(inflate) },
  br: { sync: brotliDecompressSync, async: promisify(brotliDecompress) },
};

async function readBody(
  body: Readable,
  encoding: string | undefined,
  maxBytes: number,
  onWireBytes: (n: number) => void,
): Promise<Buffer> {
  const name = encoding?.trim().toLowerCase();
  const codec = name && Object.hasOwn(CODECS, name) ? CODECS[name] : undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    onWireBytes(chunk.length);
    size += chunk.length;
    // Compressed bytes are fewer than the decoded ones, so this bounds the wire as well.
    if (size > maxBytes) throw new TooLargeError(tooLarge(size, maxBytes, true));
    chunks.push(chunk);
  }
  const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  if (!codec) return raw;
  // Decoding stops at the limit, so a small compressed bomb cannot blow up memory.
  const options: ZlibOptions = { maxOutputLength: maxBytes, chunkSize: 256 * 1024 };
  try {
    return raw.length <= SYNC_DECODE_MAX_BYTES ? codec.sync(raw, options) : await codec.async(raw, options);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw new TooLargeError(tooLarge(maxBytes + 1, maxBytes, true));
    throw err;
  }
}

function tooLarge(size: number, max: number, atLeast = false): string {
  return `document too large (${atLeast ? 'over ' : ''}${formatBytes(size)}; limit ${formatBytes(max)})`;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${n} bytes`;
}

function describeTimeout(phase: 'headers' | 'body', opts: typeof DEFAULTS): string {
  return phase === 'headers'
    ? `timed out after ${opts.headersTimeoutMs} ms waiting for response headers`
    : `timed out after ${opts.bodyTimeoutMs} ms without receiving body data`;
}

function describeNetworkError(err: unknown, opts: typeof DEFAULTS): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
      return describeTimeout('headers', opts);
    case 'UND_ERR_BODY_TIMEOUT':
      return describeTimeout('body', opts);
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'timed out connecting';
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection closed by the server';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name could not be resolved';
    case 'Z_DATA_ERROR':
    case 'Z_BUF_ERROR':
    case 'ERR_PADDING_1':
      return 'response body could not be decompressed';
    default:
      return `request failed (${code ?? e.message ?? String(err)})`;
  }
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

/** Runs at most `max` tasks at once; the rest wait in arrival order. */
export function createSemaphore(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    // A finishing task hands its slot straight to the next waiter, so no newcomer can slip in between.
    if (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
