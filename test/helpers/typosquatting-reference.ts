// The look-alike search without its hash tables: every rule spells out each variant and looks
// it up. The tables only narrow the search, so the product's verdicts must equal these name for
// name; the tests compare the two on real and hostile names.
import { type FindLookalikeOptions, findLookalike, type Lookalike } from '../../src/policy/find-lookalike.js';
import type { PopularNameIndex } from '../../src/policy/popular-index.js';

export function findLookalikeBySpelling(
  name: string,
  index: PopularNameIndex,
  options: FindLookalikeOptions = {},
): Lookalike | null {
  return findLookalike(name, index, { ...options, spellOut: true });
}
