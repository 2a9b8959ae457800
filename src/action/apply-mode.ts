// The `mode: alert` input: a dry run that lays `action: alert` over the policy. It never upgrades,
// and like `action: alert` in the file it leaves the block list and `onUnavailable` alone: those
// are explicit decisions of the policy author.
import { strongestDecision } from '../policy/evaluate.js';
import type { Policy, Verdict } from '../policy/types.js';

export function applyModeToPolicy<P extends Pick<Policy, 'action'>>(policy: P, mode: 'alert' | undefined): P {
  return mode === 'alert' && policy.action !== 'alert' ? { ...policy, action: 'alert' } : policy;
}

/**
 * The same override for verdicts a service computed under its own policy (service mode): what
 * the engine yields for the policy with `action: alert`. Guardrail blocks become alerts; block
 * list findings and unavailable facts keep their effect.
 */
export function applyModeToVerdicts(verdicts: readonly Verdict[], mode: 'alert' | undefined): Verdict[] {
  if (mode !== 'alert') return [...verdicts];
  return verdicts.map((v) => {
    if (!v.findings.some((f) => f.outcome === 'block' && f.rule !== 'blocklist')) return v;
    const findings = v.findings.map((f) =>
      f.outcome === 'block' && f.rule !== 'blocklist'
        ? { ...f, outcome: 'alert' as const, effect: 'alert' as const }
        : f,
    );
    return { ...v, findings, decision: strongestDecision(findings) };
  });
}
