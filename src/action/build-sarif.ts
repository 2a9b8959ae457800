// SARIF 2.1.0 for `github/codeql-action/upload-sarif`, so findings also show in the Security tab
// at their lockfile lines. Pure: report in, document out.
import type { Report, ReportFinding } from '../engine/report.js';
import { RULE_IDS, type RuleId } from '../policy/types.js';

export type SarifLevel = 'error' | 'warning' | 'note';

/**
 * `security-severity` (0.0-10.0) is what code scanning sorts and filters alerts by (9+ critical,
 * 7+ high, 4+ medium). A version that is not on the registry, a blocked name or a lookalike name
 * point at tampering; a young, unpopular or untagged version is a risk to review.
 */
const RULE_TEXT: Record<RuleId, { name: string; short: string; help: string; severity: string }> = {
  'not-on-registry': {
    name: 'NotOnRegistry',
    short: 'Version is not on the registry',
    help: 'The registry answered that it does not have this version: it was unpublished, or the lockfile was edited to point at a version that never existed. Pin a version the registry has, and find out where the lockfile entry came from.',
    severity: '8.0',
  },
  'cooling-off': {
    name: 'CoolingOff',
    short: 'Version published too recently',
    help: "The version is younger than the policy's coolingOffDays. Wait until it is old enough, pin an older version, or add it to the policy's allow list with a reason.",
    severity: '5.0',
  },
  popularity: {
    name: 'Popularity',
    short: 'Package has too few weekly downloads',
    help: "The package has fewer weekly downloads than the policy's minWeeklyDownloads. Check that it is the package you meant, then add it to the allow list with a reason.",
    severity: '4.0',
  },
  typosquatting: {
    name: 'Typosquatting',
    short: 'Package name looks like a popular package',
    help: 'The name is one edit away from a popular package. Use the popular package, or add this name to the allow list with a reason if it is intended.',
    severity: '7.5',
  },
  'suspicious-version': {
    name: 'SuspiciousVersion',
    short: 'Version has no matching tag in its repository',
    help: 'The version has no tag or release in its GitHub repository, which can mean it was not published from the repository. Verify it, pin a tagged version, or allow it with a reason.',
    severity: '5.5',
  },
  blocklist: {
    name: 'Blocklist',
    short: "Package is on the policy's block list",
    help: 'The policy blocks this package or version. Remove the dependency or change the block list entry.',
    severity: '8.0',
  },
  'semver-honesty': {
    name: 'SemverHonesty',
    short: 'Minor or patch update breaks the public interface',
    help: 'The update removes or narrows part of the package interface (exports, types, engines, peers) in a minor or patch release. Stay on the old version, treat it as a major update, or allow it with a reason.',
    severity: '3.0',
  },
  'lockfile-source': {
    name: 'LockfileSource',
    short: 'Lockfile entry resolves outside the trusted registries',
    help: "The lockfile fetches this package from a host that is not the configured registry or one of the policy's registries, or records no integrity: an install from it bypasses the registry. Regenerate the entry from your registry, or add the host to the policy's registries if you trust it.",
    severity: '8.0',
  },
  vulnerabilities: {
    name: 'Vulnerabilities',
    short: 'Version has a published advisory',
    help: 'An advisory at or above the policy\'s vulnerabilities.minSeverity affects this version. Update to the first fixed version the finding names, or accept the advisory with an allow entry {"advisory", "reason", "expires"}.',
    // Per result: the advisory's own score (below) is what code scanning shows.
    severity: '7.0',
  },
};

/** CVSS-style score of an advisory finding: the source's CVSS score, else its severity's band. */
const SEVERITY_SCORE: Record<string, string> = { critical: '9.5', high: '8.0', moderate: '5.5', low: '2.0' };
export function advisoryScore(f: ReportFinding): string | undefined {
  if (f.rule !== 'vulnerabilities' || f.outcome === 'unavailable') return undefined;
  const cvss = f.evidence?.cvssScore;
  if (typeof cvss === 'number' && cvss > 0 && cvss <= 10) return cvss.toFixed(1);
  return SEVERITY_SCORE[String(f.evidence?.severity)];
}

export function sarifLevel(f: ReportFinding): SarifLevel | undefined {
  if (f.outcome === 'unavailable') return f.effect === 'allow' ? undefined : 'note';
  if (f.effect === 'block') return 'error';
  if (f.effect === 'alert') return 'warning';
  return undefined;
}

export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: unknown[];
}

export interface SarifOptions {
  /** The tool's home page (the Action's repository). */
  informationUri?: string;
  /**
   * `runAutomationDetails.id`, `category/` form: code scanning keeps one analysis per category,
   * so two jobs checking different lockfiles do not close each other's alerts.
   */
  automationId?: string;
}

export function buildSarif(report: Report, opts: SarifOptions = {}): SarifLog {
  const rules = RULE_IDS.map((id) => ({
    id,
    name: RULE_TEXT[id].name,
    shortDescription: { text: RULE_TEXT[id].short },
    fullDescription: { text: RULE_TEXT[id].help },
    help: { text: RULE_TEXT[id].help },
    defaultConfiguration: { level: 'error' },
    properties: { tags: ['security', 'supply-chain'], 'security-severity': RULE_TEXT[id].severity },
  }));
  const results: unknown[] = [];
  for (const f of report.findings) {
    const level = sarifLevel(f);
    if (!level) continue;
    const spec = f.version === null ? f.name : `${f.name}@${f.version}`;
    const score = advisoryScore(f);
    // One alert per advisory: a version with two advisories has two results to track and close.
    const advisory = typeof f.evidence?.advisory === 'string' ? `:${f.evidence.advisory}` : '';
    const text = `${f.message}${f.outcome === 'unavailable' && f.source ? ` (source: ${f.source})` : ''} To pass: ${f.hint}`;
    const locations = (f.locations ?? [])
      .filter((l) => Number.isSafeInteger(l.line) && l.line > 0)
      .map((l) => ({
        physicalLocation: {
          artifactLocation: { uri: encodeURI(l.file), uriBaseId: '%SRCROOT%' },
          region: { startLine: l.line },
        },
        message: { text: l.key },
      }));
    results.push({
      ruleId: f.rule,
      ruleIndex: RULE_IDS.indexOf(f.rule),
      level,
      message: { text },
      locations,
      // Stable across runs and line moves, so code scanning tracks one alert per package and rule.
      partialFingerprints: { 'lockwarden/v1': `${spec}:${f.rule}${advisory}:${f.outcome}` },
      properties: {
        package: f.name,
        version: f.version,
        outcome: f.outcome,
        effect: f.effect,
        ...(score ? { 'security-severity': score, tags: ['security', 'vulnerability'] } : {}),
        ...(advisory ? { advisory: f.evidence!.advisory } : {}),
      },
    });
  }
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'lockwarden',
            version: report.tool.version,
            semanticVersion: report.tool.version,
            ...(opts.informationUri ? { informationUri: opts.informationUri } : {}),
            rules,
          },
        },
        automationDetails: { id: opts.automationId ?? 'lockwarden/' },
        results,
        columnKind: 'utf16CodeUnits',
      },
    ],
  };
}
