// The state store for teams that run several replicas: policies, check tokens, settings and the
// audit log in PostgreSQL (node-postgres). Schema migrations are applied at start under an
// advisory lock, so replicas starting together apply each once. A policy write notifies every
// replica (LISTEN/NOTIFY, delivered at commit), which reloads its policies at once; a replica
// whose listening connection drops reconnects and reloads, so it misses nothing for long.
import pg from 'pg';
import { LockwardenError } from '../src/errors.js';
import type { AuditRetention } from './audit-log.js';
import { AUDIT_TABLE, createPostgresAuditLog } from './postgres-audit-log.js';
import { createPostgresOutbox, createPostgresWebhooks, WEBHOOK_MIGRATION } from './postgres-outbox.js';
import { type PolicyRecord, type StateStore, StoreError, type TokenRecord } from './state-store.js';

export interface PostgresStoreOptions {
  url: string;
  now: () => Date;
  audit: AuditRetention;
  /** Connections per replica (default 10). */
  poolSize?: number;
  onError?: (err: unknown) => void;
}

const CHANNEL = 'lockwarden_policies';
const MIGRATION_LOCK = 0x6c77_0000;

/** Each entry runs once, in order, in its own transaction; never edit one that shipped. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE lockwarden_policies (
     id text PRIMARY KEY,
     policy jsonb NOT NULL,
     revision integer NOT NULL,
     created_at text NOT NULL,
     updated_at text NOT NULL,
     stamp text NOT NULL
   );
   CREATE TABLE lockwarden_check_tokens (
     id text PRIMARY KEY,
     name text NOT NULL UNIQUE,
     policies jsonb,
     created_at text NOT NULL,
     sha256 text NOT NULL UNIQUE
   );
   CREATE TABLE lockwarden_settings (key text PRIMARY KEY, value text NOT NULL);
   CREATE TABLE ${AUDIT_TABLE} (
     id bigserial PRIMARY KEY,
     time timestamptz NOT NULL,
     policy text NOT NULL,
     label text,
     source text NOT NULL,
     package text NOT NULL,
     version text,
     rule text NOT NULL,
     outcome text NOT NULL,
     reason text NOT NULL,
     user_agent text
   );
   -- One index per audit filter, newest first, and the console's policy + package view.
   CREATE INDEX lockwarden_audit_policy ON ${AUDIT_TABLE} (policy, id DESC);
   CREATE INDEX lockwarden_audit_package ON ${AUDIT_TABLE} (package, id DESC);
   CREATE INDEX lockwarden_audit_policy_package ON ${AUDIT_TABLE} (policy, package, id DESC);
   CREATE INDEX lockwarden_audit_label ON ${AUDIT_TABLE} (label, id DESC);
   CREATE INDEX lockwarden_audit_rule ON ${AUDIT_TABLE} (rule, id DESC);
   CREATE INDEX lockwarden_audit_outcome ON ${AUDIT_TABLE} (outcome, id DESC);
   CREATE INDEX lockwarden_audit_source ON ${AUDIT_TABLE} (source, id DESC);
   CREATE INDEX lockwarden_audit_time ON ${AUDIT_TABLE} (time);`,
  WEBHOOK_MIGRATION,
];

/** The database URL as shown in health and errors: no password, no query. */
export function displayDatabaseUrl(raw: string): string {
  // Not `new URL`: a Unix socket URL (`postgres://user@/db?host=/run/postgresql`) has no host.
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(?:([^:@/?#]*)(?::[^@/?#]*)?@)?([^/?#]*)(\/[^?#]*)?/i.exec(raw);
  if (!m) return '(not a URL)';
  return `${m[1]}${m[2] ? `${m[2]}@` : ''}${m[3]}${m[4] ?? ''}`;
}

const isUniqueViolation = (err: unknown, constraint?: string) =>
  (err as { code?: string }).code === '23505' &&
  (constraint === undefined || (err as { constraint?: string }).constraint === constraint);

async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS lockwarden_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const { rows } = await client.query<{ v: number | null }>(
        'SELECT max(version) AS v FROM lockwarden_schema',
      );
      const applied = rows[0]?.v ?? 0;
      if (applied > MIGRATIONS.length) {
        throw new LockwardenError(
          'ECONFIG',
          `the database schema is version ${applied}, newer than this lockwarden knows (${MIGRATIONS.length}); upgrade lockwarden`,
        );
      }
      for (let version = applied + 1; version <= MIGRATIONS.length; version++) {
        await client.query('BEGIN');
        try {
          await client.query(MIGRATIONS[version - 1]!);
          await client.query('INSERT INTO lockwarden_schema (version) VALUES ($1)', [version]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}

interface PolicyRow {
  id: string;
  policy: Record<string, unknown>;
  revision: number;
  created_at: string;
  updated_at: string;
  stamp: string;
}

interface TokenRow {
  id: string;
  name: string;
  policies: string[] | null;
  created_at: string;
  sha256: string;
}

const policyOf = (r: PolicyRow): PolicyRecord => ({
  id: r.id,
  policy: r.policy,
  revision: r.revision,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  stamp: r.stamp,
});
const tokenOf = (r: TokenRow): TokenRecord => ({
  id: r.id,
  name: r.name,
  policies: r.policies,
  createdAt: r.created_at,
  sha256: r.sha256,
});

export async function createPostgresStore(options: PostgresStoreOptions): Promise<StateStore> {
  const shown = displayDatabaseUrl(options.url);
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
  // An idle connection the server dropped: reported; the pool opens a new one when needed.
  pool.on('error', (err) => options.onError?.(err));
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end().catch(() => {});
    if (err instanceof LockwardenError) throw err;
    throw new LockwardenError('ECONFIG', `database ${shown}: ${(err as Error).message}`, { cause: err });
  }

  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of listeners) listener();
  };
  let listener: pg.Client | undefined;
  let closed = false;
  let reconnectTimer: NodeJS.Timeout | undefined;
  async function listen(): Promise<void> {
    const client = new pg.Client({ connectionString: options.url });
    const retry = (err: unknown) => {
      if (closed || listener !== client) return;
      listener = undefined;
      options.onError?.(err);
      client.end().catch(() => {});
      reconnectTimer = setTimeout(() => {
        listen()
          .then(changed)
          .catch(() => {});
      }, 1_000);
      reconnectTimer.unref();
    };
    listener = client;
    client.on('error', retry);
    client.on('end', () => retry(new Error('the LISTEN connection to the database closed')));
    client.on('notification', (message) => {
      if (message.channel === CHANNEL) changed();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      retry(err);
      throw err;
    }
  }
  await listen();

  /** Runs `work` in a transaction that notifies every replica when it commits. */
  async function policyWrite(id: string, work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      try {
        await work(client);
        await client.query('SELECT pg_notify($1, $2)', [CHANNEL, id]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    } finally {
      client.release();
    }
  }

  const audit = createPostgresAuditLog({
    pool,
    now: options.now,
    retention: options.audit,
    ...(options.onError ? { onError: options.onError } : {}),
  });

  return {
    kind: 'postgres',
    policies: {
      async list() {
        const { rows } = await pool.query<PolicyRow>('SELECT * FROM lockwarden_policies ORDER BY id');
        return rows.map(policyOf);
      },
      insert(r) {
        return policyWrite(r.id, async (client) => {
          try {
            await client.query(
              'INSERT INTO lockwarden_policies (id, policy, revision, created_at, updated_at, stamp) VALUES ($1, $2, $3, $4, $5, $6)',
              [r.id, r.policy, r.revision, r.createdAt, r.updatedAt, r.stamp],
            );
          } catch (err) {
            if (isUniqueViolation(err)) throw new StoreError('conflict', `policy "${r.id}" exists`);
            throw err;
          }
        });
      },
      replace(r) {
        return policyWrite(r.id, async (client) => {
          const { rowCount } = await client.query(
            'UPDATE lockwarden_policies SET policy = $2, revision = $3, updated_at = $4, stamp = $5 WHERE id = $1 AND revision = $6',
            [r.id, r.policy, r.revision, r.updatedAt, r.stamp, r.revision - 1],
          );
          if (rowCount === 1) return;
          const { rows } = await client.query('SELECT 1 FROM lockwarden_policies WHERE id = $1', [r.id]);
          if (rows.length === 0) throw new StoreError('not-found', `no policy "${r.id}"`);
          throw new StoreError('conflict', `policy "${r.id}" changed meanwhile; read it and retry`);
        });
      },
      remove(id) {
        return policyWrite(id, async (client) => {
          const { rowCount } = await client.query('DELETE FROM lockwarden_policies WHERE id = $1', [id]);
          if (rowCount !== 1) throw new StoreError('not-found', `no policy "${id}"`);
        });
      },
    },
    checkTokens: {
      async list() {
        const { rows } = await pool.query<TokenRow>(
          'SELECT * FROM lockwarden_check_tokens ORDER BY created_at, id',
        );
        return rows.map(tokenOf);
      },
      async byHash(sha256) {
        const { rows } = await pool.query<TokenRow>(
          'SELECT * FROM lockwarden_check_tokens WHERE sha256 = $1',
          [sha256],
        );
        return rows[0] ? tokenOf(rows[0]) : undefined;
      },
      async insert(r, limit) {
        let rowCount: number | null;
        try {
          ({ rowCount } = await pool.query(
            `INSERT INTO lockwarden_check_tokens (id, name, policies, created_at, sha256)
             SELECT $1, $2, $3, $4, $5 WHERE (SELECT count(*) FROM lockwarden_check_tokens) < $6`,
            [
              r.id,
              r.name,
              r.policies === null ? null : JSON.stringify(r.policies),
              r.createdAt,
              r.sha256,
              limit,
            ],
          ));
        } catch (err) {
          if (isUniqueViolation(err, 'lockwarden_check_tokens_name_key')) {
            throw new StoreError(
              'conflict',
              `name: a token named "${r.name}" exists; revoke it first or pick another name`,
            );
          }
          throw err;
        }
        if (rowCount !== 1) throw new StoreError('conflict', `at most ${limit} issued tokens; revoke some`);
      },
      async remove(id) {
        const { rowCount } = await pool.query('DELETE FROM lockwarden_check_tokens WHERE id = $1', [id]);
        if (rowCount !== 1) throw new StoreError('not-found', `no issued check token with id "${id}"`);
      },
    },
    settings: {
      async get(key) {
        const { rows } = await pool.query<{ value: string }>(
          'SELECT value FROM lockwarden_settings WHERE key = $1',
          [key],
        );
        return rows[0]?.value;
      },
      async putIfAbsent(key, value) {
        await pool.query(
          'INSERT INTO lockwarden_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING',
          [key, value],
        );
        const { rows } = await pool.query<{ value: string }>(
          'SELECT value FROM lockwarden_settings WHERE key = $1',
          [key],
        );
        return rows[0]!.value;
      },
      async put(key, value) {
        await pool.query(
          'INSERT INTO lockwarden_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2',
          [key, value],
        );
      },
      async update(key, change) {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          try {
            // A transaction-scoped advisory lock per key serializes replicas even while the row
            // does not exist yet (FOR UPDATE would lock nothing then).
            await client.query("SELECT pg_advisory_xact_lock(hashtext('lockwarden_settings:' || $1))", [key]);
            const { rows } = await client.query<{ value: string }>(
              'SELECT value FROM lockwarden_settings WHERE key = $1',
              [key],
            );
            const next = change(rows[0]?.value);
            await client.query(
              'INSERT INTO lockwarden_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2',
              [key, next],
            );
            await client.query('COMMIT');
            return next;
          } catch (err) {
            await client.query('ROLLBACK');
            throw err;
          }
        } finally {
          client.release();
        }
      },
    },
    audit,
    webhooks: createPostgresWebhooks(pool),
    outbox: createPostgresOutbox(pool),
    onPoliciesChanged(callback) {
      listeners.add(callback);
      return () => {
        listeners.delete(callback);
      };
    },
    describe: () => ({ kind: 'postgres', database: shown, listening: listener !== undefined }),
    async close() {
      closed = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      await audit.close();
      await listener?.end().catch(() => {});
      listener = undefined;
      await pool.end();
    },
  };
}
