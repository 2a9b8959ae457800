// The npm registry side of the service: `/<policy>[~<label>]/...` answers what npm, pnpm, yarn
// and bun ask for, with every document filtered and every tarball checked by the engine's
// verdicts. It only translates verdicts: hide versions, refuse with 403, log.
import type { Context, Middleware } from 'koa';
import semver from 'semver';
import type { Finding, Verdict } from '../src/policy/types.js';
import type { AuditLog, NewAuditEntry } from './audit-log.js';
import type { AuditThrottle } from './audit-throttle.js';
import { HttpError, sendError } from './http-error.js';
import { blockMessage, type PackageCache, type PackageState, type ServedVariant } from './package-cache.js';
import type { PolicyStore, StoredPolicy } from './policy-store.js';
import {
  LABEL_SEPARATOR,
  parseRegistryPath,
  routeFromHost,
  versionFromTarballFile,
} from './registry-path.js';
import { parseRefusalSegments, refusalUrl, sendRefusal, wantsRefusalRedirect } from './send-refusal.js';
import { discardBody, streamBody } from './stream-body.js';
import type { Upstream } from './upstream.js';

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
}

const ABBREVIATED = 'application/vnd.npm.install-v1+json';
const SAFE_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
const MAX_PASS_THROUGH_BODY_BYTES = 16 * 1024 * 1024;
const READ_ONLY = (policyId: string) =>
  `lockwarden serves policy "${policyId}" read-only: publish, unpublish, dist-tag and user changes go to the upstream registry directly`;

/** Pass-through endpoints under `/-/` and the methods they accept. */
const PASS_THROUGH: ReadonlyArray<{ match: (s: readonly string[]) => boolean; methods: readonly string[] }> =
  [
    { match: (s) => s[0] === 'npm' && s[1] === 'v1' && s[2] === 'security', methods: ['POST', 'GET'] },
    { match: (s) => s[0] === 'v1' && s[1] === 'search', methods: ['GET'] },
    { match: (s) => s.join('/') === 'npm/v1/keys', methods: ['GET'] },
  ];

export function createRegistryRoutes(options: RegistryRoutesOptions): Middleware {
  const { policies, packages, audit, auditThrottle } = options;

  return async function registryRoutes(ctx: Context): Promise<void> {
    let route: { policyId: string; label: string | null } | undefined;
    if (options.domain)
      route = routeFromHost(
        ctx.host,
        options.domain,
        policies.list().map((p) => p.policy.id),
      );
    const parsed = parseRegistryPath(ctx.path, route);
    if (!parsed.ok) return sendError(ctx, parsed.status, parsed.message);
    const { policyId, label, request } = parsed.value;
    const stored = policies.get(policyId);
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
    if (request.kind === 'tarball') return tarball(call, request.name, request.file);
    const abbreviated = wantsAbbreviated(ctx.get('accept'));
    const { state, staleReason } = await packages.lookup(stored, request.name);
    markStale(ctx, staleReason);
    if (state.kind !== 'ok') return refuse(call, state);
    if (request.kind === 'packument') {
      recordHidden(call, state);
      return sendVariant(ctx, packages.variant(stored, state, prefixUrl, abbreviated), packages);
    }
    return versionManifest(call, state, request.spec);
  };

  interface Call {
    ctx: Context;
    stored: StoredPolicy;
    label: string | null;
    prefixUrl: string;
    /** Serving a refusal redirect's target: answer 403 here, never redirect again. */
    refusalPage?: boolean;
  }

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

  /** Logs refusals once per policy, label, package, version, rule and user agent per window. */
  function recordBlocked(call: Call, findings: readonly Finding[], version: string | null): void {
    const nowMs = options.now().getTime();
    const variant = JSON.stringify([call.label, call.ctx.get('user-agent').slice(0, 256)]);
    const fresh = findings.filter((f) =>
      auditThrottle.admit(JSON.stringify([call.stored.policy.id, f.name, version, f.rule]), variant, nowMs),
    );
    audit.record(entries(call, fresh, 'blocked', version));
  }

  /** Logs the findings of one verdict that have the given effect. */
  function recordVerdict(
    call: Call,
    verdict: Verdict,
    effect: 'block' | 'alert',
    outcome: NewAuditEntry['outcome'],
  ): void {
    audit.record(
      entries(
        call,
        verdict.findings.filter((f) => f.effect === effect),
        outcome,
        verdict.version,
      ),
    );
  }

  function recordHidden(call: Call, state: Extract<PackageState, { kind: 'ok' }>): void {
    if (state.hidden.size === 0) return;
    // Keyed by the policy's revision (its cache key), not its id: after an edit the same versions
    // may be hidden for other rules or reasons, and the log must show what the new revision hid.
    const subject = JSON.stringify([call.stored.cacheKey, state.name, 'hidden', state.hiddenKey]);
    if (!auditThrottle.admit(subject, call.label ?? '', options.now().getTime())) return;
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
    audit.record(out);
  }

  function refuse(call: Call, state: Exclude<PackageState, { kind: 'ok' }>): void {
    switch (state.kind) {
      case 'refused':
        recordBlocked(call, state.findings, null);
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

  /** A 403 with the reason where every client prints it; bun is sent to a URL that says it. */
  function refuseWith(call: Call, message: string, name: string, version: string | null): void {
    if (!call.refusalPage && wantsRefusalRedirect(call.ctx)) {
      call.ctx.status = 302;
      call.ctx.set('cache-control', 'no-store');
      call.ctx.set('location', refusalUrl(call.prefixUrl, name, version, message));
      call.ctx.body = { error: message };
      return;
    }
    sendRefusal(call.ctx, message);
  }

  /** Where a refusal redirect lands: the verdict is evaluated again, the slug only read by people. */
  async function refusalPage(call: Call, target: { name: string; version: string | null }): Promise<void> {
    const { ctx, stored } = call;
    const { state } = await packages.lookup(stored, target.name);
    if (state.kind === 'refused') return sendRefusal(ctx, state.message);
    const hidden =
      state.kind === 'ok' && target.version !== null ? state.hidden.get(target.version) : undefined;
    if (hidden) return sendRefusal(ctx, blockMessage(hidden, stored));
    const what = target.version === null ? target.name : `${target.name}@${target.version}`;
    return sendError(ctx, 404, `${what} is not refused by policy ${stored.policy.id} (any more); try again`);
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
      recordBlocked(
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
      recordBlocked(
        call,
        hidden.findings.filter((f) => f.effect === 'block'),
        hidden.version,
      );
      return refuseWith(call, blockMessage(hidden, stored), name, hidden.version);
    }
    const verdict = state.evaluation.versions.get(version) as Verdict;
    if (verdict.decision === 'alert') {
      recordVerdict(call, verdict, 'alert', 'alert');
    }
    const original = manifest.dist?.tarball;
    if (typeof original !== 'string' || !options.upstream.allowsTarballUrl(original)) {
      return sendError(
        ctx,
        502,
        `${name}@${version}: the upstream document points its tarball at ${typeof original === 'string' ? safeOrigin(original) : 'nothing'}, not at the upstream registry; allow that origin with --tarball-origin`,
      );
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
    ctx.status = 200;
    ctx.set('content-type', 'application/octet-stream');
    const length = res.headers['content-length'];
    if (typeof length === 'string') ctx.set('content-length', length);
    ctx.set('cache-control', 'public, max-age=31536000, immutable');
    if (ctx.method === 'HEAD') {
      discardBody(res.body);
      return;
    }
    // Stream the bytes straight through; Koa ends the response when the upstream body ends.
    streamBody(ctx, res.body);
  }

  async function special(call: Call, segments: readonly string[]): Promise<void> {
    const { ctx } = call;
    const policyId = call.stored.policy.id;
    if (segments.length === 1 && segments[0] === 'ping') {
      ctx.body = {};
      return;
    }
    const refused = parseRefusalSegments(segments);
    if (refused) {
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
        ctx.set('allow', 'GET, HEAD');
        return sendError(ctx, 405, READ_ONLY(policyId));
      }
      return refusalPage({ ...call, refusalPage: true }, refused);
    }
    if (segments[0] === 'package' && segments.length >= 3) {
      const scoped = segments[1]!.startsWith('@');
      const name = scoped ? `${segments[1]}/${segments[2]}` : segments[1]!;
      const rest = segments.slice(scoped ? 3 : 2);
      if (rest[0] === 'dist-tags') {
        if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
          ctx.set('allow', 'GET, HEAD');
          return sendError(ctx, 405, READ_ONLY(policyId));
        }
        const { state, staleReason } = await packages.lookup(call.stored, name);
        markStale(ctx, staleReason);
        if (state.kind !== 'ok') return refuse(call, state);
        const tags = packages.variant(call.stored, state, call.prefixUrl, false).distTags;
        if (rest.length === 1) {
          ctx.body = { ...tags };
          return;
        }
        const tag = rest[1]!;
        if (rest.length === 2 && Object.hasOwn(tags, tag)) {
          ctx.body = JSON.stringify(tags[tag]);
          ctx.type = 'application/json';
          return;
        }
        return sendError(ctx, 404, `${name} has no dist-tag ${JSON.stringify(tag)} under policy ${policyId}`);
      }
    }
    if (
      segments[0] === 'user' ||
      segments[0] === 'whoami' ||
      (segments[0] === 'npm' && segments[2] === 'tokens')
    ) {
      return sendError(ctx, 405, READ_ONLY(policyId));
    }
    const pass = PASS_THROUGH.find((p) => p.match(segments));
    if (!pass) return sendError(ctx, 404, `/-/${segments.join('/')} is not an endpoint lockwarden serves`);
    if (!pass.methods.includes(ctx.method) && !(ctx.method === 'HEAD' && pass.methods.includes('GET'))) {
      ctx.set('allow', pass.methods.join(', '));
      return sendError(ctx, 405, `${ctx.method} is not allowed on /-/${segments.join('/')}`);
    }
    const body = ctx.method === 'POST' ? await readRawBody(ctx) : undefined;
    const headers: Record<string, string> = {};
    for (const name of ['accept', 'content-type', 'content-encoding', 'npm-command', 'user-agent']) {
      const value = ctx.get(name);
      if (value) headers[name] = value;
    }
    const res = await options.upstream.passThrough({
      method: ctx.method,
      path: `-/${segments.map(encodeURIComponent).join('/')}`,
      search: ctx.search,
      headers,
      ...(body ? { body } : {}),
    });
    ctx.status = res.statusCode;
    if (ctx.method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304) {
      // No body goes to the client; drain it so the upstream connection is reused.
      discardBody(res.body);
      return;
    }
    for (const name of ['content-type', 'content-encoding', 'content-length', 'etag']) {
      const value = res.headers[name];
      if (typeof value === 'string') ctx.set(name, value);
    }
    streamBody(ctx, res.body);
  }
}

function wantsAbbreviated(accept: string): boolean {
  if (accept === '') return false;
  const acceptable = parseAccept(accept);
  const abbreviatedQ = acceptable.get(ABBREVIATED) ?? 0;
  const jsonQ = Math.max(
    acceptable.get('application/json') ?? 0,
    acceptable.get('application/*') ?? 0,
    acceptable.get('*/*') ?? 0,
  );
  if (abbreviatedQ === 0 && jsonQ === 0) {
    throw new HttpError(
      406,
      `cannot serve ${JSON.stringify(accept.slice(0, 200))}: this registry answers application/json or ${ABBREVIATED}`,
    );
  }
  return abbreviatedQ > 0 && abbreviatedQ >= jsonQ;
}

function parseAccept(header: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of header.slice(0, 1024).split(',')) {
    const [type, ...params] = part.trim().toLowerCase().split(';');
    if (!type) continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m) q = Number.parseFloat(m[1]!) || 0;
    }
    out.set(type.trim(), Math.max(out.get(type.trim()) ?? 0, q));
  }
  return out;
}

async function sendVariant(ctx: Context, variant: ServedVariant, packages: PackageCache): Promise<void> {
  ctx.set('etag', variant.etag);
  ctx.set('vary', 'accept, accept-encoding');
  ctx.set('cache-control', 'no-cache');
  ctx.set('content-type', variant.contentType);
  if (matchesEtag(ctx.get('if-none-match'), variant.etag)) {
    ctx.status = 304;
    return;
  }
  ctx.status = 200;
  if (variant.body.length >= 1024 && /\bgzip\b/i.test(ctx.get('accept-encoding'))) {
    ctx.set('content-encoding', 'gzip');
    ctx.body = variant.gzip ?? (await packages.gzipOf(variant));
    return;
  }
  ctx.body = variant.body;
}

function matchesEtag(header: string, etag: string): boolean {
  if (header === '') return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

function markStale(ctx: Context, reason: string | null): void {
  if (reason === null) return;
  ctx.set('x-lockwarden-stale', reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 512));
  ctx.set('warning', '110 lockwarden "Response is Stale"');
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

async function readRawBody(ctx: Context): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > MAX_PASS_THROUGH_BODY_BYTES)
      throw new HttpError(413, `request body is larger than ${MAX_PASS_THROUGH_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
