// suspicious-version: a version with no tag or release in its repository may have been published
// from outside the project's normal release process (a stolen token). A regression — earlier
// versions tagged, this one not — is the strong signal; a project that never tags is weak evidence.
import semver from 'semver';
import { formatAge, parsePublishTime, spec } from './format.js';
import type { Finding, GuardrailContext } from './types.js';
import { unavailableFinding } from './unavailable-finding.js';

/** The tag names projects really use for a release of `name@version`. */
export function tagCandidates(name: string, version: string): string[] {
  const unscoped = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
  const forms = new Set([
    `v${version}`,
    version,
    `${name}@${version}`,
    `${name}@v${version}`,
    `${name}-v${version}`,
    `${unscoped}-v${version}`,
    `${unscoped}@${version}`,
    `${unscoped}@v${version}`,
    `${unscoped}-${version}`,
    `${name}_v${version}`,
    `${unscoped}_v${version}`,
    `release-${version}`,
    `release/${version}`,
    `release/v${version}`,
  ]);
  return [...forms];
}

export function findTag(tags: ReadonlySet<string>, name: string, version: string): string | undefined {
  return tagCandidates(name.toLowerCase(), version.toLowerCase()).find((t) => tags.has(t));
}

/** How many earlier stable versions the regression evidence looks at. */
export const PREVIOUS_SAMPLE = 5;

// The proxy evaluates every version of a packument against the same list: sort it once.
const sortedCache = new WeakMap<readonly string[], string[]>();

function stableDescending(versions: readonly string[]): string[] {
  let sorted = sortedCache.get(versions);
  if (!sorted) {
    sorted = versions
      .filter(
        (v) => semver.valid(v, { loose: true }) !== null && semver.prerelease(v, { loose: true }) === null,
      )
      .sort((a, b) => semver.rcompare(a, b, true));
    sortedCache.set(versions, sorted);
  }
  return sorted;
}

/** Up to `count` stable versions below `version`, newest first. */
export function previousStableVersions(
  versions: readonly string[],
  version: string,
  count: number,
): string[] {
  if (semver.valid(version, { loose: true }) === null) return [];
  const sorted = stableDescending(versions);
  // Binary search for the first entry lower than `version`.
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (semver.lt(sorted[mid]!, version, true)) hi = mid;
    else lo = mid + 1;
  }
  return sorted.slice(lo, lo + count);
}

export function evaluateSuspiciousVersion(ctx: GuardrailContext): Finding[] {
  const { policy, facts, now, name, version } = ctx;
  if (!policy.suspiciousVersion || version === null) return [];
  // DefinitelyTyped publishes every @types package from one repository without per-package tags.
  if (name.startsWith('@types/')) return [];
  if (facts.publishedAt?.status === 'ok' && facts.publishedAt.value !== null) {
    const published = parsePublishTime(facts.publishedAt.value);
    const graceMs = policy.suspiciousVersionGraceHours * 3600000;
    if (published !== null && now.getTime() - published < graceMs && !facts.publishedAtIsUpperBound)
      return [];
  }
  const fact = facts.repositoryTags;
  if (!fact) return [];
  if (fact.status === 'unavailable')
    return [unavailableFinding(ctx, 'suspicious-version', 'version', fact, 'repository tags')];
  const tags = new Set(fact.value.tags.map((t) => t.toLowerCase()));
  const match = findTag(tags, name, version);
  if (match) return [];

  const previous = previousStableVersions(facts.knownVersions ?? [], version, PREVIOUS_SAMPLE);
  const previousTagged = previous.filter((v) => findTag(tags, name, v) !== undefined);
  const regression = previousTagged.length > 0;
  const repo = fact.value.repo;
  const evidence = {
    repo,
    tagsChecked: tagCandidates(name, version).slice(0, 7),
    previousVersions: previous,
    previousTagged,
    regression,
  };
  let age = '';
  if (facts.publishedAt?.status === 'ok' && facts.publishedAt.value) {
    const p = parsePublishTime(facts.publishedAt.value);
    if (p !== null) age = ` (published ${formatAge(now.getTime() - p)} ago)`;
  }
  const why = regression
    ? `${previousTagged.length} of the ${previous.length} previous versions are tagged (${previousTagged.slice(0, 3).join(', ')}), this one is not: a tag regression`
    : previous.length > 0
      ? `none of the ${previous.length} previous versions is tagged either; the project may not tag releases`
      : 'no earlier version to compare with';
  // Without a regression the missing tag is weak evidence: alert, never block on it alone.
  const outcome = regression ? policy.action : 'alert';
  return [
    {
      name,
      version,
      rule: 'suspicious-version',
      outcome,
      effect: outcome,
      scope: 'version',
      threshold: 'a tag or release matching the version',
      observed: 'no matching tag',
      message: `${spec(name, version)}${age} has no tag or release in github.com/${repo} (looked for v${version}, ${version}, ${name}@${version}, ...); ${why}`,
      hint: `check the release on github.com/${repo} and the package's changelog; if it is genuine, add "${name}@${version}" to allow with a reason`,
      evidence,
    },
  ];
}
