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
// are the rules' own (test/helpers/typosquatting-reference.ts keeps the plain search to prove it).
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

/** One edit that turns the candidate into a listed name: `ch` inserted at, or put at, `at`. */
interface Edit {
  at: number;
  ch: string;
  variant: string;
}

/**
 * Names an index checks by spelling out every variant before it builds its tables: spelling
 * out costs a few tenths of a millisecond a name (more while the code is cold), the tables
 * 10-30 ms once. A single `lockwarden check` never pays for the tables; an audit or the proxy
 * soon does, once.
 */
export const SPELLED_OUT_CANDIDATES = 8;

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 16777619;

function isSeparatorCode(code: number): boolean {
  return code === 45 || code === 95 || code === 46; // - _ .
}

function hashRange(text: string, from: number, to: number, seed: number): number {
  let hash = seed;
  for (let i = from; i < to; i++) hash = Math.imul(hash ^ text.charCodeAt(i), FNV_PRIME);
  return hash;
}

/** The seed for one half of the names of `length`: 0 for the first half, 1 for the rest. */
function halfSeed(length: number, side: 0 | 1): number {
  return Math.imul(FNV_OFFSET ^ (length * 2 + side), FNV_PRIME);
}

/**
 * Positions in a text by a 32-bit hash, chained in typed arrays. Filling it allocates no string
 * and no Map entry, which is what makes a 20,000-name table cost milliseconds; a collision only
 * costs the caller a comparison, since callers check every position they get.
 */
class HashChains {
  readonly #mask: number;
  readonly #heads: Int32Array;
  readonly #next: Int32Array;
  readonly #hashes: Int32Array;
  readonly #positions: Int32Array;
  #count = 0;

  constructor(capacity: number) {
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.#mask = slots - 1;
    this.#heads = new Int32Array(slots);
    this.#next = new Int32Array(capacity + 1);
    this.#hashes = new Int32Array(capacity + 1);
    this.#positions = new Int32Array(capacity + 1);
  }

  add(hash: number, position: number): void {
    const entry = ++this.#count;
    const slot = hash & this.#mask;
    this.#hashes[entry] = hash;
    this.#positions[entry] = position;
    this.#next[entry] = this.#heads[slot]!;
    this.#heads[slot] = entry;
  }

  has(hash: number): boolean {
    for (let entry = this.#heads[hash & this.#mask]!; entry !== 0; entry = this.#next[entry]!) {
      if (this.#hashes[entry] === hash) return true;
    }
    return false;
  }

  positions(hash: number, into: number[]): void {
    for (let entry = this.#heads[hash & this.#mask]!; entry !== 0; entry = this.#next[entry]!) {
      if (this.#hashes[entry] === hash) into.push(this.#positions[entry]!);
    }
  }
}

/**
 * Where to look in the lower-case list text (`\nname\nname\n`) for names within reach of a rule
 * that would otherwise spell out hundreds of variants:
 * - `halves`: unscoped names of 4+ characters (the targets of the edit rules) by length and
 *   by each half. An inserted, dropped or replaced character leaves one half of the name as it
 *   was, and so does a swap except across the middle; the two chains of the candidate's halves
 *   hold every name one such edit away.
 * - `flat`: unscoped names by their spelling without separators (every separator variant
 *   keeps it).
 * - `tails`: scoped names by the name after the scope; `scopes`: by the scope.
 * Positions are line starts. Built in one pass over the text.
 */
class NameTables {
  readonly text: string;
  readonly halves: HashChains;
  readonly flat: HashChains;
  readonly tails: HashChains;
  readonly scopes: HashChains;

  constructor(text: string, lines: number) {
    this.text = text;
    this.halves = new HashChains(lines * 2);
    this.flat = new HashChains(lines);
    this.tails = new HashChains(lines);
    this.scopes = new HashChains(lines);
    for (let start = 1; start < text.length; ) {
      const end = text.indexOf('\n', start);
      const length = end - start;
      const half = start + (length >> 1);
      let head = halfSeed(length, 0);
      let tail = halfSeed(length, 1);
      let flat = FNV_OFFSET;
      let slash = -1;
      let plain = true;
      for (let i = start; i < end; i++) {
        const code = text.charCodeAt(i);
        if (code === 47 /* / */ || code === 64 /* @ */) {
          plain = false;
          if (code === 47 && slash === -1) slash = i;
        }
        if (i < half) head = Math.imul(head ^ code, FNV_PRIME);
        else tail = Math.imul(tail ^ code, FNV_PRIME);
        if (!isSeparatorCode(code)) flat = Math.imul(flat ^ code, FNV_PRIME);
      }
      if (plain) {
        if (length >= 4) {
          this.halves.add(head, start);
          this.halves.add(tail, start);
        }
        this.flat.add(flat, start);
      } else if (text.charCodeAt(start) === 64 && slash >= start + 2 && slash < end - 1) {
        // The same split as splitScoped.
        this.tails.add(hashRange(text, slash + 1, end, FNV_OFFSET), start);
        this.scopes.add(hashRange(text, start + 1, slash, FNV_OFFSET), start);
      }
      start = end + 1;
    }
  }

  /**
   * Line starts of names of `length` whose first half hashes like `candidate` up to `headTo`,
   * or whose rest hashes like `candidate` from `tailFrom` on.
   */
  nearHalves(length: number, candidate: string, headTo: number, tailFrom: number): number[] {
    const found: number[] = [];
    this.halves.positions(hashRange(candidate, 0, headTo, halfSeed(length, 0)), found);
    this.halves.positions(hashRange(candidate, tailFrom, candidate.length, halfSeed(length, 1)), found);
    return found;
  }

  /** The name at a line start, when it is `length` long. */
  nameAt(start: number, length: number): string | undefined {
    const end = start + length;
    return this.text.indexOf('\n', start) === end ? this.text.slice(start, end) : undefined;
  }

  lineAt(start: number): string {
    return this.text.slice(start, this.text.indexOf('\n', start));
  }
}

/** What the search needs besides exact lookups, each part built on first use. */
class SearchIndex {
  readonly index: PopularNameIndex;
  #text?: string;
  #lowerText?: string;
  #mixedCase?: Map<string, string>;
  #scopes?: Set<string>;
  #candidates = 0;
  /** Undefined until enough names have been checked, and for a list that cannot be walked. */
  #tables?: NameTables;
  #words?: HashChains;

  constructor(index: PopularNameIndex) {
    this.index = index;
  }

  /** Every listed name, one a line: native regex scans over it beat a loop over 20,000 names. */
  get #names(): string {
    this.#text ??= `\n${this.index.names().join('\n')}\n`;
    return this.#text;
  }

  get #lower(): string {
    this.#lowerText ??= this.#names.toLowerCase();
    return this.#lowerText;
  }

  /**
   * Counts a candidate about to be searched; past SPELLED_OUT_CANDIDATES, builds the tables.
   * A bare PopularIndex answers exact lookups only, and a list with a line break in a name
   * does not split into its names: both keep spelling every variant out.
   */
  startCandidate(): void {
    if (this.#tables || ++this.#candidates <= SPELLED_OUT_CANDIDATES) return;
    const { size } = this.index;
    if (size === 0 || this.#candidates !== SPELLED_OUT_CANDIDATES + 1) return;
    let lines = 0;
    for (let at = this.#names.indexOf('\n', 1); at !== -1; at = this.#names.indexOf('\n', at + 1)) lines++;
    if (lines === size) this.#tables = new NameTables(this.#lower, lines);
  }

  /**
   * Listed names that are `candidate` with one character of EDIT_ALPHABET inserted, each with
   * the first position that spells it, in the order the insertions are spelled out (position,
   * then alphabet).
   */
  insertions(candidate: string): Edit[] {
    const n = candidate.length;
    const edits: Edit[] = [];
    const tables = this.#tables;
    if (!tables) {
      for (let i = 0; i <= n; i++) {
        for (const ch of EDIT_ALPHABET) {
          const variant = candidate.slice(0, i) + ch + candidate.slice(i);
          if (this.find(variant) !== undefined) edits.push({ at: i, ch, variant });
        }
      }
      return edits;
    }
    // A name one longer keeps its first half before the insertion, or its rest after it.
    const half = (n + 1) >> 1;
    for (const start of tables.nearHalves(n + 1, candidate, half, half - 1)) {
      const name = tables.nameAt(start, n + 1);
      if (name === undefined) continue;
      let at = 0;
      while (at < n && name[at] === candidate[at]) at++;
      if (!endsMatch(name, at + 1, candidate, at)) continue;
      const ch = name[at]!;
      // Inserting a letter beside the same letter spells the same name: the first one counts.
      while (at > 0 && name[at - 1] === ch) at--;
      if (EDIT_RANK.has(ch)) edits.push({ at, ch, variant: name });
    }
    return sortEdits(edits);
  }

  /** Listed names that are `candidate` with one character replaced by one of EDIT_ALPHABET. */
  replacements(candidate: string): Edit[] {
    const n = candidate.length;
    const edits: Edit[] = [];
    const tables = this.#tables;
    if (!tables) {
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
    for (const start of tables.nearHalves(n, candidate, half, half)) {
      const name = tables.nameAt(start, n);
      if (name === undefined) continue;
      let at = 0;
      while (at < n && name[at] === candidate[at]) at++;
      if (at === n || !endsMatch(name, at + 1, candidate, at + 1)) continue;
      const ch = name[at]!;
      if (EDIT_RANK.has(ch)) edits.push({ at, ch, variant: name });
    }
    return sortEdits(edits);
  }

  /** Whether a listed name is `candidate` with one character dropped. */
  mayHaveDeletionTwin(candidate: string): boolean {
    const tables = this.#tables;
    if (!tables) return true;
    const n = candidate.length;
    const half = (n - 1) >> 1;
    return tables.nearHalves(n - 1, candidate, half, half + 1).some((start) => {
      const name = tables.nameAt(start, n - 1);
      if (name === undefined) return false;
      let at = 0;
      while (at < n - 1 && name[at] === candidate[at]) at++;
      return endsMatch(candidate, at + 1, name, at);
    });
  }

  /** Whether a listed name is `candidate` with two neighbouring characters swapped. */
  mayHaveSwapTwin(candidate: string): boolean {
    const tables = this.#tables;
    if (!tables) return true;
    const n = candidate.length;
    const half = n >> 1;
    // A swap across the middle keeps neither half: that one is looked up.
    const across = half - 1;
    if (across >= 0 && half < n && candidate[across] !== candidate[half]) {
      const swapped =
        candidate.slice(0, across) + candidate[half] + candidate[across] + candidate.slice(half + 1);
      if (this.find(swapped) !== undefined) return true;
    }
    return tables.nearHalves(n, candidate, half, half).some((start) => {
      const name = tables.nameAt(start, n);
      if (name === undefined) return false;
      let at = 0;
      while (at < n && name[at] === candidate[at]) at++;
      return (
        at < n - 1 &&
        name[at] === candidate[at + 1] &&
        name[at + 1] === candidate[at] &&
        endsMatch(name, at + 2, candidate, at + 2)
      );
    });
  }

  /** Whether some leading part of `lower` is a listed scope (`typesnode` for `@types/node`). */
  mayHaveScopedCopy(lower: string): boolean {
    const tables = this.#tables;
    if (!tables) return true;
    let hash = FNV_OFFSET;
    for (let i = 0; i < lower.length; i++) {
      hash = Math.imul(hash ^ lower.charCodeAt(i), FNV_PRIME);
      if (tables.scopes.has(hash)) return true;
    }
    return false;
  }

  /** Whether every word is a word of some listed name (a reordered name needs all of them). */
  mayHaveWordOrderTwin(words: readonly string[]): boolean {
    if (!this.#tables) return true;
    return words.every((word) => this.wordUses(word) > 0);
  }

  /** Whether a listed unscoped name other than `lower` may differ from it in separators only. */
  mayHaveSeparatorTwin(lower: string): boolean {
    const tables = this.#tables;
    if (!tables) return true;
    let hash = FNV_OFFSET;
    for (let i = 0; i < lower.length; i++) {
      const code = lower.charCodeAt(i);
      if (!isSeparatorCode(code)) hash = Math.imul(hash ^ code, FNV_PRIME);
    }
    const starts: number[] = [];
    tables.flat.positions(hash, starts);
    return starts.some((start) => {
      const name = tables.lineAt(start);
      return name !== lower && name.replace(SEPARATORS, '') === lower.replace(SEPARATORS, '');
    });
  }

  /** Whether any listed scoped package is named `tail` after its scope. */
  mayHaveScopeTwin(tail: string): boolean {
    return !this.#tables || this.#scopesHolding(tail).length > 0;
  }

  /**
   * The variants of `scope` one edit away (Damerau, EDIT_ALPHABET) in the order oneEditVariants
   * spells them; with the tables, only those under which a listed package is named `tail`.
   */
  scopeEdits(scope: string, tail: string): Iterable<string> {
    if (!this.#tables) return oneEditVariants(scope);
    const ranked: [number, string][] = [];
    for (const listed of this.#scopesHolding(tail)) {
      const rank = oneEditRank(scope, listed);
      if (rank !== -1) ranked.push([rank, listed]);
    }
    return ranked.sort((a, b) => a[0] - b[0]).map(([, listed]) => listed);
  }

  #scopesHolding(tail: string): string[] {
    const tables = this.#tables!;
    const starts: number[] = [];
    tables.tails.positions(hashRange(tail, 0, tail.length, FNV_OFFSET), starts);
    const scopes: string[] = [];
    for (const start of starts) {
      const scoped = splitScoped(tables.lineAt(start));
      if (scoped !== null && scoped.tail === tail) scopes.push(scoped.scope);
    }
    return scopes;
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
    const text = this.#lower;
    if (this.#tables && !/[-_./@\n]/.test(word)) {
      // Each scan reads the whole list; the words table answers from the word's own uses.
      this.#words ??= createWordTable(text);
      const starts: number[] = [];
      this.#words.positions(hashRange(word, 0, word.length, FNV_OFFSET), starts);
      return starts.filter((at) => text.startsWith(word, at) && isWordBoundary(text[at + word.length]))
        .length;
    }
    let uses = 0;
    for (let at = text.indexOf(word); at !== -1; at = text.indexOf(word, at + 1)) {
      if (isWordBoundary(text[at - 1]) && isWordBoundary(text[at + word.length])) uses++;
    }
    return uses;
  }
}

function isWordBoundaryCode(code: number): boolean {
  return code === 10 || code === 47 || code === 64 || isSeparatorCode(code);
}

/** Every word of the list text (a run between line breaks, separators, `@` and `/`) by hash. */
function createWordTable(text: string): HashChains {
  let words = 0;
  for (let i = 1; i < text.length; i++) {
    if (isWordBoundaryCode(text.charCodeAt(i)) && !isWordBoundaryCode(text.charCodeAt(i - 1))) words++;
  }
  const table = new HashChains(words);
  let start = 0;
  let hash = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (!isWordBoundaryCode(code)) {
      hash = Math.imul(hash ^ code, FNV_PRIME);
      continue;
    }
    if (i > start) table.add(hash, start);
    start = i + 1;
    hash = FNV_OFFSET;
  }
  return table;
}

/** Whether `a` from `aFrom` on equals `b` from `bFrom` on. */
function endsMatch(a: string, aFrom: number, b: string, bFrom: number): boolean {
  if (a.length - aFrom !== b.length - bFrom) return false;
  for (let i = aFrom, j = bFrom; i < a.length; i++, j++) if (a[i] !== b[j]) return false;
  return true;
}

const EDIT_RANK = new Map([...EDIT_ALPHABET].map((ch, i) => [ch, i]));

/** Edits in the order their variants are spelled out (position, then alphabet), once each. */
function sortEdits(edits: Edit[]): Edit[] {
  if (edits.length < 2) return edits;
  const rank = (edit: Edit): number => edit.at * EDIT_ALPHABET.length + EDIT_RANK.get(edit.ch)!;
  edits.sort((a, b) => rank(a) - rank(b));
  return edits.filter((edit, i) => i === 0 || edit.variant !== edits[i - 1]!.variant);
}

/** Per position, oneEditVariants spells a deletion, a swap, then an insertion and a replacement per character. */
const EDIT_SLOTS = 2 + 2 * EDIT_ALPHABET.length;

/**
 * Where oneEditVariants(word) first spells `variant`, as a number that sorts like the order of
 * the set; -1 when it never does (not one edit away, or a character outside EDIT_ALPHABET).
 */
function oneEditRank(word: string, variant: string): number {
  let at = 0;
  while (at < word.length && at < variant.length && word[at] === variant[at]) at++;
  if (variant.length === word.length - 1) {
    if (!endsMatch(word, at + 1, variant, at)) return -1;
    // Dropping any letter of a run spells the same variant: the first drop counts.
    while (at > 0 && word[at - 1] === word[at]) at--;
    return at * EDIT_SLOTS;
  }
  if (variant.length === word.length + 1) {
    const rank = EDIT_RANK.get(variant[at]!);
    if (rank === undefined || !endsMatch(variant, at + 1, word, at)) return -1;
    while (at > 0 && variant[at - 1] === variant[at]) at--;
    return at * EDIT_SLOTS + 2 + 2 * rank;
  }
  if (variant.length !== word.length || at === word.length) return -1;
  if (endsMatch(word, at + 1, variant, at + 1)) {
    const rank = EDIT_RANK.get(variant[at]!);
    return rank === undefined ? -1 : at * EDIT_SLOTS + 3 + 2 * rank;
  }
  const swapped =
    word[at] === variant[at + 1] && word[at + 1] === variant[at] && endsMatch(word, at + 2, variant, at + 2);
  return swapped ? at * EDIT_SLOTS + 1 : -1;
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
  if (!search.mayHaveScopeTwin(lowerTail)) return hits;
  const lookup = (variant: string): void => {
    const target = search.find(`@${variant}/${lowerTail}`);
    if (target !== undefined) hits.push({ target, technique: 'scope squat', tier: TIER_STRUCTURAL });
  };
  for (const variant of homoglyphVariants(lowerScope).keys()) lookup(variant);
  // Short scopes are one edit from many others by chance.
  if (lowerScope.length >= 4) for (const variant of search.scopeEdits(lowerScope, lowerTail)) lookup(variant);
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
  search.startCandidate();

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
  // Siblings are told apart from squats by the embedded list's figures only, never by live
  // download counts: those are cheap to inflate, and the verdict must not depend on whether the
  // popularity rule happened to fetch them.
  const index = asNameIndex(ctx.popular);
  const lookalike = findLookalike(ctx.name, index);
  if (!lookalike) return [];
  const listed = index.monthlyDownloads(ctx.name);
  const candidateWeekly = listed === undefined ? undefined : weeklyFromMonthly(listed);

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
