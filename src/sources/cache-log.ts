// The cache log of one directory, as this process sees it: the in-memory index of its records,
// catching up with what other processes appended, and compaction.
//
// Several processes may share a directory (an audit and the service, parallel CI jobs): each
// record goes out in one O_APPEND write, so records never interleave; a process picks up what
// others appended when it misses; and a compaction publishes a new log with one rename, after
// which the others reopen it.
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
} from 'node:fs';
import { type FileHandle, open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import {
  MAGIC,
  MAX_HEADER_BYTES,
  PREFIX_BYTES,
  type RecordHeader,
  readHeader,
  writeRecord,
} from './cache-log-record.js';

/** The log inside a cache directory. The format is in the name: a new format starts a new log. */
export const CACHE_LOG_FILE = 'cache-v2.log';
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
 * 65–98 ms of the event loop to write) go through the thread pool on a handle of their own (asyncHandle),
 * so a proxy keeps answering while they move.
 */
export const SYNC_IO_MAX_BYTES = 16 * 1024;
/** The CRCs of those larger bodies are computed this much per turn of the event loop (about 0.3 ms). */
export const CRC_SLICE_BYTES = 1024 * 1024;
/** Temporary logs of compactions that never finished (a process killed meanwhile) go after this. */
const STALE_TEMP_MS = 60 * 60 * 1000;

export interface IndexEntry {
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

export interface Store {
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
  /** The log's handle for thread-pool reads and appends (see asyncHandle), with its inode. */
  handle: { ino: number; fh: Promise<FileHandle | undefined> } | undefined;
  syncIoMaxBytes: number;
  crcSliceBytes: number;
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

export const stores = new Map<string, Store>();

export function storeOf(dir: string, syncIoMaxBytes?: number, crcSliceBytes?: number): Store {
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
      handle: undefined,
      syncIoMaxBytes: syncIoMaxBytes ?? SYNC_IO_MAX_BYTES,
      crcSliceBytes: crcSliceBytes ?? CRC_SLICE_BYTES,
    };
    stores.set(dir, store);
  }
  return store;
}

export function indexKey(namespace: string, key: string): string {
  return `${namespace}\0${key}`;
}

export function open(store: Store): number | undefined {
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

export function closeStore(store: Store): void {
  // The compaction reads through this descriptor and judges by this index: both are going.
  if (store.compaction) abandonCompaction(store);
  if (store.fd !== undefined) closeSync(store.fd);
  store.fd = undefined;
  if (store.handle) {
    // A FileHandle closes once the reads and writes under way on it are done, so its descriptor
    // number cannot be reused under them.
    const { fh } = store.handle;
    store.handle = undefined;
    fh.then((h) => h?.close()).catch(() => {});
  }
}

/**
 * The handle large bodies are read and written through in the thread pool, one per open log (the
 * synchronous descriptor could be closed, and its number reused, while they wait). Opening, checking
 * and closing a descriptor per document took four thread-pool round trips and was the largest cost
 * of the disk cache in a cold 2,000-package audit (bench/audit-bench.ts --profile). Undefined when
 * the file at the path is no longer the log this process indexes (a compaction replaced it).
 */
export function asyncHandle(store: Store): Promise<FileHandle | undefined> {
  if (store.handle?.ino === store.ino) return store.handle.fh;
  const ino = store.ino;
  const fh = openFile(store.path, 'a+').then(
    async (h) => {
      if ((await h.stat()).ino === ino) return h;
      await h.close();
      return undefined;
    },
    () => undefined,
  );
  store.handle = { ino, fh };
  return fh;
}

export function disable(store: Store): void {
  try {
    closeStore(store);
  } catch {
    // already gone
  }
  store.disabled = true;
}

/** Indexes the records appended since the last scan (by this process or another). */
export function scan(store: Store): void {
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

/** The inode now at `path`, -1 when there is none (the directory was deleted). */
export function inodeAt(path: string): number {
  try {
    return statSync(path).ino;
  } catch {
    return -1;
  }
}

/** Catches up with other processes: their appends, or a compacted log that replaced ours. */
export function refresh(store: Store): void {
  if (inodeAt(store.path) !== store.ino) {
    closeStore(store);
    open(store);
    return;
  }
  scan(store);
}

/**
 * Starts a compaction when dead records outweigh live ones, and drives it: in slices between other
 * work, or to the end at once (`now`, when the cache is closed). Callers scan first: only indexed
 * records can be judged dead or carried over, and what other processes appended since the last
 * scan is live (on close, that can be most of the log).
 */
export function compactIfWorthIt(store: Store, now = false): void {
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

export function startCompaction(store: Store): boolean {
  const temp = `${store.path}.${process.pid}.${process.getBuiltinModule('node:crypto').randomBytes(4).toString('hex')}.tmp`;
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
export function compactionStep(store: Store, budgetBytes: number): boolean {
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
