// semver-honesty for `name from → to`: fetch both tarballs through the registry source, read
// package.json and the entry points' declarations in memory, compare, and judge. The comparison
// (not the verdict, which depends on the policy) is cached per (name, from, to): in memory for the
// run and on disk for later runs, since published versions never change.

import { LockwardenError } from '../errors.js';
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
import type { DeclarationPair } from './compare-declarations.js';
import { mapConcurrent } from './map-concurrent.js';

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

export interface UpdatePair {
  name: string;
  from: string;
  to: string;
}

export interface SemverHonestyChecker {
  /** Findings for one update; [] for majors, prereleases, downgrades and `semverHonesty: off`. */
  check(name: string, from: string, to: string): Promise<Finding[]>;
  /** Findings for many updates, in order; their declarations are compared in one program. */
  checkMany(pairs: readonly UpdatePair[]): Promise<Finding[][]>;
  /** Comparisons run (not answered from a cache), for benchmarks. */
  stats(): { compared: number; cacheHits: number };
}

export const DEFAULT_MAX_TARBALL_BYTES = 32 * 1024 * 1024;
const DEFAULT_MAX_UNPACKED_BYTES = 256 * 1024 * 1024;
const MAX_FILE_BYTES = 8 * 1024 * 1024;
/** Bump when the comparison changes, so cached results from older code are not reused. */
const CACHE_NAMESPACE = `semver-honesty:v1:${TOOL_VERSION}`;

type Comparison = { status: 'ok'; changes: InterfaceChange[] } | { status: 'unavailable'; reason: string };

// Pairs fetched at once (two tarballs each): the registry source allows 32 requests in flight per
// origin; at 8 pairs a 2,000-update run spent 6 of its 23 s waiting on the network.
const FETCH_CONCURRENCY = 16;
/** Pairs compared in one TypeScript program (bounded so a huge update does not hold every file at once). */
const PAIRS_PER_PROGRAM = 64;

const WANTED = /(^package\.json$)|\.d\.[cm]?ts$|\.[cm]?js$/;

/** The checker a policy asks for: none when its `semverHonesty` is off. */
export function semverHonestyCheckerFor(opts: SemverHonestyOptions): SemverHonestyChecker | undefined {
  return opts.policy.semverHonesty === 'off' ? undefined : createSemverHonestyChecker(opts);
}

/**
 * `update` under `semverHonesty: block` holds dishonest releases back and resolves again, a few
 * rounds at most; when the last round still chose some, nothing is written (exit 1), as when no
 * version a range needs is allowed, rather than a release the policy blocks.
 */
export function semverRoundsExhausted(vetoes: readonly Finding[]): LockwardenError {
  return new LockwardenError(
    'EBLOCKED',
    `semver honesty blocks the releases left after holding back the newer ones, so nothing was written:\n  ${vetoes.map((f) => f.message).join('\n  ')}\nPin an earlier version, or add an allow entry with a reason`,
  );
}

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

  type Prepared =
    | Comparison
    | { status: 'prepared'; manifestChanges: InterfaceChange[]; pair: DeclarationPair };

  /** Everything but the TypeScript comparison: cache, packument, tarballs, package.json. */
  async function prepare(name: string, from: string, to: string): Promise<Prepared> {
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
    try {
      const [before, after] = await Promise.all([
        fetchPackage(name, from, doc.packument.versions[from]),
        fetchPackage(name, to, doc.packument.versions[to]),
      ]);
      const oldIface = readPackageInterface(parseManifestText(before), before.files);
      const newIface = readPackageInterface(parseManifestText(after), after.files);
      return {
        status: 'prepared',
        manifestChanges: compareManifestInterfaces(oldIface, newIface),
        pair: {
          before: { texts: before.texts, entries: oldIface.entries },
          after: { texts: after.texts, entries: newIface.entries },
        },
      };
    } catch (err) {
      if (err instanceof TarballError) return { status: 'unavailable', reason: err.message };
      throw err;
    }
  }

  /** Compares every pair not compared yet, the TypeScript part of all of them in one program. */
  async function compareAll(todo: { key: string; name: string; from: string; to: string }[]) {
    const settle = new Map<string, { resolve: (c: Comparison) => void; reject: (e: unknown) => void }>();
    for (const t of todo) {
      const p = new Promise<Comparison>((resolve, reject) => settle.set(t.key, { resolve, reject }));
      p.catch(() => {}); // awaited by the caller; never an unhandled rejection
      memo.set(t.key, p);
    }
    try {
      const prepared: Prepared[] = new Array(todo.length);
      await mapConcurrent(todo, FETCH_CONCURRENCY, async (t, i) => {
        prepared[i] = await prepare(t.name, t.from, t.to);
      });
      const ready = todo
        .map((t, i) => ({ t, p: prepared[i]! }))
        .filter(
          (x): x is { t: (typeof todo)[number]; p: Extract<Prepared, { status: 'prepared' }> } =>
            x.p.status === 'prepared',
        );
      // The TypeScript compiler is large: loaded on the first comparison, never for runs without one.
      const declared =
        ready.length > 0 ? (await import('./compare-declarations.js')).compareDeclarationPairs : undefined;
      for (let start = 0; start < ready.length; start += PAIRS_PER_PROGRAM) {
        const chunk = ready.slice(start, start + PAIRS_PER_PROGRAM);
        const changes = declared!(chunk.map((x) => x.p.pair));
        chunk.forEach((x, k) => {
          counters.compared++;
          const all = [...x.p.manifestChanges, ...changes[k]!];
          void disk?.write(CACHE_NAMESPACE, x.t.key, {
            body: Buffer.from(JSON.stringify(all)),
            fetchedAtMs: Date.now(),
          });
          settle.get(x.t.key)!.resolve({ status: 'ok', changes: all });
        });
      }
      todo.forEach((t, i) => {
        const p = prepared[i]!;
        if (p.status !== 'prepared') settle.get(t.key)!.resolve(p);
      });
    } catch (err) {
      for (const s of settle.values()) s.reject(err);
    }
  }

  async function checkMany(pairs: readonly UpdatePair[]): Promise<Finding[][]> {
    const policy = opts.policy;
    const wanted = pairs.map((p) => {
      const bump = classifyBump(p.from, p.to);
      const judged = policy.semverHonesty !== 'off' && (bump === 'minor' || bump === 'patch');
      return judged ? `${p.name}@${p.from}..${p.to}` : undefined;
    });
    const todo = new Map<string, { key: string; name: string; from: string; to: string }>();
    pairs.forEach((p, i) => {
      const key = wanted[i];
      if (key !== undefined && !memo.has(key) && !todo.has(key)) todo.set(key, { key, ...p });
    });
    if (todo.size > 0) await compareAll([...todo.values()]);
    return Promise.all(
      pairs.map(async ({ name, from, to }, i) => {
        const key = wanted[i];
        if (key === undefined) return [];
        const result = await memo.get(key)!;
        if (result.status === 'unavailable') return [unavailable(name, from, to, result.reason, policy)];
        return evaluateSemverHonesty({ name, from, to, changes: result.changes, policy });
      }),
    );
  }

  return {
    checkMany,
    async check(name, from, to) {
      return (await checkMany([{ name, from, to }]))[0]!;
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
