// not-on-registry: a pinned version the registry answers for and does not have. That is a fact,
// not an outage: the version was unpublished, or the lockfile was edited to point at something
// that never existed (tampering, a broken merge). Either way nothing vouches for what would be
// installed, so it counts like any other violation of the policy.
import { spec } from './format.js';
import type { Finding, GuardrailContext } from './types.js';
import { unavailableFinding } from './unavailable-finding.js';

export function evaluateNotOnRegistry(ctx: GuardrailContext): Finding[] {
  const { facts, policy, name, version } = ctx;
  if (version === null) {
    // A ref with no version (`lockwarden check left-pad`) is the latest version: when the registry
    // could not be asked, nothing was evaluated, and that must not read as a pass.
    const known = facts.packageKnown;
    if (known?.status === 'unavailable')
      return [unavailableFinding(ctx, 'not-on-registry', 'version', known, 'latest version')];
    return [];
  }
  const known = facts.versionKnown;
  if (known?.status !== 'ok' || known.value || facts.bundled) return [];
  const packageMissing = facts.packageKnown?.status === 'ok' && !facts.packageKnown.value;
  return [
    {
      name,
      version,
      rule: 'not-on-registry',
      outcome: policy.action,
      effect: policy.action,
      scope: 'version',
      observed: packageMissing ? 'package not found' : 'version not found',
      message: `${spec(name, version)} is not on the registry: unpublished, or the lockfile was edited${packageMissing ? ` (the registry does not know ${name} at all)` : ''}`,
      hint: `pin a version the registry has (npm install ${name}@<version>), or check where the lockfile entry came from`,
    },
  ];
}
