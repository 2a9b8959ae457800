// vulnerabilities: a version with a published advisory at or above the policy's `minSeverity` is
// a finding, one per advisory, naming the first version that fixes it. Advisories come as facts
// (registry bulk endpoint or OSV); matching their ranges against versions happens here.
import semver from 'semver';
import { spec } from './format.js';
import { isExpired } from './list-entry.js';
import {
  type Advisory,
  type AdvisoryAllowEntry,
  type Finding,
  type GuardrailContext,
  type Notice,
  SEVERITIES,
  type Severity,
} from './types.js';
import { unavailableFinding } from './unavailable-finding.js';

export { SEVERITIES };

/** GHSA, CVE, OSV or the registry's numeric ids: letters, digits and a few separators. */
export const ADVISORY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$/;

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** Whether `version` is inside the advisory's range (prereleases included: they are installable). */
export function isAffected(advisory: Advisory, version: string): boolean {
  try {
    return semver.satisfies(version, advisory.vulnerableVersions, { includePrerelease: true, loose: true });
  } catch {
    return false;
  }
}

function parse(version: string): semver.SemVer | null {
  try {
    return new semver.SemVer(version, { loose: true });
  } catch {
    return null;
  }
}

/**
 * The lowest known version above `version` that the advisory does not affect (stable versions
 * unless `version` is a prerelease). Without the package's versions, the upper bound of the
 * range part that holds `version` (`<1.3.2` gives 1.3.2).
 */
export function firstFixedVersion(
  advisory: Advisory,
  version: string,
  knownVersions: readonly string[] | undefined,
): string | undefined {
  const current = parse(version);
  if (!current) return undefined;
  if (knownVersions && knownVersions.length > 0) {
    const candidates = knownVersions
      .map((raw) => ({ raw, v: parse(raw) }))
      .filter(
        (c): c is { raw: string; v: semver.SemVer } =>
          c.v !== null &&
          semver.gt(c.v, current) &&
          (c.v.prerelease.length === 0 || current.prerelease.length > 0),
      )
      .sort((a, b) => semver.compare(a.v, b.v));
    return candidates.find((c) => !isAffected(advisory, c.raw))?.raw;
  }
  let range: semver.Range;
  try {
    range = new semver.Range(advisory.vulnerableVersions, { loose: true, includePrerelease: true });
  } catch {
    return undefined;
  }
  for (const set of range.set) {
    if (!set.every((c) => c.test(current))) continue;
    const upper = set.find((c) => c.operator === '<');
    if (upper) return upper.semver.version;
  }
  return undefined;
}

/** The allow entry that accepts this advisory (by its id or an alias), expired ones aside. */
function allowEntryFor(
  advisory: Advisory,
  entries: readonly AdvisoryAllowEntry[],
): AdvisoryAllowEntry | undefined {
  const ids = new Set([advisory.id, ...advisory.aliases].map((id) => id.toUpperCase()));
  return entries.find((e) => ids.has(e.advisory.toUpperCase()));
}

/** Advisories affecting name@version at or above the policy's threshold, most severe first. */
export function relevantAdvisories(
  advisories: readonly Advisory[],
  version: string,
  minSeverity: Severity,
): Advisory[] {
  const floor = severityRank(minSeverity);
  return advisories
    .filter((a) => severityRank(a.severity) >= floor && isAffected(a, version))
    .sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.id.localeCompare(b.id));
}

/** Findings and notices (allow-listed or expired advisory entries) of one version. */
export function evaluateVulnerabilities(ctx: GuardrailContext): { findings: Finding[]; notices: Notice[] } {
  const { policy, facts, name, version, now } = ctx;
  const rule = policy.vulnerabilities;
  const none = { findings: [], notices: [] };
  if (!rule || version === null) return none;
  const fact = facts.advisories;
  if (!fact) return none;
  if (fact.status === 'unavailable')
    return {
      findings: [unavailableFinding(ctx, 'vulnerabilities', 'version', fact, 'advisories')],
      notices: [],
    };
  const findings: Finding[] = [];
  const notices: Notice[] = [];
  const entries = policy.allowAdvisories ?? [];
  for (const advisory of relevantAdvisories(fact.value, version, rule.minSeverity)) {
    const entry = allowEntryFor(advisory, entries);
    if (entry && !isExpired(entry, now)) {
      notices.push({
        name,
        version,
        kind: 'allowed-by-list',
        message: `advisory ${advisory.id} (${advisory.severity}) of ${spec(name, version)} allowed by entry "${entry.advisory}"${entry.reason ? ` (${entry.reason})` : ''}${entry.expires ? `, until ${entry.expires}` : ''}`,
      });
      continue;
    }
    if (entry) {
      notices.push({
        name,
        version,
        kind: 'expired-allow',
        message: `allow entry for advisory "${entry.advisory}" expired on ${entry.expires}${entry.reason ? ` (${entry.reason})` : ''} and no longer applies to ${spec(name, version)}; renew or remove it`,
      });
    }
    findings.push(advisoryFinding(ctx, version, advisory, rule.minSeverity));
  }
  return { findings, notices };
}

function advisoryFinding(
  ctx: GuardrailContext,
  version: string,
  advisory: Advisory,
  minSeverity: Severity,
): Finding {
  const { name, policy } = ctx;
  const fixed = firstFixedVersion(advisory, version, ctx.facts.knownVersions);
  return {
    name,
    version,
    rule: 'vulnerabilities',
    outcome: policy.action,
    effect: policy.action,
    scope: 'version',
    threshold: minSeverity,
    observed: advisory.severity,
    message: `${spec(name, version)} has advisory ${advisory.id} (${advisory.severity}): ${advisory.title}; ${fixed ? `fixed in ${fixed}` : 'no fixed version is published'}`,
    hint: `${fixed ? `update to ${name}@${fixed} or later` : 'use another package'}, or add {"advisory": "${advisory.id}", "reason": ..., "expires": ...} to allow`,
    evidence: {
      advisory: advisory.id,
      severity: advisory.severity,
      title: advisory.title,
      vulnerableVersions: advisory.vulnerableVersions,
      ...(advisory.aliases.length > 0 ? { aliases: advisory.aliases } : {}),
      ...(advisory.url ? { url: advisory.url } : {}),
      ...(advisory.cvssScore !== undefined ? { cvssScore: advisory.cvssScore } : {}),
      ...(fixed ? { firstFixed: fixed } : {}),
    },
  };
}
