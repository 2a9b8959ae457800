// Index snapshots of the embedded audit log: a start reads each segment's `.idx` instead of
// parsing its lines, scans only the lines written after the snapshot (a kill -9), and falls back
// to scanning the whole segment when a snapshot is torn, stale or made for another segment.
// The tests edit a covered line in place (same length) to tell whether the index came from the
// snapshot (the edit goes unnoticed by the index) or from parsing the line.
import { copyFile, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditLog } from '../../server/audit-log.js';
import { createSegmentAuditLog, type SegmentAuditLogOptions } from '../../server/segment-audit-log.js';
import { makeAuditEntry as entry } from '../helpers/make-audit-entry.js';
import { NOW } from '../helpers/make-policy.js';

let dir: string;
const open: AuditLog[] = [];
const problems: string[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lockwarden-audit-idx-'));
  problems.length = 0;
});
afterEach(async () => {
  for (const log of open.splice(0)) await log.close();
  await rm(dir, { recursive: true, force: true });
});

const start = async (overrides: Partial<SegmentAuditLogOptions> = {}) => {
  const log = await createSegmentAuditLog({
    dir,
    now: () => NOW,
    maxEntries: 1_000,
    maxAgeDays: 0,
    onSnapshotProblem: (file, reason) => problems.push(`${file.slice(dir.length + 1)}: ${reason}`),
    ...overrides,
  });
  open.push(log);
  return log;
};
const stop = async (log: AuditLog) => {
  open.splice(open.indexOf(log), 1);
  await log.close();
};
/** Leaves the log as a kill -9 would: no close, so no snapshot of the segment being written. */
const abandon = (log: AuditLog) => open.splice(open.indexOf(log), 1);

const files = async (ext: string) => (await readdir(dir)).filter((f) => f.endsWith(ext)).sort();
const ids = async (log: AuditLog, q = {}) => (await log.query(q)).entries.map((e) => e.id);

/** Rewrites `from` to `to` (same length) in a segment file, behind the index's back. */
async function editInPlace(segment: string, from: string, to: string) {
  const path = join(dir, segment);
  const text = await readFile(path, 'utf8');
  expect(text).toContain(from);
  await writeFile(path, text.replace(from, to));
}

describe('audit index snapshots', () => {
  it('a graceful stop snapshots every segment, and the next start parses no line', async () => {
    const log = await start({ segmentEntries: 2 });
    for (let i = 1; i <= 5; i++) await log.record([entry(i)]);
    await stop(log);
    const segments = await files('.jsonl');
    expect(segments).toHaveLength(3);
    expect(await files('.idx')).toEqual(segments.map((s) => s.replace('.jsonl', '.idx')));

    await editInPlace(segments[0]!, '"package":"pkg-1"', '"package":"pkg-X"');
    const again = await start({ segmentEntries: 2 });
    // The index still says pkg-1 (it came from the snapshot); the entry is read from the file.
    expect((await again.query({ package: 'pkg-1' })).entries).toMatchObject([{ id: 1, package: 'pkg-X' }]);
    expect(await ids(again)).toEqual([5, 4, 3, 2, 1]);
    expect(problems).toEqual([]);
    await again.record([entry(6)]);
    expect(await ids(again, { limit: 1 })).toEqual([6]);
  });

  it('after a kill -9 scans only the lines written since the last snapshot', async () => {
    const first = await start();
    await first.record([entry(1), entry(2)]);
    await stop(first);
    const second = await start();
    await second.record([entry(3)]);
    await second.record([entry(4)]);
    abandon(second);
    const [segment] = await files('.jsonl');
    // Covered by the snapshot: not parsed. Written after it: parsed.
    await editInPlace(segment!, '"package":"pkg-1"', '"package":"pkg-X"');
    await editInPlace(segment!, '"package":"pkg-4"', '"package":"pkg-Y"');

    const third = await start();
    expect(await ids(third)).toEqual([4, 3, 2, 1]);
    expect((await third.query({ package: 'pkg-1' })).entries).toMatchObject([{ id: 1 }]);
    expect((await third.query({ package: 'pkg-Y' })).entries).toMatchObject([{ id: 4 }]);
    expect(await ids(third, { package: 'pkg-4' })).toEqual([]);
    expect(problems).toEqual([]);
    await third.record([entry(5)]);
    expect(await ids(third, { limit: 1 })).toEqual([5]);
  });

  it('a torn snapshot is ignored, the segment scanned, and the snapshot written again', async () => {
    const log = await start({ segmentEntries: 2 });
    for (let i = 1; i <= 5; i++) await log.record([entry(i)]);
    await stop(log);
    const [idx] = await files('.idx');
    const { size } = await stat(join(dir, idx!));
    await truncate(join(dir, idx!), Math.floor(size / 2));
    const [segment] = await files('.jsonl');
    await editInPlace(segment!, '"package":"pkg-1"', '"package":"pkg-X"');

    const again = await start({ segmentEntries: 2 });
    expect(problems).toEqual([`${idx}: checksum mismatch (torn write?)`]);
    // Scanned: the index has what the file says.
    expect(await ids(again, { package: 'pkg-X' })).toEqual([1]);
    expect(await ids(again)).toEqual([5, 4, 3, 2, 1]);
    await stop(again);
    problems.length = 0;
    const third = await start({ segmentEntries: 2 });
    expect(problems).toEqual([]);
    expect(await ids(third, { package: 'pkg-X' })).toEqual([1]);
  });

  it('a stale snapshot (a segment cut shorter, or another segment’s snapshot) falls back to a scan', async () => {
    const log = await start({ segmentEntries: 2 });
    for (let i = 1; i <= 5; i++) await log.record([entry(i)]);
    await stop(log);
    const segments = await files('.jsonl');
    const snapshots = await files('.idx');
    // The first segment loses its last line (restored from an older backup, say).
    const path = join(dir, segments[0]!);
    const text = await readFile(path, 'utf8');
    await writeFile(path, `${text.split('\n')[0]}\n`);
    // The second segment's snapshot is replaced by the third's.
    await copyFile(join(dir, snapshots[2]!), join(dir, snapshots[1]!));

    const again = await start({ segmentEntries: 2 });
    expect(problems).toEqual([
      expect.stringMatching(new RegExp(`^${snapshots[0]}: covers \\d+ bytes, the segment has \\d+$`)),
      `${snapshots[1]}: made for segment 5`,
    ]);
    expect(await ids(again)).toEqual([5, 4, 3, 1]);
  });

  it('retention deletes a segment’s snapshot with it, and a start removes orphans', async () => {
    const log = await start({ maxEntries: 4, segmentEntries: 2 });
    for (let i = 1; i <= 9; i++) await log.record([entry(i)]);
    await stop(log);
    const segments = await files('.jsonl');
    expect(await files('.idx')).toEqual(segments.map((s) => s.replace('.jsonl', '.idx')));
    await writeFile(join(dir, '000000000099.idx'), 'orphan');
    await writeFile(join(dir, `${segments[0]!.replace('.jsonl', '.idx')}.tmp`), 'half-written');
    const again = await start({ maxEntries: 4, segmentEntries: 2 });
    expect(await files('.idx')).toEqual(segments.map((s) => s.replace('.jsonl', '.idx')));
    expect(await files('.tmp')).toEqual([]);
    expect(await ids(again, { limit: 1 })).toEqual([9]);
  });
});
