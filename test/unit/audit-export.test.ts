import { describe, expect, it } from 'vitest';
import { auditCsv, auditJson, CSV_HEADER, csvField, exportEntries } from '../../server/audit-export.js';
import { matchesAuditQuery } from '../../server/audit-feed.js';
import type { AuditEntry, AuditLog, AuditQuery } from '../../server/audit-log.js';

const entry = (id: number, over: Partial<AuditEntry> = {}): AuditEntry => ({
  id,
  time: `2026-11-22T12:00:${String(id % 60).padStart(2, '0')}.000Z`,
  policy: 'strict',
  label: null,
  source: 'registry',
  package: 'left-pad',
  version: '1.2.0',
  rule: 'cooling-off',
  outcome: 'blocked',
  reason: 'left-pad@1.2.0 was published 2 days ago',
  userAgent: 'npm/11',
  ...over,
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('csvField', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['=HYPERLINK("x")', `"'=HYPERLINK(""x"")"`],
    ['+1', "'+1"],
    ['-cmd', "'-cmd"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['npm/10;=1+1', '"npm/10;=1+1"'],
    ['npm/10\t=1+1', '"npm/10\t=1+1"'],
    [null, ''],
    [42, '42'],
  ])('%j -> %s', (input, expected) => {
    expect(csvField(input as string | number | null)).toBe(expected);
  });
});

describe('export', () => {
  const log = (all: AuditEntry[]): AuditLog & { queries: AuditQuery[] } => {
    const queries: AuditQuery[] = [];
    return {
      queries,
      async query(q) {
        queries.push(q);
        const older = all.filter((e) => q.cursor === undefined || e.id < q.cursor);
        const page = older.slice(0, q.limit ?? 100);
        const last = page[page.length - 1];
        return { entries: page, nextCursor: page.length === (q.limit ?? 100) && last ? last.id : null };
      },
      record: async () => {},
      flush: async () => {},
      stats: () => ({
        entries: 0,
        pending: 0,
        commits: 0,
        lastCommitMs: 0,
        lastCommitError: null,
        dropped: 0,
      }),
      close: async () => {},
    };
  };

  it('pages through every matching entry up to the cap, newest first', async () => {
    const all = Array.from({ length: 2500 }, (_, i) => entry(2500 - i));
    const audit = log(all);
    const got = await collect(exportEntries(audit, { policy: 'strict' }, 2200));
    expect(got.map((e) => e.id)).toEqual(all.slice(0, 2200).map((e) => e.id));
    expect(audit.queries.map((q) => [q.limit, q.cursor, q.policy])).toEqual([
      [1000, undefined, 'strict'],
      [1000, 1501, 'strict'],
      [200, 501, 'strict'],
    ]);
  });

  it('writes CSV with a header and JSON as one array', async () => {
    const rows = [entry(2, { label: 'api', userAgent: '=cmd|x' }), entry(1)];
    const csv = (
      await collect(
        auditCsv(
          (async function* () {
            yield* rows;
          })(),
        ),
      )
    ).join('');
    expect(csv.startsWith(CSV_HEADER)).toBe(true);
    expect(csv.split('\r\n')[1]).toBe(
      "2,2026-11-22T12:00:02.000Z,strict,api,registry,left-pad,1.2.0,cooling-off,blocked,left-pad@1.2.0 was published 2 days ago,'=cmd|x",
    );
    const json = (
      await collect(
        auditJson(
          (async function* () {
            yield* rows;
          })(),
        ),
      )
    ).join('');
    expect(JSON.parse(json)).toEqual(rows);
    expect(JSON.parse((await collect(auditJson((async function* () {})()))).join(''))).toEqual([]);
  });
});

describe('matchesAuditQuery', () => {
  it.each<[AuditQuery, boolean]>([
    [{}, true],
    [{ policy: 'strict' }, true],
    [{ policy: 'other' }, false],
    [{ label: 'api' }, false],
    [{ package: 'left-pad', rule: 'cooling-off', outcome: 'blocked', source: 'registry' }, true],
    [{ outcome: 'alert' }, false],
    [{ since: new Date('2026-11-22T12:00:00Z'), until: new Date('2026-11-22T12:00:05Z') }, true],
    [{ since: new Date('2026-11-22T12:00:04Z') }, false],
    [{ until: new Date('2026-11-22T12:00:00Z') }, false],
  ])('%j -> %s', (q, expected) => {
    expect(matchesAuditQuery(entry(3), q)).toBe(expected);
  });
});
