// The embedded popular-package list as a lookup table, read by the popularity fallback and the
// typosquatting guardrail. `lockwarden check <name>` builds it on every run, so building must
// cost next to nothing: the compact `[name, monthly]` pairs go straight into a native Map.
import type { KnownNames } from './known-names.js';
import type { PopularIndex, PopularPackage } from './types.js';

/** Downloads per week from a monthly count: a month is about 4.3 weeks. */
export const WEEKS_PER_MONTH = 4.3;

export interface PopularListInput {
  asOf: string;
  packages: readonly PopularPackage[] | readonly (readonly [string, number])[];
  /** The wider list of established names, built on first use: most names never need it. */
  known?: () => KnownNames;
}

/** A popular index that can also be walked, which the look-alike search needs. */
export interface PopularNameIndex extends PopularIndex {
  /** Number of packages on the list. */
  readonly size: number;
  has(name: string): boolean;
  /** Every name on the list, most downloaded first. */
  names(): readonly string[];
  /**
   * Whether the name is established: on this list or on the wider list of known names
   * (data/known-packages.json). Absent on indexes without the wider list.
   */
  isEstablished?(name: string): boolean;
}

function validCount(count: unknown): count is number {
  return typeof count === 'number' && Number.isFinite(count) && count >= 0;
}

/**
 * Wraps a popular list. Entries may be objects or the compact `[name, monthly]` pairs of the
 * data file. Duplicate names keep the highest count; entries without a string name or with a
 * non-finite or negative count are dropped rather than trusted.
 */
export function createPopularIndex(list: PopularListInput): PopularNameIndex {
  const raw = list.packages as readonly (PopularPackage | readonly [string, number])[];
  let byName: Map<string, number> | undefined;
  let ordered: string[] | undefined;

  const table = (): Map<string, number> => {
    if (byName) return byName;
    if (!raw.every(Array.isArray)) {
      // Packages as objects (a test's or a caller's list): straight into the Map, no pair per entry.
      const fast = new Map<string, number>();
      let clean = true;
      for (const p of raw as readonly PopularPackage[]) {
        const name = p?.name;
        const count = p?.monthlyDownloads;
        if (typeof name !== 'string' || !validCount(count) || fast.has(name)) {
          clean = false;
          break;
        }
        fast.set(name, count);
      }
      if (clean) {
        byName = fast;
        return byName;
      }
    }
    const pairs = raw.every(Array.isArray)
      ? (raw as readonly (readonly [string, number])[])
      : (raw as readonly PopularPackage[]).map((p) => [p?.name, p?.monthlyDownloads] as const);
    // The data file is clean: one native Map build, then one pass to confirm it.
    const fast = new Map(pairs as Iterable<readonly [string, number]>);
    let clean = fast.size === pairs.length;
    for (let i = 0; clean && i < pairs.length; i++) {
      const pair = pairs[i]!;
      clean = typeof pair[0] === 'string' && validCount(pair[1]);
    }
    if (clean) {
      byName = fast;
      return byName;
    }
    byName = new Map();
    for (const pair of pairs) {
      const [name, count] = pair ?? [];
      if (typeof name !== 'string' || !validCount(count)) continue;
      const seen = byName.get(name);
      if (seen === undefined || seen < count) byName.set(name, count);
    }
    return byName;
  };

  let known: KnownNames | undefined;
  return {
    asOf: list.asOf,
    isEstablished(name) {
      if (table().has(name)) return true;
      if (!list.known) return false;
      known ??= list.known();
      return known.has(name);
    },
    get size() {
      return table().size;
    },
    monthlyDownloads: (name) => table().get(name),
    has: (name) => table().has(name),
    names() {
      if (!ordered) {
        const counts = table();
        ordered = [...counts.keys()];
        // The values in the same order: comparing neighbours costs no Map lookups.
        const values = [...counts.values()];
        let sorted = true;
        for (let i = 1; sorted && i < values.length; i++) sorted = values[i - 1]! >= values[i]!;
        // Ties by name so that every build orders the same input the same way.
        if (!sorted) ordered.sort((a, b) => counts.get(b)! - counts.get(a)! || (a < b ? -1 : 1));
      }
      return ordered;
    },
  };
}

/** Whether a PopularIndex (from the guardrail context) can be walked. */
export function isPopularNameIndex(index: PopularIndex): index is PopularNameIndex {
  const candidate = index as Partial<PopularNameIndex>;
  return typeof candidate.names === 'function' && typeof candidate.has === 'function';
}

/** Weekly downloads estimated from a monthly count. */
export function weeklyFromMonthly(monthlyDownloads: number): number {
  return Math.round(monthlyDownloads / WEEKS_PER_MONTH);
}
