// The one engine: every adapter (CLI, Action, service, proxy) reaches a verdict through here.
import { evaluateCoolingOff } from './cooling-off.js';
import { blocklistFinding, evaluateLists } from './lists.js';
import { evaluateNotOnRegistry } from './not-on-registry.js';
import { evaluatePopularity } from './popularity.js';
import { applySecurityFastLane } from './security-fast-lane.js';
import { evaluateSuspiciousVersion } from './suspicious-version.js';
import type { Decision, Finding, GuardrailContext, Notice, Verdict } from './types.js';
import { evaluateTyposquatting } from './typosquatting.js';
import { evaluateVulnerabilities } from './vulnerabilities.js';

const SEVERITY: Record<Decision, number> = { allow: 0, alert: 1, block: 2 };

export function strongestDecision(findings: readonly Finding[]): Decision {
  let decision: Decision = 'allow';
  for (const f of findings) if (SEVERITY[f.effect] > SEVERITY[decision]) decision = f.effect;
  return decision;
}

/** Guardrails that judge the package as a whole; the same for every version. */
export function evaluatePackageLevel(ctx: GuardrailContext): Finding[] {
  return [...evaluateTyposquatting(ctx), ...evaluatePopularity(ctx)];
}

/** Guardrails that judge one version; their notices (allow-listed advisories) go to `notices`. */
export function evaluateVersionLevel(ctx: GuardrailContext, notices: Notice[] = []): Finding[] {
  const missing = evaluateNotOnRegistry(ctx);
  // A version that does not exist has no publish time or tag to judge: the one finding says it all.
  if (missing.length > 0) return missing;
  const vulnerabilities = evaluateVulnerabilities(ctx);
  notices.push(...vulnerabilities.notices);
  return [
    ...applySecurityFastLane(ctx, evaluateCoolingOff(ctx)),
    ...evaluateSuspiciousVersion(ctx),
    ...vulnerabilities.findings,
  ];
}

/**
 * The verdict for name@version. `packageFindings` lets a caller that evaluates many versions of one
 * package (the proxy) compute the package-level guardrails once; they must come from the same facts.
 */
export function evaluateVersion(ctx: GuardrailContext, packageFindings?: readonly Finding[]): Verdict {
  const lists = evaluateLists(ctx);
  const notices: Notice[] = [...lists.notices];
  const verdict = (findings: Finding[], allowedBy?: string): Verdict => {
    const v: Verdict = {
      name: ctx.name,
      version: ctx.version,
      decision: strongestDecision(findings),
      findings,
      notices,
    };
    if (allowedBy !== undefined) v.allowedBy = allowedBy;
    return v;
  };
  if (lists.blockedBy) return verdict([blocklistFinding(ctx, lists.blockedBy)]);
  if (lists.allowedBy) {
    const entry = lists.allowedBy;
    notices.push({
      name: ctx.name,
      version: ctx.version,
      kind: 'allowed-by-list',
      message: `allowed by "${entry.spec}"${entry.reason ? ` (${entry.reason})` : ''}${entry.expires ? `, until ${entry.expires}` : ''}`,
    });
    return verdict([], entry.spec);
  }
  if (ctx.facts.packageKnown?.status === 'ok' && !ctx.facts.packageKnown.value) {
    notices.push({
      name: ctx.name,
      version: ctx.version,
      kind: 'unknown-package',
      message: `${ctx.name} is unknown to the registry; only name-level guardrails were evaluated`,
    });
  }
  const shared = packageFindings?.map((f) =>
    f.version === ctx.version ? f : { ...f, version: ctx.version },
  );
  const findings = [...(shared ?? evaluatePackageLevel(ctx)), ...evaluateVersionLevel(ctx, notices)];
  return verdict(findings);
}
