// Every copy's own `resolved` and `integrity`, kept while a reader merges the copies of one
// name@version into an entry: an entry reports the first copy's, and without these a copy edited
// to fetch from elsewhere would go unjudged behind an untouched one.
import type { CopySource, LockfileEntry, LockfileLocation } from './lockfile-inventory.js';

type Recorded = Pick<CopySource, 'resolved' | 'integrity' | 'checksum'>;

export interface CopySourceTracker {
  add(entry: LockfileEntry, location: LockfileLocation, recorded: Recorded): void;
  /** Sets `sources` on each entry whose copies disagree. */
  finish(): void;
}

export function trackCopySources(): CopySourceTracker {
  const copies = new Map<LockfileEntry, CopySource[]>();
  return {
    add(entry, location, recorded) {
      const list = copies.get(entry) ?? [];
      copies.set(entry, list);
      list.push({ location, ...present(recorded) });
    },
    finish() {
      for (const [entry, list] of copies) setSources(entry, list);
    },
  };
}

/** Each copy of `entry`: its own sources, or its locations with the entry's resolved/integrity. */
export function copySourcesOf(entry: LockfileEntry): CopySource[] {
  return entry.sources ?? entry.locations.map((location) => ({ location, ...present(entry) }));
}

/** The recorded fields that are set (non-empty). */
export function present(recorded: Recorded): Recorded {
  return {
    ...(recorded.resolved ? { resolved: recorded.resolved } : {}),
    ...(recorded.integrity ? { integrity: recorded.integrity } : {}),
    ...(recorded.checksum ? { checksum: recorded.checksum } : {}),
  };
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

export function sourceKey(source: Recorded): string {
  return `${source.resolved ?? ''}\0${source.integrity ?? ''}\0${source.checksum ?? ''}`;
}
