// What a pull request changes in a lockfile, so the Action can check only what is new.
// Compared by name@version: where a package sits in the tree does not change what was published.
// One exception: a version that moves into a location where the base had another version of the
// same package (`node_modules/debug` 4.3.3 → 4.4.3, 4.4.3 already nested elsewhere) is an update
// of that location, as a reviewer reads it, and is checked like one.
// The same name@version with another `resolved`, `integrity` or `checksum` is a change too: it can
// be another tarball (a different registry, a tampered lockfile), and must be checked again. That
// holds per copy: an entry reports its first copy's source, and a pull request that edits a nested
// copy (or adds one, under a new dependency, fetched from elsewhere) leaves that one untouched.
import semver from 'semver';
import { copySourcesOf, present, sourceKey } from './copy-sources.js';
import type { CopySource, LockfileEntry, LockfileInventory, SkippedEntry } from './lockfile-inventory.js';

export type SourceField = 'resolved' | 'integrity' | 'checksum';

export interface LockfileDiff {
  /** name@version in head whose name is not in base at all. */
  added: LockfileEntry[];
  /**
   * name@version in head, not in base, for a name base has at other versions; or in base too,
   * but now at a location where base had another version of it (`from` then lists those).
   */
  updated: { name: string; from: string[]; to: LockfileEntry }[];
  /**
   * name@version in both, where some head copy records a source (`resolved`, `integrity` and
   * `checksum` together) that no base copy of it records. `fields`: where those copies differ from
   * the base copy at their location (or, at a new location, from the base entry's first copy).
   */
  sourceChanged: { from: LockfileEntry; to: LockfileEntry; fields: SourceField[] }[];
  /** name@version in base and not in head. */
  removed: { name: string; version: string }[];
  /** How many head entries base already had, from the same source. */
  unchanged: number;
  /** Head entries not fetched from a registry (git, remote tarball, `file:`) that base did not have. */
  skippedAdded: SkippedEntry[];
}

/**
 * Compares two inventories. With no base (a new lockfile), everything in head is added.
 * `updated.from` lists the base versions of the name that head no longer has; when head keeps
 * all of them and adds another copy, it lists every base version.
 */
export function diffInventories(base: LockfileInventory | null, head: LockfileInventory): LockfileDiff {
  if (base === null) {
    return {
      added: [...head.entries],
      updated: [],
      sourceChanged: [],
      removed: [],
      unchanged: 0,
      skippedAdded: [...head.skipped],
    };
  }

  const baseVersions = versionsByName(base.entries);
  const headVersions = versionsByName(head.entries);
  const baseEntries = new Map(base.entries.map((e) => [entryKey(e), e]));
  const baseAtLocation = versionsByLocation(base.entries);
  const added: LockfileEntry[] = [];
  const updated: LockfileDiff['updated'] = [];
  const sourceChanged: LockfileDiff['sourceChanged'] = [];
  let unchanged = 0;

  for (const entry of head.entries) {
    const before = baseVersions.get(entry.name);
    const same = baseEntries.get(entryKey(entry));
    if (same !== undefined) {
      const fields = newSourceFields(same, entry);
      const replaced = replacedAtNewLocations(entry, same, baseAtLocation);
      if (replaced.length > 0) updated.push({ name: entry.name, from: sortVersions(replaced), to: entry });
      if (fields.length > 0) sourceChanged.push({ from: same, to: entry, fields });
      if (replaced.length === 0 && fields.length === 0) unchanged++;
    } else if (before === undefined) {
      added.push(entry);
    } else {
      const after = headVersions.get(entry.name);
      const gone = [...before].filter((version) => !after?.has(version));
      updated.push({ name: entry.name, from: sortVersions(gone.length > 0 ? gone : [...before]), to: entry });
    }
  }

  const removed: LockfileDiff['removed'] = [];
  for (const entry of base.entries) {
    if (!headVersions.get(entry.name)?.has(entry.version)) {
      removed.push({ name: entry.name, version: entry.version });
    }
  }
  const baseSkipped = new Set(base.skipped.map(skippedKey));
  const skippedAdded = head.skipped.filter((s) => !baseSkipped.has(skippedKey(s)));
  return { added, updated, sourceChanged, removed, unchanged, skippedAdded };
}

const SOURCE_FIELDS: readonly SourceField[] = ['resolved', 'integrity', 'checksum'];

/** What each copy records; an entry with no locations counts as one copy, its own. */
function copiesOf(
  entry: LockfileEntry,
): (Omit<CopySource, 'location'> & Partial<Pick<CopySource, 'location'>>)[] {
  const copies = copySourcesOf(entry);
  return copies.length > 0 ? copies : [present(entry)];
}

/**
 * The fields of the head copies whose source no base copy of the same name@version records
 * (empty: every head copy fetches what some base copy did).
 */
function newSourceFields(before: LockfileEntry, after: LockfileEntry): SourceField[] {
  const baseCopies = copiesOf(before);
  const known = new Set(baseCopies.map(sourceKey));
  const fields = new Set<SourceField>();
  for (const copy of copiesOf(after)) {
    if (known.has(sourceKey(copy))) continue;
    const key = copy.location?.key;
    const there = baseCopies.find((b) => key !== undefined && b.location?.key === key) ?? present(before);
    for (const field of SOURCE_FIELDS) if ((copy[field] ?? '') !== (there[field] ?? '')) fields.add(field);
  }
  return SOURCE_FIELDS.filter((f) => fields.has(f));
}

function entryKey(e: { name: string; version: string }): string {
  return `${e.name}@${e.version}`;
}

/** A git dependency moved to another commit, or a tarball to another URL, is new. */
function skippedKey(s: SkippedEntry): string {
  return `${s.name}\0${s.spec}`;
}

/** Location key + name → the versions base had there (one, in a well-formed lockfile). */
function versionsByLocation(entries: readonly LockfileEntry[]): Map<string, Set<string>> {
  const map = new Map<string, Set<string>>();
  for (const e of entries) {
    for (const l of e.locations) {
      const id = `${l.key}\0${e.name}`;
      let versions = map.get(id);
      if (versions === undefined) {
        versions = new Set();
        map.set(id, versions);
      }
      versions.add(e.version);
    }
  }
  return map;
}

/**
 * The base versions `entry` replaced at locations it did not hold in base: empty when it only
 * kept its places (or took free ones, as a newly nested copy does).
 */
function replacedAtNewLocations(
  entry: LockfileEntry,
  before: LockfileEntry,
  baseAtLocation: Map<string, Set<string>>,
): string[] {
  const held = new Set(before.locations.map((l) => l.key));
  const replaced = new Set<string>();
  for (const l of entry.locations) {
    if (held.has(l.key)) continue;
    for (const v of baseAtLocation.get(`${l.key}\0${entry.name}`) ?? [])
      if (v !== entry.version) replaced.add(v);
  }
  return [...replaced];
}

function versionsByName(entries: readonly LockfileEntry[]): Map<string, Set<string>> {
  const map = new Map<string, Set<string>>();
  for (const { name, version } of entries) {
    let versions = map.get(name);
    if (versions === undefined) {
      versions = new Set();
      map.set(name, versions);
    }
    versions.add(version);
  }
  return map;
}

function sortVersions(versions: string[]): string[] {
  return versions.sort((a, b) => {
    const va = semver.valid(a, { loose: true });
    const vb = semver.valid(b, { loose: true });
    if (va !== null && vb !== null) return semver.compare(va, vb, { loose: true });
    return a < b ? -1 : a > b ? 1 : 0;
  });
}
