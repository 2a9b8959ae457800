// Removes versions from a packument the way a registry would if they had never been published,
// so every client (npm, pnpm, yarn, bun) resolves to what is left without knowing a proxy exists.
// Pure: the caller decides which versions to keep and where tarballs are served from.
import { createHash } from 'node:crypto';
import semver from 'semver';
import type { Manifest, Packument } from '../sources/types.js';

export interface FilterPackumentOptions {
  /** Whether a version stays visible. Called once per key of `versions`. */
  keep: (version: string) => boolean;
  /** New `dist.tarball` for a kept version; omitted: tarball URLs stay as they are. */
  rewriteTarball?: (name: string, version: string, originalUrl: string) => string;
  /** New `dist.attestations.url` for a kept version; omitted: attestation URLs stay as they are. */
  rewriteAttestations?: (name: string, version: string, originalUrl: string) => string;
}

/** A dist-tag that pointed at a removed version. `to: null` means the tag was dropped. */
export interface DistTagChange {
  tag: string;
  from: string;
  to: string | null;
  reason: string;
}

export interface FilterPackumentResult {
  packument: Packument;
  /** Versions removed from `versions` (and `time`), in document order. */
  removed: string[];
  distTagChanges: DistTagChange[];
}

/** Null-prototype maps: a version or tag named `__proto__` stays an ordinary key. */
function createMap<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Registries hold keys such as `0.14.0beta`; loose parsing reads them as `0.14.0-beta`. */
function parseLoose(version: string): semver.SemVer | null {
  try {
    return new semver.SemVer(version, { loose: true });
  } catch {
    return null;
  }
}

export function filterPackument(
  packument: Packument,
  options: FilterPackumentOptions,
): FilterPackumentResult {
  const { keep } = options;
  const sourceVersions: Record<string, unknown> = isObject(packument.versions) ? packument.versions : {};
  const versions = createMap<Manifest>();
  const removed: string[] = [];

  const rewrites = options.rewriteTarball !== undefined || options.rewriteAttestations !== undefined;
  for (const version of Object.keys(sourceVersions)) {
    const entry = Object.getOwnPropertyDescriptor(sourceVersions, version)!;
    // A getter is a manifest parsed when first read (an indexed document): it is an object, and
    // copying the getter keeps filtering from parsing thousands of manifests nobody reads.
    const lazy = entry.get !== undefined;
    // A manifest that is not an object cannot be installed; serving it would crash clients.
    if ((!lazy && !isObject(entry.value)) || !keep(version)) {
      removed.push(version);
      continue;
    }
    if (lazy && !rewrites) Object.defineProperty(versions, version, entry);
    else
      versions[version] = withDistUrls(packument.name, version, sourceVersions[version] as Manifest, options);
  }

  const out = Object.assign(createMap<unknown>(), packument) as Packument;
  out.versions = versions;

  if (isObject(packument.time)) {
    const removedSet = new Set(removed);
    const time = createMap<string>();
    for (const key of Object.keys(packument.time)) {
      if (!removedSet.has(key)) time[key] = packument.time[key] as string;
    }
    out.time = time;
  }

  const distTagChanges: DistTagChange[] = [];
  if (isObject(packument['dist-tags'])) {
    const tags = createMap<string>();
    const removedSet = new Set(removed);
    // Parsed only when a tag needs a new target: most documents lose no tagged version.
    let candidates: Array<{ raw: string; parsed: semver.SemVer }> | undefined;
    for (const [tag, target] of Object.entries(packument['dist-tags'])) {
      if (typeof target !== 'string' || !removedSet.has(target)) {
        if (typeof target === 'string') tags[tag] = target;
        continue;
      }
      candidates ??= Object.keys(versions)
        .map((v) => ({ raw: v, parsed: parseLoose(v) }))
        .filter((c): c is { raw: string; parsed: semver.SemVer } => c.parsed !== null);
      const change = repairTag(tag, target, candidates);
      distTagChanges.push(change);
      if (change.to !== null) tags[tag] = change.to;
    }
    out['dist-tags'] = tags;
  }
  if (removed.length > 0) describeServedDocument(packument, out, removed);

  return { packument: out, removed, distTagChanges };
}

/**
 * A document with versions removed must not claim the upstream's `modified` and `_rev`: those
 * describe the hidden versions (a client comparing them would see a change that is not there, or
 * miss the one that is). `modified` becomes the newest time of what is served; `_rev` keeps its
 * CouchDB shape (`<n>-<32 hex>`) with a hash of the upstream revision and what was removed, so it
 * changes exactly when the served document does.
 */
function describeServedDocument(source: Packument, out: Packument, removed: readonly string[]): void {
  const time = isObject(out.time) ? out.time : undefined;
  let newest: number | undefined;
  if (time) {
    for (const [key, value] of Object.entries(time)) {
      if (key === 'modified' || typeof value !== 'string') continue;
      const ms = Date.parse(value);
      if (!Number.isNaN(ms) && (newest === undefined || ms > newest)) newest = ms;
    }
  }
  const modified = newest === undefined ? undefined : new Date(newest).toISOString();
  if (time && 'modified' in time) {
    if (modified === undefined) delete time.modified;
    else time.modified = modified;
  }
  if (typeof source.modified === 'string') {
    // An abbreviated upstream document has no times to recompute from: say nothing rather than wrong.
    if (modified === undefined) delete out.modified;
    else out.modified = modified;
  }
  if (typeof source._rev === 'string') {
    const generation = /^(\d+)-/.exec(source._rev)?.[1] ?? '1';
    const digest = createHash('sha256')
      .update(source._rev)
      .update('\u0000')
      .update(removed.join('\u0000'))
      .digest('hex')
      .slice(0, 32);
    out._rev = `${generation}-${digest}`;
  }
}

function withDistUrls(
  name: string,
  version: string,
  manifest: Record<string, unknown>,
  options: FilterPackumentOptions,
): Manifest {
  const dist = manifest.dist;
  if (!isObject(dist) || (!options.rewriteTarball && !options.rewriteAttestations))
    return manifest as Manifest;
  return { ...manifest, dist: rewriteDist(name, version, dist, options) } as Manifest;
}

/** A version's `dist` with its tarball and attestation URLs rewritten as the options say. */
export function rewriteDist(
  name: string,
  version: string,
  dist: Record<string, unknown>,
  { rewriteTarball, rewriteAttestations }: Omit<FilterPackumentOptions, 'keep'>,
): Record<string, unknown> {
  const next: Record<string, unknown> = { ...dist };
  if (rewriteTarball && typeof dist.tarball === 'string') {
    next.tarball = rewriteTarball(name, version, dist.tarball);
  }
  const attestations = dist.attestations;
  if (rewriteAttestations && isObject(attestations) && typeof attestations.url === 'string') {
    next.attestations = { ...attestations, url: rewriteAttestations(name, version, attestations.url) };
  }
  return next;
}

/**
 * Moves a tag whose version was removed to the highest kept version below it: never up, since a
 * higher version is one the publisher did not tag. `latest` only lands on stable versions; other
 * tags stay on their own line (same major, and prereleases only if the tag pointed at one).
 */
function repairTag(
  tag: string,
  target: string,
  candidates: ReadonlyArray<{ raw: string; parsed: semver.SemVer }>,
): DistTagChange {
  const original = parseLoose(target);
  if (original === null) {
    return {
      tag,
      from: target,
      to: null,
      reason: `${target} is not a semver version, so no lower version can be chosen`,
    };
  }
  const originalIsPrerelease = original.prerelease.length > 0;
  let best: { raw: string; parsed: semver.SemVer } | undefined;
  for (const c of candidates) {
    if (semver.compare(c.parsed, original) >= 0) continue;
    const isPrerelease = c.parsed.prerelease.length > 0;
    if (tag === 'latest') {
      if (isPrerelease) continue;
    } else {
      if (c.parsed.major !== original.major) continue;
      if (isPrerelease && !originalIsPrerelease) continue;
    }
    if (best === undefined || semver.compare(c.parsed, best.parsed) > 0) best = c;
  }
  if (best === undefined) {
    const wanted = tag === 'latest' ? 'stable version' : `version of major ${original.major}`;
    return { tag, from: target, to: null, reason: `no allowed ${wanted} below ${target}` };
  }
  return {
    tag,
    from: target,
    to: best.raw,
    reason: `${target} is not allowed; ${best.raw} is the highest allowed below it`,
  };
}
