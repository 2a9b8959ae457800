// The service's state behind one async interface, so where it lives (files in the data directory,
// or PostgreSQL shared by replicas) is a choice made at start, not something the HTTP layer sees.
// Every method is async; a write that fails changes nothing a reader can see. Stores throw
// StoreError for what the caller did wrong (a conflict, a missing record) and their own errors
// (disk, database) otherwise; the HTTP layer maps them to status codes.
import type { AuditLog } from './audit-log.js';
import type { OutboxRecords, WebhookRecords } from './webhook-outbox.js';

/** not-found: no such record; conflict: it exists, changed meanwhile, or is read-only; invalid: bad input. */
export type StoreErrorKind = 'not-found' | 'conflict' | 'invalid';

export class StoreError extends Error {
  readonly kind: StoreErrorKind;
  /** For `invalid`: each problem, naming the field. */
  readonly problems: readonly string[] | undefined;
  constructor(kind: StoreErrorKind, message: string, problems?: readonly string[]) {
    super(message);
    this.name = 'StoreError';
    this.kind = kind;
    this.problems = problems;
  }
}

/** A policy as stored: its serialized form, validated by the policy store when read. */
export interface PolicyRecord {
  id: string;
  policy: Record<string, unknown>;
  revision: number;
  createdAt: string;
  updatedAt: string;
  /** Random per write: tells a recreated policy from the one deleted before it. */
  stamp: string;
}

export interface PolicyRecords {
  list(): Promise<PolicyRecord[]>;
  /** StoreError `conflict` when a policy with this id exists. */
  insert(record: PolicyRecord): Promise<void>;
  /**
   * Replaces the policy if its stored revision is `record.revision - 1` (optimistic concurrency
   * between replicas); StoreError `not-found` or `conflict` otherwise.
   */
  replace(record: PolicyRecord): Promise<void>;
  /** StoreError `not-found` when there is none. */
  remove(id: string): Promise<void>;
}

/** An issued check token: only its SHA-256 is kept. */
export interface TokenRecord {
  id: string;
  name: string;
  policies: string[] | null;
  createdAt: string;
  sha256: string;
}

export interface TokenRecords {
  list(): Promise<TokenRecord[]>;
  byHash(sha256: string): Promise<TokenRecord | undefined>;
  /** StoreError `conflict` when the name is taken or `limit` tokens exist. */
  insert(record: TokenRecord, limit: number): Promise<void>;
  /** StoreError `not-found` when there is none. */
  remove(id: string): Promise<void>;
}

/** Small named values (the admin token's hash). */
export interface SettingRecords {
  get(key: string): Promise<string | undefined>;
  /** Stores `value` unless the key has one; returns the value the key has afterwards. */
  putIfAbsent(key: string, value: string): Promise<string>;
  put(key: string, value: string): Promise<void>;
  /**
   * Read-modify-write of one key, atomic across replicas: `change` gets the current value (or
   * undefined) and returns the new one. Two replicas changing a key at once both take effect.
   */
  update(key: string, change: (current: string | undefined) => string): Promise<string>;
}

export interface StateStore {
  readonly kind: 'embedded' | 'postgres';
  readonly policies: PolicyRecords;
  readonly checkTokens: TokenRecords;
  readonly settings: SettingRecords;
  readonly audit: AuditLog;
  /** Webhook subscriptions and the outbox of messages to deliver (webhook-outbox.ts). */
  readonly webhooks: WebhookRecords;
  readonly outbox: OutboxRecords;
  /**
   * Calls `listener` when another process changed policies (PostgreSQL: LISTEN/NOTIFY, within a
   * second); the embedded store has one writer and never calls it. Returns the unsubscribe.
   */
  onPoliciesChanged(listener: () => void): () => void;
  /** For the health endpoint: where the state is, without secrets. */
  describe(): Record<string, unknown>;
  /** Commits pending audit entries and releases files and connections. */
  close(): Promise<void>;
}
