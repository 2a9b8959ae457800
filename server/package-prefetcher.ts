// Prefetch for the proxy: the dependencies of a package a client just asked for are fetched and
// evaluated ahead of the client, which resolves a tree one document at a time (see prefetch-plan.ts).
import { type PackageState, type Slot, servedView, slotKey } from './evaluate-package-state.js';
import type { StoredPolicy } from './policy-store.js';
import { dependencyRanges, MAX_PREFETCH_DEPTH, servedVersionFor } from './prefetch-plan.js';

interface PrefetchJob {
  stored: StoredPolicy;
  name: string;
  key: string;
  /** The range the dependent package asks for: the version followed next. */
  range: string;
  depth: number;
  /** Shared by one chain: how many more packages it may fetch ahead. */
  budget: { left: number };
}

const MAX_PREFETCH_QUEUE = 1_000;

export interface PackagePrefetcher {
  /** Queues the dependencies of `version` of a package just evaluated. */
  schedule(
    stored: StoredPolicy,
    state: Extract<PackageState, { kind: 'ok' }>,
    version: string | undefined,
    depth: number,
    budget: { left: number },
  ): void;
}

export function createPackagePrefetcher(deps: {
  /** Packages fetched at a time (0 disables). */
  concurrency: number;
  /** Whether the cache holds the package, or is fetching it already. */
  has(key: string): boolean;
  /** Fetches and evaluates a package into the cache. */
  refresh(stored: StoredPolicy, name: string): Promise<Slot>;
  counters: { prefetched: number };
  onError?: (err: unknown, name: string) => void;
}): PackagePrefetcher {
  const prefetchQueue: PrefetchJob[] = [];
  const prefetchQueued = new Set<string>();
  let prefetchActive = 0;

  /** Queues the dependencies of `version` of a package just evaluated (see prefetch-plan.ts). */
  function schedulePrefetch(
    stored: StoredPolicy,
    state: Extract<PackageState, { kind: 'ok' }>,
    version: string | undefined,
    depth: number,
    budget: { left: number },
  ): void {
    if (deps.concurrency <= 0 || version === undefined || depth >= MAX_PREFETCH_DEPTH) return;
    if (state.hidden.has(version) || !Object.hasOwn(state.packument.versions, version)) return;
    for (const { name, range } of dependencyRanges(state.packument.versions[version])) {
      const key = slotKey(stored, name);
      if (deps.has(key) || prefetchQueued.has(key)) continue;
      if (prefetchQueue.length >= MAX_PREFETCH_QUEUE || budget.left <= 0) break;
      budget.left--;
      prefetchQueued.add(key);
      prefetchQueue.push({ stored, name, key, range, depth: depth + 1, budget });
    }
    // After the current response is written: prefetching must not delay what a client waits for.
    if (prefetchQueue.length > 0) setImmediate(pumpPrefetch);
  }

  function pumpPrefetch(): void {
    while (prefetchActive < deps.concurrency && prefetchQueue.length > 0) {
      const job = prefetchQueue.shift()!;
      prefetchActive++;
      deps.counters.prefetched++;
      deps
        .refresh(job.stored, job.name)
        .then((slot) => {
          if (slot.state.kind !== 'ok') return;
          const served = servedView(slot.state);
          const version = servedVersionFor(served.versions, served.distTags, job.range);
          schedulePrefetch(job.stored, slot.state, version, job.depth, job.budget);
        })
        .catch((err) => deps.onError?.(err, job.name))
        .finally(() => {
          prefetchActive--;
          prefetchQueued.delete(job.key);
          pumpPrefetch();
        });
    }
  }

  return { schedule: schedulePrefetch };
}
