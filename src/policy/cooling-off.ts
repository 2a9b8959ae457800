// cooling-off: a version must have been public for `coolingOffDays` before it is used, so that
// the community (and the registry's malware scanning) has had a chance to look at it.
import { DAY_MS, formatAge, isoDate, parsePublishTime, spec } from './format.js';
import type { Finding, GuardrailContext } from './types.js';
import { unavailableFinding } from './unavailable-finding.js';

export function evaluateCoolingOff(ctx: GuardrailContext): Finding[] {
  const { policy, facts, now, name, version } = ctx;
  if (policy.coolingOffDays <= 0 || version === null) return [];
  const fact = facts.publishedAt;
  if (!fact) return [];
  if (fact.status === 'unavailable')
    return [unavailableFinding(ctx, 'cooling-off', 'version', fact, 'publish time')];
  if (fact.value === null) {
    return [
      unavailableFinding(
        ctx,
        'cooling-off',
        'version',
        { source: 'registry', reason: `the packument has no publish time for ${spec(name, version)}` },
        'publish time',
      ),
    ];
  }
  const published = parsePublishTime(fact.value);
  if (published === null) {
    return [
      unavailableFinding(
        ctx,
        'cooling-off',
        'version',
        { source: 'registry', reason: `unparseable publish time ${JSON.stringify(fact.value.slice(0, 40))}` },
        'publish time',
      ),
    ];
  }
  const thresholdMs = policy.coolingOffDays * DAY_MS;
  const ageMs = Math.max(0, now.getTime() - published);
  if (ageMs >= thresholdMs) return [];
  // An upper bound (an abbreviated document's `modified`) proves age but never youth: without the
  // exact time the version may be young or old, which is unavailable, not a pass.
  if (facts.publishedAtIsUpperBound) {
    return [
      unavailableFinding(
        ctx,
        'cooling-off',
        'version',
        {
          source: 'registry',
          reason: `only the document's last modification (${fact.value}) is known, not when ${spec(name, version)} was published`,
        },
        'publish time',
      ),
    ];
  }
  const passesAt = published + thresholdMs;
  // Within two days the date alone is too coarse to act on: add the UTC time.
  const passesOn =
    passesAt - now.getTime() < 2 * DAY_MS
      ? `${isoDate(passesAt)} ${new Date(passesAt).toISOString().slice(11, 16)} UTC`
      : isoDate(passesAt);
  const ageDays = Math.round((ageMs / DAY_MS) * 100) / 100;
  return [
    {
      name,
      version,
      rule: 'cooling-off',
      outcome: policy.action,
      effect: policy.action,
      scope: 'version',
      threshold: policy.coolingOffDays,
      observed: ageDays,
      message: `${spec(name, version)} was published ${formatAge(ageMs)} ago (cooling-off ${policy.coolingOffDays} days); it passes on ${passesOn}`,
      hint: `wait until ${passesOn}, pin an older version, or add "${name}@${version}" to allow with a reason`,
      evidence: {
        publishedAt: new Date(published).toISOString(),
        passesAt: new Date(passesAt).toISOString(),
      },
    },
  ];
}
