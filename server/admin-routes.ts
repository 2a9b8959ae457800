// The admin API under /-/lockwarden/v1/: policies (CRUD, with the engine's validation messages),
// the audit log, check tokens, and the check API the Action's service mode calls. Everything but
// the health endpoint needs the admin token; the check API also accepts a check-only token (for the
// policies it names), so CI secrets cannot change policies or read the audit log.
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { addSemverFindings, type UpdateRef } from '../src/engine/add-semver-findings.js';
import { checkPackages, type PackageRef } from '../src/engine/check-packages.js';
import { judgeUnlistedBundles } from '../src/engine/judge-lockfile-bundles.js';
import { serializePolicy } from '../src/policy/parse-policy.js';
import { type PopularIndex, RULE_IDS, type Verdict } from '../src/policy/types.js';
import { explainInvalidPackageName, explainInvalidVersionSegment } from '../src/sources/package-name.js';
import type { Semaphore } from '../src/sources/semaphore.js';
import type { Sources } from '../src/sources/types.js';
import { createAdminAuth } from './admin-auth.js';
import type { AdminToken } from './admin-token.js';
import {
  AUDIT_OUTCOMES,
  AUDIT_SOURCES,
  type AuditLog,
  type AuditQuery,
  MAX_AUDIT_PAGE,
  type NewAuditEntry,
} from './audit-log.js';
import type { CheckTokens } from './check-tokens.js';
import type { ConsoleSessions } from './console-sessions.js';
import { HttpError, readJsonBody } from './http-error.js';
import type { PackageCache } from './package-cache.js';
import type { PolicyStore, StoredPolicy } from './policy-store.js';
import { LABEL_PATTERN } from './registry-path.js';
import type { FindingEvent } from './webhook-hub.js';

export const ADMIN_PREFIX = '/-/lockwarden/v1';
const MAX_CHECK_PACKAGES = 10_000;

/**
 * Most bundler tarballs one check request reads that the fact cache does not already know (each
 * is held whole, up to 64 MB, while read). A lockfile has a few bundlers; the ones beyond this are
 * `unavailable` (onUnavailable) for this request, and the next checks read them (what was read is
 * kept in the fact cache).
 */
export const CHECK_MAX_BUNDLER_READS = 32;

export interface AdminRoutesOptions {
  policies: PolicyStore;
  audit: AuditLog;
  packages: PackageCache;
  token: AdminToken;
  /** Tokens accepted by the check API only. */
  checkTokens: CheckTokens;
  /** Console sign-ins, accepted like the admin token. */
  sessions: ConsoleSessions;
  sources: Sources;
  popular: PopularIndex;
  now: () => Date;
  /** On-disk cache for semver-honesty comparisons. */
  cacheDir?: string;
  publicUrl?: string;
  /** For the health endpoint. */
  health: () => Promise<Record<string, unknown>>;
  /** CI findings (webhooks, metrics); resolves once what must not be lost is durable. */
  findings?: (events: FindingEvent[]) => Promise<void>;
  onPolicyChanged?: (
    id: string,
    change: 'created' | 'updated' | 'deleted',
    revision: number | null,
  ) => Promise<void>;
  /**
   * The service-wide limiter of bundler tarball reads, shared with the proxy's bundle check;
   * absent, the check API reads TARBALL_CONCURRENCY at a time per request.
   */
  bundleReads?: Semaphore;
  /** Adds routes behind the admin token (webhook-routes.ts). */
  extend?: (router: Router, requireToken: (ctx: Context, next: Next) => Promise<void>) => void;
}

export function createAdminRoutes(options: AdminRoutesOptions): Router {
  const router = new Router({ prefix: ADMIN_PREFIX });
  const { policies, audit } = options;

  router.get('/health', async (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.body = { status: 'ok', ...(await options.health()) };
  });

  const auth = createAdminAuth(options);
  const requireToken = auth.requireAdmin;
  const requireCheckToken = auth.requireCheck;

  const describe = (ctx: Context, stored: StoredPolicy) => {
    const base = options.publicUrl ?? `${ctx.protocol}://${ctx.host}`;
    const registry = `${base}/${stored.policy.id}/`;
    return {
      id: stored.policy.id,
      revision: stored.revision,
      origin: stored.origin,
      createdAt: stored.createdAt,
      updatedAt: stored.updatedAt,
      registry,
      npmConfigRegistry: `NPM_CONFIG_REGISTRY=${registry}`,
      policy: serializePolicy(stored.policy),
    };
  };

  const find = async (id: string): Promise<StoredPolicy> => {
    const stored = await policies.get(id);
    if (!stored) throw new HttpError(404, `no policy "${id}"`);
    return stored;
  };

  router.get('/policies', requireToken, async (ctx) => {
    ctx.body = { policies: (await policies.list()).map((p) => describe(ctx, p)) };
  });
  router.post('/policies', requireToken, async (ctx) => {
    const stored = await policies.create(await readJsonBody(ctx));
    await options.onPolicyChanged?.(stored.policy.id, 'created', stored.revision);
    ctx.status = 201;
    ctx.set('location', `${ADMIN_PREFIX}/policies/${stored.policy.id}`);
    ctx.body = describe(ctx, stored);
  });
  router.get('/policies/:id', requireToken, async (ctx) => {
    ctx.body = describe(ctx, await find(ctx.params.id!));
  });
  router.put('/policies/:id', requireToken, async (ctx) => {
    // If-Match: "<revision>" makes the write conditional, so an editor working on an older
    // revision (another console, another replica) gets a 409 instead of undoing a change.
    const ifMatch = ctx.get('if-match');
    const ifRevision =
      ifMatch === '' ? undefined : Number(/^"?(\d{1,15})"?$/.exec(ifMatch)?.[1] ?? Number.NaN);
    if (ifRevision !== undefined && !Number.isSafeInteger(ifRevision))
      throw new HttpError(
        400,
        `If-Match: expected a policy revision such as "3", got ${JSON.stringify(ifMatch.slice(0, 40))}`,
      );
    const stored = await policies.update(ctx.params.id!, await readJsonBody(ctx), { ifRevision });
    await options.onPolicyChanged?.(stored.policy.id, 'updated', stored.revision);
    ctx.body = describe(ctx, stored);
  });
  router.delete('/policies/:id', requireToken, async (ctx) => {
    await policies.remove(ctx.params.id!);
    await options.onPolicyChanged?.(ctx.params.id!, 'deleted', null);
    ctx.status = 204;
  });

  router.post('/policies/:id/check', requireCheckToken, async (ctx) => {
    const stored = await find(ctx.params.id!);
    const body = await readJsonBody(ctx);
    const { refs, label, unlisted } = parseCheckBody(body, ctx.query.label);
    // A dry run (the Action's `mode: alert`) is the same policy with `action: alert`, decided by
    // the engine like any other policy, so the audit log records alerts, not blocks.
    const mode = (body as { mode?: unknown }).mode;
    if (mode !== undefined && mode !== 'alert') {
      throw new HttpError(
        400,
        `request body: "mode" may only be "alert" (a dry run), got ${JSON.stringify(mode)}`,
      );
    }
    const policy = mode === 'alert' ? { ...stored.policy, action: 'alert' as const } : stored.policy;
    const updates = parseCheckUpdates(body, refs.length);
    // semver-honesty on the updates the caller names (the Action's changed entries), through the
    // same engine call as inline mode, so both modes give the same verdicts.
    const engine = { policy, sources: options.sources, now: options.now(), popular: options.popular };
    // What the flagged entries bundle (the Action flags every registry entry but a copy inside a
    // bundle: pnpm, yarn and bun lockfiles do not list bundles, npm's list may be edited), judged
    // from their tarballs as inline mode's audit judges them: in the service-wide limiter's slots,
    // and at most CHECK_MAX_BUNDLER_READS tarballs not read before per request (the rest are
    // `unavailable`, never a pass), so a check token cannot make the service hold thousands.
    const checked = await judgeUnlistedBundles(
      await checkPackages(refs, engine),
      unlisted,
      {
        ...engine,
        ...(options.bundleReads ? { tarballSlot: options.bundleReads } : {}),
        maxTarballReads: CHECK_MAX_BUNDLER_READS,
      },
      // A bundled version the request names too (npm's `inBundle` entries) has its own verdict.
      new Set(refs.map((r) => `${r.name}@${r.version}`)),
    );
    const verdicts: Verdict[] = await addSemverFindings(checked, refs, updates, {
      policy,
      sources: options.sources,
      ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    });
    const userAgent = ctx.get('user-agent').slice(0, 256) || null;
    const logged: NewAuditEntry[] = [];
    const acted: FindingEvent[] = [];
    for (const v of verdicts) {
      for (const f of v.findings) {
        if (f.effect === 'allow') continue;
        acted.push({
          policy: stored.policy.id,
          label,
          userAgent,
          source: 'ci',
          outcome: f.effect === 'block' ? 'blocked' : 'alert',
          version: v.version,
          finding: f,
        });
        logged.push({
          policy: stored.policy.id,
          label,
          source: 'ci',
          package: v.name,
          version: v.version,
          rule: f.rule,
          outcome: f.effect === 'block' ? 'blocked' : 'alert',
          reason: f.message,
          userAgent,
        });
      }
    }
    // Answered once the entries are durable: a block CI was told about is in the log.
    await Promise.all([audit.record(logged), options.findings?.(acted)]);
    const p = policy;
    ctx.body = {
      policy: {
        id: p.id,
        name: p.name,
        action: p.action,
        onUnavailable: p.onUnavailable,
        revision: stored.revision,
        // The Action judges where lockfile entries come from with these (it sends no URLs).
        lockfileSource: p.lockfileSource,
        registries: p.registries,
      },
      // Tells the Action its updates were judged (a service without semver honesty omits it).
      updatesChecked: updates.length,
      // Tells the Action the bundles it flagged were read (a service that predates it omits it).
      bundlesChecked: unlisted.filter(Boolean).length,
      verdicts,
    };
  });

  router.get('/check-tokens', requireToken, async (ctx) => {
    ctx.body = { tokens: await options.checkTokens.list(), configured: options.checkTokens.configured };
  });
  router.post('/check-tokens', requireToken, async (ctx) => {
    const issued = await options.checkTokens.issue(
      await readJsonBody(ctx),
      async (id) => (await policies.get(id)) !== undefined,
    );
    ctx.status = 201;
    ctx.set('cache-control', 'no-store');
    ctx.body = issued;
  });
  router.delete('/check-tokens/:id', requireToken, async (ctx) => {
    await options.checkTokens.revoke(ctx.params.id!);
    ctx.status = 204;
  });

  options.extend?.(router, requireToken);

  router.get('/audit', requireToken, async (ctx) => {
    ctx.body = await audit.query(parseAuditQuery(ctx.query));
  });

  router.get('/cache', requireToken, (ctx) => {
    ctx.body = options.packages.stats();
  });
  router.delete('/cache', requireToken, (ctx) => {
    options.packages.clear();
    ctx.status = 204;
  });

  return router;
}

/**
 * The optional `updates` of a check request: `[{name, from, to}]`, each judged for semver honesty
 * against the verdict of `name@to` (at most one per package checked).
 */
function parseCheckUpdates(body: unknown, packages: number): UpdateRef[] {
  const updates = (body as { updates?: unknown }).updates;
  if (updates === undefined) return [];
  if (!Array.isArray(updates))
    throw new HttpError(400, 'request body: "updates" must be an array of {name, from, to}');
  if (updates.length > packages) {
    throw new HttpError(
      413,
      `request body: ${updates.length} updates for ${packages} packages; at most one update per package`,
    );
  }
  const problems: string[] = [];
  const out: UpdateRef[] = [];
  updates.forEach((entry, i) => {
    const u = (entry ?? {}) as { name?: unknown; from?: unknown; to?: unknown };
    const nameProblem =
      typeof u.name === 'string' ? explainInvalidPackageName(u.name) : 'expected a package name';
    if (nameProblem) problems.push(`updates[${i}].name: ${nameProblem}`);
    for (const field of ['from', 'to'] as const) {
      const v = u[field];
      const problem =
        typeof v === 'string' && v !== '' ? explainInvalidVersionSegment(v) : 'expected a version string';
      if (problem) problems.push(`updates[${i}].${field}: ${problem}`);
    }
    if (problems.length === 0)
      out.push({ name: u.name as string, from: u.from as string, to: u.to as string });
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, 20);
    throw new HttpError(400, `request body: ${problems.length} problem(s):\n  ${shown.join('\n  ')}`, {
      extra: { problems },
    });
  }
  return out;
}

function parseCheckBody(
  body: unknown,
  labelParam: unknown,
): { refs: PackageRef[]; label: string | null; unlisted: boolean[] } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'request body: expected {"packages": [{"name": "...", "version": "..."}]}');
  }
  const { packages, label: bodyLabel } = body as { packages?: unknown; label?: unknown };
  if (!Array.isArray(packages))
    throw new HttpError(400, 'request body: "packages" must be an array of {name, version}');
  if (packages.length > MAX_CHECK_PACKAGES) {
    throw new HttpError(
      413,
      `request body: ${packages.length} packages; at most ${MAX_CHECK_PACKAGES} per request`,
    );
  }
  const problems: string[] = [];
  const refs: PackageRef[] = [];
  const unlisted: boolean[] = [];
  packages.forEach((entry, i) => {
    const e = (entry ?? {}) as { name?: unknown; version?: unknown; bundles?: unknown };
    // `"bundles": "unlisted"`: a lockfile entry whose bundle only its tarball names truly.
    if (e.bundles !== undefined && e.bundles !== 'unlisted')
      problems.push(`packages[${i}].bundles: expected "unlisted" or nothing`);
    unlisted.push(e.bundles === 'unlisted');
    if (typeof e.name !== 'string') {
      problems.push(`packages[${i}].name: expected a package name`);
      return;
    }
    const nameProblem = explainInvalidPackageName(e.name);
    if (nameProblem)
      problems.push(
        `packages[${i}].name: ${JSON.stringify(e.name)} is not a valid npm package name: ${nameProblem}`,
      );
    if (e.version !== undefined && e.version !== null) {
      if (typeof e.version !== 'string')
        problems.push(`packages[${i}].version: expected a version string or null`);
      else {
        const versionProblem = explainInvalidVersionSegment(e.version);
        if (versionProblem) problems.push(`packages[${i}].version: ${versionProblem}`);
      }
    }
    refs.push({ name: e.name, version: typeof e.version === 'string' ? e.version : null });
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, 20);
    const more = problems.length > shown.length ? `\n  ... and ${problems.length - shown.length} more` : '';
    throw new HttpError(400, `request body: ${problems.length} problem(s):\n  ${shown.join('\n  ')}${more}`, {
      extra: { problems },
    });
  }
  const label =
    typeof labelParam === 'string' ? labelParam : typeof bodyLabel === 'string' ? bodyLabel : null;
  if (label !== null && !LABEL_PATTERN.test(label)) {
    throw new HttpError(
      400,
      `label ${JSON.stringify(label)}: expected letters, digits, ".", "_" or "-" (up to 64)`,
    );
  }
  return { refs, label, unlisted };
}

export function parseAuditQuery(query: Record<string, string | string[] | undefined>): AuditQuery {
  const one = (key: string): string | undefined => {
    const value = query[key];
    if (Array.isArray(value)) throw new HttpError(400, `query parameter "${key}" is given more than once`);
    return value === undefined || value === '' ? undefined : value;
  };
  const q: AuditQuery = {};
  for (const key of ['policy', 'label', 'package'] as const) {
    const value = one(key);
    if (value !== undefined) q[key] = value;
  }
  const oneOf = (key: 'rule' | 'outcome' | 'source', allowed: readonly string[]) => {
    const value = one(key);
    if (value === undefined) return;
    if (!allowed.includes(value))
      throw new HttpError(
        400,
        `query parameter "${key}": expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`,
      );
    q[key] = value;
  };
  oneOf('rule', RULE_IDS);
  oneOf('outcome', AUDIT_OUTCOMES);
  oneOf('source', AUDIT_SOURCES);
  for (const key of ['since', 'until'] as const) {
    const value = one(key);
    if (value === undefined) continue;
    const ms = Date.parse(value);
    if (Number.isNaN(ms))
      throw new HttpError(
        400,
        `query parameter "${key}": expected an ISO date or timestamp, got ${JSON.stringify(value)}`,
      );
    q[key] = new Date(ms);
  }
  for (const key of ['limit', 'cursor'] as const) {
    const value = one(key);
    if (value === undefined) continue;
    const n = Number(value);
    const max = key === 'limit' ? MAX_AUDIT_PAGE : Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(n) || n < 1 || n > max) {
      throw new HttpError(
        400,
        `query parameter "${key}": expected an integer from 1 to ${max}, got ${JSON.stringify(value)}`,
      );
    }
    q[key] = n;
  }
  return q;
}
