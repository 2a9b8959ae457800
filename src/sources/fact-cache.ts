// Facts about a published version that never change: its publish time, its repository, its
// integrity, the stable versions published before it, and what its tarball bundles. A registry never publishes the same
// version number twice, so these are kept for good (until pruned for lack of use or for size),
// whatever cache headers the registry sends, and a warm audit a day or a month later asks nothing
// for them. They take about two hundred bytes per version; the documents they come from take tens
// of kilobytes to megabytes each, and stay in the document cache only as long as needed.
//
// One file per cache directory, JSON lines, appended in one write per run: several processes may
// share the directory, and a line torn by a crash is skipped. Kept apart from the document log so
// that reading the facts of a 3,000-package lockfile reads a megabyte, not the documents.

import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { NameHistory } from '../policy/name-history.js';

/** What is known about one published version; a field is absent when it was not learned. */
export interface VersionRecord {
  /** Raw publish timestamp from the packument's `time` map. */
  publishedAt?: string;
  /** The manifest's `repository` field; null when the version has none. */
  repository?: unknown;
  /** `dist.integrity` of the published tarball. */
  integrity?: string;
  /** Stable versions published before this one, newest first (for tag-regression evidence). */
  previousVersions?: string[];
  /**
   * The name's history when it made a look-alike established (typosquatting). Kept because an
   * established name stays established: its first publish does not move and time only adds age.
   */
  nameHistory?: NameHistory;
  /**
   * What its tarball bundles (`audit` of lockfiles that do not list bundled packages): empty when
   * its manifest declares no bundled dependencies, else the name@version of each bundled manifest
   * read from the tarball (its integrity is fixed, so this never changes).
   */
  bundled?: { name: string; version: string }[];
}

export interface FactCache {
  get(name: string, version: string): VersionRecord | undefined;
  /** Merges what was learned into the record (facts of a version only ever grow). */
  put(name: string, version: string, record: VersionRecord): void;
}

export const FACT_CACHE_FILE = 'facts-v1.jsonl';
const DAY_MS = 24 * 3600 * 1000;
/** A line longer than this is not a version's facts: skipped when read, never written. */
const MAX_LINE_BYTES = 16 * 1024;

interface Line {
  /** Registry base URL: the same name on another registry is another package. */
  r: string;
  n: string;
  v: string;
  t?: string;
  p?: unknown;
  i?: string;
  k?: string[];
  h?: NameHistory;
  /** `bundled`, as `name@version` strings. */
  b?: string[];
  /** Day (since the epoch) the record was last used: prune drops records unused for long. */
  u: number;
}

interface Store {
  path: string;
  records: Map<string, Line>;
  /** Lines in the file (live or superseded), to know when a rewrite pays. */
  fileLines: number;
  /** Records to append at flush. */
  dirty: Set<string>;
  today: number;
  disabled: boolean;
}

const stores = new Map<string, Store>();

const keyOf = (registry: string, name: string, version: string) => `${registry}\0${name}\0${version}`;

function load(dir: string, nowMs: number): Store {
  let store = stores.get(dir);
  if (store) return store;
  store = {
    path: join(dir, FACT_CACHE_FILE),
    records: new Map(),
    fileLines: 0,
    dirty: new Set(),
    today: Math.floor(nowMs / DAY_MS),
    disabled: false,
  };
  stores.set(dir, store);
  let text = '';
  try {
    text = readFileSync(store.path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') store.disabled = true;
  }
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    store.fileLines++;
    const line = parseLine(raw);
    if (!line) continue;
    const key = keyOf(line.r, line.n, line.v);
    const previous = store.records.get(key);
    // Later lines add to earlier ones (another process may have learned another fact).
    store.records.set(key, previous ? { ...previous, ...line, u: Math.max(previous.u, line.u) } : line);
  }
  return store;
}

function isNameHistory(value: unknown): value is NameHistory {
  if (typeof value !== 'object' || value === null) return false;
  const h = value as Record<string, unknown>;
  const dateOrNull = (v: unknown) => v === null || typeof v === 'string';
  return (
    dateOrNull(h.firstPublished) &&
    dateOrNull(h.lastPublished) &&
    Number.isInteger(h.versionCount) &&
    Number.isInteger(h.datedVersions)
  );
}

function parseLine(raw: string): Line | undefined {
  if (raw.length > MAX_LINE_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined; // torn by a crash, or not ours
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const l = value as Record<string, unknown>;
  if (typeof l.r !== 'string' || typeof l.n !== 'string' || typeof l.v !== 'string') return undefined;
  if (typeof l.u !== 'number' || !Number.isFinite(l.u)) return undefined;
  if (l.t !== undefined && typeof l.t !== 'string') return undefined;
  if (l.i !== undefined && typeof l.i !== 'string') return undefined;
  if (l.k !== undefined && !(Array.isArray(l.k) && l.k.every((v) => typeof v === 'string'))) return undefined;
  if (l.h !== undefined && !isNameHistory(l.h)) return undefined;
  if (l.b !== undefined && !(Array.isArray(l.b) && l.b.every((v) => splitSpec(v) !== undefined)))
    return undefined;
  return l as unknown as Line;
}

/** `name@version` → its parts (a version never holds an `@`; a scoped name starts with one). */
function splitSpec(spec: unknown): { name: string; version: string } | undefined {
  if (typeof spec !== 'string') return undefined;
  const at = spec.lastIndexOf('@');
  if (at <= 0 || at === spec.length - 1) return undefined;
  return { name: spec.slice(0, at), version: spec.slice(at + 1) };
}

/** The facts of one registry's versions, kept in `dir`. */
export function createFactCache(
  dir: string,
  registry: string,
  now: () => Date = () => new Date(),
): FactCache {
  const storeOf = () => load(dir, now().getTime());
  return {
    get(name, version) {
      const store = storeOf();
      const key = keyOf(registry, name, version);
      const line = store.records.get(key);
      if (!line) return undefined;
      if (line.u < store.today) {
        // Used again: dated today, so a prune keeps it (written once per day at most).
        line.u = store.today;
        store.dirty.add(key);
      }
      const record: VersionRecord = {};
      if (line.t !== undefined) record.publishedAt = line.t;
      if (Object.hasOwn(line, 'p')) record.repository = line.p;
      if (line.i !== undefined) record.integrity = line.i;
      if (line.k !== undefined) record.previousVersions = line.k;
      if (line.h !== undefined) record.nameHistory = line.h;
      if (line.b !== undefined) record.bundled = line.b.map((spec) => splitSpec(spec)!);
      return record;
    },
    put(name, version, record) {
      const store = storeOf();
      const key = keyOf(registry, name, version);
      const line: Line = {
        ...(store.records.get(key) ?? { r: registry, n: name, v: version }),
        u: store.today,
      };
      if (record.publishedAt !== undefined) line.t = record.publishedAt;
      if (record.repository !== undefined) line.p = record.repository;
      if (record.integrity !== undefined) line.i = record.integrity;
      if (record.previousVersions !== undefined) line.k = record.previousVersions;
      if (record.nameHistory !== undefined) line.h = record.nameHistory;
      if (record.bundled !== undefined) line.b = record.bundled.map((b) => `${b.name}@${b.version}`);
      if (JSON.stringify(line).length > MAX_LINE_BYTES) return; // a hostile repository field
      store.records.set(key, line);
      store.dirty.add(key);
    },
  };
}

/** Appends what this process learned (one write per directory) and forgets the loaded records. */
export function flushFactCaches(): void {
  for (const store of stores.values()) {
    try {
      if (!store.disabled && store.dirty.size > 0) {
        const text = [...store.dirty].map((key) => JSON.stringify(store.records.get(key))).join('\n');
        mkdirSync(join(store.path, '..'), { recursive: true });
        const fd = openSync(store.path, 'a');
        try {
          writeSync(fd, `${text}\n`);
        } finally {
          closeSync(fd);
        }
        store.fileLines += store.dirty.size;
        // Superseded lines outweigh live ones: rewrite the file with one line per record.
        if (store.fileLines > 2 * store.records.size + 1000) rewrite(store.path, store.records.values());
      }
    } catch {
      // The cache only saves time: a read-only or full disk must not fail the run.
    }
  }
  stores.clear();
}

function rewrite(path: string, lines: Iterable<Line>): void {
  const text = [...lines].map((l) => JSON.stringify(l)).join('\n');
  replaceFileSync(path, text === '' ? '' : `${text}\n`);
}

/**
 * Writes `text` to a temporary file beside `path` and renames it over `path`. Whatever step fails
 * (a full disk mid-write, the rename), the temporary file goes: left behind, it would take the
 * space freed later.
 */
export function replaceFileSync(path: string, text: string): void {
  // node:crypto loads on use: a `lockwarden check` that writes no fact file never pays for it.
  const temp = `${path}.${process.pid}.${process.getBuiltinModule('node:crypto').randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, text);
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

export interface FactPruneResult {
  kept: number;
  removed: number;
  bytes: number;
}

/**
 * Drops the records not used for `unusedDays`, then the least recently used ones while the file
 * is larger than `maxBytes`. Another process appending meanwhile may lose its lines: they are
 * learned again on its next run.
 */
export function pruneFactCache(
  dir: string,
  opts: { now: Date; unusedDays: number; maxBytes: number },
): FactPruneResult {
  stores.delete(dir);
  const store = load(dir, opts.now.getTime());
  stores.delete(dir);
  const before = store.records.size;
  const cutoff = Math.floor(opts.now.getTime() / DAY_MS) - opts.unusedDays;
  const live = [...store.records.values()].filter((l) => l.u >= cutoff).sort((a, b) => b.u - a.u);
  let bytes = 0;
  const kept: Line[] = [];
  for (const line of live) {
    const size = JSON.stringify(line).length + 1;
    if (bytes + size > opts.maxBytes) break;
    bytes += size;
    kept.push(line);
  }
  if (existsSync(store.path) && (kept.length !== before || store.fileLines !== before))
    rewrite(store.path, kept);
  return { kept: kept.length, removed: before - kept.length, bytes };
}

/** Size of the fact file in bytes (0 when there is none). */
export function factCacheBytes(dir: string): number {
  try {
    return statSync(join(dir, FACT_CACHE_FILE)).size;
  } catch {
    return 0;
  }
}

export function clearFactCache(dir: string): void {
  stores.delete(dir);
  rmSync(join(dir, FACT_CACHE_FILE), { force: true });
}
