// A small on-disk cache for upstream documents: one append-only log per cache directory, indexed
// in memory. Creating a file costs far more than appending to one (on the ext4 of the benchmark
// machine, about 0.8 ms of kernel time per new file against 10 µs per append), and a cold audit
// or a proxied install stores thousands of documents. Keys live inside records, so a hostile
// package name never becomes a path; every body carries a CRC, so a torn or foreign record is a
// miss; and any failure only disables the cache, because it saves time and must never fail a run.
//
// Several processes may share a directory (an audit and the service, parallel CI jobs): each
// record goes out in one O_APPEND write, so records never interleave; a process picks up what
// others appended when it misses; and a compaction publishes a new log with one rename, after
// which the others reopen it.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

export interface CacheEntry {
  body: Buffer;
  etag?: string;
  /** When the body was last fetched or revalidated (ms since epoch). */
  fetchedAtMs: number;
}

export interface DiskCache {
  readonly dir: string;
  read(namespace: string, key: string): Promise<CacheEntry | undefined>;
  write(namespace: string, key: string, entry: CacheEntry): Promise<void>;
}

/** The cache directory: an explicit override, `LOCKWARDEN_CACHE_DIR`, `$XDG_CACHE_HOME/lockwarden`, `~/.cache/lockwarden`. */
export function resolveCacheDir(opts: {
  env: NodeJS.ProcessEnv;
  override?: string;
  homeDir?: string;
}): string {
  if (opts.override) return opts.override;
  if (opts.env.LOCKWARDEN_CACHE_DIR) return opts.env.LOCKWARDEN_CACHE_DIR;
  if (opts.env.XDG_CACHE_HOME) return join(opts.env.XDG_CACHE_HOME, 'lockwarden');
  return join(opts.homeDir ?? opts.env.HOME ?? homedir(), '.cache', 'lockwarden');
}

/** The log inside a cache directory. The format is in the name: a new format starts a new log. */
export const CACHE_LOG_FILE = 'cache-v2.log';

// Record layout: magic, header length, body length, CRC-32 of header and body (all u32 LE), then
// the JSON header ({n: namespace, k: key, t: fetchedAtMs, e?: etag, r?: 1}) and the body. A
// record with `r` (refresh) has no body: it re-dates the key's latest body, so a document that
// came back unchanged (304, or the same bytes from a registry without ETags) costs a few bytes.
const MAGIC = 0x3263_774c; // "Lwc2"
const PREFIX_BYTES = 16;
const MAX_HEADER_BYTES = 64 * 1024;
/** Compaction runs when dead records take more than this and more than the live ones. */
const COMPACT_MIN_DEAD_BYTES = 64 * 1024 * 1024;
/**
 * A compaction copies this much per turn of the event loop: the live records of a service's cache
 * can be gigabytes, and a proxy must not stop answering while they are copied.
 */
const COMPACT_SLICE_BYTES = 8 * 1024 * 1024;
/**
 * Bodies up to this size are read and written synchronously: a few microseconds each, cheaper
 * than a round trip through the thread pool. Larger ones (a packument can be tens of MB; 8 MB took
 * 65–98 ms of the event loop to write) go through the thread pool with a descriptor of their own,
 * so a proxy keeps answering while they move.
 */
export const SYNC_IO_MAX_BYTES = 16 * 1024;
/** Temporary logs of compactions that never finished (a process killed meanwhile) go after this. */
const STALE_TEMP_MS = 60 * 60 * 1000;

interface IndexEntry {
  /** Offset of the record whose body is the key's current body. */
  at: number;
  headerBytes: number;
  bodyBytes: number;
  crc: number;
  /** CRC-32 of the body alone: a rewrite with the same bytes becomes a refresh record. */
  bodyCrc: number;
  fetchedAtMs: number;
  etag?: string;
}

interface Store {
  dir: string;
  path: string;
  fd: number | undefined;
  ino: number;
  /** Everything before this offset is indexed. */
  scannedTo: number;
  index: Map<string, IndexEntry>;
  liveBytes: number;
  /** The cache failed (unwritable directory, full disk); it stays off for this process. */
  disabled: boolean;
  compaction: Compaction | undefined;
  /** After a failed compaction, the next waits until the log has grown past this. */
  compactAfterBytes: number;
  /** Keys this process read or wrote: a prune keeps them (a run still uses them). */
  used: Set<string>;
  /** Writes under way in the thread pool; closing waits for them. */
  pending: Set<Promise<void>>;
  syncIoMaxBytes: number;
}

interface Compaction {
  temp: string;
  out: number;
  /** The entries to carry over, as the index held them when the compaction started. */
  queue: Array<[string, IndexEntry]>;
  next: number;
  /** What the new log holds per key: the entry it came from, and the date and ETag it got. */
  copied: Map<string, { entry: IndexEntry; n: string; k: string; fetchedAtMs: number; etag?: string }>;
}

const stores = new Map<string, Store>();

/** Closes every cache log (each reopens on next use). Nothing is buffered: writes are on disk. */
export async function flushDiskCaches(): Promise<void> {
  for (const store of stores.values()) await Promise.allSettled([...store.pending]);
  for (const store of stores.values()) {
    try {
      // Judged on an index that includes what other processes appended since this one last
      // looked; a compaction under way (or due) is finished now rather than left half done.
      if (store.fd !== undefined && !store.disabled) scan(store);
      compactIfWorthIt(store, true);
    } catch {
      // The cache only saves time: closing it must not fail the run.
    }
    disable(store); // closes it; the store itself is dropped below
  }
  stores.clear();
}

function storeOf(dir: string, syncIoMaxBytes?: number): Store {
  let store = stores.get(dir);
  if (!store) {
    store = {
      dir,
      path: join(dir, CACHE_LOG_FILE),
      fd: undefined,
      ino: -1,
      scannedTo: 0,
      index: new Map(),
      liveBytes: 0,
      disabled: false,
      compaction: undefined,
      compactAfterBytes: 0,
      used: new Set(),
      pending: new Set(),
      syncIoMaxBytes: syncIoMaxBytes ?? SYNC_IO_MAX_BYTES,
    };
    stores.set(dir, store);
  }
  return store;
}

export function createDiskCache(
  dir: string,
  /** `syncIoMaxBytes`: tests of the log's own logic pin every body to the synchronous path. */
  options: { syncIoMaxBytes?: number } = {},
): DiskCache {
  return {
    dir,
    async read(namespace, key) {
      const store = storeOf(dir, options.syncIoMaxBytes);
      try {
        return await readEntry(store, indexKey(namespace, key));
      } catch {
        return undefined;
      }
    },
    async write(namespace, key, entry) {
      const store = storeOf(dir, options.syncIoMaxBytes);
      const done = writeEntry(store, namespace, key, entry).catch(() => {
        // Read-only or full disks only cost speed.
        disable(store);
      });
      store.pending.add(done);
      try {
        await done;
      } finally {
        store.pending.delete(done);
      }
    },
  };
}

export interface PruneResult {
  /** Entries left, and the bytes of the log after the prune. */
  entries: number;
  bytes: number;
  removed: number;
}

/**
 * Forgets the entries fetched before `fetchedBeforeMs`, then the oldest while the live ones take
 * more than `maxBytes`, except those this process read or wrote (still in use), and compacts the
 * log so the space is given back. Other processes sharing the directory reopen the compacted log.
 * Undefined when the cache cannot be opened.
 */
export function pruneDiskCache(
  dir: string,
  opts: { fetchedBeforeMs?: number; maxBytes?: number },
): PruneResult | undefined {
  const store = storeOf(dir);
  try {
    if (open(store) === undefined) return undefined;
    refresh(store);
    if (store.fd === undefined) return undefined;
    if (store.compaction) compactionStep(store, Number.POSITIVE_INFINITY);
    const size = (e: IndexEntry) => PREFIX_BYTES + e.headerBytes + e.bodyBytes;
    let live = 0;
    for (const e of store.index.values()) live += size(e);
    const oldestFirst = [...store.index].sort((a, b) => a[1].fetchedAtMs - b[1].fetchedAtMs);
    let removed = 0;
    for (const [id, entry] of oldestFirst) {
      if (store.used.has(id)) continue;
      const expired = opts.fetchedBeforeMs !== undefined && entry.fetchedAtMs < opts.fetchedBeforeMs;
      if (!expired && !(opts.maxBytes !== undefined && live > opts.maxBytes)) continue;
      store.index.delete(id);
      store.liveBytes -= size(entry);
      live -= size(entry);
      removed++;
    }
    if (removed > 0 && startCompaction(store)) compactionStep(store, Number.POSITIVE_INFINITY);
    if (store.fd === undefined) return undefined;
    return { entries: store.index.size, bytes: fstatSync(store.fd).size, removed };
  } catch {
    return undefined;
  }
}

/** Removes the cache log (and temporary logs) of a directory; other files there are left alone. */
export function clearDiskCache(dir: string): void {
  const store = stores.get(dir);
  if (store) disable(store);
  stores.delete(dir);
  rmSync(join(dir, CACHE_LOG_FILE), { force: true });
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names)
    if (name.startsWith(`${CACHE_LOG_FILE}.`) && name.endsWith('.tmp'))
      rmSync(join(dir, name), { force: true });
}

function indexKey(namespace: string, key: string): string {
  return `${namespace}\0${key}`;
}

function open(store: Store): number | undefined {
  if (store.disabled) return undefined;
  if (store.fd !== undefined) return store.fd;
  try {
    mkdirSync(store.dir, { recursive: true });
    store.fd = openSync(store.path, 'a+');
    removeStaleTemps(store);
  } catch {
    disable(store);
    return undefined;
  }
  store.scannedTo = 0;
  store.index.clear();
  store.liveBytes = 0;
  // An offset into the previous log: this one (compacted by us or another process) can be far
  // smaller, and would not be compacted, nor mended when damaged, until it grew that large.
  store.compactAfterBytes = 0;
  try {
    store.ino = fstatSync(store.fd).ino;
    scan(store);
    compactIfWorthIt(store);
  } catch {
    disable(store);
    return undefined;
  }
  return store.fd;
}

function closeStore(store: Store): void {
  // The compaction reads through this descriptor and judges by this index: both are going.
  if (store.compaction) abandonCompaction(store);
  if (store.fd !== undefined) closeSync(store.fd);
  store.fd = undefined;
}

function disable(store: Store): void {
  try {
    closeStore(store);
  } catch {
    // already gone
  }
  store.disabled = true;
}

/** Indexes the records appended since the last scan (by this process or another). */
function scan(store: Store): void {
  const fd = store.fd!;
  const size = fstatSync(fd).size;
  const prefix = Buffer.allocUnsafe(PREFIX_BYTES);
  let at = store.scannedTo;
  while (at + PREFIX_BYTES <= size) {
    if (readSync(fd, prefix, 0, PREFIX_BYTES, at) < PREFIX_BYTES) break;
    const headerBytes = prefix.readUInt32LE(4);
    const bodyBytes = prefix.readUInt32LE(8);
    if (prefix.readUInt32LE(0) !== MAGIC || headerBytes === 0 || headerBytes > MAX_HEADER_BYTES) {
      // Not a record boundary: the log was damaged (a crash mid-write, a foreign file). What is
      // indexed stays usable; the next compaction writes it to a clean log without the rest.
      store.scannedTo = size;
      store.liveBytes = Number.NEGATIVE_INFINITY;
      return;
    }
    const end = at + PREFIX_BYTES + headerBytes + bodyBytes;
    // A record still being appended by another process: picked up on a later scan.
    if (end > size) break;
    const header = readHeader(fd, at, headerBytes);
    if (header) {
      const id = indexKey(header.n, header.k);
      const previous = store.index.get(id);
      if (header.r === 1) {
        // Only for the body it was written for: another process may have appended a new body
        // between the writer's last look and its refresh record.
        if (previous && previous.bodyCrc === header.c) {
          previous.fetchedAtMs = header.t;
          if (header.e === undefined) delete previous.etag;
          else previous.etag = header.e;
        }
      } else {
        if (previous) store.liveBytes -= PREFIX_BYTES + previous.headerBytes + previous.bodyBytes;
        store.index.set(id, {
          at,
          headerBytes,
          bodyBytes,
          crc: prefix.readUInt32LE(12),
          bodyCrc: header.c,
          fetchedAtMs: header.t,
          ...(header.e !== undefined ? { etag: header.e } : {}),
        });
        store.liveBytes += PREFIX_BYTES + headerBytes + bodyBytes;
      }
    }
    at = end;
  }
  store.scannedTo = at;
}

interface RecordHeader {
  n: string;
  k: string;
  t: number;
  c: number;
  e?: string;
  r?: 1;
}

function readHeader(fd: number, at: number, headerBytes: number): RecordHeader | undefined {
  const raw = Buffer.allocUnsafe(headerBytes);
  if (readSync(fd, raw, 0, headerBytes, at + PREFIX_BYTES) < headerBytes) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof header !== 'object' || header === null) return undefined;
  const h = header as Record<string, unknown>;
  if (typeof h.n !== 'string' || typeof h.k !== 'string') return undefined;
  if (typeof h.t !== 'number' || !Number.isFinite(h.t) || typeof h.c !== 'number') return undefined;
  if (h.e !== undefined && typeof h.e !== 'string') return undefined;
  return h as unknown as RecordHeader;
}

async function readEntry(store: Store, id: string): Promise<CacheEntry | undefined> {
  if (open(store) === undefined) return undefined;
  let found = store.index.get(id);
  if (!found) {
    refresh(store);
    found = store.index.get(id);
    if (!found) return undefined;
  }
  store.used.add(id);
  const length = found.headerBytes + found.bodyBytes;
  let raw: Buffer | undefined = Buffer.allocUnsafe(length);
  if (found.bodyBytes <= store.syncIoMaxBytes) {
    if (readSync(store.fd!, raw, 0, length, found.at + PREFIX_BYTES) < length) raw = undefined;
  } else {
    const ino = store.ino;
    raw = await readAsync(store.path, ino, raw, found.at + PREFIX_BYTES);
    // The log was replaced meanwhile (a compaction): the offset meant nothing there. A miss.
    if (raw === undefined && (store.ino !== ino || store.index.get(id) !== found)) return undefined;
  }
  if (raw === undefined || crc32(raw) !== found.crc) {
    // Forgotten, so that the caller's next write of the same bytes stores them anew: a refresh
    // record would re-date the damaged copy, and the key would miss for good.
    if (store.index.get(id) === found) {
      store.index.delete(id);
      store.liveBytes -= PREFIX_BYTES + length;
    }
    return undefined;
  }
  return {
    body: raw.subarray(found.headerBytes),
    fetchedAtMs: found.fetchedAtMs,
    ...(found.etag !== undefined ? { etag: found.etag } : {}),
  };
}

/** The inode now at `path`, -1 when there is none (the directory was deleted). */
function inodeAt(path: string): number {
  try {
    return statSync(path).ino;
  } catch {
    return -1;
  }
}

/** Catches up with other processes: their appends, or a compacted log that replaced ours. */
function refresh(store: Store): void {
  if (inodeAt(store.path) !== store.ino) {
    closeStore(store);
    open(store);
    return;
  }
  scan(store);
}

async function writeEntry(store: Store, namespace: string, key: string, entry: CacheEntry): Promise<void> {
  if (open(store) === undefined) return;
  // Catch up first: a log another process compacted away (or a deleted directory) would swallow
  // the write, and a body another process stored since would otherwise get our refresh record.
  refresh(store);
  const fd = store.fd;
  if (fd === undefined) return;
  const id = indexKey(namespace, key);
  store.used.add(id);
  const bodyCrc = crc32(entry.body);
  const current = store.index.get(id);
  const unchanged = current?.bodyBytes === entry.body.length && current.bodyCrc === bodyCrc;
  const header = Buffer.from(
    JSON.stringify({
      n: namespace,
      k: key,
      t: entry.fetchedAtMs,
      c: bodyCrc,
      ...(entry.etag !== undefined ? { e: entry.etag } : {}),
      ...(unchanged ? { r: 1 } : {}),
    }),
  );
  // A scan would take it for damage and throw away the rest of the log (a hostile key or ETag).
  if (header.length > MAX_HEADER_BYTES) return;
  const body = unchanged ? Buffer.alloc(0) : entry.body;
  // One write per record: with O_APPEND the kernel places it whole at the end of the file.
  if (body.length <= store.syncIoMaxBytes) writeRecord(fd, header, body);
  else {
    const ino = store.ino;
    if (!(await appendAsync(store.path, ino, recordParts(header, body)))) return;
    // Closed or replaced meanwhile: the record went to a log this process no longer reads.
    if (store.fd === undefined || store.ino !== ino || store.disabled) return;
  }
  // Indexed by the next scan, which also learns where the record landed among other processes'.
  scan(store);
  compactIfWorthIt(store);
}

/** Reads `into.length` bytes at `at` through a descriptor of its own; undefined if the log changed. */
async function readAsync(path: string, ino: number, into: Buffer, at: number): Promise<Buffer | undefined> {
  const fh = await openFile(path, 'r');
  try {
    if ((await fh.stat()).ino !== ino) return undefined;
    const { bytesRead } = await fh.read(into, 0, into.length, at);
    return bytesRead === into.length ? into : undefined;
  } finally {
    await fh.close();
  }
}

/**
 * Appends one record with one writev through a descriptor of its own (the shared one may be
 * closed and its number reused while the write waits in the thread pool). False when the log at
 * `path` is no longer the one this process indexes.
 */
async function appendAsync(path: string, ino: number, parts: Buffer[]): Promise<boolean> {
  const fh = await openFile(path, 'a');
  try {
    if ((await fh.stat()).ino !== ino) return false;
    const total = parts.reduce((n, p) => n + p.length, 0);
    const { bytesWritten } = await fh.writev(parts);
    if (bytesWritten < total) throw new Error('short write to the cache log');
    return true;
  } finally {
    await fh.close();
  }
}

function recordParts(header: Buffer, body: Buffer): Buffer[] {
  const prefix = Buffer.allocUnsafe(PREFIX_BYTES);
  prefix.writeUInt32LE(MAGIC, 0);
  prefix.writeUInt32LE(header.length, 4);
  prefix.writeUInt32LE(body.length, 8);
  prefix.writeUInt32LE(crc32(body, crc32(header)), 12);
  return [prefix, header, body];
}

function writeRecord(fd: number, header: Buffer, body: Buffer): void {
  const record = Buffer.concat(recordParts(header, body));
  if (writeSync(fd, record) < record.length) throw new Error('short write to the cache log');
}

/**
 * Starts a compaction when dead records outweigh live ones, and drives it: in slices between other
 * work, or to the end at once (`now`, when the cache is closed). Callers scan first: only indexed
 * records can be judged dead or carried over, and what other processes appended since the last
 * scan is live (on close, that can be most of the log).
 */
function compactIfWorthIt(store: Store, now = false): void {
  if (store.fd === undefined || store.disabled) return;
  if (!store.compaction) {
    const dead = store.scannedTo - store.liveBytes;
    const damaged = store.liveBytes < 0;
    if (!damaged && !(dead > COMPACT_MIN_DEAD_BYTES && dead > store.liveBytes)) return;
    if (store.scannedTo < store.compactAfterBytes) return;
    // Another process already replaced the log: ours is stale, and renaming over theirs would lose it.
    if (inodeAt(store.path) !== store.ino) return;
    if (!startCompaction(store)) return;
    // A damaged log is mended at once: until then, records behind the damage are invisible to
    // every process, and what they append there is lost.
    if (!now && !damaged) {
      const started = store.compaction;
      const slice = () => {
        // This compaction only: one given up and restarted has its own chain of slices.
        if (stores.get(store.dir) !== store || store.compaction !== started) return;
        if (!compactionStep(store, COMPACT_SLICE_BYTES)) setImmediate(slice).unref();
      };
      setImmediate(slice).unref();
    }
  }
  if (now || store.liveBytes < 0) compactionStep(store, Number.POSITIVE_INFINITY);
}

function startCompaction(store: Store): boolean {
  const temp = `${store.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    store.compaction = {
      temp,
      out: openSync(temp, 'w'),
      queue: [...store.index],
      next: 0,
      copied: new Map(),
    };
    return true;
  } catch {
    store.compactAfterBytes = store.scannedTo + COMPACT_MIN_DEAD_BYTES;
    return false;
  }
}

/** Copies up to `budgetBytes` of live records; true when the compaction is over, done or given up. */
function compactionStep(store: Store, budgetBytes: number): boolean {
  const c = store.compaction;
  if (!c) return true;
  try {
    let copied = 0;
    while (c.next < c.queue.length && copied < budgetBytes) {
      const [id, entry] = c.queue[c.next++]!;
      // Replaced or forgotten since the start: settled when the compaction finishes.
      if (store.index.get(id) === entry) copied += copyRecord(store, c, id, entry);
    }
    if (c.next < c.queue.length) return false;
    finishCompaction(store, c);
  } catch {
    abandonCompaction(store);
  }
  return true;
}

function copyRecord(store: Store, c: Compaction, id: string, entry: IndexEntry): number {
  const length = PREFIX_BYTES + entry.headerBytes + entry.bodyBytes;
  const raw = Buffer.allocUnsafe(length);
  if (readSync(store.fd!, raw, 0, length, entry.at) < length) return 0;
  if (crc32(raw.subarray(PREFIX_BYTES)) !== entry.crc) return 0;
  const {
    n,
    k,
    c: bodyCrc,
  } = JSON.parse(
    raw.subarray(PREFIX_BYTES, PREFIX_BYTES + entry.headerBytes).toString('utf8'),
  ) as RecordHeader;
  // A refresh record may have re-dated the entry since: the header is written anew.
  const header = {
    n,
    k,
    t: entry.fetchedAtMs,
    c: bodyCrc,
    ...(entry.etag !== undefined ? { e: entry.etag } : {}),
  };
  writeRecord(c.out, Buffer.from(JSON.stringify(header)), raw.subarray(PREFIX_BYTES + entry.headerBytes));
  c.copied.set(id, {
    entry,
    n,
    k,
    fetchedAtMs: entry.fetchedAtMs,
    ...(entry.etag !== undefined ? { etag: entry.etag } : {}),
  });
  return length;
}

/** Carries over what changed while the copy ran, then publishes the new log with one rename. */
function finishCompaction(store: Store, c: Compaction): void {
  scan(store);
  for (const [id, entry] of store.index) {
    const copy = c.copied.get(id);
    if (!copy || copy.entry !== entry) {
      // The new log has no way to retract the earlier body it holds: a damaged replacement that
      // cannot be carried over would bring it back.
      if (copyRecord(store, c, id, entry) === 0 && copy) throw new Error('cannot supersede a copied body');
    } else if (copy.fetchedAtMs !== entry.fetchedAtMs || copy.etag !== entry.etag) {
      const header = {
        n: copy.n,
        k: copy.k,
        t: entry.fetchedAtMs,
        c: entry.bodyCrc,
        r: 1,
        ...(entry.etag !== undefined ? { e: entry.etag } : {}),
      };
      writeRecord(c.out, Buffer.from(JSON.stringify(header)), Buffer.alloc(0));
    }
  }
  // Likewise a key forgotten since its copy (readEntry found its body damaged, maybe a replacement's).
  for (const id of c.copied.keys()) {
    if (!store.index.has(id)) throw new Error('cannot forget a copied body');
  }
  closeSync(c.out);
  store.compaction = undefined;
  // Another process replaced the log meanwhile: renaming over theirs would lose their records.
  if (inodeAt(store.path) !== store.ino) {
    rmSync(c.temp, { force: true });
    return;
  }
  try {
    renameSync(c.temp, store.path);
  } catch {
    store.compactAfterBytes = store.scannedTo + COMPACT_MIN_DEAD_BYTES;
    rmSync(c.temp, { force: true });
    return;
  }
  closeStore(store);
  open(store);
}

function abandonCompaction(store: Store): void {
  const c = store.compaction;
  if (!c) return;
  store.compaction = undefined;
  store.compactAfterBytes = store.scannedTo + COMPACT_MIN_DEAD_BYTES;
  try {
    closeSync(c.out);
  } catch {
    // already closed
  }
  try {
    rmSync(c.temp, { force: true });
  } catch {
    // A file system gone bad: left for removeStaleTemps. Thrown from a slice, it would end the process.
  }
}

/** Temporary logs left by compactions that never finished (their process was killed). */
function removeStaleTemps(store: Store): void {
  const prefix = `${CACHE_LOG_FILE}.`;
  let names: string[];
  try {
    names = readdirSync(store.dir);
  } catch {
    return; // an unlistable directory can still hold a working log
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const file = join(store.dir, name);
    try {
      if (Date.now() - statSync(file).mtimeMs > STALE_TEMP_MS) rmSync(file, { force: true });
    } catch {
      // another process removed it first
    }
  }
}
