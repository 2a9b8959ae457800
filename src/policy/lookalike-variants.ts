// The spellings an attacker derives from a popular name: separators, homoglyphs, one-edit
// typos, keyboard neighbours, reordered words. Pure string functions shared by the rules
// (lookalike-rules.ts) and the search (lookalike-search.ts).

export const SEPARATOR_CHARS = ['-', '_', '.'] as const;
export const SEPARATORS = /[-_.]/g;
export const EDIT_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789-._';
export const DIGIT = /[0-9]/;

/**
 * Glyphs that read like the target's letters in a terminal or a diff: [glyph, letter]. The
 * digits are the ones written for letters (`l0dash`, `ch4lk`, `typ3script`).
 */
export const HOMOGLYPHS: readonly (readonly [string, string])[] = [
  ['rn', 'm'],
  ['vv', 'w'],
  ['cl', 'd'],
  ['1', 'l'],
  ['1', 'i'],
  ['0', 'o'],
  ['i', 'l'],
  ['5', 's'],
  ['3', 'e'],
  ['4', 'a'],
  ['7', 't'],
  ['8', 'b'],
  ['9', 'g'],
];

/**
 * Glyphs only looked for as written in the candidate (`re4ct` for `react`), never the other way
 * (`ut-a` for a listed `ut-4`): listed names rarely hold these digits, and spelling the letters
 * of every name out as digits would cost every name dozens of lookups.
 */
const WRITTEN_ONLY = new Set(['1i', '3e', '4a', '7t', '8b', '9g']);

function oneWay(glyph: string, letter: string): boolean {
  return WRITTEN_ONLY.has(glyph + letter);
}

/**
 * Words that attackers add to a popular name (`noblox.js-proxy`, `is-buffer-validator`,
 * `ethers-provider2`) and that say nothing of their own. Kept short on purpose: words that
 * real companion packages use (`-cli`, `-utils`, `-core`, `-plugin`) are left out.
 */
export const SQUAT_WORDS = new Set([
  'proxy',
  'proxies',
  'compat',
  'orm',
  'import',
  'validator',
  'provider',
  'official',
  'latest',
  'fixed',
  'patched',
  'secure',
  'updated',
]);

export const PREFIX_AFFIXES = ['node-', 'node', 'npm-', 'js-'];
// `-cli` is left out: `<library>-cli` is how most command-line wrappers are named (postcss-cli,
// ajv-cli); the real `cli` squats (babelcli, gruntcli) are caught as separator changes.
export const SUFFIX_AFFIXES = ['-js', '.js', 'js', '-npm', '-node'];

export function nameWords(name: string): string[] {
  return name
    .toLowerCase()
    .split(/[-_./@]/)
    .filter(Boolean);
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

/** The label of a glyph change: digits for letters are named as such (`a digit for a letter (0 for o)`). */
export function glyphLabel(glyph: string, letter: string, written: string): string {
  return DIGIT.test(written) && written.length === 1
    ? `a digit for a letter (${written} for ${written === glyph ? letter : glyph})`
    : `homoglyph ${glyph}/${letter}`;
}

/**
 * A digit typed for the letter below it (`exp4ess`: `4` sits above `e` and `r`): the number row
 * is half a key left of the top letter row.
 */
export function digitRowAdjacent(digit: string, letter: string): boolean {
  const column = '1234567890'.indexOf(digit);
  const key = KEY_POSITIONS.get(letter);
  return column !== -1 && key !== undefined && key.row === 0 && Math.abs(key.x - column) <= 1;
}

/** Letters next to each other on a QWERTY keyboard. Digits in names are deliberate, so no digits. */
export function keyboardAdjacent(a: string, b: string): boolean {
  const pa = KEY_POSITIONS.get(a);
  const pb = KEY_POSITIONS.get(b);
  if (!pa || !pb || a === b) return false;
  return Math.abs(pa.row - pb.row) <= 1 && Math.abs(pa.x - pb.x) <= 1;
}

/** The label when `written` stands for `meant` as a homoglyph, or null. */
export function singleHomoglyph(written: string, meant: string): string | null {
  for (const [glyph, letter] of HOMOGLYPHS) {
    if (
      (written === glyph && meant === letter) ||
      (written === letter && meant === glyph && !oneWay(glyph, letter))
    ) {
      return glyphLabel(glyph, letter, written);
    }
  }
  return null;
}

/** Every spelling one edit away (Damerau: delete, insert, replace, swap neighbours). */
export function oneEditVariants(word: string): Set<string> {
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
export function homoglyphVariants(word: string): Map<string, string> {
  const variants = new Map<string, string>();
  for (const [glyph, letter] of HOMOGLYPHS) {
    for (const [from, to] of [
      [glyph, letter],
      [letter, glyph],
    ] as const) {
      if (!word.includes(from) || (from === letter && oneWay(glyph, letter))) continue;
      const label = glyphLabel(glyph, letter, from);
      variants.set(word.split(from).join(to), label);
      for (let i = word.indexOf(from); i !== -1; i = word.indexOf(from, i + 1)) {
        variants.set(word.slice(0, i) + to + word.slice(i + from.length), label);
      }
    }
  }
  variants.delete(word);
  return variants;
}

/** Separator variants: changed, dropped, or added (one anywhere, or two in a name without any). */
export function separatorVariants(lower: string): Set<string> {
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

export function permutations(words: readonly string[]): string[][] {
  if (words.length <= 1) return [[...words]];
  const out: string[][] = [];
  words.forEach((word, i) => {
    for (const rest of permutations([...words.slice(0, i), ...words.slice(i + 1)])) out.push([word, ...rest]);
  });
  return out;
}
