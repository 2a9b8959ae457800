// Delivers the outbox in the background: claims due messages (one replica per message), signs
// each as Standard Webhooks says (`webhook-id`, `webhook-timestamp`, `webhook-signature` =
// `v1,<base64 HMAC-SHA256 of id.timestamp.body>`), posts it, and records the result: a 2xx is
// delivered; anything else (a redirect too: none is followed) is tried again with exponential
// backoff and jitter for at least 24 hours, then kept as a dead letter. The clock is injected and
// `runOnce` does one round, so the schedule is tested without waiting; the service calls it from a
// timer and whenever something was enqueued. It shares the event loop with the install path, so
// it starts one message per turn of the loop instead of a whole batch in one.
import { createHmac, randomBytes } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type Dispatcher, request } from 'undici';
import { checkWebhookUrl } from './webhook-address.js';
import { renderBody, standardPayload } from './webhook-format.js';
import type { OutboxMessage, OutboxRecords, WebhookRecord, WebhookRecords } from './webhook-outbox.js';

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

/**
 * The Standard Webhooks signature of a message: `v1,` and the base64 HMAC-SHA256, keyed with the
 * base64 secret after `whsec_`, of `<id>.<unix seconds>.<body>`. Hand-written on node:crypto
 * rather than the `standardwebhooks` library's `sign` (pure-JS SHA-256): 21 µs against 160 µs a
 * signature on the 2-core machine, time that held the loop the install path runs on. The e2e
 * test verifies these signatures with the library.
 */
export function signMessage(secret: string, id: string, at: Date, body: string): string {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  const seconds = Math.floor(at.getTime() / 1000);
  return `v1,${createHmac('sha256', key).update(`${id}.${seconds}.${body}`).digest('base64')}`;
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

export interface AttemptOutcome {
  ok: boolean;
  status: number | null;
  error: string | null;
  ms: number;
}

export interface WebhookDeliveryOptions {
  outbox: OutboxRecords;
  webhooks: WebhookRecords;
  dispatcher: Dispatcher;
  allowPrivate: boolean;
  now: () => Date;
  userAgent: string;
  /** How long a claimed message is this process's (default 60 s); longer than one attempt. */
  leaseMs?: number;
  /** Per attempt, connect to last byte (default 10 s). */
  timeoutMs?: number;
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
  const timeoutMs = options.timeoutMs ?? 10_000;
  const concurrency = options.concurrency ?? 8;
  const random = options.random ?? Math.random;
  let running: Promise<number> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let started = false;

  async function attempt(webhook: WebhookRecord, m: OutboxMessage): Promise<AttemptOutcome> {
    const at = options.now();
    const started = performance.now();
    const done = (ok: boolean, status: number | null, error: string | null): AttemptOutcome => ({
      ok,
      status,
      error,
      ms: Math.round(performance.now() - started),
    });
    try {
      const url = checkWebhookUrl(webhook.url, options.allowPrivate);
      const body = renderBody(webhook.format, standardPayload(m, at));
      const signature = signMessage(webhook.secret, m.id, at, body);
      const res = await request(url, {
        method: 'POST',
        dispatcher: options.dispatcher,
        headers: {
          'content-type': 'application/json',
          'user-agent': options.userAgent,
          'webhook-id': m.id,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': signature,
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      // The answer's body is not ours to keep; read a little so the connection can be reused.
      await res.body.dump({ limit: 64 * 1024 }).catch(() => {});
      if (res.statusCode >= 200 && res.statusCode < 300) return done(true, res.statusCode, null);
      if (res.statusCode >= 300 && res.statusCode < 400)
        return done(
          false,
          res.statusCode,
          `answered ${res.statusCode} (a redirect); redirects are not followed`,
        );
      return done(false, res.statusCode, `answered ${res.statusCode}`);
    } catch (err) {
      return done(false, null, describeError(err));
    }
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

/** A delivery error as the API shows it: the cause, never the URL (it may carry a secret path). */
function describeError(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: unknown };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'no answer in time';
  if (e.code === 'EWEBHOOKADDRESS') return String(e.message);
  const cause = e.cause as { code?: string; message?: string } | undefined;
  if (cause?.code === 'EWEBHOOKADDRESS') return String(cause.message);
  const code = cause?.code ?? e.code;
  return code ? `${code}: ${cause?.message ?? e.message ?? ''}`.trim() : String(e.message ?? err);
}
