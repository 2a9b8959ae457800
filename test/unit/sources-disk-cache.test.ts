import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDiskCache, resolveCacheDir } from '../../src/sources/disk-cache.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lw-cache-'));
});

afterEach(async () => {
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
    const files = await listFiles(dir);
    expect(files).toHaveLength(5);
    for (const file of files) expect(file).toMatch(new RegExp(`^${dir}/cache/[0-9a-f]{2}/[0-9a-f]{64}$`));
  });

  it.each([
    ['truncated body', (raw: Buffer) => raw.subarray(0, raw.length - 3)],
    ['no header line', () => Buffer.from('garbage without newline')],
    ['header not JSON', (raw: Buffer) => Buffer.concat([Buffer.from('{nope\n'), raw])],
    ['empty file', () => Buffer.alloc(0)],
  ])('treats a corrupt entry (%s) as a miss', async (_label, corrupt) => {
    const cache = createDiskCache(dir);
    await cache.write('ns', 'k', { body: Buffer.from('{"ok":true}'), fetchedAtMs: 5 });
    const [file] = await listFiles(dir);
    await writeFile(file!, corrupt(await readFile(file!)));
    expect(await cache.read('ns', 'k')).toBeUndefined();
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
