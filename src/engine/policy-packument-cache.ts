// Arborist asks pacote for packuments, and pacote first consults `packumentCache` (keyed
// `corgi:<registry>/<escaped name>`). This object answers every such lookup itself: the packument
// comes through lockwarden's registry source (its HTTP layer, credentials and disk cache), goes
// through the same evaluatePackument as the proxy, and Arborist only ever sees the versions the
// policy allows. Nothing is served over a socket and no document is serialized again.
import { filterPackument } from '../policy/filter-packument.js';
import type { Finding, Policy, PopularIndex } from '../policy/types.js';
import { selectUpdateCandidates } from '../policy/update-candidates.js';
import type { Packument, Sources } from '../sources/types.js';
import { evaluatePackument, type PackumentEvaluation } from './evaluate-packument.js';
import { abbreviatedIsEnough, factNeeds } from './gather-facts.js';

export interface PolicyPackumentContext {
  policy: Policy;
  sources: Sources;
  now: Date;
  popular: PopularIndex;
  /** Versions pinned before the update, per name (kept visible unless blocked). */
  pinned: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface PackumentDecision {
  name: string;
  /** What Arborist sees. */
  filtered: Packument;
  hidden: Map<string, Finding>;
  /** The engine's verdicts on the upstream document (bundled copies are judged by them). */
  evaluation: PackumentEvaluation;
}

/** Thrown into Arborist when a packument cannot be had; the update reports it and writes nothing. */
export class PackumentUnavailableError extends Error {
  readonly code: string;
  constructor(
    readonly packageName: string,
    readonly reason: string,
    readonly notFound: boolean,
  ) {
    super(notFound ? `the registry does not know ${packageName}` : `${packageName}: ${reason}`);
    // pacote and Arborist treat E404 as "no such package" (optional dependencies may be dropped).
    this.code = notFound ? 'E404' : 'ELOCKWARDENUNAVAILABLE';
  }
}

export interface PolicyPackumentCache {
  has(key: string): boolean;
  get(key: string): Promise<Packument> | undefined;
  set(key: string, value: unknown): void;
  delete(key: string): void;
  /** The decision for one name, fetching and evaluating it once. */
  decide(name: string): Promise<PackumentDecision>;
  /** Every decision made so far (settled ones only). */
  decisions(): Map<string, PackumentDecision>;
  /** Names whose packument could not be had, with why. */
  failures(): Map<string, PackumentUnavailableError>;
  /** Hides one more version of an already decided name (a finding made after resolution). */
  veto(name: string, version: string, finding: Finding): void;
}

export function createPolicyPackumentCache(
  /**
   * The registry, and the `@scope:registry` ones Arborist is told about: pacote keys a scoped
   * package by its scope's registry, and a key this cache did not answer would be fetched by
   * pacote itself, past the policy.
   */
  registryUrls: string | readonly string[],
  ctx: PolicyPackumentContext,
): PolicyPackumentCache {
  // pacote strips trailing slashes from the registry before appending the escaped name.
  const prefixes = [registryUrls].flat().map((u) => `${u.replace(/\/+$/, '')}/`);
  const pending = new Map<string, Promise<PackumentDecision>>();
  const settled = new Map<string, PackumentDecision>();
  const failed = new Map<string, PackumentUnavailableError>();
  const needs = factNeeds(ctx.policy);

  const nameOf = (key: string): string | undefined => {
    const m = /^(?:corgi|full):(.*)$/.exec(key);
    const prefix = prefixes.find((p) => m?.[1]?.startsWith(p));
    if (!m?.[1] || prefix === undefined) return undefined;
    try {
      return decodeURIComponent(m[1].slice(prefix.length));
    } catch {
      return undefined;
    }
  };

  const decide = (name: string): Promise<PackumentDecision> => {
    let p = pending.get(name);
    if (!p) {
      p = load(name);
      pending.set(name, p);
      p.then(
        (d) => settled.set(name, d),
        (err) => {
          if (err instanceof PackumentUnavailableError) failed.set(name, err);
        },
      );
    }
    return p;
  };

  async function load(name: string): Promise<PackumentDecision> {
    // As in audit: the small abbreviated document first, the full one (with publish times) only
    // when something may have been published inside the cooling-off window.
    let result = await ctx.sources.registry.getPackument(name, { full: false });
    if (
      result.status === 'ok' &&
      needs.times &&
      !abbreviatedIsEnough(result.packument, ctx.policy, ctx.now)
    ) {
      result = await ctx.sources.registry.getPackument(name, { full: true });
    }
    if (result.status === 'not-found') throw new PackumentUnavailableError(name, 'not found', true);
    if (result.status === 'unavailable')
      throw new PackumentUnavailableError(name, `${result.source}: ${result.reason}`, false);
    const upstream = result.packument;
    const evaluation = await evaluatePackument(upstream, {
      policy: ctx.policy,
      sources: ctx.sources,
      now: ctx.now,
      popular: ctx.popular,
      name,
    });
    const { keep, hidden } = selectUpdateCandidates(evaluation.versions, ctx.pinned.get(name));
    const { packument } = filterPackument(upstream, { keep: (v) => keep.has(v) });
    return { name, filtered: plain(packument), hidden, evaluation };
  }

  return {
    has: (key) => nameOf(key) !== undefined,
    get: (key) => {
      const name = nameOf(key);
      return name === undefined ? undefined : decide(name).then((d) => d.filtered);
    },
    // pacote stores what it fetched itself; nothing it fetches is kept here.
    set: () => {},
    delete: () => {},
    decide,
    decisions: () => settled,
    failures: () => failed,
    veto(name, version, finding) {
      const d = settled.get(name);
      if (!d) return;
      d.hidden.set(version, finding);
      d.filtered = plain(filterPackument(d.filtered, { keep: (v) => v !== version }).packument);
    },
  };
}

/** pacote reads these documents with ordinary property access; give it ordinary objects. */
function plain(packument: Packument): Packument {
  return {
    ...packument,
    versions: { ...packument.versions },
    ...(packument['dist-tags'] ? { 'dist-tags': { ...packument['dist-tags'] } } : {}),
    ...(packument.time ? { time: { ...packument.time } } : {}),
  };
}
