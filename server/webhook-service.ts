// The service's webhooks, wired: the checking dispatcher, the background delivery, the hub that
// turns findings into outbox messages, and the daily pruning of delivered messages. create-app
// hands it the store, the clock and the metrics, and closes it before the store.
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';
import type { StateStore } from './state-store.js';
import { createWebhookDelivery, type WebhookDelivery } from './webhook-delivery.js';
import { createWebhookHub, type FindingEvent, type WebhookHub } from './webhook-hub.js';
import { createWebhookSender, type WebhookSender } from './webhook-sender.js';

const DAY_MS = 86_400_000;

export interface WebhookServiceOptions {
  store: Pick<StateStore, 'webhooks' | 'outbox'>;
  now: () => Date;
  logger: Logger;
  metrics: Metrics;
  allowPrivate: boolean;
  /** How often the outbox is polled (ms); 0: never, and nothing is delivered unless runOnce is called. */
  pollMs: number;
  version: string;
}

export interface WebhookService {
  hub: WebhookHub;
  delivery: WebhookDelivery;
  /** Where messages are posted from: a thread of its own, or inline (no worker module beside it). */
  sender: Pick<WebhookSender, 'where'>;
  /** Every finding acted on: counted in the metrics, sent to the subscriptions that want it. */
  findings(events: readonly FindingEvent[]): Promise<void>;
  /** Stops delivery and writes what the hub holds; the store is closed after this. */
  close(): Promise<void>;
}

export async function startWebhookService(options: WebhookServiceOptions): Promise<WebhookService> {
  const { store, now, logger, metrics } = options;
  // Posting runs in a thread of its own (started with the first message), off the loop that
  // serves installs; the SSRF check runs there, on the address each connection is made to.
  const sender = createWebhookSender({
    allowPrivate: options.allowPrivate,
    userAgent: `lockwarden/${options.version} (webhooks)`,
    timeoutMs: 10_000,
    connectTimeoutMs: 5_000,
    responseTimeoutMs: 10_000,
  });
  const delivery = createWebhookDelivery({
    outbox: store.outbox,
    webhooks: store.webhooks,
    sender,
    now,
    onAttempt: (m, outcome, dead) => {
      metrics.webhookAttempt(m, outcome.ok, dead, outcome.ms);
      if (!outcome.ok)
        logger.warn(
          { webhook: m.subscriptionId, message: m.id, status: outcome.status, error: outcome.error, dead },
          dead
            ? 'webhook delivery failed for the last time; kept as a dead letter'
            : 'webhook delivery failed; will retry',
        );
    },
    onError: (err) => logger.error({ err }, 'webhook delivery failed'),
  });
  const hub = await createWebhookHub({
    webhooks: store.webhooks,
    outbox: store.outbox,
    now,
    onEnqueued: () => delivery.wake(),
    onError: (err) => logger.error({ err }, 'webhook outbox write failed'),
  });
  if (options.pollMs > 0) delivery.start(options.pollMs);
  // Delivered messages are kept a day (the API's counts; coalescing needs their windows).
  const pruneTimer = setInterval(() => {
    store.outbox.prune(now().getTime() - DAY_MS).catch((err) => logger.error({ err }, 'outbox prune failed'));
  }, 10 * 60_000);
  pruneTimer.unref();

  return {
    hub,
    delivery,
    sender,
    findings(events) {
      metrics.verdicts(events);
      return hub.publishFindings(events);
    },
    async close() {
      clearInterval(pruneTimer);
      await delivery.stop();
      await hub.flush();
      hub.close();
      await sender.close();
    },
  };
}
