// Which versions `lockwarden update` may move a pin to, decided from the same verdicts `audit` and
// the proxy use. Pure: the caller gathers the verdicts and the pins.
import { formatAge, isoDate } from './format.js';
import type { Finding, Verdict } from './types.js';

export interface UpdateCandidates {
  /** Versions a resolver may pick. */
  keep: Set<string>;
  /** Hidden versions and the finding that hid each (the strongest one). */
  hidden: Map<string, Finding>;
}

/**
 * A version is a candidate unless `audit` would block it, or the policy flags that version itself
 * (an alert on the version: a young release, a missing tag): moving a pin onto a flagged version
 * trades a clean build for a warning. Alerts on the whole package (popularity) say nothing about
 * which version is better, so they hide nothing. A version already pinned stays a candidate unless
 * it is blocked: an update never forces a pin off a version that audit merely alerts about.
 */
export function selectUpdateCandidates(
  verdicts: ReadonlyMap<string, Verdict>,
  pinned: ReadonlySet<string> = new Set(),
): UpdateCandidates {
  const keep = new Set<string>();
  const hidden = new Map<string, Finding>();
  for (const [version, verdict] of verdicts) {
    const blocking = verdict.findings.find((f) => f.effect === 'block');
    const flagged = verdict.findings.find((f) => f.effect === 'alert' && f.scope === 'version');
    const reason = blocking ?? (pinned.has(version) ? undefined : flagged);
    if (reason) hidden.set(version, reason);
    else keep.add(version);
  }
  return { keep, hidden };
}

/**
 * The short reason a version was skipped, led by the rule:
 * `cooling-off (published 2 days ago; passes on 2026-12-09)`.
 */
export function describeSkip(finding: Finding, now: Date): string {
  const evidence = finding.evidence ?? {};
  if (finding.rule === 'cooling-off' && finding.outcome !== 'unavailable') {
    const published = Date.parse(String(evidence.publishedAt));
    const passes = Date.parse(String(evidence.passesAt));
    if (!Number.isNaN(published) && !Number.isNaN(passes)) {
      return `cooling-off (published ${formatAge(Math.max(0, now.getTime() - published))} ago; passes on ${isoDate(passes)})`;
    }
  }
  // Other rules' messages already say what was observed; drop the repeated `name@version` lead.
  const lead = finding.version === null ? finding.name : `${finding.name}@${finding.version}`;
  const message = finding.message.startsWith(`${lead} `)
    ? finding.message.slice(lead.length + 1)
    : finding.message;
  return `${finding.rule} (${message})`;
}
