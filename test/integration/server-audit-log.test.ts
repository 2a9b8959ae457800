// The audit log file: batched atomic writes, retention by count and age, and recovery from a
// crash mid-write or a damaged file.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AuditLog, createAuditLog, type NewAuditEntry } from '../../server/audit-log.js';
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

const open = (overrides: Partial<Parameters<typeof createAuditLog>[0]> = {}) =>
  createAuditLog({
    file: join(dir, 'audit.json'),
    now: () => clock,
    maxEntries: 1_000,
    maxAgeDays: 30,
    flushIntervalMs: 60_000,
    onCorrupt: (file, movedTo) => corrupt.push(`${file} -> ${movedTo}`),
    ...overrides,
  });

function entry(i: number, overrides: Partial<NewAuditEntry> = {}): NewAuditEntry {
  return {
    policy: 'strict',
    label: null,
    source: 'registry',
    package: `pkg-${i}`,
    version: '1.0.0',
    rule: 'cooling-off',
    outcome: 'blocked',
    reason: `pkg-${i}@1.0.0 was published 1 day ago`,
    userAgent: 'npm/11',
    ...overrides,
  };
}

describe('audit log', () => {
  it('batches many records into one atomic write per flush', async () => {
    log = await open();
    for (let i = 0; i < 500; i++) log.record([entry(i)]);
    expect(log.stats()).toMatchObject({ entries: 500, pending: 500, writes: 0 });
    await log.flush();
    expect(log.stats()).toMatchObject({ pending: 0, writes: 1 });
    const file = JSON.parse(await readFile(join(dir, 'audit.json'), 'utf8'));
    expect(file.entries).toHaveLength(500);
    expect(file.nextId).toBe(501);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writes exactly the JSON of its state, flush after flush, hostile text included', async () => {
    log = await open({ maxEntries: 3 });
    const odd = ['__proto__', 'a"b\\c', 'line\nbreak', 'ünïcødé 🚀', '\u2028'];
    for (const [i, name] of odd.entries()) {
      log.record([entry(i, { package: name, reason: `${name} "quoted"`, label: i % 2 ? name : null })]);
      await log.flush();
      const text = await readFile(join(dir, 'audit.json'), 'utf8');
      const parsed = JSON.parse(text);
      expect(text).toBe(JSON.stringify(parsed));
      expect(parsed.entries.at(-1)).toMatchObject({ id: i + 1, package: name });
      expect(parsed.entries.length).toBe(Math.min(i + 1, 3));
      expect(parsed.nextId).toBe(i + 2);
    }
  });

  it('writes valid JSON of its state when the file it started from lacks "version" or orders its keys otherwise', async () => {
    const stored = { id: 1, time: NOW.toISOString(), ...entry(1) };
    await writeFile(
      join(dir, 'audit.json'),
      JSON.stringify({ entries: [stored], nextId: 2, note: 'by hand' }),
    );
    log = await open();
    log.record([entry(2)]);
    await log.flush();
    const text = await readFile(join(dir, 'audit.json'), 'utf8');
    expect(text).toBe(
      JSON.stringify({
        version: 1,
        nextId: 3,
        entries: [stored, { id: 2, time: NOW.toISOString(), ...entry(2) }],
      }),
    );
  });

  it('close() returns only once the entries recorded before it are on disk, whatever flush is under way', async () => {
    log = await open();
    log.record([entry(1)]);
    const first = log.flush();
    log.record([entry(2)]);
    // Waits for the first write, then writes entry 2; close() waits for the first write too.
    const second = log.flush();
    await log.close();
    const file = JSON.parse(await readFile(join(dir, 'audit.json'), 'utf8'));
    expect(file.entries.map((e: { package: string }) => e.package)).toEqual(['pkg-1', 'pkg-2']);
    await Promise.all([first, second]);
  });

  it('keeps the well-formed entries of a hand-edited file, and a copy of the whole file aside', async () => {
    log = await open();
    log.record([entry(1), entry(2), entry(3)]);
    await log.close();
    const file = join(dir, 'audit.json');
    const state = JSON.parse(await readFile(file, 'utf8'));
    state.entries.splice(
      1,
      0,
      null,
      { ...state.entries[0], id: 1 },
      { ...state.entries[1], outcome: 'maybe' },
    );
    state.entries.push({ ...state.entries[4], id: 'seven' }, 42);
    const edited = JSON.stringify(state);
    await writeFile(file, edited);

    log = await open();
    expect(log.query({}).entries.map((e) => e.id)).toEqual([3, 2, 1]);
    expect(corrupt).toHaveLength(1);
    const copy = corrupt[0]!.split(' -> ')[1]!;
    expect(await readFile(copy, 'utf8')).toBe(edited);
    log.record([entry(4)]);
    await log.flush();
    const written = JSON.parse(await readFile(file, 'utf8'));
    expect(written.entries.map((e: { id: number }) => e.id)).toEqual([1, 2, 3, 4]);
  });

  it.each([['[]'], ['42'], ['{"entries": {}}']])(
    'starts empty from a file that holds %s, keeping it aside',
    async (text) => {
      await writeFile(join(dir, 'audit.json'), text);
      log = await open();
      expect(log.query({}).entries).toEqual([]);
      expect(corrupt).toHaveLength(1);
      log.record([entry(1)]);
      await log.flush();
      expect(JSON.parse(await readFile(join(dir, 'audit.json'), 'utf8')).entries).toHaveLength(1);
    },
  );

  it('flushes on its own after the flush interval', async () => {
    log = await open({ flushIntervalMs: 5 });
    log.record([entry(1)]);
    await expect.poll(() => log!.stats().writes, { timeout: 2_000, interval: 5 }).toBe(1);
  });

  it('keeps at most maxEntries, dropping the oldest', async () => {
    log = await open({ maxEntries: 10 });
    for (let i = 0; i < 25; i++) log.record([entry(i)]);
    await log.flush();
    const kept = log.query({ limit: 100 }).entries.map((e) => e.package);
    expect(kept).toEqual(Array.from({ length: 10 }, (_, k) => `pkg-${24 - k}`));
  });

  it('drops entries older than maxAgeDays at the next flush', async () => {
    log = await open({ maxAgeDays: 7 });
    log.record([entry(1)]);
    clock = new Date(NOW.getTime() + 8 * 86_400_000);
    log.record([entry(2)]);
    await log.flush();
    expect(log.query({}).entries.map((e) => e.package)).toEqual(['pkg-2']);
  });

  it('survives a restart, continuing ids', async () => {
    log = await open();
    log.record([entry(1), entry(2)]);
    await log.close();
    log = await open();
    log.record([entry(3)]);
    expect(log.query({}).entries.map((e) => e.id)).toEqual([3, 2, 1]);
  });

  it('ignores a temporary file left by a crash mid-write', async () => {
    log = await open();
    log.record([entry(1)]);
    await log.close();
    await writeFile(join(dir, '.audit.json.deadbeef.tmp'), '{"version":1,"entries":[{"id":1,');
    log = await open();
    expect(log.query({}).entries.map((e) => e.package)).toEqual(['pkg-1']);
  });

  it('moves a damaged file aside instead of overwriting it', async () => {
    await writeFile(join(dir, 'audit.json'), '{"version":1,"entries":[{"id":1,');
    log = await open();
    expect(corrupt).toHaveLength(1);
    expect(log.query({}).entries).toEqual([]);
    const files = await readdir(dir);
    const moved = files.find((f) => f.startsWith('audit.json.corrupt-'));
    expect(await readFile(join(dir, moved!), 'utf8')).toBe('{"version":1,"entries":[{"id":1,');
  });

  it('keeps entries pending and reports the error when a write fails, then retries', async () => {
    const errors: unknown[] = [];
    log = await open({
      file: join(dir, 'missing-parent', 'x', 'audit.json'),
      onError: (e) => errors.push(e),
    });
    log.record([entry(1)]);
    await log.flush();
    expect(log.stats()).toMatchObject({ pending: 0, writes: 1 });
    await rm(join(dir, 'missing-parent'), { recursive: true });
    await writeFile(join(dir, 'missing-parent'), 'a file where a directory should be');
    log.record([entry(2)]);
    await log.flush();
    expect(errors).toHaveLength(1);
    expect(log.stats()).toMatchObject({ pending: 1, writes: 1 });
    expect(log.stats().lastWriteError).toMatch(/ENOTDIR|EEXIST/);
    await rm(join(dir, 'missing-parent'));
    await log.flush();
    expect(log.stats()).toMatchObject({ pending: 0, writes: 2, lastWriteError: null });
  });
});
