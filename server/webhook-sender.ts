// Signs and posts one outbox message, and says what the receiver answered: the part of a delivery
// that is pure network work. It runs in a worker thread of its own (webhook-sender-worker.ts)
// when that module sits beside this one (lib/ and the CLI bundle), so rendering, signing, the
// HTTP client and the socket writes stay off the event loop that serves installs: profiled at
// 1,000 refusals a second, posting was most of what a subscribed receiver cost that loop (the
// undici request and its socket write, the HMAC), and it came in bursts, a burst of messages at
// once when a window opens. The main thread keeps the outbox, the schedule and the metrics; the
// worker gets the URL, the secret and the message, and answers with the outcome. Where the worker
// module is absent (the TypeScript sources under test, a bundle without it), it posts inline.
// On Linux the thread also runs at a lower CPU priority than the main thread (SENDER_NICE).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type Dispatcher, request } from 'undici';
import { checkWebhookUrl, createWebhookDispatcher } from './webhook-address.js';
import { renderBody, standardPayload } from './webhook-format.js';
import type { OutboxMessage, WebhookFormat } from './webhook-outbox.js';
import { signMessage } from './webhook-signature.js';

/**
 * How much the sender thread lowers its own priority on Linux (its nice value goes up by this
 * much, to 19 at most; the main thread keeps the process's): where it and the event loop that
 * serves installs want the same core, the scheduler favours the loop.
 */
export const SENDER_NICE = 10;

export interface AttemptOutcome {
  ok: boolean;
  status: number | null;
  error: string | null;
  ms: number;
}

/** What one attempt needs: where, how and what (structured-cloneable, for the worker). */
export interface SendRequest {
  url: string;
  format: WebhookFormat;
  secret: string;
  message: OutboxMessage;
  /** When the attempt is made (ms since the epoch): the signature's and payload's timestamp. */
  atMs: number;
}

export interface SenderSettings {
  /** `--allow-private-webhooks`. */
  allowPrivate: boolean;
  userAgent: string;
  /** Per attempt, connect to last byte. */
  timeoutMs: number;
  connectTimeoutMs: number;
  /** Headers and body each within this long. */
  responseTimeoutMs: number;
}

export interface WebhookSender {
  send(req: SendRequest): Promise<AttemptOutcome>;
  /** Where posting runs, for the service's start-up log. */
  readonly where: 'worker' | 'inline';
  close(): Promise<void>;
}

/**
 * Posts `req` through `dispatcher` (the checking one: the SSRF guard runs on the address each
 * connection is made to). A 2xx is success; anything else, a redirect too (none is followed), is
 * a failure with the reason the API shows. Never rejects.
 */
export async function sendSigned(
  dispatcher: Dispatcher,
  settings: Pick<SenderSettings, 'allowPrivate' | 'userAgent' | 'timeoutMs'>,
  req: SendRequest,
): Promise<AttemptOutcome> {
  const started = performance.now();
  const done = (ok: boolean, status: number | null, error: string | null): AttemptOutcome => ({
    ok,
    status,
    error,
    ms: Math.round(performance.now() - started),
  });
  try {
    const at = new Date(req.atMs);
    const url = checkWebhookUrl(req.url, settings.allowPrivate);
    const body = renderBody(req.format, standardPayload(req.message, at));
    const signature = signMessage(req.secret, req.message.id, at, body);
    const res = await request(url, {
      method: 'POST',
      dispatcher,
      headers: {
        'content-type': 'application/json',
        'user-agent': settings.userAgent,
        'webhook-id': req.message.id,
        'webhook-timestamp': String(Math.floor(req.atMs / 1000)),
        'webhook-signature': signature,
      },
      body,
      signal: AbortSignal.timeout(settings.timeoutMs),
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

/** Posts on the calling thread, through `dispatcher` (tests inject a checking one with a fake resolver). */
export function createInlineSender(
  dispatcher: Dispatcher,
  settings: Pick<SenderSettings, 'allowPrivate' | 'userAgent' | 'timeoutMs'>,
  closeDispatcher = false,
): WebhookSender {
  return {
    where: 'inline',
    send: (req) => sendSigned(dispatcher, settings, req),
    async close() {
      if (closeDispatcher) await dispatcher.close();
    },
  };
}

/** The worker module beside this one (`.js` in lib/ and the CLI bundle; absent beside `.ts`). */
export const WORKER_URL = new URL('./webhook-sender-worker.js', import.meta.url);

/**
 * Posts in a worker thread started on the first message (a service without webhooks never starts
 * one), or inline when `workerUrl` does not exist. The worker builds its own checking dispatcher
 * from `settings`. If it dies, the attempts it held fail (and are retried on the outbox's
 * schedule) and the next message starts a new one.
 */
export function createWebhookSender(settings: SenderSettings, workerUrl: URL = WORKER_URL): WebhookSender {
  if (!existsSync(fileURLToPath(workerUrl)))
    return createInlineSender(createWebhookDispatcher(settings), settings, true);
  let worker: Worker | undefined;
  let seq = 0;
  const pending = new Map<number, (outcome: AttemptOutcome) => void>();
  const failAll = (why: string) => {
    for (const resolve of pending.values()) resolve({ ok: false, status: null, error: why, ms: 0 });
    pending.clear();
  };
  const start = (): Worker => {
    const w = new Worker(workerUrl, { workerData: settings });
    w.on('message', (m: { seq: number; outcome: AttemptOutcome }) => {
      const resolve = pending.get(m.seq);
      pending.delete(m.seq);
      resolve?.(m.outcome);
    });
    w.on('error', (err) => {
      if (worker === w) worker = undefined;
      failAll(`the webhook sender thread failed: ${err.message}`);
    });
    w.on('exit', (code) => {
      if (worker === w) worker = undefined;
      failAll(`the webhook sender thread stopped (exit code ${code})`);
    });
    // It never keeps the process alive: the service closes it, a CLI that exits need not.
    w.unref();
    return w;
  };
  return {
    where: 'worker',
    send(req) {
      worker ??= start();
      const id = ++seq;
      const outcome = new Promise<AttemptOutcome>((resolve) => pending.set(id, resolve));
      worker.postMessage({ seq: id, req });
      return outcome;
    },
    async close() {
      const w = worker;
      worker = undefined;
      if (!w) return;
      // Attempts under way finish (or time out) first; the worker then closes its connections.
      while (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 10));
      const exited = new Promise((resolve) => w.once('exit', resolve));
      w.postMessage({ close: true });
      await exited;
    },
  };
}

/** A delivery error as the API shows it: the cause, never the URL (it may carry a secret path). */
export function describeError(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: unknown };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'no answer in time';
  if (e.code === 'EWEBHOOKADDRESS') return String(e.message);
  const cause = e.cause as { code?: string; message?: string } | undefined;
  if (cause?.code === 'EWEBHOOKADDRESS') return String(cause.message);
  const code = cause?.code ?? e.code;
  return code ? `${code}: ${cause?.message ?? e.message ?? ''}`.trim() : String(e.message ?? err);
}
