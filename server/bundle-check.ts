// The proxy's check of what a bundler's tarball carries, before it serves it: every bundled
// package is judged by the same cached evaluation as its own packument (package-cache.ts), so a
// version the policy hides from every document cannot come in inside another package. The list of
// bundled packages is read once per tarball (by name, version and integrity: the bytes cannot
// change), the verdicts follow the package cache's refreshes.
import {
  type BundledPackage,
  type BundleReadLimits,
  bundleFinding,
  readBundledPackages,
} from '../src/engine/bundled-packages.js';
import { mapConcurrent } from '../src/engine/map-concurrent.js';
import type { Finding } from '../src/policy/types.js';
import type { Manifest, Sources } from '../src/sources/types.js';
import type { PackageCache } from './package-cache.js';
import type { StoredPolicy } from './policy-store.js';
import { redactUrlCredentials } from './redact-url.js';

export type BundleVerdict =
  | { kind: 'ok'; alerts: Finding[] }
  | { kind: 'blocked'; findings: Finding[] }
  | { kind: 'unavailable'; message: string };

export interface BundleCheck {
  /** Judges the packages `name@version` bundles; only for manifests that declare bundles. */
  check(stored: StoredPolicy, name: string, version: string, manifest: Manifest): Promise<BundleVerdict>;
}

export interface BundleCheckOptions extends BundleReadLimits {
  sources: Sources;
  packages: PackageCache;
  /**
   * Most bundled packages judged for one tarball (default 2,000; npm's own bundles about 200).
   * Each is a document to fetch: a hostile tarball listing 100,000 must not become 100,000
   * upstream requests. A tarball over it is not checked, so not served.
   */
  maxBundled?: number;
}

/** Tarballs whose bundled packages are remembered; a list is a few names, so this is small. */
const MAX_LISTS = 1_000;
/** Bundled packages judged at a time (npm's own tarball bundles about 200). */
const JUDGE_CONCURRENCY = 8;

interface Judged {
  blocked?: Finding[];
  alerts?: Finding[];
  unavailable?: string;
}

async function judgeAll(
  bundled: readonly BundledPackage[],
  judge: (b: BundledPackage) => Promise<Judged>,
): Promise<Judged[]> {
  const out: Judged[] = new Array(bundled.length);
  await mapConcurrent(bundled, JUDGE_CONCURRENCY, async (b, i) => {
    out[i] = await judge(b);
  });
  return out;
}

export function createBundleCheck(options: BundleCheckOptions): BundleCheck {
  const lists = new Map<string, Promise<BundledPackage[]>>();

  function bundledPackages(name: string, version: string, manifest: Manifest): Promise<BundledPackage[]> {
    const integrity = typeof manifest.dist?.integrity === 'string' ? manifest.dist.integrity : '';
    const key = `${name}@${version}\u0000${integrity}`;
    const known = lists.get(key);
    if (known) {
      lists.delete(key);
      lists.set(key, known);
      return known;
    }
    const listing = readBundledPackages(options.sources.registry, name, version, manifest, options);
    lists.set(key, listing);
    // A failure is not remembered: the next request tries again.
    listing.catch(() => lists.get(key) === listing && lists.delete(key));
    while (lists.size > MAX_LISTS) lists.delete(lists.keys().next().value as string);
    return listing;
  }

  return {
    async check(stored, name, version, manifest) {
      let bundled: BundledPackage[];
      try {
        bundled = await bundledPackages(name, version, manifest);
      } catch (err) {
        const reason = redactUrlCredentials(err instanceof Error ? err.message : String(err));
        return {
          kind: 'unavailable',
          message: `could not read what ${name}@${version} bundles: ${reason}; lockwarden serves no unchecked tarballs`,
        };
      }
      const maxBundled = options.maxBundled ?? 2_000;
      if (bundled.length > maxBundled) {
        return {
          kind: 'unavailable',
          message: `${name}@${version} bundles ${bundled.length} packages, more than the ${maxBundled} lockwarden judges for one tarball; lockwarden serves no unchecked tarballs`,
        };
      }
      const bundler = { name, version };
      // One slot per bundled package, so findings come out in the tarball's order however the
      // lookups finish.
      const judged = await judgeAll(bundled, async (b): Promise<Judged> => {
        const { state } = await options.packages.lookup(stored, b.name, { prefetch: false });
        switch (state.kind) {
          case 'ok': {
            // A version the registry does not list has nothing to be judged by (as a private package).
            const verdict = state.evaluation.versions.get(b.version);
            if (!verdict || verdict.decision === 'allow') return {};
            const findings = verdict.findings
              .filter((f) => f.effect === verdict.decision)
              .map((f) => bundleFinding(bundler, b, f));
            return verdict.decision === 'block' ? { blocked: findings } : { alerts: findings };
          }
          case 'refused':
            return { blocked: state.findings.map((f) => bundleFinding(bundler, b, f)) };
          case 'not-found':
            // Not on the registry: a private bundled package, nothing for the policy to say.
            return {};
          case 'unavailable':
            return { unavailable: `${b.name}@${b.version} (${state.message})` };
        }
      });
      const blocked = judged.flatMap((j) => j.blocked ?? []);
      if (blocked.length > 0) return { kind: 'blocked', findings: blocked };
      const unavailable = judged.flatMap((j) => (j.unavailable ? [j.unavailable] : []));
      if (unavailable.length > 0) {
        return {
          kind: 'unavailable',
          message: `could not judge what ${name}@${version} bundles: ${unavailable.join('; ')}`,
        };
      }
      return { kind: 'ok', alerts: judged.flatMap((j) => j.alerts ?? []) };
    },
  };
}
