// Semver honesty on a set of verdicts: each update `name from → to` adds its findings to the
// verdict of `name@to`. One path for `lockwarden audit` with updates (the Action's inline mode)
// and the service's check API (the Action's service mode), so both give the same result.
import { strongestDecision } from '../policy/evaluate.js';
import type { Finding, Policy, Verdict } from '../policy/types.js';
import type { Sources } from '../sources/types.js';

export interface UpdateRef {
  name: string;
  from: string;
  to: string;
}

export async function addSemverFindings(
  verdicts: readonly Verdict[],
  refs: readonly { name: string; version: string | null }[],
  updates: readonly UpdateRef[],
  opts: { policy: Policy; sources: Pick<Sources, 'registry'>; cacheDir?: string },
): Promise<Verdict[]> {
  if (updates.length === 0 || opts.policy.semverHonesty === 'off') return [...verdicts];
  const { createSemverHonestyChecker } = await import('./check-semver-honesty.js');
  const checker = createSemverHonestyChecker({
    policy: opts.policy,
    sources: opts.sources,
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
  });
  // Only updates whose target is among the refs: a finding must land on a verdict.
  const targets = new Set(refs.map((r) => `${r.name}@${r.version}`));
  const judged = updates.filter((u) => targets.has(`${u.name}@${u.to}`));
  const found = await checker.checkMany(judged);
  const byTarget = new Map<string, Finding[]>();
  judged.forEach((u, i) => {
    const key = `${u.name}@${u.to}`;
    byTarget.set(key, [...(byTarget.get(key) ?? []), ...found[i]!]);
  });
  return verdicts.map((v, i) => {
    const ref = refs[i]!;
    const extra = byTarget.get(`${ref.name}@${ref.version}`);
    // An allow entry bypasses every guardrail; a blocked package is already decided.
    if (!extra || extra.length === 0 || v.allowedBy !== undefined) return v;
    const findings = [...v.findings, ...extra];
    return { ...v, findings, decision: strongestDecision(findings) };
  });
}
