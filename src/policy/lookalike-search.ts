// The look-alike search's view of the popular list: exact lookups (with the letter case of old
// names such as `JSONStream`), scopes, word counts, and the listed names one edit away from a
// candidate. It spells variants out for the first few candidates of an index, then builds hash
// tables (name-hash-tables.ts) that narrow the search; the answers are the same either way, in
// the same order (test/unit/typosquatting.test.ts compares them name for name).

import { EDIT_ALPHABET, oneEditVariants, SEPARATORS } from './lookalike-variants.js';
import {
  createWordTable,
  endsMatch,
  FNV_OFFSET,
  FNV_PRIME,
  type HashChains,
  hashRange,
  isSeparatorCode,
  NameTables,
} from './name-hash-tables.js';
import type { PopularNameIndex } from './popular-index.js';

/** One edit that turns the candidate into a listed name: `ch` inserted at, or put at, `at`. */
export interface Edit {
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

/** What the search needs besides exact lookups, each part built on first use. */
export class SearchIndex {
  readonly index: PopularNameIndex;
  #text?: string;
  #lowerText?: string;
  #mixedCase?: Map<string, string>;
  #scopes?: Set<string>;
  #candidates = 0;
  /** Undefined until enough names have been checked, and for a list that cannot be walked. */
  #tables?: NameTables;
  #words?: HashChains;

  /** Never builds the tables: the plain search that proves the tables change no verdict. */
  readonly #spellOut: boolean;

  constructor(index: PopularNameIndex, spellOut = false) {
    this.index = index;
    this.#spellOut = spellOut;
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
    if (this.#spellOut || this.#tables || ++this.#candidates <= SPELLED_OUT_CANDIDATES) return;
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
const spelledOutCache = new WeakMap<PopularNameIndex, SearchIndex>();

/** One search per index (and per mode), like one index per process. */
export function searchIndex(index: PopularNameIndex, spellOut = false): SearchIndex {
  const cache = spellOut ? spelledOutCache : searchCache;
  let search = cache.get(index);
  if (!search) {
    search = new SearchIndex(index, spellOut);
    cache.set(index, search);
  }
  return search;
}

export function splitScoped(name: string): { scope: string; tail: string } | null {
  if (!name.startsWith('@')) return null;
  const slash = name.indexOf('/');
  if (slash < 2 || slash === name.length - 1) return null;
  return { scope: name.slice(1, slash), tail: name.slice(slash + 1) };
}
