// Raw access to the upstream registry for what is not a document to evaluate: tarball bytes
// (streamed, never buffered or altered) and the endpoints passed through (audit, search, keys).
// Every URL is built from the upstream's origin or checked against it: a client can never make
// the service talk to another host. Only a tarball redirect the upstream itself answers with
// (a download CDN) leads elsewhere, and never to anything but http(s).
import type { Readable } from 'node:stream';
import { Agent, request, errors as undiciErrors } from 'undici';
import { KEEP_ALIVE_TIMEOUT_THRESHOLD_MS } from '../src/sources/http-client.js';

export interface UpstreamResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

export interface UpstreamOptions {
  /** Registry base URL with a trailing slash. */
  url: string;
  token?: string;
  /** Other origins tarballs may be served from (a registry with a separate download host). */
  tarballOrigins?: readonly string[];
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
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
  const base = new URL(options.url);
  const origins = new Set([base.origin, ...(options.tarballOrigins ?? []).map((o) => new URL(o).origin)]);
  const agent = new Agent({
    keepAliveTimeout: 10_000,
    keepAliveTimeoutThreshold: KEEP_ALIVE_TIMEOUT_THRESHOLD_MS,
    connections: 64,
    headersTimeout: options.headersTimeoutMs ?? 15_000,
    bodyTimeout: options.bodyTimeoutMs ?? 60_000,
  });

  function authFor(url: URL): Record<string, string> {
    // The token is for the registry; a separate tarball host does not get it.
    return options.token && url.origin === base.origin ? { authorization: `Bearer ${options.token}` } : {};
  }

  async function send(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body?: Buffer,
    redirected = false,
  ): Promise<UpstreamResponse> {
    // A redirect target is chosen by the upstream (a download CDN), not by a client.
    if (!redirected && !origins.has(url.origin))
      throw new UpstreamError(502, `refusing to fetch ${url.origin}: not the upstream registry`);
    try {
      const res = await request(url, {
        method: method as 'GET',
        headers: {
          ...(options.userAgent ? { 'user-agent': options.userAgent } : {}),
          ...headers,
          ...authFor(url),
        },
        body,
        dispatcher: agent,
      });
      return { statusCode: res.statusCode, headers: res.headers, body: res.body };
    } catch (err) {
      const timeout =
        err instanceof undiciErrors.HeadersTimeoutError ||
        err instanceof undiciErrors.BodyTimeoutError ||
        err instanceof undiciErrors.ConnectTimeoutError;
      const reason = err instanceof Error ? err.message : String(err);
      throw new UpstreamError(timeout ? 504 : 502, `upstream registry ${url.origin} failed: ${reason}`);
    }
  }

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
      for (let hop = 0; ; hop++) {
        const res = await send(url, 'GET', headers, undefined, hop > 0);
        if (!REDIRECT_STATUSES.has(res.statusCode)) return res;
        res.body.resume();
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
        // Credentials are for the registry: authFor only adds the token on its origin, and a
        // header the caller passed is dropped once the redirect leaves the origin it was meant for.
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
      return send(url, method, headers, body);
    },
    close() {
      return agent.close();
    },
  };
}
