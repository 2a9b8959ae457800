// What an advisory source answered per package, kept on disk for a short while. Advisories are
// published at any hour and a fix matters the day it appears, so an answer is reused for an hour
// (the proxy asks per packument request, audits per run), not the half day download counts get.
import type { Advisory } from '../policy/types.js';
import { createDiskCache } from './disk-cache.js';

export const ADVISORY_TTL_MS = 60 * 60 * 1000;

/** `versions: ['*']`: the answer covers every version (OSV answers per package). */
interface Kept {
  versions: string[];
  advisories: Advisory[];
}

export interface AdvisoryCache {
  /** The advisories kept for `name` when they are fresh and were asked for all of `versions`. */
  get(name: string, versions: readonly string[]): Promise<Advisory[] | undefined>;
  put(name: string, versions: readonly string[], advisories: Advisory[]): Promise<void>;
}

export function createAdvisoryCache(opts: {
  cacheDir?: string;
  namespace: string;
  now: () => Date;
  ttlMs?: number;
}): AdvisoryCache {
  const cache = opts.cacheDir ? createDiskCache(opts.cacheDir) : undefined;
  const ttlMs = opts.ttlMs ?? ADVISORY_TTL_MS;
  // Within one run (and one proxy process) the same package is asked again with other versions:
  // the answers merge, so a second ask for versions already covered costs nothing.
  const memory = new Map<string, Kept & { atMs: number }>();
  const covers = (kept: Kept, versions: readonly string[]) =>
    kept.versions.includes('*') || versions.every((v) => kept.versions.includes(v));
  return {
    async get(name, versions) {
      const nowMs = opts.now().getTime();
      const held = memory.get(name);
      if (held && nowMs - held.atMs < ttlMs && covers(held, versions)) return held.advisories;
      const entry = await cache?.read(opts.namespace, name);
      if (!entry || nowMs - entry.fetchedAtMs >= ttlMs) return undefined;
      const kept = parseKept(entry.body);
      if (!kept || !covers(kept, versions)) return undefined;
      memory.set(name, { ...kept, atMs: entry.fetchedAtMs });
      return kept.advisories;
    },
    async put(name, versions, advisories) {
      const nowMs = opts.now().getTime();
      const held = memory.get(name);
      const merged: Kept =
        held && nowMs - held.atMs < ttlMs && !versions.includes('*')
          ? {
              versions: [...new Set([...held.versions, ...versions])],
              advisories: mergeAdvisories(held.advisories, advisories),
            }
          : { versions: [...versions], advisories };
      memory.set(name, { ...merged, atMs: nowMs });
      await cache?.write(opts.namespace, name, {
        body: Buffer.from(JSON.stringify(merged)),
        fetchedAtMs: nowMs,
      });
    },
  };
}

/** Union by id; the newer copy of an advisory wins. */
export function mergeAdvisories(a: readonly Advisory[], b: readonly Advisory[]): Advisory[] {
  const byId = new Map<string, Advisory>();
  for (const advisory of [...a, ...b]) byId.set(advisory.id, advisory);
  return [...byId.values()];
}

function parseKept(body: Buffer): Kept | undefined {
  try {
    const value = JSON.parse(body.toString('utf8')) as Kept;
    return Array.isArray(value?.versions) && Array.isArray(value.advisories) ? value : undefined;
  } catch {
    return undefined;
  }
}
