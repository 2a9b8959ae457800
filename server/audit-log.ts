// The audit log: every block, hidden version and alert the service produces, queryable by the
// admin API. This file holds what every backend shares (the entry, the query, the interface and
// the check of a stored entry); segment-audit-log.ts keeps it in the data directory,
// postgres-store.ts in PostgreSQL.
import type { RuleId } from '../src/policy/types.js';

export type AuditSource = 'registry' | 'ci';
/** blocked: refused (403 or a CI block); hidden: removed from a packument; alert: served, reported. */
export type AuditOutcome = 'blocked' | 'hidden' | 'alert';
export const AUDIT_OUTCOMES: readonly AuditOutcome[] = ['blocked', 'hidden', 'alert'];
export const AUDIT_SOURCES: readonly AuditSource[] = ['registry', 'ci'];

export interface AuditEntry {
  id: number;
  time: string;
  policy: string;
  label: string | null;
  source: AuditSource;
  package: string;
  version: string | null;
  rule: RuleId;
  outcome: AuditOutcome;
  reason: string;
  userAgent: string | null;
}

export type NewAuditEntry = Omit<AuditEntry, 'id' | 'time'>;

export interface AuditQuery {
  policy?: string;
  label?: string;
  package?: string;
  rule?: string;
  outcome?: string;
  source?: string;
  since?: Date;
  until?: Date;
  /** Page size; at most 1,000. */
  limit?: number;
  /** Return entries older than this id (the previous page's `nextCursor`). */
  cursor?: number;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: number | null;
}

export interface AuditLogStats {
  /** Entries kept (null where counting would cost a scan: PostgreSQL). */
  entries: number | null;
  /** Recorded, not yet committed. */
  pending: number;
  commits: number;
  /** Duration of the last commit (write and fsync, or the INSERT): the window a crash can lose. */
  lastCommitMs: number;
  lastCommitError: string | null;
  /** Entries not kept because commits kept failing and the queue was full. */
  dropped: number;
}

export interface AuditLog {
  /**
   * Queues entries for the next group commit. Resolves once they are durable, or once a failed
   * commit was reported through `onError` (they stay queued and are retried); never rejects, so
   * callers that do not need to wait can drop the promise.
   */
  record(entries: readonly NewAuditEntry[]): Promise<void>;
  /** Committed entries, newest first; entries recorded before the call are committed first. */
  query(query: AuditQuery): Promise<AuditPage>;
  /** Commits what is pending now. */
  flush(): Promise<void>;
  stats(): AuditLogStats;
  /** Commits what is pending and releases files or connections. */
  close(): Promise<void>;
}

export interface AuditRetention {
  /** Entries kept; the oldest go first. */
  maxEntries: number;
  /** Entries older than this are dropped; 0 keeps them forever. */
  maxAgeDays: number;
}

export const DAY_MS = 86_400_000;
export const MAX_AUDIT_PAGE = 1_000;

/** The page size a query asks for, within 1..MAX_AUDIT_PAGE. */
export function pageSize(q: AuditQuery): number {
  return Math.min(Math.max(1, q.limit ?? 100), MAX_AUDIT_PAGE);
}

const ENTRY_STRINGS = ['time', 'policy', 'package', 'rule', 'reason'] as const;
const ENTRY_NULLABLE_STRINGS = ['label', 'version', 'userAgent'] as const;

/**
 * Why a stored entry cannot be used as it is (null when it can): a file edited by hand or damaged
 * keeps what is well-formed, since every query, retention pass and id relies on the shape.
 */
export function problemOfEntry(entry: unknown, lastId: number): string | null {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return ': expected an object';
  const e = entry as Record<string, unknown>;
  if (!Number.isSafeInteger(e.id) || (e.id as number) <= lastId)
    return `.id: expected an integer above the previous entry's ${lastId}`;
  for (const key of ENTRY_STRINGS) if (typeof e[key] !== 'string') return `.${key}: expected a string`;
  for (const key of ENTRY_NULLABLE_STRINGS)
    if (e[key] !== null && typeof e[key] !== 'string') return `.${key}: expected a string or null`;
  if (Number.isNaN(Date.parse(e.time as string))) return '.time: expected an ISO date';
  if (!AUDIT_SOURCES.includes(e.source as AuditSource))
    return `.source: expected one of ${AUDIT_SOURCES.join(', ')}`;
  if (!AUDIT_OUTCOMES.includes(e.outcome as AuditOutcome))
    return `.outcome: expected one of ${AUDIT_OUTCOMES.join(', ')}`;
  return null;
}

/**
 * Group commit shared by the backends: entries recorded while a commit runs go together in the
 * next one, so one write (and one fsync or INSERT) serves every request of that moment, and the
 * window a crash can lose is one commit's duration. `commit` assigns ids and makes the batch
 * durable; it throws to keep the batch for a retry.
 */
export function createGroupCommit(options: {
  commit: (batch: Array<NewAuditEntry & { time: string }>) => Promise<void>;
  now: () => Date;
  retryMs: number;
  onError?: (err: unknown) => void;
  /** Entries queued at most while commits fail; more are dropped and counted, so memory stays bounded. */
  maxQueued?: number;
}) {
  const maxQueued = options.maxQueued ?? 100_000;
  let dropped = 0;
  let queue: Array<NewAuditEntry & { time: string }> = [];
  let waiters: Array<() => void> = [];
  let running: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let commits = 0;
  let lastCommitMs = 0;
  let lastCommitError: string | null = null;

  async function run(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue;
      const done = waiters;
      queue = [];
      waiters = [];
      const started = performance.now();
      try {
        await options.commit(batch);
        commits++;
        lastCommitMs = performance.now() - started;
        lastCommitError = null;
      } catch (err) {
        // Kept in order ahead of what came meanwhile; retried on the next record or the timer.
        queue = batch.concat(queue);
        lastCommitError = err instanceof Error ? err.message : String(err);
        options.onError?.(err);
        for (const resolve of done) resolve();
        if (!retryTimer) {
          retryTimer = setTimeout(() => {
            retryTimer = undefined;
            start();
          }, options.retryMs);
          retryTimer.unref();
        }
        return;
      }
      for (const resolve of done) resolve();
    }
  }

  function start(): Promise<void> {
    running ??= run().finally(() => {
      running = undefined;
      // Recorded after the last batch was taken but before this ran (a waiter's continuation):
      // committed now, or after a failure tried once more for whoever waits on it (nobody waits
      // for the retry timer).
      if (queue.length > 0 && (!retryTimer || waiters.length > 0)) setImmediate(start);
    });
    return running;
  }

  return {
    record(entries: readonly NewAuditEntry[]): Promise<void> {
      if (entries.length === 0) return Promise.resolve();
      const time = options.now().toISOString();
      for (const e of entries) {
        if (queue.length >= maxQueued) dropped++;
        // A literal, not `{ ...e, time }`: the spread copy cost more than serializing the entry.
        else
          queue.push({
            policy: e.policy,
            label: e.label,
            source: e.source,
            package: e.package,
            version: e.version,
            rule: e.rule,
            outcome: e.outcome,
            reason: e.reason,
            userAgent: e.userAgent,
            time,
          });
      }
      const durable = new Promise<void>((resolve) => waiters.push(resolve));
      // Entries of the same turn of the event loop share a commit.
      if (!running) setImmediate(start);
      return durable;
    },
    /** Waits until everything recorded before the call was committed (or its commit failed). */
    async flush(): Promise<void> {
      while (running) await running;
      if (queue.length > 0) await start();
    },
    stats() {
      return { pending: queue.length, commits, lastCommitMs, lastCommitError, dropped };
    },
    close() {
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
    },
  };
}
