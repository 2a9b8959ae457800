// Errors meant for the client: npm prints the `error` field of a JSON body, so every refusal the
// service makes is `{"error": "..."}` with a status that says whose fault it is.
import type { Context } from 'koa';

export class HttpError extends Error {
  readonly status: number;
  readonly extra: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    status: number,
    message: string,
    options?: { extra?: Record<string, unknown>; headers?: Record<string, string> },
  ) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.extra = options?.extra;
    this.headers = options?.headers;
  }
}

export function sendError(
  ctx: Context,
  status: number,
  message: string,
  extra?: Record<string, unknown>,
): void {
  ctx.status = status;
  ctx.set('cache-control', 'no-store');
  ctx.body = { error: message, ...extra };
}

const MAX_JSON_BODY_BYTES = 4 * 1024 * 1024;

/** Reads a JSON request body with a size cap; 400/413/415 with the reason otherwise. */
export async function readJsonBody(ctx: Context, maxBytes = MAX_JSON_BODY_BYTES): Promise<unknown> {
  const type = ctx.get('content-type');
  if (type !== '' && !/^application\/(?:[a-z.+-]*\+)?json\b/i.test(type)) {
    throw new HttpError(
      415,
      `expected a JSON body (content-type: application/json), got ${JSON.stringify(type)}`,
    );
  }
  const declared = Number(ctx.get('content-length') || '0');
  if (declared > maxBytes)
    throw new HttpError(413, `request body is ${declared} bytes; the limit is ${maxBytes}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new HttpError(413, `request body is larger than ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'request body is empty; expected JSON');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `request body is not valid JSON: ${(err as Error).message}`);
  }
}
