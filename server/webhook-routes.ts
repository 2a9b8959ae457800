// The admin API's webhooks: create (the signing secret is in this answer only), list with their
// delivery state, delete, a test delivery that answers with what the receiver said, and the dead
// letters with redelivery. Mounted on the admin router, behind the admin token.
import { randomBytes } from 'node:crypto';
import type Router from '@koa/router';
import type { Context, Next } from 'koa';
import { HttpError, readJsonBody } from './http-error.js';
import type { StateStore } from './state-store.js';
import { checkWebhookUrl, ForbiddenAddressError } from './webhook-address.js';
import { newMessageId, newSecret, type WebhookDelivery } from './webhook-delivery.js';
import type { WebhookHub } from './webhook-hub.js';
import {
  type DeliveryState,
  newMessage,
  type OutboxMessage,
  WEBHOOK_EVENTS,
  WEBHOOK_FORMATS,
  type WebhookEvent,
  type WebhookFormat,
  type WebhookRecord,
} from './webhook-outbox.js';

export const MAX_WEBHOOKS = 100;

export interface WebhookRoutesOptions {
  store: Pick<StateStore, 'webhooks' | 'outbox'>;
  hub: WebhookHub;
  delivery: WebhookDelivery;
  allowPrivate: boolean;
  now: () => Date;
  policyExists: (id: string) => Promise<boolean>;
}

/** A subscription as the API shows it: never its secret (that is shown once, at creation). */
function describe(w: WebhookRecord, state: DeliveryState | undefined) {
  const { secret: _secret, ...rest } = w;
  return {
    ...rest,
    delivery: {
      pending: state?.pending ?? 0,
      dead: state?.dead ?? 0,
      delivered: state?.delivered ?? 0,
      lastAttemptAt: state?.lastAttemptAt ?? null,
      lastDeliveredAt: state?.lastDeliveredAt ?? null,
      lastStatus: state?.lastStatus ?? null,
      lastError: state?.lastError ?? null,
    },
  };
}

const letter = (m: OutboxMessage) => ({
  id: m.id,
  type: m.type,
  data: m.data,
  count: m.count,
  firstSeen: m.firstSeen,
  lastSeen: m.lastSeen,
  attempts: m.attempts,
  lastAttemptAt: m.lastAttemptAt,
  lastStatus: m.lastStatus,
  lastError: m.lastError,
});

export function addWebhookRoutes(
  router: Router,
  requireToken: (ctx: Context, next: Next) => Promise<void>,
  options: WebhookRoutesOptions,
): void {
  const { store } = options;

  async function parse(body: unknown): Promise<Omit<WebhookRecord, 'id' | 'secret' | 'createdAt'>> {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new HttpError(400, 'request body: expected {"url", "events", "policies", "format"}');
    const b = body as Record<string, unknown>;
    const problems: string[] = [];
    const known = new Set(['url', 'events', 'policies', 'format', 'description']);
    for (const k of Object.keys(b)) if (!known.has(k)) problems.push(`${k}: unknown field`);
    let url = '';
    if (typeof b.url !== 'string' || b.url.length > 2048) problems.push('url: a http(s) URL is required');
    else {
      try {
        url = checkWebhookUrl(b.url, options.allowPrivate).href;
      } catch (err) {
        if (!(err instanceof ForbiddenAddressError)) throw err;
        problems.push(err.message);
      }
    }
    const events = b.events ?? [...WEBHOOK_EVENTS];
    if (
      !Array.isArray(events) ||
      events.length === 0 ||
      !events.every((e) => (WEBHOOK_EVENTS as readonly unknown[]).includes(e))
    )
      problems.push(`events: a non-empty list of ${WEBHOOK_EVENTS.map((e) => `"${e}"`).join(', ')}`);
    const policies = b.policies ?? ['*'];
    if (!Array.isArray(policies) || policies.length === 0 || !policies.every((p) => typeof p === 'string'))
      problems.push('policies: ["*"] (every policy) or a list of policy ids');
    else if (!policies.includes('*')) {
      for (const p of policies as string[])
        if (!(await options.policyExists(p))) problems.push(`policies: no policy "${p}"`);
    }
    const format = b.format ?? 'standard';
    if (!(WEBHOOK_FORMATS as readonly unknown[]).includes(format))
      problems.push(`format: one of ${WEBHOOK_FORMATS.map((f) => `"${f}"`).join(', ')}`);
    if (
      b.description !== undefined &&
      b.description !== null &&
      (typeof b.description !== 'string' || b.description.length > 200)
    )
      problems.push('description: a string of at most 200 characters');
    if (problems.length > 0)
      throw new HttpError(400, `invalid webhook: ${problems.join('; ')}`, { extra: { problems } });
    return {
      url,
      events: [...new Set(events as WebhookEvent[])],
      policies: (policies as string[]).includes('*') ? ['*'] : [...new Set(policies as string[])],
      format: format as WebhookFormat,
      description: typeof b.description === 'string' ? b.description : null,
    };
  }

  const find = async (id: string): Promise<WebhookRecord> => {
    const w = await store.webhooks.get(id);
    if (!w) throw new HttpError(404, `no webhook "${id}"`);
    return w;
  };
  const stateOf = async (id: string) =>
    (await store.outbox.deliveryStates()).find((s) => s.subscriptionId === id);

  router.get('/webhooks', requireToken, async (ctx) => {
    const [list, states] = await Promise.all([store.webhooks.list(), store.outbox.deliveryStates()]);
    const byId = new Map(states.map((s) => [s.subscriptionId, s]));
    ctx.set('cache-control', 'no-store');
    ctx.body = { webhooks: list.map((w) => describe(w, byId.get(w.id))) };
  });

  router.post('/webhooks', requireToken, async (ctx) => {
    const fields = await parse(await readJsonBody(ctx));
    const record: WebhookRecord = {
      id: `wh_${randomBytes(9).toString('base64url')}`,
      ...fields,
      secret: newSecret(),
      createdAt: options.now().toISOString(),
    };
    await store.webhooks.insert(record, MAX_WEBHOOKS);
    await options.hub.refresh();
    ctx.status = 201;
    ctx.set('cache-control', 'no-store');
    ctx.set('location', `${router.opts.prefix ?? ''}/webhooks/${record.id}`);
    // The only time the secret leaves the service: receivers need it to verify signatures.
    ctx.body = { ...describe(record, undefined), secret: record.secret };
  });

  router.get('/webhooks/:id', requireToken, async (ctx) => {
    const w = await find(ctx.params.id!);
    ctx.set('cache-control', 'no-store');
    ctx.body = describe(w, await stateOf(w.id));
  });

  router.delete('/webhooks/:id', requireToken, async (ctx) => {
    await store.webhooks.remove(ctx.params.id!);
    await options.hub.refresh();
    ctx.status = 204;
  });

  router.post('/webhooks/:id/test', requireToken, async (ctx) => {
    const w = await find(ctx.params.id!);
    const time = options.now().toISOString();
    const message = newMessage(
      {
        id: newMessageId(),
        subscriptionId: w.id,
        type: 'webhook.test',
        coalesceKey: null,
        count: 1,
        time,
        data: { message: 'a test delivery from lockwarden: this webhook works', time },
      },
      options.now().getTime(),
    );
    const outcome = await options.delivery.attempt(w, message);
    ctx.set('cache-control', 'no-store');
    ctx.body = {
      id: message.id,
      delivered: outcome.ok,
      status: outcome.status,
      error: outcome.error,
      ms: outcome.ms,
    };
  });

  router.get('/webhooks/:id/dead-letters', requireToken, async (ctx) => {
    const w = await find(ctx.params.id!);
    const limit = Math.min(Math.max(Number(ctx.query.limit ?? 100) || 100, 1), 1_000);
    ctx.set('cache-control', 'no-store');
    ctx.body = { deadLetters: (await store.outbox.deadLetters(w.id, limit)).map(letter) };
  });

  const redeliver = async (ctx: Context, messageId: string | null) => {
    const w = await find(ctx.params.id!);
    const requeued = await store.outbox.redeliver(w.id, messageId, options.now().getTime());
    options.delivery.wake();
    ctx.status = 202;
    ctx.body = { requeued };
  };
  router.post('/webhooks/:id/dead-letters/redeliver', requireToken, (ctx) => redeliver(ctx, null));
  router.post('/webhooks/:id/dead-letters/:messageId/redeliver', requireToken, (ctx) =>
    redeliver(ctx, ctx.params.messageId!),
  );
}
