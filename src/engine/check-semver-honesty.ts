// semver-honesty for `name from → to`: fetch both tarballs through the registry source, read
// package.json and the entry points' declarations in memory, compare, and judge. The comparison
// (not the verdict, which depends on the policy) is cached per (name, from, to): in memory for the
// run and on disk for later runs, since published versions never change.

import { readPackageInterface } from '../policy/package-interface.js';
import {
  classifyBump,
  compareManifestInterfaces,
  evaluateSemverHonesty,
  type InterfaceChange,
} from '../policy/semver-honesty.js';
import type { Finding, Policy } from '../policy/types.js';
import { createDiskCache, type DiskCache } from '../sources/disk-cache.js';
import type { Manifest, Sources } from '../sources/types.js';
import { TarballError, type UnpackedPackage, unpackTarball } from '../sources/unpack-tarball.js';
import { TOOL_VERSION } from '../version.js';

export interface SemverHonestyOptions {
  policy: Policy;
  sources: Pick<Sources, 'registry'>;
  /** On-disk cache for comparisons; memory only when omitted. */
  cacheDir?: string;
  /** Largest tarball fetched (packed). */
  maxTarballBytes?: number;
  /** Largest tarball accepted once unpacked. */
  maxUnpackedBytes?: number;
}

export interface SemverHonestyChecker {
  /** Findings for one update; [] for majors, prereleases, downgrades and `semverHonesty: off`. */
  check(name: string, from: string, to: string): Promise<Finding[]>;
  /** Comparisons run (not answered from a cache), for benchmarks. */
  stats(): { compared: number; cacheHits: number };
}

export const DEFAULT_MAX_TARBALL_BYTES = 32 * 1024 * 1024;
const DEFAULT_MAX_UNPACKED_BYTES = 256 * 1024 * 1024;
const MAX_FILE_BYTES = 8 * 1024 * 1024;
/** Bump when the comparison changes, so cached results from older code are not reused. */
const CACHE_NAMESPACE = `semver-honesty:v1:${TOOL_VERSION}`;

type Comparison = { status: 'ok'; changes: InterfaceChange[] } | { status: 'unavailable'; reason: string };

const WANTED = /(^package\.json$)|\.d\.[cm]?ts$|\.[cm]?js$/;

export function createSemverHonestyChecker(opts: SemverHonestyOptions): SemverHonestyChecker {
  const memo = new Map<string, Promise<Comparison>>();
  const disk: DiskCache | undefined = opts.cacheDir ? createDiskCache(opts.cacheDir) : undefined;
  const counters = { compared: 0, cacheHits: 0 };

  async function fetchPackage(
    name: string,
    version: string,
    manifest: Manifest | undefined,
  ): Promise<UnpackedPackage> {
    const source = opts.sources.registry;
    if (!source.getTarball) throw new TarballError('this registry source cannot fetch tarballs');
    const res = await source.getTarball(name, version, {
      maxBytes: opts.maxTarballBytes ?? DEFAULT_MAX_TARBALL_BYTES,
      ...(typeof manifest?.dist?.tarball === 'string' ? { tarballUrl: manifest.dist.tarball } : {}),
      ...(typeof manifest?.dist?.integrity === 'string' ? { integrity: manifest.dist.integrity } : {}),
    });
    if (res.status === 'not-found')
      throw new TarballError(`the registry has no tarball for ${name}@${version}`);
    if (res.status === 'unavailable') throw new TarballError(res.reason);
    try {
      return await unpackTarball(res.bytes, (f) => WANTED.test(f), {
        maxUnpackedBytes: opts.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES,
        maxFileBytes: MAX_FILE_BYTES,
      });
    } catch (err) {
      throw new TarballError(`${name}@${version}: ${(err as Error).message}`);
    }
  }

  async function compare(name: string, from: string, to: string): Promise<Comparison> {
    const key = `${name}@${from}..${to}`;
    const cached = await disk?.read(CACHE_NAMESPACE, key);
    if (cached) {
      try {
        const changes = JSON.parse(cached.body.toString('utf8')) as InterfaceChange[];
        counters.cacheHits++;
        return { status: 'ok', changes };
      } catch {
        // a damaged entry: compare again
      }
    }
    const doc = await opts.sources.registry.getPackument(name, { full: false });
    if (doc.status !== 'ok') {
      return {
        status: 'unavailable',
        reason: doc.status === 'not-found' ? `the registry does not know ${name}` : doc.reason,
      };
    }
    let before: UnpackedPackage;
    let after: UnpackedPackage;
    let oldIface: ReturnType<typeof readPackageInterface>;
    let newIface: ReturnType<typeof readPackageInterface>;
    try {
      [before, after] = await Promise.all([
        fetchPackage(name, from, doc.packument.versions[from]),
        fetchPackage(name, to, doc.packument.versions[to]),
      ]);
      oldIface = readPackageInterface(parseManifestText(before), before.files);
      newIface = readPackageInterface(parseManifestText(after), after.files);
    } catch (err) {
      if (err instanceof TarballError) return { status: 'unavailable', reason: err.message };
      throw err;
    }
    counters.compared++;
    // The TypeScript compiler is large: loaded on the first comparison, never for runs without one.
    const { compareDeclarations } = await import('./compare-declarations.js');
    const changes = [
      ...compareManifestInterfaces(oldIface, newIface),
      ...compareDeclarations(
        { texts: before.texts, entries: oldIface.entries },
        { texts: after.texts, entries: newIface.entries },
      ),
    ];
    void disk?.write(CACHE_NAMESPACE, key, {
      body: Buffer.from(JSON.stringify(changes)),
      fetchedAtMs: Date.now(),
    });
    return { status: 'ok', changes };
  }

  return {
    async check(name, from, to) {
      const policy = opts.policy;
      if (policy.semverHonesty === 'off') return [];
      const bump = classifyBump(from, to);
      if (bump !== 'minor' && bump !== 'patch') return [];
      const key = `${name}@${from}..${to}`;
      let pending = memo.get(key);
      if (!pending) {
        pending = compare(name, from, to);
        memo.set(key, pending);
      }
      const result = await pending;
      if (result.status === 'unavailable') return [unavailable(name, from, to, result.reason, policy)];
      return evaluateSemverHonesty({ name, from, to, changes: result.changes, policy });
    },
    stats: () => ({ ...counters }),
  };
}

function parseManifestText(pkg: UnpackedPackage): Record<string, unknown> {
  const text = pkg.texts.get('package.json');
  if (text === undefined) throw new TarballError('the tarball has no package.json');
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new TarballError('the package.json in the tarball is not a JSON object');
}

/** The comparison could not be made: unavailable, never a silent pass; blocks only if both settings say so. */
function unavailable(name: string, from: string, to: string, reason: string, policy: Policy): Finding {
  const effect =
    policy.semverHonesty === 'block'
      ? policy.onUnavailable
      : policy.onUnavailable === 'allow'
        ? 'allow'
        : 'alert';
  return {
    name,
    version: to,
    rule: 'semver-honesty',
    outcome: 'unavailable',
    effect,
    scope: 'version',
    source: 'registry',
    message: `${name} ${from} → ${to}: interface comparison unavailable: ${reason} (onUnavailable: ${policy.onUnavailable})`,
    hint: 'retry when the registry serves both tarballs, or compare the two versions by hand',
  };
}
