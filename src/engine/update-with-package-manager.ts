// `lockwarden update` for pnpm-lock.yaml, yarn.lock and bun.lock: only the project's own package
// manager reproduces its resolution and writes its format correctly, so it runs (lockfile only,
// scripts off) on a temporary copy of the project against a loopback registry that shows it only
// the versions the policy allows (policy-registry-proxy.ts: the same decisions as npm's update).
// Then the proxy's URLs in the new lockfile go back to the upstream registry's, what changed is
// read from the inventories before and after, every new version is checked against the policy
// once more, and only then are the lockfile (and, with --latest, package.json files) written.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';
import { LockwardenError } from '../errors.js';
import type { LockfileInventory } from '../lockfile/lockfile-inventory.js';
import { readLockfile } from '../lockfile/read-lockfile.js';
import type { Finding } from '../policy/types.js';
import { createScopedRegistrySource } from '../sources/create-sources.js';
import type { RegistryRoute } from '../sources/registry-routes.js';
import type { Sources } from '../sources/types.js';
import { semverHonestyCheckerFor, semverRoundsExhausted } from './check-semver-honesty.js';
import {
  diffVersions,
  type SkippedVersion,
  skippedVersion,
  sortSkipped,
  updateFindings,
  versionsByName,
} from './diff-versions.js';
import { DEPENDENCY_FIELDS } from './edit-manifest-ranges.js';
import { explainToolFailure } from './explain-tool-failure.js';
import { bundleRoundsExhausted, judgeNewBundledTarballs } from './judge-bundles.js';
import {
  checkYarnGeneration,
  clientEnvironment,
  type PackageManager,
  runTool,
  TOOL,
  updateCommand,
} from './package-manager-commands.js';
import {
  configureStagedRegistries,
  type RegistryPlan,
  readRegistryPlan,
} from './package-manager-registries.js';
import { createPolicyPackumentCache, type PolicyPackumentCache } from './policy-packument-cache.js';
import { startPolicyRegistryProxy } from './policy-registry-proxy.js';
import { listProjectFiles, stageProjectTree } from './stage-project.js';
import type { RangeMove, UpdateOptions, UpdateResult } from './update-lockfile.js';

const MAX_SEMVER_ROUNDS = 4;

export async function updateWithPackageManager(
  opts: UpdateOptions & {
    inventory: LockfileInventory;
    packageManager: PackageManager;
    lockfileText: string;
  },
): Promise<UpdateResult> {
  const dir = path.resolve(opts.dir);
  const { inventory, packageManager: pm } = opts;
  const lockfile = path.relative(dir, inventory.file) || path.basename(inventory.file);
  const baseEnv = opts.env ?? process.env;
  // Each scope's packages come from the registry the tool's own configuration names for it, with
  // that registry's credentials, through the same policy (package-manager-registries.ts).
  const plan = await readRegistryPlan(dir, pm, {
    registryUrl: opts.sources.registry.url,
    registryFromFlag: opts.registryFromFlag === true,
    env: baseEnv,
  });
  const sources = routedSources(opts.sources, plan);
  const pinned = versionsByName(inventory.entries);
  const cache = createPolicyPackumentCache(sources.registry.url, { ...opts, sources, pinned });
  const proxy = await startPolicyRegistryProxy({
    cache,
    sources,
    withTimes: pm === 'yarn-berry',
    upstreams: {
      default: plan.default.url,
      scopes: new Map([...plan.scopes].map(([scope, route]) => [scope, route.url])),
    },
  });
  const honesty = semverHonestyCheckerFor({
    policy: opts.policy,
    sources,
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
  });
  const manifests = await listProjectFiles(dir, 'package.json');
  const originals = new Map<string, string>();
  for (const file of manifests) originals.set(file, await readFile(path.join(dir, file), 'utf8'));
  const env = clientEnvironment(baseEnv, {});
  let staged: string | undefined;
  const temps: string[] = [];
  try {
    for (let round = 0; ; round++) {
      if (staged) await rm(staged, { recursive: true, force: true });
      staged = await stageProjectTree(dir);
      const configured = await configureStagedRegistries(staged, pm, plan, proxy);
      temps.push(...configured.temps);
      await checkYarnGeneration(pm, staged, { ...env, ...configured.env }, lockfile);
      const command = updateCommand(pm, {
        names: opts.names,
        latest: opts.latest,
        workspaces: await hasWorkspaces(staged, pm),
        registry: proxy.url,
        kinds: nameKinds(opts.latest ? directDependencies(originals) : pinned.keys()),
      });
      // The staged copy is a private directory (mkdtemp); the files hold the proxy's secret URL.
      for (const [file, text] of Object.entries(command.files ?? {}))
        await writeFile(path.join(staged, file), text, { mode: 0o600 });
      const run = await runTool(
        TOOL[pm],
        command.args,
        staged,
        clientEnvironment(env, { ...configured.env, ...command.env }),
        lockfile,
      );
      if (run.code !== 0) throw explainToolFailure(pm, run, cache, proxy.failures(), opts.now, lockfile);

      // The lockfile names the upstream registry, never the proxy (the lockfile-source rule).
      const newText = proxy.toUpstream(await readFile(path.join(staged, lockfile), 'utf8'));
      await writeFile(path.join(staged, lockfile), newText);
      const after = await readLockfile(staged, { lockfile });
      const moves = diffVersions(pinned, versionsByName(after.entries));
      await refuseDisallowed(after, pinned, cache, TOOL[pm]);
      // The lockfile lists no bundled packages: a bundler that moved has its tarball read for them.
      const bundleVetoes = await judgeNewBundledTarballs(after.entries, pinned, cache, sources.registry, {
        policy: opts.policy,
        now: opts.now,
        popular: opts.popular,
      }).catch((err: unknown) => {
        // A fact that could not be had is never a pass: nothing is written.
        throw new LockwardenError(
          'EUNAVAILABLE',
          `cannot update ${lockfile}: ${(err as Error).message}; nothing was written`,
        );
      });
      if (bundleVetoes.length > 0) {
        if (round >= MAX_SEMVER_ROUNDS) throw bundleRoundsExhausted(bundleVetoes);
        // Hidden like any blocked version; the package manager resolves again without them.
        for (const f of bundleVetoes) cache.veto(f.name, f.version!, f);
        continue;
      }

      let semverFindings: Finding[] = [];
      if (honesty && moves.updated.length > 0) {
        semverFindings = (await honesty.checkMany(moves.updated)).flat();
        const vetoes = semverFindings.filter((f) => f.effect === 'block' && f.outcome !== 'unavailable');
        if (vetoes.length > 0) {
          // Out of rounds with dishonest releases still chosen: refuse, never write what blocks.
          if (round >= MAX_SEMVER_ROUNDS) throw semverRoundsExhausted(vetoes);
          // Hidden like any blocked version; the package manager resolves again without them.
          for (const f of vetoes) cache.veto(f.name, f.version!, f);
          continue;
        }
      }
      const changedManifests = new Map<string, string>();
      const stagedManifests = new Map<string, string>();
      const ranges: RangeMove[] = [];
      for (const [file, text] of originals) {
        const next = await readFile(path.join(staged, file), 'utf8').catch(() => text);
        stagedManifests.set(file, next);
        if (next === text) continue;
        // Only a moved range is written back (yarn 1 reformats package.json it does not change).
        const moves = rangeMoves(file, text, next);
        if (moves.length === 0) continue;
        changedManifests.set(file, next);
        ranges.push(...moves);
      }
      // Within the ranges, yarn 1 and bun still raise each range's floor to the version chosen
      // (^1.1.0 → ^1.3.0), and their lockfiles are keyed by the new range: kept and reported, as
      // long as the new range allows nothing the old one did not. Anything wider needs --latest.
      const widened = opts.latest ? [] : ranges.filter((r) => !narrows(r.to, r.from));
      if (widened.length > 0) {
        throw new LockwardenError(
          'EPACKAGEMANAGER',
          `${TOOL[pm]} moved ranges past what package.json allows without --latest (${widened.map((r) => `${r.name} ${r.from} → ${r.to} in ${r.file}`).join(', ')}); nothing was written`,
        );
      }
      const skipped = collectSkipped(after, cache, opts, ranges, stagedManifests);
      const changed = newText !== opts.lockfileText || changedManifests.size > 0;
      let wrote = false;
      if (!opts.dryRun && changed) {
        for (const [file, text] of changedManifests) await writeFile(path.join(dir, file), text);
        await writeFile(inventory.file, newText);
        wrote = true;
      }
      return {
        lockfile,
        ...moves,
        ranges,
        skipped,
        wrote,
        ...updateFindings(skipped, semverFindings),
      };
    }
  } finally {
    await proxy.close();
    if (staged) await rm(staged, { recursive: true, force: true });
    for (const t of temps) await rm(t, { recursive: true, force: true });
  }
}

/**
 * The sources with a registry source per route of the plan: packages of a scope are fetched from
 * its registry with its credentials (only there), the rest from the default.
 */
function routedSources(sources: Sources, plan: RegistryPlan): Sources {
  const at = sources.registryAt?.bind(sources);
  if (!at) {
    if (plan.scopes.size === 0 && plan.default.url === sources.registry.url) return sources;
    throw new LockwardenError('ECONFIG', 'these sources cannot reach more than one registry');
  }
  // npm's settings keep the registry source's own hint (.npmrc); the others name their field.
  const source = (route: RegistryRoute) =>
    at(route.url, route.authorization, route.origin.includes('npm configuration') ? undefined : route.origin);
  return {
    ...sources,
    registry: createScopedRegistrySource(
      source(plan.default),
      new Map([...plan.scopes].map(([scope, route]) => [scope, source(route)])),
    ),
  };
}

function nameKinds(names: Iterable<string>): { scoped: boolean; unscoped: boolean } {
  const kinds = { scoped: false, unscoped: false };
  for (const name of names) kinds[name.startsWith('@') ? 'scoped' : 'unscoped'] = true;
  return kinds;
}

/** Every dependency name of the project's package.json files. */
function directDependencies(manifests: ReadonlyMap<string, string>): string[] {
  const names: string[] = [];
  for (const text of manifests.values()) {
    try {
      const pkg = JSON.parse(text) as Record<string, Record<string, unknown> | undefined>;
      for (const field of DEPENDENCY_FIELDS) names.push(...Object.keys(pkg[field] ?? {}));
    } catch {
      // not JSON: the tool reports it
    }
  }
  return names;
}

async function hasWorkspaces(dir: string, pm: PackageManager): Promise<boolean> {
  if (pm === 'pnpm')
    return readFile(path.join(dir, 'pnpm-workspace.yaml')).then(
      () => true,
      () => false,
    );
  const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { workspaces?: unknown };
  return pkg.workspaces !== undefined;
}

/**
 * Every version new in the lockfile must be one the policy allows: the proxy showed the package
 * manager nothing else, but a bundled dependency or the tool's own cache could still bring one in.
 */
async function refuseDisallowed(
  after: LockfileInventory,
  pinned: ReadonlyMap<string, ReadonlySet<string>>,
  cache: PolicyPackumentCache,
  tool: string,
): Promise<void> {
  const problems: string[] = [];
  for (const entry of after.entries) {
    if (pinned.get(entry.name)?.has(entry.version)) continue;
    let decision: Awaited<ReturnType<PolicyPackumentCache['decide']>>;
    try {
      decision = await cache.decide(entry.name);
    } catch (err) {
      problems.push(`${entry.name}@${entry.version}: ${(err as Error).message}`);
      continue;
    }
    if (Object.hasOwn(decision.filtered.versions, entry.version)) continue;
    const finding = decision.hidden.get(entry.version);
    problems.push(
      `${entry.name}@${entry.version}: ${finding ? `${finding.rule} (${finding.message})` : 'not a version the registry lists'}`,
    );
  }
  if (problems.length > 0) {
    throw new LockwardenError(
      'EBLOCKED',
      `${tool} resolved to versions the policy does not allow, so nothing was written:\n  ${problems.join('\n  ')}`,
    );
  }
}

function narrows(to: string, from: string): boolean {
  try {
    return semver.validRange(to) !== null && semver.validRange(from) !== null && semver.subset(to, from);
  } catch {
    return false;
  }
}

function rangeMoves(file: string, before: string, after: string): RangeMove[] {
  const a = JSON.parse(before) as Record<string, Record<string, string> | undefined>;
  const b = JSON.parse(after) as Record<string, Record<string, string> | undefined>;
  const out: RangeMove[] = [];
  for (const field of DEPENDENCY_FIELDS) {
    for (const [name, to] of Object.entries(b[field] ?? {})) {
      const from = a[field]?.[name];
      if (from !== undefined && from !== to) out.push({ file, name, from, to });
    }
  }
  return out.sort((x, y) => x.name.localeCompare(y.name));
}

/**
 * Versions the policy hid that a range would have taken: for each hidden version newer than what
 * was chosen, some range (a package.json's or a dependent's, from the packuments) that it
 * satisfies and whose newest chosen version is older. With --latest, any newer version of a
 * direct dependency whose range moved.
 */
function collectSkipped(
  after: LockfileInventory,
  cache: PolicyPackumentCache,
  opts: UpdateOptions,
  ranges: RangeMove[],
  manifests: ReadonlyMap<string, string>,
): SkippedVersion[] {
  const wanted = new Map<string, Set<string>>();
  const want = (deps: Record<string, unknown> | undefined) => {
    for (const [name, range] of Object.entries(deps ?? {})) {
      if (typeof range !== 'string' || semver.validRange(range) === null) continue;
      const set = wanted.get(name) ?? new Set<string>();
      set.add(range);
      wanted.set(name, set);
    }
  };
  const decisions = cache.decisions();
  for (const entry of after.entries) {
    const m = decisions.get(entry.name)?.filtered.versions[entry.version] as
      | Record<string, Record<string, unknown> | undefined>
      | undefined;
    for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies']) want(m?.[field]);
  }
  for (const text of manifests.values()) {
    try {
      const pkg = JSON.parse(text) as Record<string, Record<string, unknown>>;
      for (const field of DEPENDENCY_FIELDS) want(pkg[field]);
    } catch {
      // not JSON: the tool's problem, reported by it; nothing wanted from it here
    }
  }
  const chosen = versionsByName(after.entries);
  const moved = new Set(ranges.map((r) => r.name));
  const out = new Map<string, SkippedVersion>();
  for (const [name, versions] of chosen) {
    const decision = decisions.get(name);
    if (!decision || decision.hidden.size === 0) continue;
    const picked = [...versions].filter((v) => semver.valid(v) !== null);
    const anyPrerelease = picked.some((v) => semver.prerelease(v) !== null);
    for (const [version, finding] of decision.hidden) {
      if (semver.valid(version) === null) continue;
      if (!anyPrerelease && semver.prerelease(version) !== null) continue;
      const skippedByRange = [...(wanted.get(name) ?? [])].some((range) => {
        if (!semver.satisfies(version, range)) return false;
        const best = semver.maxSatisfying(picked, range);
        return best !== null && semver.gt(version, best);
      });
      const skippedByLatest = opts.latest && moved.has(name) && picked.every((v) => semver.gt(version, v));
      if (!skippedByRange && !skippedByLatest) continue;
      out.set(`${name}@${version}`, skippedVersion(name, version, finding, opts.now));
    }
  }
  return sortSkipped(out.values());
}
