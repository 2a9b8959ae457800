// The committed popular list (data/popular-packages.json) as the product ships it: the
// typosquatting tests run against the real data, since the data is part of the rule.
import { readFileSync } from 'node:fs';
import { createPopularIndex, type PopularNameIndex } from '../../src/policy/popular-index.js';

export interface CommittedPopularList {
  asOf: string;
  source: string;
  packages: [string, number][];
}

let list: CommittedPopularList | undefined;
let index: PopularNameIndex | undefined;

export const POPULAR_LIST_FILE = new URL('../../data/popular-packages.json', import.meta.url);

export function committedPopularList(): CommittedPopularList {
  list ??= JSON.parse(readFileSync(POPULAR_LIST_FILE, 'utf8')) as CommittedPopularList;
  return list;
}

/** One index per test file, like one per process in the CLI. */
export function realPopularIndex(): PopularNameIndex {
  index ??= createPopularIndex(committedPopularList());
  return index;
}
