// The run's verdict, decided once from the report; everything the user sees renders from it.
import type { Report, ReportFinding } from '../engine/report.js';

export type OutcomeKind = 'clean' | 'alerts' | 'blocked' | 'unavailable';

export interface ActionOutcome {
  failed: boolean;
  kind: OutcomeKind;
  /** One line for the log and for `setFailed`. */
  message: string;
}

const SPECS_IN_MESSAGE = 5;

function spec(f: ReportFinding): string {
  return f.version === null ? f.name : `${f.name}@${f.version}`;
}

function listSpecs(findings: readonly ReportFinding[]): string {
  const specs = [...new Set(findings.map(spec))];
  const shown = specs.slice(0, SPECS_IN_MESSAGE).join(', ');
  return specs.length > SPECS_IN_MESSAGE ? `${shown} and ${specs.length - SPECS_IN_MESSAGE} more` : shown;
}

/** `registry (timeout after 5000 ms), downloads (HTTP 503)`: which source failed and how. */
export function describeUnavailableSources(findings: readonly ReportFinding[]): string {
  const bySource = new Map<string, Set<string>>();
  for (const f of findings) {
    if (f.outcome !== 'unavailable') continue;
    const source = f.source ?? 'unknown source';
    const reasons = bySource.get(source) ?? new Set<string>();
    const reason = typeof f.observed === 'string' ? f.observed : f.message;
    if (reasons.size < 2) reasons.add(reason);
    bySource.set(source, reasons);
  }
  return [...bySource.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([source, reasons]) => `${source} (${[...reasons].join('; ')})`)
    .join(', ');
}

export function decideOutcome(report: Report): ActionOutcome {
  const { summary, policy } = report;
  const blocking = report.findings.filter((f) => f.effect === 'block' && f.outcome !== 'unavailable');
  const unavailableBlocking = report.findings.filter(
    (f) => f.effect === 'block' && f.outcome === 'unavailable',
  );
  const policyName = `policy "${policy.id}"`;

  if (report.exitCode === 1 || blocking.length > 0) {
    const rules = [...new Set(blocking.map((f) => f.rule))].sort().join(', ');
    let message = `${summary.blocked} of ${summary.checked} checked packages blocked by ${policyName} (${rules}): ${listSpecs(blocking)}. See the annotations and the job summary for how to pass.`;
    if (unavailableBlocking.length > 0) {
      message += ` Facts were also unavailable: ${describeUnavailableSources(unavailableBlocking)}.`;
    }
    return { failed: true, kind: 'blocked', message };
  }
  if (report.exitCode === 3 || unavailableBlocking.length > 0) {
    return {
      failed: true,
      kind: 'unavailable',
      message: `facts unavailable for ${listSpecs(unavailableBlocking)} and ${policyName} has onUnavailable: block. Failed sources: ${describeUnavailableSources(unavailableBlocking)}. Re-run when the source is back, or set onUnavailable to "alert".`,
    };
  }
  if (summary.alerts > 0 || summary.unavailable > 0) {
    const parts = [];
    if (summary.alerts > 0) parts.push(`${summary.alerts} alert${summary.alerts === 1 ? '' : 's'}`);
    if (summary.unavailable > 0) {
      const unavailable = report.findings.filter((f) => f.outcome === 'unavailable');
      parts.push(
        `${summary.unavailable} with facts unavailable${unavailable.length ? ` (${describeUnavailableSources(unavailable)})` : ''}`,
      );
    }
    return {
      failed: false,
      kind: 'alerts',
      message: `${summary.checked} packages checked against ${policyName}: ${parts.join(', ')}; nothing blocks.`,
    };
  }
  return {
    failed: false,
    kind: 'clean',
    message: `${summary.checked} packages checked against ${policyName}: no findings.`,
  };
}
