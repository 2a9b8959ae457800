// Typosquatting: does a name that is not popular look like one that is? Every rule here is a
// transformation seen in real npm attacks (crossenv, electorn, jquery.js, @acitons/artifact,
// rnocha...). The list of targets is the embedded popular list, so the check needs no network.
//
// False positives are the cost to watch: a flagged name blocks an install. So a candidate that
// is itself on the list, or that has a fair share of the target's downloads, is never a squat,
// and short names, which collide by chance, only match by the structural rules.
import { isPopularNameIndex, type PopularNameIndex, weeklyFromMonthly } from './popular-index.js';
import type { Finding, GuardrailContext } from './types.js';

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
   * Look for a target even when the candidate is on the list itself (it is never its own
   * target). Only for measuring the rules against the list.
   */
  includePopular?: boolean;
}

/**
 * A candidate with at least this share of the target's downloads is a sibling, not a squat.
 * Typing mistakes bring a squat well under a thousandth of its target's traffic; real
 * alternatives with look-alike names (preact/react 15%, safer-buffer/safe-buffer 40%,
 * chai/chalk 11%) sit far above 2%, and inflating downloads to 2% of a popular package
 * costs an attacker millions of fake downloads a week.
 */
export const FAIR_SHARE_RATIO = 0.02;

/** npm refuses longer names; anything longer is not worth generating variants for. */
const MAX_NAME_LENGTH = 214;

/**
 * A change that is no common typo (`one edit`) only counts against the top of the list (about
 * the 2,000 most downloaded packages) and for names of 6+ characters: lower down, such pairs
 * are mostly independent packages (`tryer`/`tryor`, `saxen`/`saxes`).
 */
export const WEAK_EDIT_MIN_MONTHLY_DOWNLOADS = 50_000_000;
const WEAK_EDIT_MIN_LENGTH = 6;

const SEPARATORS = /[-_.]/g;
const EDIT_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789-._';

/** Pairs that read alike in a terminal or a diff; the first is what an attacker writes. */
const MULTI_HOMOGLYPHS: readonly (readonly [string, string])[] = [
  ['rn', 'm'],
  ['vv', 'w'],
  ['cl', 'd'],
];
const SINGLE_HOMOGLYPHS: readonly (readonly [string, string])[] = [
  ['1', 'l'],
  ['0', 'o'],
  ['i', 'l'],
  ['5', 's'],
];

const PREFIX_AFFIXES = ['node-', 'node', 'npm-', 'js-'];
// `-cli` is left out: `<library>-cli` is how most command-line wrappers are named (postcss-cli,
// ajv-cli); the real `cli` squats (babelcli, gruntcli) are caught as separator changes.
const SUFFIX_AFFIXES = ['-js', '.js', 'js', '-npm', '-node'];

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

interface LookalikeTables {
  /** Lower-cased unscoped name -> the name as listed. */
  lower: Map<string, string>;
  /** Lower-cased name without separators -> most downloaded unscoped name with that key. */
  flat: Map<string, string>;
  /** `flat` with homoglyphs folded. */
  homoglyph: Map<string, string>;
  /** Sorted words (2+) -> most downloaded unscoped name made of those words. */
  wordOrder: Map<string, string>;
  /** Scope and name run together (`typesnode`) -> scoped name (`@types/node`). */
  scopedFlat: Map<string, string>;
  /** Unscoped part -> scoped names with it, most downloaded first. */
  scopedByTail: Map<string, string[]>;
  /** Every scope on the list (without `@`). */
  scopes: Set<string>;
  /** Words of popular names (split on separators and `/`) -> how many names use them. */
  vocabulary: Map<string, number>;
}

const tablesCache = new WeakMap<PopularNameIndex, LookalikeTables>();

function flatKey(name: string): string {
  return name.toLowerCase().replace(SEPARATORS, '');
}

function homoglyphKey(flat: string): string {
  let key = flat;
  for (const [from, to] of MULTI_HOMOGLYPHS) key = key.split(from).join(to);
  for (const [from, to] of SINGLE_HOMOGLYPHS) key = key.split(from).join(to);
  return key;
}

function nameWords(name: string): string[] {
  return name
    .toLowerCase()
    .split(/[-_./@]/)
    .filter(Boolean);
}

function wordsKey(name: string): string | null {
  const words = name.toLowerCase().split(SEPARATORS).filter(Boolean);
  if (words.length < 2) return null;
  return words.sort().join('-');
}

function splitScoped(name: string): { scope: string; tail: string } | null {
  if (!name.startsWith('@')) return null;
  const slash = name.indexOf('/');
  if (slash < 2 || slash === name.length - 1) return null;
  return { scope: name.slice(1, slash), tail: name.slice(slash + 1) };
}

function setFirst(map: Map<string, string>, key: string, name: string): void {
  if (!map.has(key)) map.set(key, name);
}

function lookalikeTables(index: PopularNameIndex): LookalikeTables {
  const cached = tablesCache.get(index);
  if (cached) return cached;
  const tables: LookalikeTables = {
    lower: new Map(),
    flat: new Map(),
    homoglyph: new Map(),
    wordOrder: new Map(),
    scopedFlat: new Map(),
    scopedByTail: new Map(),
    scopes: new Set(),
    vocabulary: new Map(),
  };
  // Entries come most downloaded first, so the first name to claim a key is the best target.
  for (const { name } of index.entries()) {
    for (const word of new Set(nameWords(name))) {
      tables.vocabulary.set(word, (tables.vocabulary.get(word) ?? 0) + 1);
    }
    const scoped = splitScoped(name);
    if (scoped) {
      tables.scopes.add(scoped.scope.toLowerCase());
      setFirst(tables.scopedFlat, flatKey(scoped.scope + scoped.tail), name);
      const tail = scoped.tail.toLowerCase();
      const list = tables.scopedByTail.get(tail);
      if (list) list.push(name);
      else tables.scopedByTail.set(tail, [name]);
      continue;
    }
    const flat = flatKey(name);
    setFirst(tables.lower, name.toLowerCase(), name);
    setFirst(tables.flat, flat, name);
    setFirst(tables.homoglyph, homoglyphKey(flat), name);
    const words = wordsKey(name);
    if (words) setFirst(tables.wordOrder, words, name);
  }
  tablesCache.set(index, tables);
  return tables;
}

// QWERTY positions with each row's stagger, so that `g` neighbours `t`, `y`, `f`, `h`, `v`, `b`.
const KEY_ROWS: readonly (readonly [string, number])[] = [
  ['1234567890-', 0],
  ['qwertyuiop', 0.5],
  ['asdfghjkl', 0.75],
  ['zxcvbnm', 1.25],
];
const KEY_POSITIONS = new Map<string, { row: number; x: number }>();
KEY_ROWS.forEach(([keys, offset], row) => {
  for (let i = 0; i < keys.length; i++) KEY_POSITIONS.set(keys[i]!, { row, x: i + offset });
});

function keyboardAdjacent(a: string, b: string): boolean {
  const pa = KEY_POSITIONS.get(a);
  const pb = KEY_POSITIONS.get(b);
  // Digits sit a row away from the letters they would replace; in names they are deliberate.
  if (!pa || !pb || a === b || pa.row === 0 || pb.row === 0) return false;
  return Math.abs(pa.row - pb.row) <= 1 && Math.abs(pa.x - pb.x) <= 1;
}

function singleHomoglyph(a: string, b: string): string | null {
  for (const [x, y] of SINGLE_HOMOGLYPHS) {
    if ((a === x && b === y) || (a === y && b === x)) return `homoglyph ${x}/${y}`;
  }
  return null;
}

/** Which multi-character homoglyph pair turns the candidate into the target, for the message. */
function homoglyphLabel(candidate: string, target: string): string {
  const pairs = [...MULTI_HOMOGLYPHS, ...SINGLE_HOMOGLYPHS].filter(
    ([from, to]) => candidate.includes(from) && target.includes(to) && !target.includes(from),
  );
  return pairs.length > 0 ? `homoglyph ${pairs.map(([f, t]) => `${f}/${t}`).join(', ')}` : 'homoglyph';
}

/** Damerau distance 1 with the scopes as the strings; short scopes collide by chance. */
function scopesLookAlike(candidate: string, target: string): boolean {
  if (candidate === target) return false;
  const fc = flatKey(candidate);
  const ft = flatKey(target);
  if (fc === ft || homoglyphKey(fc) === homoglyphKey(ft)) return true;
  if (Math.min(candidate.length, target.length) < 4) return false;
  return withinOneEdit(candidate, target);
}

function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (a.length === b.length) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true;
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  return a.length > b.length ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

/**
 * Whether the words that differ between candidate and target are words that other popular
 * names use (`notion-utils` vs `motion-utils`, `is-blob` vs `is-glob`): then the name says
 * something else rather than misspelling the target.
 */
function changesToKnownWord(
  candidate: string,
  target: string,
  tables: LookalikeTables,
  candidateIsListed: boolean,
): boolean {
  const candidateWords = nameWords(candidate);
  const targetWords = nameWords(target);
  if (candidateWords.length !== targetWords.length) return false;
  const own = new Set(candidateWords);
  const changed = candidateWords.filter((word, i) => word !== targetWords[i]);
  if (changed.length === 0) return false;
  return changed.every((word) => {
    // A listed candidate counts its own name once; it must not vouch for itself.
    const uses = (tables.vocabulary.get(word) ?? 0) - (candidateIsListed && own.has(word) ? 1 : 0);
    return uses > 0;
  });
}

/** Hits for a scoped candidate: the same package under a look-alike scope. */
function scopedHits(scope: string, tail: string, tables: LookalikeTables): Hit[] {
  const lowerScope = scope.toLowerCase();
  // A scope on the list belongs to someone who publishes popular packages: whatever they
  // publish next under it is theirs, not a squat.
  if (tables.scopes.has(lowerScope)) return [];
  const hits: Hit[] = [];
  for (const target of tables.scopedByTail.get(tail.toLowerCase()) ?? []) {
    const targetScope = splitScoped(target)!.scope.toLowerCase();
    if (scopesLookAlike(lowerScope, targetScope)) {
      hits.push({ target, technique: 'scope squat', tier: TIER_STRUCTURAL });
    }
  }
  return hits;
}

const DIGIT = /[0-9]/;

function editHits(candidate: string, tables: LookalikeTables): Hit[] {
  const hits: Hit[] = [];
  const n = candidate.length;
  const found = (variant: string, technique: string, tier: number): void => {
    const target = tables.lower.get(variant);
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

function unscopedHits(candidate: string, tables: LookalikeTables): Hit[] {
  const hits: Hit[] = [];
  const lower = candidate.toLowerCase();
  const flat = flatKey(candidate);

  const sameFlat = tables.flat.get(flat);
  if (sameFlat !== undefined && sameFlat !== candidate && flat.length >= 2) {
    const technique = sameFlat.toLowerCase() === lower ? 'case changed' : 'separator changed';
    hits.push({ target: sameFlat, technique, tier: TIER_STRUCTURAL });
  }

  // Babel 6 published every `@babel/x` as `babel-x` before scopes existed.
  const copied = tables.scopedFlat.get(flat);
  if (copied !== undefined && flat.length >= 6 && !copied.startsWith('@babel/')) {
    hits.push({ target: copied, technique: `unscoped copy of ${copied}`, tier: TIER_STRUCTURAL });
  }

  if (lower.length >= 4) {
    const glyphTarget = tables.homoglyph.get(homoglyphKey(flat));
    if (glyphTarget !== undefined && flatKey(glyphTarget) !== flat) {
      hits.push({
        target: glyphTarget,
        technique: homoglyphLabel(flat, flatKey(glyphTarget)),
        tier: TIER_STRUCTURAL,
        spelling: true,
      });
    }
  }

  const words = wordsKey(candidate);
  if (words) {
    const reordered = tables.wordOrder.get(words);
    if (reordered !== undefined && flatKey(reordered) !== flat) {
      hits.push({ target: reordered, technique: 'word order changed', tier: TIER_TYPO });
    }
  }

  // Plural either way; short words are too often real words with and without the `s`. An `s`
  // next to another (`expres`, `expresss` for `express`) is a plain typo.
  if (lower.endsWith('s') && lower.length >= 5) {
    const target = tables.lower.get(lower.slice(0, -1));
    const technique = lower.endsWith('ss') ? 'character repeated' : 'plural';
    if (target !== undefined) hits.push({ target, technique, tier: TIER_TYPO, spelling: true });
  }
  if (lower.length >= 4) {
    const target = tables.lower.get(`${lower}s`);
    const technique = lower.endsWith('s') ? 'one character omitted' : 'plural';
    if (target !== undefined) hits.push({ target, technique, tier: TIER_TYPO, spelling: true });
  }

  for (const prefix of PREFIX_AFFIXES) {
    if (lower.startsWith(prefix)) {
      const target = tables.lower.get(lower.slice(prefix.length));
      if (target !== undefined) hits.push({ target, technique: `npm affix added (${prefix})`, tier: TIER_AFFIX });
    }
  }
  for (const suffix of SUFFIX_AFFIXES) {
    if (lower.endsWith(suffix)) {
      const target = tables.lower.get(lower.slice(0, -suffix.length));
      if (target !== undefined) hits.push({ target, technique: `npm affix added (${suffix})`, tier: TIER_AFFIX });
    }
  }

  // `colors-2.0`, `lodash-4`, `react18.2`: a version set off by a separator or written with dots.
  // A bare trailing digit is left alone: forks are named that way (`mkdirp2`, `diff3`).
  const versioned = /^(.*[a-z])(?:[-.]v?\d+(?:\.\d+){0,2}|v?\d+\.\d+(?:\.\d+)?)$/.exec(lower);
  if (versioned && versioned[1]!.length >= 4) {
    const target = tables.lower.get(versioned[1]!);
    if (target !== undefined) hits.push({ target, technique: 'version digit appended', tier: TIER_AFFIX });
  }

  hits.push(...editHits(lower, tables));
  return hits;
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
  if (!options.includePopular && index.has(name)) return null;
  const tables = lookalikeTables(index);

  const scoped = splitScoped(name);
  const hits = scoped ? scopedHits(scoped.scope, scoped.tail, tables) : unscopedHits(name, tables);

  let best: (Hit & { monthly: number }) | null = null;
  for (const hit of hits) {
    if (hit.target === name) continue;
    const monthly = index.monthlyDownloads(hit.target);
    if (monthly === undefined) continue;
    if (hit.spelling && changesToKnownWord(name, hit.target, tables, options.includePopular === true)) continue;
    if (
      hit.tier === TIER_WEAK &&
      (monthly < WEAK_EDIT_MIN_MONTHLY_DOWNLOADS || name.length < WEAK_EDIT_MIN_LENGTH)
    ) {
      continue;
    }
    const candidateWeekly = options.candidateWeeklyDownloads;
    if (candidateWeekly !== undefined && candidateWeekly >= weeklyFromMonthly(monthly) * FAIR_SHARE_RATIO) {
      continue;
    }
    if (options.includePopular) {
      // The candidate's own list entry stands in for its weekly downloads.
      const own = index.monthlyDownloads(name);
      if (own !== undefined && own >= monthly * FAIR_SHARE_RATIO) continue;
    }
    if (!best || hit.tier < best.tier || (hit.tier === best.tier && monthly > best.monthly)) {
      best = { ...hit, monthly };
    }
  }
  return best ? { target: best.target, targetMonthlyDownloads: best.monthly, technique: best.technique } : null;
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

/** The typosquatting guardrail: at most one finding, naming the package the name imitates. */
export function evaluateTyposquatting(ctx: GuardrailContext): Finding[] {
  if (!ctx.policy.typosquatting) return [];
  if (!isPopularNameIndex(ctx.popular)) {
    throw new TypeError('evaluateTyposquatting needs the popular index from createPopularIndex');
  }
  const downloads = ctx.facts.weeklyDownloads;
  const candidateWeekly = downloads?.status === 'ok' ? downloads.value.count : undefined;
  const lookalike = findLookalike(ctx.name, ctx.popular, { candidateWeeklyDownloads: candidateWeekly });
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
