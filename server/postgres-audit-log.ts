// The audit log in PostgreSQL, shared by every replica on the database: one multi-row INSERT per
// group commit (ids from a sequence, never reused), queries on indexed columns, and retention run
// by one replica at a time (an advisory lock) every minute.
import type pg from 'pg';
import {
  type AuditEntry,
  type AuditLog,
  type AuditQuery,
  type AuditRetention,
  createGroupCommit,
  DAY_MS,
  type NewAuditEntry,
  pageSize,
} from './audit-log.js';

export const AUDIT_TABLE = 'lockwarden_audit';
const RETENTION_LOCK = 0x6c77_0001;

interface AuditRow {
  id: string;
  time: Date;
  policy: string;
  label: string | null;
  source: AuditEntry['source'];
  package: string;
  version: string | null;
  rule: AuditEntry['rule'];
  outcome: AuditEntry['outcome'];
  reason: string;
  user_agent: string | null;
}

const fromRow = (r: AuditRow): AuditEntry => ({
  id: Number(r.id),
  time: r.time.toISOString(),
  policy: r.policy,
  label: r.label,
  source: r.source,
  package: r.package,
  version: r.version,
  rule: r.rule,
  outcome: r.outcome,
  reason: r.reason,
  userAgent: r.user_agent,
});

export function createPostgresAuditLog(options: {
  pool: pg.Pool;
  now: () => Date;
  retention: AuditRetention;
  retentionEveryMs?: number;
  onError?: (err: unknown) => void;
}): AuditLog {
  const { pool, retention } = options;
  const group = createGroupCommit({
    now: options.now,
    retryMs: 1_000,
    ...(options.onError ? { onError: options.onError } : {}),
    async commit(batch) {
      const column = <K extends keyof (NewAuditEntry & { time: string })>(key: K) => batch.map((e) => e[key]);
      // One statement for the whole batch: arrays unnested into rows, in recording order.
      await pool.query(
        `INSERT INTO ${AUDIT_TABLE} (time, policy, label, source, package, version, rule, outcome, reason, user_agent)
         SELECT time, policy, label, source, package, version, rule, outcome, reason, user_agent
         FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::text[], $9::text[], $10::text[])
           WITH ORDINALITY AS t(time, policy, label, source, package, version, rule, outcome, reason, user_agent, n)
         ORDER BY n`,
        [
          column('time'),
          column('policy'),
          column('label'),
          column('source'),
          column('package'),
          column('version'),
          column('rule'),
          column('outcome'),
          column('reason'),
          column('userAgent'),
        ],
      );
    },
  });

  const cutoff = (): Date | null =>
    retention.maxAgeDays > 0 ? new Date(options.now().getTime() - retention.maxAgeDays * DAY_MS) : null;

  async function applyRetention(): Promise<void> {
    const client = await pool.connect();
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
        RETENTION_LOCK,
      ]);
      if (!rows[0]?.locked) return;
      try {
        const before = cutoff();
        if (before) await client.query(`DELETE FROM ${AUDIT_TABLE} WHERE time < $1`, [before]);
        await client.query(
          `DELETE FROM ${AUDIT_TABLE} WHERE id <= (SELECT id FROM ${AUDIT_TABLE} ORDER BY id DESC OFFSET $1 LIMIT 1)`,
          [retention.maxEntries],
        );
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK]);
      }
    } finally {
      client.release();
    }
  }
  applyRetention().catch((err: unknown) => options.onError?.(err));
  const retentionTimer = setInterval(() => {
    applyRetention().catch((err: unknown) => options.onError?.(err));
  }, options.retentionEveryMs ?? 60_000);
  retentionTimer.unref();

  return {
    record: group.record,
    async query(q: AuditQuery) {
      await group.flush();
      const limit = pageSize(q);
      const where: string[] = [];
      const params: unknown[] = [];
      const add = (sql: string, value: unknown) => {
        params.push(value);
        where.push(sql.replace('?', `$${params.length}`));
      };
      for (const key of ['policy', 'label', 'package', 'rule', 'outcome', 'source'] as const) {
        if (q[key] !== undefined) add(`${key} = ?`, q[key]);
      }
      const before = cutoff();
      const since = before && (!q.since || q.since < before) ? before : q.since;
      if (since) add('time >= ?', since);
      if (q.until) add('time <= ?', q.until);
      if (q.cursor !== undefined) add('id < ?', q.cursor);
      params.push(limit + 1);
      const { rows } = await pool.query<AuditRow>(
        `SELECT * FROM ${AUDIT_TABLE} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY id DESC LIMIT $${params.length}`,
        params,
      );
      const entries = rows.slice(0, limit).map(fromRow);
      return { entries, nextCursor: rows.length > limit ? entries.at(-1)!.id : null };
    },
    flush: group.flush,
    stats: () => ({ entries: null, ...group.stats() }),
    async close() {
      clearInterval(retentionTimer);
      await group.flush();
      group.close();
    },
  };
}
