// The lockfile-source rule over a lockfile's checked entries: where each entry's bytes come from.
// Shared by `lockwarden audit`, the Action's inline mode and its service mode, so that a lockfile
// gets the same findings whichever engine judged its names and versions.

import npmDefinitions from '@npmcli/config/lib/definitions/index.js';
import { present, sourceKey } from '../lockfile/copy-sources.js';
import type { LockfileEntry, LockfileLocation } from '../lockfile/lockfile-inventory.js';
import { strongestDecision } from '../policy/evaluate.js';
import { evaluateLockfileSource, type RegistryRewrite } from '../policy/lockfile-source.js';
import type { Finding, Policy, Verdict } from '../policy/types.js';

/**
 * What npm rewrites to the configured registry at install time, from its `replace-registry-host`
 * setting (undefined: npm's default, `npmjs`), as npm's Arborist applies it to every lockfile URL:
 * - `npmjs`: URLs on the host name of npm's default registry;
 * - `never`: nothing, every URL is fetched as written;
 * - `always`: every URL (scheme, host and port replaced by the configured registry's);
 * - a URL: URLs on its host name under its path (the prefix replaced by the registry's);
 * - anything else: URLs on that host name.
 * Host names are compared without scheme or port, as Arborist does.
 */
export function npmRegistryRewrite(setting: string | undefined): RegistryRewrite | undefined {
  const value = setting === undefined || setting === '' ? 'npmjs' : setting;
  if (value === 'never') return undefined;
  if (value === 'always') return { all: true };
  // From npm's own config definitions, so that no registry host is written down here.
  const target = value === 'npmjs' ? npmDefaultRegistry() : value;
  let url: URL | undefined;
  try {
    url = new URL(target);
  } catch {
    return { hostname: target };
  }
  const pathPrefix = url.pathname.replace(/\/$/, '');
  return { hostname: url.hostname, ...(value !== 'npmjs' && pathPrefix !== '' ? { pathPrefix } : {}) };
}

/** What both rewrite: a URL passes as rewritten only if each setting rewrites it. */
export function intersectRewrites(
  a: RegistryRewrite | undefined,
  b: RegistryRewrite | undefined,
): RegistryRewrite | undefined {
  if (a === undefined || b === undefined) return undefined;
  if ('all' in a) return b;
  if ('all' in b) return a;
  if (a.hostname !== b.hostname) return undefined;
  const pa = a.pathPrefix ?? '';
  const pb = b.pathPrefix ?? '';
  const under = (p: string, prefix: string) => prefix === '' || p === prefix || p.startsWith(`${prefix}/`);
  if (under(pa, pb)) return a;
  if (under(pb, pa)) return b;
  return undefined;
}

function npmDefaultRegistry(): string {
  return (npmDefinitions.definitions as Record<string, { default?: unknown }>).registry?.default as string;
}

/** Whether these copies all come from npm lockfiles (the only client that rewrites). */
function npmOnly(locations: readonly LockfileLocation[]): boolean {
  return locations.every((l) => /(?:^|[\\/])(?:package-lock|npm-shrinkwrap)\.json$/.test(l.file));
}

/** A finding about some copies of an entry only: the report points at those. */
export type LocatedFinding = Finding & { locations?: LockfileLocation[] };

/** The entry's copies grouped by what they record; one group (all locations) when they agree. */
function sourceGroups(entry: LockfileEntry) {
  if (entry.sources === undefined) return [{ ...present(entry), locations: entry.locations, all: true }];
  const groups = new Map<string, ReturnType<typeof present> & { locations: LockfileLocation[] }>();
  for (const copy of entry.sources) {
    const key = sourceKey(copy);
    const group = groups.get(key);
    if (group) group.locations.push(copy.location);
    else groups.set(key, { ...present(copy), locations: [copy.location] });
  }
  return [...groups.values()].map((g) => ({ ...g, all: false }));
}

/**
 * Adds each entry's lockfile-source findings to its verdict (`verdicts[i]` judges `entries[i]`).
 * Entries may resolve to the configured registry(s) and the policy's `registries`; in npm's own
 * lockfiles also to what npm rewrites to the configured registry at install time
 * (`npmReplaceRegistryHost`, npm's `replace-registry-host`). Other clients fetch what the lockfile
 * says. Not lifted by the allow list: it names packages, and this is about where bytes come from.
 */
export function judgeLockfileSources(
  verdicts: readonly Verdict[],
  entries: readonly LockfileEntry[],
  policy: Pick<Policy, 'id' | 'action' | 'lockfileSource' | 'registries'>,
  configured: readonly string[],
  npmReplaceRegistryHost?: string | readonly string[],
): Verdict[] {
  const registries = [...configured, ...policy.registries];
  const settings =
    typeof npmReplaceRegistryHost === 'string' ? [npmReplaceRegistryHost] : npmReplaceRegistryHost;
  const rewrites =
    settings === undefined || settings.length === 0
      ? npmRegistryRewrite(undefined)
      : settings.map(npmRegistryRewrite).reduce(intersectRewrites);
  return verdicts.map((verdict, i) => {
    const entry = entries[i]!;
    // Each copy fetches from its own URL: every distinct one is judged, at its own lines.
    const findings: LocatedFinding[] = sourceGroups(entry).flatMap((group) =>
      evaluateLockfileSource(
        { name: entry.name, version: entry.version, ...present(group) },
        { policy, registries, ...(rewrites && npmOnly(group.locations) ? { rewrites } : {}) },
      ).map((f) => (group.all ? f : { ...f, locations: group.locations })),
    );
    if (findings.length === 0) return verdict;
    const all = [...verdict.findings, ...findings];
    return { ...verdict, findings: all, decision: strongestDecision(all) };
  });
}
