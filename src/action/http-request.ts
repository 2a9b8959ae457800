// The Action's own HTTP calls (GitHub REST, the lockwarden service) on the one HTTP layer the fact
// sources use (src/sources/http-client.ts): a deadline over headers and body, a body-size cap,
// retries of idempotent requests (and of any request that never reached the server), the proxy
// settings of the runner's environment, and no redirects: a response never sends us elsewhere.
import { createHttpClient, type HttpClient } from '../sources/http-client.js';
import { networkFromEnv } from '../sources/http-dispatcher.js';

export interface ActionHttpRequest {
  method: 'GET' | 'POST' | 'PATCH';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  maxBodyBytes?: number;
}

export type ActionHttpResult =
  | { ok: true; statusCode: number; headers: Record<string, string | undefined>; body: Buffer }
  | { ok: false; reason: string };

const DEFAULT_TIMEOUT_MS = 30_000;

let shared: HttpClient | undefined;

/** One client per process: its pools and breakers serve every call of the run. */
function client(): HttpClient {
  shared ??= createHttpClient({
    userAgent: 'lockwarden-action',
    network: networkFromEnv(process.env),
    // The service answers a large check in one response that may take a while to compute.
    headersTimeoutMs: 10 * 60_000,
    bodyTimeoutMs: 60_000,
  });
  return shared;
}

export async function sendRequest(req: ActionHttpRequest): Promise<ActionHttpResult> {
  const res = await client().request({
    url: req.url,
    source: 'action',
    method: req.method,
    ...(req.headers ? { headers: req.headers } : {}),
    ...(req.body !== undefined ? { body: req.body } : {}),
    timeoutMs: req.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    ...(req.maxBodyBytes !== undefined ? { maxBodyBytes: req.maxBodyBytes } : {}),
    followRedirects: false,
  });
  if (res.status === 'unavailable') return { ok: false, reason: res.cause ?? res.reason };
  return { ok: true, statusCode: res.statusCode, headers: res.headers, body: res.body };
}

/** Parses a JSON body; undefined when it is not JSON. */
export function parseJsonBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
