// A refusal (403) reaches each client through the part of the response that client prints.
// Measured with npm 11, pnpm 10 and 12, yarn 1.22 and 4, bun 1.4 (docs/server.md has the table):
// npm prints the body's `error`, the `npm-notice` header and the status text; pnpm and yarn 4
// print the status text; yarn 1 prints the body's `error` for documents; bun prints only the
// method, the URL it ended at and the status. So the reason goes into the body, the header and
// the status text, and bun is redirected to a URL that spells it out. yarn 1 prints nothing of a
// refused tarball but Node.js's own text for the status; what it does print whole is the target
// of a redirect it cannot follow, so it is sent one (see unfollowableRefusalLocation).
import type { Context } from 'koa';
import { sendError } from './http-error.js';

/** Where bun is sent for a refusal: `-/refused/<name>/<version or ->/<reason as a slug>`. */
export const REFUSED_SEGMENT = 'refused';
const MAX_HEADER_CHARS = 1024;
const MAX_SLUG_CHARS = 160;
/** The whole reason where it can be: yarn 1 prints the location on one line. */
const MAX_LOCATION_SLUG_CHARS = 400;

/** The refusal as a redirect: to a page that says it (bun), or to where yarn 1 prints it. */
export function sendRefusalRedirect(ctx: Context, location: string, message: string): void {
  ctx.status = 302;
  ctx.set('cache-control', 'no-store');
  ctx.set('location', location);
  ctx.body = { error: message };
}

export function sendRefusal(ctx: Context, message: string): void {
  sendError(ctx, 403, message);
  const line = headerSafe(message);
  ctx.set('npm-notice', line);
  // The reason phrase: HTTP/1.1 allows any visible text there, and several clients print it.
  ctx.message = line;
}

/** Bun prints nothing of a 403 but its URL; other clients print the reason as it is. */
export function wantsRefusalRedirect(ctx: Context): boolean {
  return (ctx.method === 'GET' || ctx.method === 'HEAD') && /^bun\//i.test(ctx.get('user-agent'));
}

/**
 * yarn 1 fetches a tarball with a `response` handler that rejects with `Request failed "403
 * Forbidden"` (Node.js's status table, not the response's text), prefixed by the lockfile's URL,
 * and reads neither headers nor body. A redirect it cannot follow is another matter: its HTTP
 * library fails with `Invalid URI "<location>"`, printed whole. So yarn 1 gets a `302` to a URI
 * without a host (`http:lockwarden:refused/<reason as a slug>`), measured with yarn 1.22.22. One
 * request, no loop; the verdict is logged before. Not `http:lockwarden-refused/...`: WHATWG URL
 * parsing (fetch, bun, any other client sending yarn's user agent) reads that as the host
 * `lockwarden-refused`, a DNS query and a plain-HTTP request off-host with the reason in its path;
 * `lockwarden:refused` has a port that is not a number, so it fails there (or, against an http
 * service's URL, is a relative path on the service itself).
 */
export function wantsRefusalInLocation(ctx: Context): boolean {
  return ctx.method === 'GET' && /^yarn\/1\./.test(ctx.get('user-agent'));
}

export function unfollowableRefusalLocation(message: string): string {
  return `http:lockwarden:refused/${slugOf(message, MAX_LOCATION_SLUG_CHARS)}`;
}

/** The refusal URL under `prefixUrl`; the slug is only for reading, the verdict is re-evaluated. */
export function refusalUrl(prefixUrl: string, name: string, version: string | null, message: string): string {
  const slug = slugOf(message, MAX_SLUG_CHARS);
  const path = name.startsWith('@')
    ? name.split('/').map(encodeURIComponent).join('/')
    : encodeURIComponent(name);
  return `${prefixUrl}-/${REFUSED_SEGMENT}/${path}/${encodeURIComponent(version ?? '-')}/${slug}`;
}

/** Parses `refused/<name>/<version or ->/<slug>` special segments. */
export function parseRefusalSegments(
  segments: readonly string[],
): { name: string; version: string | null } | undefined {
  if (segments[0] !== REFUSED_SEGMENT) return undefined;
  const scoped = segments[1]?.startsWith('@') ?? false;
  const rest = segments.slice(scoped ? 3 : 2);
  if (segments.length < (scoped ? 3 : 2) || rest.length !== 2) return undefined;
  const name = scoped ? `${segments[1]}/${segments[2]}` : segments[1]!;
  return { name, version: rest[0] === '-' ? null : rest[0]! };
}

function slugOf(message: string, max: number): string {
  return (
    message
      .toLowerCase()
      .replace(/[^a-z0-9.@]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, max) || 'refused'
  );
}

function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_HEADER_CHARS);
}
