// `lockwarden audit` and the Action's inline mode: lockfile in, report out.

import type { LockfileEntry, LockfileInventory } from '../lockfile/lockfile-inventory.js';
import { readProjectLockfiles } from '../lockfile/read-lockfile.js';
import type { Policy, PopularIndex } from '../policy/types.js';
import type { Sources } from '../sources/types.js';
import { addSemverFindings } from './add-semver-findings.js';
import { checkPackages } from './check-packages.js';
import type { FactProgress } from './gather-facts.js';
import { judgeLockfileBundles } from './judge-lockfile-bundles.js';
import { judgeLockfileSources } from './judge-lockfile-sources.js';
import { buildReport, type Report } from './report.js';

export interface RunAuditOptions {
  dir: string;
  lockfile?: string;
  policy: Policy;
  sources: Sources;
  popular: PopularIndex;
  now: Date;
  /** Only these package names (`--only`). */
  only?: readonly string[];
  /** Only entries passing this test (the Action's `scope: changed`). */
  filter?: (entry: LockfileEntry) => boolean;
  concurrency?: number;
  onProgress?: (progress: FactProgress) => void;
  /** An inventory already read (the Action reads it to diff against the base). */
  inventory?: LockfileInventory;
  /**
   * The registry installs fetch from, for the lockfile-source rule; defaults to the registry
   * source's URL (pass it when the policy needs no registry facts and the source was not opened).
   */
  registryUrl?: string;
  /**
   * npm's `replace-registry-host` for the lockfile-source rule (which URLs in `package-lock.json`
   * npm fetches from the configured registry instead); undefined: npm's default (`npmjs`). Several:
   * a URL passes as rewritten only if each of them rewrites it.
   */
  npmReplaceRegistryHost?: string | readonly string[];
  /**
   * Updates to judge for semver honesty (the Action's changed entries): each `name from → to`
   * adds its findings to the verdict of `name@to`.
   */
  updates?: readonly { name: string; from: string; to: string }[];
  /** On-disk cache for semver-honesty comparisons. */
  cacheDir?: string;
}

/**
 * `--only` names that match nothing in the lockfile (neither an entry, an alias nor a skipped
 * entry): a typo there would otherwise check nothing and pass.
 */
export function unmatchedOnly(inventory: LockfileInventory, only: readonly string[]): string[] {
  const present = new Set<string>();
  for (const e of inventory.entries) {
    present.add(e.name);
    if (e.alias !== undefined) present.add(e.alias);
  }
  for (const s of inventory.skipped) present.add(s.name);
  return [...new Set(only)].filter((name) => !present.has(name));
}

export async function runAudit(
  opts: RunAuditOptions,
): Promise<{ report: Report; inventory: LockfileInventory }> {
  const inventory =
    opts.inventory ??
    (await readProjectLockfiles(opts.dir, opts.lockfile === undefined ? {} : { lockfile: opts.lockfile }));
  const only = opts.only && opts.only.length > 0 ? new Set(opts.only) : undefined;
  const entries = inventory.entries.filter(
    (e) =>
      (!only || only.has(e.name) || (e.alias !== undefined && only.has(e.alias))) &&
      (!opts.filter || opts.filter(e)),
  );
  const verdicts = await checkPackages(
    // A bundled copy with a `resolved` URL is fetched from there when the bundler's tarball lacks
    // it (Arborist does), so only one without (as npm writes them) is the bundler's own copy:
    // an edited lockfile cannot hide a version the registry does not have by marking it bundled.
    entries.map((e) => ({
      name: e.name,
      version: e.version,
      ...(e.bundled && e.resolved === undefined ? { bundled: true } : {}),
    })),
    {
      policy: opts.policy,
      sources: opts.sources,
      popular: opts.popular,
      now: opts.now,
      ...(opts.concurrency === undefined ? {} : { concurrency: opts.concurrency }),
      ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }),
    },
  );
  // What the entries' tarballs bundle (npm's `inBundle` entries, checked above, may not say it all).
  const withBundles = await judgeLockfileBundles(verdicts, entries, {
    policy: opts.policy,
    sources: opts.sources,
    popular: opts.popular,
    now: opts.now,
    ...(opts.concurrency === undefined ? {} : { concurrency: opts.concurrency }),
  });
  const checked =
    opts.updates && opts.updates.length > 0
      ? await addSemverFindings(withBundles, entries, opts.updates, {
          policy: opts.policy,
          sources: opts.sources,
          ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
        })
      : withBundles;
  // Read after the checks: a registry source looked up on first use knows its URL only then.
  const configured = opts.registryUrl ?? opts.sources.registry.url;
  const judged = judgeLockfileSources(
    checked,
    entries,
    opts.policy,
    [configured],
    opts.npmReplaceRegistryHost,
  );
  const report = buildReport({
    verdicts: judged,
    policy: opts.policy,
    now: opts.now,
    entries,
    skipped: only ? inventory.skipped.filter((s) => only.has(s.name)) : inventory.skipped,
    warnings: inventory.warnings,
  });
  return { report, inventory };
}
