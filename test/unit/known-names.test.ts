import { readFileSync, statSync } from 'node:fs';
import { brotliCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createKnownNames } from '../../src/policy/known-names.js';
import { parseKnownPackages, readKnownNames } from '../../src/sources/known-packages.js';
import { committedPopularList } from '../helpers/real-popular-index.js';

const KNOWN_FILE = new URL('../../data/known-packages.json', import.meta.url);

function shard(names: string[]): [string, string] {
  return [names[0]!, brotliCompressSync(names.join('\n')).toString('base64')];
}

function file(shards: [string, string][], count: number): unknown {
  return { encoding: 'brotli-base64-shards', count, shards };
}

describe('createKnownNames', () => {
  const names = ['@a/b', 'a', 'a-b', 'ab', 'b.js', 'zz'];
  const known = createKnownNames(names.join('\n'));

  it.each(names)('finds %s', (name) => {
    expect(known.has(name)).toBe(true);
  });

  it.each(['', '@a', 'a-', 'aa', 'b', 'b.j', 'zzz', '0', '~', 'a\nab'])('does not find %j', (name) => {
    expect(known.has(name)).toBe(false);
  });

  it('counts its names, and an empty text has none', () => {
    expect(known.size).toBe(6);
    expect(createKnownNames('').size).toBe(0);
    expect(createKnownNames('').has('')).toBe(false);
    expect(createKnownNames('solo').has('solo')).toBe(true);
  });
});

describe('parseKnownPackages', () => {
  const good = file([shard(['a', 'b']), shard(['c', 'd', 'e'])], 5);

  it('finds names in any shard and nothing before the first', () => {
    const known = parseKnownPackages(good, 'test');
    expect(known.size).toBe(5);
    for (const name of ['a', 'b', 'c', 'd', 'e']) expect(known.has(name)).toBe(true);
    for (const name of ['0', 'bb', 'f', '']) expect(known.has(name)).toBe(false);
  });

  it.each([
    ['not an object', null, 'not a JSON object'],
    ['another encoding', { ...(good as object), encoding: 'gzip' }, '"encoding" is "gzip"'],
    ['no count', { ...(good as object), count: -1 }, '"count" is not a count'],
    ['no shards', { ...(good as object), shards: {} }, '"shards" is not an array'],
    [
      'a broken pair',
      file([['a', 1 as unknown as string]], 1),
      'shards[0] is not a [firstName, base64] pair',
    ],
    ['shards out of order', file([shard(['c']), shard(['a'])], 2), 'shards[1] starts before shards[0]'],
  ])('refuses %s, naming the origin', (_, raw, why) => {
    expect(() => parseKnownPackages(raw, 'data/x.json')).toThrow(`data/x.json: ${why}`);
  });

  it('throws on the lookup that meets a shard that does not decode or leaves its range', () => {
    const garbled = parseKnownPackages(file([['a', 'bm90IGJyb3RsaQ==']], 1), 'data/x.json');
    expect(() => garbled.has('a')).toThrow('data/x.json: shards[0] does not decode');
    const overlapping = parseKnownPackages(file([shard(['a', 'd']), shard(['c'])], 3), 'data/x.json');
    expect(() => overlapping.has('b')).toThrow('data/x.json: shards[0] runs past shards[1]');
    const mislabelled = parseKnownPackages(file([['a', shard(['b'])[1]]], 1), 'data/x.json');
    expect(() => mislabelled.has('b')).toThrow('shards[0] does not start with its first name');
  });
});

describe('the shipped list of known names', () => {
  const raw = JSON.parse(readFileSync(KNOWN_FILE, 'utf8')) as {
    count: number;
    ranks: [number, number];
    source: string;
    vetted: string[];
  };
  const known = readKnownNames();

  it('comes from the same download data as the popular list, below its cut-off', () => {
    const popular = committedPopularList();
    expect(raw.source).toBe(popular.source);
    expect(raw.ranks[0]).toBe(popular.packages.length + 1);
    expect(known.size).toBe(raw.count);
    expect(known.size).toBeGreaterThan(150_000);
    // Names on the popular list are not repeated here.
    expect(popular.packages.slice(0, 200).some(([name]) => known.has(name))).toBe(false);
  });

  it('keeps the package under 2 MB more than the popular list alone', () => {
    expect(statSync(KNOWN_FILE).size).toBeLessThan(2_000_000);
  });

  it('holds established look-alikes and leaves squats off', () => {
    // getstream (85 versions) and promise-fs are packages of their own; crossenv (npm's security
    // placeholder after the 2017 malware) and expres (3 versions, 0.02% of express's downloads)
    // live off typing mistakes.
    for (const name of ['getstream', 'promise-fs']) expect(known.has(name)).toBe(true);
    for (const name of ['crossenv', 'expres', 'mongose', 'loadash']) expect(known.has(name)).toBe(false);
    expect(raw.vetted).toContain('getstream');
    expect([...raw.vetted].sort()).toEqual(raw.vetted);
  });
});
