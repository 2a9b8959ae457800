// What an update changed, from the registry versions pinned before and after, per name, and the
// newer versions it skipped.
import semver from 'semver';
import type { LockfileEntry } from '../lockfile/lockfile-inventory.js';
import type { Finding } from '../policy/types.js';
import { describeSkip } from '../policy/update-candidates.js';

export interface VersionMove {
  name: string;
  from: string;
  to: string;
}

export interface VersionDiff {
  updated: VersionMove[];
  added: { name: string; version: string }[];
  removed: { name: string; version: string }[];
}

/** name → the versions pinned, from an inventory's entries. */
export function versionsByName(entries: readonly Pick<LockfileEntry, 'name' | 'version'>[]) {
  const out = new Map<string, Set<string>>();
  for (const e of entries) {
    const set = out.get(e.name) ?? new Set<string>();
    set.add(e.version);
    out.set(e.name, set);
  }
  return out;
}

export function diffVersions(
  before: ReadonlyMap<string, ReadonlySet<string>>,
  after: ReadonlyMap<string, ReadonlySet<string>>,
): VersionDiff {
  const updated: VersionMove[] = [];
  const added: { name: string; version: string }[] = [];
  const removed: { name: string; version: string }[] = [];
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  const byVersion = (a: string, b: string) => semver.compare(a, b, true);
  for (const name of names) {
    const was = before.get(name) ?? new Set<string>();
    const now = after.get(name) ?? new Set<string>();
    const gone = [...was].filter((v) => !now.has(v)).sort(byVersion);
    const fresh = [...now].filter((v) => !was.has(v)).sort(byVersion);
    // Pair old and new copies in order (a package installed twice moves both copies).
    const pairs = Math.min(gone.length, fresh.length);
    for (let i = 0; i < pairs; i++) updated.push({ name, from: gone[i]!, to: fresh[i]! });
    for (const version of fresh.slice(pairs)) added.push({ name, version });
    for (const version of gone.slice(pairs)) removed.push({ name, version });
  }
  return { updated, added, removed };
}

export interface SkippedVersion {
  name: string;
  version: string;
  rule: Finding['rule'];
  /** `cooling-off (published 2 days ago; passes on 2026-12-09)`. */
  reason: string;
  effect: Finding['effect'];
  finding: Finding;
}

/**
 * What an update reports beside its moves: the semver findings worth showing, and whether a
 * blocking rule lacked its facts (exit 3), whichever package manager resolved it.
 */
export function updateFindings(
  skipped: readonly SkippedVersion[],
  semverFindings: readonly Finding[],
): { semver: Finding[]; unavailable: boolean } {
  return {
    semver: semverFindings.filter((f) => f.effect !== 'allow'),
    unavailable: [...skipped.map((s) => s.finding), ...semverFindings].some(
      (f) => f.outcome === 'unavailable' && f.effect === 'block',
    ),
  };
}

export function skippedVersion(name: string, version: string, finding: Finding, now: Date): SkippedVersion {
  return {
    name,
    version,
    rule: finding.rule,
    reason: describeSkip(finding, now),
    effect: finding.effect,
    finding,
  };
}

/** By name, then version. */
export function sortSkipped(skipped: Iterable<SkippedVersion>): SkippedVersion[] {
  return [...skipped].sort(
    (a, b) => a.name.localeCompare(b.name) || semver.compare(a.version, b.version, true),
  );
}
