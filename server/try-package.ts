// "Try a package" in the console: what `npm install <name>[@<version|tag|range>]` through a policy
// would get, read from the same package cache and engine verdicts the registry routes serve from
// (so the answer is the install's, not a second evaluation). Nothing is written to the audit log:
// it is a preview, not an install.
import npa from 'npm-package-arg';
import semver from 'semver';
import type { Finding, Verdict } from '../src/policy/types.js';
import { blockMessage, servedView } from './evaluate-package-state.js';
import { HttpError } from './http-error.js';
import type { PackageCache } from './package-cache.js';
import type { StoredPolicy } from './policy-store.js';

export type TryOutcome = 'allowed' | 'alert' | 'blocked' | 'not-found' | 'unavailable';

export interface TryResult {
  policy: { id: string; action: 'block' | 'alert' };
  name: string;
  /** What was asked for after the name: a version, tag or range (`latest` when omitted). */
  spec: string;
  outcome: TryOutcome;
  /** The HTTP status the install would get for it. */
  status: number;
  /** The version the install would get or is refused (null for a package-level answer). */
  version: string | null;
  message: string;
  /** Findings with their hints (how to get past them). */
  findings: Finding[];
  /** Versions the policy hides from this package. */
  hiddenVersions: number;
  /** From a copy kept while the upstream fails: why. */
  stale: string | null;
}

/** Parses `name[@spec]`: a registry name with a version, dist-tag or range. */
export function parseTrySpec(input: string): {
  name: string;
  spec: string;
  type: 'version' | 'tag' | 'range';
} {
  const text = input.trim();
  let parsed: ReturnType<typeof npa>;
  try {
    parsed = npa(text);
  } catch (err) {
    throw new HttpError(
      400,
      `package: ${JSON.stringify(text)} is not a package spec: ${(err as Error).message}`,
    );
  }
  if (!parsed.name || (parsed.type !== 'version' && parsed.type !== 'tag' && parsed.type !== 'range')) {
    throw new HttpError(
      400,
      `package: expected name[@version|tag|range] of a registry package, got ${JSON.stringify(text)}`,
    );
  }
  return {
    name: parsed.name,
    spec: parsed.rawSpec === '' ? 'latest' : (parsed.fetchSpec ?? parsed.rawSpec),
    type: parsed.type,
  };
}

export async function tryPackage(
  packages: PackageCache,
  stored: StoredPolicy,
  input: string,
): Promise<TryResult> {
  const { name, spec, type } = parseTrySpec(input);
  const { state, staleReason } = await packages.lookup(stored, name);
  const base = {
    policy: { id: stored.policy.id, action: stored.policy.action },
    name,
    spec,
    stale: staleReason,
    hiddenVersions: state.kind === 'ok' ? state.hidden.size : 0,
  };
  if (state.kind === 'refused')
    return {
      ...base,
      outcome: 'blocked',
      status: 403,
      version: null,
      message: state.message,
      findings: state.findings,
    };
  if (state.kind === 'not-found')
    return {
      ...base,
      outcome: 'not-found',
      status: 404,
      version: null,
      message: `${name} is not in the upstream registry`,
      findings: [],
    };
  if (state.kind === 'unavailable')
    return {
      ...base,
      outcome: 'unavailable',
      status: state.status,
      version: null,
      message: state.message,
      findings: [],
    };

  const view = servedView(state);
  const refused = (verdict: Verdict): TryResult => ({
    ...base,
    outcome: 'blocked',
    status: 403,
    version: verdict.version,
    message: blockMessage(verdict, stored),
    findings: verdict.findings.filter((f) => f.effect !== 'allow'),
  });
  const served = (version: string): TryResult => {
    const verdict = state.evaluation.versions.get(version);
    const findings = (verdict?.findings ?? []).filter((f) => f.effect !== 'allow');
    const alerts = findings.filter((f) => f.effect === 'alert');
    return {
      ...base,
      outcome: alerts.length > 0 ? 'alert' : 'allowed',
      status: 200,
      version,
      message:
        alerts.length > 0
          ? `${name}@${version} is served and its download is logged as an alert: ${alerts.map((f) => f.message).join('; ')}`
          : `${name}@${version} is served${verdict?.allowedBy ? ` (allowed by "${verdict.allowedBy}")` : ''}`,
      findings,
    };
  };

  if (type === 'tag') {
    const target = view.distTags[spec];
    if (target !== undefined) return served(target);
    // As the registry routes answer: a tag whose every allowed target is hidden is refused with
    // the reason of the version it names upstream.
    const upstream = state.packument['dist-tags']?.[spec];
    const hidden = upstream === undefined ? undefined : state.hidden.get(upstream);
    if (hidden) return refused(hidden);
    return {
      ...base,
      outcome: 'not-found',
      status: 404,
      version: null,
      message: `${name} has no dist-tag "${spec}"`,
      findings: [],
    };
  }
  if (type === 'version') {
    const hidden = state.hidden.get(spec);
    if (hidden) return refused(hidden);
    if (Object.hasOwn(state.packument.versions, spec)) return served(spec);
    return {
      ...base,
      outcome: 'not-found',
      status: 404,
      version: spec,
      message: `${name} has no version ${spec}`,
      findings: [],
    };
  }
  // A range: npm takes the highest served version that satisfies it.
  const best = semver.maxSatisfying(view.versions, spec, { loose: true });
  if (best !== null) return served(best);
  const hiddenMatch = [...state.hidden.keys()]
    .filter((v) => semver.satisfies(v, spec, { loose: true }))
    .sort((a, b) => semver.rcompare(a, b, true))[0];
  if (hiddenMatch) {
    const result = refused(state.hidden.get(hiddenMatch)!);
    return {
      ...result,
      status: 404,
      message: `no served version of ${name} matches ${spec} (npm fails with ETARGET); the newest match is hidden: ${result.message}`,
    };
  }
  return {
    ...base,
    outcome: 'not-found',
    status: 404,
    version: null,
    message: `${name} has no version matching ${spec}`,
    findings: [],
  };
}
