// Who may call the admin API: the admin token as a bearer token, or a console session cookie
// (writes then also need the session's CSRF token in a header, which another origin cannot send).
// The check API also takes check-only tokens for the policies they name.
import type { Context, Next } from 'koa';
import type { AdminToken } from './admin-token.js';
import type { CheckGrant, CheckTokens } from './check-tokens.js';
import { type ConsoleSessions, CSRF_HEADER, SESSION_COOKIE } from './console-sessions.js';
import { HttpError } from './http-error.js';

export interface AdminAuth {
  /** Middleware: the admin token or a console session. */
  requireAdmin(ctx: Context, next: Next): Promise<void>;
  /** Middleware for `/policies/:id/check`: a check token for that policy, or admin. */
  requireCheck(ctx: Context, next: Next): Promise<void>;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function createAdminAuth(options: {
  token: AdminToken;
  checkTokens: CheckTokens;
  sessions: ConsoleSessions;
}): AdminAuth {
  const presentedToken = (ctx: Context): string | undefined =>
    /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'))?.[1];

  const unauthorized = (ctx: Context, message: string): HttpError => {
    ctx.set('www-authenticate', 'Bearer realm="lockwarden"');
    return new HttpError(401, message);
  };

  /** Admin through the console: a valid session, and for writes its CSRF token. */
  const viaSession = async (ctx: Context): Promise<boolean> => {
    const session = await options.sessions.verify(ctx.cookies.get(SESSION_COOKIE));
    if (!session) return false;
    if (
      !SAFE_METHODS.has(ctx.method) &&
      !options.sessions.csrfMatches(session, ctx.get(CSRF_HEADER) || undefined)
    ) {
      throw new HttpError(
        403,
        `a console write needs the session's ${CSRF_HEADER} header; reload the console`,
      );
    }
    return true;
  };

  return {
    async requireAdmin(ctx, next) {
      const token = presentedToken(ctx);
      if (token === undefined && (await viaSession(ctx))) return next();
      if (token === undefined || !options.token.verify(token)) {
        if (token !== undefined && (await options.checkTokens.grantOf(token))) {
          throw new HttpError(
            403,
            'this is a check token: it may only call POST /-/lockwarden/v1/policies/<id>/check; this endpoint needs the admin token',
          );
        }
        throw unauthorized(
          ctx,
          ctx.get('authorization') === ''
            ? 'the admin API needs "Authorization: Bearer <token>" (printed on first start, or LOCKWARDEN_ADMIN_TOKEN)'
            : 'the admin token is wrong',
        );
      }
      await next();
    },

    async requireCheck(ctx, next) {
      const token = presentedToken(ctx);
      const grant: CheckGrant | undefined =
        token === undefined
          ? (await viaSession(ctx))
            ? { name: 'admin', policies: null }
            : undefined
          : options.token.verify(token)
            ? { name: 'admin', policies: null }
            : await options.checkTokens.grantOf(token);
      if (!grant) {
        throw unauthorized(
          ctx,
          ctx.get('authorization') === ''
            ? 'the check API needs "Authorization: Bearer <token>": a check token (LOCKWARDEN_CHECK_TOKEN, or one issued at POST /-/lockwarden/v1/check-tokens) or the admin token'
            : 'the token is neither a check token nor the admin token',
        );
      }
      const id = ctx.params.id!;
      if (grant.policies !== null && !grant.policies.includes(id)) {
        throw new HttpError(
          403,
          `check token "${grant.name}" may check ${grant.policies.map((p) => `"${p}"`).join(', ')}, not "${id}"`,
        );
      }
      await next();
    },
  };
}
