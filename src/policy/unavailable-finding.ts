import type { Finding, GuardrailContext, Policy, RuleId } from './types.js';

/** A guardrail that could not decide: reported as unavailable, with the policy's onUnavailable as effect. */
export function unavailableFinding(
  ctx: Pick<GuardrailContext, 'name' | 'version'> & { policy: Pick<Policy, 'onUnavailable'> },
  rule: RuleId,
  scope: Finding['scope'],
  fact: { source: string; reason: string },
  what: string,
  /** Appended to the reason in the message (what was tried instead). */
  note = '',
): Finding {
  const effect = ctx.policy.onUnavailable;
  return {
    name: ctx.name,
    version: ctx.version,
    rule,
    outcome: 'unavailable',
    effect,
    scope,
    source: fact.source,
    // What could not be had and why, apart from the sentence: reports group outages by these.
    evidence: { fact: what, reason: fact.reason },
    message: `${what} unavailable: ${fact.reason}${note} (onUnavailable: ${effect})`,
    hint:
      effect === 'block'
        ? `retry when ${fact.source} is reachable, or add the package to allow with a reason`
        : `retry when ${fact.source} is reachable to get a verdict`,
  };
}

/**
 * Finding messages joined into one line (a refusal's reason): unavailable findings that share a
 * source, a reason and an effect become one sentence naming every fact they lack, instead of the
 * same outage repeated per guardrail; identical messages appear once.
 */
export function joinFindingMessages(findings: readonly Finding[]): string {
  const parts: string[] = [];
  const groups = new Map<string, { at: number; facts: string[]; reason: string; effect: string }>();
  for (const f of findings) {
    const fact = f.evidence?.fact;
    const reason = f.evidence?.reason;
    if (f.outcome === 'unavailable' && typeof fact === 'string' && typeof reason === 'string') {
      const key = `${f.source}\0${reason}\0${f.effect}`;
      const group = groups.get(key);
      if (group) {
        if (!group.facts.includes(fact)) group.facts.push(fact);
        continue;
      }
      groups.set(key, { at: parts.length, facts: [fact], reason, effect: f.effect });
    } else if (parts.includes(f.message)) continue;
    parts.push(f.message);
  }
  for (const g of groups.values()) {
    // One fact keeps its finding's own message (which may say what was tried instead).
    if (g.facts.length > 1)
      parts[g.at] = `${g.facts.join(', ')} unavailable: ${g.reason} (onUnavailable: ${g.effect})`;
  }
  return parts.join('; ');
}
