// Bundled dependencies come inside their bundler's tarball, never through a packument, so the
// policy cannot hide a bad one from Arborist: a bundler that moved may bring a version audit
// would block. Such a bundler version is vetoed (hidden like any blocked version, with the
// bundled package's finding named) and the update resolves again without it.
import type Arborist from '@npmcli/arborist';
import { LockwardenError } from '../errors.js';
import type { Finding } from '../policy/types.js';
import type { RegistrySource } from '../sources/types.js';
import { bundleFinding, declaresBundles, readBundledPackages } from './bundled-packages.js';
import { PackumentUnavailableError, type PolicyPackumentCache } from './policy-packument-cache.js';

type BundledNode = Arborist.Node & {
  packageName?: string;
  inBundle?: boolean;
  getBundler(): Arborist.Node | null;
};

/** Findings that veto a bundler version, one per bundler@version, for versions new in `tree`. */
export async function judgeNewBundles(
  tree: Arborist.Node,
  pinned: ReadonlyMap<string, ReadonlySet<string>>,
  cache: PolicyPackumentCache,
): Promise<Finding[]> {
  const vetoes = new Map<string, Finding>();
  for (const node of tree.inventory.values() as Iterable<BundledNode>) {
    if (!node.inBundle || !node.version) continue;
    const name = node.packageName ?? node.name;
    if (pinned.get(name)?.has(node.version)) continue;
    const bundler = node.getBundler();
    if (!bundler?.version) continue;
    const key = `${bundler.packageName ?? bundler.name}@${bundler.version}`;
    if (vetoes.has(key)) continue;
    let finding: Finding | undefined;
    try {
      finding = (await cache.decide(name)).hidden.get(node.version);
    } catch (err) {
      // Not on the registry (a private bundled package): nothing for the policy to say. Any other
      // failure (the registry unreachable) is unknown facts, never a silent pass: the update stops.
      if (err instanceof PackumentUnavailableError && err.notFound) continue;
      throw err;
    }
    if (finding?.effect !== 'block') continue;
    vetoes.set(
      key,
      bundleFinding(
        { name: bundler.packageName ?? bundler.name, version: bundler.version },
        { name, version: node.version },
        finding,
      ),
    );
  }
  return [...vetoes.values()];
}

/**
 * The same vetoes for lockfiles that list no bundled packages (pnpm, yarn, bun): each version new
 * in `entries` whose manifest declares bundles has its tarball read for what it carries, as npm
 * does for `--package-lock-only`. One finding per bundler version.
 */
export async function judgeNewBundledTarballs(
  entries: readonly { name: string; version: string }[],
  pinned: ReadonlyMap<string, ReadonlySet<string>>,
  cache: PolicyPackumentCache,
  registry: RegistrySource,
): Promise<Finding[]> {
  const vetoes: Finding[] = [];
  const seen = new Set<string>();
  for (const { name, version } of entries) {
    const key = `${name}@${version}`;
    if (pinned.get(name)?.has(version) || seen.has(key)) continue;
    seen.add(key);
    const manifest = (await cache.decide(name)).filtered.versions[version];
    if (!manifest || !declaresBundles(manifest)) continue;
    let bundled: Awaited<ReturnType<typeof readBundledPackages>>;
    try {
      bundled = await readBundledPackages(registry, name, version, manifest);
    } catch (err) {
      // What it bundles is an unknown fact: never a silent pass, the update stops.
      throw new Error(`could not read what ${key} bundles: ${(err as Error).message}`);
    }
    for (const b of bundled) {
      let finding: Finding | undefined;
      try {
        finding = (await cache.decide(b.name)).hidden.get(b.version);
      } catch (err) {
        if (err instanceof PackumentUnavailableError && err.notFound) continue;
        throw err;
      }
      if (finding?.effect !== 'block') continue;
      vetoes.push(bundleFinding({ name, version }, b, finding));
      break;
    }
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
