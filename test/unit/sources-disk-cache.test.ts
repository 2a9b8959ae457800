import {
  appendFileSync,
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import {
  appendFile,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  truncate,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CACHE_LOG_FILE } from '../../src/sources/cache-log.js';
import { createDiskCache, flushDiskCaches, resolveCacheDir } from '../../src/sources/disk-cache.js';

let dir: string;
/** The log's own logic, with every body on the synchronous path (the async one is tested below). */
const SYNC = { syncIoMaxBytes: Number.POSITIVE_INFINITY };

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
    const cache = createDiskCache(dir, SYNC);
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
    const cache = createDiskCache(dir, SYNC);
    await cache.write('ns', 'k', { body: Buffer.from('{"ok":true}'), fetchedAtMs: 5 });
    const file = join(dir, CACHE_LOG_FILE);
    await writeFile(file, corrupt(await readFile(file)));
    expect(await cache.read('ns', 'k')).toBeUndefined();
    await flushDiskCaches(); // as a new process sees it
    expect(await createDiskCache(dir, SYNC).read('ns', 'k')).toBeUndefined();
  });

  it('keeps what precedes a damaged region, and the next write compacts it away', async () => {
    const cache = createDiskCache(dir, SYNC);
    await cache.write('ns', 'a', { body: Buffer.from('first'), fetchedAtMs: 1 });
    const file = join(dir, CACHE_LOG_FILE);
    await appendFile(file, 'torn bytes from a crash mid-write, not a record');
    await flushDiskCaches();
    const next = createDiskCache(dir, SYNC);
    expect((await next.read('ns', 'a'))?.body.toString()).toBe('first');
    await next.write('ns', 'b', { body: Buffer.from('second'), fetchedAtMs: 2 });
    expect((await readFile(file)).includes('torn bytes')).toBe(false);
    await flushDiskCaches();
    const third = createDiskCache(dir, SYNC);
    expect((await third.read('ns', 'a'))?.body.toString()).toBe('first');
    expect((await third.read('ns', 'b'))?.body.toString()).toBe('second');
  });

  it('re-dates an unchanged body with a small record instead of a second copy', async () => {
    const cache = createDiskCache(dir, SYNC);
    const body = Buffer.alloc(100_000, 'x');
    await cache.write('ns', 'k', { body, etag: '"1"', fetchedAtMs: 1 });
    const file = join(dir, CACHE_LOG_FILE);
    const before = (await stat(file)).size;
    await cache.write('ns', 'k', { body: Buffer.from(body), etag: '"2"', fetchedAtMs: 2 });
    expect((await stat(file)).size - before).toBeLessThan(200);
    expect(await cache.read('ns', 'k')).toEqual({ body, etag: '"2"', fetchedAtMs: 2 });
    await flushDiskCaches();
    expect(await createDiskCache(dir, SYNC).read('ns', 'k')).toEqual({ body, etag: '"2"', fetchedAtMs: 2 });
  });

  it('sees what another process appended, and survives its compaction', async () => {
    // A second path to the same directory is a second store with its own descriptor and index.
    const ours = createDiskCache(dir, SYNC);
    const theirs = createDiskCache(`${dir}/.`);
    await ours.write('ns', 'mine', { body: Buffer.from('1'), fetchedAtMs: 1 });
    await theirs.write('ns', 'theirs', { body: Buffer.from('2'), fetchedAtMs: 2 });
    expect((await ours.read('ns', 'theirs'))?.body.toString()).toBe('2');
    expect((await theirs.read('ns', 'mine'))?.body.toString()).toBe('1');
    // Enough rewrites of one key to make the dead records worth compacting.
    const big = (fill: string) => Buffer.alloc(9 * 1024 * 1024, fill);
    for (const fill of 'abcdefghi') await theirs.write('ns', 'big', { body: big(fill), fetchedAtMs: 3 });
    const file = join(dir, CACHE_LOG_FILE);
    // Compaction runs in slices between other work; it has finished once the log has shrunk. The
    // slices are counted in bytes, not time: the wait only has to outlast a loaded machine's disk.
    await vi.waitFor(async () => expect((await stat(file)).size).toBeLessThan(20 * 1024 * 1024), {
      timeout: 20_000,
    });
    expect((await ours.read('ns', 'big'))?.body.equals(big('i'))).toBe(true);
    expect((await ours.read('ns', 'mine'))?.body.toString()).toBe('1');
    await ours.write('ns', 'after', { body: Buffer.from('3'), fetchedAtMs: 4 });
    expect((await theirs.read('ns', 'after'))?.body.toString()).toBe('3');
  });

  it('stores an unchanged body anew when the copy on disk is damaged', async () => {
    const cache = createDiskCache(dir, SYNC);
    const body = Buffer.from('{"name":"x","versions":{}}');
    await cache.write('ns', 'k', { body, etag: '"1"', fetchedAtMs: 1 });
    const file = join(dir, CACHE_LOG_FILE);
    const raw = await readFile(file);
    await writeFile(file, Buffer.from(raw).fill(0x41, raw.length - 2, raw.length - 1));
    expect(await cache.read('ns', 'k')).toBeUndefined();
    // The caller fetches the same document again: re-dating the damaged copy would miss forever.
    await cache.write('ns', 'k', { body, etag: '"1"', fetchedAtMs: 2 });
    expect(await cache.read('ns', 'k')).toEqual({ body, etag: '"1"', fetchedAtMs: 2 });
    await flushDiskCaches();
    expect(await createDiskCache(dir, SYNC).read('ns', 'k')).toEqual({ body, etag: '"1"', fetchedAtMs: 2 });
  });

  it('does not re-date a body another process replaced since this one last looked', async () => {
    const ours = createDiskCache(dir, SYNC);
    const theirs = createDiskCache(`${dir}/.`);
    const mine = Buffer.from('{"v":"mine"}');
    const other = Buffer.from('{"v":"theirs"}');
    await ours.write('ns', 'k', { body: mine, etag: '"m"', fetchedAtMs: 1 });
    await theirs.write('ns', 'k', { body: other, etag: '"t"', fetchedAtMs: 2 });
    await ours.write('ns', 'k', { body: mine, etag: '"m"', fetchedAtMs: 3 });
    const expected = { body: mine, etag: '"m"', fetchedAtMs: 3 };
    expect(await ours.read('ns', 'k')).toEqual(expected);
    await flushDiskCaches();
    expect(await createDiskCache(dir, SYNC).read('ns', 'k')).toEqual(expected);
  });

  it('ignores a refresh record that lands after another body for its key', async () => {
    // The race the check before each write cannot close: another process appends a new body
    // between that check and the refresh record. Replayed here by splicing the log.
    const body = Buffer.from('{"v":1}');
    const other = Buffer.from('{"v":2}');
    const file = join(dir, CACHE_LOG_FILE);
    const cache = createDiskCache(dir, SYNC);
    await cache.write('ns', 'k', { body, etag: '"1"', fetchedAtMs: 1 });
    const bodyRecordEnd = (await stat(file)).size;
    await cache.write('ns', 'k', { body, etag: '"1b"', fetchedAtMs: 2 });
    await flushDiskCaches();
    const refreshRecord = (await readFile(file)).subarray(bodyRecordEnd);
    await truncate(file, bodyRecordEnd);
    await createDiskCache(dir, SYNC).write('ns', 'k', { body: other, etag: '"2"', fetchedAtMs: 3 });
    await flushDiskCaches();
    await appendFile(file, refreshRecord);
    expect(await createDiskCache(dir, SYNC).read('ns', 'k')).toEqual({
      body: other,
      etag: '"2"',
      fetchedAtMs: 3,
    });
  });

  it('writes to the log another process compacted, not to the file it replaced', async () => {
    const ours = createDiskCache(dir, SYNC);
    const theirs = createDiskCache(`${dir}/.`);
    await ours.write('ns', 'a', { body: Buffer.from('a'), fetchedAtMs: 1 });
    await theirs.write('ns', 'b', { body: Buffer.from('b'), fetchedAtMs: 1 });
    // A damaged region makes their next write compact (cheaper than 64 MB of dead records).
    await appendFile(join(dir, CACHE_LOG_FILE), 'torn bytes from a crash mid-write, not a record');
    await theirs.write('ns', 'c', { body: Buffer.from('c'), fetchedAtMs: 1 });
    await ours.write('ns', 'd', { body: Buffer.from('d'), fetchedAtMs: 1 });
    await flushDiskCaches();
    const next = createDiskCache(dir, SYNC);
    for (const key of 'abcd') expect((await next.read('ns', key))?.body.toString()).toBe(key);
  });

  it('writes to a cache directory deleted and recreated while the process runs', async () => {
    const cache = createDiskCache(join(dir, 'cache'));
    await cache.write('ns', 'a', { body: Buffer.from('a'), fetchedAtMs: 1 });
    await rm(join(dir, 'cache'), { recursive: true });
    await cache.write('ns', 'b', { body: Buffer.from('b'), fetchedAtMs: 1 });
    await flushDiskCaches();
    expect((await createDiskCache(join(dir, 'cache')).read('ns', 'b'))?.body.toString()).toBe('b');
  });

  it('keeps records other processes appended since its last look when it compacts on close', async () => {
    const ours = createDiskCache(dir, SYNC);
    const theirs = createDiskCache(`${dir}/.`);
    await ours.write('ns', 'mine', { body: Buffer.from('1'), fetchedAtMs: 1 });
    // More than the compaction threshold of live records this process has not indexed yet.
    const big = (fill: string) => Buffer.alloc(9 * 1024 * 1024, fill);
    for (const fill of 'abcdefgh') await theirs.write('ns', fill, { body: big(fill), fetchedAtMs: 2 });
    await flushDiskCaches();
    const next = createDiskCache(dir, SYNC);
    expect((await next.read('ns', 'mine'))?.body.toString()).toBe('1');
    for (const fill of 'abcdefgh') expect((await next.read('ns', fill))?.body.equals(big(fill))).toBe(true);
  });

  it('skips an entry whose header would be too big to read back, without rewriting the log', async () => {
    const cache = createDiskCache(dir, SYNC);
    await cache.write('ns', 'a', { body: Buffer.from('a'), fetchedAtMs: 1 });
    const file = join(dir, CACHE_LOG_FILE);
    const before = await stat(file);
    const huge = 'k'.repeat(70_000);
    for (const [key, etag] of [
      [huge, undefined],
      ['e', `"${huge}"`],
    ] as const) {
      await cache.write('ns', key, { body: Buffer.from('x'), fetchedAtMs: 1, ...(etag ? { etag } : {}) });
      const after = await stat(file);
      expect([after.ino, after.size]).toEqual([before.ino, before.size]);
      expect(await cache.read('ns', key)).toBeUndefined();
    }
    expect((await cache.read('ns', 'a'))?.body.toString()).toBe('a');
  });

  it('compacts in slices while reads and writes go on, and loses none of them', async () => {
    const cache = createDiskCache(dir, SYNC);
    const big = (fill: string) => Buffer.alloc(9 * 1024 * 1024, fill);
    await cache.write('ns', 'kept', { body: big('k'), etag: '"k1"', fetchedAtMs: 1 });
    await cache.write('ns', 'replaced', { body: big('r'), fetchedAtMs: 1 });
    await cache.write('ns', 'redated', { body: Buffer.from('same'), etag: '"1"', fetchedAtMs: 1 });
    // Rewrites of one key: their dead copies outweigh the live records, so this starts a compaction.
    for (const fill of 'abcdefghij') await cache.write('ns', 'churn', { body: big(fill), fetchedAtMs: 2 });
    // Synchronous checks: awaiting file system promises would let the slices run meanwhile.
    const file = join(dir, CACHE_LOG_FILE);
    const before = statSync(file).size;
    const temps = () => readdirSync(dir).filter((name) => name.endsWith('.tmp'));
    expect(temps()).toHaveLength(1);
    await new Promise((resolve) => setImmediate(resolve)); // one slice (8 MB) copied, more to go
    expect(statSync(file).size).toBe(before);
    expect(temps()).toHaveLength(1);

    await cache.write('ns', 'added', { body: Buffer.from('new'), fetchedAtMs: 3 });
    await cache.write('ns', 'replaced', { body: Buffer.from('smaller now'), fetchedAtMs: 3 });
    await cache.write('ns', 'redated', { body: Buffer.from('same'), etag: '"2"', fetchedAtMs: 3 });
    expect((await cache.read('ns', 'kept'))?.body.equals(big('k'))).toBe(true);

    await vi.waitFor(() => expect(statSync(file).size).toBeLessThan(30 * 1024 * 1024), { timeout: 20_000 });
    expect(temps()).toEqual([]);
    const check = async (c: ReturnType<typeof createDiskCache>) => {
      expect((await c.read('ns', 'kept'))?.body.equals(big('k'))).toBe(true);
      expect((await c.read('ns', 'churn'))?.body.equals(big('j'))).toBe(true);
      expect((await c.read('ns', 'added'))?.body.toString()).toBe('new');
      expect((await c.read('ns', 'replaced'))?.body.toString()).toBe('smaller now');
      expect(await c.read('ns', 'redated')).toEqual({
        body: Buffer.from('same'),
        etag: '"2"',
        fetchedAtMs: 3,
      });
    };
    await check(cache);
    await flushDiskCaches();
    await check(createDiskCache(dir, SYNC));
  });

  it('finishes a compaction under way when the caches are closed', async () => {
    const cache = createDiskCache(dir, SYNC);
    const big = (fill: string) => Buffer.alloc(9 * 1024 * 1024, fill);
    await cache.write('ns', 'kept', { body: big('k'), fetchedAtMs: 1 });
    await cache.write('ns', 'kept2', { body: big('l'), fetchedAtMs: 1 });
    for (const fill of 'abcdefghij') await cache.write('ns', 'churn', { body: big(fill), fetchedAtMs: 2 });
    await flushDiskCaches();
    const file = join(dir, CACHE_LOG_FILE);
    expect(statSync(file).size).toBeLessThan(30 * 1024 * 1024);
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    const next = createDiskCache(dir, SYNC);
    expect((await next.read('ns', 'kept2'))?.body.equals(big('l'))).toBe(true);
  });

  it('removes the temporary log of a compaction whose process died, once it is old', async () => {
    const stale = join(dir, `${CACHE_LOG_FILE}.999.dead.tmp`);
    const fresh = join(dir, `${CACHE_LOG_FILE}.998.busy.tmp`);
    await writeFile(stale, 'x');
    await writeFile(fresh, 'x');
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(stale, old, old);
    await createDiskCache(dir, SYNC).read('ns', 'k');
    expect((await readdir(dir)).sort()).toEqual([CACHE_LOG_FILE, `${CACHE_LOG_FILE}.998.busy.tmp`]);
  });

  it('mends a damaged log after giving up a compaction of a log another process replaced', async () => {
    const ours = createDiskCache(dir, SYNC);
    const theirs = createDiskCache(`${dir}/.`);
    const big = (fill: string) => Buffer.alloc(9 * 1024 * 1024, fill);
    for (const fill of 'abcdefghij') await ours.write('ns', 'churn', { body: big(fill), fetchedAtMs: 1 });
    const temps = () => readdirSync(dir).filter((name) => name.endsWith('.tmp'));
    expect(temps()).toHaveLength(1); // ours is compacting; only synchronous I/O below, so no slice runs
    const file = join(dir, CACHE_LOG_FILE);
    appendFileSync(file, 'torn bytes from a crash mid-write');
    // Theirs mends the damage at once: the log ours is compacting is replaced, and ours gives up.
    expect((await theirs.read('ns', 'churn'))?.body.equals(big('j'))).toBe(true);
    await ours.write('ns', 'a', { body: Buffer.from('a'), fetchedAtMs: 2 });
    expect(temps()).toEqual([]);
    // The new log is damaged in turn: ours mends it as it would any other.
    appendFileSync(file, 'torn bytes again');
    await ours.write('ns', 'b', { body: Buffer.from('b'), fetchedAtMs: 2 });
    expect(readFileSync(file).includes('torn bytes')).toBe(false);
    await flushDiskCaches();
    const next = createDiskCache(dir, SYNC);
    for (const key of 'ab') expect((await next.read('ns', key))?.body.toString()).toBe(key);
  });

  it.each([
    ['left in the index', false],
    ['forgotten by a read', true],
  ])(
    'never brings back a replaced body when the replacement is damaged during a compaction (%s)',
    async (_label, readMeanwhile) => {
      const cache = createDiskCache(dir, SYNC);
      const big = (fill: string) => Buffer.alloc(9 * 1024 * 1024, fill);
      await cache.write('ns', 'k', { body: Buffer.from('old'), fetchedAtMs: 1 });
      await cache.write('ns', 'kept', { body: big('k'), fetchedAtMs: 1 });
      for (const fill of 'abcdefghij') await cache.write('ns', 'churn', { body: big(fill), fetchedAtMs: 2 });
      await new Promise((resolve) => setImmediate(resolve)); // one slice: 'k' and 'kept' copied
      await cache.write('ns', 'k', { body: Buffer.from('new'), fetchedAtMs: 3 });
      // Its last byte, the last of the log, goes bad (a failing disk).
      const file = join(dir, CACHE_LOG_FILE);
      const fd = openSync(file, 'r+');
      writeSync(fd, 'X', statSync(file).size - 1);
      closeSync(fd);
      if (readMeanwhile) expect(await cache.read('ns', 'k')).toBeUndefined();
      await flushDiskCaches();
      const next = createDiskCache(dir, SYNC);
      expect(await next.read('ns', 'k')).toBeUndefined();
      expect((await next.read('ns', 'kept'))?.body.equals(big('k'))).toBe(true);
      expect((await next.read('ns', 'churn'))?.body.equals(big('j'))).toBe(true);
    },
  );

  it.runIf(process.platform === 'linux')(
    'survives a compaction whose temporary log can neither be written nor removed',
    async () => {
      const cache = createDiskCache(dir, SYNC);
      const big = (fill: string) => Buffer.alloc(9 * 1024 * 1024, fill);
      await cache.write('ns', 'kept', { body: big('k'), fetchedAtMs: 1 });
      for (const fill of 'abcdefghij') await cache.write('ns', 'churn', { body: big(fill), fetchedAtMs: 2 });
      const [temp] = readdirSync(dir).filter((name) => name.endsWith('.tmp'));
      const tempPath = join(dir, temp!);
      // A file system gone bad (read-only, I/O errors): writes to the temporary log fail, and so
      // does removing it. Its descriptor is found through /proc and closed under the compaction.
      const out = readdirSync('/proc/self/fd').find((n) => {
        try {
          return readlinkSync(`/proc/self/fd/${n}`) === realpathSync(tempPath);
        } catch {
          return false;
        }
      });
      expect(out).toBeDefined();
      rmSync(tempPath);
      mkdirSync(join(tempPath, 'in-the-way'), { recursive: true });
      closeSync(Number(out));
      // An exception thrown by a slice would end the process; vitest reports it as an error.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect((await cache.read('ns', 'kept'))?.body.equals(big('k'))).toBe(true);
      await cache.write('ns', 'after', { body: Buffer.from('1'), fetchedAtMs: 3 });
      expect((await cache.read('ns', 'after'))?.body.toString()).toBe('1');
    },
  );

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

describe('large bodies', () => {
  it('moves them through the thread pool: the event loop turns while one is written and read', async () => {
    const cache = createDiskCache(dir);
    const body = Buffer.alloc(8 * 1024 * 1024, 'x');
    let turned = false;
    setImmediate(() => {
      turned = true;
    });
    const writing = cache.write('ns', 'big', { body, etag: '"1"', fetchedAtMs: 5 });
    expect(turned).toBe(false);
    await writing;
    expect(turned).toBe(true);
    turned = false;
    setImmediate(() => {
      turned = true;
    });
    const read = await cache.read('ns', 'big');
    expect(turned).toBe(true);
    expect(read?.body.equals(body)).toBe(true);
    expect([read?.etag, read?.fetchedAtMs]).toEqual(['"1"', 5]);
    // Small ones and large ones share the log; a new process reads both.
    await cache.write('ns', 'small', { body: Buffer.from('tiny'), fetchedAtMs: 6 });
    await cache.write('ns', 'big', { body, fetchedAtMs: 7 }); // same bytes: a refresh record
    await flushDiskCaches();
    const again = createDiskCache(dir);
    expect((await again.read('ns', 'big'))?.fetchedAtMs).toBe(7);
    expect((await again.read('ns', 'small'))?.body.toString()).toBe('tiny');
    expect(statSync(join(dir, CACHE_LOG_FILE)).size).toBeLessThan(body.length + 4096);
  });

  it('waits for writes under way when the caches are closed', async () => {
    const cache = createDiskCache(dir);
    const writes = ['a', 'b', 'c'].map((k) =>
      cache.write('ns', k, { body: Buffer.alloc(1024 * 1024, k), fetchedAtMs: 1 }),
    );
    await flushDiskCaches();
    await Promise.all(writes);
    const again = createDiskCache(dir);
    for (const k of ['a', 'b', 'c']) expect((await again.read('ns', k))?.body[0]).toBe(k.charCodeAt(0));
  });
});
