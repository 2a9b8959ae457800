// The typosquatting rules: each turns a candidate name into the listed names it may imitate
// (hits), with the technique and how strong that evidence is (its tier). find-lookalike.ts
// picks the best hit and applies the checks that clear a name.
import type { SearchIndex } from './lookalike-search.js';
import {
  DIGIT,
  digitRowAdjacent,
  homoglyphVariants,
  keyboardAdjacent,
  PREFIX_AFFIXES,
  permutations,
  SEPARATOR_CHARS,
  SEPARATORS,
  SQUAT_WORDS,
  SUFFIX_AFFIXES,
  separatorVariants,
  singleHomoglyph,
} from './lookalike-variants.js';

/** The letter each digit is written for, as `l0dash` and `typ3script` write them. */
const DIGIT_READING: Readonly<Record<string, string>> = {
  '0': 'o',
  '1': 'l',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '9': 'g',
};

/** Scopes whose owners published the same packages unscoped first (`babel-core`). */
const UNSCOPED_PREDECESSORS = new Set(['babel']);

// Lower tiers are stronger evidence: when a name matches several targets the strongest
// explanation wins, then the most downloaded target.
export const TIER_STRUCTURAL = 0;
export const TIER_TYPO = 1;
export const TIER_AFFIX = 2;
export const TIER_WEAK = 3;

export interface Hit {
  target: string;
  technique: string;
  tier: number;
  /**
   * A spelling change (edit, plural, homoglyph): void when the changed word is a word of
   * other popular names, since then it is a different word, not a misspelling.
   */
  spelling?: boolean;
  /** Only against targets with at least these monthly downloads (weak evidence needs a big target). */
  minTargetMonthly?: number;
}

/** Letters transposed across one or moved by two (`rcaet`, `exrepss`): only against big targets. */
const TRANSPOSE_MIN_MONTHLY_DOWNLOADS = 10_000_000;
const TRANSPOSE_MAX_LENGTH = 10;

/** A squat word added (`axios-proxy`): only against targets this popular. */
const SQUAT_WORD_MIN_MONTHLY_DOWNLOADS = 1_000_000;

/**
 * A change that is no common typo (`one edit`): against the top of the list (about the 2,000
 * most downloaded packages) for names of 5+ characters, and against the top 15,000 for names
 * of 8+, which collide by chance far less. Lower down, such pairs are mostly independent
 * packages (`tryer`/`tryor`, `saxen`/`saxes`).
 */
export const WEAK_EDIT_MIN_MONTHLY_DOWNLOADS = 50_000_000;
const WEAK_EDIT_LONG_NAME = 8;
const WEAK_EDIT_LONG_MIN_MONTHLY_DOWNLOADS = 1_000_000;

function weakEditMinimum(length: number): number | undefined {
  if (length >= WEAK_EDIT_LONG_NAME) return WEAK_EDIT_LONG_MIN_MONTHLY_DOWNLOADS;
  return length >= 5 ? WEAK_EDIT_MIN_MONTHLY_DOWNLOADS : undefined;
}

/** Hits for a scoped candidate: the same package under a look-alike scope. */
export function scopedHits(scope: string, tail: string, search: SearchIndex): Hit[] {
  const lowerScope = scope.toLowerCase();
  // A scope on the list belongs to someone who publishes popular packages: whatever they
  // publish next under it is theirs, not a squat.
  if (search.hasScope(lowerScope)) return [];
  const lowerTail = tail.toLowerCase();
  const hits: Hit[] = [];
  if (!search.mayHaveScopeTwin(lowerTail)) return hits;
  const lookup = (variant: string): void => {
    const target = search.find(`@${variant}/${lowerTail}`);
    if (target !== undefined) hits.push({ target, technique: 'scope squat', tier: TIER_STRUCTURAL });
  };
  for (const variant of homoglyphVariants(lowerScope).keys()) lookup(variant);
  // Two-letter scopes are one edit from many others by chance.
  if (lowerScope.length >= 3) for (const variant of search.scopeEdits(lowerScope, lowerTail)) lookup(variant);
  return hits;
}

function editHits(candidate: string, search: SearchIndex): Hit[] {
  const hits: Hit[] = [];
  const n = candidate.length;
  const found = (variant: string, technique: string, tier: number, minTargetMonthly?: number): void => {
    const target = search.find(variant);
    if (target === undefined || variant === candidate) return;
    hits.push({ target, technique, tier, spelling: true, ...(minTargetMonthly ? { minTargetMonthly } : {}) });
  };
  const weak = weakEditMinimum(n);
  // Extra character in the candidate (target = candidate minus one character).
  if (n >= 5 && search.mayHaveDeletionTwin(candidate)) {
    for (let i = 0; i < n; i++) {
      const ch = candidate[i]!;
      if (i === n - 1 && (ch === 's' || DIGIT.test(ch))) continue; // plural, version digit: own rules
      const variant = candidate.slice(0, i) + candidate.slice(i + 1);
      const before = candidate[i - 1] ?? '';
      const after = candidate[i + 1] ?? '';
      if (before === ch || after === ch) found(variant, 'character repeated', TIER_TYPO);
      else if (keyboardAdjacent(ch, before) || keyboardAdjacent(ch, after)) {
        found(variant, 'keyboard-adjacent character', TIER_AFFIX);
      } else if (!DIGIT.test(ch) && weak) found(variant, 'one edit', TIER_WEAK, weak);
    }
  }
  // Character omitted (target = candidate plus one character). A dropped trailing digit
  // (`parse` for `parse5`) is a different package line, not a typo.
  if (n >= 4) {
    for (const { at, ch, variant } of search.insertions(candidate)) {
      if (at === n && (ch === 's' || DIGIT.test(ch))) continue;
      found(variant, 'one character omitted', TIER_TYPO);
    }
  }
  // Neighbours swapped.
  if (n >= 4 && search.mayHaveSwapTwin(candidate)) {
    for (let i = 0; i < n - 1; i++) {
      if (candidate[i] === candidate[i + 1]) continue;
      found(
        candidate.slice(0, i) + candidate[i + 1] + candidate[i] + candidate.slice(i + 2),
        'characters swapped',
        TIER_TYPO,
      );
    }
  }
  // One character replaced. Digits only for the letters they resemble or sit above: `json3`
  // and `json5` are siblings.
  if (n >= 5) {
    for (const { at, ch, variant } of search.replacements(candidate)) {
      const was = candidate[at]!;
      const glyph = singleHomoglyph(was, ch);
      if (glyph) found(variant, glyph, TIER_STRUCTURAL);
      else if (DIGIT.test(was) && digitRowAdjacent(was, ch)) {
        found(variant, `a digit for a letter (${was} for ${ch})`, TIER_TYPO);
      } else if (keyboardAdjacent(was, ch)) found(variant, 'keyboard-adjacent character', TIER_AFFIX);
      else if (!DIGIT.test(was) && !DIGIT.test(ch) && weak) found(variant, 'one edit', TIER_WEAK, weak);
    }
    // Letters transposed across one (`rcaet`) or one moved by two places (`exrepss`), in short
    // names: long ones are read in words, where such slips stand out.
    for (let i = 0; n <= TRANSPOSE_MAX_LENGTH && i + 2 < n; i++) {
      const [a, b, c] = [candidate[i]!, candidate[i + 1]!, candidate[i + 2]!];
      const head = candidate.slice(0, i);
      const tail = candidate.slice(i + 3);
      if (a !== c)
        found(head + c + b + a + tail, 'letters transposed', TIER_AFFIX, TRANSPOSE_MIN_MONTHLY_DOWNLOADS);
      if (a !== b || b !== c) {
        found(head + b + c + a + tail, 'letter moved', TIER_AFFIX, TRANSPOSE_MIN_MONTHLY_DOWNLOADS);
        found(head + c + a + b + tail, 'letter moved', TIER_AFFIX, TRANSPOSE_MIN_MONTHLY_DOWNLOADS);
      }
    }
  }
  return hits;
}

export function unscopedHits(candidate: string, search: SearchIndex): Hit[] {
  const hits: Hit[] = [];
  const lower = candidate.toLowerCase();
  const push = (target: string | undefined, technique: string, tier: number, spelling = false): void => {
    if (target !== undefined && target !== candidate) hits.push({ target, technique, tier, spelling });
  };

  if (lower !== candidate) push(search.find(lower), 'case changed', TIER_STRUCTURAL);
  if (search.mayHaveSeparatorTwin(lower)) {
    for (const variant of separatorVariants(lower))
      push(search.find(variant), 'separator changed', TIER_STRUCTURAL);
  }

  // `types-node`, `typesnode` for `@types/node`: the scope run into the name.
  if (lower.replace(SEPARATORS, '').length >= 6 && search.mayHaveScopedCopy(lower)) {
    for (let i = 1; i < lower.length - 1; i++) {
      const dropped = SEPARATOR_CHARS.includes(lower[i] as '-');
      const scope = lower.slice(0, i);
      if (UNSCOPED_PREDECESSORS.has(scope)) continue;
      const target = search.find(`@${scope}/${lower.slice(dropped ? i + 1 : i)}`);
      if (target !== undefined) push(target, `unscoped copy of ${target}`, TIER_STRUCTURAL);
    }
  }

  if (lower.length >= 4) {
    for (const [variant, label] of homoglyphVariants(lower)) {
      push(search.find(variant), label, TIER_STRUCTURAL, true);
    }
  }

  const words = lower.split(SEPARATORS);
  // A squat word before or after a popular name (`axios-proxy`, `import-lodash`, `ethers-provider2`).
  if (words.length >= 2 && words.every(Boolean)) {
    const first = words[0]!.replace(/\d+$/, '');
    const last = words[words.length - 1]!.replace(/\d+$/, '');
    const wordAdded = (rest: string, label: string): void => {
      const target = search.find(rest);
      if (target === undefined) return;
      hits.push({
        target,
        technique: label,
        tier: TIER_AFFIX,
        minTargetMonthly: SQUAT_WORD_MIN_MONTHLY_DOWNLOADS,
      });
    };
    if (SQUAT_WORDS.has(last)) {
      const word = words[words.length - 1]!;
      wordAdded(lower.slice(0, lower.length - word.length - 1), `word added (-${word})`);
    }
    if (SQUAT_WORDS.has(first)) wordAdded(lower.slice(words[0]!.length + 1), `word added (${words[0]}-)`);
  }

  // Digits for letters next to a separator change (`l0-dash`, `es_l1nt`): the digits read as
  // letters (`1` as `l`, then as `i`), then the separator rule.
  if (DIGIT.test(lower) && lower.length >= 5) {
    for (const one of ['l', 'i']) {
      const readable = lower.replace(/[0134579]/g, (d) => (d === '1' ? one : DIGIT_READING[d]!));
      if (readable === lower || (one === 'i' && !lower.includes('1'))) continue;
      const at = [...lower].findIndex((ch, i) => ch !== readable[i]);
      const label = `separator changed, a digit for a letter (${lower[at]} for ${readable[at]})`;
      if (search.mayHaveSeparatorTwin(readable)) {
        for (const variant of separatorVariants(readable)) push(search.find(variant), label, TIER_TYPO, true);
      }
    }
  }

  if (words.length >= 2 && words.length <= 4 && words.every(Boolean) && search.mayHaveWordOrderTwin(words)) {
    const seps = new Set(lower.match(SEPARATORS));
    const joiner = seps.size === 1 ? [...seps][0]! : '-';
    for (const order of permutations(words)) {
      const variant = order.join(joiner);
      if (variant !== lower) push(search.find(variant), 'word order changed', TIER_TYPO);
    }
  }

  // Plural either way; short words are too often real words with and without the `s`. An `s`
  // next to another (`expres`, `expresss` for `express`) is a plain typo.
  if (lower.endsWith('s') && lower.length >= 5) {
    const technique = lower.endsWith('ss') ? 'character repeated' : 'plural';
    push(search.find(lower.slice(0, -1)), technique, TIER_TYPO, true);
  }
  if (lower.length >= 4) {
    const technique = lower.endsWith('s') ? 'one character omitted' : 'plural';
    push(search.find(`${lower}s`), technique, TIER_TYPO, true);
  }

  for (const prefix of PREFIX_AFFIXES) {
    if (lower.startsWith(prefix) && lower.length > prefix.length) {
      push(search.find(lower.slice(prefix.length)), `npm affix added (${prefix})`, TIER_AFFIX);
    }
  }
  for (const suffix of SUFFIX_AFFIXES) {
    if (lower.endsWith(suffix) && lower.length > suffix.length) {
      push(search.find(lower.slice(0, -suffix.length)), `npm affix added (${suffix})`, TIER_AFFIX);
    }
  }

  // `colors-2.0`, `lodash-4`, `react18.2`: a version set off by a separator or written with dots.
  // A bare trailing digit is left alone: forks are named that way (`mkdirp2`, `diff3`).
  const versioned = /^(.*[a-z])(?:[-.]v?\d+(?:\.\d+){0,2}|v?\d+\.\d+(?:\.\d+)?)$/.exec(lower);
  if (versioned && versioned[1]!.length >= 4) {
    push(search.find(versioned[1]!), 'version digit appended', TIER_AFFIX);
  }

  hits.push(...editHits(lower, search));
  return hits;
}
