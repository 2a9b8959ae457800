// The look-alike search as it was before it learned to narrow the search with tables: every
// rule spells out each variant and looks it up. Kept verbatim (test-only) as the reference that
// the fast search must agree with name for name; do not "fix" it, fix the product and, if a
// verdict is meant to change, change this copy in the same commit and say why.
import { type PopularNameIndex, weeklyFromMonthly } from '../../src/policy/popular-index.js';

interface Lookalike {
  /** The popular package the name imitates. */
  target: string;
  targetMonthlyDownloads: number;
  /** Short human phrase: `one character omitted`, `homoglyph rn/m`, `scope squat`... */
  technique: string;
}

interface FindLookalikeOptions {
  /** The candidate's own weekly downloads, when known; a fair share of the target's clears it. */
  candidateWeeklyDownloads?: number;
  /**
   * Look for a target even when the candidate is on the list (it is never its own target),
   * taking its listed downloads as its own. Only for measuring the rules against the list.
   */
  includePopular?: boolean;
}

/**
 * A candidate with at least this share of the target's downloads is a sibling, not a squat.
 * Typing mistakes bring a squat well under a thousandth of its target's traffic; real
 * alternatives with look-alike names (preact/react 15%, safer-buffer/safe-buffer 40%,
 * chai/chalk 11%) sit far above 2%, and inflating downloads to 2% of a popular package costs
 * an attacker tens of thousands of fake downloads a week at the very least.
 */
const FAIR_SHARE_RATIO = 0.02;

/**
 * A change that is no common typo (`one edit`) only counts against the top of the list (about
 * the 2,000 most downloaded packages) and for names of 6+ characters: lower down, such pairs
 * are mostly independent packages (`tryer`/`tryor`, `saxen`/`saxes`).
 */
const WEAK_EDIT_MIN_MONTHLY_DOWNLOADS = 50_000_000;
const WEAK_EDIT_MIN_LENGTH = 6;

/** npm refuses longer names; anything longer is not worth spelling out variants for. */
const MAX_NAME_LENGTH = 214;

const SEPARATOR_CHARS = ['-', '_', '.'] as const;
const SEPARATORS = /[-_.]/g;
const EDIT_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789-._';
const DIGIT = /[0-9]/;

/** Glyphs that read like the target's letters in a terminal or a diff: [glyph, letter]. */
const HOMOGLYPHS: readonly (readonly [string, string])[] = [
  ['rn', 'm'],
  ['vv', 'w'],
  ['cl', 'd'],
  ['1', 'l'],
  ['0', 'o'],
  ['i', 'l'],
  ['5', 's'],
];

const PREFIX_AFFIXES = ['node-', 'node', 'npm-', 'js-'];
// `-cli` is left out: `<library>-cli` is how most command-line wrappers are named (postcss-cli,
// ajv-cli); the real `cli` squats (babelcli, gruntcli) are caught as separator changes.
const SUFFIX_AFFIXES = ['-js', '.js', 'js', '-npm', '-node'];

/** Scopes whose owners published the same packages unscoped first (`babel-core`). */
const UNSCOPED_PREDECESSORS = new Set(['babel']);

// Lower tiers are stronger evidence: when a name matches several targets the strongest
// explanation wins, then the most downloaded target.
const TIER_STRUCTURAL = 0;
const TIER_TYPO = 1;
const TIER_AFFIX = 2;
const TIER_WEAK = 3;

interface Hit {
  target: string;
  technique: string;
  tier: number;
  /**
   * A spelling change (edit, plural, homoglyph): void when the changed word is a word of
   * other popular names, since then it is a different word, not a misspelling.
   */
  spelling?: boolean;
}

/** What the search needs besides exact lookups, each part built on first use. */
class SearchIndex {
  readonly index: PopularNameIndex;
  #text?: string;
  #lowerText?: string;
  #mixedCase?: Map<string, string>;
  #scopes?: Set<string>;

  constructor(index: PopularNameIndex) {
    this.index = index;
  }

  /** Every listed name, one a line: native regex scans over it beat a loop over 20,000 names. */
  get #names(): string {
    this.#text ??= `\n${this.index.names().join('\n')}\n`;
    return this.#text;
  }

  /** The listed name for a lower-case spelling (`jsonstream` -> `JSONStream`), or undefined. */
  find(lower: string): string | undefined {
    if (this.index.has(lower)) return lower;
    if (!this.#mixedCase) {
      this.#mixedCase = new Map();
      for (const [name] of this.#names.matchAll(/^[^\n]*[A-Z][^\n]*$/gm)) {
        const folded = name.toLowerCase();
        if (!this.#mixedCase.has(folded)) this.#mixedCase.set(folded, name);
      }
    }
    return this.#mixedCase.get(lower);
  }

  /** Whether any listed package lives under `@scope` (lower-case, without `@`). */
  hasScope(scope: string): boolean {
    if (!this.#scopes) {
      this.#scopes = new Set();
      for (const [, listed] of this.#names.matchAll(/^@([^/\n]+)\//gm))
        this.#scopes.add(listed!.toLowerCase());
    }
    return this.#scopes.has(scope);
  }

  /** How many times `word` is a whole word (between separators, `@` and `/`) in listed names. */
  wordUses(word: string): number {
    this.#lowerText ??= this.#names.toLowerCase();
    const text = this.#lowerText;
    let uses = 0;
    for (let at = text.indexOf(word); at !== -1; at = text.indexOf(word, at + 1)) {
      if (isWordBoundary(text[at - 1]) && isWordBoundary(text[at + word.length])) uses++;
    }
    return uses;
  }
}

function isWordBoundary(ch: string | undefined): boolean {
  return (
    ch === undefined || ch === '\n' || ch === '-' || ch === '_' || ch === '.' || ch === '/' || ch === '@'
  );
}

const searchCache = new WeakMap<PopularNameIndex, SearchIndex>();

function searchIndex(index: PopularNameIndex): SearchIndex {
  let search = searchCache.get(index);
  if (!search) {
    search = new SearchIndex(index);
    searchCache.set(index, search);
  }
  return search;
}

function nameWords(name: string): string[] {
  return name
    .toLowerCase()
    .split(/[-_./@]/)
    .filter(Boolean);
}

function splitScoped(name: string): { scope: string; tail: string } | null {
  if (!name.startsWith('@')) return null;
  const slash = name.indexOf('/');
  if (slash < 2 || slash === name.length - 1) return null;
  return { scope: name.slice(1, slash), tail: name.slice(slash + 1) };
}

// QWERTY positions with each row's stagger, so that `g` neighbours `t`, `y`, `f`, `h`, `v`, `b`.
const KEY_ROWS: readonly (readonly [string, number])[] = [
  ['qwertyuiop', 0.5],
  ['asdfghjkl', 0.75],
  ['zxcvbnm', 1.25],
];
const KEY_POSITIONS = new Map<string, { row: number; x: number }>();
KEY_ROWS.forEach(([keys, offset], row) => {
  for (let i = 0; i < keys.length; i++) KEY_POSITIONS.set(keys[i]!, { row, x: i + offset });
});

/** Letters next to each other on a QWERTY keyboard. Digits in names are deliberate, so no digits. */
function keyboardAdjacent(a: string, b: string): boolean {
  const pa = KEY_POSITIONS.get(a);
  const pb = KEY_POSITIONS.get(b);
  if (!pa || !pb || a === b) return false;
  return Math.abs(pa.row - pb.row) <= 1 && Math.abs(pa.x - pb.x) <= 1;
}

function singleHomoglyph(a: string, b: string): string | null {
  for (const [glyph, letter] of HOMOGLYPHS) {
    if ((a === glyph && b === letter) || (a === letter && b === glyph)) return `homoglyph ${glyph}/${letter}`;
  }
  return null;
}

/** Every spelling one edit away (Damerau: delete, insert, replace, swap neighbours). */
function oneEditVariants(word: string): Set<string> {
  const variants = new Set<string>();
  for (let i = 0; i <= word.length; i++) {
    if (i < word.length) variants.add(word.slice(0, i) + word.slice(i + 1));
    if (i < word.length - 1) variants.add(word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2));
    for (const ch of EDIT_ALPHABET) {
      variants.add(word.slice(0, i) + ch + word.slice(i));
      if (i < word.length) variants.add(word.slice(0, i) + ch + word.slice(i + 1));
    }
  }
  variants.delete(word);
  return variants;
}

/**
 * Homoglyphs written in place of the letters (`rnocha` for `mocha`), or the letters in place of
 * the glyphs. Each occurrence alone and all of them at once: names rarely hold more than one
 * or two, so that covers what an attacker writes.
 */
function homoglyphVariants(word: string): Map<string, string> {
  const variants = new Map<string, string>();
  for (const [glyph, letter] of HOMOGLYPHS) {
    for (const [from, to] of [
      [glyph, letter],
      [letter, glyph],
    ] as const) {
      if (!word.includes(from)) continue;
      const label = `homoglyph ${glyph}/${letter}`;
      variants.set(word.split(from).join(to), label);
      for (let i = word.indexOf(from); i !== -1; i = word.indexOf(from, i + 1)) {
        variants.set(word.slice(0, i) + to + word.slice(i + from.length), label);
      }
    }
  }
  variants.delete(word);
  return variants;
}

/** Hits for a scoped candidate: the same package under a look-alike scope. */
function scopedHits(scope: string, tail: string, search: SearchIndex): Hit[] {
  const lowerScope = scope.toLowerCase();
  // A scope on the list belongs to someone who publishes popular packages: whatever they
  // publish next under it is theirs, not a squat.
  if (search.hasScope(lowerScope)) return [];
  const hits: Hit[] = [];
  const lookup = (variant: string): void => {
    const target = search.find(`@${variant}/${tail.toLowerCase()}`);
    if (target !== undefined) hits.push({ target, technique: 'scope squat', tier: TIER_STRUCTURAL });
  };
  for (const variant of homoglyphVariants(lowerScope).keys()) lookup(variant);
  // Short scopes are one edit from many others by chance.
  if (lowerScope.length >= 4) for (const variant of oneEditVariants(lowerScope)) lookup(variant);
  return hits;
}

/** Separator variants: changed, dropped, or added (one anywhere, or two in a name without any). */
function separatorVariants(lower: string): Set<string> {
  const variants = new Set<string>();
  const flat = lower.replace(SEPARATORS, '');
  variants.add(flat);
  for (const sep of SEPARATOR_CHARS) variants.add(lower.replace(SEPARATORS, sep));
  for (let i = 0; i < lower.length; i++) {
    if (!SEPARATOR_CHARS.includes(lower[i] as '-')) continue;
    variants.add(lower.slice(0, i) + lower.slice(i + 1));
    for (const sep of SEPARATOR_CHARS) variants.add(lower.slice(0, i) + sep + lower.slice(i + 1));
  }
  for (let i = 1; i < lower.length; i++) {
    for (const sep of SEPARATOR_CHARS) variants.add(lower.slice(0, i) + sep + lower.slice(i));
  }
  if (flat === lower && lower.length <= 40) {
    for (let i = 1; i < lower.length; i++) {
      for (let j = i + 1; j < lower.length; j++) {
        variants.add(`${lower.slice(0, i)}-${lower.slice(i, j)}-${lower.slice(j)}`);
      }
    }
  }
  variants.delete(lower);
  return variants;
}

function permutations(words: readonly string[]): string[][] {
  if (words.length <= 1) return [[...words]];
  const out: string[][] = [];
  words.forEach((word, i) => {
    for (const rest of permutations([...words.slice(0, i), ...words.slice(i + 1)])) out.push([word, ...rest]);
  });
  return out;
}

function editHits(candidate: string, search: SearchIndex): Hit[] {
  const hits: Hit[] = [];
  const n = candidate.length;
  const found = (variant: string, technique: string, tier: number): void => {
    const target = search.find(variant);
    if (target !== undefined && variant !== candidate) hits.push({ target, technique, tier, spelling: true });
  };
  // Extra character in the candidate (target = candidate minus one character).
  if (n >= 5) {
    for (let i = 0; i < n; i++) {
      const ch = candidate[i]!;
      if (i === n - 1 && (ch === 's' || DIGIT.test(ch))) continue; // plural, version digit: own rules
      const variant = candidate.slice(0, i) + candidate.slice(i + 1);
      const before = candidate[i - 1] ?? '';
      const after = candidate[i + 1] ?? '';
      if (before === ch || after === ch) found(variant, 'character repeated', TIER_TYPO);
      else if (keyboardAdjacent(ch, before) || keyboardAdjacent(ch, after)) {
        found(variant, 'keyboard-adjacent character', TIER_AFFIX);
      } else if (!DIGIT.test(ch)) found(variant, 'one edit', TIER_WEAK);
    }
  }
  // Character omitted (target = candidate plus one character). A dropped trailing digit
  // (`parse` for `parse5`) is a different package line, not a typo.
  if (n >= 4) {
    for (let i = 0; i <= n; i++) {
      for (const ch of EDIT_ALPHABET) {
        if (i === n && (ch === 's' || DIGIT.test(ch))) continue;
        found(candidate.slice(0, i) + ch + candidate.slice(i), 'one character omitted', TIER_TYPO);
      }
    }
  }
  // Neighbours swapped.
  if (n >= 4) {
    for (let i = 0; i < n - 1; i++) {
      if (candidate[i] === candidate[i + 1]) continue;
      found(
        candidate.slice(0, i) + candidate[i + 1] + candidate[i] + candidate.slice(i + 2),
        'characters swapped',
        TIER_TYPO,
      );
    }
  }
  // One character replaced. Digits only as homoglyphs: `json3` and `json5` are siblings.
  if (n >= 5) {
    for (let i = 0; i < n; i++) {
      const was = candidate[i]!;
      for (const ch of EDIT_ALPHABET) {
        if (ch === was) continue;
        const variant = candidate.slice(0, i) + ch + candidate.slice(i + 1);
        const glyph = singleHomoglyph(was, ch);
        if (glyph) found(variant, glyph, TIER_STRUCTURAL);
        else if (keyboardAdjacent(was, ch)) found(variant, 'keyboard-adjacent character', TIER_AFFIX);
        else if (!DIGIT.test(was) && !DIGIT.test(ch)) found(variant, 'one edit', TIER_WEAK);
      }
    }
  }
  return hits;
}

function unscopedHits(candidate: string, search: SearchIndex): Hit[] {
  const hits: Hit[] = [];
  const lower = candidate.toLowerCase();
  const push = (target: string | undefined, technique: string, tier: number, spelling = false): void => {
    if (target !== undefined && target !== candidate) hits.push({ target, technique, tier, spelling });
  };

  if (lower !== candidate) push(search.find(lower), 'case changed', TIER_STRUCTURAL);
  for (const variant of separatorVariants(lower))
    push(search.find(variant), 'separator changed', TIER_STRUCTURAL);

  // `types-node`, `typesnode` for `@types/node`: the scope run into the name.
  if (lower.replace(SEPARATORS, '').length >= 6) {
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
  if (words.length >= 2 && words.length <= 4 && words.every(Boolean)) {
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
export function findLookalikeBySpelling(
  name: string,
  index: PopularNameIndex,
  options: FindLookalikeOptions = {},
): Lookalike | null {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) return null;
  const listed = index.has(name);
  if (listed && !options.includePopular) return null;
  const search = searchIndex(index);

  const scoped = splitScoped(name);
  let hits: Hit[];
  if (scoped) hits = scopedHits(scoped.scope, scoped.tail, search);
  else if (name.startsWith('@') || name.includes('/')) hits = [];
  else hits = unscopedHits(name, search);

  const candidateWeekly =
    options.candidateWeeklyDownloads ??
    (listed ? weeklyFromMonthly(index.monthlyDownloads(name) ?? 0) : undefined);
  let best: (Hit & { monthly: number }) | null = null;
  for (const hit of hits) {
    if (hit.target === name) continue;
    const monthly = index.monthlyDownloads(hit.target);
    if (monthly === undefined) continue;
    if (candidateWeekly !== undefined && candidateWeekly >= weeklyFromMonthly(monthly) * FAIR_SHARE_RATIO)
      continue;
    if (
      hit.tier === TIER_WEAK &&
      (monthly < WEAK_EDIT_MIN_MONTHLY_DOWNLOADS || name.length < WEAK_EDIT_MIN_LENGTH)
    ) {
      continue;
    }
    if (best && (hit.tier > best.tier || (hit.tier === best.tier && monthly <= best.monthly))) continue;
    if (hit.spelling && changesToKnownWord(name, hit.target, search, listed)) continue;
    best = { ...hit, monthly };
  }
  return best
    ? { target: best.target, targetMonthlyDownloads: best.monthly, technique: best.technique }
    : null;
}
