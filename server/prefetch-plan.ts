// What to fetch ahead of a client. A client that asked for a packument resolves its
// dependencies next; fetching them before it asks saves a round trip per level. It must follow
// the versions the client is resolving: following each package's latest version instead walks a
// different (often much larger) tree. For a package fetched as a dependency the range is known,
// so the version is the newest one the policy serves that satisfies it; for a package a client
// asked for directly it is the served `latest`. Chains are bounded in depth and count.
import semver from 'semver';
import { explainInvalidPackageName } from '../src/sources/package-name.js';
import type { Manifest } from '../src/sources/types.js';

/** Levels below the package a client asked for. */
export const MAX_PREFETCH_DEPTH = 3;
/** Packages one client request may cause to be fetched ahead, over all levels. */
export const MAX_PREFETCH_PER_CHAIN = 200;
const MAX_DEPENDENCIES_PER_PACKAGE = 64;
const FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies'] as const;

export interface DependencyRange {
  name: string;
  /** A semver range or a dist-tag, as the manifest has it (npm: aliases unwrapped). */
  range: string;
}

/** The registry dependencies of one manifest, with the ranges the client will resolve. */
export function dependencyRanges(manifest: Manifest | undefined): DependencyRange[] {
  const out = new Map<string, string>();
  if (!manifest) return [];
  // An optional peer is installed only where the project has it already: npm and pnpm resolve
  // none of their own. `next` alone lists four (a test runner, sass...), each a tree to fetch.
  const meta = manifest.peerDependenciesMeta;
  const optionalPeer = (name: string) =>
    meta !== null &&
    typeof meta === 'object' &&
    Object.hasOwn(meta, name) &&
    (meta as Record<string, { optional?: unknown } | null>)[name]?.optional === true;
  for (const field of FIELDS) {
    const deps = manifest[field];
    if (deps === null || typeof deps !== 'object' || Array.isArray(deps)) continue;
    for (const [key, raw] of Object.entries(deps as Record<string, unknown>)) {
      if (typeof raw !== 'string') continue;
      if (field === 'peerDependencies' && optionalPeer(key)) continue;
      let name = key;
      let range = raw.trim() === '' ? '*' : raw.trim();
      const alias = /^npm:((?:@[^/@]+\/)?[^@]+)(?:@(.*))?$/.exec(range);
      if (alias) {
        name = alias[1]!;
        range = alias[2] ?? '*';
      } else if (
        /^(?:[a-z+]+:|[./~]|[^/@]+\/)/i.test(range) &&
        semver.validRange(range, { loose: true }) === null
      ) {
        // git, file, URL and GitHub shorthand specs are not fetched from the registry.
        continue;
      }
      if (explainInvalidPackageName(name) !== undefined || out.has(name)) continue;
      out.set(name, range);
      if (out.size >= MAX_DEPENDENCIES_PER_PACKAGE) return [...out].map(([n, r]) => ({ name: n, range: r }));
    }
  }
  return [...out].map(([name, range]) => ({ name, range }));
}

/**
 * The version a client resolving `range` gets from the served document: a dist-tag's target, or
 * the newest served version satisfying the range (prereleases only when the range names one).
 */
export function servedVersionFor(
  versions: readonly string[],
  distTags: Readonly<Record<string, string>>,
  range: string,
): string | undefined {
  if (Object.hasOwn(distTags, range)) return distTags[range];
  if (semver.validRange(range, { loose: true }) === null) return undefined;
  // npm prefers the `latest` tag when it satisfies the range.
  const latest = distTags.latest;
  if (latest !== undefined && versions.includes(latest) && semver.satisfies(latest, range, { loose: true }))
    return latest;
  return semver.maxSatisfying([...versions], range, { loose: true }) ?? undefined;
}
