// The embedded popular-package list as a lookup table. Built once per process and read by the
// popularity fallback and the typosquatting guardrail. `lockwarden check <name>` builds it on
// every run, so nothing is computed until somebody asks for it.
import type { PopularIndex, PopularPackage } from './types.js';

/** Downloads per week from a monthly count: a month is about 4.3 weeks. */
export const WEEKS_PER_MONTH = 4.3;

export interface PopularListInput {
  asOf: string;
  packages: readonly PopularPackage[] | readonly (readonly [string, number])[];
}

/** A popular index that can also be walked, which the look-alike search needs. */
export interface PopularNameIndex extends PopularIndex {
  /** Number of packages on the list. */
  readonly size: number;
  has(name: string): boolean;
  /** Every package, most downloaded first. */
  entries(): readonly PopularPackage[];
}

function toPackage(entry: PopularPackage | readonly [string, number]): PopularPackage {
  if (Array.isArray(entry)) {
    const [name, monthlyDownloads] = entry as readonly [string, number];
    return { name, monthlyDownloads };
  }
  return entry as PopularPackage;
}

/**
 * Wraps a popular list. Entries may be objects or the compact `[name, monthly]` pairs of the
 * data file. Duplicate names keep the highest count; entries with a non-finite or negative
 * count are ignored rather than trusted.
 */
export function createPopularIndex(list: PopularListInput): PopularNameIndex {
  const raw = list.packages as readonly (PopularPackage | readonly [string, number])[];
  let byName: Map<string, number> | undefined;
  let sorted: PopularPackage[] | undefined;

  const table = (): Map<string, number> => {
    if (byName) return byName;
    byName = new Map();
    for (const entry of raw) {
      const { name, monthlyDownloads } = toPackage(entry);
      if (typeof name !== 'string' || !Number.isFinite(monthlyDownloads) || monthlyDownloads < 0) continue;
      const seen = byName.get(name);
      if (seen === undefined || seen < monthlyDownloads) byName.set(name, monthlyDownloads);
    }
    return byName;
  };

  return {
    asOf: list.asOf,
    get size() {
      return table().size;
    },
    monthlyDownloads: (name) => table().get(name),
    has: (name) => table().has(name),
    entries() {
      if (!sorted) {
        sorted = [...table()].map(([name, monthlyDownloads]) => ({ name, monthlyDownloads }));
        // Ties by name so that every build picks the same target for the same input.
        sorted.sort((a, b) => b.monthlyDownloads - a.monthlyDownloads || (a.name < b.name ? -1 : 1));
      }
      return sorted;
    },
  };
}

/** Whether a PopularIndex (from the guardrail context) can be walked. */
export function isPopularNameIndex(index: PopularIndex): index is PopularNameIndex {
  const candidate = index as Partial<PopularNameIndex>;
  return typeof candidate.entries === 'function' && typeof candidate.has === 'function';
}

/** Weekly downloads estimated from a monthly count. */
export function weeklyFromMonthly(monthlyDownloads: number): number {
  return Math.round(monthlyDownloads / WEEKS_PER_MONTH);
}
