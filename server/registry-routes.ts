import type { Context, Middleware } from 'koa';
import semver from 'semver';
import { declaresBundles } from '../src/engine/bundled-packages.js';
import type { Finding, Verdict } from '../src/policy/types.js';
import type { AuditLog, NewAuditEntry } from './audit-log.js';
import type { AuditThrottle } from './audit-throttle.js';
import type { BundleCheck } from './bundle-check.js';
import { blockMessage, type PackageState, refusalMessage } from './evaluate-package-state.js';
import { HttpError, sendError } from './http-error.js';
import type { PackageCache } from './package-cache.js';
import type { PolicyStore } from './policy-store.js';
import {
  LABEL_SEPARATOR,
  parseRegistryPath,
  routeFromHost,
  versionFromTarballFile,
} from './registry-path.js';
import {
  createSpecialEndpoints,
  markStale,
  READ_ONLY,
  type RegistryCall,
} from './registry-special-endpoints.js';
import { sendVariant, wantsAbbreviated } from './send-packument.js';
import {
  refusalUrl,
  sendRefusal,
  sendRefusalRedirect,
  unfollowableRefusalLocation,
  wantsRefusalInLocation,
  wantsRefusalRedirect,
} from './send-refusal.js';
import { clientSignal, discardBody, streamBody } from './stream-body.js';
import type { Upstream } from './upstream.js';
import type { FindingEvent } from './webhook-hub.js';

export interface RegistryRoutesOptions {
  policies: PolicyStore;
  packages: PackageCache;
  audit: AuditLog;
  upstream: Upstream;
  now: () => Date;
  /** Base URL clients reach the service at (no trailing slash); else taken from the request. */
  publicUrl?: string;
  /** Wildcard domain for `<policy>[-<label>].<domain>` routing. */
  domain?: string;
  /** Decides which refusals and hidden versions reach the audit log. */
  auditThrottle: AuditThrottle;
  /**
   * Every finding acted on, before the audit throttle (webhooks count each refusal, metrics each
   * verdict); resolves once what must not be lost is durable.
   */
  findings?: (events: FindingEvent[]) => Promise<void>;
  /** Judges what a bundler's tarball carries before it is served. */
  bundles?: BundleCheck;
}

const SAFE_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
export function createRegistryRoutes(options: RegistryRoutesOptions): Middleware {
  const { policies, packages, audit, auditThrottle } = options;
  type Call = RegistryCall;
  const special = createSpecialEndpoints({
    packages,
    upstream: options.upstream,
    refuse: (call, state) => refuse(call, state),
    refuseWith: (call, message, name, version) => refuseWith(call, message, name, version),
    bundleRefusal: async (call, state, version) => {
      const manifest = Object.hasOwn(state.packument.versions, version)
        ? state.packument.versions[version]
        : undefined;
      if (!options.bundles || !manifest) return undefined;
      return options.bundles.refusalFor(call.stored, state.name, version, manifest, clientSignal(call.ctx));
    },
  });

  return async function registryRoutes(ctx: Context): Promise<void> {
    let route: { policyId: string; label: string | null } | undefined;
    if (options.domain)
      route = routeFromHost(
        ctx.host,
        options.domain,
        (await policies.list()).map((p) => p.policy.id),
      );
    const parsed = parseRegistryPath(ctx.path, route);
    if (!parsed.ok) return sendError(ctx, parsed.status, parsed.message);
    const { policyId, label, request } = parsed.value;
    const stored = await policies.get(policyId);
    if (!stored) return sendError(ctx, 404, `no policy "${policyId}" on this lockwarden service`);

    // A host-routed request names its own host; the public URL is for path routing.
    const base = baseUrl(ctx, route ? undefined : options.publicUrl);
    const prefixUrl = route ? `${base}/` : `${base}/${policyId}${label ? `${LABEL_SEPARATOR}${label}` : ''}/`;
    const call: Call = { ctx, stored, label, prefixUrl };

    if (request.kind === 'special') return special(call, request.segments);
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.set('allow', 'GET, HEAD');
      return sendError(ctx, 405, READ_ONLY(policyId));
    }
    if (request.kind === 'tarball') return tarball({ ...call, tarball: true }, request.name, request.file);
    const abbreviated = wantsAbbreviated(ctx.get('accept'));
    const { state, staleReason } = await packages.lookup(stored, request.name);
    markStale(ctx, staleReason);
    if (state.kind !== 'ok') return refuse(call, state);
    if (request.kind === 'packument') {
      await recordHidden(call, state);
      return sendVariant(ctx, packages.variant(stored, state, prefixUrl, abbreviated), packages);
    }
    return versionManifest(call, state, request.spec);
  };

  function entries(
    call: Call,
    findings: readonly Finding[],
    outcome: NewAuditEntry['outcome'],
    version: string | null,
  ): NewAuditEntry[] {
    const userAgent = call.ctx.get('user-agent').slice(0, 256) || null;
    return findings.map((f) => ({
      policy: call.stored.policy.id,
      label: call.label,
      source: 'registry',
      package: f.name,
      version,
      rule: f.rule,
      outcome,
      reason: f.message,
      userAgent,
    }));
  }

  /**
   * Logs refusals once per policy, label, package, version, rule and user agent per window;
   * resolves when they are durable, so a refusal is answered only once it is in the log.
   */
  function recordBlocked(call: Call, findings: readonly Finding[], version: string | null): Promise<void> {
    const nowMs = options.now().getTime();
    const variant = JSON.stringify([call.label, call.ctx.get('user-agent').slice(0, 256)]);
    // A bundler refused for two bundled packages under one rule is two refusals, not one.
    const fresh = findings.filter((f) => {
      const bundled = typeof f.evidence?.bundled === 'string' ? [f.evidence.bundled] : [];
      return auditThrottle.admit(
        JSON.stringify([call.stored.policy.id, f.name, version, f.rule, ...bundled]),
        variant,
        nowMs,
      );
    });
    const logged = audit.record(entries(call, fresh, 'blocked', version));
    if (!options.findings) return logged;
    return Promise.all([logged, options.findings(events(call, findings, 'blocked', version))]).then(() => {});
  }

  function events(
    call: Call,
    findings: readonly Finding[],
    outcome: FindingEvent['outcome'],
    version: string | null,
  ): FindingEvent[] {
    const userAgent = call.ctx.get('user-agent').slice(0, 256) || null;
    return findings.map((finding) => ({
      policy: call.stored.policy.id,
      label: call.label,
      userAgent,
      source: 'registry',
      outcome,
      version,
      finding,
    }));
  }

  /**
   * Logs the findings of one verdict that have the given effect; resolves when they are durable,
   * so a response that reports an event completes only once it is in the log (a kill -9 then
   * loses none of them, whatever the load does to commit times).
   */
  function recordVerdict(
    call: Call,
    verdict: Verdict,
    effect: 'block' | 'alert',
    outcome: NewAuditEntry['outcome'],
  ): Promise<void> {
    const acted = verdict.findings.filter((f) => f.effect === effect);
    const durable = audit.record(entries(call, acted, outcome, verdict.version));
    void options.findings?.(events(call, acted, outcome, verdict.version));
    return durable;
  }

  /** Logs the versions hidden from a packument (once per window); resolves when they are durable. */
  function recordHidden(call: Call, state: Extract<PackageState, { kind: 'ok' }>): Promise<void> {
    if (state.hidden.size === 0) return Promise.resolve();
    // Keyed by the policy's revision (its cache key), not its id: after an edit the same versions
    // may be hidden for other rules or reasons, and the log must show what the new revision hid.
    const subject = JSON.stringify([call.stored.cacheKey, state.name, 'hidden', state.hiddenKey]);
    if (!auditThrottle.admit(subject, call.label ?? '', options.now().getTime())) return Promise.resolve();
    const out: NewAuditEntry[] = [];
    for (const [version, verdict] of state.hidden) {
      out.push(
        ...entries(
          call,
          verdict.findings.filter((f) => f.effect === 'block'),
          'hidden',
          version,
        ),
      );
    }
    const durable = audit.record(out);
    if (options.findings) {
      const hidden: FindingEvent[] = [];
      for (const [version, verdict] of state.hidden)
        hidden.push(
          ...events(
            call,
            verdict.findings.filter((f) => f.effect === 'block'),
            'hidden',
            version,
          ),
        );
      void options.findings(hidden);
    }
    return durable;
  }

  async function refuse(call: Call, state: Exclude<PackageState, { kind: 'ok' }>): Promise<void> {
    switch (state.kind) {
      case 'refused':
        await recordBlocked(call, state.findings, null);
        refuseWith(call, state.message, state.name, null);
        return;
      case 'not-found':
        sendError(call.ctx, 404, `${state.name} is not in the upstream registry`);
        return;
      case 'unavailable':
        sendError(call.ctx, state.status, state.message);
        return;
    }
  }

  /**
   * A 403 with the reason where every client prints it; bun is sent to a URL that says it, yarn 1
   * (for tarballs) to a location that says it.
   */
  function refuseWith(call: Call, message: string, name: string, version: string | null): void {
    if (!call.refusalPage && wantsRefusalRedirect(call.ctx))
      sendRefusalRedirect(call.ctx, refusalUrl(call.prefixUrl, name, version, message), message);
    else if (call.tarball && wantsRefusalInLocation(call.ctx))
      sendRefusalRedirect(call.ctx, unfollowableRefusalLocation(message), message);
    else sendRefusal(call.ctx, message);
  }

  async function versionManifest(
    call: Call,
    state: Extract<PackageState, { kind: 'ok' }>,
    spec: string,
  ): Promise<void> {
    const { ctx, stored } = call;
    const variant = packages.variant(stored, state, call.prefixUrl, false);
    const version = Object.hasOwn(variant.distTags, spec) ? variant.distTags[spec]! : spec;
    const manifest = variant.manifest(version);
    if (manifest) {
      ctx.set('content-type', 'application/json');
      ctx.set('cache-control', 'no-cache');
      ctx.body = manifest;
      return;
    }
    // A tag the filter removed because every version it could move to is hidden is refused
    // with the reason of the version it named upstream, like the version itself.
    const upstreamTags = state.packument['dist-tags'] ?? {};
    const named = Object.hasOwn(variant.distTags, spec)
      ? version
      : Object.hasOwn(upstreamTags, spec)
        ? upstreamTags[spec]!
        : spec;
    const verdict = state.hidden.get(named);
    if (verdict) {
      await recordBlocked(
        call,
        verdict.findings.filter((f) => f.effect === 'block'),
        verdict.version,
      );
      return refuseWith(call, blockMessage(verdict, stored), state.name, verdict.version);
    }
    const labelHint =
      semver.valid(spec, { loose: true }) === null
        ? ' (a consumer label goes in the prefix: /<policy>~<label>/<package>)'
        : '';
    return sendError(
      ctx,
      404,
      `${state.name} has no version or dist-tag ${JSON.stringify(spec)}${labelHint}`,
    );
  }

  async function tarball(call: Call, name: string, file: string): Promise<void> {
    const { ctx, stored } = call;
    const version = versionFromTarballFile(name, file);
    if (version === undefined) {
      return sendError(ctx, 404, `${file} is not a tarball name of ${name} (expected <name>-<version>.tgz)`);
    }
    const { state, staleReason } = await packages.lookup(stored, name);
    markStale(ctx, staleReason);
    if (state.kind !== 'ok') return refuse(call, state);
    const manifest = Object.hasOwn(state.packument.versions, version)
      ? state.packument.versions[version]
      : undefined;
    if (!manifest) return sendError(ctx, 404, `${name}@${version} is not in the upstream registry`);
    const hidden = state.hidden.get(version);
    if (hidden) {
      await recordBlocked(
        call,
        hidden.findings.filter((f) => f.effect === 'block'),
        hidden.version,
      );
      return refuseWith(call, blockMessage(hidden, stored), name, hidden.version);
    }
    const original = manifest.dist?.tarball;
    if (typeof original !== 'string' || !options.upstream.allowsTarballUrl(original)) {
      return sendError(
        ctx,
        502,
        `${name}@${version}: the upstream document points its tarball at ${typeof original === 'string' ? safeOrigin(original) : 'nothing'}, not at the upstream registry; allow that origin with --tarball-origin`,
      );
    }
    const bundled =
      options.bundles && declaresBundles(manifest)
        ? await options.bundles.check(stored, name, version, manifest, original, clientSignal(ctx))
        : undefined;
    if (bundled?.kind === 'unavailable') return sendError(ctx, 502, bundled.message);
    if (bundled?.kind === 'blocked') {
      await recordBlocked(call, bundled.findings, version);
      return refuseWith(call, refusalMessage(bundled.findings, stored), name, version);
    }
    const verdict = state.evaluation.versions.get(version) as Verdict;
    const alerts = [
      ...(verdict.decision === 'alert' ? verdict.findings.filter((f) => f.effect === 'alert') : []),
      ...(bundled?.alerts ?? []),
    ];
    if (alerts.length > 0)
      await recordVerdict(call, { ...verdict, decision: 'alert', findings: alerts }, 'alert', 'alert');
    if (bundled?.body) {
      // The bytes the check read and verified: what was judged is what is served.
      startTarball(ctx, String(bundled.body.length));
      if (ctx.method !== 'HEAD') ctx.body = bundled.body;
      return;
    }
    const headers: Record<string, string> = { accept: '*/*' };
    const res = await options.upstream.fetchTarball(original, headers);
    if (res.statusCode !== 200) {
      discardBody(res.body);
      const status = res.statusCode === 404 ? 404 : 502;
      return sendError(
        ctx,
        status,
        `upstream registry answered HTTP ${res.statusCode} for the tarball of ${name}@${version}`,
      );
    }
    const length = res.headers['content-length'];
    startTarball(ctx, typeof length === 'string' ? length : undefined);
    if (ctx.method === 'HEAD') {
      discardBody(res.body);
      return;
    }
    // Stream the bytes straight through; Koa ends the response when the upstream body ends.
    streamBody(ctx, res.body);
  }
}

/** A tarball's 200: its bytes never change under its URL (a version is immutable). */
function startTarball(ctx: Context, length: string | undefined): void {
  ctx.status = 200;
  ctx.set('content-type', 'application/octet-stream');
  if (length !== undefined) ctx.set('content-length', length);
  ctx.set('cache-control', 'public, max-age=31536000, immutable');
}

function baseUrl(ctx: Context, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl;
  const host = ctx.host;
  if (!SAFE_HOST.test(host))
    throw new HttpError(400, `Host header ${JSON.stringify(host.slice(0, 100))} is not a host name`);
  return `${ctx.protocol}://${host}`;
}

function safeOrigin(raw: string): string {
  try {
    return new URL(raw).origin;
  } catch {
    return 'an invalid URL';
  }
}
