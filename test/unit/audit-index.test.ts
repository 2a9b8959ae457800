// The audit index against a plain filter of the same entries: every filter, cursor paging,
// retention dropping whole segments (moving the start of columns and posting lists, and
// compacting them), and a segment's rows taken out and put back as a snapshot does.
import { describe, expect, it } from 'vitest';
import { AuditIndex } from '../../server/audit-index.js';
import type { AuditEntry, AuditQuery } from '../../server/audit-log.js';

const T0 = Date.parse('2026-12-01T00:00:00.000Z');
const PER_SEGMENT = 50;

function makeEntry(id: number): AuditEntry {
  return {
    id,
    time: new Date(T0 + id * 1_000).toISOString(),
    policy: `policy-${id % 3}`,
    label: id % 4 === 0 ? null : `label-${id % 5}`,
    source: id % 7 === 0 ? 'ci' : 'registry',
    // A few packages appear only early, so dropping them empties their posting lists.
    package: id < 40 ? `early-${id % 2}` : `pkg-${id % 11}`,
    version: '1.0.0',
    rule: id % 2 === 0 ? 'cooling-off' : 'blocklist',
    outcome: id % 3 === 0 ? 'hidden' : 'blocked',
    reason: 'r',
    userAgent: null,
  };
}

const segmentOf = (id: number) => Math.floor((id - 1) / PER_SEGMENT) * PER_SEGMENT + 1;

function naive(kept: AuditEntry[], q: AuditQuery, limit: number): number[] {
  return kept
    .filter(
      (e) =>
        (q.policy === undefined || e.policy === q.policy) &&
        (q.package === undefined || e.package === q.package) &&
        (q.label === undefined || e.label === q.label) &&
        (q.rule === undefined || e.rule === q.rule) &&
        (q.outcome === undefined || e.outcome === q.outcome) &&
        (q.source === undefined || e.source === q.source) &&
        (q.cursor === undefined || e.id < q.cursor) &&
        (q.since === undefined || Date.parse(e.time) >= q.since.getTime()) &&
        (q.until === undefined || Date.parse(e.time) <= q.until.getTime()),
    )
    .map((e) => e.id)
    .reverse()
    .slice(0, limit);
}

const QUERIES: AuditQuery[] = [
  {},
  { policy: 'policy-1' },
  { policy: 'policy-2', package: 'pkg-3' },
  { package: 'early-1' },
  { label: 'label-2', rule: 'cooling-off' },
  { outcome: 'hidden', source: 'ci' },
  { policy: 'policy-0', cursor: 400 },
  { cursor: 120 },
  { since: new Date(T0 + 300_000), until: new Date(T0 + 420_000) },
  { package: 'nope' },
];

function check(index: AuditIndex, kept: AuditEntry[]) {
  expect(index.size).toBe(kept.length);
  expect(index.lastId()).toBe(kept.at(-1)?.id ?? 0);
  const byOffset = new Map(kept.map((e) => [e.id * 100, e.id]));
  for (const q of QUERIES) {
    for (const limit of [1, 7, 1_000]) {
      const { found, more } = index.query(q, limit, Number.NEGATIVE_INFINITY);
      const all = naive(kept, q, Number.POSITIVE_INFINITY);
      expect(
        found.map((at) => byOffset.get(at.offset)),
        JSON.stringify(q),
      ).toEqual(all.slice(0, limit));
      expect(more).toBe(all.length > limit);
    }
  }
}

describe('audit index', () => {
  it('answers like a plain filter while whole segments are dropped, and after a snapshot round trip', () => {
    const index = new AuditIndex();
    let kept: AuditEntry[] = [];
    for (let id = 1; id <= 500; id++) {
      const e = makeEntry(id);
      index.add(e, { segment: segmentOf(id), offset: id * 100, length: 10 });
      kept.push(e);
    }
    check(index, kept);
    // Drop segments one by one: some drops move only the start, others compact the columns.
    for (let segment = 51; segment <= 401; segment += PER_SEGMENT) {
      index.dropFirst(index.rowsBefore(segment));
      kept = kept.filter((e) => e.id >= segment);
      check(index, kept);
      // New entries keep arriving between drops.
      const id = kept.at(-1)!.id + 1;
      const e = makeEntry(id);
      index.add(e, { segment: segmentOf(id), offset: id * 100, length: 10 });
      kept.push(e);
    }
    // A dropped value no longer matches anything, and no longer counts as known.
    expect(index.query({ package: 'early-1' }, 10, Number.NEGATIVE_INFINITY).found).toEqual([]);

    // Each kept segment's rows, put into a fresh index as a start from snapshots does.
    const restored = new AuditIndex();
    const segments = [...new Set(kept.map((e) => segmentOf(e.id)))];
    for (const segment of segments) restored.addSegment(segment, index.segmentRows(segment));
    check(restored, kept);
    expect(index.segmentRows(segments[0]!).tables.package.length).toBeLessThanOrEqual(11);
  });
});
