// popularity: a package almost nobody downloads gets no scrutiny from anybody else; require a floor.
import { formatInteger } from './format.js';
import type { Finding, GuardrailContext } from './types.js';
import { unavailableFinding } from './unavailable-finding.js';

export function evaluatePopularity(ctx: GuardrailContext): Finding[] {
  const { policy, facts, name, version } = ctx;
  const min = policy.minWeeklyDownloads;
  if (min <= 0) return [];
  const fact = facts.weeklyDownloads;
  if (!fact) return [];
  if (fact.status === 'unavailable') {
    // Popular names fall back to the embedded list when the downloads API fails (their figure is
    // then marked as a snapshot): say that this one could not.
    const fallback =
      ctx.popular.monthlyDownloads(name) === undefined
        ? `; ${name} is not on the embedded list of popular packages (${ctx.popular.asOf}) to fall back on`
        : '';
    return [unavailableFinding(ctx, 'popularity', 'package', fact, 'weekly downloads', fallback)];
  }
  const { count, origin, asOf } = fact.value;
  if (count >= min) return [];
  const where =
    origin === 'snapshot'
      ? ` (embedded snapshot of ${asOf ?? 'unknown date'}; the downloads API was unreachable)`
      : '';
  return [
    {
      name,
      version,
      rule: 'popularity',
      outcome: policy.action,
      effect: policy.action,
      scope: 'package',
      threshold: min,
      observed: count,
      message: `${name} has ${formatInteger(count)} download${count === 1 ? '' : 's'} in the last 7 days${where}; the policy requires at least ${formatInteger(min)}`,
      hint: `check that ${name} is the package you mean; if it is, add it to allow with a reason`,
      evidence: { origin, ...(asOf ? { asOf } : {}) },
    },
  ];
}
