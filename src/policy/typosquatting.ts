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
// derived from a popular name and looks each up in the index. The rules that would spell out
// hundreds of variants per name (one inserted or replaced character, separators, scope edits)
// first ask small tables built from the list, on first use, whether any listed name is within
// reach; an audit checks thousands of names, and a thousand lookups each cost it a second.
// The tables only narrow the search: every hit is still the variant the rule spells out, found
// by the same lookup and reported in the same order, so the verdicts are the rules' own.
import { isPopularNameIndex, type PopularNameIndex, weeklyFromMonthly } from './popular-index.js';
import type { Finding, GuardrailContext, PopularIndex } from './types.js';

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
}

/**
 * A candidate with at least this share of the target's downloads is a sibling, not a squat.
 * Typing mistakes bring a squat well under a thousandth of its target's traffic; real
 * alternatives with look-alike names (preact/react 15%, safer-buffer/safe-buffer 40%,
 * chai/chalk 11%) sit far above 2%, and inflating downloads to 2% of a popular package costs
 * an attacker tens of thousands of fake downloads a week at the very least.
 */
export const FAIR_SHARE_RATIO = 0.02;

/**
 * A change that is no common typo (`one edit`) only counts against the top of the list (about
 * the 2,000 most downloaded packages) and for names of 6+ characters: lower down, such pairs
 * are mostly independent packages (`tryer`/`tryor`, `saxen`/`saxes`).
 */
export const WEAK_EDIT_MIN_MONTHLY_DOWNLOADS = 50_000_000;
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

/** One edit that turns the candidate into a listed name: `ch` inserted or put at `at`. */
interface Edit {
  at: number;
  ch: string;
  variant: string;
}

/**
 * Listed names bucketed by length and by each half (the first `length >> 1` characters, the
 * rest). One inserted or replaced character leaves one half of the name untouched, so the two
 * buckets of that half hold every name one such edit away: two Map lookups instead of ~1,000.
 */
class HalvesIndex {
  readonly #buckets: Map<string, string[]>[] = [];

  add(key: string): void {
    const half = key.length >> 1;
    this.#put(key.length * 2, key.slice(0, half), key);
    this.#put(key.length * 2 + 1, key.slice(half), key);
  }

  #put(slot: number, part: string, key: string): void {
    let bucket = this.#buckets[slot];
    if (!bucket) {
      bucket = new Map();
      this.#buckets[slot] = bucket;
    }
    const keys = bucket.get(part);
    if (keys) keys.push(key);
    else bucket.set(part, [key]);
  }

  /** Names of `length` that start with `head` (its first half) or end with `tail` (the rest). */
  near(length: number, head: string, tail: string): readonly (readonly string[])[] {
    const out: (readonly string[])[] = [];
    const byHead = this.#buckets[length * 2]?.get(head);
    const byTail = this.#buckets[length * 2 + 1]?.get(tail);
    if (byHead) out.push(byHead);
    if (byTail) out.push(byTail);
    return out;
  }
}

/** Tables that narrow the search on a walkable list, each built on first use. */
interface Narrowing {
  halves?: HalvesIndex;
  /** Unscoped names with their separators removed: the first such name, or null for several. */
  flat?: Map<string, string | null>;
  /** Scoped names by their name after the scope: the scopes that hold it. */
  scopesByTail?: Map<string, string[]>;
}

/** What the search needs besides exact lookups, each part built on first use. */
class SearchIndex {
  readonly index: PopularNameIndex;
  /** A bare PopularIndex answers exact lookups only: then every rule spells its variants out. */
  readonly walkable: boolean;
  #text?: string;
  #lowerText?: string;
  #mixedCase?: Map<string, string>;
  #scopes?: Set<string>;
  #wordUses?: Map<string, number>;
  readonly #narrowing: Narrowing = {};

  constructor(index: PopularNameIndex) {
    this.index = index;
    this.walkable = index.size > 0;
  }

  /**
   * Every lower-case spelling that `find` could resolve: each listed name and its lower-case
   * form (the key of the mixed-case table). A superset is harmless, since hits are confirmed by
   * `find`; a missing spelling would lose hits.
   */
  *#spellings(): Generator<string> {
    for (const name of this.index.names()) {
      yield name;
      const lower = name.toLowerCase();
      if (lower !== name) yield lower;
    }
  }

  /** Unscoped names of 5+ characters: only those are targets of insertions and replacements. */
  get #halves(): HalvesIndex {
    if (!this.#narrowing.halves) {
      const halves = new HalvesIndex();
      for (const key of this.#spellings()) {
        if (key.length >= 5 && !key.includes('/') && !key.includes('@')) halves.add(key);
      }
      this.#narrowing.halves = halves;
    }
    return this.#narrowing.halves;
  }

  /**
   * Listed names that are `candidate` with one character of EDIT_ALPHABET inserted, each at
   * the first position that spells it, in the order the insertions are spelled out (position,
   * then alphabet).
   */
  insertions(candidate: string): Edit[] {
    const n = candidate.length;
    const edits: Edit[] = [];
    if (!this.walkable) {
      for (let i = 0; i <= n; i++) {
        for (const ch of EDIT_ALPHABET) {
          const variant = candidate.slice(0, i) + ch + candidate.slice(i);
          if (this.find(variant) !== undefined) edits.push({ at: i, ch, variant });
        }
      }
      return edits;
    }
    const half = (n + 1) >> 1;
    for (const bucket of this.#halves.near(n + 1, candidate.slice(0, half), candidate.slice(half - 1))) {
      for (const key of bucket) {
        let at = 0;
        while (at < n && key[at] === candidate[at]) at++;
        if (!endsMatch(key, at + 1, candidate, at)) continue;
        const ch = key[at]!;
        // Inserting a letter next to the same letter spells the same name: the first counts.
        while (at > 0 && key[at - 1] === ch) at--;
        if (EDIT_ALPHABET.includes(ch)) edits.push({ at, ch, variant: key });
      }
    }
    return sortEdits(edits);
  }

  /** Listed names that are `candidate` with one character replaced by one of EDIT_ALPHABET. */
  replacements(candidate: string): Edit[] {
    const n = candidate.length;
    const edits: Edit[] = [];
    if (!this.walkable) {
      for (let i = 0; i < n; i++) {
        for (const ch of EDIT_ALPHABET) {
          if (ch === candidate[i]) continue;
          const variant = candidate.slice(0, i) + ch + candidate.slice(i + 1);
          if (this.find(variant) !== undefined) edits.push({ at: i, ch, variant });
        }
      }
      return edits;
    }
    const half = n >> 1;
    for (const bucket of this.#halves.near(n, candidate.slice(0, half), candidate.slice(half))) {
      for (const key of bucket) {
        let at = 0;
        while (at < n && key[at] === candidate[at]) at++;
        if (at === n || !endsMatch(key, at + 1, candidate, at + 1)) continue;
        const ch = key[at]!;
        if (EDIT_ALPHABET.includes(ch)) edits.push({ at, ch, variant: key });
      }
    }
    return sortEdits(edits);
  }

  /** Whether a listed unscoped name other than `lower` differs from it in separators only. */
  mayHaveSeparatorTwin(lower: string): boolean {
    if (!this.walkable) return true;
    if (!this.#narrowing.flat) {
      const flat = new Map<string, string | null>();
      for (const key of this.#spellings()) {
        if (key.includes('/') || key.includes('@')) continue;
        const bare = key.replace(SEPARATORS, '');
        const seen = flat.get(bare);
        if (seen === undefined) flat.set(bare, key);
        else if (seen !== key) flat.set(bare, null);
      }
      this.#narrowing.flat = flat;
    }
    const twin = this.#narrowing.flat.get(lower.replace(SEPARATORS, ''));
    return twin !== undefined && twin !== lower;
  }

  /**
   * Whether a listed package named `tail` lives under a scope other than `scope` that a scope
   * squat could spell: any scope when `anyScope`, else one within one edit of `scope`.
   */
  mayHaveScopeTwin(scope: string, tail: string, anyScope: boolean): boolean {
    if (!this.walkable) return true;
    if (!this.#narrowing.scopesByTail) {
      const byTail = new Map<string, string[]>();
      for (const key of this.#spellings()) {
        const scoped = key.startsWith('@') ? splitScoped(key) : null;
        if (!scoped) continue;
        const scopes = byTail.get(scoped.tail);
        if (scopes) scopes.push(scoped.scope);
        else byTail.set(scoped.tail, [scoped.scope]);
      }
      this.#narrowing.scopesByTail = byTail;
    }
    const scopes = this.#narrowing.scopesByTail.get(tail);
    if (!scopes) return false;
    return anyScope || scopes.some((listed) => withinOneEdit(listed, scope));
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
    return countWord(this.#lowerText, word);
  }
}

function countWord(text: string, word: string): number {
  let uses = 0;
  for (let at = text.indexOf(word); at !== -1; at = text.indexOf(word, at + 1)) {
    if (isWordBoundary(text[at - 1]) && isWordBoundary(text[at + word.length])) uses++;
  }
  return uses;
}

/** Whether `a` from `aFrom` on equals `b` from `bFrom` on (`a` is the longer or equal tail). */
function endsMatch(a: string, aFrom: number, b: string, bFrom: number): boolean {
  if (a.length - aFrom !== b.length - bFrom) return false;
  for (let i = aFrom, j = bFrom; i < a.length; i++, j++) if (a[i] !== b[j]) return false;
  return true;
}

const EDIT_RANK = new Map([...EDIT_ALPHABET].map((ch, i) => [ch, i]));

/** Edits in the order the variants are spelled out: position, then alphabet; one per variant. */
function sortEdits(edits: Edit[]): Edit[] {
  if (edits.length < 2) return edits;
  const rank = (edit: Edit): number => edit.at * EDIT_ALPHABET.length + EDIT_RANK.get(edit.ch)!;
  edits.sort((a, b) => rank(a) - rank(b));
  return edits.filter((edit, i) => i === 0 || edit.variant !== edits[i - 1]!.variant);
}

/** Damerau distance at most one (the two differ by an insertion, deletion, replacement or swap). */
function withinOneEdit(a: string, b: string): boolean {
  const [long, short] = a.length >= b.length ? [a, b] : [b, a];
  if (long.length - short.length > 1) return false;
  let at = 0;
  while (at < short.length && long[at] === short[at]) at++;
  if (long.length !== short.length) return endsMatch(long, at + 1, short, at);
  if (at === short.length) return true;
  if (endsMatch(long, at + 1, short, at + 1)) return true;
  return long[at] === short[at + 1] && long[at + 1] === short[at] && endsMatch(long, at + 2, short, at + 2);
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
  const lowerTail = tail.toLowerCase();
  const hits: Hit[] = [];
  if (!search.mayHaveScopeTwin(lowerScope, lowerTail, true)) return hits;
  const lookup = (variant: string): void => {
    const target = search.find(`@${variant}/${lowerTail}`);
    if (target !== undefined) hits.push({ target, technique: 'scope squat', tier: TIER_STRUCTURAL });
  };
  for (const variant of homoglyphVariants(lowerScope).keys()) lookup(variant);
  // Short scopes are one edit from many others by chance.
  if (lowerScope.length >= 4 && search.mayHaveScopeTwin(lowerScope, lowerTail, false)) {
    for (const variant of oneEditVariants(lowerScope)) lookup(variant);
  }
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
    for (const { at, ch, variant } of search.insertions(candidate)) {
      if (at === n && (ch === 's' || DIGIT.test(ch))) continue;
      found(variant, 'one character omitted', TIER_TYPO);
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
    for (const { at, ch, variant } of search.replacements(candidate)) {
      const was = candidate[at]!;
      const glyph = singleHomoglyph(was, ch);
      if (glyph) found(variant, glyph, TIER_STRUCTURAL);
      else if (keyboardAdjacent(was, ch)) found(variant, 'keyboard-adjacent character', TIER_AFFIX);
      else if (!DIGIT.test(was) && !DIGIT.test(ch)) found(variant, 'one edit', TIER_WEAK);
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
  if (search.mayHaveSeparatorTwin(lower)) {
    for (const variant of separatorVariants(lower))
      push(search.find(variant), 'separator changed', TIER_STRUCTURAL);
  }

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
export function findLookalike(
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

/** `69_600_000` -> `70M`, `123_456` -> `123k`, `3_456` -> `3.5k`, `950` -> `950`. */
export function humanizeCount(count: number): string {
  const units: readonly (readonly [number, string])[] = [
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (let i = 0; i < units.length; i++) {
    const [size, suffix] = units[i]!;
    if (count < size) continue;
    const value = count / size;
    const text = value >= 10 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
    // 999_950 would print as 1000k: move up a unit instead.
    if (Number(text) >= 1000 && i > 0) {
      const [upSize, upSuffix] = units[i - 1]!;
      return `${Math.round((count / upSize) * 10) / 10}${upSuffix}`;
    }
    return `${text}${suffix}`;
  }
  return String(Math.round(count));
}

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

/** The typosquatting guardrail: at most one finding, naming the package the name imitates. */
export function evaluateTyposquatting(ctx: GuardrailContext): Finding[] {
  if (!ctx.policy.typosquatting) return [];
  const downloads = ctx.facts.weeklyDownloads;
  const candidateWeekly = downloads?.status === 'ok' ? downloads.value.count : undefined;
  const lookalike = findLookalike(ctx.name, asNameIndex(ctx.popular), {
    candidateWeeklyDownloads: candidateWeekly,
  });
  if (!lookalike) return [];

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
      },
    },
  ];
}
