// Pruning and clearing a directory's cache log; cache-maintenance.ts decides when and how much.
import { fstatSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  CACHE_LOG_FILE,
  compactionStep,
  disable,
  type IndexEntry,
  open,
  refresh,
  startCompaction,
  storeOf,
  stores,
} from './cache-log.js';
import { PREFIX_BYTES } from './cache-log-record.js';

export interface PruneResult {
  /** Entries left, and the bytes of the log after the prune. */
  entries: number;
  bytes: number;
  removed: number;
}

/**
 * Forgets the entries fetched before `fetchedBeforeMs`, then the oldest while the live ones take
 * more than `maxBytes`, except those this process read or wrote (still in use), and compacts the
 * log so the space is given back. Other processes sharing the directory reopen the compacted log.
 * Undefined when the cache cannot be opened.
 */
export function pruneDiskCache(
  dir: string,
  opts: { fetchedBeforeMs?: number; maxBytes?: number },
): PruneResult | undefined {
  const store = storeOf(dir);
  try {
    if (open(store) === undefined) return undefined;
    refresh(store);
    if (store.fd === undefined) return undefined;
    if (store.compaction) compactionStep(store, Number.POSITIVE_INFINITY);
    const size = (e: IndexEntry) => PREFIX_BYTES + e.headerBytes + e.bodyBytes;
    let live = 0;
    for (const e of store.index.values()) live += size(e);
    const oldestFirst = [...store.index].sort((a, b) => a[1].fetchedAtMs - b[1].fetchedAtMs);
    let removed = 0;
    for (const [id, entry] of oldestFirst) {
      if (store.used.has(id)) continue;
      const expired = opts.fetchedBeforeMs !== undefined && entry.fetchedAtMs < opts.fetchedBeforeMs;
      if (!expired && !(opts.maxBytes !== undefined && live > opts.maxBytes)) continue;
      store.index.delete(id);
      store.liveBytes -= size(entry);
      live -= size(entry);
      removed++;
    }
    if (removed > 0 && startCompaction(store)) compactionStep(store, Number.POSITIVE_INFINITY);
    if (store.fd === undefined) return undefined;
    return { entries: store.index.size, bytes: fstatSync(store.fd).size, removed };
  } catch {
    return undefined;
  }
}

/** Removes the cache log (and temporary logs) of a directory; other files there are left alone. */
export function clearDiskCache(dir: string): void {
  const store = stores.get(dir);
  if (store) disable(store);
  stores.delete(dir);
  rmSync(join(dir, CACHE_LOG_FILE), { force: true });
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names)
    if (name.startsWith(`${CACHE_LOG_FILE}.`) && name.endsWith('.tmp'))
      rmSync(join(dir, name), { force: true });
}
