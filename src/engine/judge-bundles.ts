// Bundled dependencies come inside their bundler's tarball, never through a packument, so the
// policy cannot hide a bad one from Arborist: a bundler that moved may bring a version audit
// would block. Such a bundler version is vetoed (hidden like any blocked version, with the
// bundled package's finding named) and the update resolves again without it.
import type Arborist from '@npmcli/arborist';
import { LockwardenError } from '../errors.js';
import type { Finding } from '../policy/types.js';
import type { RegistrySource } from '../sources/types.js';
import {
  type BundledFacts,
  type BundleJudgeContext,
  type BundleList,
  declaresBundles,
  judgeBundledPackages,
  readBundledPackages,
} from './bundled-packages.js';
import { PackumentUnavailableError, type PolicyPackumentCache } from './policy-packument-cache.js';

type BundledNode = Arborist.Node & {
  packageName?: string;
  inBundle?: boolean;
  getBundler(): Arborist.Node | null;
};

/**
 * Findings that veto a bundler version, one per bundler@version, for bundled versions new in
 * `tree`, judged as the proxy judges them (`judgeBundledPackages`). What cannot be judged throws
 * (the registry unreachable): unknown facts are never a silent pass, the update stops.
 */
export async function judgeNewBundles(
  tree: Arborist.Node,
  pinned: ReadonlyMap<string, ReadonlySet<string>>,
  cache: PolicyPackumentCache,
  ctx: BundleJudgeContext,
): Promise<Finding[]> {
  const bundles = new Map<string, { bundler: { name: string; version: string }; list: BundleList }>();
  for (const node of tree.inventory.values() as Iterable<BundledNode>) {
    // Links and workspaces are the project's own code, not registry packages.
    if (!node.inBundle || !node.version || node.isLink || node.isWorkspace) continue;
    const name = node.packageName ?? node.name;
    if (pinned.get(name)?.has(node.version)) continue;
    const bundler = node.getBundler();
    // What the project itself (or a workspace) bundles are its own dependencies: each is resolved
    // through the policy like any other, so only a dependency's bundle is read from its tarball.
    if (!bundler?.version || bundler.isProjectRoot || bundler.isWorkspace) continue;
    const bundlerName = bundler.packageName ?? bundler.name;
    const key = `${bundlerName}@${bundler.version}`;
    let entry = bundles.get(key);
    if (!entry) {
      entry = {
        bundler: { name: bundlerName, version: bundler.version },
        list: { packages: [], unreadable: [], overLimit: false },
      };
      bundles.set(key, entry);
    }
    entry.list.packages.push({ name, version: node.version });
  }
  const vetoes: Finding[] = [];
  for (const { bundler, list } of bundles.values()) {
    const judged = await judgeBundledPackages(bundler, list, decidedFacts(cache), ctx);
    if (judged.kind === 'unavailable')
      throw new PackumentUnavailableError(bundler.name, judged.message, false);
    if (judged.kind === 'blocked') vetoes.push(judged.findings[0]!);
  }
  return vetoes;
}

/** A bundled name's facts from the update's packument cache. */
function decidedFacts(cache: PolicyPackumentCache): (name: string) => Promise<BundledFacts> {
  return async (name) => {
    try {
      return { kind: 'known', evaluation: (await cache.decide(name)).evaluation };
    } catch (err) {
      if (err instanceof PackumentUnavailableError)
        return err.notFound ? { kind: 'unknown-name' } : { kind: 'unavailable', reason: err.reason };
      throw err;
    }
  };
}

/**
 * The same vetoes for lockfiles that list no bundled packages (pnpm, yarn, bun): each version new
 * in `entries` whose manifest declares bundles has its tarball read for what it carries, as npm
 * does for `--package-lock-only`, and judged as the proxy judges it (`judgeBundledPackages`).
 * One finding per bundler version; what cannot be judged throws (never a silent pass).
 */
export async function judgeNewBundledTarballs(
  entries: readonly { name: string; version: string }[],
  pinned: ReadonlyMap<string, ReadonlySet<string>>,
  cache: PolicyPackumentCache,
  registry: RegistrySource,
  ctx: BundleJudgeContext,
): Promise<Finding[]> {
  const vetoes: Finding[] = [];
  const seen = new Set<string>();
  for (const { name, version } of entries) {
    const key = `${name}@${version}`;
    if (pinned.get(name)?.has(version) || seen.has(key)) continue;
    seen.add(key);
    const manifest = (await cache.decide(name)).filtered.versions[version];
    if (!manifest || !declaresBundles(manifest)) continue;
    let list: Awaited<ReturnType<typeof readBundledPackages>>;
    try {
      list = await readBundledPackages(registry, name, version, manifest, ctx);
    } catch (err) {
      throw new Error(`could not read what ${key} bundles: ${(err as Error).message}`);
    }
    const judged = await judgeBundledPackages({ name, version }, list, decidedFacts(cache), ctx);
    if (judged.kind === 'unavailable') throw new Error(judged.message);
    if (judged.kind === 'blocked') vetoes.push(judged.findings[0]!);
  }
  return vetoes;
}

/** Vetoed bundlers again after the last round: nothing is written. */
export function bundleRoundsExhausted(vetoes: readonly Finding[]): LockwardenError {
  return new LockwardenError(
    'EBLOCKED',
    `every allowed version left bundles something the policy blocks:\n  ${vetoes.map((f) => f.message).join('\n  ')}\nnothing was written`,
  );
}
