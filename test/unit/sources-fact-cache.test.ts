import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pruneCache, pruneCacheIfDue, readCacheUsage } from '../../src/sources/cache-maintenance.js';
import { createDiskCache, flushDiskCaches } from '../../src/sources/disk-cache.js';
import {
  createFactCache,
  FACT_CACHE_FILE,
  flushFactCaches,
  pruneFactCache,
} from '../../src/sources/fact-cache.js';
import { pruneDiskCache } from '../../src/sources/prune-disk-cache.js';

const DAY = 86400000;
const T0 = new Date('2026-11-22T12:00:00.000Z');
const REG = 'http://127.0.0.1:9/';
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'lockwarden-facts-'));
});
afterEach(async () => {
  flushFactCaches();
  await flushDiskCaches();
  rmSync(dir, { recursive: true, force: true });
});

describe('fact cache', () => {
  it('keeps the facts of a version across processes, merging what each learned', () => {
    const a = createFactCache(dir, REG, () => T0);
    a.put('left-pad', '1.3.0', { publishedAt: '2018-04-09T00:00:00.000Z', integrity: 'sha512-x' });
    flushFactCaches();
    const b = createFactCache(dir, REG, () => new Date(T0.getTime() + 400 * DAY));
    expect(b.get('left-pad', '1.3.0')).toEqual({
      publishedAt: '2018-04-09T00:00:00.000Z',
      integrity: 'sha512-x',
    });
    b.put('left-pad', '1.3.0', { repository: null, previousVersions: ['1.2.0'] });
    flushFactCaches();
    expect(createFactCache(dir, REG).get('left-pad', '1.3.0')).toEqual({
      publishedAt: '2018-04-09T00:00:00.000Z',
      integrity: 'sha512-x',
      repository: null,
      previousVersions: ['1.2.0'],
    });
    // Another registry's package of the same name is another package.
    expect(createFactCache(dir, 'http://127.0.0.1:8/').get('left-pad', '1.3.0')).toBeUndefined();
  });

  it('keeps what a version bundles (nothing, or scoped and unscoped name@versions) and drops a line with a malformed list', () => {
    const a = createFactCache(dir, REG, () => T0);
    a.put('plain', '1.0.0', { bundled: [] });
    a.put('bund', '2.0.0', {
      bundled: [
        { name: 'inner', version: '1.0.0' },
        { name: '@s/deep', version: '3.0.0-rc.1' },
      ],
    });
    flushFactCaches();
    appendFileSync(
      path.join(dir, FACT_CACHE_FILE),
      `${JSON.stringify({ r: REG, n: 'bad', v: '1.0.0', b: ['no-version@'], u: 1 })}\n`,
    );
    const b = createFactCache(dir, REG, () => T0);
    expect(b.get('plain', '1.0.0')).toEqual({ bundled: [] });
    expect(b.get('bund', '2.0.0')).toEqual({
      bundled: [
        { name: 'inner', version: '1.0.0' },
        { name: '@s/deep', version: '3.0.0-rc.1' },
      ],
    });
    expect(b.get('bad', '1.0.0')).toBeUndefined();
  });

  it('skips torn and foreign lines', () => {
    const c = createFactCache(dir, REG, () => T0);
    c.put('a', '1.0.0', { publishedAt: '2020-01-01T00:00:00Z' });
    flushFactCaches();
    appendFileSync(
      path.join(dir, FACT_CACHE_FILE),
      '{"r":"http://127.0.0.1:9/","n":"b","v":"1.0.0","t":\n[1,2]\n{"r":1}\n',
    );
    const d = createFactCache(dir, REG, () => T0);
    expect(d.get('a', '1.0.0')).toEqual({ publishedAt: '2020-01-01T00:00:00Z' });
    expect(d.get('b', '1.0.0')).toBeUndefined();
  });

  it('refuses a record too large to be a version’s facts', () => {
    const c = createFactCache(dir, REG, () => T0);
    c.put('big', '1.0.0', { repository: 'x'.repeat(20_000) });
    expect(c.get('big', '1.0.0')).toBeUndefined();
  });

  it('prunes what no run used for long, and the least recently used beyond the limit', () => {
    const c = createFactCache(dir, REG, () => T0);
    c.put('old', '1.0.0', { publishedAt: '2020-01-01T00:00:00Z' });
    flushFactCaches();
    const later = new Date(T0.getTime() + 200 * DAY);
    const d = createFactCache(dir, REG, () => later);
    d.put('new', '1.0.0', { publishedAt: '2020-01-01T00:00:00Z' });
    flushFactCaches();
    expect(pruneFactCache(dir, { now: later, unusedDays: 180, maxBytes: 1e6 })).toMatchObject({
      kept: 1,
      removed: 1,
    });
    const text = readFileSync(path.join(dir, FACT_CACHE_FILE), 'utf8');
    expect(text).toContain('"n":"new"');
    expect(text).not.toContain('"n":"old"');
    expect(pruneFactCache(dir, { now: later, unusedDays: 180, maxBytes: 10 })).toMatchObject({ kept: 0 });
  });
});

describe('disk cache prune', () => {
  it('drops documents fetched before the cutoff, except those this process used', async () => {
    const cache = createDiskCache(dir);
    const body = Buffer.alloc(100_000, 1);
    await cache.write('registry:x', 'old', { body, fetchedAtMs: T0.getTime() });
    await cache.write('registry:x', 'older', { body, fetchedAtMs: T0.getTime() - DAY });
    await flushDiskCaches();
    const fresh = createDiskCache(dir);
    expect(await fresh.read('registry:x', 'old')).toBeDefined(); // used by this run
    const result = pruneDiskCache(dir, { fetchedBeforeMs: T0.getTime() + DAY });
    expect(result).toMatchObject({ entries: 1, removed: 1 });
    expect(result!.bytes).toBeLessThan(150_000);
    await flushDiskCaches();
    const next = createDiskCache(dir);
    expect(await next.read('registry:x', 'older')).toBeUndefined();
    expect((await next.read('registry:x', 'old'))?.body.length).toBe(100_000);
  });

  it('keeps the directory under its limit, oldest documents first', async () => {
    const cache = createDiskCache(dir);
    for (let i = 0; i < 10; i++)
      await cache.write('registry:x', `doc${i}`, {
        body: Buffer.alloc(100_000, i),
        fetchedAtMs: T0.getTime() + i,
      });
    await flushDiskCaches();
    const report = pruneCache(dir, { now: T0, maxBytes: 350_000 });
    expect(report.before.documentBytes).toBeGreaterThan(1_000_000);
    expect(readCacheUsage(dir).documentBytes).toBeLessThanOrEqual(350_000);
    await flushDiskCaches();
    const next = createDiskCache(dir);
    expect(await next.read('registry:x', 'doc0')).toBeUndefined();
    expect(await next.read('registry:x', 'doc9')).toBeDefined();
  });

  it('prunes on close at most once an hour by the run clock, and at once when over the limit', async () => {
    const cache = createDiskCache(dir);
    for (let i = 0; i < 3; i++)
      await cache.write('registry:x', `doc${i}`, {
        body: Buffer.alloc(100_000, i),
        fetchedAtMs: T0.getTime(),
      });
    await flushDiskCaches();
    const within = { maxBytes: 1_000_000 };
    expect(pruneCacheIfDue(dir, { now: T0, ...within })).toBeDefined(); // never pruned
    expect(pruneCacheIfDue(dir, { now: new Date(T0.getTime() + 59 * 60_000), ...within })).toBeUndefined();
    expect(pruneCacheIfDue(dir, { now: T0, maxBytes: 250_000 })).toMatchObject({ documentsRemoved: 1 });
    expect(pruneCacheIfDue(dir, { now: new Date(T0.getTime() + 3600_000), ...within })).toBeDefined();
    // A run whose clock is far behind the last prune (`--now` in the past) prunes too.
    expect(pruneCacheIfDue(dir, { now: new Date(T0.getTime() - DAY), ...within })).toBeDefined();
  });
});
