// How `lockwarden update` resolves: in place first, then Arborist by name, in passes.
//
// In place: each pinned registry package whose dependents' ranges all pick the same newer version
// (picked by pacote from the policy-filtered packument, exactly as Arborist picks) is swapped in
// the tree loaded from the lockfile, unless the tree (with every other move made) does not meet
// the new version's dependencies. Hand-written because it pays: Arborist's buildIdealTree builds
// a virtual copy of the depending package, with all its edges, for every edge it resolves, so
// updating a root with n direct dependencies costs O(n²) (2,000 direct: 11.1 s of CPU before,
// 6.3 s after, in one run of bench/update-bench.ts). What it leaves (dependents that disagree,
// new versions needing packages the tree lacks, aliases, packages that bundle) Arborist resolves by
// name on that same tree, as npm would; a move can open another (a new version that no longer
// pins its dependency exactly), so the two alternate until nothing moves. When many names are
// left, a full resolution is cheaper and is used instead. On google/zx this gives the same 110
// updates as a full resolution, keeps the lockfile's layout (nothing is re-hoisted), and leaves
// no invalid edge.
import Arborist from '@npmcli/arborist';
import calcDepFlags from '@npmcli/arborist/lib/calc-dep-flags.js';
import resetDepFlags from '@npmcli/arborist/lib/reset-dep-flags.js';
import npa from 'npm-package-arg';
import pacote from 'pacote';
import { declaresBundles } from './bundled-packages.js';
import { mapConcurrent } from './map-concurrent.js';

type TreeNode = Arborist.Node & {
  packageName?: string;
  isWorkspace?: boolean;
  isProjectRoot?: boolean;
  inDepBundle?: boolean;
  overrides?: unknown;
  replace(node: Arborist.Node): void;
};

/** Passes of in-place moves and Arborist after the first; each handles names the last one opened. */
const MAX_EXTRA_PASSES = 4;
/** Left to Arborist by name, more than this many names and this share of the tree: a full resolution instead. */
const MIN_NAMES_FOR_FULL = 25;
const FULL_SHARE = 0.05;

/**
 * The ideal tree for `update [names]` of the project at `path` (package.json and lockfile there),
 * resolved with `arboristOptions` (whose packumentCache holds the policy-filtered documents).
 */
export async function resolveUpdate(opts: {
  path: string;
  names: readonly string[];
  arboristOptions: Arborist.Options;
}): Promise<Arborist.Node> {
  const pacoteOptions = opts.arboristOptions as unknown as Record<string, unknown>;
  const picks: Picks = new Map();
  const handled = new Set<string>();
  let arb = new Arborist({ ...opts.arboristOptions, path: opts.path });
  let tree = await arb.loadVirtual();
  let reshaped = false;
  for (let pass = 0; ; pass++) {
    const { fallback, changedDependencies } = await moveInPlace(tree, {
      names: opts.names,
      pacoteOptions,
      picks,
    });
    reshaped ||= changedDependencies;
    // For Arborist: what could not move in place, each name once.
    const names = fallback.filter((n) => !handled.has(n));
    if (pass === 0 && names.length > Math.max(MIN_NAMES_FOR_FULL, tree.inventory.size * FULL_SHARE)) {
      // Arborist placing many names one by one into a large tree costs more than resolving it
      // afresh (each placement looks for duplicates across the tree): npm/cli's lockfile, 150 of
      // 1,300 packages left to Arborist, took 26 s of CPU against 7.6 s for a full resolution.
      // `complete`, as npm passes it for --package-lock-only: a package with bundled dependencies
      // that Arborist places afresh has its tarball read for them (never run), since no packument
      // lists what a bundle holds; without it they vanished from the lockfile (tap's, on npm/cli).
      return new Arborist({ ...opts.arboristOptions, path: opts.path }).buildIdealTree({
        update: opts.names.length > 0 ? { names: [...opts.names] } : { all: true },
        complete: true,
      } as Arborist.BuildIdealTreeOptions);
    }
    if (pass > 0 && names.length === 0 && !changedDependencies) return settle(tree, reshaped);
    for (const n of names) handled.add(n);
    // buildIdealTree starts from the Arborist's loaded virtual tree (loadVirtual returns it), so
    // it resolves the names given on this tree and fixes the edges of the nodes it visits.
    if (pass > 0) {
      arb = new Arborist({ ...opts.arboristOptions, path: opts.path });
      (arb as unknown as { virtualTree: Arborist.Node }).virtualTree = tree;
    }
    tree = await arb.buildIdealTree({ update: { names }, complete: true } as Arborist.BuildIdealTreeOptions);
    if (pass >= MAX_EXTRA_PASSES) return settle(tree, reshaped);
  }
}

/**
 * Dependencies changed by an in-place move: npm's dev/optional/peer flags are computed again and
 * what nothing depends on any more is pruned, as buildIdealTree does after changes of its own.
 */
function settle(tree: Arborist.Node, reshaped: boolean): Arborist.Node {
  if (!reshaped) return tree;
  resetDepFlags(tree);
  calcDepFlags(tree);
  for (const node of [...tree.inventory.values()]) {
    if (node.extraneous) (node as { parent: Arborist.Node | null }).parent = null;
  }
  return tree;
}

type Picks = Map<string, Promise<Record<string, unknown> | undefined>>;

interface InPlaceResult {
  /** Packages swapped in place. */
  moved: number;
  /** Names Arborist must update itself. */
  fallback: string[];
  /** Some moved package declares other dependencies than before. */
  changedDependencies: boolean;
}

const REGISTRY_SPECS = new Set(['range', 'version', 'tag']);
const PICK_CONCURRENCY = 16;

/**
 * Moves what it can in `tree` (from `loadVirtual`) and returns the names left to Arborist.
 * `pacoteOptions` are Arborist's own options (registry, packumentCache, npm's settings).
 */
async function moveInPlace(
  tree: Arborist.Node,
  opts: { names: readonly string[]; pacoteOptions: Record<string, unknown>; picks: Picks },
): Promise<InPlaceResult> {
  const only = opts.names.length > 0 ? new Set(opts.names) : undefined;
  const fallback = new Set<string>();
  const picks = opts.picks;
  const pick = (name: string, raw: string, where: string) => {
    const key = `${name}@${raw}`;
    let p = picks.get(key);
    if (!p) {
      // Arborist asks with fullMetadata (#fetchManifest); the packument cache answers both kinds.
      p = pacote.manifest(npa.resolve(name, raw, where), { ...opts.pacoteOptions, fullMetadata: true }).then(
        (m) => m as unknown as Record<string, unknown>,
        (err: { code?: string }) => {
          // No allowed version, or no such package (an optional dependency may be dropped):
          // Arborist decides, in its own words. A packument that cannot be had stops the update
          // here, before a full resolution would ask for it again.
          if (['ETARGET', 'ENOVERSIONS', 'E404'].includes(err?.code ?? '')) return undefined;
          throw err;
        },
      );
      p.catch(() => {}); // awaited below; never an unhandled rejection
      picks.set(key, p);
    }
    return p;
  };

  // Arborist's inDepBundle walks up the dependents of each node: ask only when some dependency
  // bundles packages at all (npm/cli's lockfile: 7.7 s of CPU otherwise).
  const depBundles = [...(tree.inventory.values() as Iterable<TreeNode>)].some(
    (n) => !n.isProjectRoot && !n.isWorkspace && declaresBundles(n.package as Record<string, unknown>),
  );
  const nodes: TreeNode[] = [];
  for (const node of tree.inventory.values() as Iterable<TreeNode>) {
    if (node.isProjectRoot || node.isRoot || node.isLink || node.isWorkspace || !node.version) continue;
    const name = node.packageName ?? node.name;
    if (only && !only.has(name) && !only.has(node.name)) continue;
    if (node.edgesIn.size === 0) continue; // extraneous: pruned by Arborist if anything
    nodes.push(node);
  }

  const swaps: { node: TreeNode; manifest: Record<string, unknown> }[] = [];
  await mapConcurrent(nodes, PICK_CONCURRENCY, async (node) => {
    const name = node.packageName ?? node.name;
    // In a dependency's bundle: it comes with that dependency's tarball and moves only with it
    // (Arborist refuses to update it by name), so it is neither moved here nor handed on.
    if (depBundles && node.inDepBundle) return;
    if (name !== node.name) {
      fallback.add(node.name); // an alias
      return;
    }
    const versions = new Set<string>();
    let manifest: Record<string, unknown> | undefined;
    for (const edge of node.edgesIn) {
      let type: string;
      try {
        type = npa.resolve(edge.name, edge.spec, edge.from?.realpath).type;
      } catch {
        type = 'invalid';
      }
      if (!REGISTRY_SPECS.has(type) || !edge.from) {
        fallback.add(name);
        return;
      }
      manifest = await pick(name, edge.spec, edge.from.realpath);
      if (!manifest) {
        fallback.add(name);
        return;
      }
      versions.add(String(manifest.version));
    }
    if (versions.size !== 1 || !manifest) {
      fallback.add(name); // dependents want different versions: Arborist lays them out
      return;
    }
    if (manifest.version === node.version) return;
    swaps.push({ node, manifest });
  });

  const applied: { old: TreeNode; placed: TreeNode; same: boolean; undone?: boolean }[] = [];
  for (const { node, manifest } of swaps) {
    if (declaresBundles(node.package as Record<string, unknown>) || declaresBundles(manifest)) {
      fallback.add(node.name); // its bundled packages come from the tarball, which Arborist reads
      continue;
    }
    const Ctor = node.constructor as new (o: Record<string, unknown>) => TreeNode;
    const placed = new Ctor({
      name: node.name,
      pkg: manifest,
      installLinks: (node as { installLinks?: boolean }).installLinks,
      legacyPeerDeps: (node as { legacyPeerDeps?: boolean }).legacyPeerDeps,
      ...(node.overrides ? { overrides: node.overrides } : {}),
    });
    const same = sameDependencies(node, placed, manifest);
    placed.replace(node);
    // The same dependents: the flags npm computed still hold, and are computed again (settle)
    // when the dependencies changed.
    const flags = node as unknown as Record<string, boolean>;
    const to = placed as unknown as Record<string, boolean>;
    for (const flag of ['extraneous', 'dev', 'optional', 'devOptional', 'peer']) to[flag] = flags[flag]!;
    applied.push({ old: node, placed, same });
  }
  // A new version whose dependencies the tree (with every other move made) does not meet goes
  // back, and to Arborist by name, which places the new version's dependencies; undoing one can
  // leave another without what it needed, so until none is left.
  for (let undone = true; undone; ) {
    undone = false;
    for (const a of applied) {
      if (a.undone || !hasBrokenEdge(a.placed)) continue;
      a.old.replace(a.placed);
      a.undone = true;
      undone = true;
      fallback.add(a.old.name);
    }
  }
  const kept = applied.filter((a) => !a.undone);
  return {
    moved: kept.length,
    fallback: [...fallback].sort(),
    changedDependencies: kept.some((a) => !a.same),
  };
}

/** An edge out that is invalid, or missing and not optional. */
function hasBrokenEdge(node: TreeNode): boolean {
  for (const edge of node.edgesOut.values()) {
    if (edge.valid) continue;
    if (!edge.to && (edge.type === 'optional' || edge.type === 'peerOptional')) continue;
    return true;
  }
  return false;
}

/** Same edges out (name, type, range before overrides) and the same platform limits. */
function sameDependencies(old: TreeNode, next: TreeNode, manifest: Record<string, unknown>): boolean {
  const edges = (n: TreeNode) =>
    [...n.edgesOut.values()]
      .map((e) => `${e.name}\0${e.type}\0${(e as { rawSpec?: string }).rawSpec ?? e.spec}`)
      .sort()
      .join('\n');
  const pkg = old.package as Record<string, unknown>;
  const same = (k: string) => JSON.stringify(pkg[k] ?? null) === JSON.stringify(manifest[k] ?? null);
  return edges(old) === edges(next) && same('os') && same('cpu') && same('libc');
}
