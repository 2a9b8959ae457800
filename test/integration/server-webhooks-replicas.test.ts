// Two services on one PostgreSQL database (a real throwaway server): a subscription made through
// one is used by the other, refusals on both coalesce into one message, and however the two race
// for the outbox each message reaches the receiver once.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ProxyHarness, startProxyHarness } from '../helpers/proxy-harness.js';
import { startPostgres, type TestPostgres } from '../helpers/start-postgres.js';
import { signatureMatches, startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

let server: TestPostgres;
const open: Array<ProxyHarness | WebhookReceiver> = [];
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});
afterEach(async () => {
  while (open.length > 0) {
    const x = open.pop()!;
    await ('close' in x ? x.close() : x.stop());
  }
});

describe('webhooks on replicas sharing PostgreSQL', () => {
  it('deliver each message once, with the repeats of both replicas counted in', async () => {
    const databaseUrl = await server.createDatabase();
    const replica = async () => {
      const h = await startProxyHarness({
        filePolicies: [{ id: 'strict', typosquatting: true, block: ['evil-*'] }],
        app: { databaseUrl, allowPrivateWebhooks: true, webhookPollMs: 0 },
      });
      open.push(h);
      return h;
    };
    const [a, b] = [await replica(), await replica()];
    const receiver = await startWebhookReceiver();
    open.push(receiver);
    const res = await a.admin('POST', '/webhooks', { url: receiver.url, events: ['block'] });
    expect(res.status).toBe(201);
    const { secret } = res.json();
    // B reads subscriptions every 5 s; the test does not wait for that.
    await b.service.webhooks.hub.refresh();
    expect((await b.admin('GET', '/webhooks')).json().webhooks).toHaveLength(1);

    for (let i = 0; i < 10; i++) {
      const h = i % 2 ? a : b;
      expect((await h.request({ url: `/strict/evil-${i % 5}` })).status).toBe(403);
    }
    await Promise.all([a.service.webhooks.hub.flush(), b.service.webhooks.hub.flush()]);
    for (let round = 0; round < 3; round++)
      await Promise.all([a.service.webhooks.delivery.runOnce(), b.service.webhooks.delivery.runOnce()]);
    // Five keys: five messages, each once, each counting both of its refusals.
    expect(receiver.received).toHaveLength(5);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(5);
    expect(receiver.received.every((r) => signatureMatches(r, secret))).toBe(true);
    expect(receiver.received.map((r) => r.json.data.name).sort()).toEqual([
      'evil-0',
      'evil-1',
      'evil-2',
      'evil-3',
      'evil-4',
    ]);
    expect(receiver.received.map((r) => r.json.data.count)).toEqual([2, 2, 2, 2, 2]);
    expect((await a.admin('GET', '/webhooks')).json().webhooks[0].delivery).toMatchObject({
      pending: 0,
      delivered: 5,
    });
  });
});
