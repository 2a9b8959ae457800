// The embedded list of popular packages (name, monthly downloads). It is a static JSON import so
// that it travels with the code however lockwarden runs: tsc emits it beside `lib/`, esbuild
// inlines it into the Action bundle, vitest reads it from the source tree. No path arithmetic.
import data from '../../data/popular-packages.json' with { type: 'json' };
import { readKnownNames } from './known-packages.js';
import type { PopularList } from './types.js';

let cached: PopularList | undefined;

/** The shipped popular-package list, validated once per process. */
export function readPopularList(): PopularList {
  cached ??= { ...parsePopularList(data, 'data/popular-packages.json'), known: readKnownNames };
  return cached;
}

/** Validates the `{asOf, source, packages: [[name, monthly], ...]}` format; throws naming the origin. */
export function parsePopularList(raw: unknown, origin: string): PopularList {
  const fail = (why: string): never => {
    throw new Error(`${origin}: ${why}`);
  };
  if (typeof raw !== 'object' || raw === null) return fail('not a JSON object');
  const { asOf, packages } = raw as { asOf?: unknown; packages?: unknown };
  if (typeof asOf !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(asOf))
    return fail('"asOf" is not a YYYY-MM-DD date');
  if (!Array.isArray(packages)) return fail('"packages" is not an array');
  // Checked in place and kept as pairs: an object per entry cost every `lockwarden check` 20,000
  // allocations (and their garbage collection) before the look-alike search read them back into
  // a Map (npm run bench:check).
  for (let i = 0; i < packages.length; i++) {
    const entry: unknown = packages[i];
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'number') {
      return fail(`packages[${i}] is not a [name, monthlyDownloads] pair`);
    }
    const monthlyDownloads = entry[1] as number;
    if (!Number.isFinite(monthlyDownloads) || monthlyDownloads < 0) {
      return fail(`packages[${i}] (${entry[0]}) has an invalid download count`);
    }
  }
  return { asOf, packages: packages as [string, number][] };
}
