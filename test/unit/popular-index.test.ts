import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  createPopularIndex,
  isPopularNameIndex,
  type PopularListInput,
  WEEKS_PER_MONTH,
  weeklyFromMonthly,
} from '../../src/policy/popular-index.js';
import type { PopularIndex } from '../../src/policy/types.js';
import { committedPopularList, POPULAR_LIST_FILE } from '../helpers/real-popular-index.js';

function makeList(packages: PopularListInput['packages']): PopularListInput {
  return { asOf: '2026-03-01', packages };
}

describe('createPopularIndex', () => {
  it.each([
    [
      'compact pairs',
      makeList([
        ['react', 400],
        ['preact', 50],
        ['@types/node', 900],
      ]),
    ],
    [
      'objects',
      makeList([
        { name: 'react', monthlyDownloads: 400 },
        { name: 'preact', monthlyDownloads: 50 },
        { name: '@types/node', monthlyDownloads: 900 },
      ]),
    ],
  ])('reads %s', (_, input) => {
    const index = createPopularIndex(input);
    expect(index.asOf).toBe('2026-03-01');
    expect(index.size).toBe(3);
    expect(index.monthlyDownloads('react')).toBe(400);
    expect(index.monthlyDownloads('@types/node')).toBe(900);
    expect(index.monthlyDownloads('reactt')).toBeUndefined();
    expect(index.has('preact')).toBe(true);
    expect(index.has('Preact')).toBe(false);
    expect(index.names()).toEqual(['@types/node', 'react', 'preact']);
  });

  it('keeps the highest count of a duplicate and drops entries it cannot trust', () => {
    const index = createPopularIndex(
      makeList([
        ['a', 10],
        ['a', 30],
        ['b', Number.NaN],
        ['c', -1],
        ['d', Number.POSITIVE_INFINITY],
        [42 as unknown as string, 5],
        ['e', '7' as unknown as number],
        ['f', 0],
      ]),
    );
    expect([...index.names()]).toEqual(['a', 'f']);
    expect(index.monthlyDownloads('a')).toBe(30);
    expect(index.has('b')).toBe(false);
    expect(index.has('42')).toBe(false);
  });

  it('orders unsorted input by downloads, ties by name', () => {
    const index = createPopularIndex(
      makeList([
        ['b', 5],
        ['z', 9],
        ['a', 5],
        ['m', 1],
      ]),
    );
    expect(index.names()).toEqual(['z', 'a', 'b', 'm']);
  });

  it('keeps a list that is already most downloaded first in its own order, ties included', () => {
    const index = createPopularIndex(
      makeList([
        ['b', 9],
        ['z', 5],
        ['a', 5],
        ['m', 1],
      ]),
    );
    expect(index.names()).toEqual(['b', 'z', 'a', 'm']);
  });

  it('treats hostile names as plain keys', () => {
    const index = createPopularIndex(
      makeList([
        ['__proto__', 3],
        ['constructor', 2],
      ]),
    );
    expect(index.monthlyDownloads('__proto__')).toBe(3);
    expect(index.monthlyDownloads('toString')).toBeUndefined();
    expect(index.has('hasOwnProperty')).toBe(false);
  });

  it('builds nothing until asked', () => {
    let reads = 0;
    const packages = new Proxy([['a', 1]] as [string, number][], {
      get(target, key, receiver) {
        reads++;
        return Reflect.get(target, key, receiver);
      },
    });
    const index = createPopularIndex(makeList(packages));
    expect(reads).toBe(0);
    expect(index.has('a')).toBe(true);
    expect(reads).toBeGreaterThan(0);
  });
});

describe('isPopularNameIndex', () => {
  it.each([
    ['an index from createPopularIndex', createPopularIndex(makeList([])), true],
    [
      'a bare PopularIndex',
      { asOf: '2026-03-01', monthlyDownloads: () => undefined } satisfies PopularIndex,
      false,
    ],
  ])('%s -> %s', (_, index, expected) => {
    expect(isPopularNameIndex(index)).toBe(expected);
  });
});

describe('weeklyFromMonthly', () => {
  it.each([
    [0, 0],
    [43, 10],
    [150_500_000, 35_000_000],
    [1, 0],
  ])('%d a month -> %d a week', (monthly, weekly) => {
    expect(weeklyFromMonthly(monthly)).toBe(weekly);
    expect(WEEKS_PER_MONTH).toBe(4.3);
  });
});

describe('the committed list (data/popular-packages.json)', () => {
  const list = committedPopularList();

  it('says where its counts come from and when', () => {
    expect(list.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(Number.isNaN(Date.parse(`${list.asOf}T00:00:00Z`))).toBe(false);
    expect(list.source).toMatch(/^download-counts@\d+\.\d+\.\d+/);
  });

  it('holds about 20,000 unique names, most downloaded first, with whole positive counts', () => {
    const { packages } = list;
    expect(packages.length).toBeGreaterThanOrEqual(19_000);
    expect(packages.length).toBeLessThanOrEqual(21_000);
    expect(new Set(packages.map(([name]) => name)).size).toBe(packages.length);
    const unsorted = packages.findIndex(([, count], i) => i > 0 && count > packages[i - 1]![1]);
    expect(unsorted).toBe(-1);
    const bad = packages.filter(
      ([name, count]) =>
        typeof name !== 'string' ||
        !/^(@[\w.~-]+\/)?[\w.~-]+$/.test(name) ||
        !Number.isInteger(count) ||
        count <= 0,
    );
    expect(bad).toEqual([]);
  });

  it('is compact: one line, no indentation', () => {
    const text = readFileSync(POPULAR_LIST_FILE, 'utf8');
    expect(text.trimEnd().includes('\n')).toBe(false);
    expect(text.startsWith('{"asOf":')).toBe(true);
  });

  it('has the packages everybody installs near the top', () => {
    const index = createPopularIndex(list);
    const rank = new Map(index.names().map((name, i) => [name, i]));
    for (const name of ['semver', 'debug', 'react', 'typescript', 'lodash', '@types/node', 'express']) {
      expect(rank.get(name), name).toBeLessThan(1000);
    }
  });
});
