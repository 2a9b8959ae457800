// Raw access to the upstream registry for what is not a document to evaluate: tarball bytes
// (streamed, never buffered or altered) and the endpoints passed through (audit, search, keys).
// Every URL is built from the upstream's origin or checked against it: a client can never make
// the service talk to another host, and a tarball redirect is followed only to the upstream's
// origin and the --tarball-origin hosts. Connections go through a dispatcher of its own, built by
// the sources' createDispatcher (npm's proxy and TLS settings, a name cache of its own).
import type { Readable } from 'node:stream';
import { request } from 'undici';
import { backoffDelay } from '../src/sources/http-client.js';
import {
  type CachedLookup,
  createCachedLookup,
  createDispatcher,
  type NetworkConfig,
} from '../src/sources/http-dispatcher.js';
import { failedBeforeResponse, isTimeoutError } from '../src/sources/network-errors.js';
import { discardBody } from './stream-body.js';

export interface UpstreamResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

export interface UpstreamOptions {
  /** Registry base URL with a trailing slash; `user:password@` in it becomes Basic auth. */
  url: string;
  /** Bearer token for the registry (npm's `_authToken`). */
  token?: string;
  /** A ready `authorization` header for the registry (npm's `_auth`, `username`/`_password`). */
  authorization?: string;
  /** Other origins tarballs may be served from (a registry with a separate download host). */
  tarballOrigins?: readonly string[];
  /** Proxy and TLS settings, as npm's configuration gives them. */
  network?: NetworkConfig;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /**
   * Total deadline of one tarball or pass-through request, redirects and body included (a tarball
   * streamed to a client too); default 300 s.
   */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /**
   * Retries of a GET or HEAD whose attempt failed before any response byte (name lookup, connect,
   * a connection reset, no headers within `headersTimeoutMs`), within the deadline. Default 2.
   */
  retries?: number;
  /** First backoff delay before a retry; doubles per retry, with jitter (the sources' backoffDelay). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Injected so tests can record backoff delays instead of sleeping through them. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  lookup?: CachedLookup;
  userAgent?: string;
}

export interface Upstream {
  readonly url: string;
  /** Whether `url` is on the upstream (or an allowed tarball origin). */
  allowsTarballUrl(url: string): boolean;
  fetchTarball(url: string, headers?: Record<string, string>): Promise<UpstreamResponse>;
  /** `path` is relative to the registry URL and already percent-encoded; `search` includes `?`. */
  passThrough(req: {
    method: string;
    path: string;
    search: string;
    headers: Record<string, string>;
    body?: Buffer;
  }): Promise<UpstreamResponse>;
  close(): Promise<void>;
}

/** Registries may hand tarballs to a download host; a longer chain is a loop or a misconfiguration. */
export const MAX_TARBALL_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export class UpstreamError extends Error {
  readonly status: 502 | 504;
  constructor(status: 502 | 504, message: string) {
    super(message);
    this.status = status;
  }
}

export function createUpstream(options: UpstreamOptions): Upstream {
  const given = new URL(options.url);
  const basic =
    given.username || given.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(given.username)}:${decodeURIComponent(given.password)}`).toString('base64')}`
      : undefined;
  // Credentials never travel in the URL: they become a header sent to the registry's origin only.
  const base = new URL(given.href);
  base.username = '';
  base.password = '';
  const origins = new Set([base.origin, ...(options.tarballOrigins ?? []).map((o) => new URL(o).origin)]);
  const authorization = options.token ? `Bearer ${options.token}` : (options.authorization ?? basic);
  const timeoutMs = options.timeoutMs ?? 300_000;
  const retries = options.retries ?? 2;
  // Shorter than the sources' 250 ms doubling to 4 s: a client is waiting for these bytes, and what
  // is retried here (a dropped connection, a stalled lookup) is usually over at once.
  const backoffBaseMs = options.backoffBaseMs ?? 100;
  const backoffMaxMs = options.backoffMaxMs ?? 1_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const agent = createDispatcher({
    connections: 64,
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
    headersTimeoutMs: options.headersTimeoutMs ?? 15_000,
    bodyTimeoutMs: options.bodyTimeoutMs ?? 60_000,
    lookup: options.lookup ?? createCachedLookup(),
    ...(options.network ? { network: options.network } : {}),
  });

  function authFor(url: URL): Record<string, string> {
    // The credentials are for the registry; a separate tarball host does not get them.
    return authorization && url.origin === base.origin ? { authorization } : {};
  }

  /**
   * One request, retried while that is safe: a GET or HEAD whose attempt failed before any
   * response byte arrived (failedBeforeResponse: lookup, connect, a reset, a headers timeout) is
   * sent again after a short jittered backoff, as long as the backoff ends before the deadline.
   * Nothing can have reached the client by then: `send` returns at the response's headers, and
   * the body is streamed from that one attempt or not at all. Other methods are sent once.
   */
  async function send(
    url: URL,
    method: string,
    headers: Record<string, string>,
    deadline: Deadline,
    body?: Buffer,
  ): Promise<UpstreamResponse> {
    if (!origins.has(url.origin))
      throw new UpstreamError(502, `refusing to fetch ${url.origin}: not the upstream registry`);
    const idempotent = method === 'GET' || method === 'HEAD';
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await request(url, {
          method: method as 'GET',
          headers: {
            ...(options.userAgent ? { 'user-agent': options.userAgent } : {}),
            ...headers,
            ...authFor(url),
          },
          body,
          signal: deadline.signal,
          dispatcher: agent,
        });
        return { statusCode: res.statusCode, headers: res.headers, body: res.body };
      } catch (err) {
        const { signal } = deadline;
        if (attempt < retries && idempotent && !signal.aborted && failedBeforeResponse(err)) {
          const wait = backoffDelay(attempt, backoffBaseMs, backoffMaxMs, random);
          // A retry that could not start before the deadline is not waited for.
          if (performance.now() + wait < deadline.at) {
            await sleep(wait);
            if (!signal.aborted) continue;
          }
        }
        const timeout = signal.aborted || isTimeoutError(err);
        const reason = signal.aborted
          ? `no response within ${timeoutMs} ms`
          : err instanceof Error
            ? describeCause(err)
            : String(err);
        const attempts = attempt === 0 ? '' : ` (after ${attempt + 1} attempts)`;
        throw new UpstreamError(
          timeout ? 504 : 502,
          `upstream registry ${url.origin} failed: ${reason}${attempts}`,
        );
      }
    }
  }

  /** One deadline per tarball or pass-through request, over every hop, attempt and backoff. */
  const startDeadline = (): Deadline => ({
    signal: AbortSignal.timeout(timeoutMs),
    at: performance.now() + timeoutMs,
  });

  return {
    url: base.href,
    allowsTarballUrl(raw) {
      try {
        const url = new URL(raw);
        return origins.has(url.origin) && (url.protocol === 'http:' || url.protocol === 'https:');
      } catch {
        return false;
      }
    },
    async fetchTarball(raw, headers = {}) {
      let url = new URL(raw);
      // One deadline over every hop, headers and body: a trickling upstream cannot hold a client
      // (or a connection of the pool) for longer, however often a byte arrives or it redirects.
      const deadline = startDeadline();
      for (let hop = 0; ; hop++) {
        const res = await send(url, 'GET', headers, deadline);
        if (!REDIRECT_STATUSES.has(res.statusCode)) return res;
        // With an error listener: a redirect body that fails after this must not end the process.
        discardBody(res.body);
        const location = res.headers.location;
        const from = `the tarball at ${url.origin}${url.pathname}`;
        if (hop === MAX_TARBALL_REDIRECTS)
          throw new UpstreamError(
            502,
            `${from} redirected more than ${MAX_TARBALL_REDIRECTS} times; not followed`,
          );
        if (typeof location !== 'string' || location === '')
          throw new UpstreamError(502, `${from} answered HTTP ${res.statusCode} without a Location`);
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw new UpstreamError(502, `${from} redirected to an invalid URL`);
        }
        if (next.protocol !== 'http:' && next.protocol !== 'https:')
          throw new UpstreamError(
            502,
            `${from} redirected to a ${next.protocol} URL; only http(s) is followed`,
          );
        if (url.protocol === 'https:' && next.protocol === 'http:')
          throw new UpstreamError(
            502,
            `${from} redirected from https to http (${next.origin}); not followed`,
          );
        // The `dist.tarball` check holds for redirects too: only the upstream and the
        // --tarball-origin hosts are followed, never a host the upstream names on the fly.
        if (!origins.has(next.origin))
          throw new UpstreamError(
            502,
            `${from} redirected to ${next.origin}, which is not the upstream registry; allow it with --tarball-origin`,
          );
        // Credentials are for the registry: authFor only adds them on its origin, and a header
        // the caller passed is dropped once the redirect leaves the origin it was meant for.
        if (next.origin !== url.origin) {
          headers = Object.fromEntries(
            Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'),
          );
        }
        url = next;
      }
    },
    passThrough({ method, path, search, headers, body }) {
      const url = new URL(path + search, base);
      return send(url, method, headers, startDeadline(), body);
    },
    close() {
      return agent.close();
    },
  };
}

interface Deadline {
  signal: AbortSignal;
  /** performance.now() when `signal` aborts. */
  at: number;
}

function describeCause(err: Error): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code && !err.message.includes(cause.code) ? `${err.message} (${cause.code})` : err.message;
}
