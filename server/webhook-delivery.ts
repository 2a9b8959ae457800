// Delivers the outbox in the background: claims due messages (one replica per message), signs
// each as Standard Webhooks says (`webhook-id`, `webhook-timestamp`, `webhook-signature` =
// `v1,<base64 HMAC-SHA256 of id.timestamp.body>`), posts it, and records the result: a 2xx is
// delivered; anything else (a redirect too: none is followed) is tried again with exponential
// backoff and jitter for at least 24 hours, then kept as a dead letter. The clock is injected and
// `runOnce` does one round, so the schedule is tested without waiting; the service calls it from a
// timer and whenever something was enqueued. It shares the event loop with the install path, so
// it starts one message per turn of the loop instead of a whole batch in one, and the posting
// itself (rendering, signing, the HTTP request) runs in the sender's thread (webhook-sender.ts).
import { randomBytes } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { OutboxMessage, OutboxRecords, WebhookRecord, WebhookRecords } from './webhook-outbox.js';
import type { AttemptOutcome, WebhookSender } from './webhook-sender.js';

export type { AttemptOutcome } from './webhook-sender.js';
export { signMessage } from './webhook-signature.js';

/** Failures after which a message is a dead letter: the shortest schedule is then 27.8 hours. */
export const MAX_FAILURES = 11;
const FIRST_DELAY_MS = 10_000;
const MAX_DELAY_MS = 6 * 3_600_000;

/**
 * The wait after the `failures`-th failed attempt: 10 s × 4^(n-1), at most 6 hours, plus up to a
 * quarter more at random so receivers coming back are not hit by every sender at once; null when
 * the message should become a dead letter. Jitter only lengthens, so the retries span at least
 * the sum of the bare delays (10 s + 40 s + ... + 4 × 6 h ≈ 27.8 h).
 */
export function retryDelayMs(failures: number, random: () => number = Math.random): number | null {
  if (failures >= MAX_FAILURES) return null;
  const bare = Math.min(FIRST_DELAY_MS * 4 ** (failures - 1), MAX_DELAY_MS);
  return Math.round(bare * (1 + 0.25 * random()));
}

export function newSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** Random bytes for message ids, drawn 256 ids at a time (one randomBytes call per id cost ~15 µs). */
let idPool = Buffer.alloc(0);
let idOffset = 0;

export function newMessageId(): string {
  if (idOffset + 12 > idPool.length) {
    idPool = randomBytes(12 * 256);
    idOffset = 0;
  }
  idOffset += 12;
  return `msg_${idPool.toString('base64url', idOffset - 12, idOffset)}`;
}

export interface WebhookDeliveryOptions {
  outbox: OutboxRecords;
  webhooks: WebhookRecords;
  /** Signs and posts one message (in a thread of its own, or inline). */
  sender: WebhookSender;
  now: () => Date;
  /** How long a claimed message is this process's (default 60 s); longer than one attempt. */
  leaseMs?: number;
  /** Messages delivered at once (default 8). */
  concurrency?: number;
  random?: () => number;
  onAttempt?: (m: OutboxMessage, outcome: AttemptOutcome, dead: boolean) => void;
  onError?: (err: unknown) => void;
}

export interface WebhookDelivery {
  /** Claims what is due now and attempts it; resolves with how many were attempted. */
  runOnce(): Promise<number>;
  /** Signs and posts a message once, without recording anything (also the API's test delivery). */
  attempt(webhook: WebhookRecord, m: OutboxMessage): Promise<AttemptOutcome>;
  /** Runs `runOnce` every `pollMs` and soon after each `wake()` from then on. */
  start(pollMs: number): void;
  wake(): void;
  stop(): Promise<void>;
}

export function createWebhookDelivery(options: WebhookDeliveryOptions): WebhookDelivery {
  const leaseMs = options.leaseMs ?? 60_000;
  const concurrency = options.concurrency ?? 8;
  const random = options.random ?? Math.random;
  let running: Promise<number> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let started = false;

  function attempt(webhook: WebhookRecord, m: OutboxMessage): Promise<AttemptOutcome> {
    return options.sender.send({
      url: webhook.url,
      format: webhook.format,
      secret: webhook.secret,
      message: m,
      atMs: options.now().getTime(),
    });
  }

  async function deliver(m: OutboxMessage): Promise<void> {
    const webhook = await options.webhooks.get(m.subscriptionId);
    const at = options.now().toISOString();
    if (!webhook) {
      // Deleted meanwhile (its messages went with it; this one was claimed just before).
      await options.outbox.discard(m.id);
      return;
    }
    const outcome = await attempt(webhook, m);
    const result = { at, status: outcome.status, error: outcome.error };
    if (outcome.ok) {
      await options.outbox.delivered(m.id, result);
      options.onAttempt?.(m, outcome, false);
      return;
    }
    const delay = retryDelayMs(m.attempts + 1, random);
    await options.outbox.failed(m.id, result, delay === null ? null : options.now().getTime() + delay);
    options.onAttempt?.(m, outcome, delay === null);
  }

  async function round(): Promise<number> {
    let attempted = 0;
    for (;;) {
      const batch = await options.outbox.claim(options.now().getTime(), concurrency, leaseMs);
      if (batch.length === 0) return attempted;
      const inFlight: Array<Promise<void>> = [];
      for (const m of batch) {
        // One message started per turn: the install path's requests queued meanwhile run between.
        if (inFlight.length > 0) await nextTurn();
        inFlight.push(deliver(m).catch((err) => options.onError?.(err)));
      }
      await Promise.all(inFlight);
      attempted += batch.length;
      if (stopped) return attempted;
    }
  }

  function runOnce(): Promise<number> {
    if (running) {
      again = true;
      return running;
    }
    running = round().finally(() => {
      running = undefined;
      if (again && !stopped) {
        again = false;
        runOnce().catch((err) => options.onError?.(err));
      }
    });
    return running;
  }

  const kick = () => {
    runOnce().catch((err) => options.onError?.(err));
  };

  return {
    runOnce,
    attempt,
    start(pollMs) {
      started = true;
      timer = setInterval(kick, pollMs);
      timer.unref();
      kick();
    },
    wake() {
      // Only once started: tests that run rounds themselves (runOnce) stay in control.
      if (started && !stopped) setImmediate(kick);
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      while (running) await running.catch(() => {});
    },
  };
}
