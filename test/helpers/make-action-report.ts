// Builders for the Action's unit tests: findings, verdicts and reports through the real
// `buildReport`, so renderers are tested on what the engine actually produces.
import { buildReport, type Report } from '../../src/engine/report.js';
import type { LockfileEntry } from '../../src/lockfile/lockfile-inventory.js';
import type { Finding, Policy, Verdict } from '../../src/policy/types.js';
import { makePolicy, NOW } from './make-policy.js';

export function makeFinding(partial: Partial<Finding> = {}): Finding {
  const outcome = partial.outcome ?? 'block';
  return {
    name: 'left-pad',
    version: '1.3.1',
    rule: 'cooling-off',
    outcome,
    effect: outcome === 'unavailable' ? 'alert' : outcome,
    scope: 'version',
    message: 'left-pad@1.3.1 was published 2 days ago (cooling-off 7 days)',
    hint: 'it passes on 2026-11-27, or add it to allow with a reason',
    ...partial,
  };
}

export function makeEntry(
  name: string,
  version: string,
  lines: number[] = [10],
  file = 'package-lock.json',
): LockfileEntry {
  return {
    name,
    version,
    locations: lines.map((line, i) => ({
      file,
      line,
      key: i === 0 ? `node_modules/${name}` : `node_modules/x${i}/node_modules/${name}`,
    })),
    path: ['app', name],
    dev: false,
    optional: false,
    peer: false,
    bundled: false,
  };
}

export interface ReportRow {
  entry: LockfileEntry;
  findings?: Partial<Finding>[];
}

/** One verdict per row; each finding gets the row's name and version. */
export function makeReport(rows: ReportRow[], policy: Policy = makePolicy()): Report {
  const verdicts: Verdict[] = rows.map(({ entry, findings = [] }) => {
    const fs = findings.map((f) => makeFinding({ name: entry.name, version: entry.version, ...f }));
    const severity = { allow: 0, alert: 1, block: 2 } as const;
    const decision = fs.reduce<Verdict['decision']>(
      (d, f) => (severity[f.effect] > severity[d] ? f.effect : d),
      'allow',
    );
    return { name: entry.name, version: entry.version, decision, findings: fs, notices: [] };
  });
  return buildReport({ verdicts, policy, now: NOW, entries: rows.map((r) => r.entry) });
}
