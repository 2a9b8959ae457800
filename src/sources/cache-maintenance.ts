// Keeps the cache directory small: whole documents only as long as they are useful, facts that
// never change for good (until unused for long), and the whole under a size limit. Runs when a
// CLI run closes its sources (at most once an hour, unless over the limit), and as
// `lockwarden cache prune`; `lockwarden cache clear` empties it.
import { closeSync, existsSync, openSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_LOG_FILE } from './cache-log.js';
import { clearFactCache, factCacheBytes, pruneFactCache } from './fact-cache.js';
import { clearDiskCache, pruneDiskCache } from './prune-disk-cache.js';

/**
 * Documents (packuments, download counts, tag lists, lockfile inventories) older than this are
 * dropped: within it they answer re-runs without a request (their freshness is shorter), serve as
 * the last good copy when an upstream is down, and carry ETags; after it the facts they held that
 * never change are in the fact cache, and the rest is stale.
 */
export const DOCUMENT_RETENTION_MS = 24 * 3600 * 1000;
/** Default limit of the whole cache directory. */
export const DEFAULT_CACHE_MAX_BYTES = 1024 * 1024 * 1024;
/** Facts of versions no run has asked about for this long are dropped. */
export const FACTS_UNUSED_DAYS = 180;

export interface CacheMaintenanceOptions {
  now: Date;
  maxBytes?: number;
  documentRetentionMs?: number;
}

export interface CacheUsage {
  documentBytes: number;
  factBytes: number;
}

export interface PruneReport {
  before: CacheUsage;
  after: CacheUsage;
  documentsRemoved: number;
  factsRemoved: number;
}

/** Bytes of lockwarden's files in the cache directory. */
export function readCacheUsage(dir: string): CacheUsage {
  let documentBytes = 0;
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    // no directory yet
  }
  for (const name of names) {
    if (name !== CACHE_LOG_FILE && !(name.startsWith(`${CACHE_LOG_FILE}.`) && name.endsWith('.tmp')))
      continue;
    try {
      documentBytes += statSync(join(dir, name)).size;
    } catch {
      // removed meanwhile
    }
  }
  return { documentBytes, factBytes: factCacheBytes(dir) };
}

/**
 * Drops expired documents and facts unused for long, then the oldest documents while the directory
 * is over its limit. What the current process read or wrote is kept (a run still uses it).
 */
export function pruneCache(dir: string, opts: CacheMaintenanceOptions): PruneReport {
  const maxBytes = opts.maxBytes ?? DEFAULT_CACHE_MAX_BYTES;
  const before = readCacheUsage(dir);
  // Nothing to prune, and opening the document log would create the directory.
  if (!existsSync(dir)) return { before, after: before, documentsRemoved: 0, factsRemoved: 0 };
  // Facts are small and worth more per byte: they get up to a tenth of the limit first.
  const facts = pruneFactCache(dir, {
    now: opts.now,
    unusedDays: FACTS_UNUSED_DAYS,
    maxBytes: Math.floor(maxBytes / 10),
  });
  const docs = pruneDiskCache(dir, {
    fetchedBeforeMs: opts.now.getTime() - (opts.documentRetentionMs ?? DOCUMENT_RETENTION_MS),
    maxBytes: Math.max(0, maxBytes - facts.bytes),
  });
  return {
    before,
    after: readCacheUsage(dir),
    documentsRemoved: docs?.removed ?? 0,
    factsRemoved: facts.removed,
  };
}

/** How often a closing run prunes a cache that is within its limit. */
export const PRUNE_INTERVAL_MS = 3600 * 1000;
/** Empty file whose mtime says when the cache was last pruned (by the run's clock). */
const PRUNED_STAMP = 'pruned-at';

/**
 * `pruneCache` when it is due: the directory is over its limit, or the last prune is an hour or
 * more away on the run's clock. Pruning reads the whole fact file and the document log's index
 * (tens of ms for a cache of a few hundred MB), which a `lockwarden check` of one name would
 * otherwise pay on every run; expiry is measured in days, so an hour's delay keeps nothing long.
 */
export function pruneCacheIfDue(dir: string, opts: CacheMaintenanceOptions): PruneReport | undefined {
  const usage = readCacheUsage(dir);
  const stamp = join(dir, PRUNED_STAMP);
  let last: number | undefined;
  try {
    last = statSync(stamp).mtimeMs;
  } catch {
    // never pruned
  }
  const over = usage.documentBytes + usage.factBytes > (opts.maxBytes ?? DEFAULT_CACHE_MAX_BYTES);
  if (!over && last !== undefined && Math.abs(opts.now.getTime() - last) < PRUNE_INTERVAL_MS)
    return undefined;
  const report = pruneCache(dir, opts);
  if (existsSync(dir)) {
    try {
      closeSync(openSync(stamp, 'a'));
      utimesSync(stamp, opts.now, opts.now);
    } catch {
      // A read-only cache is pruned again next time.
    }
  }
  return report;
}

/** Removes lockwarden's cache files from the directory (nothing else in it). */
export function clearCache(dir: string): CacheUsage {
  const before = readCacheUsage(dir);
  clearDiskCache(dir);
  clearFactCache(dir);
  rmSync(join(dir, PRUNED_STAMP), { force: true });
  return before;
}
