// What the proxy knows about one package under one policy revision: the upstream document, the
// engine's verdicts, and the filtered documents already serialized (and gzipped) per URL prefix.
// A warm request is a Map lookup and a write of cached bytes; JSON work happens once per package,
// policy revision and refresh interval. Concurrent requests share one fetch and one evaluation.
import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip as gzipCallback, gzipSync } from 'node:zlib';
import { ABBREVIATED_CONTENT_TYPE, abbreviatePackument } from '../src/policy/abbreviate-packument.js';
import { filterPackument, rewriteDist } from '../src/policy/filter-packument.js';
import { renderIndexedPackument } from '../src/policy/render-indexed-packument.js';
import { packumentIndexOf } from '../src/sources/parse-registry-document.js';
import { compact } from '../src/sources/read-body.js';
import type { Manifest, Packument } from '../src/sources/types.js';
import {
  evaluatePackageState,
  type PackageEvaluationOptions,
  type PackageState,
  type ServedVariant,
  type Slot,
  servedView,
  slotKey,
  type Template,
} from './evaluate-package-state.js';
import { createPackagePrefetcher } from './package-prefetcher.js';
import type { StoredPolicy } from './policy-store.js';
import { MAX_PREFETCH_PER_CHAIN } from './prefetch-plan.js';

const gzip = promisify(gzipCallback);

export interface PackageLookup {
  state: PackageState;
  /** Why an older document is served (upstream down); null when fresh. */
  staleReason: string | null;
}

export interface PackageCacheOptions extends PackageEvaluationOptions {
  /** Past the TTL, the old answer is still served this long while a refresh runs. */
  maxStaleMs: number;
  maxBytes: number;
  maxEntries: number;
  /**
   * Packuments of the dependencies of a package's latest allowed version fetched and evaluated
   * at once, this many at a time (0 disables). Clients resolve a tree one document at a time, so
   * a cold install otherwise waits for the upstream once per package, in sequence.
   */
  prefetchConcurrency: number;
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
  /**
   * The package's state under the policy, fetched and evaluated on a miss. `prefetch: false` for
   * lookups no client resolves from (a bundled package arrives inside its bundler's tarball).
   */
  lookup(stored: StoredPolicy, name: string, opts?: { prefetch?: boolean }): Promise<PackageLookup>;
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
const GZIP_MIN_BYTES = 1024;
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
  const evaluationContext = { ...options, counters };
  const prefetcher = createPackagePrefetcher({
    concurrency: options.prefetchConcurrency,
    has: (key) => slots.has(key) || pending.has(key),
    refresh: (stored, name) => refresh(stored, name, undefined),
    counters,
    ...(options.onError ? { onError: options.onError } : {}),
  });

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
  function refresh(stored: StoredPolicy, name: string, previous: Slot | undefined): Promise<Slot> {
    const key = slotKey(stored, name);
    const running = pending.get(key);
    if (running) return running;
    const promise = evaluatePackageState(evaluationContext, stored, name, previous)
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
    const keep = (v: string) => !state.hidden.has(v);
    const rewrites = {
      // The requested name, not the document's: tarball links must lead back to what was checked.
      rewriteTarball: (_name: string, version: string) =>
        `${PREFIX_MARKER}${tarballPath(state.name, version)}`,
      // Provenance is fetched through the policy too: a client never leaves the proxy for it.
      rewriteAttestations: (_name: string, version: string) =>
        `${PREFIX_MARKER}${attestationsPath(state.name, version)}`,
    };
    const index = packumentIndexOf(state.packument);
    let document: Packument;
    let text: Buffer;
    if (index) {
      // Spliced from the upstream's bytes: no manifest is parsed or serialized (docs/performance.md).
      document = state.filtered;
      text = renderIndexedPackument(index, document, { ...rewrites, abbreviated });
    } else {
      const { packument } = filterPackument(state.packument, { keep, ...rewrites });
      document = abbreviated ? abbreviatePackument(packument) : packument;
      text = Buffer.from(JSON.stringify(document));
    }
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
    // An indexed upstream document is counted when its slot is made (evaluate-package-state.ts); a
    // parsed one (a few times its JSON size) with the first template.
    const upstreamBytes = index ? 0 : text.length * 2;
    if (slot) account(slot, text.length + (state.templates.size === 1 ? upstreamBytes : 0));
    return template;
  }

  return {
    async lookup(stored, name, opts) {
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
      if (fresh.state.kind === 'ok' && opts?.prefetch !== false) {
        const latest = servedView(fresh.state).distTags.latest;
        prefetcher.schedule(stored, fresh.state, latest, 0, { left: MAX_PREFETCH_PER_CHAIN });
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
      const index = packumentIndexOf(state.packument);
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
          // An indexed document's templates share one filtered document with every field.
          const full = abbreviated && !index ? templateOf(state, false, accountable) : template;
          const versions = full.document.versions;
          const manifest = Object.hasOwn(versions, version) ? versions[version] : undefined;
          const dist = manifest?.dist;
          if (!manifest || typeof dist !== 'object' || dist === null || Array.isArray(dist)) return manifest;
          // Whatever else the dist holds, no URL in it leads past the proxy.
          const rewritten = rewriteDist(state.name, version, dist, {
            rewriteTarball: () => `${prefixUrl}${tarballPath(state.name, version)}`,
            rewriteAttestations: () => `${prefixUrl}${attestationsPath(state.name, version)}`,
          });
          return { ...manifest, dist: rewritten } as Manifest;
        },
      };
      state.variants.set(variantKey, variant);
      if (accountable) {
        account(accountable, body.length);
        // Made later, on the first request that accepts it; not counted once the variant is gone.
        variant.countGzip = (bytes) => {
          if (state.variants.get(variantKey) === variant) account(accountable, bytes);
        };
      }
      while (state.variants.size > MAX_VARIANTS_PER_PACKAGE) {
        const [oldestKey, oldest] = state.variants.entries().next().value as [string, ServedVariant];
        state.variants.delete(oldestKey);
        if (accountable) account(accountable, -oldest.body.length - (oldest.gzip?.length ?? 0));
      }
      return variant;
    },
    gzipOf(variant) {
      if (variant.gzip) return Promise.resolve(variant.gzip);
      if (variant.body.length < GZIP_MIN_BYTES) return Promise.resolve(variant.body);
      if (variant.body.length <= GZIP_INLINE_MAX_BYTES) {
        variant.gzip = gzipSync(variant.body);
        variant.countGzip?.(variant.gzip.length);
        return Promise.resolve(variant.gzip);
      }
      // One output chunk (a round trip through the event loop each) for the whole body: a
      // document compresses to well under an eighth of its size.
      const chunkSize = Math.max(64 * 1024, variant.body.length >> 3);
      variant.gzipPending ??= gzip(variant.body, { chunkSize }).then((output) => {
        // Counted as what it holds, not the output chunk it was made in.
        const bytes = compact(output);
        variant.gzip = bytes;
        variant.countGzip?.(bytes.length);
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

/** `<name>/-/<unscoped>-<version>.tgz`, the layout every registry and client understands. */
export function tarballPath(name: string, version: string): string {
  const unscoped = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
  return `${name}/-/${unscoped}-${encodeURIComponent(version)}.tgz`;
}

/** `-/npm/v1/attestations/<name>@<version>`, where npm looks for provenance. */
export function attestationsPath(name: string, version: string): string {
  return `-/npm/v1/attestations/${encodeURIComponent(name)}@${encodeURIComponent(version)}`;
}
