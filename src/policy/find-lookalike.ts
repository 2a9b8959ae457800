// Typosquatting: does a name that is not popular look like one that is? Every rule here is a
// transformation seen in real npm attacks (crossenv, electorn, jquery.js, @acitons/artifact,
// rnocha...). The targets are the embedded popular list, so the check needs no network.
//
// False positives are the cost to watch: a flagged name blocks an install. So a candidate that
// is itself on the list, or that has a fair share of the target's downloads, is never a squat;
// short names, which collide by chance, only match by the structural rules; and a "typo" that
// turns one word into another word of popular names is read as a different name.
//
// The search runs from the candidate: it spells out the variants an attacker would have
// derived from a popular name and looks each up in the index, about 1,200 lookups a name.
// That suits `lockwarden check` (no tables to build), but an audit or the proxy checks
// thousands of names, where it cost about a second. So once an index has checked a few dozen
// names it builds hash tables over the list (a few milliseconds), and the costly rules (one
// edit, separators, scope edits, unscoped copies, word order) first ask them which listed
// names are within reach. The tables only narrow the search: every hit is still a variant the
// rule spells out, found by the same lookup and reported in the same order, so the verdicts
// are the rules' own (the tests compare them with the plain search, `spellOut`, name for name).
import { type Hit, scopedHits, unscopedHits } from './lookalike-rules.js';
import { type SearchIndex, searchIndex, splitScoped } from './lookalike-search.js';
import { nameWords } from './lookalike-variants.js';
import { type PopularNameIndex, weeklyFromMonthly } from './popular-index.js';

export interface Lookalike {
  /** The popular package the name imitates. */
  target: string;
  targetMonthlyDownloads: number;
  /** Short human phrase: `one character omitted`, `homoglyph rn/m`, `scope squat`... */
  technique: string;
}

export interface FindLookalikeOptions {
  /** The candidate's own weekly downloads, when known; a fair share of the target's clears it. */
  candidateWeeklyDownloads?: number;
  /**
   * Look for a target even when the candidate is on the list (it is never its own target),
   * taking its listed downloads as its own. Only for measuring the rules against the list.
   */
  includePopular?: boolean;
  /**
   * Spell every variant out instead of asking the hash tables which listed names are near.
   * Slower, same verdicts: only for proving that the tables change none.
   */
  spellOut?: boolean;
}

/**
 * A candidate with at least this share of the target's downloads is a sibling, not a squat.
 * Typing mistakes bring a squat well under a thousandth of its target's traffic; real
 * alternatives with look-alike names (preact/react 15%, safer-buffer/safe-buffer 40%,
 * chai/chalk 11%) sit far above 2%, and inflating downloads to 2% of a popular package costs
 * an attacker tens of thousands of fake downloads a week at the very least.
 */
export const FAIR_SHARE_RATIO = 0.02;

/** npm refuses longer names; anything longer is not worth spelling out variants for. */
const MAX_NAME_LENGTH = 214;

/**
 * Whether the words that differ between candidate and target are words that other popular
 * names use (`notion-utils` vs `motion-utils`, `is-blob` vs `is-glob`): then the name says
 * something else rather than misspelling the target.
 */
function changesToKnownWord(
  candidate: string,
  target: string,
  search: SearchIndex,
  candidateIsListed: boolean,
): boolean {
  const candidateWords = nameWords(candidate);
  const targetWords = nameWords(target);
  if (candidateWords.length !== targetWords.length) return false;
  const changed = candidateWords.filter((word, i) => word !== targetWords[i]);
  if (changed.length === 0) return false;
  // In a name of several words, a word cut short or run on (`body-parse`, `rpc-websocket`) is
  // the same word misspelled, however many names use the shorter one.
  if (candidateWords.length >= 2) {
    const truncated = candidateWords.some((word, i) => {
      const was = targetWords[i]!;
      return (
        word !== was &&
        Math.min(word.length, was.length) >= 4 &&
        (was.startsWith(word) || word.startsWith(was))
      );
    });
    if (truncated) return false;
  }
  return changed.every((word) => {
    // A listed candidate must not vouch for itself.
    const own = candidateIsListed ? candidateWords.filter((w) => w === word).length : 0;
    return search.wordUses(word) - own > 0;
  });
}

/**
 * The popular package `name` imitates, or null. Never the name itself, never a name with a
 * fair share of the target's downloads (see FAIR_SHARE_RATIO).
 */
export function findLookalike(
  name: string,
  index: PopularNameIndex,
  options: FindLookalikeOptions = {},
): Lookalike | null {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) return null;
  const listed = index.has(name);
  if (listed && !options.includePopular) return null;
  const search = searchIndex(index, options.spellOut === true);
  search.startCandidate();

  const scoped = splitScoped(name);
  let hits: Hit[];
  if (scoped) hits = scopedHits(scoped.scope, scoped.tail, search);
  else if (name.startsWith('@') || name.includes('/')) hits = [];
  else hits = unscopedHits(name, search);

  const candidateWeekly =
    options.candidateWeeklyDownloads ??
    (listed ? weeklyFromMonthly(index.monthlyDownloads(name) ?? 0) : undefined);
  let best: (Hit & { monthly: number; score: number }) | null = null;
  for (const hit of hits) {
    if (hit.target === name) continue;
    const monthly = index.monthlyDownloads(hit.target);
    if (monthly === undefined) continue;
    if (candidateWeekly !== undefined && candidateWeekly >= weeklyFromMonthly(monthly) * FAIR_SHARE_RATIO)
      continue;
    if (hit.minTargetMonthly !== undefined && monthly < hit.minTargetMonthly) continue;
    // Stronger evidence first, but a target ten times as popular outweighs one tier: `reakt` is
    // a mistyped `react`, not a shortened `reakit`.
    const score = hit.tier - Math.log10(Math.max(monthly, 1));
    if (best && score >= best.score) continue;
    if (hit.spelling && changesToKnownWord(name, hit.target, search, listed)) continue;
    best = { ...hit, monthly, score };
  }
  if (!best) return null;
  // Asked last, since most names match nothing: the wider list is decoded on first use.
  if (!listed && index.isEstablished?.(name)) return null;
  return { target: best.target, targetMonthlyDownloads: best.monthly, technique: best.technique };
}
