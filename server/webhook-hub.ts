// Turns what the service decided (refusals, alerts, unavailable facts, policy edits) into outbox
// messages for the subscriptions that want them. On the install path this is an append: the
// messages of one turn of the event loop are written together (one outbox commit), and delivery
// runs later in the background. A refusal waits for the commit only when it opens a new message
// (it is then in the outbox before the client hears of it, as its audit entry is). Repeats that
// only add to a message's count are summed in memory and written once a second, so 1,000 refusals
// a second of a few versions cost a few outbox writes a second, not 1,000 (a crash can lose the
// repeats of the last second; never a message).
import type { Finding } from '../src/policy/types.js';
import type { AuditOutcome, AuditSource } from './audit-log.js';
import { newMessageId } from './webhook-delivery.js';
import type {
  NewOutboxMessage,
  OutboxRecords,
  WebhookEvent,
  WebhookRecord,
  WebhookRecords,
} from './webhook-outbox.js';

/** Repeats of one package version and rule share one message per this long. */
export const COALESCE_WINDOW_MS = 10 * 60_000;

export interface FindingEvent {
  policy: string;
  label: string | null;
  userAgent: string | null;
  source: AuditSource;
  outcome: AuditOutcome;
  version: string | null;
  finding: Finding;
}

export interface WebhookHubOptions {
  webhooks: WebhookRecords;
  outbox: OutboxRecords;
  now: () => Date;
  /** Called after messages were committed (delivery can start). */
  onEnqueued?: () => void;
  onError?: (err: unknown) => void;
  /** How often subscriptions made on other replicas are picked up (default 5 s). */
  refreshMs?: number;
  /** How long repeats are summed before they are written (default 1 s). */
  repeatFlushMs?: number;
}

export interface WebhookHub {
  /** Resolves once the messages that must not be lost are durable; never rejects. */
  publishFindings(events: readonly FindingEvent[]): Promise<void>;
  policyChanged(
    policy: string,
    change: 'created' | 'updated' | 'deleted',
    revision: number | null,
  ): Promise<void>;
  /** Re-reads the subscriptions (after a local create or delete). */
  refresh(): Promise<void>;
  /** Writes what is queued now. */
  flush(): Promise<void>;
  close(): void;
}

function eventOf(e: FindingEvent): WebhookEvent | undefined {
  // Versions hidden from a packument do not stop the install (an older one is served): they are
  // in the audit log, not sent. Refusals, CI blocks, alerts and unavailable facts are.
  if (e.outcome === 'hidden') return undefined;
  if (e.finding.outcome === 'unavailable') return 'unavailable';
  return e.outcome === 'blocked' ? 'block' : 'alert';
}

export async function createWebhookHub(options: WebhookHubOptions): Promise<WebhookHub> {
  let subscriptions: WebhookRecord[] = await options.webhooks.list();
  /** Keys this process opened a message for, until that message's window ends. */
  const openKeys = new Map<string, number>();
  let queue: NewOutboxMessage[] = [];
  let waiters: Array<() => void> = [];
  let writing: Promise<void> | undefined;
  /** Repeats summed per subscription and key since the last write. */
  let repeats = new Map<string, { message: NewOutboxMessage; count: number; lastMs: number }>();
  let repeatTimer: NodeJS.Timeout | undefined;
  const repeatFlushMs = options.repeatFlushMs ?? 1_000;

  const refresh = async () => {
    subscriptions = await options.webhooks.list();
  };
  const timer = setInterval(() => {
    refresh().catch((err) => options.onError?.(err));
  }, options.refreshMs ?? 5_000);
  timer.unref();

  const wants = (w: WebhookRecord, event: WebhookEvent, policy: string) =>
    w.events.includes(event) && (w.policies.includes('*') || w.policies.includes(policy));

  async function run(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue;
      const done = waiters;
      queue = [];
      waiters = [];
      try {
        await options.outbox.enqueue(batch, options.now().getTime(), COALESCE_WINDOW_MS);
        options.onEnqueued?.();
      } catch (err) {
        options.onError?.(err);
      }
      for (const resolve of done) resolve();
    }
  }

  function push(messages: NewOutboxMessage[], wait: boolean): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    queue.push(...messages);
    const durable = new Promise<void>((resolve) => waiters.push(resolve));
    schedule();
    return wait ? durable : Promise.resolve();
  }

  function writeRepeats(): void {
    if (repeatTimer) clearTimeout(repeatTimer);
    repeatTimer = undefined;
    if (repeats.size === 0) return;
    const summed: NewOutboxMessage[] = [];
    for (const r of repeats.values())
      summed.push({
        ...r.message,
        count: r.count,
        time: new Date(r.lastMs).toISOString(),
        firstTime: r.message.time,
      });
    repeats = new Map();
    void push(summed, false);
  }

  /** Messages of the same turn of the event loop share a commit. */
  function schedule(): void {
    if (writing) return;
    writing = new Promise<void>((resolve) => setImmediate(resolve)).then(run).finally(() => {
      writing = undefined;
      if (queue.length > 0) schedule();
    });
  }

  return {
    publishFindings(events) {
      if (subscriptions.length === 0 || events.length === 0) return Promise.resolve();
      // The install path runs this for every refusal: a repeat of an open message costs a map
      // lookup and a counter; keys, ids and times are only built for a message that opens.
      const nowMs = options.now().getTime();
      let time: string | undefined;
      const out: NewOutboxMessage[] = [];
      for (const e of events) {
        const event = eventOf(e);
        if (!event) continue;
        const f = e.finding;
        // None of these can hold a NUL (package names, versions, policy ids and rules can't).
        const local = `${e.policy}\u0000${f.name}\u0000${e.version}\u0000${f.rule}\u0000${event}`;
        for (const w of subscriptions) {
          if (!wants(w, event, e.policy)) continue;
          const perSubscription = `${w.id}\u0000${local}`;
          const opens = (openKeys.get(perSubscription) ?? 0) <= nowMs;
          if (!opens) {
            // Its message is in the outbox already: count this one in.
            const summed = repeats.get(perSubscription);
            if (summed) {
              summed.count++;
              summed.lastMs = nowMs;
              continue;
            }
          } else {
            if (openKeys.size >= 10_000) openKeys.clear();
            openKeys.set(perSubscription, nowMs + COALESCE_WINDOW_MS);
          }
          time ??= new Date(nowMs).toISOString();
          const message: NewOutboxMessage = {
            id: newMessageId(),
            subscriptionId: w.id,
            type: event,
            coalesceKey: JSON.stringify([e.policy, f.name, e.version, f.rule, event]),
            count: 1,
            time,
            data: {
              policy: e.policy,
              label: e.label,
              userAgent: e.userAgent,
              source: e.source,
              name: f.name,
              version: e.version,
              rule: f.rule,
              outcome: e.outcome,
              message: f.message,
              hint: f.hint,
              time,
            },
          };
          if (opens) out.push(message);
          else {
            repeats.set(perSubscription, { message, count: 1, lastMs: nowMs });
            repeatTimer ??= setTimeout(writeRepeats, repeatFlushMs);
            repeatTimer.unref?.();
          }
        }
      }
      return push(out, true);
    },
    policyChanged(policy, change, revision) {
      const time = options.now().toISOString();
      return push(
        subscriptions
          .filter((w) => wants(w, 'policy.changed', policy))
          .map((w) => ({
            id: newMessageId(),
            subscriptionId: w.id,
            type: 'policy.changed' as const,
            coalesceKey: null,
            count: 1,
            time,
            data: { policy, change, revision, time },
          })),
        true,
      );
    },
    refresh,
    async flush() {
      writeRepeats();
      while (writing) await writing;
    },
    close() {
      clearInterval(timer);
      if (repeatTimer) clearTimeout(repeatTimer);
    },
  };
}
