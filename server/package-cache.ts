// What the proxy knows about one package under one policy revision: the upstream document, the
// engine's verdicts, and the filtered documents already serialized (and gzipped) per URL prefix.
// A warm request is a Map lookup and a write of cached bytes; JSON work happens once per package,
// policy revision and refresh interval. Concurrent requests share one fetch and one evaluation.
import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip as gzipCallback, gzipSync } from 'node:zlib';
import {
  evaluatePackument,
  evaluateUnknownPackage,
  type PackumentEvaluation,
} from '../src/engine/evaluate-packument.js';
import { ABBREVIATED_CONTENT_TYPE, abbreviatePackument } from '../src/policy/abbreviate-packument.js';
import { type DistTagChange, filterPackument } from '../src/policy/filter-packument.js';
import type { Finding, PopularIndex, Verdict } from '../src/policy/types.js';
import { joinFindingMessages } from '../src/policy/unavailable-finding.js';
import type { Manifest, Packument, Sources } from '../src/sources/types.js';
import type { StoredPolicy } from './policy-store.js';
import {
  dependencyRanges,
  MAX_PREFETCH_DEPTH,
  MAX_PREFETCH_PER_CHAIN,
  servedVersionFor,
} from './prefetch-plan.js';
import { redactUrlCredentials } from './redact-url.js';

const gzip = promisify(gzipCallback);

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
}

/**
 * One filtered document serialized once (per policy revision, full or abbreviated) with a marker
 * where each tarball URL's prefix goes. A URL prefix (label, Host) costs a splice of cached bytes,
 * not a new filter and JSON.stringify of the whole document.
 */
interface Template {
  parts: Buffer[];
  hash: string;
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
      /** Serialized bodies by URL prefix, least recently used first, at most MAX_VARIANTS_PER_PACKAGE. */
      variants: Map<string, ServedVariant>;
      templates: Map<'abbreviated' | 'full', Template>;
      /**
       * Names the set of hidden versions (a digest of them), so the audit log records a set once
       * per label and window however often the evaluation is refreshed, and again when it changes.
       */
      hiddenKey: string;
    }
  | { kind: 'refused'; name: string; message: string; findings: Finding[] }
  | { kind: 'not-found'; name: string }
  | { kind: 'unavailable'; name: string; status: 502 | 504; message: string };

export interface PackageLookup {
  state: PackageState;
  /** Why an older document is served (upstream down); null when fresh. */
  staleReason: string | null;
}

export interface PackageCacheOptions {
  sources: Sources;
  popular: PopularIndex;
  now: () => Date;
  /** How long an evaluation is served before it is redone (new versions, cooling-off expiring). */
  ttlMs: number;
  /** Past the TTL, the old answer is still served this long while a refresh runs. */
  maxStaleMs: number;
  /** Retry interval after the upstream failed. */
  failureTtlMs: number;
  maxBytes: number;
  maxEntries: number;
  /**
   * Packuments of the dependencies of a package's latest allowed version fetched and evaluated
   * at once, this many at a time (0 disables). Clients resolve a tree one document at a time, so
   * a cold install otherwise waits for the upstream once per package, in sequence.
   */
  prefetchConcurrency: number;
  onError?: (err: unknown, name: string) => void;
}

export interface PackageCacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
  evaluations: number;
  upstreamFailures: number;
  prefetched: number;
}

export interface PackageCache {
  lookup(stored: StoredPolicy, name: string): Promise<PackageLookup>;
  /** The filtered document for one URL prefix, serialized once and kept. */
  variant(
    stored: StoredPolicy,
    state: Extract<PackageState, { kind: 'ok' }>,
    prefixUrl: string,
    abbreviated: boolean,
  ): ServedVariant;
  gzipOf(variant: ServedVariant): Promise<Buffer>;
  stats(): PackageCacheStats;
  clear(): void;
}

interface PrefetchJob {
  stored: StoredPolicy;
  name: string;
  key: string;
  /** The range the dependent package asks for: the version followed next. */
  range: string;
  depth: number;
  /** Shared by one chain: how many more packages it may fetch ahead. */
  budget: { left: number };
}

interface Slot {
  key: string;
  state: PackageState;
  fetchedAt: number;
  expiresAt: number;
  staleReason: string | null;
  bytes: number;
}

const GZIP_MIN_BYTES = 1024;
const MAX_PREFETCH_QUEUE = 1_000;
/**
 * Each distinct label or Host header is its own URL prefix and so its own body (and gzip). An
 * unauthenticated client can invent any number of them; past this many, the least recently used
 * body of the package is dropped.
 */
export const MAX_VARIANTS_PER_PACKAGE = 8;
/** Stands where a tarball URL prefix goes in a template; random so no upstream text can forge it. */
const PREFIX_MARKER = `\u0000lw-${randomBytes(9).toString('base64url')}\u0000`;
const PREFIX_MARKER_JSON = Buffer.from(JSON.stringify(PREFIX_MARKER).slice(1, -1));
/** Below this, compressing inline costs less than a round trip through the thread pool. */
const GZIP_INLINE_MAX_BYTES = 128 * 1024;

export function createPackageCache(options: PackageCacheOptions): PackageCache {
  const slots = new Map<string, Slot>();
  const pending = new Map<string, Promise<Slot>>();
  let totalBytes = 0;
  const counters = { hits: 0, misses: 0, evaluations: 0, upstreamFailures: 0, prefetched: 0 };
  const prefetchQueue: PrefetchJob[] = [];
  const prefetchQueued = new Set<string>();
  let prefetchActive = 0;

  /** Queues the dependencies of `version` of a package just evaluated (see prefetch-plan.ts). */
  function schedulePrefetch(
    stored: StoredPolicy,
    state: Extract<PackageState, { kind: 'ok' }>,
    version: string | undefined,
    depth: number,
    budget: { left: number },
  ): void {
    if (options.prefetchConcurrency <= 0 || version === undefined || depth >= MAX_PREFETCH_DEPTH) return;
    if (state.hidden.has(version) || !Object.hasOwn(state.packument.versions, version)) return;
    for (const { name, range } of dependencyRanges(state.packument.versions[version])) {
      const key = slotKey(stored, name);
      if (slots.has(key) || pending.has(key) || prefetchQueued.has(key)) continue;
      if (prefetchQueue.length >= MAX_PREFETCH_QUEUE || budget.left <= 0) break;
      budget.left--;
      prefetchQueued.add(key);
      prefetchQueue.push({ stored, name, key, range, depth: depth + 1, budget });
    }
    // After the current response is written: prefetching must not delay what a client waits for.
    if (prefetchQueue.length > 0) setImmediate(pumpPrefetch);
  }

  function pumpPrefetch(): void {
    while (prefetchActive < options.prefetchConcurrency && prefetchQueue.length > 0) {
      const job = prefetchQueue.shift()!;
      prefetchActive++;
      counters.prefetched++;
      refresh(job.stored, job.name, undefined)
        .then((slot) => {
          if (slot.state.kind !== 'ok') return;
          const served = servedView(slot.state);
          const version = servedVersionFor(served.versions, served.distTags, job.range);
          schedulePrefetch(job.stored, slot.state, version, job.depth, job.budget);
        })
        .catch((err) => options.onError?.(err, job.name))
        .finally(() => {
          prefetchActive--;
          prefetchQueued.delete(job.key);
          pumpPrefetch();
        });
    }
  }

  function touch(slot: Slot): void {
    // Map order is the LRU order: re-inserting moves the slot to the young end.
    slots.delete(slot.key);
    slots.set(slot.key, slot);
  }

  function account(slot: Slot, delta: number): void {
    slot.bytes += delta;
    if (slots.get(slot.key) === slot) totalBytes += delta;
    evict();
  }

  function evict(): void {
    while (slots.size > 0 && (totalBytes > options.maxBytes || slots.size > options.maxEntries)) {
      const oldest = slots.values().next().value as Slot;
      slots.delete(oldest.key);
      totalBytes -= oldest.bytes;
    }
  }

  function store(slot: Slot): void {
    const previous = slots.get(slot.key);
    if (previous) {
      slots.delete(slot.key);
      totalBytes -= previous.bytes;
    }
    slots.set(slot.key, slot);
    totalBytes += slot.bytes;
    evict();
  }

  async function evaluate(stored: StoredPolicy, name: string, previous: Slot | undefined): Promise<Slot> {
    const key = slotKey(stored, name);
    const nowMs = options.now().getTime();
    const policy = stored.policy;
    const result = await options.sources.registry.getPackument(name, { full: true });
    const keepPrevious = (reason: string): Slot | undefined => {
      if (previous?.state.kind !== 'ok') return undefined;
      const at = new Date(previous.fetchedAt).toISOString();
      return {
        ...previous,
        expiresAt: nowMs + options.failureTtlMs,
        staleReason: `${reason}; serving the copy checked at ${at}`,
      };
    };
    const slot = (state: PackageState, ttlMs: number, staleReason: string | null = null): Slot => ({
      key,
      state,
      fetchedAt: nowMs,
      expiresAt: nowMs + ttlMs,
      staleReason,
      bytes: 0,
    });

    if (result.status === 'unavailable') {
      counters.upstreamFailures++;
      const reason = `upstream registry failed for ${name}: ${redactUrlCredentials(result.reason)}`;
      const kept = keepPrevious(reason);
      if (kept) return kept;
      const status = /timed? ?out|timeout/i.test(result.reason) ? 504 : 502;
      return slot(
        { kind: 'unavailable', name, status, message: `${reason}; lockwarden serves no unchecked documents` },
        options.failureTtlMs,
      );
    }
    if (result.status === 'not-found') {
      const evaluation = evaluateUnknownPackage(name, {
        policy,
        now: options.now(),
        popular: options.popular,
      });
      const refusal = refusalOf(evaluation.packageVerdict, stored);
      if (refusal)
        return slot(
          { kind: 'refused', name, message: refusal.message, findings: refusal.findings },
          options.ttlMs,
        );
      return slot({ kind: 'not-found', name }, options.ttlMs);
    }

    if (result.packument.name !== name) {
      // A document about another package is garbage: judging or serving it under the requested
      // name would let an upstream (or a cache poisoned upstream of us) pass off one package as another.
      counters.upstreamFailures++;
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
        options.failureTtlMs,
      );
    }

    counters.evaluations++;
    let evaluation: PackumentEvaluation;
    try {
      evaluation = await evaluatePackument(result.packument, {
        policy,
        sources: options.sources,
        now: options.now(),
        popular: options.popular,
        name,
      });
    } catch (err) {
      options.onError?.(err, name);
      const reason = `could not evaluate ${name} under policy ${policy.id}: ${redactUrlCredentials(err instanceof Error ? err.message : String(err))}`;
      const kept = keepPrevious(reason);
      if (kept) return kept;
      return slot({ kind: 'unavailable', name, status: 502, message: reason }, options.failureTtlMs);
    }

    const staleReason =
      result.fromCache === 'stale'
        ? `upstream registry unreachable; serving the cached copy of ${name}`
        : null;
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
        { kind: 'refused', name, message: refusal.message, findings: refusal.findings },
        options.ttlMs,
        staleReason,
      );
    }
    if (total > 0 && hidden.size === total) {
      const message = noVersionLeftMessage(name, hidden, stored);
      const findings = [...hidden.values()].flatMap((v) => v.findings.filter((f) => f.effect === 'block'));
      return slot({ kind: 'refused', name, message, findings }, options.ttlMs, staleReason);
    }
    const { distTagChanges } = filterPackument(result.packument, { keep: (v) => !hidden.has(v) });
    const state: PackageState = {
      kind: 'ok',
      name,
      packument: result.packument,
      evaluation,
      hidden,
      distTagChanges,
      variants: new Map(),
      templates: new Map(),
      hiddenKey: createHash('sha1')
        .update([...hidden.keys()].sort().join('\n'))
        .digest('base64url'),
    };
    return slot(state, options.ttlMs, staleReason);
  }

  function refresh(stored: StoredPolicy, name: string, previous: Slot | undefined): Promise<Slot> {
    const key = slotKey(stored, name);
    const running = pending.get(key);
    if (running) return running;
    const promise = evaluate(stored, name, previous)
      .then((slot) => {
        store(slot);
        return slot;
      })
      .finally(() => pending.delete(key));
    pending.set(key, promise);
    return promise;
  }

  function templateOf(
    state: Extract<PackageState, { kind: 'ok' }>,
    abbreviated: boolean,
    slot: Slot | undefined,
  ): Template {
    const kind = abbreviated ? 'abbreviated' : 'full';
    const existing = state.templates.get(kind);
    if (existing) return existing;
    const { packument } = filterPackument(state.packument, {
      keep: (v) => !state.hidden.has(v),
      // The requested name, not the document's: tarball links must lead back to what was checked.
      rewriteTarball: (_name, version) => `${PREFIX_MARKER}${tarballPath(state.name, version)}`,
      // Provenance is fetched through the policy too: a client never leaves the proxy for it.
      rewriteAttestations: (_name, version) => `${PREFIX_MARKER}${attestationsPath(state.name, version)}`,
    });
    const document = abbreviated ? abbreviatePackument(packument) : packument;
    const text = Buffer.from(JSON.stringify(document));
    const parts: Buffer[] = [];
    let from = 0;
    for (let at = text.indexOf(PREFIX_MARKER_JSON); at !== -1; at = text.indexOf(PREFIX_MARKER_JSON, from)) {
      parts.push(text.subarray(from, at));
      from = at + PREFIX_MARKER_JSON.length;
    }
    parts.push(text.subarray(from));
    const template: Template = {
      parts,
      hash: createHash('sha1').update(text).digest('base64url'),
      document,
      contentType: abbreviated ? ABBREVIATED_CONTENT_TYPE : 'application/json',
    };
    state.templates.set(kind, template);
    // The parsed upstream document costs a few times its JSON size; count it with the first template.
    if (slot) account(slot, text.length * (state.templates.size === 1 ? 3 : 1));
    return template;
  }

  return {
    async lookup(stored, name) {
      const key = slotKey(stored, name);
      const slot = slots.get(key);
      const nowMs = options.now().getTime();
      if (slot) {
        if (nowMs < slot.expiresAt) {
          counters.hits++;
          touch(slot);
          return { state: slot.state, staleReason: slot.staleReason };
        }
        if (slot.state.kind === 'ok' && nowMs < slot.expiresAt + options.maxStaleMs) {
          // Serve what we have; the next request sees the refreshed evaluation.
          counters.hits++;
          touch(slot);
          refresh(stored, name, slot).catch((err) => options.onError?.(err, name));
          return { state: slot.state, staleReason: slot.staleReason };
        }
      }
      counters.misses++;
      const fresh = await refresh(stored, name, slot);
      // A client asked for this package: it is about to resolve the dependencies of (most
      // likely) the served latest version. Prefetched packages follow their ranges from there.
      if (fresh.state.kind === 'ok') {
        const latest = servedView(fresh.state).distTags.latest;
        schedulePrefetch(stored, fresh.state, latest, 0, { left: MAX_PREFETCH_PER_CHAIN });
      }
      return { state: fresh.state, staleReason: fresh.staleReason };
    },
    variant(stored, state, prefixUrl, abbreviated) {
      const variantKey = `${abbreviated ? 'a' : 'f'}${prefixUrl}`;
      const existing = state.variants.get(variantKey);
      const slot = slots.get(slotKey(stored, state.name));
      const accountable = slot?.state === state ? slot : undefined;
      if (existing) {
        state.variants.delete(variantKey);
        state.variants.set(variantKey, existing);
        return existing;
      }
      const template = templateOf(state, abbreviated, accountable);
      const prefixJson = Buffer.from(JSON.stringify(prefixUrl).slice(1, -1));
      const pieces: Buffer[] = [];
      template.parts.forEach((part, i) => {
        if (i > 0) pieces.push(prefixJson);
        pieces.push(part);
      });
      const body = Buffer.concat(pieces);
      const etag = `"lw-${createHash('sha1').update(stored.cacheKey).update(template.hash).update(variantKey).digest('base64url')}"`;
      const variant: ServedVariant = {
        body,
        etag,
        contentType: template.contentType,
        distTags: template.document['dist-tags'] ?? {},
        manifest(version) {
          // Abbreviated manifests lack fields npm reads from `/<name>/<version>`; use the full one.
          const full = abbreviated ? templateOf(state, false, accountable) : template;
          const versions = full.document.versions;
          const manifest = Object.hasOwn(versions, version) ? versions[version] : undefined;
          const dist = manifest?.dist;
          if (!manifest || typeof dist?.tarball !== 'string') return manifest;
          const attestations = dist.attestations as { url?: unknown } | undefined;
          return {
            ...manifest,
            dist: {
              ...dist,
              tarball: `${prefixUrl}${tarballPath(state.name, version)}`,
              ...(typeof attestations?.url === 'string'
                ? {
                    attestations: {
                      ...attestations,
                      url: `${prefixUrl}${attestationsPath(state.name, version)}`,
                    },
                  }
                : {}),
            },
          };
        },
      };
      state.variants.set(variantKey, variant);
      if (accountable) account(accountable, body.length);
      while (state.variants.size > MAX_VARIANTS_PER_PACKAGE) {
        const [oldestKey, oldest] = state.variants.entries().next().value as [string, ServedVariant];
        state.variants.delete(oldestKey);
        if (accountable) account(accountable, -oldest.body.length);
      }
      return variant;
    },
    gzipOf(variant) {
      if (variant.gzip) return Promise.resolve(variant.gzip);
      if (variant.body.length < GZIP_MIN_BYTES) return Promise.resolve(variant.body);
      if (variant.body.length <= GZIP_INLINE_MAX_BYTES) {
        variant.gzip = gzipSync(variant.body);
        return Promise.resolve(variant.gzip);
      }
      variant.gzipPending ??= gzip(variant.body).then((bytes) => {
        variant.gzip = bytes;
        variant.gzipPending = undefined;
        return bytes;
      });
      return variant.gzipPending;
    },
    stats() {
      return { entries: slots.size, bytes: totalBytes, ...counters };
    },
    clear() {
      slots.clear();
      totalBytes = 0;
    },
  };
}

function slotKey(stored: StoredPolicy, name: string): string {
  return `${stored.cacheKey}\u0000${name}`;
}

/** `<name>/-/<unscoped>-<version>.tgz`, the layout every registry and client understands. */
export function tarballPath(name: string, version: string): string {
  const unscoped = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
  return `${name}/-/${unscoped}-${encodeURIComponent(version)}.tgz`;
}

/** `-/npm/v1/attestations/<name>@<version>`, where npm looks for provenance. */
export function attestationsPath(name: string, version: string): string {
  return `-/npm/v1/attestations/${encodeURIComponent(name)}@${encodeURIComponent(version)}`;
}

function refusalOf(
  verdict: Verdict,
  stored: StoredPolicy,
): { message: string; findings: Finding[] } | undefined {
  if (verdict.decision !== 'block') return undefined;
  const findings = verdict.findings.filter((f) => f.effect === 'block');
  return {
    message: `${joinFindingMessages(findings)}; blocked by policy ${stored.policy.id}`,
    findings,
  };
}

export function blockMessage(verdict: Verdict, stored: StoredPolicy): string {
  const blocking = verdict.findings.filter((f) => f.effect === 'block');
  const text =
    blocking.length > 0
      ? joinFindingMessages(blocking)
      : `${verdict.name}@${verdict.version} could not be evaluated`;
  return `${text}; blocked by policy ${stored.policy.id}`;
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
function servedView(state: Extract<PackageState, { kind: 'ok' }>): {
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
