// The `/-/...` endpoints under a policy prefix: ping, dist-tags, the refusal page bun is sent to,
// and what is passed through to the upstream (audit, search, signing keys, provenance), each
// gated by the same verdicts as documents and tarballs.
import type { Readable } from 'node:stream';
import type { Context } from 'koa';
import {
  encodePackageName,
  explainInvalidPackageName,
  explainInvalidVersionSegment,
} from '../src/sources/package-name.js';
import { canDecode, decodeBytes } from '../src/sources/read-body.js';
import { blockMessage, type PackageState } from './evaluate-package-state.js';
import { HttpError, sendError } from './http-error.js';
import type { PackageCache } from './package-cache.js';
import type { StoredPolicy } from './policy-store.js';
import { filterSearchResults } from './search-results.js';
import { parseRefusalSegments, sendRefusal } from './send-refusal.js';
import { discardBody, readBody, streamBody } from './stream-body.js';
import type { Upstream } from './upstream.js';

export interface RegistryCall {
  ctx: Context;
  stored: StoredPolicy;
  label: string | null;
  prefixUrl: string;
  /** Serving a refusal redirect's target: answer 403 here, never redirect again. */
  refusalPage?: boolean;
  /** A tarball request (yarn 1 is told a tarball's refusal its own way). */
  tarball?: boolean;
}

export interface SpecialEndpointDeps {
  packages: PackageCache;
  upstream: Upstream;
  refuse(call: RegistryCall, state: Exclude<PackageState, { kind: 'ok' }>): Promise<void>;
  refuseWith(call: RegistryCall, message: string, name: string, version: string | null): void;
  /**
   * Why a version is refused for what its tarball bundles (403), or why that cannot be said now
   * (502), when either is so (bundle-check.ts).
   */
  bundleRefusal?(
    call: RegistryCall,
    state: Extract<PackageState, { kind: 'ok' }>,
    version: string,
  ): Promise<{ status: 403 | 502; message: string } | undefined>;
}

const MAX_PASS_THROUGH_BODY_BYTES = 16 * 1024 * 1024;
/** Pass-through endpoints under `/-/` and the methods they accept. */
const PASS_THROUGH: ReadonlyArray<{ match: (s: readonly string[]) => boolean; methods: readonly string[] }> =
  [
    { match: (s) => s[0] === 'npm' && s[1] === 'v1' && s[2] === 'security', methods: ['POST', 'GET'] },
    { match: (s) => s[0] === 'v1' && s[1] === 'search', methods: ['GET'] },
    { match: (s) => s.join('/') === 'npm/v1/keys', methods: ['GET'] },
    { match: (s) => s[0] === 'npm' && s[1] === 'v1' && s[2] === 'attestations', methods: ['GET'] },
  ];

export const READ_ONLY = (policyId: string) =>
  `lockwarden serves policy "${policyId}" read-only: publish, unpublish, dist-tag and user changes go to the upstream registry directly`;

export function createSpecialEndpoints(deps: SpecialEndpointDeps) {
  const { packages, refuse, refuseWith } = deps;
  type Call = RegistryCall;

  /** Where a refusal redirect lands: the verdict is evaluated again, the slug only read by people. */
  async function refusalPage(call: Call, target: { name: string; version: string | null }): Promise<void> {
    const { ctx, stored } = call;
    const { state } = await packages.lookup(stored, target.name);
    if (state.kind === 'refused') return sendRefusal(ctx, state.message);
    const hidden =
      state.kind === 'ok' && target.version !== null ? state.hidden.get(target.version) : undefined;
    if (hidden) return sendRefusal(ctx, blockMessage(hidden, stored));
    // A bundler refused at its tarball for what it bundles (bun is sent here from that refusal).
    const bundled =
      state.kind === 'ok' && target.version !== null
        ? await deps.bundleRefusal?.(call, state, target.version)
        : undefined;
    if (bundled?.status === 403) return sendRefusal(ctx, bundled.message);
    if (bundled) return sendError(ctx, bundled.status, bundled.message);
    const what = target.version === null ? target.name : `${target.name}@${target.version}`;
    return sendError(ctx, 404, `${what} is not refused by policy ${stored.policy.id} (any more); try again`);
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
    let path = `-/${segments.map(encodeURIComponent).join('/')}`;
    const attestation = segments[2] === 'attestations' ? parseAttestationSpec(segments.slice(3)) : undefined;
    if (segments[2] === 'attestations') {
      if (!attestation) return sendError(ctx, 404, 'expected /-/npm/v1/attestations/<name>@<version>');
      // Provenance of a version the policy hides is refused like the version itself.
      const { state } = await packages.lookup(call.stored, attestation.name);
      if (state.kind !== 'ok') return refuse(call, state);
      const hidden = state.hidden.get(attestation.version);
      if (hidden) return refuseWith(call, blockMessage(hidden, call.stored), state.name, hidden.version);
      if (!Object.hasOwn(state.packument.versions, attestation.version))
        return sendError(
          ctx,
          404,
          `${attestation.name}@${attestation.version} is not in the upstream registry`,
        );
      path = `-/npm/v1/attestations/${encodePackageName(attestation.name)}@${encodeURIComponent(attestation.version)}`;
    }
    const body = ctx.method === 'POST' ? await readRawBody(ctx) : undefined;
    const headers: Record<string, string> = {};
    for (const name of ['accept', 'content-type', 'content-encoding', 'npm-command', 'user-agent']) {
      const value = ctx.get(name);
      if (value) headers[name] = value;
    }
    const res = await deps.upstream.passThrough({
      method: ctx.method,
      path,
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
    const isSearch = segments[0] === 'v1' && segments[1] === 'search';
    // Search results are always read and filtered, whatever their encoding: passing a compressed
    // answer through would show hidden versions as the latest.
    if (isSearch && res.statusCode === 200) {
      const encoding = res.headers['content-encoding'];
      return sendSearchResults(call, res.body, typeof encoding === 'string' ? encoding : undefined);
    }
    for (const name of ['content-type', 'content-encoding', 'content-length', 'etag']) {
      const value = res.headers[name];
      if (typeof value === 'string') ctx.set(name, value);
    }
    streamBody(ctx, res.body);
  }

  /** Search results as the policy serves them: hidden versions never shown as the latest. */
  async function sendSearchResults(call: Call, body: Readable, encoding: string | undefined): Promise<void> {
    if (!canDecode(encoding)) {
      discardBody(body);
      return sendError(
        call.ctx,
        502,
        `the upstream registry answered the search with content-encoding ${JSON.stringify(encoding)}, which lockwarden cannot read to leave hidden versions out`,
      );
    }
    const raw = await decodeBody(await readBody(body, MAX_PASS_THROUGH_BODY_BYTES), encoding);
    const filtered =
      raw &&
      (await filterSearchResults(raw, async (name) => {
        if (explainInvalidPackageName(name) !== undefined) return null;
        const { state } = await packages.lookup(call.stored, name);
        if (state.kind !== 'ok') return null;
        const version = packages.variant(call.stored, state, call.prefixUrl, false).distTags.latest;
        if (version === undefined) return null;
        const date = state.packument.time?.[version];
        return { version, ...(typeof date === 'string' ? { date } : {}) };
      }));
    if (!filtered)
      return sendError(
        call.ctx,
        502,
        'the upstream registry answered the search with something that is not search results',
      );
    call.ctx.status = 200;
    call.ctx.set('cache-control', 'no-cache');
    call.ctx.type = 'application/json';
    call.ctx.body = filtered;
  }

  return special;
}

/** A body decoded as its Content-Encoding says, or undefined: too large, or not what it claims. */
async function decodeBody(
  raw: Buffer | undefined,
  encoding: string | undefined,
): Promise<Buffer | undefined> {
  if (raw === undefined) return undefined;
  try {
    return await decodeBytes(raw, encoding, MAX_PASS_THROUGH_BODY_BYTES);
  } catch {
    return undefined;
  }
}

/** `<name>@<version>` (a scoped name arrives as two segments). */
function parseAttestationSpec(rest: readonly string[]): { name: string; version: string } | undefined {
  const spec = rest.join('/');
  const at = spec.lastIndexOf('@');
  if (at <= 0) return undefined;
  const name = spec.slice(0, at);
  const version = spec.slice(at + 1);
  if (explainInvalidPackageName(name) !== undefined || explainInvalidVersionSegment(version) !== undefined)
    return undefined;
  return { name, version };
}

export function markStale(ctx: Context, reason: string | null): void {
  if (reason === null) return;
  ctx.set('x-lockwarden-stale', reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 512));
  ctx.set('warning', '110 lockwarden "Response is Stale"');
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
