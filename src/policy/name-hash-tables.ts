// Hash tables over the popular list's names, for the look-alike search (lookalike-search.ts):
// they answer "which listed names are within one edit, one separator change or one scope of
// this candidate?" without spelling out every variant. Typed arrays and FNV hashes, no strings
// and no Map entries per name, which is what makes a 20,000-name table cost milliseconds.
export const FNV_OFFSET = 0x811c9dc5 | 0;
export const FNV_PRIME = 16777619;

export function isSeparatorCode(code: number): boolean {
  return code === 45 || code === 95 || code === 46; // - _ .
}

export function hashRange(text: string, from: number, to: number, seed: number): number {
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
export class HashChains {
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
export class NameTables {
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

function isWordBoundaryCode(code: number): boolean {
  return code === 10 || code === 47 || code === 64 || isSeparatorCode(code);
}

/** Every word of the list text (a run between line breaks, separators, `@` and `/`) by hash. */
export function createWordTable(text: string): HashChains {
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
export function endsMatch(a: string, aFrom: number, b: string, bFrom: number): boolean {
  if (a.length - aFrom !== b.length - bFrom) return false;
  for (let i = aFrom, j = bFrom; i < a.length; i++, j++) if (a[i] !== b[j]) return false;
  return true;
}
