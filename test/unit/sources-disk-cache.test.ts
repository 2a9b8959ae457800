import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CACHE_LOG_FILE,
  createDiskCache,
  flushDiskCaches,
  resolveCacheDir,
} from '../../src/sources/disk-cache.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lw-cache-'));
});

afterEach(async () => {
  await flushDiskCaches();
  await rm(dir, { recursive: true, force: true });
});

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('createDiskCache', () => {
  it('round-trips body, etag and fetch time', async () => {
    const cache = createDiskCache(dir);
    const body = Buffer.from('{"name":"x"}\n{"second":"line"}');
    await cache.write('registry:a', 'full:x', { body, etag: '"abc"', fetchedAtMs: 1234 });
    expect(await cache.read('registry:a', 'full:x')).toEqual({ body, etag: '"abc"', fetchedAtMs: 1234 });
    expect(await cache.read('registry:b', 'full:x')).toBeUndefined();
    expect(await cache.read('registry:a', 'full:y')).toBeUndefined();
  });

  it('keeps hostile keys inside the cache directory', async () => {
    const cache = createDiskCache(join(dir, 'cache'));
    for (const key of ['../../escape', '/etc/passwd', '..\\..\\win', '\0nul', '__proto__']) {
      await cache.write('ns', key, { body: Buffer.from('x'), fetchedAtMs: 1 });
      expect((await cache.read('ns', key))?.body.toString()).toBe('x');
    }
    expect(await listFiles(dir)).toEqual([join(dir, 'cache', CACHE_LOG_FILE)]);
  });

  it.each([
    ['truncated record', (raw: Buffer) => raw.subarray(0, raw.length - 3)],
    ['flipped body byte', (raw: Buffer) => Buffer.from(raw).fill(0x41, raw.length - 2, raw.length - 1)],
    ['flipped header byte', (raw: Buffer) => Buffer.from(raw).fill(0x20, 20, 21)],
    ['garbage file', () => Buffer.from('garbage that is not a record at all')],
    ['empty file', () => Buffer.alloc(0)],
  ])('treats a corrupt record (%s) as a miss, in this process and the next', async (_label, corrupt) => {
    const cache = createDiskCache(dir);
    await cache.write('ns', 'k', { body: Buffer.from('{"ok":true}'), fetchedAtMs: 5 });
    const file = join(dir, CACHE_LOG_FILE);
    await writeFile(file, corrupt(await readFile(file)));
    expect(await cache.read('ns', 'k')).toBeUndefined();
    await flushDiskCaches(); // as a new process sees it
    expect(await createDiskCache(dir).read('ns', 'k')).toBeUndefined();
  });

  it('keeps what precedes a damaged region, and the next write compacts it away', async () => {
    const cache = createDiskCache(dir);
    await cache.write('ns', 'a', { body: Buffer.from('first'), fetchedAtMs: 1 });
    const file = join(dir, CACHE_LOG_FILE);
    await appendFile(file, 'torn bytes from a crash mid-write, not a record');
    await flushDiskCaches();
    const next = createDiskCache(dir);
    expect((await next.read('ns', 'a'))?.body.toString()).toBe('first');
    await next.write('ns', 'b', { body: Buffer.from('second'), fetchedAtMs: 2 });
    expect((await readFile(file)).includes('torn bytes')).toBe(false);
    await flushDiskCaches();
    const third = createDiskCache(dir);
    expect((await third.read('ns', 'a'))?.body.toString()).toBe('first');
    expect((await third.read('ns', 'b'))?.body.toString()).toBe('second');
  });

  it('re-dates an unchanged body with a small record instead of a second copy', async () => {
    const cache = createDiskCache(dir);
    const body = Buffer.alloc(100_000, 'x');
    await cache.write('ns', 'k', { body, etag: '"1"', fetchedAtMs: 1 });
    const file = join(dir, CACHE_LOG_FILE);
    const before = (await stat(file)).size;
    await cache.write('ns', 'k', { body: Buffer.from(body), etag: '"2"', fetchedAtMs: 2 });
    expect((await stat(file)).size - before).toBeLessThan(200);
    expect(await cache.read('ns', 'k')).toEqual({ body, etag: '"2"', fetchedAtMs: 2 });
    await flushDiskCaches();
    expect(await createDiskCache(dir).read('ns', 'k')).toEqual({ body, etag: '"2"', fetchedAtMs: 2 });
  });

  it('sees what another process appended, and survives its compaction', async () => {
    // A second path to the same directory is a second store with its own descriptor and index.
    const ours = createDiskCache(dir);
    const theirs = createDiskCache(`${dir}/.`);
    await ours.write('ns', 'mine', { body: Buffer.from('1'), fetchedAtMs: 1 });
    await theirs.write('ns', 'theirs', { body: Buffer.from('2'), fetchedAtMs: 2 });
    expect((await ours.read('ns', 'theirs'))?.body.toString()).toBe('2');
    expect((await theirs.read('ns', 'mine'))?.body.toString()).toBe('1');
    // Enough rewrites of one key to make the dead records worth compacting.
    const big = (fill: string) => Buffer.alloc(9 * 1024 * 1024, fill);
    for (const fill of 'abcdefghi') await theirs.write('ns', 'big', { body: big(fill), fetchedAtMs: 3 });
    const file = join(dir, CACHE_LOG_FILE);
    expect((await stat(file)).size).toBeLessThan(20 * 1024 * 1024);
    expect((await ours.read('ns', 'big'))?.body.equals(big('i'))).toBe(true);
    expect((await ours.read('ns', 'mine'))?.body.toString()).toBe('1');
    await ours.write('ns', 'after', { body: Buffer.from('3'), fetchedAtMs: 4 });
    expect((await theirs.read('ns', 'after'))?.body.toString()).toBe('3');
  });

  it('ignores write failures (the cache only saves time)', async () => {
    const blocker = join(dir, 'file');
    await writeFile(blocker, 'not a directory');
    const cache = createDiskCache(join(blocker, 'cache'));
    await expect(cache.write('ns', 'k', { body: Buffer.from('x'), fetchedAtMs: 1 })).resolves.toBeUndefined();
    expect(await cache.read('ns', 'k')).toBeUndefined();
  });
});

describe('resolveCacheDir', () => {
  it.each([
    [{ override: '/o', env: { LOCKWARDEN_CACHE_DIR: '/l', XDG_CACHE_HOME: '/x', HOME: '/h' } }, '/o'],
    [{ env: { LOCKWARDEN_CACHE_DIR: '/l', XDG_CACHE_HOME: '/x', HOME: '/h' } }, '/l'],
    [{ env: { XDG_CACHE_HOME: '/x', HOME: '/h' } }, '/x/lockwarden'],
    [{ env: { HOME: '/h' } }, '/h/.cache/lockwarden'],
    [{ env: {}, homeDir: '/home/u' }, '/home/u/.cache/lockwarden'],
  ])('%j → %s', (opts, expected) => {
    expect(resolveCacheDir(opts)).toBe(expected);
  });
});
