// The embedded audit log on disk: JSON lines in segment files, one fsync per group commit, a torn
// last line cut off, retention by whole segments, ids never reused, a failed commit retried with
// nothing written twice, and an audit.json of earlier versions moved in on first start.
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditLog } from '../../server/audit-log.js';
import { createSegmentAuditLog, type SegmentAuditLogOptions } from '../../server/segment-audit-log.js';
import { makeAuditEntry } from '../helpers/make-audit-entry.js';
import { NOW } from '../helpers/make-policy.js';

let dir: string;
let log: AuditLog | undefined;
let clock: Date;
const corrupt: string[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lockwarden-audit-'));
  clock = NOW;
  corrupt.length = 0;
});
afterEach(async () => {
  await log?.close();
  log = undefined;
  await rm(dir, { recursive: true, force: true });
});

const auditDir = () => join(dir, 'audit');
const open = (overrides: Partial<SegmentAuditLogOptions> = {}) =>
  createSegmentAuditLog({
    dir: auditDir(),
    legacyFile: join(dir, 'audit.json'),
    now: () => clock,
    maxEntries: 1_000,
    maxAgeDays: 30,
    onCorrupt: (file, movedTo) => corrupt.push(`${file} -> ${movedTo}`),
    ...overrides,
  });

const entry = makeAuditEntry;

async function segmentFiles(): Promise<string[]> {
  return (await readdir(auditDir())).filter((f) => f.endsWith('.jsonl')).sort();
}

async function lines(): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for (const f of await segmentFiles()) {
    const text = await readFile(join(auditDir(), f), 'utf8');
    for (const line of text.split('\n')) if (line !== '') out.push(JSON.parse(line));
  }
  return out;
}

describe('segment audit log', () => {
  it('commits the entries of one moment together, as JSON lines, before record() resolves', async () => {
    log = await open();
    const done = Array.from({ length: 200 }, (_, i) => log!.record([entry(i)]));
    expect(log.stats()).toMatchObject({ pending: 200, commits: 0 });
    await Promise.all(done);
    expect(log.stats()).toMatchObject({ pending: 0, commits: 1, entries: 200 });
    const written = await lines();
    expect(written.map((e) => e.id)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(written[0]).toEqual({ id: 1, time: NOW.toISOString(), ...entry(0) });
  });

  it('keeps hostile text intact, one line per entry', async () => {
    log = await open();
    const odd = ['__proto__', 'a"b\\c', 'line\nbreak', 'ünïcødé 🚀', '\u2028'];
    await log.record(odd.map((name, i) => entry(i, { package: name, reason: `${name} "quoted"` })));
    expect((await lines()).map((e) => e.package)).toEqual(odd);
    await log.close();
    log = await open();
    const { entries } = await log.query({ package: 'line\nbreak' });
    expect(entries).toEqual([expect.objectContaining({ id: 3, reason: 'line\nbreak "quoted"' })]);
  });

  it('filters by every field and time, newest first, with a cursor', async () => {
    log = await open();
    await log.record([
      entry(1, { policy: 'a', outcome: 'hidden' }),
      entry(2, { policy: 'a', label: 'img', rule: 'typosquatting' }),
      entry(1, { policy: 'b', label: 'img', source: 'ci', outcome: 'alert' }),
    ]);
    clock = new Date(NOW.getTime() + 3_600_000);
    await log.record([entry(1, { policy: 'a', label: 'img' })]);
    const ids = async (q: Parameters<AuditLog['query']>[0]) => (await log!.query(q)).entries.map((e) => e.id);
    expect(await ids({})).toEqual([4, 3, 2, 1]);
    expect(await ids({ policy: 'a' })).toEqual([4, 2, 1]);
    expect(await ids({ policy: 'a', package: 'pkg-1' })).toEqual([4, 1]);
    expect(await ids({ label: 'img', policy: 'a' })).toEqual([4, 2]);
    expect(await ids({ rule: 'typosquatting' })).toEqual([2]);
    expect(await ids({ outcome: 'alert' })).toEqual([3]);
    expect(await ids({ source: 'ci' })).toEqual([3]);
    expect(await ids({ policy: 'nope' })).toEqual([]);
    expect(await ids({ since: new Date(NOW.getTime() + 1) })).toEqual([4]);
    expect(await ids({ until: NOW })).toEqual([3, 2, 1]);
    const first = await log.query({ policy: 'a', limit: 2 });
    expect(first.entries.map((e) => e.id)).toEqual([4, 2]);
    expect(first.nextCursor).toBe(2);
    expect(await log.query({ policy: 'a', limit: 2, cursor: 2 })).toMatchObject({
      entries: [expect.objectContaining({ id: 1 })],
      nextCursor: null,
    });
  });

  it('cuts off a torn last line after a crash and continues with the next id', async () => {
    log = await open();
    await log.record([entry(1), entry(2)]);
    await log.close();
    log = undefined;
    const [file] = await segmentFiles();
    await writeFile(join(auditDir(), file!), '{"id":3,"time":"2026-', { flag: 'a' });
    log = await open();
    expect(corrupt).toEqual([]);
    await log.record([entry(3)]);
    expect((await lines()).map((e) => e.id)).toEqual([1, 2, 3]);
    expect((await log.query({})).entries.map((e) => e.package)).toEqual(['pkg-3', 'pkg-2', 'pkg-1']);
  });

  it('keeps the well-formed lines of a damaged segment, and a copy of it aside', async () => {
    log = await open({ segmentEntries: 2 });
    await log.record([entry(1), entry(2)]);
    await log.record([entry(3)]);
    await log.close();
    log = undefined;
    const [first] = await segmentFiles();
    const path = join(auditDir(), first!);
    const text = await readFile(path, 'utf8');
    await writeFile(path, `${text}not json\n{"id":1}\n`);
    log = await open({ segmentEntries: 2 });
    expect((await log.query({})).entries.map((e) => e.id)).toEqual([3, 2, 1]);
    expect(corrupt).toHaveLength(1);
    expect(await readFile(corrupt[0]!.split(' -> ')[1]!, 'utf8')).toBe(`${text}not json\n{"id":1}\n`);
  });

  it('drops whole segments past maxEntries, never reusing an id', async () => {
    log = await open({ maxEntries: 10, segmentEntries: 5 });
    for (let i = 0; i < 25; i++) await log.record([entry(i)]);
    const kept = (await log.query({ limit: 100 })).entries.map((e) => e.id);
    // Between maxEntries and maxEntries + one segment are kept.
    expect(kept.length).toBeGreaterThanOrEqual(10);
    expect(kept.length).toBeLessThanOrEqual(15);
    expect(kept[0]).toBe(25);
    expect((await segmentFiles()).length).toBeLessThanOrEqual(3);
    await log.close();
    log = await open({ maxEntries: 10, segmentEntries: 5 });
    await log.record([entry(99)]);
    expect((await log.query({ limit: 1 })).entries[0]!.id).toBe(26);
  });

  it('hides entries past maxAgeDays and deletes their segments, keeping the next id', async () => {
    log = await open({ maxAgeDays: 7 });
    await log.record([entry(1), entry(2)]);
    clock = new Date(NOW.getTime() + 8 * 86_400_000);
    expect((await log.query({})).entries).toEqual([]);
    await log.record([entry(3)]);
    expect((await log.query({})).entries.map((e) => e.id)).toEqual([3]);
    expect((await lines()).map((e) => e.id)).toEqual([3]);
    await log.close();
    log = await open({ maxAgeDays: 7 });
    await log.record([entry(4)]);
    expect((await log.query({})).entries.map((e) => e.id)).toEqual([4, 3]);
  });

  it('reports a failed commit, keeps the entries and writes them once when it succeeds', async () => {
    const errors: unknown[] = [];
    log = await open({ segmentEntries: 1, retryMs: 60_000, onError: (e) => errors.push(e) });
    await log.record([entry(1)]);
    // The next commit starts a segment: a file where the directory was makes it fail.
    await rename(auditDir(), `${auditDir()}.away`);
    await writeFile(auditDir(), 'not a directory');
    await log.record([entry(2)]);
    expect(errors).toHaveLength(1);
    expect(log.stats()).toMatchObject({ pending: 1, commits: 1 });
    expect(log.stats().lastCommitError).toMatch(/ENOTDIR|ENOENT|EEXIST/);
    await rm(auditDir());
    await rename(`${auditDir()}.away`, auditDir());
    await log.flush();
    expect(log.stats()).toMatchObject({ pending: 0, commits: 2, lastCommitError: null });
    expect((await lines()).map((e) => e.package)).toEqual(['pkg-1', 'pkg-2']);
  });

  it('bounds what waits in memory while commits fail, counting what it dropped', async () => {
    log = await open({ segmentEntries: 1, retryMs: 60_000, maxQueued: 3, onError: () => {} });
    await log.record([entry(1)]);
    await rename(auditDir(), `${auditDir()}.away`);
    await writeFile(auditDir(), 'not a directory');
    await log.record([entry(2), entry(3)]);
    await log.record([entry(4), entry(5)]);
    expect(log.stats()).toMatchObject({ pending: 3, dropped: 1 });
    await rm(auditDir());
    await rename(`${auditDir()}.away`, auditDir());
    await log.flush();
    expect((await lines()).map((e) => e.package)).toEqual(['pkg-1', 'pkg-2', 'pkg-3', 'pkg-4']);
  });

  it('moves an audit.json of earlier versions into the first segment, ids and all', async () => {
    const legacy = {
      version: 1,
      nextId: 9,
      entries: [
        { id: 3, time: NOW.toISOString(), ...entry(3) },
        { id: 7, time: NOW.toISOString(), ...entry(7) },
        { id: 'x' },
      ],
    };
    await writeFile(join(dir, 'audit.json'), JSON.stringify(legacy));
    const migrated: string[] = [];
    log = await open({ onMigrated: (_file, entries, movedTo) => migrated.push(`${entries} ${movedTo}`) });
    expect((await log.query({})).entries.map((e) => e.id)).toEqual([7, 3]);
    expect(migrated).toEqual([expect.stringMatching(/^2 .*audit\.json\.migrated-\d+$/)]);
    expect(corrupt).toHaveLength(1);
    await log.record([entry(9)]);
    expect((await log.query({ limit: 1 })).entries[0]!.id).toBe(9);
    expect((await readdir(dir)).includes('audit.json')).toBe(false);
    await log.close();
    log = await open();
    expect((await log.query({})).entries.map((e) => e.id)).toEqual([9, 7, 3]);
  });

  it('starts empty from an audit.json that is not JSON, keeping it aside', async () => {
    await writeFile(join(dir, 'audit.json'), '{"version":1,"entries":[{"id":1,');
    log = await open();
    expect((await log.query({})).entries).toEqual([]);
    expect(corrupt).toEqual([expect.stringContaining('audit.json.corrupt-')]);
  });

  it('ignores files in the directory that are not segments', async () => {
    await mkdir(auditDir(), { recursive: true });
    await writeFile(join(auditDir(), 'notes.txt'), 'hello');
    log = await open();
    await log.record([entry(1)]);
    expect((await log.query({})).entries).toHaveLength(1);
  });
});
