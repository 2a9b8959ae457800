// The Action's own HTTP calls (GitHub REST, the lockwarden service): one request, a deadline,
// a body-size cap, no redirects (a response never sends us to another host).
import { request } from 'undici';

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
const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

export async function sendRequest(req: ActionHttpRequest): Promise<ActionHttpResult> {
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = req.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await request(req.url, {
      method: req.method,
      headers: { 'user-agent': 'lockwarden-action', ...req.headers },
      body: req.body,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        res.body.destroy();
        return { ok: false, reason: `response larger than ${Math.round(maxBytes / 1024)} KB` };
      }
      chunks.push(chunk);
    }
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(res.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    return { ok: true, statusCode: res.statusCode, headers, body: Buffer.concat(chunks, size) };
  } catch (err) {
    return { ok: false, reason: describeError(err, timeoutMs) };
  }
}

function describeError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code;
  if (
    e.name === 'TimeoutError' ||
    e.name === 'AbortError' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  ) {
    return `timed out after ${timeoutMs} ms`;
  }
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection closed by the server';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  return e.message ?? String(err);
}

/** Parses a JSON body; undefined when it is not JSON. */
export function parseJsonBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
