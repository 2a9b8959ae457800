// The typosquatting guardrail: one finding naming the popular package a name imitates, found by
// findLookalike (find-lookalike.ts) against the embedded list, never against live downloads.
import { FAIR_SHARE_RATIO, findLookalike } from './find-lookalike.js';
import { humanizeCount } from './humanize-count.js';
import { establishment } from './name-history.js';
import { isPopularNameIndex, type PopularNameIndex, weeklyFromMonthly } from './popular-index.js';
import type { Finding, GuardrailContext, Policy, PopularIndex } from './types.js';

/**
 * The context's index as one the search can use. createPopularIndex's can be walked; a bare
 * PopularIndex (a test fake) still answers exact lookups, which every rule but the word,
 * scope and letter-case refinements needs.
 */
function asNameIndex(popular: PopularIndex): PopularNameIndex {
  if (isPopularNameIndex(popular)) return popular;
  const cached = bareIndexCache.get(popular);
  if (cached) return cached;
  const wrapped: PopularNameIndex = {
    asOf: popular.asOf,
    size: 0,
    monthlyDownloads: (name) => popular.monthlyDownloads(name),
    has: (name) => popular.monthlyDownloads(name) !== undefined,
    names: () => [],
  };
  bareIndexCache.set(popular, wrapped);
  return wrapped;
}

const bareIndexCache = new WeakMap<PopularIndex, PopularNameIndex>();

/**
 * findLookalike per name and index, remembered: the engine asks it for each name before fetching
 * (typosquattingNeedsHistory) and the guardrail again when evaluating; the search took 0.4-0.5 s
 * of a cold 2,000-package audit's CPU profile on the loaded benchmark machine, half of it the
 * repeat. Bounded, since a proxy sees an open set of names.
 */
const lookalikes = new WeakMap<PopularNameIndex, Map<string, ReturnType<typeof findLookalike>>>();
const MAX_REMEMBERED = 20_000;

function lookalikeOf(name: string, index: PopularNameIndex): ReturnType<typeof findLookalike> {
  let known = lookalikes.get(index);
  if (!known) {
    known = new Map();
    lookalikes.set(index, known);
  }
  const hit = known.get(name);
  if (hit !== undefined) return hit;
  const found = findLookalike(name, index);
  if (known.size >= MAX_REMEMBERED) known.clear();
  known.set(name, found);
  return found;
}

/**
 * Whether the guardrail flags `name` on the name alone: the engine then reads the name's packument
 * so that its history (nameHistory) can clear an established package in every adapter alike.
 */
export function typosquattingNeedsHistory(policy: Policy, name: string, popular: PopularIndex): boolean {
  return policy.typosquatting && lookalikeOf(name, asNameIndex(popular)) !== null;
}

/** The typosquatting guardrail: at most one finding, naming the package the name imitates. */
export function evaluateTyposquatting(ctx: GuardrailContext): Finding[] {
  if (!ctx.policy.typosquatting) return [];
  // Siblings are told apart from squats by the embedded list's figures only, never by live
  // download counts: those are cheap to inflate, and the verdict must not depend on whether the
  // popularity rule happened to fetch them.
  const index = asNameIndex(ctx.popular);
  const lookalike = lookalikeOf(ctx.name, index);
  if (!lookalike) return [];
  const listed = index.monthlyDownloads(ctx.name);
  const candidateWeekly = listed === undefined ? undefined : weeklyFromMonthly(listed);

  // A name published years ago with a long release history is an established package that happens
  // to look like a popular one, not a fresh squat (thresholds in name-history.ts). Without that
  // evidence (no document, an outage, an abbreviated one) the finding stands: never a silent pass.
  const history = ctx.facts.nameHistory;
  const standing = history?.status === 'ok' ? establishment(history.value, ctx.now) : undefined;
  if (standing?.established) return [];
  const historyEvidence =
    history === undefined
      ? 'not read'
      : history.status === 'unavailable'
        ? `unavailable (${history.source}: ${history.reason})`
        : {
            firstPublished: history.value.firstPublished,
            versions: history.value.versionCount,
            spreadDays: standing!.spreadDays,
            shortOf: standing!.shortOf,
          };

  const targetWeekly = weeklyFromMonthly(lookalike.targetMonthlyDownloads);
  const { name } = ctx;
  const { target, technique } = lookalike;
  const action = ctx.policy.action;
  return [
    {
      name,
      version: ctx.version,
      rule: 'typosquatting',
      outcome: action,
      effect: action,
      scope: 'package',
      message: `${name} looks like ${target} (${humanizeCount(targetWeekly)} weekly downloads): ${technique}`,
      hint: `if you meant ${target}, fix the name; if ${name} is intended, add it to allow with a reason`,
      // The weekly downloads that would make the name a sibling of the target, not a squat.
      threshold: Math.ceil(targetWeekly * FAIR_SHARE_RATIO),
      observed: candidateWeekly ?? null,
      target,
      evidence: {
        technique,
        targetWeeklyDownloads: targetWeekly,
        candidateWeeklyDownloads: candidateWeekly ?? null,
        history: historyEvidence,
      },
    },
  ];
}
