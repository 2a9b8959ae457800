// The audit log: every block, hidden version and alert the service produces, queryable by the
// admin API. Entries are kept in memory and written in batches (one atomic file write per flush
// interval, however many requests), and retention by age and count bounds the file.
import { Low } from 'lowdb';
import type { RuleId } from '../src/policy/types.js';
import { AtomicJsonFile } from './atomic-json-file.js';

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

export interface AuditLogOptions {
  file: string;
  now: () => Date;
  /** Entries kept; the oldest go first. */
  maxEntries: number;
  /** Entries older than this are dropped at the next flush; 0 keeps them forever. */
  maxAgeDays: number;
  /**
   * Longest time an entry waits in memory before it is written, while writes are quick: after a
   * write that took longer than a tenth of this, the next waits ten times that write's duration.
   */
  flushIntervalMs: number;
  onError?: (err: unknown) => void;
  onCorrupt?: (file: string, movedTo: string, reason: string) => void;
}

export interface AuditLogStats {
  entries: number;
  pending: number;
  writes: number;
  lastWriteError: string | null;
}

export interface AuditLog {
  record(entries: readonly NewAuditEntry[]): void;
  query(query: AuditQuery): AuditPage;
  /** Writes pending entries now. */
  flush(): Promise<void>;
  stats(): AuditLogStats;
  /** Flushes and stops the timer. */
  close(): Promise<void>;
}

interface AuditFile {
  version: 1;
  nextId: number;
  entries: AuditEntry[];
}

const DAY_MS = 86_400_000;
export const MAX_AUDIT_PAGE = 1_000;

export async function createAuditLog(options: AuditLogOptions): Promise<AuditLog> {
  // Entries never change once recorded: each is serialized once, and a flush joins the strings.
  // A full log (100,000 entries, about 36 MB) then costs about 40 ms of the event loop per flush
  // instead of 150 ms for JSON.stringify of the whole document.
  const serialized = new WeakMap<AuditEntry, string>();
  const serialize = (data: AuditFile): string => {
    const parts: string[] = new Array(data.entries.length);
    for (let i = 0; i < data.entries.length; i++) {
      const entry = data.entries[i]!;
      let text = serialized.get(entry);
      if (text === undefined) {
        text = JSON.stringify(entry);
        serialized.set(entry, text);
      }
      parts[i] = text;
    }
    return `{"version":${JSON.stringify(data.version)},"nextId":${JSON.stringify(data.nextId)},"entries":[${parts.join(',')}]}`;
  };
  const adapter = new AtomicJsonFile<AuditFile>(options.file, { onCorrupt: options.onCorrupt, serialize });
  const db = new Low<AuditFile>(adapter, { version: 1, nextId: 1, entries: [] });
  await db.read();
  // Every query, retention pass and id relies on the shape of the entries: a file edited by hand
  // or damaged keeps what is well-formed, and a copy of the whole keeps the rest.
  const checked = wellFormedEntries(db.data);
  if (checked.problem !== null) await adapter.keepAside(checked.problem);
  const storedNextId = (db.data as Partial<AuditFile> | null)?.nextId;
  let nextId = Math.max(
    Number.isSafeInteger(storedNextId) ? (storedNextId as number) : 1,
    (checked.entries.at(-1)?.id ?? 0) + 1,
  );
  // The writer puts the cached entry texts under a fixed head, which is JSON.stringify of the state
  // only while the state has exactly these keys in this order: a file written elsewhere (without
  // "version", say) would otherwise be written back as `"version":undefined`, which is not JSON.
  db.data = { version: 1, nextId, entries: checked.entries };
  let pending = 0;
  let writes = 0;
  let lastWriteError: string | null = null;
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;
  let closed = false;
  /** How long the last flush took, start to rename. */
  let lastFlushMs = 0;

  function applyRetention(): void {
    const entries = db.data.entries;
    let drop = Math.max(0, entries.length - options.maxEntries);
    if (options.maxAgeDays > 0) {
      const cutoff = options.now().getTime() - options.maxAgeDays * DAY_MS;
      while (drop < entries.length && Date.parse(entries[drop]!.time) < cutoff) drop++;
    }
    if (drop > 0) entries.splice(0, drop);
  }

  async function flush(): Promise<void> {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    // Another caller may start a write while this one waits: wait for that one too, or close()
    // could return before the entries recorded before it are on disk.
    while (flushing) await flushing;
    if (pending === 0) return;
    const batch = pending;
    pending = 0;
    applyRetention();
    db.data.nextId = nextId;
    const started = performance.now();
    flushing = db
      .write()
      .then(() => {
        writes++;
        lastWriteError = null;
        lastFlushMs = performance.now() - started;
      })
      .catch((err: unknown) => {
        pending += batch;
        lastWriteError = err instanceof Error ? err.message : String(err);
        options.onError?.(err);
        schedule();
      })
      .finally(() => {
        flushing = undefined;
      });
    await flushing;
  }

  function schedule(): void {
    if (timer || closed) return;
    // The whole file is rewritten per flush: with a full log under steady traffic, flushes are
    // spaced so that writing takes at most a tenth of the time.
    timer = setTimeout(
      () => {
        timer = undefined;
        void flush();
      },
      Math.max(options.flushIntervalMs, 10 * lastFlushMs),
    );
    timer.unref();
  }

  return {
    record(newEntries) {
      if (newEntries.length === 0) return;
      const time = options.now().toISOString();
      for (const e of newEntries) db.data.entries.push({ id: nextId++, time, ...e });
      pending += newEntries.length;
      // Between flushes the count bound still holds, so a flood cannot grow memory without limit.
      if (db.data.entries.length > options.maxEntries + 1_000) applyRetention();
      schedule();
    },
    query(q) {
      const limit = Math.min(Math.max(1, q.limit ?? 100), MAX_AUDIT_PAGE);
      const since = q.since?.getTime();
      const until = q.until?.getTime();
      const out: AuditEntry[] = [];
      const entries = db.data.entries;
      let nextCursor: number | null = null;
      for (let i = entries.length - 1; i >= 0; i--) {
        const e = entries[i]!;
        if (q.cursor !== undefined && e.id >= q.cursor) continue;
        if (q.policy !== undefined && e.policy !== q.policy) continue;
        if (q.label !== undefined && e.label !== q.label) continue;
        if (q.package !== undefined && e.package !== q.package) continue;
        if (q.rule !== undefined && e.rule !== q.rule) continue;
        if (q.outcome !== undefined && e.outcome !== q.outcome) continue;
        if (q.source !== undefined && e.source !== q.source) continue;
        const t = Date.parse(e.time);
        if (until !== undefined && t > until) continue;
        if (since !== undefined && t < since) continue;
        if (out.length === limit) {
          nextCursor = out[out.length - 1]!.id;
          break;
        }
        out.push(e);
      }
      return { entries: out, nextCursor };
    },
    flush,
    stats() {
      return { entries: db.data.entries.length, pending, writes, lastWriteError };
    },
    async close() {
      closed = true;
      await flush();
    },
  };
}

const ENTRY_STRINGS = ['time', 'policy', 'package', 'rule', 'reason'] as const;
const ENTRY_NULLABLE_STRINGS = ['label', 'version', 'userAgent'] as const;

/** The entries of a file that can be used as they are, in ascending id order, and what was not. */
function wellFormedEntries(data: unknown): { entries: AuditEntry[]; problem: string | null } {
  const entries = (data as { entries?: unknown } | null)?.entries;
  if (typeof data !== 'object' || data === null || !Array.isArray(entries)) {
    return { entries: [], problem: 'expected {"version": 1, "nextId": ..., "entries": [...]}' };
  }
  const kept: AuditEntry[] = [];
  let first: string | null = null;
  let lastId = 0;
  entries.forEach((entry: unknown, i) => {
    const why = problemOf(entry, lastId);
    if (why === null) {
      kept.push(entry as AuditEntry);
      lastId = (entry as AuditEntry).id;
    } else first ??= `entries[${i}]${why}`;
  });
  const dropped = entries.length - kept.length;
  return {
    entries: kept,
    problem:
      dropped === 0
        ? null
        : `${dropped} of ${entries.length} entries are malformed and were left out (first: ${first})`,
  };
}

function problemOf(entry: unknown, lastId: number): string | null {
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
