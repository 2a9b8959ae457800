// New audit entries for the console's live view (server-sent events). The feed asks the audit log
// for its newest page while anyone listens, so it sees every replica's entries on PostgreSQL and
// needs no hook in the commit path; entries are matched to each listener's filters here.
// Ids are handed out before commit, so on PostgreSQL a lower id can become visible after a higher
// one: an entry counts as new when it was not on the previous page and is above that page's
// oldest id, not merely above the highest id seen.
import type { AuditEntry, AuditLog, AuditQuery } from './audit-log.js';

export type FeedEvent = { kind: 'entries'; entries: AuditEntry[] } | { kind: 'gap' };

export interface AuditFeed {
  subscribe(listener: (event: FeedEvent) => void): () => void;
  /** Listeners now (for tests and health). */
  readonly listeners: number;
  close(): void;
}

export function createAuditFeed(options: {
  audit: AuditLog;
  intervalMs?: number;
  pageSize?: number;
  onError?: (err: unknown) => void;
}): AuditFeed {
  const intervalMs = options.intervalMs ?? 500;
  const pageSize = options.pageSize ?? 200;
  const listeners = new Set<(event: FeedEvent) => void>();
  let timer: NodeJS.Timeout | undefined;
  let previous: { ids: Set<number>; floor: number } | undefined;
  let polling = false;

  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      const { entries } = await options.audit.query({ limit: pageSize });
      const ids = new Set(entries.map((e) => e.id));
      const floor = entries.length === pageSize ? entries[entries.length - 1]!.id : 0;
      if (previous) {
        const fresh = entries.filter((e) => !previous!.ids.has(e.id) && e.id > previous!.floor);
        // A whole page of new entries: more may have arrived than one page holds.
        const event: FeedEvent | undefined =
          fresh.length === pageSize && entries.length === pageSize
            ? { kind: 'gap' }
            : fresh.length > 0
              ? { kind: 'entries', entries: fresh }
              : undefined;
        if (event) for (const listener of listeners) listener(event);
      }
      previous = { ids, floor };
    } catch (err) {
      options.onError?.(err);
    } finally {
      polling = false;
    }
  };

  const stop = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    previous = undefined;
  };

  return {
    subscribe(listener) {
      listeners.add(listener);
      if (!timer) {
        void poll();
        timer = setInterval(() => void poll(), intervalMs);
        timer.unref();
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) stop();
      };
    },
    get listeners() {
      return listeners.size;
    },
    close() {
      listeners.clear();
      stop();
    },
  };
}

/** Whether an entry passes a query's filters (what the live view shows under the page's filters). */
export function matchesAuditQuery(entry: AuditEntry, q: AuditQuery): boolean {
  if (q.policy !== undefined && entry.policy !== q.policy) return false;
  if (q.label !== undefined && entry.label !== q.label) return false;
  if (q.package !== undefined && entry.package !== q.package) return false;
  if (q.rule !== undefined && entry.rule !== q.rule) return false;
  if (q.outcome !== undefined && entry.outcome !== q.outcome) return false;
  if (q.source !== undefined && entry.source !== q.source) return false;
  const t = Date.parse(entry.time);
  if (q.since !== undefined && t < q.since.getTime()) return false;
  if (q.until !== undefined && t > q.until.getTime()) return false;
  return true;
}
