// Admin API routes the console needs beyond plain CRUD: the audit log as a live stream
// (server-sent events) and as a download, and "try a package" under a policy. Same prefix and
// the same authentication as the rest of the admin API, so curl can use them too.
import { PassThrough, Readable } from 'node:stream';
import Router from '@koa/router';
import { isLockwardenError } from '../src/errors.js';
import { validatePolicy } from '../src/policy/parse-policy.js';
import type { AdminAuth } from './admin-auth.js';
import { ADMIN_PREFIX, parseAuditQuery } from './admin-routes.js';
import { auditCsv, auditJson, exportEntries } from './audit-export.js';
import { type AuditFeed, matchesAuditQuery } from './audit-feed.js';
import type { AuditLog } from './audit-log.js';
import { HttpError, readJsonBody } from './http-error.js';
import type { PackageCache } from './package-cache.js';
import type { PolicyStore } from './policy-store.js';
import { tryPackage } from './try-package.js';

const HEARTBEAT_MS = 15_000;

export function createConsoleApiRoutes(options: {
  auth: AdminAuth;
  audit: AuditLog;
  feed: AuditFeed;
  policies: PolicyStore;
  packages: PackageCache;
  now: () => Date;
}): Router {
  const router = new Router({ prefix: ADMIN_PREFIX });
  const { auth } = options;

  // New entries as they are committed, under the same filters as GET /audit.
  router.get('/audit/events', auth.requireAdmin, (ctx) => {
    const { limit: _limit, cursor: _cursor, ...query } = parseAuditQuery(ctx.query);
    const stream = new PassThrough();
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.status = 200;
    ctx.set('content-type', 'text/event-stream; charset=utf-8');
    ctx.set('cache-control', 'no-store');
    // nginx and other proxies buffer responses unless told not to.
    ctx.set('x-accel-buffering', 'no');
    ctx.body = stream;
    stream.write('retry: 2000\n: lockwarden audit events\n\n');
    const unsubscribe = options.feed.subscribe((event) => {
      if (event.kind === 'gap') {
        stream.write('event: gap\ndata: {}\n\n');
        return;
      }
      // Oldest first, so a client prepending each one ends up newest first.
      for (const entry of [...event.entries].reverse()) {
        if (matchesAuditQuery(entry, query))
          stream.write(`id: ${entry.id}\nevent: entry\ndata: ${JSON.stringify(entry)}\n\n`);
      }
    });
    const heartbeat = setInterval(() => stream.write(': keep-alive\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    const end = () => {
      clearInterval(heartbeat);
      unsubscribe();
      stream.end();
    };
    ctx.req.once('close', end);
    stream.once('error', end);
  });

  router.get('/audit/export', auth.requireAdmin, (ctx) => {
    const format = ctx.query.format ?? 'csv';
    if (format !== 'csv' && format !== 'json')
      throw new HttpError(
        400,
        `query parameter "format": expected csv or json, got ${JSON.stringify(format)}`,
      );
    const { limit: _limit, cursor: _cursor, ...query } = parseAuditQuery(ctx.query);
    const entries = exportEntries(options.audit, query);
    const stamp = options.now().toISOString().slice(0, 19).replaceAll(':', '');
    ctx.set('cache-control', 'no-store');
    ctx.set('content-disposition', `attachment; filename="lockwarden-audit-${stamp}.${format}"`);
    ctx.type = format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8';
    ctx.body = Readable.from(format === 'csv' ? auditCsv(entries) : auditJson(entries));
  });

  // The engine's problems with a draft, without saving it: the console's editor shows them at
  // their field step by step. Same validation as POST /policies.
  router.post('/policies/validate', auth.requireAdmin, async (ctx) => {
    const body = await readJsonBody(ctx);
    ctx.set('cache-control', 'no-store');
    try {
      validatePolicy(body, { file: 'request body' });
      ctx.body = { valid: true, problems: [] };
    } catch (err) {
      if (!(isLockwardenError(err) && err.code === 'EPOLICY')) throw err;
      ctx.body = { valid: false, problems: err.details ?? [{ path: '', message: err.message }] };
    }
  });

  router.get('/policies/:id/try', auth.requireAdmin, async (ctx) => {
    const stored = await options.policies.get(ctx.params.id!);
    if (!stored) throw new HttpError(404, `no policy "${ctx.params.id}"`);
    const spec = ctx.query.package;
    if (typeof spec !== 'string' || spec.trim() === '')
      throw new HttpError(400, 'query parameter "package": expected name[@version|tag|range]');
    ctx.set('cache-control', 'no-store');
    ctx.body = await tryPackage(options.packages, stored, spec);
  });

  return router;
}
