// The parts of TypeScript's standard library semver-honesty compares against: the core (Promise,
// Map, Set, iterables), not the whole of es2022 (which took twice as long for the same findings:
// bench/update-bench.ts, 20 typed packages 8.9 s → 4.9 s) and no lib.dom. A global type left
// unresolved compares as `any`, which can hide a change but never invent one. The Action's bundle
// embeds these files and the ones they reference (scripts/build-action.mjs reads this list).
export const TYPESCRIPT_LIBS = [
  'lib.es5.d.ts',
  'lib.es2015.collection.d.ts',
  'lib.es2015.iterable.d.ts',
  'lib.es2015.promise.d.ts',
  'lib.es2015.symbol.d.ts',
] as const;

/** For JavaScript entry points, read for their export names only. */
export const TYPESCRIPT_LIBS_FOR_JS = ['lib.es5.d.ts'] as const;
