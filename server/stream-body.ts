// Upstream bodies handed to clients. A client may go away at any moment: before the upstream has
// answered, between the headers and the body, or half way through it. Koa destroys a stream body
// when the response finishes, and pipes it only while the client is still there; undici then
// emits an 'error' on the body it was reading, and an 'error' with no listener ends the process.
// So every upstream body gets a listener before it is handed over or dropped.
import type { Readable } from 'node:stream';
import type { Context } from 'koa';

/** Errors after the hand-over reach Koa's pipeline callback; these are the ones nobody awaits. */
const ignore = () => {};

/** Sends `body` as the response, or drops it when the client has already gone. */
export function streamBody(ctx: Context, body: Readable): void {
  body.on('error', ignore);
  if (clientGone(ctx)) {
    body.destroy();
    return;
  }
  ctx.body = body;
}

/** Drops a body nobody will read (HEAD, an error status, a redirect) without leaking its socket. */
export function discardBody(body: Readable): void {
  body.on('error', ignore);
  body.resume();
}

export function clientGone(ctx: Context): boolean {
  return ctx.req.destroyed || ctx.res.destroyed || ctx.res.writableEnded;
}

/** Aborted when the client leaves before its response has been sent (work for it can stop). */
export function clientSignal(ctx: Context): AbortSignal {
  const left = new AbortController();
  if (clientGone(ctx)) left.abort();
  else
    ctx.res.once('close', () => {
      if (!ctx.res.writableFinished) left.abort();
    });
  return left.signal;
}

/** Reads a whole upstream body, or undefined (and the rest discarded) past `maxBytes`. */
export async function readBody(body: Readable, maxBytes: number): Promise<Buffer | undefined> {
  body.on('error', ignore);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        body.destroy();
        return undefined;
      }
      chunks.push(chunk as Buffer);
    }
  } catch {
    return undefined;
  }
  return Buffer.concat(chunks);
}
