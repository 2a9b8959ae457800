// The web console at /-/lockwarden/console/: its files, sign-in and sign-out. Every other console
// URL answers the same page (the console routes in the browser), under a strict
// Content-Security-Policy: scripts only from this origin plus the hash of the page's import map,
// styles only from files, no inline code anywhere. Its data comes from the admin API.
import type { Context, Middleware, Next } from 'koa';
import { RULE_IDS } from '../src/policy/types.js';
import type { AdminToken } from './admin-token.js';
import type { CheckTokens } from './check-tokens.js';
import type { ConsoleAssets } from './console-assets.js';
import { type ConsoleSessions, CSRF_HEADER, SESSION_COOKIE, SESSION_TTL_MS } from './console-sessions.js';
import { HttpError, readJsonBody, sendError } from './http-error.js';

export const CONSOLE_PREFIX = '/-/lockwarden/console';
const COOKIE_PATH = '/-/lockwarden/';

export function createConsoleRoutes(options: {
  assets: ConsoleAssets;
  sessions: ConsoleSessions;
  token: AdminToken;
  checkTokens: CheckTokens;
  /** https public URL: cookies are Secure even when TLS ends at a proxy the service does not trust. */
  publicUrl?: string;
}): Middleware {
  const { assets, sessions } = options;
  const csp = [
    "default-src 'none'",
    `script-src 'self' '${assets.importMapHash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');

  const secureHeaders = (ctx: Context) => {
    ctx.set('content-security-policy', csp);
    ctx.set('x-content-type-options', 'nosniff');
    ctx.set('referrer-policy', 'no-referrer');
    ctx.set('x-frame-options', 'DENY');
    ctx.set('cross-origin-opener-policy', 'same-origin');
  };

  const secureCookie = (ctx: Context) => ctx.secure || options.publicUrl?.startsWith('https:') === true;

  const serve = (ctx: Context, file: (typeof assets)['index'], cacheControl: string) => {
    secureHeaders(ctx);
    ctx.set('cache-control', cacheControl);
    ctx.set('etag', file.etag);
    ctx.set('vary', 'accept-encoding');
    ctx.type = file.contentType;
    if (ctx.get('if-none-match') === file.etag) {
      ctx.status = 304;
      return;
    }
    ctx.status = 200;
    if (/\bgzip\b/.test(ctx.get('accept-encoding'))) {
      ctx.set('content-encoding', 'gzip');
      ctx.body = file.gzip;
    } else ctx.body = file.body;
  };

  // Behind a TLS proxy the service does not trust, the browser's Origin is the public URL's
  // (https://lw.example), not the plain connection's: without it sign-in was refused there.
  const publicOrigin = options.publicUrl ? new URL(options.publicUrl).origin : undefined;

  /** Writes from a page of another origin carry its Origin: refused before anything else. */
  const sameOrigin = (ctx: Context) => {
    const origin = ctx.get('origin');
    // Koa 3's ctx.origin echoes the Origin header; the service's own origin is built here.
    const own = `${ctx.protocol}://${ctx.host}`;
    if (origin !== '' && origin !== own && origin !== publicOrigin)
      throw new HttpError(403, `a console request from ${origin.slice(0, 100)} is refused (not ${own})`);
  };

  async function session(ctx: Context): Promise<void> {
    ctx.set('cache-control', 'no-store');
    if (ctx.method === 'GET') {
      const current = await sessions.verify(ctx.cookies.get(SESSION_COOKIE));
      ctx.body = current
        ? {
            signedIn: true,
            csrfToken: current.csrfToken,
            expiresAt: new Date(current.expiresAt).toISOString(),
            rules: RULE_IDS,
          }
        : { signedIn: false };
      return;
    }
    sameOrigin(ctx);
    if (ctx.method === 'POST') {
      const body = (await readJsonBody(ctx, 4096)) as { token?: unknown };
      const token = typeof body?.token === 'string' ? body.token.trim() : '';
      if (token === '') throw new HttpError(400, 'enter the admin token');
      if (!options.token.verify(token)) {
        if (await options.checkTokens.grantOf(token))
          throw new HttpError(
            403,
            'this is a check token: it may only check packages from CI; sign in with the admin token',
          );
        throw new HttpError(
          401,
          'that is not the admin token (printed on first start, or LOCKWARDEN_ADMIN_TOKEN)',
        );
      }
      const created = sessions.create();
      // Koa refuses a Secure cookie on a plain connection unless told the client sees https.
      if (secureCookie(ctx)) ctx.cookies.secure = true;
      ctx.cookies.set(SESSION_COOKIE, created.cookie, {
        httpOnly: true,
        sameSite: 'strict',
        secure: secureCookie(ctx),
        path: COOKIE_PATH,
        maxAge: SESSION_TTL_MS,
        overwrite: true,
      });
      ctx.status = 201;
      ctx.body = {
        signedIn: true,
        csrfToken: created.session.csrfToken,
        expiresAt: new Date(created.session.expiresAt).toISOString(),
        rules: RULE_IDS,
      };
      return;
    }
    if (ctx.method === 'DELETE') {
      const current = await sessions.verify(ctx.cookies.get(SESSION_COOKIE));
      if (current) {
        if (!sessions.csrfMatches(current, ctx.get(CSRF_HEADER) || undefined))
          throw new HttpError(403, `signing out needs the session's ${CSRF_HEADER} header`);
        await sessions.revoke(current);
      }
      if (secureCookie(ctx)) ctx.cookies.secure = true;
      ctx.cookies.set(SESSION_COOKIE, '', {
        httpOnly: true,
        sameSite: 'strict',
        secure: secureCookie(ctx),
        path: COOKIE_PATH,
        maxAge: 0,
        overwrite: true,
      });
      ctx.status = 204;
      return;
    }
    ctx.set('allow', 'GET, POST, DELETE');
    sendError(ctx, 405, `${ctx.method} is not allowed on the console session`);
  }

  return async function consoleRoutes(ctx: Context, next: Next) {
    const path = ctx.path;
    // A person opening the service's root in a browser wants the console; clients (npm asks with
    // Accept: application/json or */*) keep the registry's answer.
    if (path === '/' && ctx.method === 'GET' && /\btext\/html\b/.test(ctx.get('accept'))) {
      ctx.redirect(`${CONSOLE_PREFIX}/`);
      return;
    }
    if (path === CONSOLE_PREFIX) {
      ctx.redirect(`${CONSOLE_PREFIX}/`);
      return;
    }
    if (!path.startsWith(`${CONSOLE_PREFIX}/`)) return next();
    const rest = path.slice(CONSOLE_PREFIX.length + 1);
    if (rest === 'session') return session(ctx);
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.set('allow', 'GET, HEAD');
      return sendError(ctx, 405, `${ctx.method} is not allowed on ${CONSOLE_PREFIX}/`);
    }
    const file = assets.files.get(rest);
    if (file) return serve(ctx, file, 'no-cache');
    if (rest.startsWith('assets/') || rest.startsWith('vendor/'))
      return sendError(ctx, 404, `${path} is not a console file`);
    // Any other path is a page of the console.
    return serve(ctx, assets.index, 'no-store');
  };
}
