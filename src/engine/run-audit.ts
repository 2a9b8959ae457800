// `lockwarden audit` and the Action's inline mode: lockfile in, report out.

import npmDefinitions from '@npmcli/config/lib/definitions/index.js';
import type { LockfileEntry, LockfileInventory } from '../lockfile/lockfile-inventory.js';
import { readProjectLockfiles } from '../lockfile/read-lockfile.js';
import { strongestDecision } from '../policy/evaluate.js';
import { evaluateLockfileSource } from '../policy/lockfile-source.js';
import type { Policy, PopularIndex } from '../policy/types.js';
import type { Sources } from '../sources/types.js';
import { addSemverFindings } from './add-semver-findings.js';
import { checkPackages } from './check-packages.js';
import type { FactProgress } from './gather-facts.js';
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

/**
 * Registries lockfile entries may resolve to: the configured one, the policy's `registries`, and
 * for npm's own lockfiles npm's default registry, whose URLs npm rewrites to the configured
 * registry at install time (`replace-registry-host`, default `npmjs`). Other clients fetch
 * what the lockfile says.
 */
export function trustedRegistries(policy: Policy, configured: string, entry: LockfileEntry): string[] {
  const out = [configured, ...policy.registries];
  const npmOnly = entry.locations.every((l) =>
    /(?:^|[\\/])(?:package-lock|npm-shrinkwrap)\.json$/.test(l.file),
  );
  if (npmOnly) out.push(npmDefaultRegistry());
  return out;
}

function npmDefaultRegistry(): string {
  // From npm's own config definitions, so that no registry host is written down here.
  return (npmDefinitions.definitions as Record<string, { default?: unknown }>).registry?.default as string;
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
    entries.map((e) => ({ name: e.name, version: e.version })),
    {
      policy: opts.policy,
      sources: opts.sources,
      popular: opts.popular,
      now: opts.now,
      ...(opts.concurrency === undefined ? {} : { concurrency: opts.concurrency }),
      ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }),
    },
  );
  const checked =
    opts.updates && opts.updates.length > 0
      ? await addSemverFindings(verdicts, entries, opts.updates, {
          policy: opts.policy,
          sources: opts.sources,
          ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
        })
      : verdicts;
  // Read after the checks: a registry source looked up on first use knows its URL only then.
  const configured = opts.registryUrl ?? opts.sources.registry.url;
  const judged = checked.map((verdict, i) => {
    const entry = entries[i]!;
    const registries = trustedRegistries(opts.policy, configured, entry);
    const findings = evaluateLockfileSource(entry, { policy: opts.policy, registries });
    if (findings.length === 0) return verdict;
    // Not lifted by the allow list: it names packages, and this is about where bytes come from.
    const all = [...verdict.findings, ...findings];
    return { ...verdict, findings: all, decision: strongestDecision(all) };
  });
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
