// The live feed: new entries once each, late commits of lower ids (replicas) included, a gap when
// more arrived than a page holds, and no polling while nobody listens.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAuditFeed, type FeedEvent } from '../../server/audit-feed.js';
import type { AuditEntry, AuditLog } from '../../server/audit-log.js';

const entry = (id: number): AuditEntry => ({
  id,
  time: '2026-11-22T12:00:00.000Z',
  policy: 'p',
  label: null,
  source: 'registry',
  package: `pkg-${id}`,
  version: null,
  rule: 'typosquatting',
  outcome: 'blocked',
  reason: 'r',
  userAgent: null,
});

function fakeLog() {
  const ids: number[] = [];
  let queries = 0;
  const audit = {
    async query(q: { limit?: number }) {
      queries++;
      const sorted = [...ids].sort((a, b) => b - a).slice(0, q.limit ?? 100);
      return { entries: sorted.map(entry), nextCursor: null };
    },
  } as unknown as AuditLog;
  return { audit, add: (...n: number[]) => ids.push(...n), queries: () => queries };
}

afterEach(() => vi.useRealTimers());

describe('audit feed', () => {
  it('emits each new entry once, including a lower id committed late, and gaps past a page', async () => {
    vi.useFakeTimers();
    const log = fakeLog();
    log.add(1, 2, 3);
    const feed = createAuditFeed({ audit: log.audit, intervalMs: 100, pageSize: 4 });
    const events: FeedEvent[] = [];
    const stop = feed.subscribe((e) => events.push(e));
    await vi.advanceTimersByTimeAsync(0); // the baseline page
    expect(events).toEqual([]);
    log.add(5);
    await vi.advanceTimersByTimeAsync(100);
    log.add(4); // committed after 5 (another replica)
    await vi.advanceTimersByTimeAsync(100);
    await vi.advanceTimersByTimeAsync(100); // nothing new
    expect(events.map((e) => (e.kind === 'entries' ? e.entries.map((x) => x.id) : e.kind))).toEqual([
      [5],
      [4],
    ]);
    log.add(6, 7, 8, 9);
    await vi.advanceTimersByTimeAsync(100);
    expect(events.at(-1)).toEqual({ kind: 'gap' });
    stop();
    const before = log.queries();
    await vi.advanceTimersByTimeAsync(1000);
    expect(log.queries()).toBe(before);
    expect(feed.listeners).toBe(0);
  });

  it('with the service’s default interval, hands a new entry to the console within 2 s', async () => {
    // The console e2e test shows rows arrive live; how soon is this interval, on a fake clock (a
    // wall-clock bound in the browser test can fail on a loaded machine).
    vi.useFakeTimers();
    const log = fakeLog();
    log.add(1);
    const feed = createAuditFeed({ audit: log.audit });
    const events: FeedEvent[] = [];
    const stop = feed.subscribe((e) => events.push(e));
    await vi.advanceTimersByTimeAsync(0);
    log.add(2);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(events).toEqual([{ kind: 'entries', entries: [entry(2)] }]);
    stop();
  });
});
