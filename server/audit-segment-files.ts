// The files of the embedded audit log and how a start reads them back: `<first id>.jsonl`
// segments and their `<first id>.idx` index snapshots (audit-index-snapshot.ts). A segment with a
// usable snapshot costs reading the snapshot plus scanning the lines written after it; any other
// is scanned line by line, its malformed lines left out (a copy of the file is kept aside) and,
// when it is the last one, a line torn by a crash cut off.
import { copyFile, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditIndex } from './audit-index.js';
import { decodeSnapshot } from './audit-index-snapshot.js';
import { type AuditEntry, problemOfEntry } from './audit-log.js';

export interface Segment {
  first: number;
  file: string;
  size: number;
  entries: number;
  oldestMs: number;
  newestMs: number;
  /** Bytes of the segment its snapshot on disk covers (0: none). */
  snapshotBytes: number;
}

export const SEGMENT_NAME = /^(\d{12,})\.jsonl$/;
export const SNAPSHOT_NAME = /^(\d{12,})\.idx(\.tmp)?$/;
const padded = (first: number) => String(first).padStart(12, '0');
export const segmentFile = (dir: string, first: number) => join(dir, `${padded(first)}.jsonl`);
export const snapshotFile = (dir: string, first: number) => join(dir, `${padded(first)}.idx`);

export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export const emptySegment = (dir: string, first: number): Segment => ({
  first,
  file: segmentFile(dir, first),
  size: 0,
  entries: 0,
  oldestMs: Number.POSITIVE_INFINITY,
  newestMs: Number.NEGATIVE_INFINITY,
  snapshotBytes: 0,
});

export interface LoadedSegment {
  segment: Segment;
  /** Why the segment's snapshot was not used (undefined: used, or there was none). */
  snapshotProblem?: string;
}

/**
 * Reads one segment into the index; the last one is cut after its last complete line.
 * `onCorrupt` hears of malformed lines (the file is copied aside first).
 */
export async function loadSegment(
  dir: string,
  first: number,
  last: boolean,
  index: AuditIndex,
  onCorrupt?: (file: string, movedTo: string, reason: string) => void,
): Promise<LoadedSegment> {
  const segment = emptySegment(dir, first);
  const file = segment.file;
  const handle = await open(file, 'r');
  let from = 0;
  let snapshotProblem: string | undefined;
  let tail: Buffer;
  try {
    const size = (await handle.stat()).size;
    const snapshot = await readSnapshot(dir, first, size, index.lastId(), handle);
    if (typeof snapshot === 'string') snapshotProblem = snapshot;
    else if (snapshot) {
      const { rows, coveredBytes } = snapshot;
      index.addSegment(first, rows);
      segment.entries = rows.ids.length;
      for (let i = 0; i < rows.times.length; i++) {
        const t = rows.times[i]!;
        if (t < segment.oldestMs) segment.oldestMs = t;
        if (t > segment.newestMs) segment.newestMs = t;
      }
      from = coveredBytes;
      segment.snapshotBytes = coveredBytes;
    }
    tail = Buffer.allocUnsafe(size - from);
    if (tail.length > 0) await handle.read(tail, 0, tail.length, from);
    segment.size = size;
  } finally {
    await handle.close();
  }

  let start = 0;
  let bad = 0;
  let firstProblem: string | null = null;
  while (start < tail.length) {
    const end = tail.indexOf(10, start);
    if (end === -1) {
      if (last) {
        // A write cut short by a crash: it was never acknowledged (its fsync had not returned).
        const writable = await open(file, 'r+');
        try {
          await writable.truncate(from + start);
          await writable.sync();
        } finally {
          await writable.close();
        }
        segment.size = from + start;
      } else {
        bad++;
        firstProblem ??= `bytes ${from + start}..${from + tail.length}: an incomplete line`;
      }
      break;
    }
    let entry: unknown;
    let problem: string | null;
    try {
      entry = JSON.parse(tail.toString('utf8', start, end));
      problem = problemOfEntry(entry, index.lastId());
    } catch (err) {
      problem = `: ${(err as Error).message}`;
    }
    if (problem === null) {
      const e = entry as AuditEntry;
      const t = Date.parse(e.time);
      index.add(e, { segment: first, offset: from + start, length: end - start }, t);
      segment.entries++;
      segment.oldestMs = Math.min(segment.oldestMs, t);
      segment.newestMs = Math.max(segment.newestMs, t);
    } else {
      bad++;
      firstProblem ??= `line at byte ${from + start}${problem}`;
    }
    start = end + 1;
  }
  if (bad > 0) {
    const copy = `${file}.corrupt-${Date.now()}`;
    await copyFile(file, copy);
    onCorrupt?.(file, copy, `${bad} malformed line(s) left out (first: ${firstProblem})`);
  }
  return snapshotProblem === undefined ? { segment } : { segment, snapshotProblem };
}

/**
 * The segment's snapshot if it can be trusted for the segment as it is on disk: it covers no more
 * than the file holds, ends on a line boundary, continues the ids before it, and its last row is
 * the line the file has at that offset. undefined when there is none; why not otherwise.
 */
async function readSnapshot(
  dir: string,
  first: number,
  size: number,
  lastId: number,
  segment: Awaited<ReturnType<typeof open>>,
) {
  let bytes: Buffer;
  try {
    bytes = await readFile(snapshotFile(dir, first));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return `unreadable: ${(err as Error).message}`;
  }
  const snapshot = decodeSnapshot(bytes, first);
  if (typeof snapshot === 'string') return snapshot;
  const { rows, coveredBytes } = snapshot;
  if (coveredBytes > size) return `covers ${coveredBytes} bytes, the segment has ${size}`;
  const n = rows.ids.length;
  if (n > 0 && rows.ids[0]! <= lastId) return `ids start at ${rows.ids[0]}, not above ${lastId}`;
  if (coveredBytes > 0) {
    // The last row's line, and the byte that ends the covered part, must be where it says.
    const offset = n > 0 ? rows.offsets[n - 1]! : coveredBytes - 1;
    const check = Buffer.allocUnsafe(coveredBytes - offset);
    await segment.read(check, 0, check.length, offset);
    if (check[check.length - 1] !== 10) return 'does not end on a line boundary of the segment';
    if (n > 0) {
      const length = rows.lengths[n - 1]!;
      if (check[length] !== 10) return 'its last row is not a line of the segment';
      try {
        if ((JSON.parse(check.toString('utf8', 0, length)) as AuditEntry).id !== rows.ids[n - 1])
          return 'its last row is another entry in the segment';
      } catch {
        return 'its last row is not a line of the segment';
      }
    }
  }
  return snapshot;
}

/** Removes snapshots (and their temporary files) whose segment is gone. */
export async function removeOrphanSnapshots(dir: string, names: string[], segments: Set<number>) {
  for (const name of names) {
    const m = SNAPSHOT_NAME.exec(name);
    if (m && (m[2] !== undefined || !segments.has(Number(m[1]))))
      await unlink(join(dir, name)).catch(() => {});
  }
}
