// The security fast lane: cooling-off holds a release back for days, and the release it holds back
// may be the one that fixes a vulnerability the project already has. A version inside the window
// that fixes an advisory (at or above the threshold) of the version before it passes cooling-off,
// with an alert that says why. Every other guardrail still applies to it.
import semver from 'semver';
import { formatAge } from './format.js';
import type { Advisory, Finding, GuardrailContext, Policy } from './types.js';
import { isAffected, relevantAdvisories } from './vulnerabilities.js';

/** Whether the policy lets security fixes skip cooling-off (the default once advisories are on). */
export function bypassesCoolingOff(policy: Policy): boolean {
  return (
    policy.vulnerabilities !== undefined &&
    (policy.securityFixes ?? 'bypass-cooling-off') === 'bypass-cooling-off'
  );
}

/** The highest known version below `version` (stable ones only, unless `version` is a prerelease). */
export function previousVersion(
  version: string,
  knownVersions: readonly string[] | undefined,
): string | undefined {
  const current = semver.parse(version, { loose: true });
  if (!current || !knownVersions) return undefined;
  let best: semver.SemVer | undefined;
  let bestRaw: string | undefined;
  for (const raw of knownVersions) {
    const v = semver.parse(raw, { loose: true });
    if (!v || !semver.lt(v, current)) continue;
    if (v.prerelease.length > 0 && current.prerelease.length === 0) continue;
    if (!best || semver.gt(v, best)) {
      best = v;
      bestRaw = raw;
    }
  }
  return bestRaw;
}

/**
 * Whether the advisory names a fix (an exclusive upper bound, `<1.3.2`, on the part of its range
 * that holds `previous`) and `version` is at or above it and unaffected. Being merely outside the
 * range is not enough: an advisory with no fix (`<=1.3.1`, OSV's last_affected, or a malware
 * advisory naming exactly the compromised `1.3.1`) leaves every later version unaffected, so
 * whoever publishes the next version (the attacker, too) would skip cooling-off.
 */
function namesFixAtOrBelow(advisory: Advisory, previous: string, version: string): boolean {
  if (advisory.boundsAreNotFixes || isAffected(advisory, version)) return false;
  let range: semver.Range;
  try {
    range = new semver.Range(advisory.vulnerableVersions, { loose: true, includePrerelease: true });
  } catch {
    return false;
  }
  return range.set.some(
    (set) =>
      set.every((c) => c.test(previous)) &&
      set.some((c) => c.operator === '<' && semver.gte(version, c.semver, { loose: true })),
  );
}

/** Turns the cooling-off finding of a security fix into an alert that names what it fixes. */
export function applySecurityFastLane(ctx: GuardrailContext, findings: Finding[]): Finding[] {
  const { policy, version, facts, now, name } = ctx;
  if (!bypassesCoolingOff(policy) || version === null) return findings;
  const at = findings.findIndex((f) => f.rule === 'cooling-off' && f.outcome !== 'unavailable');
  if (at === -1 || facts.advisories?.status !== 'ok') return findings;
  const previous = previousVersion(version, facts.knownVersions);
  if (previous === undefined) return findings;
  const fixes = relevantAdvisories(
    facts.advisories.value,
    previous,
    policy.vulnerabilities!.minSeverity,
  ).filter((a) => namesFixAtOrBelow(a, previous, version));
  if (fixes.length === 0) return findings;
  const held = findings[at]!;
  const publishedAt =
    typeof held.evidence?.publishedAt === 'string' ? Date.parse(held.evidence.publishedAt) : NaN;
  const age = Number.isNaN(publishedAt)
    ? `${held.observed} days`
    : formatAge(Math.max(0, now.getTime() - publishedAt));
  const fixed = fixes.map((a) => `${a.id} (${a.severity})`).join(', ');
  const out = [...findings];
  out[at] = {
    ...held,
    outcome: 'alert',
    effect: 'alert',
    message: `${name} ${version} is ${age} old; allowed early: it fixes ${fixed} that ${fixes.length === 1 ? 'affects' : 'affect'} ${previous}`,
    hint: `nothing to do; set "securityFixes": "normal" to hold security fixes for the full cooling-off period`,
    evidence: {
      ...held.evidence,
      securityFix: true,
      previousVersion: previous,
      fixes: fixes.map((a) => ({ advisory: a.id, severity: a.severity, title: a.title })),
    },
  };
  return out;
}
