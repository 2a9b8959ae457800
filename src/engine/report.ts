// The versioned report every adapter renders (CLI text/JSON, Action annotations/summary/SARIF).
// Decide once here; renderers only format.
import type { LockfileEntry, LockfileLocation, SkippedEntry } from '../lockfile/read-lockfile.js';
import type { Finding, Notice, Policy, PolicyAction, UnavailableAction, Verdict } from '../policy/types.js';
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
  blocked: number;
  alerts: number;
  unavailable: number;
  skipped: number;
}

export interface Report {
  reportVersion: 1;
  tool: { name: 'lockwarden'; version: string };
  generatedAt: string;
  policy: { id: string; name: string; action: PolicyAction; onUnavailable: UnavailableAction };
  summary: ReportSummary;
  findings: ReportFinding[];
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
  };
  const findings: ReportFinding[] = [];
  const notices: Notice[] = [];
  let blockedByFinding = false;
  let blockedByUnavailable = false;
  verdicts.forEach((verdict, i) => {
    if (verdict.decision === 'block') summary.blocked++;
    else if (verdict.decision === 'alert') summary.alerts++;
    else summary.allowed++;
    if (verdict.findings.some((f) => f.outcome === 'unavailable')) summary.unavailable++;
    for (const f of verdict.findings) {
      if (f.effect === 'block') {
        if (f.outcome === 'unavailable') blockedByUnavailable = true;
        else blockedByFinding = true;
      }
      const entry = entries?.[i];
      findings.push(entry ? { ...f, locations: entry.locations, path: entry.path } : { ...f });
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
