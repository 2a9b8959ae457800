// Bundled dependencies come inside their bundler's tarball, never through a packument, so the
// policy cannot hide a bad one from Arborist: a bundler that moved may bring a version audit
// would block. Such a bundler version is vetoed (hidden like any blocked version, with the
// bundled package's finding named) and the update resolves again without it.
import type Arborist from '@npmcli/arborist';
import type { Finding } from '../policy/types.js';
import { bundleFinding } from './bundled-packages.js';
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
