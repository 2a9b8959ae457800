// The versioned report every adapter renders (CLI text/JSON, Action annotations/summary/SARIF).
// Decide once here; renderers only format.
import type { LockfileEntry, LockfileLocation, SkippedEntry } from '../lockfile/lockfile-inventory.js';
import type {
  Decision,
  Finding,
  Notice,
  Policy,
  PolicyAction,
  UnavailableAction,
  Verdict,
} from '../policy/types.js';
import { TOOL_VERSION } from '../version.js';

export interface ReportFinding extends Finding {
  /** Lockfile locations of this name@version (audit only). */
  locations?: LockfileLocation[];
  /** One dependency path explaining why the package is there: ['app', 'a', 'b']. */
  path?: string[];
}

export interface ReportSummary {
  checked: number;
  allowed: number;
  /** Packages whose verdict is block, whether by a finding or by onUnavailable. */
  blocked: number;
  alerts: number;
  /** Packages with at least one fact unavailable. */
  unavailable: number;
  skipped: number;
  /** Packages blocked (alerted) by a finding itself, not because facts were unavailable. */
  blockedByFindings: number;
  alertsByFindings: number;
}

/** Facts one source could not deliver for one cause, with the packages they concern. */
export interface UnavailableGroup {
  source: string;
  /** The failure, without the per-request URL or package (`host name could not be resolved`). */
  cause: string;
  /** What could not be had: `publish time`, `weekly downloads`, `repository tags`. */
  facts: string[];
  /** What the missing facts did to the verdicts: the policy's onUnavailable. */
  effect: Decision;
  /** name@version (or name) of each package concerned, once. */
  packages: string[];
}

/** One checked package (`lockwarden check`): which version was evaluated and the verdict. */
export interface CheckedPackage {
  name: string;
  version: string | null;
  /** The ref named no version: `version` is the latest dist-tag (null when it could not be had). */
  latest: boolean;
  decision: Decision;
}

export interface Report {
  reportVersion: 1;
  tool: { name: 'lockwarden'; version: string };
  generatedAt: string;
  policy: { id: string; name: string; action: PolicyAction; onUnavailable: UnavailableAction };
  summary: ReportSummary;
  findings: ReportFinding[];
  /** The unavailable findings grouped by source and cause, largest group first. */
  unavailable: UnavailableGroup[];
  /** `check` only: every checked package and the version evaluated. */
  checked?: CheckedPackage[];
  notices: Notice[];
  skipped: SkippedEntry[];
  warnings: string[];
  /** 0 clean or alerts only, 1 blocking findings, 3 blocked only because facts were unavailable. */
  exitCode: 0 | 1 | 3;
}

export interface BuildReportInput {
  verdicts: readonly Verdict[];
  /** Only the identity of the policy is reported (the service's check API sends just that). */
  policy: Pick<Policy, 'id' | 'name' | 'action' | 'onUnavailable'>;
  now: Date;
  /** Lockfile entries in the same order as `verdicts` (audit), for locations and paths. */
  entries?: readonly LockfileEntry[];
  skipped?: readonly SkippedEntry[];
  warnings?: readonly string[];
  /** `check`: the refs as asked, in the order of `verdicts`, to say which version was evaluated. */
  requested?: readonly { name: string; version: string | null }[];
}

export function buildReport(input: BuildReportInput): Report {
  const { verdicts, policy, entries } = input;
  const summary: ReportSummary = {
    checked: verdicts.length,
    allowed: 0,
    blocked: 0,
    alerts: 0,
    unavailable: 0,
    skipped: input.skipped?.length ?? 0,
    blockedByFindings: 0,
    alertsByFindings: 0,
  };
  const findings: ReportFinding[] = [];
  const notices: Notice[] = [];
  let blockedByFinding = false;
  let blockedByUnavailable = false;
  verdicts.forEach((verdict, i) => {
    if (verdict.decision === 'block') summary.blocked++;
    else if (verdict.decision === 'alert') summary.alerts++;
    else summary.allowed++;
    const unavailable = verdict.findings.filter((f) => f.outcome === 'unavailable');
    if (unavailable.length > 0) summary.unavailable++;
    const known = verdict.findings.filter((f) => f.outcome !== 'unavailable');
    if (known.some((f) => f.effect === 'block')) summary.blockedByFindings++;
    else if (known.some((f) => f.effect === 'alert')) summary.alertsByFindings++;
    for (const f of verdict.findings) {
      if (f.effect === 'block') {
        if (f.outcome === 'unavailable') blockedByUnavailable = true;
        else blockedByFinding = true;
      }
      const entry = entries?.[i];
      // A finding about some copies only (lockfile-source) carries their locations.
      const own = (f as ReportFinding).locations;
      findings.push(entry ? { ...f, locations: own ?? entry.locations, path: entry.path } : { ...f });
    }
    notices.push(...verdict.notices);
  });
  findings.sort(compareFindings);
  return {
    reportVersion: 1,
    tool: { name: 'lockwarden', version: TOOL_VERSION },
    generatedAt: input.now.toISOString(),
    policy: { id: policy.id, name: policy.name, action: policy.action, onUnavailable: policy.onUnavailable },
    summary,
    findings,
    unavailable: groupUnavailable(findings),
    ...(input.requested
      ? {
          checked: input.requested.map((ref, i) => ({
            name: ref.name,
            version: verdicts[i]?.version ?? ref.version,
            latest: ref.version === null,
            decision: verdicts[i]?.decision ?? 'allow',
          })),
        }
      : {}),
    notices,
    skipped: [...(input.skipped ?? [])],
    warnings: [...(input.warnings ?? [])],
    exitCode: blockedByFinding ? 1 : blockedByUnavailable ? 3 : 0,
  };
}

const OUTCOME_ORDER = { block: 0, alert: 1, unavailable: 2 } as const;

function compareFindings(a: Finding, b: Finding): number {
  return (
    OUTCOME_ORDER[a.outcome] - OUTCOME_ORDER[b.outcome] ||
    a.rule.localeCompare(b.rule) ||
    a.name.localeCompare(b.name) ||
    (a.version ?? '').localeCompare(b.version ?? '')
  );
}

/** Packages with a fact unavailable, per source that failed (a package may count for several). */
export function unavailableBySource(groups: readonly UnavailableGroup[]): Map<string, number> {
  const bySource = new Map<string, Set<string>>();
  for (const g of groups) {
    const set = bySource.get(g.source) ?? new Set<string>();
    for (const p of g.packages) set.add(p);
    bySource.set(g.source, set);
  }
  return new Map([...bySource].map(([source, set]) => [source, set.size]));
}

/** Unavailable findings grouped by source and cause: an outage reads as a few lines, not thousands. */
export function groupUnavailable(findings: readonly Finding[]): UnavailableGroup[] {
  const groups = new Map<string, UnavailableGroup & { seen: Set<string> }>();
  for (const f of findings) {
    if (f.outcome !== 'unavailable') continue;
    const source = f.source ?? 'unknown source';
    const evidence = f.evidence ?? {};
    const reason = typeof evidence.reason === 'string' ? evidence.reason : f.message;
    const fact = typeof evidence.fact === 'string' ? evidence.fact : f.rule;
    const cause = causeOf(reason, source, f.name, f.version);
    const key = `${source}\0${cause}\0${f.effect}`;
    let group = groups.get(key);
    if (!group) {
      group = { source, cause, facts: [], effect: f.effect, packages: [], seen: new Set() };
      groups.set(key, group);
    }
    if (!group.facts.includes(fact)) group.facts.push(fact);
    const id = f.version === null ? f.name : `${f.name}@${f.version}`;
    if (!group.seen.has(id)) {
      group.seen.add(id);
      group.packages.push(id);
    }
  }
  return [...groups.values()]
    .map(({ seen: _seen, ...group }) => group)
    .sort((a, b) => b.packages.length - a.packages.length || a.source.localeCompare(b.source));
}

/**
 * The cause of a failure without what varies per request: the `<source> <url>: ` prefix the HTTP
 * layer adds, the attempt count, the package itself; a breaker's message gives the failure that
 * opened it.
 */
export function causeOf(reason: string, source: string, name: string, version: string | null): string {
  let cause = reason;
  const breaker = /the last with "(.*)"; not asked again/.exec(cause);
  if (breaker) cause = breaker[1]!;
  const prefix = `${source} `;
  if (cause.startsWith(prefix)) {
    const colon = cause.indexOf(': ', prefix.length);
    if (colon !== -1 && !cause.slice(prefix.length, colon).includes(' ')) cause = cause.slice(colon + 2);
  }
  cause = cause.replace(/ \(after \d+ attempts\)$/, '');
  if (version !== null) cause = cause.split(`${name}@${version}`).join('<package>');
  if (name.length >= 3) {
    const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    cause = cause.replace(new RegExp(`(?<![\\w@/.-])${escaped}(?![\\w/-])`, 'g'), '<package>');
  }
  return cause;
}
