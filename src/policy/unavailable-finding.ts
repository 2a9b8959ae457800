import type { Finding, GuardrailContext, RuleId } from './types.js';

/** A guardrail that could not decide: reported as unavailable, with the policy's onUnavailable as effect. */
export function unavailableFinding(
  ctx: GuardrailContext,
  rule: RuleId,
  scope: Finding['scope'],
  fact: { source: string; reason: string },
  what: string,
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
    message: `${what} unavailable: ${fact.reason} (onUnavailable: ${effect})`,
    hint:
      effect === 'block'
        ? `retry when ${fact.source} is reachable, or add the package to allow with a reason`
        : `retry when ${fact.source} is reachable to get a verdict`,
  };
}
