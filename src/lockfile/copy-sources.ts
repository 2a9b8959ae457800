// Every copy's own `resolved` and `integrity`, kept while a reader merges the copies of one
// name@version into an entry: an entry reports the first copy's, and without these a copy edited
// to fetch from elsewhere would go unjudged behind an untouched one.
import type { CopySource, LockfileEntry, LockfileLocation } from './lockfile-inventory.js';

export interface CopySourceTracker {
  add(entry: LockfileEntry, location: LockfileLocation, resolved?: string, integrity?: string): void;
  /** Sets `sources` on each entry whose copies disagree. */
  finish(): void;
}

export function trackCopySources(): CopySourceTracker {
  const copies = new Map<LockfileEntry, CopySource[]>();
  return {
    add(entry, location, resolved, integrity) {
      const list = copies.get(entry) ?? [];
      copies.set(entry, list);
      list.push({
        location,
        ...(resolved ? { resolved } : {}),
        ...(integrity ? { integrity } : {}),
      });
    },
    finish() {
      for (const [entry, list] of copies) setSources(entry, list);
    },
  };
}

/** Each copy of `entry`: its own sources, or its locations with the entry's resolved/integrity. */
export function copySourcesOf(entry: LockfileEntry): CopySource[] {
  return (
    entry.sources ??
    entry.locations.map((location) => ({
      location,
      ...(entry.resolved ? { resolved: entry.resolved } : {}),
      ...(entry.integrity ? { integrity: entry.integrity } : {}),
    }))
  );
}

/** Records `list` on the entry when its copies disagree, else removes any `sources`. */
export function setSources(entry: LockfileEntry, list: readonly CopySource[]): void {
  const distinct = new Set(list.map(sourceKey));
  if (distinct.size > 1) {
    entry.sources = [...list].sort(
      (a, b) => a.location.file.localeCompare(b.location.file) || a.location.line - b.location.line,
    );
  } else delete entry.sources;
}

export function sourceKey(source: Pick<CopySource, 'resolved' | 'integrity'>): string {
  return `${source.resolved ?? ''}\0${source.integrity ?? ''}`;
}
