// `lockwarden update`: Arborist resolves package-lock.json again (within the declared ranges, or
// with `--latest` across majors), but every packument it reads has been through the policy first
// (policy-packument-cache.ts), so it can only choose versions `lockwarden audit` would pass. What
// the policy held back is reported per version, with the rule and when it would pass.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Arborist from '@npmcli/arborist';
import semver from 'semver';
import { LockwardenError } from '../errors.js';
import type { LockfileInventory } from '../lockfile/lockfile-inventory.js';
import { readLockfile } from '../lockfile/read-lockfile.js';
import type { Finding, Policy, PopularIndex } from '../policy/types.js';
import type { Sources } from '../sources/types.js';
import { semverHonestyCheckerFor, semverRoundsExhausted } from './check-semver-honesty.js';
import {
  diffVersions,
  type SkippedVersion,
  skippedVersion,
  sortSkipped,
  updateFindings,
  type VersionMove,
  versionsByName,
} from './diff-versions.js';
import { DEPENDENCY_FIELDS, movedRange, rewriteManifestText } from './edit-manifest-ranges.js';
import { explainResolveError } from './explain-resolve-error.js';
import { bundleRoundsExhausted, judgeNewBundles } from './judge-bundles.js';
import { mapConcurrent } from './map-concurrent.js';
import { packageManagerOf } from './package-manager-commands.js';
import {
  createPolicyPackumentCache,
  type PackumentDecision,
  PackumentUnavailableError,
  type PolicyPackumentCache,
} from './policy-packument-cache.js';
import { resolveUpdate } from './resolve-update.js';
import { stageProject } from './stage-project.js';

export interface UpdateOptions {
  dir: string;
  /** Only these packages (wherever they are in the tree); empty: everything. */
  names: readonly string[];
  /** Also move package.json ranges across majors to the newest allowed version. */
  latest: boolean;
  dryRun: boolean;
  policy: Policy;
  sources: Sources;
  popular: PopularIndex;
  now: Date;
  /** On-disk cache for semver-honesty comparisons. */
  cacheDir?: string;
  /**
   * npm's flattened options (`NpmConfig.flat`): Arborist resolves with the user's npm settings
   * (scoped registries, credentials per host, proxy, ca, `omit-lockfile-registry-resolved`...).
   */
  npmOptions?: Readonly<Record<string, unknown>>;
  /**
   * `--registry` named the registry: for Yarn Berry and bun it then beats the default registry
   * of their own configuration (`npmRegistryServer`, `install.registry`) too.
   */
  registryFromFlag?: boolean;
  /** The environment pnpm, yarn or bun run with (PATH finds them); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export type { SkippedVersion, VersionMove } from './diff-versions.js';

export interface RangeMove {
  /** package.json, relative to the project directory. */
  file: string;
  name: string;
  from: string;
  to: string;
}

export interface UpdateResult {
  lockfile: string;
  updated: VersionMove[];
  added: { name: string; version: string }[];
  removed: { name: string; version: string }[];
  /** `--latest`: the package.json ranges moved. */
  ranges: RangeMove[];
  skipped: SkippedVersion[];
  /** semver-honesty findings on the updates made (alerts, and comparisons that were unavailable). */
  semver: Finding[];
  /** Whether package-lock.json (and package.json files) were written. */
  wrote: boolean;
  /** Newer versions hidden because their facts were unavailable under `onUnavailable: block`. */
  unavailable: boolean;
  /** The tree before and after, for callers that look further (semver honesty). */
  arborist?: { idealTree: Arborist.Node };
}

/** Every name asked for must be in the lockfile (as itself or an alias). */
function checkNames(
  names: readonly string[],
  inventory: LockfileInventory,
  pinned: ReadonlyMap<string, unknown>,
) {
  for (const name of names) {
    if (!pinned.has(name) && !inventory.entries.some((e) => e.alias === name)) {
      throw new LockwardenError('EUSAGE', `${name} is not in ${inventory.file}; nothing to update`);
    }
  }
}

type NodeLike = Arborist.Node & { packageName?: string; isWorkspace?: boolean; isProjectRoot?: boolean };

export async function updateLockfile(opts: UpdateOptions): Promise<UpdateResult> {
  const dir = path.resolve(opts.dir);
  // The same reader as `audit`: a missing or malformed lockfile stops here, naming the file.
  const inventory = await readLockfile(dir);
  const lockfileName = path.basename(inventory.file);
  const pinned = versionsByName(inventory.entries);
  checkNames(opts.names, inventory, pinned);
  if (lockfileName !== 'package-lock.json' && lockfileName !== 'npm-shrinkwrap.json') {
    // pnpm, yarn and bun resolve with their own algorithms, which only they reproduce: the tool
    // itself runs against a loopback registry that shows it only what the policy allows.
    const lockfileText = await readFile(inventory.file, 'utf8');
    const packageManager = packageManagerOf(lockfileName, lockfileText);
    if (!packageManager)
      throw new LockwardenError('EUSAGE', `${inventory.file}: update cannot rewrite this lockfile`);
    const { updateWithPackageManager } = await import('./update-with-package-manager.js');
    return updateWithPackageManager({ ...opts, inventory, packageManager, lockfileText });
  }
  const registry = opts.sources.registry.url;
  const npmOptions = { ...opts.npmOptions };
  // Settings that would make Arborist do something other than resolve this project's lockfile.
  for (const key of ['global', 'workspaces', 'workspacesEnabled', 'packageLock', 'packageLockOnly', 'dryRun'])
    delete npmOptions[key];
  const scopeRegistries = Object.entries(npmOptions)
    .filter(([key, value]) => /^@[^/]+:registry$/.test(key) && typeof value === 'string')
    .map(([, value]) => value as string);
  const cache = createPolicyPackumentCache([registry, ...scopeRegistries], { ...opts, pinned });
  const arboristOptions = {
    ...npmOptions,
    registry,
    packumentCache: cache,
    // Keep `resolved` URLs as the registry wrote them; never rewrite hosts in the lockfile.
    replaceRegistryHost: 'never',
    audit: false,
    fund: false,
    // No scripts run and nothing is fetched but packuments (which come from `cache`).
    ignoreScripts: true,
  } as unknown as Arborist.Options;

  // Arborist asks for packuments one at a time; the pinned ones are known now, so fetch and judge
  // them concurrently first (Arborist then finds them ready). Failures surface when Arborist asks.
  const prefetch = mapConcurrent(
    opts.names.length > 0 ? opts.names : [...pinned.keys()],
    PREFETCH_CONCURRENCY,
    async (name) => {
      await cache.decide(name).catch(() => {});
    },
  );
  const manifests = opts.latest ? await planRangeMoves(dir, opts.names, cache, arboristOptions) : [];
  await prefetch;
  const ranges = manifests.flatMap((m) => m.moves);

  // A dry run with range moves resolves a staged copy; a real run edits in place and puts the
  // package.json files back if anything fails before the lockfile is written.
  const staged =
    opts.dryRun && ranges.length > 0
      ? await stageProject(dir, [
          { path: path.relative(dir, inventory.file) },
          ...manifests.map((m) => ({ path: path.relative(dir, m.file), text: m.text })),
        ])
      : dir;
  const restore: { file: string; text: string }[] = [];
  try {
    for (const m of manifests) {
      if (m.moves.length === 0) continue;
      const file = path.join(staged, path.relative(dir, m.file));
      if (staged === dir) restore.push({ file, text: m.text });
      await writeFile(file, m.next);
    }
    const honesty = semverHonestyCheckerFor({
      policy: opts.policy,
      sources: opts.sources,
      ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
    });
    // Semver honesty judges a pair (from → to), so it can only run after a resolution. Under
    // `block` a dishonest release is hidden like any blocked version and Arborist resolves again;
    // so is a bundler whose new tarball bundles a version the policy blocks (judge-bundles.ts).
    let idealTree: Arborist.Node;
    let moves: ReturnType<typeof diffVersions>;
    let semverFindings: Finding[] = [];
    for (let round = 0; ; round++) {
      try {
        idealTree = await resolveUpdate({ path: staged, names: opts.names, arboristOptions });
      } catch (err) {
        throw explainResolveError(err, cache, opts.now);
      }
      moves = diffVersions(pinned, registryVersions(idealTree));
      const bundleVetoes = await judgeNewBundles(idealTree, pinned, cache, {
        policy: opts.policy,
        now: opts.now,
        popular: opts.popular,
      }).catch((err: unknown) => {
        throw explainResolveError(err, cache, opts.now);
      });
      if (bundleVetoes.length > 0) {
        if (round >= MAX_SEMVER_ROUNDS) throw bundleRoundsExhausted(bundleVetoes);
        for (const f of bundleVetoes) cache.veto(f.name, f.version!, f);
        continue;
      }
      if (!honesty) break;
      // Resolving a large tree keeps the event loop busy for seconds, during which the registry
      // may close idle keep-alive connections unnoticed; one turn of the loop lets the HTTP client
      // see those closes before the tarball requests go out, instead of failing on dead sockets.
      await new Promise<void>((resolve) => setImmediate(resolve));
      semverFindings = (await honesty.checkMany(moves.updated)).flat();
      const vetoes = semverFindings.filter((f) => f.effect === 'block' && f.outcome !== 'unavailable');
      if (vetoes.length === 0) break;
      // Out of rounds with dishonest releases still chosen: refuse, never write what blocks.
      if (round >= MAX_SEMVER_ROUNDS) throw semverRoundsExhausted(vetoes);
      for (const f of vetoes) cache.veto(f.name, f.version!, f);
    }
    const { updated, added, removed } = moves;
    const skipped = collectSkipped(idealTree, cache.decisions(), opts, ranges);
    const changed = updated.length + added.length + removed.length + ranges.length > 0;
    let wrote = false;
    if (!opts.dryRun && changed) {
      const indent = (idealTree.package as Record<symbol, unknown>)[Symbol.for('indent')];
      await idealTree.meta!.save({ format: typeof indent === 'string' ? indent : '  ' } as never);
      wrote = true;
    }
    restore.length = 0; // written: keep the package.json edits
    return {
      lockfile: path.relative(dir, inventory.file) || lockfileName,
      updated,
      added,
      removed,
      ranges,
      skipped,
      wrote,
      ...updateFindings(skipped, semverFindings),
      arborist: { idealTree },
    };
  } finally {
    for (const r of restore) await writeFile(r.file, r.text);
    if (staged !== dir) await rm(staged, { recursive: true, force: true });
  }
}

const PREFETCH_CONCURRENCY = 32;
/** Resolutions after the first, each hiding the dishonest releases the last one picked. */
const MAX_SEMVER_ROUNDS = 4;

function registryVersions(tree: Arborist.Node): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const node of tree.inventory.values() as Iterable<NodeLike>) {
    if (!isRegistryNode(node)) continue;
    const name = node.packageName ?? node.name;
    const set = out.get(name) ?? new Set<string>();
    set.add(node.version!);
    out.set(name, set);
  }
  return out;
}

function isRegistryNode(node: NodeLike): boolean {
  return !node.isProjectRoot && !node.isRoot && !node.isLink && !node.isWorkspace && !!node.version;
}

interface ManifestPlan {
  /** Absolute path of the package.json. */
  file: string;
  text: string;
  next: string;
  moves: RangeMove[];
}

/** Direct dependencies of the root and every workspace whose newest allowed version is past their range. */
async function planRangeMoves(
  dir: string,
  names: readonly string[],
  cache: PolicyPackumentCache,
  options: Arborist.Options,
): Promise<ManifestPlan[]> {
  const virtual = await new Arborist({ ...options, path: dir }).loadVirtual();
  const folders = [dir, ...[...((virtual as NodeLike).workspaces?.values() ?? [])]];
  const only = names.length > 0 ? new Set(names) : undefined;
  const plans: ManifestPlan[] = [];
  for (const folder of folders) {
    const file = path.join(folder, 'package.json');
    const text = await readFile(file, 'utf8');
    const doc = JSON.parse(text) as Record<string, Record<string, string> | undefined>;
    const wanted: [string, string][] = [];
    for (const field of DEPENDENCY_FIELDS) {
      for (const [name, range] of Object.entries(doc[field] ?? {})) {
        if (typeof range === 'string' && (!only || only.has(name))) wanted.push([name, range]);
      }
    }
    const changes = new Map<string, string>();
    const moves: RangeMove[] = [];
    await mapConcurrent(wanted, 16, async ([name, range]) => {
      if (semver.validRange(range) === null) return;
      let decision: PackumentDecision;
      try {
        decision = await cache.decide(name);
      } catch (err) {
        if (err instanceof PackumentUnavailableError) return; // reported when Arborist asks
        throw err;
      }
      const newest = newestAllowed(decision);
      const next = newest === undefined ? undefined : movedRange(range, newest);
      if (next === undefined) return;
      changes.set(name, next);
      moves.push({ file: path.relative(dir, file) || 'package.json', name, from: range, to: next });
    });
    moves.sort((a, b) => a.name.localeCompare(b.name));
    plans.push({ file, text, next: changes.size > 0 ? rewriteManifestText(text, changes) : text, moves });
  }
  return plans;
}

/** What `npm install name@latest` would pick from the filtered document. */
function newestAllowed(decision: PackumentDecision): string | undefined {
  const latest = decision.filtered['dist-tags']?.latest;
  if (latest !== undefined && Object.hasOwn(decision.filtered.versions, latest)) return latest;
  const stable = Object.keys(decision.filtered.versions).filter(
    (v) => semver.valid(v) !== null && semver.prerelease(v) === null,
  );
  return stable.sort(semver.rcompare)[0];
}

/**
 * Hidden versions newer than what was chosen that the dependents' ranges (or, for a `--latest`
 * direct dependency, any range) would have taken: the versions the policy held back.
 */
function collectSkipped(
  tree: Arborist.Node,
  decisions: Map<string, PackumentDecision>,
  opts: UpdateOptions,
  ranges: RangeMove[],
): SkippedVersion[] {
  const out = new Map<string, SkippedVersion>();
  const movedNames = new Set(ranges.map((r) => r.name));
  for (const node of tree.inventory.values() as Iterable<NodeLike>) {
    if (!isRegistryNode(node)) continue;
    const name = node.packageName ?? node.name;
    const decision = decisions.get(name);
    if (!decision || decision.hidden.size === 0) continue;
    const chosen = node.version!;
    const chosenIsPrerelease = semver.prerelease(chosen) !== null;
    const specs = [...node.edgesIn].map((e) => e.spec).filter((s) => semver.validRange(s) !== null);
    const direct = [...node.edgesIn].some(
      (e) => (e.from as NodeLike | null)?.isProjectRoot || (e.from as NodeLike | null)?.isWorkspace,
    );
    const anyRange =
      opts.latest && direct && (movedNames.has(name) || opts.names.length === 0 || opts.names.includes(name));
    for (const [version, finding] of decision.hidden) {
      if (semver.valid(version) === null || !semver.gt(version, chosen)) continue;
      if (!chosenIsPrerelease && semver.prerelease(version) !== null) continue;
      const wanted = anyRange || specs.some((s) => semver.satisfies(version, s));
      if (!wanted) continue;
      const key = `${name}@${version}`;
      if (out.has(key)) continue;
      out.set(key, skippedVersion(name, version, finding, opts.now));
    }
  }
  return sortSkipped(out.values());
}
