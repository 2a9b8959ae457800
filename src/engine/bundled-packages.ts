// Bundled dependencies arrive inside their bundler's tarball, never through a packument: a policy
// that hides a version from every document would still let it in that way. What a bundler's
// tarball carries is read here, and judged here, for the proxy (server/bundle-check.ts) and for
// the update of lockfiles that do not list bundled packages (judge-bundles.ts); npm's update reads
// them through Arborist. A bundled package gets the verdict its own name@version gets everywhere
// else, and a block becomes a finding on the bundler version, with the same wording wherever found.
import semver from 'semver';
import { evaluatePackageLevel, evaluateVersion } from '../policy/evaluate.js';
import type { Finding, Policy, PopularIndex, Verdict } from '../policy/types.js';
import { explainInvalidPackageName } from '../sources/package-name.js';
import { matchesShasum, publishedDigest } from '../sources/tarball-integrity.js';
import type { Manifest, RegistrySource } from '../sources/types.js';
import { scanTarball } from '../sources/unpack-tarball.js';
import type { PackumentEvaluation } from './evaluate-packument.js';
import { mapConcurrent } from './map-concurrent.js';

export { declaresBundles } from '../policy/declares-bundles.js';

/**
 * `node_modules/<name>/package.json` at any depth inside the package (a bundled package's own
 * bundled or nested dependencies are in the tarball too), in any case: on a case-insensitive
 * file system `NODE_MODULES/x/Package.json` is found by Node all the same. Each segment stops at a
 * `/`, so a hostile path cannot make the match backtrack.
 */
export const BUNDLED_MANIFEST = /^(?:node_modules\/(?:@[^/]+\/)?[^/]+\/)+package\.json$/i;

export interface BundledPackage {
  name: string;
  version: string;
}

export interface BundleList {
  packages: BundledPackage[];
  /** Bundled manifests that could not be read (not JSON, over 1 MB): what they are is unknown. */
  unreadable: string[];
  /** More bundled manifests than the limit: the list is incomplete. */
  overLimit: boolean;
  /**
   * The document published no digest for the tarball, so nothing says these bytes are the
   * version's: the list describes this download only, and is not kept for later runs.
   */
  unverified?: true;
}

export interface BundleLimits {
  /** Most bundled packages judged for one tarball (default 1,000; npm's own bundles about 200). */
  maxBundled?: number;
  /** Largest unpacked size of a bundler tarball (default 256 MB). */
  maxUnpackedBytes?: number;
}

export const DEFAULT_MAX_BUNDLED = 1_000;
/** A bundled package.json larger than this is no manifest a registry would accept. */
const MAX_MANIFEST_BYTES = 1024 * 1024;

/**
 * What a bundler's tarball carries. Each name@version is listed once. A manifest naming no valid
 * package or version is not listed: it cannot be a registry package, so no policy could judge it
 * (the bundler's own code, as far as any registry knows).
 */
export async function listBundledPackages(bytes: Buffer, limits: BundleLimits = {}): Promise<BundleList> {
  const maxBundled = limits.maxBundled ?? DEFAULT_MAX_BUNDLED;
  const scanned = await scanTarball(bytes, (file) => BUNDLED_MANIFEST.test(file), {
    maxUnpackedBytes: limits.maxUnpackedBytes ?? 256 * 1024 * 1024,
    maxFileBytes: MAX_MANIFEST_BYTES,
    // One more than judged, so that an archive over the limit is known to be.
    maxWanted: maxBundled + 1,
    maxKeptBytes: 16 * 1024 * 1024,
    maxEntries: 200_000,
  });
  const { packages, unreadable } = bundledPackagesFrom(scanned.texts);
  // A few paths say enough; a hostile archive may have a thousand, each long.
  const named = [...unreadable, ...scanned.oversize].slice(0, 10).map((p) => p.slice(0, 200));
  return { packages, unreadable: named, overLimit: scanned.truncated };
}

/** The bundled packages named by the manifests read from a tarball (path → text). */
export function bundledPackagesFrom(texts: ReadonlyMap<string, string>): {
  packages: BundledPackage[];
  unreadable: string[];
} {
  const out = new Map<string, BundledPackage>();
  const unreadable: string[] = [];
  for (const [file, text] of texts) {
    if (!BUNDLED_MANIFEST.test(file)) continue;
    let manifest: unknown;
    try {
      manifest = JSON.parse(text);
    } catch {
      unreadable.push(file);
      continue;
    }
    if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
      unreadable.push(file);
      continue;
    }
    const { name, version } = manifest as { name?: unknown; version?: unknown };
    if (typeof name !== 'string' || explainInvalidPackageName(name) !== undefined) continue;
    if (typeof version !== 'string' || semver.valid(version) === null) continue;
    const key = `${name}@${version}`;
    if (!out.has(key)) out.set(key, { name, version });
  }
  return { packages: [...out.values()], unreadable };
}

/**
 * What `name@version` bundles, from its tarball on `registry`, checked against the document's
 * integrity (by the source) or, for a document that has only the legacy shasum, against that.
 * Throws with the reason when the tarball cannot be had, read or does not match.
 */
export async function readBundledPackages(
  registry: RegistrySource,
  name: string,
  version: string,
  manifest: Manifest,
  limits: BundleLimits & { maxTarballBytes?: number } = {},
): Promise<BundleList> {
  if (!registry.getTarball) throw new Error('this registry source cannot fetch tarballs');
  const digest = publishedDigest(manifest);
  const res = await registry.getTarball(name, version, {
    maxBytes: limits.maxTarballBytes ?? 64 * 1024 * 1024,
    ...(typeof manifest.dist?.tarball === 'string' ? { tarballUrl: manifest.dist.tarball } : {}),
    ...(digest !== undefined && 'integrity' in digest ? { integrity: digest.integrity } : {}),
  });
  if (res.status === 'not-found') throw new Error('the registry has no tarball for it');
  if (res.status === 'unavailable') throw new Error(res.reason);
  if (digest !== undefined && 'shasum' in digest && !matchesShasum(res.bytes, digest.shasum))
    throw new Error('the tarball does not match the shasum the registry published');
  const list = await listBundledPackages(res.bytes, limits);
  return digest === undefined ? { ...list, unverified: true } : list;
}

/** What the registry says about a bundled package's name, as each caller has it. */
export type BundledFacts =
  | { kind: 'known'; evaluation: PackumentEvaluation }
  | { kind: 'unknown-name' }
  | { kind: 'unavailable'; reason: string };

export interface BundleJudgeContext {
  policy: Policy;
  now: Date;
  popular: PopularIndex;
  maxBundled?: number;
}

export type BundleJudgement =
  | { kind: 'ok'; alerts: Finding[] }
  | { kind: 'blocked'; findings: Finding[] }
  | { kind: 'unavailable'; message: string };

/** Bundled packages judged at a time (each may be a document to fetch). */
const JUDGE_CONCURRENCY = 8;

/**
 * The verdict on each bundled package, put on the bundler version: `block` when any bundled one
 * is blocked, `unavailable` when the list or a bundled package's facts could not be had (never a
 * pass), else the alerts. `factsOf` is asked once per bundled name@version.
 */
export async function judgeBundledPackages(
  bundler: { name: string; version: string },
  list: BundleList,
  factsOf: (name: string) => Promise<BundledFacts>,
  ctx: BundleJudgeContext,
): Promise<BundleJudgement> {
  const problem = bundleListProblem(bundler, list, ctx.maxBundled);
  if (problem !== undefined) return { kind: 'unavailable', message: problem };
  const verdicts: Array<Verdict | string> = new Array(list.packages.length);
  await mapConcurrent(list.packages, JUDGE_CONCURRENCY, async (b, i) => {
    verdicts[i] = verdictOf(b, await factsOf(b.name), ctx);
  });
  return judgeBundledVerdicts(bundler, list.packages, verdicts);
}

/**
 * Why a list read from a bundler's tarball cannot be judged (over the limits, or with manifests
 * that could not be read); undefined when it can.
 */
export function bundleListProblem(
  bundler: { name: string; version: string },
  list: BundleList,
  maxBundled = DEFAULT_MAX_BUNDLED,
): string | undefined {
  const spec = `${bundler.name}@${bundler.version}`;
  if (list.overLimit || list.packages.length > maxBundled)
    return `${spec} bundles more than ${maxBundled} package manifests (or more than 16 MB of them), more than lockwarden judges for one tarball`;
  if (list.unreadable.length > 0)
    return `${spec} bundles manifests that cannot be read (${list.unreadable.slice(0, 3).join(', ')}${list.unreadable.length > 3 ? ', ...' : ''}), so what they are is unknown`;
  return undefined;
}

/**
 * The bundled packages' verdicts (`verdicts[i]` judges `packages[i]`; a string: why its facts could
 * not be had) put on the bundler: its findings when any is blocked, else `unavailable` when any
 * could not be judged, else the alerts.
 */
export function judgeBundledVerdicts(
  bundler: { name: string; version: string },
  packages: readonly BundledPackage[],
  verdicts: readonly (Verdict | string)[],
): BundleJudgement {
  const blocked: Finding[] = [];
  const alerts: Finding[] = [];
  const unavailable: string[] = [];
  for (const [i, b] of packages.entries()) {
    const verdict = verdicts[i]!;
    if (typeof verdict === 'string') {
      unavailable.push(`${b.name}@${b.version} (${verdict})`);
      continue;
    }
    if (verdict.decision === 'allow') continue;
    const out = verdict.decision === 'block' ? blocked : alerts;
    for (const f of verdict.findings)
      if (f.effect === verdict.decision) out.push(bundleFinding(bundler, b, f));
  }
  if (blocked.length > 0) return { kind: 'blocked', findings: blocked };
  if (unavailable.length > 0)
    return {
      kind: 'unavailable',
      message: `could not judge what ${bundler.name}@${bundler.version} bundles: ${unavailable.join('; ')}`,
    };
  return { kind: 'ok', alerts };
}

/**
 * A bundled package's verdict: its version's own when the registry lists it; otherwise the
 * package-level findings of its name (lists, typosquatting) and what `audit` says of a bundled
 * entry the registry does not have, which is nothing more: the bundler's own copy (see
 * VersionFacts.bundled).
 */
function verdictOf(b: BundledPackage, facts: BundledFacts, ctx: BundleJudgeContext): Verdict | string {
  if (facts.kind === 'unavailable') return facts.reason;
  if (facts.kind === 'known') {
    const own = facts.evaluation.versions.get(b.version);
    if (own) return own;
  }
  const guardrail = {
    name: b.name,
    version: b.version,
    policy: ctx.policy,
    now: ctx.now,
    popular: ctx.popular,
    facts: {
      packageKnown: { status: 'ok' as const, value: facts.kind === 'known' },
      versionKnown: { status: 'ok' as const, value: false },
      bundled: true,
    },
  };
  const packageFindings =
    facts.kind === 'known' ? facts.evaluation.packageFindings : evaluatePackageLevel(guardrail);
  return evaluateVersion(guardrail, packageFindings);
}

/** The finding on `bundler@version` for a bundled package's own finding. */
export function bundleFinding(
  bundler: { name: string; version: string },
  bundled: { name: string; version: string },
  finding: Finding,
): Finding {
  return {
    ...finding,
    name: bundler.name,
    version: bundler.version,
    scope: 'version',
    message: `${bundler.name}@${bundler.version} bundles ${bundled.name}@${bundled.version}: ${finding.message}`,
    // The bundled package's dates are not the bundler's: the generic wording, not "published ... ago".
    evidence: { bundled: `${bundled.name}@${bundled.version}` },
  };
}
