// The spellings an attacker derives from a popular name: separators, homoglyphs, one-edit
// typos, keyboard neighbours, reordered words. Pure string functions shared by the rules
// (lookalike-rules.ts) and the search (lookalike-search.ts).

export const SEPARATOR_CHARS = ['-', '_', '.'] as const;
export const SEPARATORS = /[-_.]/g;
export const EDIT_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789-._';
export const DIGIT = /[0-9]/;

/** Glyphs that read like the target's letters in a terminal or a diff: [glyph, letter]. */
export const HOMOGLYPHS: readonly (readonly [string, string])[] = [
  ['rn', 'm'],
  ['vv', 'w'],
  ['cl', 'd'],
  ['1', 'l'],
  ['0', 'o'],
  ['i', 'l'],
  ['5', 's'],
];

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

/** Letters next to each other on a QWERTY keyboard. Digits in names are deliberate, so no digits. */
export function keyboardAdjacent(a: string, b: string): boolean {
  const pa = KEY_POSITIONS.get(a);
  const pb = KEY_POSITIONS.get(b);
  if (!pa || !pb || a === b) return false;
  return Math.abs(pa.row - pb.row) <= 1 && Math.abs(pa.x - pb.x) <= 1;
}

export function singleHomoglyph(a: string, b: string): string | null {
  for (const [glyph, letter] of HOMOGLYPHS) {
    if ((a === glyph && b === letter) || (a === letter && b === glyph)) return `homoglyph ${glyph}/${letter}`;
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
