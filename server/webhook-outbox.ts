// What every store keeps for webhooks: the subscriptions (with their signing secrets, which the
// service needs to sign) and the outbox of messages still to deliver. Messages are written before
// anyone is told about what they report, and a delivery only removes one from the outbox once the
// receiver accepted it, so a restart or `kill -9` loses none. The coalescing rule lives here, in
// one function both stores share, so the embedded store and PostgreSQL merge alike.

export const WEBHOOK_EVENTS = ['block', 'alert', 'unavailable', 'policy.changed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export const WEBHOOK_FORMATS = ['standard', 'slack', 'teams'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

export interface WebhookRecord {
  id: string;
  url: string;
  events: WebhookEvent[];
  /** Policy ids, or `['*']` for every policy. */
  policies: string[];
  format: WebhookFormat;
  description: string | null;
  /** `whsec_<base64>` as Standard Webhooks spells it. */
  secret: string;
  createdAt: string;
}

export type OutboxState = 'pending' | 'delivered' | 'dead';

/** What a message reports (the event's `data`), plus how many occurrences it stands for. */
export interface OutboxMessage {
  /** The `webhook-id`: the same on every attempt, so receivers can drop duplicates. */
  id: string;
  subscriptionId: string;
  type: WebhookEvent | 'webhook.test';
  data: Record<string, unknown>;
  /** Occurrences of the same package version and rule merge into one message per window. */
  coalesceKey: string | null;
  count: number;
  /** When the message's window opened (ms); a message is not sent before it. */
  windowStart: number;
  firstSeen: string;
  lastSeen: string;
  /** Next attempt (ms since the epoch). */
  dueAt: number;
  attempts: number;
  state: OutboxState;
  lastAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: string | null;
}

export interface NewOutboxMessage {
  id: string;
  subscriptionId: string;
  type: OutboxMessage['type'];
  data: Record<string, unknown>;
  coalesceKey: string | null;
  /** Occurrences this one stands for (usually 1). */
  count: number;
  /** ISO time of the occurrence (the last one, when `count` stands for several). */
  time: string;
  /** ISO time of the first occurrence `count` stands for, when it is not `time`. */
  firstTime?: string;
}

export interface DeliveryState {
  subscriptionId: string;
  pending: number;
  dead: number;
  delivered: number;
  lastAttemptAt: string | null;
  lastDeliveredAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
}

export interface AttemptResult {
  at: string;
  status: number | null;
  error: string | null;
}

export interface WebhookRecords {
  list(): Promise<WebhookRecord[]>;
  get(id: string): Promise<WebhookRecord | undefined>;
  /** StoreError `conflict` when `limit` subscriptions exist. */
  insert(record: WebhookRecord, limit: number): Promise<void>;
  /** Deletes the subscription and its messages; StoreError `not-found` when there is none. */
  remove(id: string): Promise<void>;
}

export interface OutboxRecords {
  /**
   * Appends messages, each merged into its key's open message when `coalesceWindow` says so;
   * resolves once they are durable.
   */
  enqueue(messages: readonly NewOutboxMessage[], nowMs: number, windowMs: number): Promise<void>;
  /**
   * Takes up to `limit` due pending messages for this process for `leaseMs`: no other replica
   * gets them until the lease ends (a replica that dies mid-delivery leaves them to the others).
   */
  claim(nowMs: number, limit: number, leaseMs: number): Promise<OutboxMessage[]>;
  /** Drops a message (its subscription was deleted while it was on its way). */
  discard(id: string): Promise<void>;
  /**
   * The receiver accepted it. May resolve before it is durable (the embedded journal writes it
   * with its next commit, within a second): a crash in between sends it again, same `webhook-id`.
   */
  delivered(id: string, result: AttemptResult): Promise<void>;
  /**
   * It failed; tried again at `dueAt`, or kept as a dead letter when `dueAt` is null. Durable
   * like `delivered` (a crash before the write retries it sooner).
   */
  failed(id: string, result: AttemptResult, dueAt: number | null): Promise<void>;
  /** Dead letters, newest first. */
  deadLetters(subscriptionId: string, limit: number): Promise<OutboxMessage[]>;
  /** Puts dead letters (one, or all of the subscription's) back in the queue, due now; returns how many. */
  redeliver(subscriptionId: string, messageId: string | null, nowMs: number): Promise<number>;
  deliveryStates(): Promise<DeliveryState[]>;
  /** Pending messages (the backlog), for metrics. */
  backlog(): Promise<number>;
  /** Drops delivered messages whose window ended before `beforeMs` (kept till then for coalescing). */
  prune(beforeMs: number): Promise<void>;
}

/**
 * Where an occurrence goes, given the newest message of its subscription and key: into that
 * message while it waits for its first attempt (counted); into a new message that opens when the
 * window of a message already on its way closes; or into a new message due now. So a key gets at
 * most one message per window, and the first occurrence is never held back.
 */
export function coalesceInto(
  newest: Pick<OutboxMessage, 'state' | 'attempts' | 'windowStart'> & { leased: boolean },
  nowMs: number,
  windowMs: number,
): 'merge' | { windowStart: number } {
  if (newest.windowStart + windowMs <= nowMs) return { windowStart: nowMs };
  if (newest.state === 'pending' && newest.attempts === 0 && !newest.leased) return 'merge';
  return { windowStart: Math.max(nowMs, newest.windowStart + windowMs) };
}

export function newMessage(m: NewOutboxMessage, windowStart: number): OutboxMessage {
  return {
    id: m.id,
    subscriptionId: m.subscriptionId,
    type: m.type,
    data: m.data,
    coalesceKey: m.coalesceKey,
    count: m.count,
    windowStart,
    firstSeen: m.firstTime ?? m.time,
    lastSeen: m.time,
    dueAt: windowStart,
    attempts: 0,
    state: 'pending',
    lastAttemptAt: null,
    lastStatus: null,
    lastError: null,
    deliveredAt: null,
  };
}
