// Webhook subscriptions and the outbox in PostgreSQL, shared by every replica. An enqueue is one
// transaction for a whole batch; occurrences of one subscription and key are serialized with a
// transaction-scoped advisory lock, so two replicas refusing the same version at once still make
// one message with a count. Delivery claims rows with `FOR UPDATE SKIP LOCKED` and a lease: each
// due message goes to one replica, and a replica that dies mid-delivery leaves it to the others
// once its lease ends.
import type pg from 'pg';
import { StoreError } from './state-store.js';
import {
  coalesceInto,
  type DeliveryState,
  newMessage,
  type OutboxMessage,
  type OutboxRecords,
  type WebhookRecord,
  type WebhookRecords,
} from './webhook-outbox.js';

export const WEBHOOK_MIGRATION = `
  CREATE TABLE lockwarden_webhooks (
    id text PRIMARY KEY,
    url text NOT NULL,
    events jsonb NOT NULL,
    policies jsonb NOT NULL,
    format text NOT NULL,
    description text,
    secret text NOT NULL,
    created_at text NOT NULL
  );
  CREATE TABLE lockwarden_webhook_outbox (
    id text PRIMARY KEY,
    subscription_id text NOT NULL REFERENCES lockwarden_webhooks (id) ON DELETE CASCADE,
    type text NOT NULL,
    data jsonb NOT NULL,
    coalesce_key text,
    count integer NOT NULL,
    window_start bigint NOT NULL,
    first_seen text NOT NULL,
    last_seen text NOT NULL,
    due_at bigint NOT NULL,
    attempts integer NOT NULL,
    state text NOT NULL,
    lease_until bigint,
    last_attempt_at text,
    last_status integer,
    last_error text,
    delivered_at text
  );
  -- The delivery loop's question (what is due), and coalescing's (the newest message of a key).
  CREATE INDEX lockwarden_webhook_outbox_due ON lockwarden_webhook_outbox (due_at) WHERE state = 'pending';
  CREATE INDEX lockwarden_webhook_outbox_key ON lockwarden_webhook_outbox (subscription_id, coalesce_key, window_start DESC);
  CREATE INDEX lockwarden_webhook_outbox_state ON lockwarden_webhook_outbox (subscription_id, state);`;

interface MessageRow {
  id: string;
  subscription_id: string;
  type: OutboxMessage['type'];
  data: Record<string, unknown>;
  coalesce_key: string | null;
  count: number;
  window_start: string;
  first_seen: string;
  last_seen: string;
  due_at: string;
  attempts: number;
  state: OutboxMessage['state'];
  lease_until: string | null;
  last_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
}

const messageOf = (r: MessageRow): OutboxMessage => ({
  id: r.id,
  subscriptionId: r.subscription_id,
  type: r.type,
  data: r.data,
  coalesceKey: r.coalesce_key,
  count: r.count,
  windowStart: Number(r.window_start),
  firstSeen: r.first_seen,
  lastSeen: r.last_seen,
  dueAt: Number(r.due_at),
  attempts: r.attempts,
  state: r.state,
  lastAttemptAt: r.last_attempt_at,
  lastStatus: r.last_status,
  lastError: r.last_error,
  deliveredAt: r.delivered_at,
});

interface WebhookRow {
  id: string;
  url: string;
  events: WebhookRecord['events'];
  policies: string[];
  format: WebhookRecord['format'];
  description: string | null;
  secret: string;
  created_at: string;
}

const webhookOf = (r: WebhookRow): WebhookRecord => ({
  id: r.id,
  url: r.url,
  events: r.events,
  policies: r.policies,
  format: r.format,
  description: r.description,
  secret: r.secret,
  createdAt: r.created_at,
});

async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    try {
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    }
  } finally {
    client.release();
  }
}

export function createPostgresWebhooks(pool: pg.Pool): WebhookRecords {
  return {
    async list() {
      const { rows } = await pool.query<WebhookRow>(
        'SELECT * FROM lockwarden_webhooks ORDER BY created_at, id',
      );
      return rows.map(webhookOf);
    },
    async get(id) {
      const { rows } = await pool.query<WebhookRow>('SELECT * FROM lockwarden_webhooks WHERE id = $1', [id]);
      return rows[0] ? webhookOf(rows[0]) : undefined;
    },
    async insert(r, limit) {
      const { rowCount } = await pool.query(
        `INSERT INTO lockwarden_webhooks (id, url, events, policies, format, description, secret, created_at)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE (SELECT count(*) FROM lockwarden_webhooks) < $9`,
        [
          r.id,
          r.url,
          JSON.stringify(r.events),
          JSON.stringify(r.policies),
          r.format,
          r.description,
          r.secret,
          r.createdAt,
          limit,
        ],
      );
      if (rowCount !== 1) throw new StoreError('conflict', `at most ${limit} webhooks; delete some`);
    },
    async remove(id) {
      // Its messages go with it (ON DELETE CASCADE).
      const { rowCount } = await pool.query('DELETE FROM lockwarden_webhooks WHERE id = $1', [id]);
      if (rowCount !== 1) throw new StoreError('not-found', `no webhook "${id}"`);
    },
  };
}

const COLUMNS =
  'id, subscription_id, type, data, coalesce_key, count, window_start, first_seen, last_seen, due_at, attempts, state';

export function createPostgresOutbox(pool: pg.Pool): OutboxRecords {
  return {
    async enqueue(batch, nowMs, windowMs) {
      if (batch.length === 0) return;
      await inTransaction(pool, async (client) => {
        for (const n of batch) {
          if (n.coalesceKey !== null) {
            await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
              JSON.stringify([n.subscriptionId, n.coalesceKey]),
            ]);
            const { rows } = await client.query<MessageRow>(
              `SELECT * FROM lockwarden_webhook_outbox WHERE subscription_id = $1 AND coalesce_key = $2
               ORDER BY window_start DESC LIMIT 1`,
              [n.subscriptionId, n.coalesceKey],
            );
            const newest = rows[0];
            const where = newest
              ? coalesceInto(
                  {
                    ...messageOf(newest),
                    leased: newest.lease_until !== null && Number(newest.lease_until) > nowMs,
                  },
                  nowMs,
                  windowMs,
                )
              : { windowStart: nowMs };
            if (where === 'merge' && newest) {
              // Claims skip locked rows and merges skip leased ones, so a count never lands in a
              // message that is already on its way.
              const { rowCount } = await client.query(
                `UPDATE lockwarden_webhook_outbox SET count = count + $2, last_seen = $3
                 WHERE id = $1 AND attempts = 0 AND state = 'pending' AND (lease_until IS NULL OR lease_until <= $4)`,
                [newest.id, n.count, n.time, nowMs],
              );
              if (rowCount === 1) continue;
            }
            const windowStart =
              where === 'merge'
                ? Math.max(nowMs, Number(newest!.window_start) + windowMs)
                : where.windowStart;
            await insert(client, newMessage(n, windowStart));
          } else {
            await insert(client, newMessage(n, nowMs));
          }
        }
      });
    },
    async claim(nowMs, limit, leaseMs) {
      const { rows } = await pool.query<MessageRow>(
        `UPDATE lockwarden_webhook_outbox SET lease_until = $2
         WHERE id IN (
           SELECT id FROM lockwarden_webhook_outbox
           WHERE state = 'pending' AND due_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
           ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [nowMs, nowMs + leaseMs, limit],
      );
      return rows.map(messageOf);
    },
    async discard(id) {
      await pool.query('DELETE FROM lockwarden_webhook_outbox WHERE id = $1', [id]);
    },
    async delivered(id, r) {
      await pool.query(
        `UPDATE lockwarden_webhook_outbox SET state = 'delivered', attempts = attempts + 1, lease_until = NULL,
           last_attempt_at = $2, last_status = $3, last_error = NULL, delivered_at = $2 WHERE id = $1`,
        [id, r.at, r.status],
      );
    },
    async failed(id, r, dueAt) {
      await pool.query(
        `UPDATE lockwarden_webhook_outbox SET state = $2, attempts = attempts + 1, lease_until = NULL,
           due_at = COALESCE($3, due_at), last_attempt_at = $4, last_status = $5, last_error = $6 WHERE id = $1`,
        [id, dueAt === null ? 'dead' : 'pending', dueAt, r.at, r.status, r.error],
      );
    },
    async deadLetters(subscriptionId, limit) {
      const { rows } = await pool.query<MessageRow>(
        `SELECT * FROM lockwarden_webhook_outbox WHERE subscription_id = $1 AND state = 'dead'
         ORDER BY last_attempt_at DESC LIMIT $2`,
        [subscriptionId, limit],
      );
      return rows.map(messageOf);
    },
    async redeliver(subscriptionId, messageId, nowMs) {
      const { rowCount } = await pool.query(
        `UPDATE lockwarden_webhook_outbox SET state = 'pending', attempts = 0, due_at = $3, lease_until = NULL
         WHERE subscription_id = $1 AND state = 'dead' AND ($2::text IS NULL OR id = $2)`,
        [subscriptionId, messageId, nowMs],
      );
      if (messageId !== null && rowCount === 0)
        throw new StoreError('not-found', `no dead letter "${messageId}" for webhook "${subscriptionId}"`);
      return rowCount ?? 0;
    },
    async deliveryStates() {
      const { rows } = await pool.query<{
        subscription_id: string;
        pending: string;
        dead: string;
        delivered: string;
        last_delivered_at: string | null;
      }>(
        `SELECT subscription_id,
           count(*) FILTER (WHERE state = 'pending') AS pending,
           count(*) FILTER (WHERE state = 'dead') AS dead,
           count(*) FILTER (WHERE state = 'delivered') AS delivered,
           max(delivered_at) AS last_delivered_at
         FROM lockwarden_webhook_outbox GROUP BY subscription_id`,
      );
      const last = await pool.query<{
        subscription_id: string;
        last_attempt_at: string;
        last_status: number | null;
        last_error: string | null;
      }>(
        `SELECT DISTINCT ON (subscription_id) subscription_id, last_attempt_at, last_status, last_error
         FROM lockwarden_webhook_outbox WHERE last_attempt_at IS NOT NULL
         ORDER BY subscription_id, last_attempt_at DESC`,
      );
      const lastOf = new Map(last.rows.map((r) => [r.subscription_id, r]));
      return rows.map(
        (r): DeliveryState => ({
          subscriptionId: r.subscription_id,
          pending: Number(r.pending),
          dead: Number(r.dead),
          delivered: Number(r.delivered),
          lastDeliveredAt: r.last_delivered_at,
          lastAttemptAt: lastOf.get(r.subscription_id)?.last_attempt_at ?? null,
          lastStatus: lastOf.get(r.subscription_id)?.last_status ?? null,
          lastError: lastOf.get(r.subscription_id)?.last_error ?? null,
        }),
      );
    },
    async backlog() {
      const { rows } = await pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM lockwarden_webhook_outbox WHERE state = 'pending'`,
      );
      return Number(rows[0]!.n);
    },
    async prune(beforeMs) {
      await pool.query(
        `DELETE FROM lockwarden_webhook_outbox WHERE state = 'delivered' AND window_start < $1 AND delivered_at < $2`,
        [beforeMs, new Date(beforeMs).toISOString()],
      );
    },
  };
}

async function insert(client: pg.PoolClient, m: OutboxMessage): Promise<void> {
  await client.query(
    // A subscription deleted meanwhile takes nothing more (rather than failing the whole batch).
    `INSERT INTO lockwarden_webhook_outbox (${COLUMNS})
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
     WHERE EXISTS (SELECT 1 FROM lockwarden_webhooks WHERE id = $2)`,
    [
      m.id,
      m.subscriptionId,
      m.type,
      m.data,
      m.coalesceKey,
      m.count,
      m.windowStart,
      m.firstSeen,
      m.lastSeen,
      m.dueAt,
      m.attempts,
      m.state,
    ],
  );
}
