// What the proxy serves for one package under one policy revision: the upstream document judged
// by the engine, as a state (served with some versions hidden, refused, not found, or unavailable).
import { createHash } from 'node:crypto';
import {
  evaluatePackument,
  evaluateUnknownPackage,
  type PackumentEvaluation,
} from '../src/engine/evaluate-packument.js';
import { type DistTagChange, filterPackument } from '../src/policy/filter-packument.js';
import type { Finding, PopularIndex, Verdict } from '../src/policy/types.js';
import { joinFindingMessages } from '../src/policy/unavailable-finding.js';
import { packumentIndexOf } from '../src/sources/parse-registry-document.js';
import type { Manifest, Packument, Sources } from '../src/sources/types.js';
import type { StoredPolicy } from './policy-store.js';
import { redactUrlCredentials } from './redact-url.js';

export interface ServedVariant {
  body: Buffer;
  etag: string;
  contentType: string;
  /** The dist-tags of the filtered document. */
  distTags: Record<string, string>;
  /** A kept version's manifest from the full filtered document, tarball pointing at this prefix. */
  manifest(version: string): Manifest | undefined;
  gzip?: Buffer;
  gzipPending?: Promise<Buffer>;
  /** Counts the gzip, once made, in the cache's budget while the variant is cached. */
  countGzip?: (bytes: number) => void;
}

/**
 * One filtered document serialized once (per policy revision, full or abbreviated) with a marker
 * where each tarball URL's prefix goes. A URL prefix (label, Host) costs a splice of cached bytes,
 * not a new filter and JSON.stringify of the whole document.
 */
export interface Template {
  parts: Buffer[];
  hash: string;
  /**
   * The filtered document (its dist-tags, and the manifests served alone). From an indexed
   * upstream document its tarball URLs are the upstream's; `ServedVariant.manifest` rewrites them.
   */
  document: Packument;
  contentType: string;
}

export type PackageState =
  | {
      kind: 'ok';
      name: string;
      packument: Packument;
      evaluation: PackumentEvaluation;
      /** Versions hidden from clients, with the verdict that hid them. */
      hidden: Map<string, Verdict>;
      distTagChanges: DistTagChange[];
      /** The document without the hidden versions, URLs as the upstream wrote them. */
      filtered: Packument;
      /** Serialized bodies by URL prefix, least recently used first, at most MAX_VARIANTS_PER_PACKAGE. */
      variants: Map<string, ServedVariant>;
      templates: Map<'abbreviated' | 'full', Template>;
      /**
       * Names the set of hidden versions (a digest of them), so the audit log records a set once
       * per label and window however often the evaluation is refreshed, and again when it changes.
       */
      hiddenKey: string;
    }
  | {
      kind: 'refused';
      name: string;
      message: string;
      findings: Finding[];
      /** The verdicts behind a refusal of a document the upstream has (none for an unknown name). */
      evaluation?: PackumentEvaluation;
    }
  | { kind: 'not-found'; name: string }
  | { kind: 'unavailable'; name: string; status: 502 | 504; message: string };

/** A package state in the cache, with when it was fetched and until when it is served. */
export interface Slot {
  key: string;
  state: PackageState;
  fetchedAt: number;
  expiresAt: number;
  staleReason: string | null;
  bytes: number;
}

export interface PackageEvaluationOptions {
  sources: Sources;
  popular: PopularIndex;
  now: () => Date;
  /** How long an evaluation is served before it is redone (new versions, cooling-off expiring). */
  ttlMs: number;
  /** Retry interval after the upstream failed. */
  failureTtlMs: number;
  onError?: (err: unknown, name: string) => void;
}

export interface PackageEvaluationContext extends PackageEvaluationOptions {
  /** The cache's counters, counted here as evaluations and upstream failures happen. */
  counters: { evaluations: number; upstreamFailures: number };
}

/**
 * Fetches a package's document and judges it under a policy: what the proxy serves for it, as a
 * cache slot (with how long it holds). A failed upstream keeps `previous` when it was good.
 */
export async function evaluatePackageState(
  ctx: PackageEvaluationContext,
  stored: StoredPolicy,
  name: string,
  previous: Slot | undefined,
): Promise<Slot> {
  const key = slotKey(stored, name);
  const nowMs = ctx.now().getTime();
  const policy = stored.policy;
  const result = await ctx.sources.registry.getPackument(name, { full: true });
  const keepPrevious = (reason: string): Slot | undefined => {
    if (previous?.state.kind !== 'ok') return undefined;
    const at = new Date(previous.fetchedAt).toISOString();
    return {
      ...previous,
      expiresAt: nowMs + ctx.failureTtlMs,
      staleReason: `${reason}; serving the copy checked at ${at}`,
    };
  };
  const slot = (state: PackageState, ttlMs: number, staleReason: string | null = null): Slot => ({
    key,
    state,
    fetchedAt: nowMs,
    expiresAt: nowMs + ttlMs,
    staleReason,
    // The upstream bytes an indexed state keeps, whether or not a client ever asks for a body
    // (prefetched packages, tarball-only lookups); the served bodies are counted as they are made.
    bytes: state.kind === 'ok' ? upstreamBytesOf(result) : 0,
  });

  if (result.status === 'unavailable') {
    ctx.counters.upstreamFailures++;
    const reason = `upstream registry failed for ${name}: ${redactUrlCredentials(result.reason)}`;
    const kept = keepPrevious(reason);
    if (kept) return kept;
    const status = /timed? ?out|timeout/i.test(result.reason) ? 504 : 502;
    return slot(
      { kind: 'unavailable', name, status, message: `${reason}; lockwarden serves no unchecked documents` },
      ctx.failureTtlMs,
    );
  }
  if (result.status === 'not-found') {
    const evaluation = evaluateUnknownPackage(name, {
      policy,
      now: ctx.now(),
      popular: ctx.popular,
    });
    const refusal = refusalOf(evaluation.packageVerdict, stored);
    if (refusal)
      return slot({ kind: 'refused', name, message: refusal.message, findings: refusal.findings }, ctx.ttlMs);
    return slot({ kind: 'not-found', name }, ctx.ttlMs);
  }

  if (result.packument.name !== name) {
    // A document about another package is garbage: judging or serving it under the requested
    // name would let an upstream (or a cache poisoned upstream of us) pass off one package as another.
    ctx.counters.upstreamFailures++;
    const reason = `upstream registry failed for ${name}: it answered with the document of ${JSON.stringify(String(result.packument.name).slice(0, 214))}`;
    const kept = keepPrevious(reason);
    if (kept) return kept;
    return slot(
      {
        kind: 'unavailable',
        name,
        status: 502,
        message: `${reason}; lockwarden serves no unchecked documents`,
      },
      ctx.failureTtlMs,
    );
  }

  ctx.counters.evaluations++;
  let evaluation: PackumentEvaluation;
  try {
    evaluation = await evaluatePackument(result.packument, {
      policy,
      sources: ctx.sources,
      now: ctx.now(),
      popular: ctx.popular,
      name,
    });
  } catch (err) {
    ctx.onError?.(err, name);
    const reason = `could not evaluate ${name} under policy ${policy.id}: ${redactUrlCredentials(err instanceof Error ? err.message : String(err))}`;
    const kept = keepPrevious(reason);
    if (kept) return kept;
    return slot({ kind: 'unavailable', name, status: 502, message: reason }, ctx.failureTtlMs);
  }

  const staleReason =
    result.fromCache === 'stale' ? `upstream registry unreachable; serving the cached copy of ${name}` : null;
  const hidden = new Map<string, Verdict>();
  for (const version of Object.keys(result.packument.versions)) {
    const verdict = evaluation.versions.get(version);
    // A version without a verdict is hidden: nothing is served unchecked.
    if (!verdict || verdict.decision === 'block')
      hidden.set(version, verdict ?? missingVerdict(name, version));
  }
  const total = Object.keys(result.packument.versions).length;
  // A package-level block (typosquat, unpopular, blocklisted name) refuses the package only when
  // no version escapes it: an allow entry with a range lifts it for the versions it names.
  const refusal =
    hidden.size === total && everyVersionBlockedByPackage(hidden, evaluation.packageVerdict)
      ? refusalOf(evaluation.packageVerdict, stored)
      : undefined;
  if (refusal) {
    return slot(
      { kind: 'refused', name, message: refusal.message, findings: refusal.findings, evaluation },
      ctx.ttlMs,
      staleReason,
    );
  }
  if (total > 0 && hidden.size === total) {
    const message = noVersionLeftMessage(name, hidden, stored);
    const findings = [...hidden.values()].flatMap((v) => v.findings.filter((f) => f.effect === 'block'));
    return slot({ kind: 'refused', name, message, findings, evaluation }, ctx.ttlMs, staleReason);
  }
  const { packument: filtered, distTagChanges } = filterPackument(result.packument, {
    keep: (v) => !hidden.has(v),
  });
  const state: PackageState = {
    kind: 'ok',
    name,
    packument: result.packument,
    evaluation,
    hidden,
    distTagChanges,
    filtered,
    variants: new Map(),
    templates: new Map(),
    hiddenKey: createHash('sha1')
      .update([...hidden.keys()].sort().join('\n'))
      .digest('base64url'),
  };
  return slot(state, ctx.ttlMs, staleReason);
}

/** What an indexed upstream document holds in memory: its bytes and its index. */
function upstreamBytesOf(result: { status: string; packument?: Packument }): number {
  const index = result.status === 'ok' && result.packument ? packumentIndexOf(result.packument) : undefined;
  return index ? index.bytes.length + index.size : 0;
}

export function slotKey(stored: StoredPolicy, name: string): string {
  return `${stored.cacheKey}\u0000${name}`;
}

function refusalOf(
  verdict: Verdict,
  stored: StoredPolicy,
): { message: string; findings: Finding[] } | undefined {
  if (verdict.decision !== 'block') return undefined;
  const findings = verdict.findings.filter((f) => f.effect === 'block');
  return { message: refusalMessage(findings, stored), findings };
}

export function blockMessage(verdict: Verdict, stored: StoredPolicy): string {
  const blocking = verdict.findings.filter((f) => f.effect === 'block');
  if (blocking.length > 0) return refusalMessage(blocking, stored);
  return `${verdict.name}@${verdict.version} could not be evaluated; blocked by policy ${stored.policy.id}`;
}

/** What a 403 says: the blocking findings' messages and the policy (also for a bundler's bundle). */
export function refusalMessage(findings: readonly Finding[], stored: StoredPolicy): string {
  return `${joinFindingMessages(findings)}; blocked by policy ${stored.policy.id}`;
}

function noVersionLeftMessage(name: string, hidden: Map<string, Verdict>, stored: StoredPolicy): string {
  const sample = [...hidden.values()].slice(-3).reverse();
  const reasons = sample.map(
    (v) => v.findings.find((f) => f.effect === 'block')?.message ?? `${name}@${v.version}`,
  );
  const more = hidden.size > sample.length ? `; and ${hidden.size - sample.length} more` : '';
  return `no version of ${name} is allowed by policy ${stored.policy.id}: ${reasons.join('; ')}${more}`;
}

/** The versions and dist-tags a client sees in the filtered document. */
export function servedView(state: Extract<PackageState, { kind: 'ok' }>): {
  versions: string[];
  distTags: Record<string, string>;
} {
  const distTags: Record<string, string> = Object.create(null);
  for (const [tag, target] of Object.entries(state.packument['dist-tags'] ?? {})) {
    if (typeof target === 'string' && !state.hidden.has(target)) distTags[tag] = target;
  }
  for (const change of state.distTagChanges) {
    if (change.to === null) delete distTags[change.tag];
    else distTags[change.tag] = change.to;
  }
  const versions = Object.keys(state.packument.versions).filter((v) => !state.hidden.has(v));
  return { versions, distTags };
}

/** Whether each hidden version is hidden (also) by one of the package verdict's own blocks. */
function everyVersionBlockedByPackage(
  hidden: ReadonlyMap<string, Verdict>,
  packageVerdict: Verdict,
): boolean {
  if (packageVerdict.decision !== 'block') return false;
  const rules = new Set(
    packageVerdict.findings.filter((f) => f.effect === 'block' && f.scope === 'package').map((f) => f.rule),
  );
  if (rules.size === 0) return false;
  for (const verdict of hidden.values()) {
    if (!verdict.findings.some((f) => f.effect === 'block' && f.scope === 'package' && rules.has(f.rule)))
      return false;
  }
  return true;
}

function missingVerdict(name: string, version: string): Verdict {
  return { name, version, decision: 'block', findings: [], notices: [] };
}
