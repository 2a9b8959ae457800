// The embedded list of popular packages (name, monthly downloads). It is a static JSON import so
// that it travels with the code however lockwarden runs: tsc emits it beside `lib/`, esbuild
// inlines it into the Action bundle, vitest reads it from the source tree. No path arithmetic.
import data from '../../data/popular-packages.json' with { type: 'json' };
import type { PopularPackage } from '../policy/types.js';
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
  const list: PopularPackage[] = [];
  packages.forEach((entry: unknown, i) => {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'number') {
      fail(`packages[${i}] is not a [name, monthlyDownloads] pair`);
    }
    const [name, monthlyDownloads] = entry as [string, number];
    if (!Number.isFinite(monthlyDownloads) || monthlyDownloads < 0) {
      fail(`packages[${i}] (${name}) has an invalid download count`);
    }
    list.push({ name, monthlyDownloads });
  });
  return { asOf, packages: list };
}
