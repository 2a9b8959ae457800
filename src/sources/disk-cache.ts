// A small on-disk cache for upstream documents. Keys are hashed, so a hostile package name can
// never become a path; writes are atomic, so a crash leaves the old entry or none; and anything
// unreadable is treated as a miss, because the cache only saves time and must never fail a run.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface CacheEntry {
  body: Buffer;
  etag?: string;
  /** When the body was last fetched or revalidated (ms since epoch). */
  fetchedAtMs: number;
}

export interface DiskCache {
  readonly dir: string;
  read(namespace: string, key: string): Promise<CacheEntry | undefined>;
  write(namespace: string, key: string, entry: CacheEntry): Promise<void>;
}

/** The cache directory: an explicit override, `LOCKWARDEN_CACHE_DIR`, `$XDG_CACHE_HOME/lockwarden`, `~/.cache/lockwarden`. */
export function resolveCacheDir(opts: {
  env: NodeJS.ProcessEnv;
  override?: string;
  homeDir?: string;
}): string {
  if (opts.override) return opts.override;
  if (opts.env.LOCKWARDEN_CACHE_DIR) return opts.env.LOCKWARDEN_CACHE_DIR;
  if (opts.env.XDG_CACHE_HOME) return join(opts.env.XDG_CACHE_HOME, 'lockwarden');
  return join(opts.homeDir ?? opts.env.HOME ?? homedir(), '.cache', 'lockwarden');
}

// Layout of one entry file: a JSON header line, then the raw body. One file, so a single
// rename publishes header and body together.
const FORMAT = 1;
const SYNC_WRITE_MAX_BYTES = 256 * 1024;

// Writes run off the request path (a response never waits for the disk); a run awaits them all
// before it ends, so the next run finds them.
const pendingWrites = new Set<Promise<void>>();

/** Settles every cache write still in flight (call before the process ends). */
export async function flushDiskCaches(): Promise<void> {
  while (pendingWrites.size > 0) await Promise.all([...pendingWrites]);
}

export function createDiskCache(dir: string): DiskCache {
  const madeDirs = new Set<string>();
  const pathFor = (namespace: string, key: string) => {
    const hash = createHash('sha256').update(namespace).update('\0').update(key).digest('hex');
    return { dir: join(dir, hash.slice(0, 2)), file: join(dir, hash.slice(0, 2), hash) };
  };

  return {
    dir,
    async read(namespace, key) {
      let raw: Buffer;
      try {
        // Synchronous on purpose: entries are local and mostly small, and a warm audit reads
        // thousands of them; the promise API's open/stat/read/close round trips cost 4x more.
        raw = readFileSync(pathFor(namespace, key).file);
      } catch {
        return undefined;
      }
      return decodeEntry(raw, namespace, key);
    },
    write(namespace, key, entry) {
      const done = writeEntry(namespace, key, entry).finally(() => pendingWrites.delete(done));
      pendingWrites.add(done);
      return done;
    },
  };

  async function writeEntry(namespace: string, key: string, entry: CacheEntry): Promise<void> {
    const target = pathFor(namespace, key);
    const header = Buffer.from(
      `${JSON.stringify({
        format: FORMAT,
        namespace,
        key,
        etag: entry.etag,
        fetchedAtMs: entry.fetchedAtMs,
        size: entry.body.length,
      })}\n`,
    );
    const temp = `${target.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    // Small entries are written synchronously: the promise API's open/write/close/rename round
    // trips cost more main-thread time than the write itself (the service writes every upstream
    // document). Large ones go through the thread pool so the event loop is not held up.
    const small = header.length + entry.body.length <= SYNC_WRITE_MAX_BYTES;
    const writeTemp = async () => {
      if (small) writeFileSync(temp, Buffer.concat([header, entry.body]));
      else await writeFile(temp, [header, entry.body]);
    };
    try {
      try {
        // Shard directories are made once per process; one that vanished since is made again.
        if (!madeDirs.has(target.dir)) await mkdir(target.dir, { recursive: true });
        await writeTemp();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        await mkdir(target.dir, { recursive: true });
        await writeTemp();
      }
      madeDirs.add(target.dir);
      if (small) renameSync(temp, target.file);
      else await rename(temp, target.file);
    } catch {
      // Read-only or full disks only cost speed.
      await rm(temp, { force: true }).catch(() => {});
    }
  }
}

function decodeEntry(raw: Buffer, namespace: string, key: string): CacheEntry | undefined {
  const newline = raw.indexOf(10);
  if (newline < 0) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(raw.subarray(0, newline).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof header !== 'object' || header === null) return undefined;
  const h = header as Record<string, unknown>;
  const body = raw.subarray(newline + 1);
  // The key check guards against hash collisions and foreign files; the size check against truncation.
  if (h.format !== FORMAT || h.namespace !== namespace || h.key !== key) return undefined;
  if (h.size !== body.length || typeof h.fetchedAtMs !== 'number' || !Number.isFinite(h.fetchedAtMs)) {
    return undefined;
  }
  return {
    body,
    fetchedAtMs: h.fetchedAtMs,
    ...(typeof h.etag === 'string' ? { etag: h.etag } : {}),
  };
}
