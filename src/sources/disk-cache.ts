// A small on-disk cache for upstream documents: one append-only log per cache directory, indexed
// in memory. Creating a file costs far more than appending to one (on the ext4 of the benchmark
// machine, about 0.8 ms of kernel time per new file against 10 µs per append), and a cold audit
// or a proxied install stores thousands of documents. Keys live inside records, so a hostile
// package name never becomes a path; every body carries a CRC, so a torn or foreign record is a
// miss; and any failure only disables the cache, because it saves time and must never fail a run.
//
// This file is the cache's API; the log and its index are in cache-log.ts, the record format in
// cache-log-record.ts, pruning in prune-disk-cache.ts.
import { readSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import {
  asyncHandle,
  compactIfWorthIt,
  disable,
  indexKey,
  open,
  refresh,
  type Store,
  scan,
  storeOf,
  stores,
} from './cache-log.js';
import {
  appendAsync,
  crc32Sliced,
  MAX_HEADER_BYTES,
  PREFIX_BYTES,
  readAsync,
  recordParts,
  writeRecord,
} from './cache-log-record.js';

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

/** Closes every cache log (each reopens on next use). Nothing is buffered: writes are on disk. */
export async function flushDiskCaches(): Promise<void> {
  for (const store of stores.values()) await Promise.allSettled([...store.pending]);
  for (const store of stores.values()) {
    try {
      // Judged on an index that includes what other processes appended since this one last
      // looked; a compaction under way (or due) is finished now rather than left half done.
      if (store.fd !== undefined && !store.disabled) scan(store);
      compactIfWorthIt(store, true);
    } catch {
      // The cache only saves time: closing it must not fail the run.
    }
    disable(store); // closes it; the store itself is dropped below
  }
  stores.clear();
}

export function createDiskCache(
  dir: string,
  /**
   * `syncIoMaxBytes`: tests of the log's own logic pin every body to the synchronous path.
   * `crcSliceBytes`: the benchmark compares with CRCs computed in one call.
   */
  options: { syncIoMaxBytes?: number; crcSliceBytes?: number } = {},
): DiskCache {
  return {
    dir,
    async read(namespace, key) {
      const store = storeOf(dir, options.syncIoMaxBytes, options.crcSliceBytes);
      try {
        return await readEntry(store, indexKey(namespace, key));
      } catch {
        return undefined;
      }
    },
    async write(namespace, key, entry) {
      const store = storeOf(dir, options.syncIoMaxBytes, options.crcSliceBytes);
      const done = writeEntry(store, namespace, key, entry).catch(() => {
        // Read-only or full disks only cost speed.
        disable(store);
      });
      store.pending.add(done);
      try {
        await done;
      } finally {
        store.pending.delete(done);
      }
    },
  };
}

async function readEntry(store: Store, id: string): Promise<CacheEntry | undefined> {
  if (open(store) === undefined) return undefined;
  let found = store.index.get(id);
  if (!found) {
    refresh(store);
    found = store.index.get(id);
    if (!found) return undefined;
  }
  store.used.add(id);
  const length = found.headerBytes + found.bodyBytes;
  let raw: Buffer | undefined = Buffer.allocUnsafe(length);
  if (found.bodyBytes <= store.syncIoMaxBytes) {
    if (readSync(store.fd!, raw, 0, length, found.at + PREFIX_BYTES) < length) raw = undefined;
  } else {
    const ino = store.ino;
    const fh = await asyncHandle(store);
    raw = fh ? await readAsync(fh, raw, found.at + PREFIX_BYTES) : undefined;
    // The log was replaced meanwhile (a compaction): the offset meant nothing there. A miss.
    if (raw === undefined && (store.ino !== ino || store.index.get(id) !== found)) return undefined;
  }
  const crc =
    raw === undefined
      ? undefined
      : found.bodyBytes <= store.syncIoMaxBytes
        ? crc32(raw)
        : await largeCrc(store, [raw]);
  if (raw === undefined || crc !== found.crc) {
    // Forgotten, so that the caller's next write of the same bytes stores them anew: a refresh
    // record would re-date the damaged copy, and the key would miss for good.
    if (store.index.get(id) === found) {
      store.index.delete(id);
      store.liveBytes -= PREFIX_BYTES + length;
    }
    return undefined;
  }
  return {
    body: raw.subarray(found.headerBytes),
    fetchedAtMs: found.fetchedAtMs,
    ...(found.etag !== undefined ? { etag: found.etag } : {}),
  };
}

async function writeEntry(store: Store, namespace: string, key: string, entry: CacheEntry): Promise<void> {
  const large = entry.body.length > store.syncIoMaxBytes;
  // Before the index is consulted: what it says must not change between the look and the write.
  const bodyCrc = large ? await largeCrc(store, [entry.body]) : crc32(entry.body);
  if (open(store) === undefined) return;
  // Catch up first: a log another process compacted away (or a deleted directory) would swallow
  // the write, and a body another process stored since would otherwise get our refresh record.
  refresh(store);
  const fd = store.fd;
  if (fd === undefined) return;
  const id = indexKey(namespace, key);
  store.used.add(id);
  const current = store.index.get(id);
  const unchanged = current?.bodyBytes === entry.body.length && current.bodyCrc === bodyCrc;
  const header = Buffer.from(
    JSON.stringify({
      n: namespace,
      k: key,
      t: entry.fetchedAtMs,
      c: bodyCrc,
      ...(entry.etag !== undefined ? { e: entry.etag } : {}),
      ...(unchanged ? { r: 1 } : {}),
    }),
  );
  // A scan would take it for damage and throw away the rest of the log (a hostile key or ETag).
  if (header.length > MAX_HEADER_BYTES) return;
  const body = unchanged ? Buffer.alloc(0) : entry.body;
  // One write per record: with O_APPEND the kernel places it whole at the end of the file.
  if (body.length <= store.syncIoMaxBytes) writeRecord(fd, header, body);
  else {
    const ino = store.ino;
    const crc = await largeCrc(store, [header, body]);
    const fh = store.ino === ino ? await asyncHandle(store) : undefined;
    if (!fh) return;
    await appendAsync(fh, recordParts(header, body, crc));
    // Closed or replaced meanwhile: the record went to a log this process no longer reads.
    if (store.fd === undefined || store.ino !== ino || store.disabled) return;
  }
  // Indexed by the next scan, which also learns where the record landed among other processes'.
  scan(store);
  compactIfWorthIt(store);
}

/** The CRC-32 of a large body (after its header, when given), a slice per turn of the event loop. */
function largeCrc(store: Store, parts: Buffer[]): Promise<number> {
  return parts.length === 1
    ? crc32Sliced(parts[0]!, store.crcSliceBytes)
    : crc32Sliced(parts[1]!, store.crcSliceBytes, crc32(parts[0]!));
}
